"""The runs of `*#name` dims: each argument's run broadcasts with the others', and a return's
`*name` is what they give, as jaxtyping checks them at run time.

The static unifier matches a `*#name` run as a run of its own (`_unify._plan`); this module
keeps, beside it, what the runs of the arguments give together while each has a known
length (or all are the one same run of unknown length, the caller's `*batch`), and the first
pair of literal sizes that cannot broadcast.
"""

from .._contract import Source, Spec
from ._unify import Group, Shape, Size, certain, fresh

# A run's name -> what its runs give so far and where the first was seen; None once a run
# of unknown length (or an argument of unknown shape) took part.
Runs = dict[str, tuple[Shape, Source] | None]


def _one(size: Size) -> bool:
    return size.kind == "int" and size.value == 1


def _pair(x: Size, y: Size) -> Size | None:
    """One axis of two broadcast runs; None where two literals can never broadcast."""
    if _one(x) or certain(x, y) == "same":
        return y if _one(x) else x
    if _one(y):
        return x
    if x.kind == y.kind == "int":
        return None
    # Where the code runs, an int wins over a name (which is 1 or that int), a known size
    # over a fresh one; two names give a size of their own.
    for a, b in ((x, y), (y, x)):
        if a.kind == "int" or (b.kind == "fresh" and a.kind != "fresh"):
            return a
    return fresh()


def wide(a: Shape, b: Shape) -> Shape | None:
    """The broadcast of two runs of known length; None if two literals clash."""
    n = max(len(a), len(b))
    pa, pb = (None,) * (n - len(a)) + tuple(a), (None,) * (n - len(b)) + tuple(b)
    out: list[Size] = []
    for x, y in zip(pa, pb, strict=True):
        if x is None or y is None:
            kept = y if x is None else x
            assert isinstance(kept, Size)
            out.append(kept)
            continue
        assert isinstance(x, Size) and isinstance(y, Size)
        got = _pair(x, y)
        if got is None:
            return None
        out.append(got)
    return tuple(out)


def record(
    runs: Runs, argument: str, spec: Spec, shape: Shape | None
) -> tuple[int, Shape, Shape, Source] | None:
    """Take the run that `spec`'s `*#name` dim holds in `shape` (None: a shape not known)
    into `runs`; where it certainly cannot broadcast with the runs before it, (its first
    axis, their runs, its run, where they were seen)."""
    run = spec.plan.run
    if run is None or not run.broadcastable or not run.name:
        return None
    name = run.name
    pre, post = len(spec.plan.pre), len(spec.plan.post)
    groups = [i for i, item in enumerate(shape or ()) if isinstance(item, Group)]
    if shape is None or len(shape) < pre + post or not _in_run(groups, pre, len(shape) - post):
        runs[name] = None
        return None
    got = shape[pre : len(shape) - post]
    if name not in runs:
        runs[name] = (got, Source(argument, pre))
        return None
    prev = runs[name]
    if prev is None or prev[0] == got:
        return None
    if groups or any(isinstance(i, Group) for i in prev[0]):
        runs[name] = None  # runs of unknown length that are not the one same run
        return None
    joined = wide(prev[0], got)
    if joined is None:
        return pre, prev[0], got, prev[1]
    runs[name] = (joined, prev[1])
    return None


def _in_run(groups: list[int], start: int, stop: int) -> bool:
    """Whether a shape's runs of unknown length (at `groups`) fall where the argument's
    `*#name` run is (`start` to `stop`): none, or one there, which the run then holds."""
    return not groups or (len(groups) == 1 and start <= groups[0] < stop)


def beside_squeezed(vector: Shape, squeezed: Shape) -> bool:
    """Whether `v * z.squeeze()` has v's shape for every size: v is one axis `(d,)` and z is
    that axis among literal 1s (`(d, 1)`, the norms of a matrix's rows kept as a column).
    The squeeze gives `(d,)`, or `()` where d is 1 at run time; v broadcasts to `(d,)` with
    either."""
    if len(vector) != 1 or not isinstance(vector[0], Size):
        return False
    rest = [i for i in squeezed if not (isinstance(i, Size) and _one(i))]
    return len(rest) == 1 and isinstance(rest[0], Size) and certain(rest[0], vector[0]) == "same"
