"""The static checker's layout: no file too long to read, no function too branchy to follow.

The bounds leave room below them for the rules still to come; a file or function that reaches
one is split by role (see the layers in `shapesafe/_static/_report.py`, `_Explaining`).
"""

from pathlib import Path

import radon.complexity  # type: ignore[import-untyped]  # radon ships no types

import shapesafe._static

STATIC = Path(shapesafe._static.__file__).parent
MAX_LINES = 900
MAX_COMPLEXITY = 40


def _sources() -> list[Path]:
    return sorted(STATIC.rglob("*.py"))


def test_the_static_checker_has_its_files() -> None:
    names = {p.relative_to(STATIC).as_posix() for p in _sources()}
    assert {"_expr.py", "_calls.py", "_access.py", "_rules/index.py"} <= names


def test_no_static_file_is_over_900_lines() -> None:
    long = {
        p.relative_to(STATIC).as_posix(): n
        for p in _sources()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_no_static_function_is_over_complexity_40() -> None:
    branchy = {
        f"{p.relative_to(STATIC).as_posix()}:{block.lineno} {block.fullname}": block.complexity
        for p in _sources()
        for block in radon.complexity.cc_visit(p.read_text(encoding="utf-8"))
        if block.complexity > MAX_COMPLEXITY
    }
    assert branchy == {}
