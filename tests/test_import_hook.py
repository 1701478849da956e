"""`install_import_hook`, `check_package` and `SHAPESAFE_PACKAGES` on a made-up package."""

import asyncio
import importlib
import re
import subprocess
import sys
import types
from collections.abc import Iterator

import pytest
import torch

import shapesafe
from shapesafe import ShapeError
from shapesafe._import_hook import ImportHook, _Finder, check_module, install_from_environment

PKG = "tests.hookpkg"
SELF_PKG = "tests.hookpkg_self"


def _forget(*packages: str) -> None:
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in packages):
            del sys.modules[name]


@pytest.fixture
def fresh() -> Iterator[None]:
    """The made-up packages are imported anew by each test, and hooks don't outlive it."""
    _forget(PKG, SELF_PKG)
    before = list(sys.meta_path)
    yield
    sys.meta_path[:] = before
    _forget(PKG, SELF_PKG)


def _ops() -> types.ModuleType:
    return importlib.import_module(f"{PKG}.ops")


def test_annotated_function_is_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    torch.testing.assert_close(ops.project(x, w), x @ w.T)
    with pytest.raises(ShapeError, match=re.escape("project(): argument 'w' dim 'n' is 5")):
        ops.project(x, w.T)


def test_return_is_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    with pytest.raises(ShapeError, match="wrong_return"):
        ops.wrong_return(torch.randn(3, 4))
    ops.wrong_return(torch.randn(4, 4))  # square: the transpose fits


def test_without_the_hook_nothing_is_checked(fresh: None) -> None:
    ops = _ops()
    assert not hasattr(ops.project, "__shapesafe__")
    with pytest.raises(RuntimeError):  # torch's own error, not a ShapeError
        ops.project(torch.randn(3, 4), torch.randn(4, 5))


def test_unannotated_code_keeps_its_identity(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    # REGISTRY holds the objects the module body created.
    assert ops.plain is ops.REGISTRY["plain"]
    assert ops.count is ops.REGISTRY["count"]
    assert not hasattr(ops.unannotated, "__shapesafe__")
    assert ops.unannotated(2, 3) == 5
    assert "untyped" in vars(ops.Scale) and not hasattr(ops.Scale.untyped, "__shapesafe__")
    assert not hasattr(ops.Scale.__init__, "__shapesafe__")
    # `checked` would take the coroutine for the return value.
    assert ops.later is ops.REGISTRY["later"]
    x = torch.randn(2, 3)
    assert asyncio.run(ops.later(x)) is x


def test_module_level_aliases_share_one_checked_function(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    assert hasattr(ops.project, "__shapesafe__")
    assert ops.project_alias is ops.project
    # The rewrite happens after the body ran: a reference kept inside a container then
    # still holds the unchecked function.
    assert not hasattr(ops.REGISTRY["project"], "__shapesafe__")


def test_methods_and_static_methods_are_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    layer = ops.Scale(4)
    x = torch.randn(2, 4)
    torch.testing.assert_close(layer(x), x * layer.weight)
    with pytest.raises(ShapeError, match=re.escape("Scale.forward(): argument 'x'")):
        layer(torch.randn(2, 4, 1))
    a = torch.randn(4)
    torch.testing.assert_close(ops.Scale.pair(a, a), a + a)
    with pytest.raises(ShapeError, match=re.escape("Scale.pair(): argument 'b' dim 'n' is 3")):
        ops.Scale.pair(a, torch.randn(3))


def test_dataclass_fields_are_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    keys, values = torch.randn(6, 4), torch.randn(6, 2)
    pair = ops.Pair(keys, values)
    assert pair.keys is keys and pair.values is values
    with pytest.raises(ShapeError, match=re.escape("argument 'values' dim 's' is 5")):
        ops.Pair(keys, torch.randn(5, 2))


def test_modules_imported_after_the_block_are_not_checked(fresh: None) -> None:
    with shapesafe.install_import_hook("tests.somewhere_else") as hook:
        assert isinstance(hook, ImportHook)
        assert hook._finder in sys.meta_path
    assert hook._finder not in sys.meta_path
    ops = _ops()
    assert not hasattr(ops.project, "__shapesafe__")


def test_check_package_from_its_own_init(fresh: None) -> None:
    pkg = importlib.import_module(SELF_PKG)
    x, w = torch.randn(3, 4), torch.randn(4, 2)
    torch.testing.assert_close(pkg.head(x, w), x @ w)
    with pytest.raises(ShapeError, match=re.escape("head(): argument 'w' dim 'd' is 2")):
        pkg.head(x, w.T)
    assert any(isinstance(f, _Finder) and f.packages == (SELF_PKG,) for f in sys.meta_path)


def test_environment_variable(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAPESAFE_PACKAGES", f" {PKG} , tests.other")
    hook = install_from_environment()
    assert hook is not None and hook.packages == (PKG, "tests.other")
    ops = _ops()
    with pytest.raises(ShapeError):
        ops.project(torch.randn(3, 4), torch.randn(4, 5))


def test_environment_variable_warns_when_too_late(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ops()
    monkeypatch.setenv("SHAPESAFE_PACKAGES", PKG)
    with pytest.warns(RuntimeWarning, match=re.escape(f"{PKG}, {PKG}.ops was imported before")):
        install_from_environment()


def test_environment_variable_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHAPESAFE_PACKAGES", raising=False)
    assert install_from_environment() is None


@pytest.mark.parametrize("bad", ["", " , ", "a-b", "pkg..sub"])
def test_bad_package_names(bad: str) -> None:
    with pytest.raises(ValueError):
        shapesafe.install_import_hook(bad)


def test_check_module_counts_each_function_once() -> None:
    module = types.ModuleType("made_up")
    exec(
        "from jaxtyping import Float\n"
        "from torch import Tensor\n"
        "def f(x: Float[Tensor, ' n']) -> Float[Tensor, ' n']:\n"
        "    return x\n"
        "g = f\n",
        vars(module),
    )
    assert check_module(module) == 1
    assert module.f is module.g and hasattr(module.f, "__shapesafe__")
    assert check_module(module) == 0  # already checked


@pytest.mark.slow
def test_environment_variable_at_import_of_shapesafe() -> None:
    code = (
        "import shapesafe, torch\n"
        "from tests.hookpkg import ops\n"
        "try:\n"
        "    ops.project(torch.randn(3, 4), torch.randn(4, 5))\n"
        "except shapesafe.ShapeError as err:\n"
        "    print(type(err).__name__, err.argument)\n"
    )
    env = {**__import__("os").environ, "SHAPESAFE_PACKAGES": PKG}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ShapeError w"
