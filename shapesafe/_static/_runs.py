"""Runs of unknown length (`*batch`) that code reaches into from the front: `x[0]` or
`x.sum(0)` of "*batch c" takes the run's first axis out of it, `?batch[0]`, and leaves
`*batch[1:]`; `x.sum(-2)` of "*batch c" takes its last axis, `?batch[-1]`, and leaves
`*batch[:-1]`."""

import dataclasses

from .._contract import Dim, Spec
from ._unify import Group, Shape, Size, fresh, run_item


def front(shape: Shape, k: int) -> Shape:
    """`shape` with its first `k` axes known, where a named run (`*batch`) starts at axis
    k-1: its first axis taken out of it (`?batch[0] *batch[1:]`). For an op that reaches
    into the run from the front (`x[0]`, `x.sum(0)`), as code does where the run has an
    axis. Code that reaches further (`poses[:, :3, 3]` of "*n 4 4") may mean a run of
    one axis, whatever else its annotation allows: such a shape is left as it is, and the
    op's result is unknown."""
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if not runs or runs[0] != k - 1:
        return shape
    g = runs[0]
    run = shape[g]
    assert isinstance(run, Group)
    if not run.name or run.cut or run.end:
        return shape
    return (*shape[:g], run_item(run, 0), dataclasses.replace(run, cut=1), *shape[g + 1 :])


def back(shape: Shape, k: int) -> Shape:
    """`front` from the other end: where a named run ends at axis -k, its last axis taken
    out of it (`*batch[:-1] ?batch[-1]`), for `x.sum(-2)` of "*batch c"."""
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if not runs or len(shape) - runs[-1] != k or k < 1:
        return shape
    g = runs[-1]
    run = shape[g]
    assert isinstance(run, Group)
    if not run.name or run.cut or run.end:
        return shape
    return (*shape[:g], dataclasses.replace(run, end=1), run_item(run, -1), *shape[g + 1 :])


def ends(shape: Shape, head: int, tail: int) -> Shape:
    """`shape` with its first `head` and last `tail` axes known, where one axis of a run
    makes them so (`front`, `back`)."""
    return back(front(shape, head), tail)


def starred_parts(count: int, star: int, shape: Shape) -> tuple[Shape, Shape, Shape] | None:
    """`*b, h, w = x.shape` (`count` names, the `star`th starred): the axes of `shape` the
    names before the starred one take, the starred one's, and those after. Where `shape`
    holds a run, the starred name must take that run and nothing else; None otherwise."""
    after = count - star - 1
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if runs and (len(runs) != 1 or runs[0] != star or len(shape) - star - 1 != after):
        return None
    if len(shape) < count - 1:
        return None
    end = len(shape) - after
    return shape[:star], shape[star:end], shape[end:]


def beside_run(run: Group, k: int) -> Shape:
    """The `k` axes that `run` (`*d[:-e]`) left out last, as `same_ends` writes them after
    it: `?d[-1]` for `*d[:-1]` and one axis."""
    return tuple(run_item(run, -j) for j in range(run.end, run.end - k, -1))


def same_ends(a: Shape, b: Shape) -> tuple[Shape, Shape]:
    """Two shapes that hold the same named run, one with more of its last axes taken out
    (`*d` and `*d[:-1]`, as `x` and `x.sum(-1)` of "*d"): the other with as many taken
    out, each as its own axis (`*d[:-1] ?d[-1]`), so that the runs line up as one."""
    ga = [i for i, item in enumerate(a) if isinstance(item, Group)]
    gb = [i for i, item in enumerate(b) if isinstance(item, Group)]
    if len(ga) != 1 or len(gb) != 1:
        return a, b
    ra, rb = a[ga[0]], b[gb[0]]
    assert isinstance(ra, Group) and isinstance(rb, Group)
    if not ra.name or ra.end == rb.end or dataclasses.replace(ra, end=rb.end) != rb:
        return a, b
    swap = ra.end > rb.end
    (short, g, run), end = (b, gb[0], rb) if swap else (a, ga[0], ra), max(ra.end, rb.end)
    longer = dataclasses.replace(run, end=end)
    out = (*short[:g], longer, *beside_run(longer, end - run.end), *short[g + 1 :])
    return (a, out) if swap else (out, b)


