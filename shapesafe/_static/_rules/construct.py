"""Rules of the ops that make a new tensor: of given sizes, from data, ranges and grids."""

import ast

from .. import _torch as T
from .._unify import Size, fresh, lit
from .._values import IntV, LayerV, ListV, NumV, ObjV, SymV, TupV, Value
from ._registry import PASS, Call, _Pass, function, kw, string

CONSTRUCTORS = frozenset("zeros ones randn rand empty".split())


@function(*(f"torch.{c}" for c in (*sorted(CONSTRUCTORS), "full", "randint")))
def sized(c: Call) -> Value:
    """`torch.zeros(b, n)`, `torch.full((b, n), v)`, `torch.randint(lo, hi, (b, n))`."""
    args = c.args
    # A size may be a tensor of no dims (`torch.randn(2, lens.amax())`): a size not known.
    sizes: list[Value] = list(args)
    if c.name == "full":
        sizes = args[:1]
        if not isinstance(args[0] if args else None, TupV):
            return None
    if c.name == "randint":
        sizes = [a for a in args if isinstance(a, TupV)][:1]  # type: ignore[assignment]
    if len(sizes) == 1 and isinstance(sizes[0], TupV):
        if not sizes[0].items and not sizes[0].mutable:
            return ()  # `torch.zeros(())`: one value, of no dims
        sizes = list(sizes[0].items)
    if not sizes:
        sv = c.kwargs.get("size")
        sizes = list(sv.items) if isinstance(sv, TupV) else []
        if not sizes:
            return None
    if len(sizes) == 1 and not isinstance(sizes[0], (IntV, SymV, NumV)):
        return None  # one argument that may be a whole shape: rank unknown
    if any(isinstance(v, (TupV, LayerV, ObjV)) or (isinstance(v, tuple) and v) for v in sizes):
        return None
    out = [None if isinstance(s, tuple) else c.size_of(s) for s in sizes]
    return tuple(s if s is not None else fresh() for s in out)


@function("torch.normal")
def normal(c: Call) -> Value | _Pass:
    size_v = c.kwargs.get("size")
    if not isinstance(size_v, TupV):
        return PASS
    if any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in size_v.items):
        return None
    return tuple(c.size_of(v) or fresh() for v in size_v.items)


@function("torch.linspace", "torch.logspace")
def spaced(c: Call) -> Value:
    # `steps` is an int, even where the checker can't tell which: the result is 1-D.
    given_steps = len(c.node.args) > 2 or kw(c.node, "steps") is not None
    steps = c.arg(2, "steps")
    if not given_steps or isinstance(steps, (tuple, TupV, ListV, LayerV, ObjV)):
        return None
    s = c.size_of(steps)
    return (s if s is not None else fresh(),)


@function("torch.eye")
def eye(c: Call) -> Value | _Pass:
    args = c.args
    if not args or len(args) > 2:
        return PASS
    if any(isinstance(a, (tuple, TupV, ListV, LayerV, ObjV)) for a in args):
        return None
    n = c.size_of(args[0]) or fresh()
    m = (c.size_of(args[1]) or fresh()) if len(args) == 2 else n
    return (n, m)


@function("torch.meshgrid")
def meshgrid(c: Call) -> Value:
    """`torch.meshgrid(a, b, indexing=...)` of 1-D tensors: one grid per input."""
    args = c.args
    vecs = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
    indexing = string(c.kw("indexing"))
    if (
        indexing not in ("ij", "xy")
        or not vecs
        or any(isinstance(a, ast.Starred) for a in c.node.args)
    ):
        return None  # without `indexing`, torch warns and uses "ij"; keep to the explicit
    sizes: list[Size] = []
    for v in vecs:
        if not isinstance(v, tuple) or len(v) != 1 or not isinstance(v[0], Size):
            return None
        sizes.append(v[0])
    if indexing == "xy" and len(sizes) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grid = tuple(sizes)
    return TupV(tuple(grid for _ in vecs))


