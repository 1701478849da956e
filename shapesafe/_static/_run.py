"""One run of the checker, and the object that owns everything the run remembers.

A `Run` holds every cache: the parsed files (one version of each; a changed file replaces
the one held, and what the checker worked out about the old version goes with it), the
module lookups, and the products of sizes. Nothing else in the checker is kept between
calls. The command line checks all its files in one run. A long-lived caller, such as an
editor, gives each `check_file` its own `Run` for a workspace, and drops it to free
everything.

This module imports no other part of the checker at its top, so every part may ask it
for the active run.
"""

import contextvars
import dataclasses
import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._report import Finding, Stats
    from ._source import Module
    from ._unify import Size


@dataclasses.dataclass(frozen=True, order=True)
class Binding:
    """The shape that a statement (or a function's signature) gives one name."""

    line: int  # 1-based, of the name
    col: int  # 0-based, of the name, in UTF-8 bytes as `ast` counts
    end_col: int
    name: str
    end_line: int  # the last line of the statement or parameter that binds it
    shape: tuple[str, ...] | None  # each dim as written (`batch`, `3`, `*batch`, `4*n`)
    why: str = ""  # for an unknown shape: where it was lost, in the words of `--stats`
    parameter: bool = False

    def text(self) -> str:
        """`(batch, seq, embed)`, or `unknown (why)`."""
        if self.shape is None:
            return f"unknown ({self.why})" if self.why else "unknown"
        return "(" + ", ".join(self.shape) + ")"


class Shapes:
    """An observer of a run: the shape each assignment of a checked file binds to a name
    (a tensor's, or unknown and why), and each tensor parameter's. A file checked again
    replaces what was seen in it."""

    def __init__(self) -> None:
        self.files: dict[Path, dict[tuple[int, int, str], Binding]] = {}

    def start(self, path: Path) -> None:
        self.files[path] = {}

    def add(self, path: Path, binding: Binding) -> None:
        # A statement read again (a loop body) keeps its last reading.
        self.files.setdefault(path, {})[binding.line, binding.col, binding.name] = binding

    def of(self, path: Path) -> list[Binding]:
        """What was seen in `path`, in source order."""
        return sorted(self.files.get(path.resolve(), {}).values())


class Run:
    """Every cache of one checker run."""

    def __init__(self, observer: Shapes | None = None) -> None:
        # Told the shape of each name a checked file binds; None costs nothing.
        self.observer = observer
        # path -> (modified time and size, the parsed file or None where it does not parse)
        self.modules: dict[Path, tuple[tuple[int, int], Module | None]] = {}
        self.real_paths: dict[Path, Path] = {}  # a found module's path, resolved
        # (importing folder, dotted name, working folder) -> the file it names
        self.found_modules: dict[tuple[Path, str, str], Path | None] = {}
        self.starring: set[Path] = set()  # files whose imported names are being read
        # a product of sizes -> (coefficient, sizes and powers), see `_torch.monomial`
        self.monomials: dict[Size, tuple[int, Any]] = {}
        # While a file is checked: the modified time and size of each file it looked up,
        # taken once (`_source.load_found`).
        self.stamps: dict[Path, tuple[int, int]] | None = None
        self.cwd = ""  # and the working folder, read once
        # Names looked up in other files so far, to tell what one file's text decides alone
        # (`_source.Module.annotation`).
        self.lookups = 0
        # For each function body being read for what it gives (`FileChecker.infer`),
        # innermost last: the files the reading went through, as they were.
        self.reading: list[dict[Path, Module | None]] = []


_active: contextvars.ContextVar[Run] = contextvars.ContextVar("shapesafe_static_run")
_PROCESS = Run()  # the run of callers that don't name one, such as the command line


def active() -> Run:
    """The run that the check in progress belongs to."""
    return _active.get(_PROCESS)


@contextmanager
def using(run: Run) -> Iterator[Run]:
    """Make `run` the active one in this block."""
    token = _active.set(run)
    try:
        yield run
    finally:
        _active.reset(token)


@contextmanager
def _stamps_taken_once(run: Run) -> Iterator[None]:
    """In this block, each file looked up is stat-ed once, and the working folder read once."""
    before, run.stamps, cwd, run.cwd = run.stamps, {}, run.cwd, os.getcwd()
    try:
        yield
    finally:
        run.stamps, run.cwd = before, cwd


def check_file(
    path: Path, display: str | None = None, stats: "Stats | None" = None, run: Run | None = None
) -> "list[Finding]":
    """Every certain shape mismatch in one file. Raises SyntaxError for a file that won't parse.

    `run` owns what the check remembers for later ones (the process's own run by default).
    """
    from ._file import FileChecker  # here: the rest of the checker imports this module
    from ._source import load

    # The checker keeps many syntax trees alive and makes no reference cycles; the cyclic
    # collector would scan those trees over and over for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with using(run if run is not None else active()) as held, _stamps_taken_once(held):
            module = load(path)
            if module is None:
                source = path.read_bytes()  # compile() decodes as Python does (PEP 263)
                compile(source, str(path), "exec", dont_inherit=True)  # raises the SyntaxError
                return []
            if stats is not None:
                stats.files += 1
            observer = active().observer
            if observer is not None:
                observer.start(module.path)
            return FileChecker(module, display or str(path), stats).run()
    finally:
        if collecting:
            gc.enable()