def whole(shape: Shape) -> Shape:
    """`shape` with a run's first axes, where they stand before what is left of it, put back
    into it: `?batch[0] *batch[1:]` is `*batch`."""
    out = list(shape)
    for i in range(len(out) - 1, 0, -1):
        run = out[i]
        if isinstance(run, Group) and run.cut and out[i - 1] == run_item(run, run.cut - 1):
            out[i - 1 : i + 1] = [dataclasses.replace(run, cut=run.cut - 1)]
    i = 0
    while i < len(out) - 1:
        run = out[i]
        if isinstance(run, Group) and run.end and out[i + 1] == run_item(run, -run.end):
            out[i : i + 2] = [dataclasses.replace(run, end=run.end - 1)]
            continue
        i += 1
    return tuple(out)


def moved(shape: Shape, src: int, dst: int) -> Shape | None:
    """`x.movedim(src, dst)` of a shape with a run: where both places are certain."""
    shape = front(shape, src + 1)
    p = _axis(shape, src)
    if p is None:
        return None
    item, rest = shape[p], front((*shape[:p], *shape[p + 1 :]), dst)
    runs = [i for i, it in enumerate(rest) if isinstance(it, Group)]
    at = dst if dst >= 0 else len(rest) + dst + 1
    if not 0 <= at <= len(rest) or (runs and (at > runs[0] if dst >= 0 else at <= runs[-1])):
        return None
    return (*rest[:at], item, *rest[at:])


def _axis(shape: Shape, index: int) -> int | None:
    """The position of axis `index` (negative counts from the end) of a shape with a run,
    where it is certain."""
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if index >= 0:
        return index if index < runs[0] else None
    return len(shape) + index if len(shape) + index > runs[-1] else None


def beside_a_run(axes: Shape) -> Shape:
    """What `axes` of one operand give where they broadcast with a run of another operand:
    a size that is not 1 stays (torch fails unless the run's axis is 1 or the same), and
    any other is unknown."""
    return tuple(
        a if isinstance(a, Size) and a.kind != "fresh" and a.value != 1 else fresh() for a in axes
    )


def shifted_in(
    spec: Spec, shape: Shape, bound: dict[str, tuple[bool, Shape]]
) -> tuple[int, Dim, Shape, Shape] | None:
    """Where `shape` holds, at `spec`'s run `*d` (bound to the caller's own `*d`), that run
    with some of its first or last axes taken out and other sizes in their place: `*d[:-1] 3`
    where `*d` is expected, as `x.sum(-2)` of "*d 3" gives. Those sizes would have to be the
    run's own axes, which holds only for some sizes: (axis, dim, expected, got)."""
    run_dim = spec.plan.run
    if run_dim is None or not run_dim.name:
        return None
    want = bound.get(run_dim.name, (False, ()))[1]
    start, stop = len(spec.plan.pre), len(shape) - len(spec.plan.post)
    got = tuple(shape[start:stop])
    run = want[0] if len(want) == 1 else None
    groups = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if not isinstance(run, Group) or not run.name or run.cut or run.end or len(groups) != 1:
        return None
    g = groups[0] - start
    mine = shape[groups[0]]
    assert isinstance(mine, Group)
    if not 0 <= g < len(got) or dataclasses.replace(mine, cut=0, end=0) != run:
        return None
    if (g, len(got) - g - 1) != (mine.cut, mine.end) or not mine.cut + mine.end:
        return None  # not the axes it lost, each in its place (`*d[1:] c` of `x.mean(0)`)
    own = [run_item(run, i) for i in range(mine.cut)] + list(beside_run(mine, mine.end))
    placed = [*got[:g], *got[g + 1 :]]
    if not any(
        isinstance(s, Size) and s.kind in ("int", "name", "sym") and s != o
        for s, o in zip(placed, own, strict=True)
    ):
        return None
    return start, spec.dims[run_dim.position], want, got
