"""`pytest --shapesafe-packages=...`: the plugin's hook in-process, and real pytest runs.

The real runs are subprocesses (slow): an in-process inner pytest drops the modules it
imported afterwards, which torch does not survive.
"""

import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from shapesafe import ShapeError
from shapesafe import pytest_plugin as plugin
from shapesafe._import_hook import ImportHook

HOOKPKG = Path(__file__).resolve().parent / "hookpkg"
PKG = "tests.hookpkg"

USES_PACKAGE = """
import pytest
import torch

import shapesafe
from {pkg} import ops


def test_wrong_call_raises_shape_error():
    with pytest.raises(shapesafe.ShapeError, match="argument 'w' dim 'n' is 3"):
        ops.project(torch.randn(3, 4), torch.randn(5, 3))


def test_right_call_runs():
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    torch.testing.assert_close(ops.project(x, w), x @ w.T)


def test_unannotated_untouched():
    assert ops.plain is ops.REGISTRY["plain"]
    assert ops.project is ops.REGISTRY["project"]
    assert not hasattr(ops.unannotated, "__shapesafe__")
"""


def _forget(pkg: str) -> None:
    for name in [n for n in sys.modules if n == pkg or n.startswith(pkg + ".")]:
        del sys.modules[name]


def _config(
    option: str | None, ini: str = "", other: str | None = None, other_ini: str = ""
) -> types.SimpleNamespace:
    """What the hook reads of pytest's early config."""
    inis = {plugin.INI: ini, plugin.OTHER_INI: other_ini}
    return types.SimpleNamespace(
        known_args_namespace=types.SimpleNamespace(
            shapesafe_packages=option, shapesafe_other_hints=other
        ),
        getini=lambda name: inis.get(name, ""),
        stash=pytest.Stash(),
    )


@pytest.fixture
def fresh() -> Iterator[None]:
    _forget(PKG)
    before = list(sys.meta_path)
    yield
    sys.meta_path[:] = before
    _forget(PKG)


def _load(config: types.SimpleNamespace) -> None:
    plugin.pytest_load_initial_conftests(config, None, [])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "option, ini", [(PKG, ""), (None, PKG), (f"{PKG},tests.hookpkg_self", "ignored")]
)
def test_option_installs_the_hook(fresh: None, option: str | None, ini: str) -> None:
    config = _config(option, ini)
    _load(config)
    hook = config.stash[plugin._HOOK]
    assert isinstance(hook, ImportHook) and hook.packages[0] == PKG
    plugin.pytest_configure(config)  # type: ignore[arg-type]
    header = plugin.pytest_report_header(config)  # type: ignore[arg-type]
    assert header == (
        f"shapesafe: checking {', '.join(hook.packages)} (import hook; beartype for other hints)"
    )
    from tests.hookpkg import ops

    x, w = torch.randn(3, 4), torch.randn(5, 4)
    torch.testing.assert_close(ops.project(x, w), x @ w.T)
    with pytest.raises(ShapeError, match="argument 'w' dim 'n' is 5"):
        ops.project(x, w.T)
    assert ops.plain is ops.REGISTRY["plain"]
    plugin.pytest_unconfigure(config)  # type: ignore[arg-type]
    assert hook._finder not in sys.meta_path


@pytest.mark.parametrize("option", [None, "", " , "])
def test_no_option_installs_nothing(fresh: None, option: str | None) -> None:
    config = _config(option)
    before = list(sys.meta_path)
    _load(config)
    assert plugin._HOOK not in config.stash
    assert sys.meta_path == before
    from tests.hookpkg import ops

    assert not hasattr(ops.project, "__shapesafe__")


def test_a_package_imported_too_early_is_a_usage_error(fresh: None) -> None:
    from tests.hookpkg import ops  # noqa: F401

    with pytest.raises(pytest.UsageError) as info:
        _load(_config(PKG))
    assert str(info.value) == (
        f"--shapesafe-packages: {PKG} and {PKG}.ops were imported before shapesafe's import "
        "hook was installed, so they are not checked. The checks would silently not run. Find "
        "what imports it first (a pytest plugin, `-p`, or `python -c` code) and drop it, or "
        "use shapesafe.check_package in the package itself."
    )


