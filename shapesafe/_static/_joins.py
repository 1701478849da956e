"""Shape rules of the ops that split one tensor into pieces or join pieces into one:
`split`, `chunk`, `cat`, `stack`, and a list of tensors of one shape joined (`join_many`)."""

from collections.abc import Sequence

from ._runs import back, front
from ._torch import add, axis, divide, rank, unsqueeze
from ._unify import Group, Shape, Size, anonymous_group, fresh, lit, needs, show
from ._values import ListV, Mismatch, TupV


def split(shape: Shape, pieces: Size | list[Size | None], dim: int) -> TupV | ListV | None:
    """`x.split(size, dim)`, or with a list of sizes. Where the number of pieces is not
    known, a list of pieces whose size along `dim` is unknown (the last may be smaller)."""
    p = axis(shape, dim)
    if p is None:
        return None
    whole = shape[p]
    assert isinstance(whole, Size)
    if isinstance(pieces, list):
        return TupV(
            tuple(
                tuple(s or fresh() if i == p else item for i, item in enumerate(shape))
                for s in pieces
            )
        )
    count = divide(whole, pieces)
    if count is None or count.kind != "int":
        return ListV(_with(shape, p, fresh()))
    assert isinstance(count.value, int)
    part = _with(shape, p, pieces)
    return TupV(tuple(part for _ in range(count.value)))


