"""`shapesafe check [PATH...]`: find shape bugs in source files without running them.

(`shapesafe shapes FILE[:FUNCTION]` lists the shapes inferred, see `shapes`; `shapesafe lsp`
runs the language server, see `lsp`.)

Prints `file:line:col: shape: message` per finding. The exit status is 0 when nothing is
found, 1 when something is, and 2 for a usage error or an input that can't be read (a
missing path, a file that does not parse or decode, a bad `[tool.shapesafe]` section).
A file that fails is reported as `file: error: ...` and the run goes on with the others.
`# shapesafe: ignore` on a line silences the findings on it.

Settings come from the `[tool.shapesafe]` section of the nearest `pyproject.toml` (from
the working directory up), with paths relative to that file:

    [tool.shapesafe]
    paths = ["src", "examples"]      # checked when no PATH is given
    exclude = ["src/legacy", "*_pb2.py"]   # globs, skipped when walking folders
    ignore = ["shape"]               # finding codes not to report
"""

import argparse
import dataclasses
import fnmatch
import functools
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ._static import Finding, Stats, check_file

_PARALLEL_FROM = 64  # files; below that, starting processes costs more than it saves
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "build", "dist"})
_KEYS = {"paths": "a list of paths", "exclude": "a list of globs", "ignore": "a list of codes"}


class UsageError(Exception):
    """Bad arguments or settings: exit status 2."""


@dataclasses.dataclass
class Settings:
    """The `[tool.shapesafe]` section, with its paths made relative to the working directory."""

    root: Path = Path()
    paths: list[str] = dataclasses.field(default_factory=list)
    exclude: list[str] = dataclasses.field(default_factory=list)
    ignore: list[str] = dataclasses.field(default_factory=list)
    source: Path | None = None  # the pyproject.toml it came from


def find_pyproject(start: Path) -> Path | None:
    """The nearest `pyproject.toml` at `start` or above."""
    for folder in [start, *start.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_settings(pyproject: Path | None) -> Settings:
    """The `[tool.shapesafe]` section of `pyproject`; defaults when there is none."""
    if pyproject is None:
        return Settings()
    try:
        with pyproject.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"{pyproject}: error: {err}") from None
    section: Any = data.get("tool", {}).get("shapesafe", {})
    where = f"{pyproject}: error: [tool.shapesafe]"
    if not isinstance(section, dict):
        raise UsageError(f"{where} must be a table")
    values: dict[str, list[str]] = {}
    for key, value in section.items():
        if key not in _KEYS:
            raise UsageError(f"{where}: unknown key {key!r}; known: {', '.join(_KEYS)}")
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise UsageError(f"{where}: {key} must be {_KEYS[key]} (strings)")
        values[key] = value
    return Settings(root=pyproject.parent, source=pyproject, **values)


def settings_here() -> Settings:
    """The settings of the nearest `pyproject.toml` from the working directory; defaults if bad."""
    try:
        return read_settings(find_pyproject(Path.cwd()))
    except UsageError:
        return Settings()


def excluded(path: Path, settings: Settings) -> bool:
    """Whether a glob of `exclude` matches the path, or a folder it is in (from the root)."""
    if not settings.exclude:
        return False
    try:
        parts = path.resolve().relative_to(settings.root.resolve()).parts
    except ValueError:
        parts = path.parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    names = [*prefixes, path.name]
    return any(
        fnmatch.fnmatchcase(n, pattern.rstrip("/")) for n in names for pattern in settings.exclude
    )


def _files(paths: Sequence[str], settings: Settings, force_exclude: bool) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in sorted(path.rglob("*.py")):
                rel = found.relative_to(path).parts[:-1]
                if any(p.startswith(".") or p in _SKIP_DIRS for p in rel):
                    continue
                if not excluded(found, settings):
                    yield found
        elif not (force_exclude and excluded(path, settings)):
            yield path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shapesafe check",
        description="Check tensor shapes statically, from jaxtyping annotations. "
        "Exit status: 0 nothing found, 1 findings, 2 usage error or unreadable input.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files or folders to check (default: `paths` in [tool.shapesafe])",
    )
    parser.add_argument(
        "--config",
        metavar="PYPROJECT",
        help="the pyproject.toml to read [tool.shapesafe] from (default: the nearest one)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help=f"processes to check in (default: one per CPU core from {_PARALLEL_FROM} files on)",
    )
    parser.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply `exclude` to files named on the command line too (as pre-commit needs)",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="print how many functions, calls and shape relations were checked, and why others "
        "were not",
    )
    return parser


