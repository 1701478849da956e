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
# This one has no jaxtyping annotation, and its findings are on calls of module instances,
# which get no mypy hook of their own.
CORPUS = [*sorted(STATIC.glob("*.py")), STATIC / "models" / "mod_linear_sizes.py"]
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


# No call to an annotated function: the findings come from the annotations' hook.
NO_CALLS = """\
from jaxtyping import Float
from torch import Tensor


def flip(x: Float[Tensor, "a b"]) -> Float[Tensor, "b a"]:
    return x


def keep(x: Float[Tensor, "a b"]) -> None:
    y: Float[Tensor, "b a"] = x
    print(y)
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
    (root / "no_calls.py").write_text(NO_CALLS)
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


def expected(project: Path) -> Found:
    files = [*CORPUS, project / "no_calls.py"]
    return {(path.name, f.line, f.col, f.message) for path in files for f in check_file(path)}


def test_cold_cache_matches_the_checker(project: Path, cold: tuple[Found, str]) -> None:
    found, output = cold
    assert len(expected(project)) >= 12
    assert found == expected(project), output
    errors = [line for line in output.splitlines() if ": error: " in line]
    assert len(errors) == len(set(errors)) == len(found), output  # no repeats


def test_files_without_calls_are_checked(cold: tuple[Found, str]) -> None:
    found, output = cold
    assert {f for f in found if f[0] == "no_calls.py"} == {
        ("no_calls.py", 6, 12, 'return of flip(): dim \'b\' is b in x "a b" but a in x "a b"'),
        ("no_calls.py", 10, 31, 'y: dim \'b\' is b in the annotation "b a" but a in x "a b"'),
    }, output


def test_warm_cache_gives_the_same_findings(
    cold: tuple[Found, str], warm: tuple[Found, str]
) -> None:
    assert warm[0] == cold[0], warm[1]
    assert warm[1] == cold[1]


def test_only_shape_errors_in_the_corpus(cold: tuple[Found, str]) -> None:
    # The plugin reports under its own code, so `# type: ignore[shape]` can target it.
    _, output = cold
    errors = [line for line in output.splitlines() if ": error: " in line]
    assert errors and all(line.endswith("  [shape]") for line in errors), output


def test_editing_a_shape_string_rechecks_callers(edited: tuple[Found, str]) -> None:
    found, output = edited
    assert ("caller.py", 7, 12, 'head(y): dim \'a\' is s in y "s t" but t in y "s t"') in found
    assert {f for f in found if f[0] in ("caller.py", "callee.py")} == {
        ("caller.py", 7, 12, 'head(y): dim \'a\' is s in y "s t" but t in y "s t"'),
    }, output


def test_hooks_only_where_findings_can_be() -> None:
    # mypy takes the first plugin hook it is given, ahead of its default plugin's hooks.
    plugin = ShapePlugin(Options())
    assert plugin.get_function_hook("builtins.open") is None
    assert plugin.get_function_hook("functools.partial") is None
    assert plugin.get_method_hook("builtins.int.__pow__") is None
    assert plugin.get_type_analyze_hook("typing.Optional") is None
    assert plugin.get_method_hook("torch._tensor.Tensor.__matmul__") is not None
    assert plugin.get_method_hook("torch._tensor.Tensor.view") is not None
    assert plugin.get_function_hook("torch.nn.functional.linear") is not None
    assert plugin.get_type_analyze_hook("typing.Annotated") is not None