def chunk(shape: Shape, n: int, dim: int) -> TupV | None:
    p = axis(shape, dim)
    if p is None:
        return None
    whole = shape[p]
    assert isinstance(whole, Size)
    each = divide(whole, lit(n))
    if each is None and whole.kind == "int" and isinstance(whole.value, int):
        # torch's own count: pieces of ceil(size / n), the last one shorter.
        step = -(-whole.value // n)
        lengths = [min(step, whole.value - k) for k in range(0, whole.value, step)]
        return TupV(tuple(_with(shape, p, lit(m)) for m in lengths))
    if each is None:
        # At most n pieces: as many as asked for where the code unpacks that many, with no
        # finding where it unpacks fewer (a size that does not divide gives fewer).
        return TupV(tuple(_with(shape, p, fresh()) for _ in range(n)), uncertain=True)
    return TupV(tuple(_with(shape, p, each) for _ in range(n)))


def _with(shape: Shape, place: int, size: Size) -> Shape:
    """`shape` with `size` in place of the axis at `place`."""
    return tuple(size if i == place else item for i, item in enumerate(shape))


def _split_run(shapes: Sequence[Shape], dim: int, extra: int) -> tuple[Shape, list[Shape]] | None:
    """Shapes that share one run and all that comes before it, with `dim` counted from the
    end into what follows it: that shared head, and the tails after it."""
    first = shapes[0]
    runs = [i for i, item in enumerate(first) if isinstance(item, Group)]
    if len(runs) != 1 or any(len(s) != len(first) for s in shapes):
        return None
    g = runs[0]
    head = first[: g + 1]
    if any(s[: g + 1] != head for s in shapes):
        return None
    tails = [s[g + 1 :] for s in shapes]
    if not -(len(tails[0]) + extra) <= dim < 0:
        return None
    return head, tails


def _peeled(shapes: Sequence[Shape], k: int) -> Sequence[Shape]:
    """`shapes` with their last `k` axes known where one axis of a shared run makes them so
    (`back`): `torch.stack(xs, -2)` of "*b" tensors joins them before the run's last axis."""
    return [back(s, k) for s in shapes] if k > 0 else shapes


def _into_run(op: str, shapes: Sequence[Shape], texts: Sequence[str], dim: int | None) -> None:
    """`torch.cat` along an axis of the run that `shapes` share, or before it (`dim`), or
    `torch.stack` (`dim` None): the axes after the run are not joined, so they must agree."""
    first = shapes[0]
    runs = [i for i, item in enumerate(first) if isinstance(item, Group)]
    if len(runs) != 1 or any(len(s) != len(first) for s in shapes):
        return
    g = runs[0]
    if any(s[: g + 1] != first[: g + 1] for s in shapes):
        return
    if dim is not None and not (0 <= dim < g or dim < -(len(first) - g - 1)):
        return  # an axis after the run, or one that is there only when the run is empty
    _same_axes(op, [s[g + 1 :] for s in shapes], texts, shapes, None)


def _same_axes(
    op: str, shapes: Sequence[Shape], texts: Sequence[str], shown: Sequence[Shape], but: int | None
) -> None:
    """Raise Mismatch where an axis (other than `but`) of one of `shapes`, all of one known
    rank, certainly differs from the first's. `shown` are the shapes to show: `shapes`
    themselves, or the whole shapes when `shapes` are their tails, counted from the end."""
    first = shapes[0]
    n = len(first)
    skip = shown is not shapes  # tails: their axes counted from the end
    for s, t in zip(shapes[1:], texts[1:], strict=True):
        for i in range(n):
            x, y = first[i], s[i]
            assert isinstance(x, Size) and isinstance(y, Size)
            if i != but and needs(x, y) == "differ":
                raise Mismatch(
                    f'{op}: axis {i - n} is {x} in {texts[0]} "{show(shown[0])}" '
                    f'but {y} in {t} "{show(shown[shapes.index(s)])}"'
                    if skip
                    else f'{op}: axis {i} is {x} in {texts[0]} "{show(first)}" '
                    f'but {y} in {t} "{show(s)}"'
                )


def concat(
    shapes: Sequence[Shape], dim: int, texts: Sequence[str], whole: Sequence[Shape] = ()
) -> Shape | None:
    """torch.cat; `whole` are the shapes to show when `shapes` are their tails."""
    first = shapes[0]
    n = rank(first)
    split = None if n is not None else _split_run(_peeled(shapes, -dim), dim, 0)
    if split is not None:
        done = concat(split[1], dim, texts, whole or shapes)
        return None if done is None else (*split[0], *done)
    if n is None:
        _into_run("torch.cat", shapes, texts, dim)
        if dim >= 0:
            return _front_join(shapes, dim, False)
        return _back_join(shapes, dim, texts)
    shown = whole or shapes
    if n is None or any(rank(s) != n for s in shapes):
        return _back_join(shapes, dim, texts) if dim < 0 and not whole else None
    p = axis(first, dim)
    if p is None:
        return None
    _same_axes("torch.cat", shapes, texts, shown, p)
    total = lit(0)
    for s in shapes:
        item = s[p]
        assert isinstance(item, Size)
        total = add(total, item)
    return tuple(total if i == p else item for i, item in enumerate(first))


def stack(
    shapes: Sequence[Shape], dim: int, texts: Sequence[str], whole: Sequence[Shape] = ()
) -> Shape | None:
    """torch.stack; `whole` are the shapes to show when `shapes` are their tails."""
    first = shapes[0]
    n = rank(first)
    split = None if n is not None else _split_run(_peeled(shapes, -dim - 1), dim, 1)
    if split is not None:
        done = stack(split[1], dim, texts, whole or shapes)
        return None if done is None else (*split[0], *done)
    if n is None:
        _into_run("torch.stack", shapes, texts, None)
        if dim >= 0:
            return _front_join(shapes, dim, True)
    shown = whole or shapes
    if n is None or any(rank(s) != n for s in shapes):
        return _back_stack(shapes, dim, texts) if dim < 0 and not whole else None
    _same_axes("torch.stack", shapes, texts, shown, None)
    d = dim + n + 1 if dim < 0 else dim
    if not 0 <= d <= n:
        return None
    return (*first[:d], lit(len(shapes)), *first[d:])


def _back_join(shapes: Sequence[Shape], dim: int, texts: Sequence[str]) -> Shape | None:
    """`torch.cat` along axis `dim` counted from the end, of shapes with runs that are not
    one shared run: the axes after the runs joined, before them a run of its own."""
    runs = {tuple(i for i in s if isinstance(i, Group)): len(s) for s in shapes}
    if len(runs) < len(shapes):
        return None  # shapes with the same runs and ranks that differ, or one shared run
    known = min(
        len(s) - 1 - max((i for i, t in enumerate(s) if isinstance(t, Group)), default=-1)
        for s in shapes
    )
    if known < -dim:
        return None
    done = concat([s[len(s) - known :] for s in shapes], dim, texts, shapes)
    return None if done is None else (anonymous_group(), *done)


def _back_stack(shapes: Sequence[Shape], dim: int, texts: Sequence[str]) -> Shape | None:
    """`torch.stack` along axis `dim` counted from the end, of shapes whose runs or ranks
    differ: torch takes only equal shapes, so the axes after every run agree; the new axis
    goes among them, and before them is a run of its own."""
    lengths: dict[tuple[Group, ...], int] = {}
    for s in shapes:
        runs = tuple(i for i in s if isinstance(i, Group))
        if lengths.setdefault(runs, len(s)) != len(s):
            return None  # the same runs and ranks that differ
    known = min(
        len(s) - 1 - max((i for i, t in enumerate(s) if isinstance(t, Group)), default=-1)
        for s in shapes
    )
    if known < -dim - 1:
        return None
    done = stack([s[len(s) - known :] for s in shapes], dim, texts, shapes)
    return None if done is None else (anonymous_group(), *done)


def _front_join(shapes: Sequence[Shape], dim: int, new_axis: bool) -> Shape | None:
    """`torch.stack` (`new_axis`) or `torch.cat` along axis `dim` counted from the front,
    of shapes with a run: where they are alike but for that axis, what they make."""
    peeled = [front(s, dim + (0 if new_axis else 1)) for s in shapes]
    first = peeled[0]
    if any(isinstance(i, Group) for i in first[: dim + (0 if new_axis else 1)]):
        return None
    if new_axis:
        if any(p != first for p in peeled):
            return None
        return (*first[:dim], lit(len(shapes)), *first[dim:])
    rest = first[:dim] + first[dim + 1 :]
    if any(len(p) != len(first) or p[:dim] + p[dim + 1 :] != rest for p in peeled):
        return None
    total = lit(0)
    for p in peeled:
        item = p[dim]
        if not isinstance(item, Size):
            return None
        total = add(total, item)
    return _with(first, dim, total)


def join_many(shape: Shape, dim: int, new_axis: bool, count: Size | None = None) -> Shape | None:
    """`torch.cat` (`new_axis` False) or `torch.stack` of a list whose items all have
    `shape`: the axis they are joined along has a size of its own, or, stacked, the
    list's `count` where it is known."""
    grown = unsqueeze(shape, dim) if new_axis else shape
    place = None if grown is None else axis(grown, dim)
    if grown is None or place is None:
        return None
    return _with(grown, place, count if new_axis and count is not None else fresh())