def test_an_unknown_package_is_a_usage_error(fresh: None) -> None:
    config = _config(f"{PKG},tests.hookpgk")
    _load(config)
    hook = config.stash[plugin._HOOK]
    with pytest.raises(pytest.UsageError) as info:
        plugin.pytest_configure(config)  # type: ignore[arg-type]
    assert str(info.value) == (
        "--shapesafe-packages: no module named 'tests.hookpgk' (did you mean 'tests.hookpkg'?), "
        "so nothing of it would be checked"
    )
    assert hook._finder not in sys.meta_path


@pytest.mark.parametrize(
    "other, other_ini, on",
    [(None, "", True), ("off", "", False), (None, "off", False), ("on", "off", True)],
)
def test_other_hints_option(fresh: None, other: str | None, other_ini: str, on: bool) -> None:
    config = _config(PKG, other=other, other_ini=other_ini)
    _load(config)
    assert config.stash[plugin._HOOK].other_hints is on
    plugin.pytest_unconfigure(config)  # type: ignore[arg-type]


def test_a_bad_other_hints_setting_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError, match="shapesafe_other_hints: expected 'on' or 'off'"):
        _load(_config(PKG, other_ini="maybe"))


def test_a_bad_name_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError, match="--shapesafe-packages: not a package name: 'a-b'"):
        _load(_config("a-b"))


def test_the_plugin_imports_nothing_of_the_runtime() -> None:
    code = (
        "import sys, shapesafe.pytest_plugin\n"
        "heavy = [m for m in ('torch', 'jaxtyping', 'beartype') if m in sys.modules]\n"
        "print(heavy, sorted(m for m in sys.modules if m.startswith('shapesafe')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SHAPESAFE_PACKAGES"}
    env["SHAPESAFE_MODE"] = "garbage"  # not read: the plugin uses no runtime
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[] ['shapesafe', 'shapesafe.pytest_plugin']"


def test_a_bad_mode_does_not_break_a_project_without_shapesafe(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    env = {k: v for k, v in os.environ.items() if k != "SHAPESAFE_PACKAGES"}
    env["SHAPESAFE_MODE"] = "garbage"
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout


@pytest.mark.slow
def test_real_pytest_runs(tmp_path: Path) -> None:
    """Through the entry point: the option, the ini setting, none, and a too-early import."""
    pkg = "made_up_pkg"
    shutil.copytree(HOOKPKG, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "test_uses_package.py").write_text(USES_PACKAGE.format(pkg=pkg))

    def pytest_run(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)

    checked = pytest_run(f"--shapesafe-packages={pkg}")
    assert checked.returncode == 0 and "3 passed" in checked.stdout, checked.stdout
    header = f"shapesafe: checking {pkg} (import hook; beartype for other hints)"
    verbose = pytest_run(f"--shapesafe-packages={pkg}", "-v")
    assert header in verbose.stdout.splitlines(), verbose.stdout
    typo = pytest_run(f"--shapesafe-packages={pkg}x")
    assert typo.returncode == pytest.ExitCode.USAGE_ERROR, typo.stdout + typo.stderr
    assert f"no module named '{pkg}x' (did you mean '{pkg}'?)" in typo.stderr
    plain = pytest_run()
    assert plain.returncode == 1 and "1 failed, 2 passed" in plain.stdout, plain.stdout
    assert "RuntimeError" in plain.stdout  # torch's error: nothing was checked
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nshapesafe_packages = {pkg}\n")
    from_ini = pytest_run()
    assert from_ini.returncode == 0 and "3 passed" in from_ini.stdout, from_ini.stdout
    early = pytest_run("-p", f"{pkg}.ops")
    assert early.returncode == pytest.ExitCode.USAGE_ERROR, early.stdout + early.stderr
    assert f"{pkg} and {pkg}.ops were imported before shapesafe" in early.stderr