def code(finding: Finding) -> str:
    """The code that `ignore` names a finding by."""
    return str(getattr(finding, "code", "shape"))


Result = tuple[list[Finding], Stats | None] | str


def _check_one(path: Path, with_stats: bool = False) -> Result:
    """The findings in one file (and what was checked), or the error line that replaces them."""
    if not path.is_file():
        return f"{path}: error: no such file"
    stats = Stats() if with_stats else None
    try:
        return check_file(path, stats=stats), stats
    except SyntaxError as err:
        return f"{path}:{err.lineno or 1}:{err.offset or 1}: error: {err.msg}"
    except UnicodeDecodeError as err:
        return f"{path}: error: cannot decode the file: {err.reason}"
    except RecursionError:
        return f"{path}: error: too deeply nested for the checker"
    except Exception as err:  # one file's failure must not end the run
        return f"{path}: error: internal error, please report it: {type(err).__name__}: {err}"


def _check_all(paths: list[Path], jobs: int, with_stats: bool) -> Iterator[Result]:
    """`_check_one` on each path, in order; in worker processes for many files."""
    if jobs <= 0:
        jobs = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1
        )
        if len(paths) < _PARALLEL_FROM:
            jobs = 1
    if jobs == 1 or len(paths) < 2:
        yield from (_check_one(path, with_stats) for path in paths)
        return
    import concurrent.futures  # here: the mypy plugin imports this module for its settings
    import multiprocessing

    # fork where there is one: the workers start with the checker already imported.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    # Small chunks, so that the workers end close together: files differ tenfold in cost,
    # and a worker left with one more chunk of 1/8 of the files is what the run waits on.
    chunk = max(1, len(paths) // (jobs * 16))
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        one = functools.partial(_check_one, with_stats=with_stats)
        yield from pool.map(one, paths, chunksize=chunk)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checker; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["shapes"]:
        from . import shapes

        return shapes.main(args[1:])
    if args[:1] == ["lsp"]:
        from . import lsp

        return lsp.main(args[1:])
    if args[:1] == ["check"]:
        args = args[1:]
    options = _parser().parse_args(args)
    try:
        pyproject = Path(options.config) if options.config else find_pyproject(Path.cwd())
        settings = read_settings(pyproject)
        paths = options.paths or [str(settings.root / p) for p in settings.paths]
        if not paths:
            raise UsageError(
                "shapesafe check: error: no PATH given, and no `paths` in [tool.shapesafe]"
            )
    except UsageError as err:
        print(err, file=sys.stderr)
        return 2
    ignore = set(settings.ignore)
    stats = Stats() if options.stats else None
    gc.disable()  # the run keeps every syntax tree it reads and makes no cycles to collect
    status = 0
    count = 0
    files = 0
    listed = list(_files(paths, settings, options.force_exclude))
    for result in _check_all(listed, options.jobs, stats is not None):
        if isinstance(result, str):
            print(result, file=sys.stderr)
            status = 2
            continue
        files += 1
        findings, seen = result
        if stats is not None and seen is not None:
            stats.add(seen)
        for finding in findings:
            if code(finding) in ignore:
                continue
            print(finding)
            count += 1
    if count and status == 0:
        status = 1
    noun = "finding" if count == 1 else "findings"
    print(f"shapesafe: {count} {noun} in {files} file{'s' if files != 1 else ''}", file=sys.stderr)
    if stats is not None:
        for line in stats.lines():
            print(f"shapesafe: {line}", file=sys.stderr)
    if argv is None:
        # The process ends here: keep the collection at exit from scanning every syntax
        # tree the run holds (it holds no garbage).
        gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(main())
