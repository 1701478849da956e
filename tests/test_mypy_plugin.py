"""The mypy plugin: the same findings as `shapesafe check`, from a cold and a warm cache.

mypy is slow to start cold (it reads torch), so one project is checked three times and the
tests share the runs: cold, warm, and warm again after a shape-only edit in a callee.
"""

import re
import shutil
from pathlib import Path

import mypy.api
import pytest
from mypy.options import Options

from shapesafe._static import check_file
from shapesafe.mypy_plugin import ShapePlugin

pytestmark = pytest.mark.slow

STATIC = Path(__file__).resolve().parent / "static"
CORPUS = sorted(STATIC.glob("*.py"))
_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.*)  \[shape\]$")

Found = set[tuple[str, int, int, str]]

CALLEE = """\
from jaxtyping import Float
from torch import Tensor


def head(x: Float[Tensor, "a b"]) -> Float[Tensor, "a b"]:
    return x
"""

CALLER = """\
from callee import head
from jaxtyping import Float
from torch import Tensor


def use(y: Float[Tensor, "s t"]) -> Float[Tensor, "s t"]:
    return head(y)
"""


def run_mypy(root: Path) -> tuple[Found, str]:
    files = sorted(str(p) for p in root.glob("*.py"))
    out, err, _ = mypy.api.run(
        ["--config-file", str(root / "mypy.ini"), "--cache-dir", str(root / "cache"), *files]
    )
    found = set()
    for line in out.splitlines():
        match = _LINE.match(line)
        if match is not None:
            name = Path(match["path"]).name
            found.add((name, int(match["line"]), int(match["col"]), match["msg"]))
    return found, out + err


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mypy_project")
    for path in CORPUS:
        shutil.copy(path, root / path.name)
    (root / "callee.py").write_text(CALLEE)
    (root / "caller.py").write_text(CALLER)
    (root / "mypy.ini").write_text(
        "[mypy]\nplugins = shapesafe.mypy_plugin\nshow_column_numbers = True\n"
    )
    return root


@pytest.fixture(scope="module")
def cold(project: Path) -> tuple[Found, str]:
    return run_mypy(project)


@pytest.fixture(scope="module")
def warm(project: Path, cold: tuple[Found, str]) -> tuple[Found, str]:
    return run_mypy(project)


@pytest.fixture(scope="module")
def edited(project: Path, warm: tuple[Found, str]) -> tuple[Found, str]:
    callee = project / "callee.py"
    callee.write_text(CALLEE.replace('"a b"', '"a a"'))
    return run_mypy(project)


def expected() -> Found:
    return {
        (path.name, f.line, f.col, f.message) for path in CORPUS for f in check_file(path)
    }


def test_cold_cache_matches_the_checker(cold: tuple[Found, str]) -> None:
    found, output = cold
    assert len(expected()) >= 10
    assert found == expected(), output


def test_warm_cache_gives_the_same_findings(
    cold: tuple[Found, str], warm: tuple[Found, str]
) -> None:
    assert warm[0] == cold[0], warm[1]


def test_only_shape_errors_in_the_corpus(cold: tuple[Found, str]) -> None:
    # The plugin reports under its own code, so `# type: ignore[shape]` can target it.
    _, output = cold
    errors = [line for line in output.splitlines() if ": error: " in line]
    assert errors and all(line.endswith("  [shape]") for line in errors), output


def test_editing_a_shape_string_rechecks_callers(edited: tuple[Found, str]) -> None:
    found, output = edited
    assert ("caller.py", 7, 12, "head(y): dim 'a' is s in y \"s t\" but t in y \"s t\"") in found
    assert {f for f in found if f[0] in ("caller.py", "callee.py")} == {
        ("caller.py", 7, 12, "head(y): dim 'a' is s in y \"s t\" but t in y \"s t\""),
    }, output


def test_hooks_only_for_calls_with_contracts() -> None:
    # mypy takes the first plugin hook it is given, ahead of its default plugin's hooks.
    plugin = ShapePlugin(Options())
    assert plugin.get_function_hook("builtins.open") is None
    assert plugin.get_function_hook("functools.partial") is None
    assert plugin.get_method_hook("builtins.int.__pow__") is None
    assert plugin.get_method_hook("torch._tensor.Tensor.__matmul__") is not None
