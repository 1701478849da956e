"""Tracebacks that end in the user's code: the generated wrappers' source, and trimming.

- Each generated wrapper (`_codegen`) is compiled under its own file name, `<shapesafe._generated
  OP#N>`, whose source is registered with `linecache` for as long as the wrapper lives, so a
  traceback and pdb show its lines. Its globals are the module `shapesafe._generated`'s.
  With `SHAPESAFE_DUMP_GENERATED=DIR` in the environment, each source is also written to
  `DIR/OP.N.py` as it is made.
- An exception that leaves a checked call loses the frames of shapesafe's call machinery
  (the miss and full-check paths, jaxtyping's and beartype's checks, the wrappers of checked
  calls further in) that lie between the user's frames (`trim`). A `ShapeError` loses every
  shapesafe frame after the wrapper that raises it, so its traceback ends at the wrapper called
  from the user's line. An error inside shapesafe itself keeps its own frames.
- Every shapesafe module sets `__tracebackhide__`, which pytest reads to leave a frame out of a
  failure's report: a failing test shows the user's line, and no shapesafe frame's locals.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import itertools
import linecache
import os
import types
import weakref
from typing import Any

import beartype
import jaxtyping

from ._errors import ShapeError

#: The prefix of every generated wrapper's file name.
GENERATED = "<shapesafe._generated"

_count = itertools.count(1)

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
#: The modules that only carry a checked call to its check and its body.
_MACHINERY = frozenset(
    _PACKAGE + name
    for name in (
        "_checked.py",
        "_codegen.py",
        "_structure.py",
        "_compile.py",
        "_cache.py",
        "_jaxtyping_compat.py",
        "_mode.py",
        "_traceback.py",
    )
)
_CHECKERS = tuple(
    os.path.dirname(os.path.abspath(m.__file__ or "")) + os.sep for m in (jaxtyping, beartype)
)

_MACHINE, _OWN, _OTHER = range(3)


def register(source: str, op: str) -> str:
    """A new file name for the source of `op`'s wrapper, its lines put in `linecache`."""
    filename = f"{GENERATED} {op}#{next(_count)}>"
    lines = source.splitlines(keepends=True)
    # No modification time: `linecache.checkcache` keeps the entry, as no file backs it.
    linecache.cache[filename] = (len(source), None, lines, filename)
    folder = os.environ.get("SHAPESAFE_DUMP_GENERATED")
    if folder:
        os.makedirs(folder, exist_ok=True)
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in op)
        path = os.path.join(folder, f"{name}.{filename.rsplit('#', 1)[1][:-1]}.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(f"# {filename}\n{source}")
    return filename


def forget_when_gone(owner: Any, filename: str) -> None:
    """Drop `filename`'s lines from `linecache` once `owner` (the wrapper) is collected."""
    weakref.finalize(owner, linecache.cache.pop, filename, None)


def _kind(code: types.CodeType) -> int:
    name = code.co_filename
    if name.startswith("<shapesafe.") or name in _MACHINERY or name.startswith(_CHECKERS):
        return _MACHINE
    if name.startswith(_PACKAGE):
        return _OWN
    return _OTHER


def trim(err: BaseException) -> BaseException:
    """`err`, its traceback cut for raising again from the wrapper that caught it.

    The wrapper's own entry goes (raising again adds it back). Going outwards from the
    innermost frame: the machinery's frames go once a frame outside shapesafe lies further
    in; a `ShapeError` loses them all, and the shapesafe frames it was raised in.
    """
    tb = err.__traceback__
    entries: list[types.TracebackType] = []
    tb = None if tb is None else tb.tb_next
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    shape_error = isinstance(err, ShapeError)
    kept: types.TracebackType | None = None
    further_in = False  # a frame outside shapesafe lies further in
    for entry in reversed(entries):
        kind = _kind(entry.tb_frame.f_code)
        if kind == _MACHINE and (shape_error or further_in):
            continue
        if kind == _OWN and shape_error and not further_in:
            continue
        further_in = further_in or kind == _OTHER
        kept = types.TracebackType(kept, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return err.with_traceback(kept)
