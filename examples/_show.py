"""Printing helpers shared by the lessons: shapes with dim names, and caught mistakes.

Everything printed is a shape, a dim name or a short verdict, never a tensor's values.
"""

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from shapesafe import ShapeError

LABEL_WIDTH = 31
SHAPE_WIDTH = 15
DIMS_WIDTH = 26

#: One entry per mistake caught, in order; tour.py counts them.
caught: list[str] = []


def heading(doc: str | None, number: str = "") -> None:
    """Print a lesson's one-line heading: the first line of its docstring."""
    title = (doc or "").strip().splitlines()[0] if doc and doc.strip() else "lesson"
    prefix = f"{number}  " if number else ""
    print(f"== {prefix}{title}")


def fmt_shape(t: Tensor) -> str:
    """`(2, 5, 8)`, `(8,)` or `()`, as Python writes tuples."""
    sizes = tuple(int(s) for s in t.shape)
    return str(sizes)


def show(label: str, t: Tensor, dims: str, note: str = "") -> None:
    """Print one step: a label, the shape, then the name of each axis.

    `dims` names the axes, e.g. `"batch seq embed"`; it must have one name per axis, so a
    lesson cannot print a name that the tensor does not have. A 0-d tensor prints its value.
    """
    names = dims.split()
    if len(names) != t.dim():
        raise ValueError(f"show({label!r}): {len(names)} dim names for a rank-{t.dim()} tensor")
    named = " ".join(names) if names else "(scalar)"
    if t.dim() == 0 and not t.dtype.is_complex:
        named += f" = {float(t):.3f}"
    line = f"  {_pad(label, LABEL_WIDTH)}{_pad(fmt_shape(t), SHAPE_WIDTH)}"
    print((line + (_pad(named, DIMS_WIDTH) + note if note else named)).rstrip())


def _pad(text: str, width: int) -> str:
    """Left-align `text` in a column, keeping two spaces before the next one."""
    return text.ljust(width - 2) + "  " if len(text) < width - 2 else text + "  "


def say(text: str) -> None:
    """Print one line of explanation."""
    print(f"  {text}".rstrip())


def fix(text: str) -> None:
    """Print how to fix the mistake just shown."""
    print(f"  fix: {text}")


def same(label: str, actual: Tensor, expected: Tensor) -> None:
    """Assert two computations agree (shape and values), and say so."""
    torch.testing.assert_close(actual, expected)
    print(f"  {_pad(label, LABEL_WIDTH)}same shape {fmt_shape(actual)}, same values")


def grid(label: str, mask: Tensor) -> None:
    """Draw a small 2-d mask or 0/1 matrix: `x` for kept, `.` for zero or False."""
    if mask.dim() != 2 or max(mask.shape) > 12:
        raise ValueError(f"grid({label!r}): only small matrices are drawn")
    rows = ["".join("x" if bool(v) else "." for v in row) for row in mask.tolist()]
    print(f"  {_pad(label, LABEL_WIDTH)}{rows[0]}")
    for row in rows[1:]:
        print(f"  {_pad('', LABEL_WIDTH)}{row}")


@contextlib.contextmanager
def mistake(what: str) -> Iterator[None]:
    """Run a block that makes a learner's mistake, and print the ShapeError it raises.

    The block must raise a ShapeError; if it does not, the lesson is wrong and this says so.
    """
    print()
    print(f"  mistake: {what}")
    try:
        yield
    except ShapeError as err:
        caught.append(what)
        lines = str(err).splitlines()
        print(f"  ShapeError: {lines[0]}")
        for line in lines[1:]:
            print(f"  {line}")
    else:
        raise AssertionError(f"no ShapeError for the mistake: {what}")