@function(*(f"torch.{n}" for n in ("tensor", "Tensor", "as_tensor", "FloatTensor", "LongTensor")))
def from_data(c: Call) -> Value | _Pass:
    node, args = c.node, c.args
    if len(node.args) == 1 and isinstance(args[0], tuple):
        return args[0]  # `torch.tensor(array)`, `torch.FloatTensor(img)`: of its shape
    if len(node.args) == 1 and isinstance(args[0], TupV):
        return literal_shape(node.args[0], args[0], c.reader.seen)
    if (
        c.name != "tensor"
        and c.name != "as_tensor"
        and args
        and all(isinstance(a, (IntV, SymV)) for a in args)
    ):
        return sized(c)  # `torch.LongTensor(1)`: the legacy constructors take sizes
    if len(node.args) == 1 and isinstance(args[0], (IntV, NumV)) and c.name != "Tensor":
        return ()  # `torch.tensor(0.5)`: one number, no axes
    return None


@function("torch.from_numpy")
def from_numpy(c: Call) -> Value:
    """`torch.from_numpy(a)`: a tensor of the array's shape."""
    return c.args[0] if len(c.args) == 1 and isinstance(c.args[0], tuple) else None


def literal_shape(
    node: ast.expr | None, data: TupV, seen: dict[int, Value]
) -> tuple[Size, ...] | None:
    """`torch.tensor([[1, 2], [3, 4]])`: lists of Python numbers, all of one length. The inner
    lists written out are read from what `seen` has for their own nodes; others (`[r] * 3`, a
    `Tuple[float, float]` parameter) from their values. A list with one number in it holds
    numbers only (or one-value tensors), since torch takes no list that mixes numbers with
    anything else: `[eps, 0.0, 0.0]` is 3 numbers whatever `eps` is."""
    if isinstance(node, (ast.List, ast.Tuple)):
        if len(node.elts) != len(data.items):
            return None
        nodes: list[ast.expr | None] = list(node.elts)
        items = tuple(seen.get(id(e)) for e in node.elts)
    elif data.fields or data.uncertain:
        return None
    else:
        nodes, items = [None] * len(data.items), data.items
    if not items or any(isinstance(i, (IntV, NumV)) or i == () for i in items):
        return (lit(len(items)),)  # `torch.tensor([])` is of one axis, of size 0
    if items and all(isinstance(i, TupV) and not i.fields for i in items):
        inner = [
            literal_shape(e, i, seen)  # type: ignore[arg-type]
            for e, i in zip(nodes, items, strict=True)
        ]
        first = inner[0]
        if first is not None and all(s == first for s in inner):
            return (lit(len(items)), *first)
    return None


@function("torch.arange")
def arange(c: Call) -> Value:
    ints = list(c.args)
    if len(ints) == 1:
        s = c.size_of(ints[0])
        return (s if s is not None else fresh(),)
    step = c.node.args[2] if len(ints) == 3 and len(c.node.args) == 3 else None
    if isinstance(step, ast.Constant) and type(step.value) is int and step.value == 1:
        ints = ints[:2]  # `torch.arange(0, n, 1)`: a step of 1 is the default
    if len(ints) == 2:
        a, b = c.size_of(ints[0]), c.size_of(ints[1])
        return ((T.add(b, a, -1) if a is not None and b is not None else fresh()),)
    return (fresh(),)


@function("torch.randperm")
def randperm(c: Call) -> Value | _Pass:
    n = c.arg(0, "n")
    if not isinstance(n, (IntV, SymV)):
        return PASS
    return (c.size_of(n) or fresh(),)


# `torch.nn.init`: each fills its tensor in place and gives that tensor back.
INITS = frozenset(
    """uniform_ normal_ constant_ ones_ zeros_ eye_ dirac_ xavier_uniform_ xavier_normal_
    kaiming_uniform_ kaiming_normal_ trunc_normal_ orthogonal_ sparse_""".split()
)


@function(*(f"torch.nn.init.{n}" for n in sorted(INITS)))
def initialized(c: Call) -> Value:
    """`nn.init.kaiming_uniform_(w)`: `w`, filled in place."""
    return c.x if isinstance(c.x, tuple) else None
