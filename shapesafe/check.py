"""`shapesafe check PATH...`: find shape bugs in source files without running them.

Prints `file:line:col: shape: message` per finding and exits 1 if there are any, 0 if
none, 2 if a path is missing or a file does not parse. `# shapesafe: ignore` on a line
silences the findings on it.
"""

import argparse
import gc
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from ._static import Stats, check_file

_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist"})


def _files(paths: Sequence[str]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*.py")):
                rel = found.relative_to(path).parts[:-1]
                if not any(p.startswith(".") or p in _SKIP_DIRS for p in rel):
                    yield found
        else:
            yield path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checker; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["check"]:
        args = args[1:]
    parser = argparse.ArgumentParser(
        prog="shapesafe check",
        description="Check tensor shapes statically, from jaxtyping annotations.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to check")
    parser.add_argument(
        "--stats",
        action="store_true",
        help="print how many functions, calls and shape relations were checked, and why others "
        "were not",
    )
    options = parser.parse_args(args)
    stats = Stats() if options.stats else None
    gc.disable()  # the run keeps every syntax tree it reads and makes no cycles to collect
    status = 0
    count = 0
    files = 0
    for path in _files(options.paths):
        if not path.is_file():
            print(f"{path}: error: no such file", file=sys.stderr)
            status = 2
            continue
        files += 1
        try:
            findings = check_file(path, stats=stats)
        except SyntaxError as err:
            print(f"{path}:{err.lineno or 1}:{err.offset or 1}: error: {err.msg}", file=sys.stderr)
            status = 2
            continue
        for finding in findings:
            print(finding)
        count += len(findings)
    if count and status == 0:
        status = 1
    noun = "finding" if count == 1 else "findings"
    print(f"shapesafe: {count} {noun} in {files} file{'s' if files != 1 else ''}", file=sys.stderr)
    if stats is not None:
        for line in stats.lines():
            print(f"shapesafe: {line}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
