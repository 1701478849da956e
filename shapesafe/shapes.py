"""`shapesafe shapes FILE[:FUNCTION]`: the shapes the static checker infers, as a listing.

Prints the source lines of the function (`name` or `Class.method`), or of the whole file,
each statement followed by a comment per tensor name it binds, in dim names:

    scores = q @ k.mT
    # scores: (b, s, t)

A shape the checker can't know says where it was lost, in the words of `shapesafe check
--stats`. The exit status is 0, or 2 for a file that can't be read or a function not found.
"""

import argparse
import ast
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ._static._run import Binding, Run, Shapes, check_file

_QUALNAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def split_target(target: str) -> tuple[Path, str | None]:
    """`file.py:Class.method` -> (file.py, "Class.method"); `file.py` -> (file.py, None)."""
    path, colon, name = target.rpartition(":")
    if colon and _QUALNAME.fullmatch(name) and not Path(target).exists():
        return Path(path), name
    return Path(target), None


def find_function(tree: ast.Module, qualname: str) -> ast.AST | None:
    """The function or class that `qualname` (`f`, `Class.method`) names at the top level."""
    body: list[ast.stmt] = tree.body
    found: ast.AST | None = None
    for part in qualname.split("."):
        found = next(
            (
                n
                for n in body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and n.name == part
            ),
            None,
        )
        if found is None:
            return None
        body = found.body
    return found


def listing(source: str, bindings: Sequence[Binding], first: int = 1, last: int = 0) -> str:
    """Lines `first` to `last` (1-based, inclusive; 0 for the end) of `source`, each statement
    followed by the shapes it binds."""
    lines = source.splitlines()
    last = last or len(lines)
    after: dict[int, list[Binding]] = {}
    for b in bindings:
        if first <= b.line <= last:
            after.setdefault(min(max(b.end_line, b.line), last), []).append(b)
    out: list[str] = []
    for number in range(first, last + 1):
        out.append(lines[number - 1])
        for b in after.get(number, ()):
            text = lines[b.line - 1]
            indent = text[: len(text) - len(text.lstrip())]
            if b.parameter and re.match(r"(async\s+)?def\b", text.lstrip()):
                indent += "    "  # a parameter on the `def` line: said as the body would be
            out.append(f"{indent}# {b.name}: {b.text()}")
    return "\n".join(out) + "\n"


def shapes_of(path: Path, run: Run | None = None) -> list[Binding]:
    """What the checker infers for each name `path` binds. Raises SyntaxError."""
    observer = Shapes()
    run = run if run is not None else Run(observer)
    kept, run.observer = run.observer, observer
    try:
        check_file(path, run=run)
    finally:
        run.observer = kept
    return observer.of(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="shapesafe shapes",
        description="Print a function's (or file's) source, each statement followed by the "
        "tensor shapes the static checker infers for the names it binds.",
    )
    parser.add_argument(
        "target", metavar="FILE[:FUNCTION]", help="a file, and a function or Class.method in it"
    )
    options = parser.parse_args(sys.argv[1:] if argv is None else argv)
    path, name = split_target(options.target)
    if not path.is_file():
        print(f"{path}: error: no such file", file=sys.stderr)
        return 2
    try:
        bindings = shapes_of(path)
    except SyntaxError as err:
        print(f"{path}:{err.lineno or 1}:{err.offset or 1}: error: {err.msg}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, RecursionError) as err:
        print(f"{path}: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
    source = path.read_text(encoding="utf-8")
    first, last = 1, 0
    if name is not None:
        node = find_function(ast.parse(source), name)
        if node is None:
            print(f"{path}: error: no function or class {name!r} at its top level", file=sys.stderr)
            return 2
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(d.lineno for d in decorators)])  # type: ignore[attr-defined]
        last = node.end_lineno or node.lineno  # type: ignore[attr-defined]
    sys.stdout.write(listing(source, bindings, first, last))
    return 0


if __name__ == "__main__":
    sys.exit(main())
