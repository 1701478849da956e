"""Rules of elementwise ops and of the ops that move, add, drop, join or split axes."""

import ast

from .. import _joins as J
from .. import _torch as T
from .._report import _SAME_SHAPE_METHODS, IN_PLACE_BINARY, KEEPS_SHAPE_IN_PLACE, _scalar
from .._unify import Group, Item, Shape, Size, fresh, lit, show
from .._values import IntV, LayerV, ListV, Mismatch, NumV, ObjV, SymV, TupV, Value
from ._numpy_scope import may_be_array, names_numpy
from ._registry import (
    PASS,
    Call,
    _Pass,
    bcast_all,
    function,
    in_range,
    lit_int,
    method,
    shape_tuple,
)

SAME_SHAPE_FUNCS = frozenset(
    """exp log sqrt rsqrt abs sin cos tanh sigmoid relu sign floor ceil round clamp clip
    square log1p expm1 erf tril triu cumsum softmax log_softmax zeros_like ones_like
    empty_like rand_like randn_like full_like nan_to_num logical_not isnan isinf isfinite
    sigmoid_ flip roll""".split()
) | frozenset(
    """acos asin atan tan sinh cosh asinh acosh atanh deg2rad rad2deg exp2 log2 log10
    reciprocal neg negative trunc frac logit erfinv cumprod sgn signbit""".split()
)
F_SAME = frozenset(
    """relu gelu silu mish elu leaky_relu tanh sigmoid softplus dropout softmax log_softmax
    normalize layer_norm rms_norm group_norm hardtanh relu6 celu selu glu_ logsigmoid
    softsign tanhshrink""".split()
)
# The same-shape ops that work along one dim, given first (after the input).
ALONG_DIM = frozenset("softmax log_softmax cumsum cumprod".split())
BROADCAST_METHODS = frozenset(
    """add sub mul div maximum minimum pow float_power multiply subtract divide true_divide
    floor_divide fmod remainder atan2 arctan2 hypot fmax fmin copysign xlogy logical_and
    logical_or logical_xor bitwise_and bitwise_or bitwise_xor eq ne lt le gt ge greater less
    greater_equal less_equal not_equal""".split()
)


# Functions


# TransformerLens's activations (`transformer_lens.utils`), elementwise as torch's are.
TL_ACTIVATIONS = frozenset("gelu_new gelu_fast solu".split())


@function(
    *(f"torch.{n}" for n in sorted(SAME_SHAPE_FUNCS)),
    *(f"torch.nn.functional.{n}" for n in sorted(F_SAME)),
    *(f"transformer_lens.utils.{n}" for n in sorted(TL_ACTIVATIONS)),
)
def same_shape(c: Call) -> Value:
    """An elementwise op of one tensor: its input's shape."""
    if not isinstance(c.x, tuple):
        return None
    d = lit_int(c.arg(1, "dim")) if c.name in ALONG_DIM else None
    return None if d is not None and in_range(c, c.x, d) is None else c.x


@function("torch.where")
def where(c: Call) -> Value | _Pass:
    # A number in place of a tensor broadcasts with anything; the condition is a tensor.
    args, nodes = c.args, c.node.args
    if len(args) != 3:
        return PASS
    shapes = [a for a in args if isinstance(a, tuple)]
    texts = [c.text(n) for n, a in zip(nodes, args, strict=True) if isinstance(a, tuple)]
    scalars = all(isinstance(a, tuple) or _scalar(n, a) for n, a in zip(nodes, args, strict=True))
    if isinstance(args[0], tuple) and scalars:
        return c.rule(lambda: bcast_all(shapes, texts, "torch.where"))
    c.unknown("op input of unknown shape")
    return None


@function("torch.lerp", "torch.addcmul", "torch.addcdiv")
def elementwise_of_three(c: Call) -> Value | _Pass:
    """`torch.lerp(a, b, w)`, `torch.addcmul(x, a, b)`: the tensors broadcast together."""
    shapes = [a for a in c.args[:3] if isinstance(a, tuple)]
    if not shapes or not isinstance(c.x, tuple):
        return PASS
    nodes = [n for n, a in zip(c.node.args, c.args, strict=False) if isinstance(a, tuple)]
    texts = [c.text(n) for n in nodes]
    if len(texts) != len(shapes) or len(c.args) < 3:
        return None
    if any(
        not isinstance(a, tuple) and not _scalar(n, a)
        for n, a in zip(c.node.args, c.args[:3], strict=False)
    ):
        return None
    return c.rule(lambda: bcast_all(shapes, texts, c.name))


@function("torch.broadcast_tensors")
def broadcast_tensors(c: Call) -> Value:
    """`a, b = torch.broadcast_tensors(a, b)`: each tensor in the shape they broadcast to."""
    shapes = [a for a in c.args if isinstance(a, tuple)]
    if not shapes or len(shapes) != len(c.args) or len(c.node.args) != len(c.args):
        return None
    texts = [c.text(n) for n in c.node.args]
    out = c.rule(lambda: bcast_all(shapes, texts, "torch.broadcast_tensors"))
    return TupV(tuple(out for _ in shapes)) if isinstance(out, tuple) else None


@function("torch.transpose", "torch.swapaxes")
def transpose_function(c: Call) -> Value | _Pass:
    x = c.x
    if len(c.args) != 3 or not isinstance(x, tuple):
        return PASS
    i, j = lit_int(c.args[1]), lit_int(c.args[2])
    return None if i is None or j is None else T.transpose(x, i, j)


@function("torch.cat", "torch.concat", "torch.concatenate", "torch.stack")
def join(c: Call) -> Value:
    seq = c.arg(0, "tensors")
    d = lit_int(c.arg(1, "dim", IntV(lit(0))))
    stack = c.name == "stack"
    if isinstance(seq, ListV) and isinstance(seq.item, tuple) and d is not None:
        d = in_range(c, seq.item, d, stack)
        return None if d is None else J.join_many(seq.item, d, stack, seq.count)
    if not isinstance(seq, TupV) or d is None or not seq.items:
        return None
    shapes = [s for s in seq.items if isinstance(s, tuple)]
    node = c.node.args[0] if c.node.args else None
    texts = (
        [c.text(e) for e in node.elts]
        if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == len(seq.items)
        else ["tensor"] * len(seq.items)
    )
    if len(shapes) != len(seq.items):
        if not shapes or seq.uncertain:
            c.unknown("op input of unknown shape")
        if stack and not shapes and not seq.uncertain and d in (0, -1):
            # `torch.stack([a, b, c])` of tensors of one shape not known here: 3 of them.
            count, rest = lit(len(seq.items)), Group("")
            return (count, rest) if d == 0 else (rest, count)
        if not shapes or seq.uncertain:
            return None
        if not stack:
            return _cat_of_some(c, shapes, texts, seq.items, d)
        # `torch.stack([a, b, c])` where only c's shape is known: torch takes only equal
        # shapes, so each is c's.
        texts = [t for t, s in zip(texts, seq.items, strict=True) if isinstance(s, tuple)]
        texts += [texts[0]] * (len(seq.items) - len(shapes))
        shapes += [shapes[0]] * (len(seq.items) - len(shapes))
    dim = in_range(c, shapes[0], d, stack)
    if dim is None:
        return None
    if stack:
        return c.rule(lambda: J.stack(shapes, dim, texts))
    return c.rule(lambda: J.concat(shapes, dim, texts))


def _cat_of_some(
    c: Call, shapes: list[Shape], texts: list[str], items: tuple[Value, ...], d: int
) -> Value:
    """`torch.cat([a, b], dim)` where b's shape is not known: torch joins only shapes alike
    but for that axis, so the others are a's; its size along it is unknown."""
    known = [t for t, s in zip(texts, items, strict=True) if isinstance(s, tuple)]
    dim = in_range(c, shapes[0], d)
    if dim is None or T.rank(shapes[0]) is None:
        return None
    place = T.axis(shapes[0], dim)
    if place is None or (len(shapes) > 1 and c.rule(lambda: J.concat(shapes, dim, known)) is None):
        return None
    return tuple(fresh() if i == place else s for i, s in enumerate(shapes[0]))


@function("torch.autograd.grad")
def grad(c: Call) -> Value:
    # One gradient for each input, of that input's shape.
    inputs = c.arg(1, "inputs")
    if isinstance(inputs, tuple):
        return TupV((inputs,))
    if isinstance(inputs, TupV) and not inputs.fields:
        return TupV(inputs.items)
    return None


def rest_of(x: Value, sizes: Shape, minus: int) -> Shape:
    """`x.view(*x.shape[:-2], -1)`: `sizes` with the -1 at `minus` worked out, where x's
    shape starts with the same axes as `sizes` before it (a run of unknown length among
    them) and all the rest are sizes: their product over the sizes given after it."""
    if not isinstance(x, tuple) or x[:minus] != sizes[:minus]:
        return sizes
    rest = [i for i in x[minus:] if isinstance(i, Size)]
    after = [i for i in sizes[minus + 1 :] if isinstance(i, Size)]
    if len(rest) != len(x) - minus or len(after) != len(sizes) - minus - 1:
        return sizes
    left = T.divide(T.product(rest), T.product(after))
    return sizes if left is None else (*sizes[:minus], left, *after)


# Tensor methods


@method(*sorted(_SAME_SHAPE_METHODS), "type")
def same_shape_method(c: Call) -> Value | _Pass:
    if c.name == "type" and not (c.args or c.kwargs):
        return PASS  # `x.type()` without a dtype is a string
    assert isinstance(c.x, tuple)
    d = lit_int(c.arg(0, "dim")) if c.name in ALONG_DIM else None
    return None if d is not None and in_range(c, c.x, d) is None else c.x


@method("to_dense", "to_sparse", "to_sparse_csr", "to_sparse_coo", "coalesce")
def other_layout(c: Call) -> Value:
    """`x.to_dense()`, `x.to_sparse()`: the same values stored another way, of x's shape."""
    return c.x


@method(*sorted(KEEPS_SHAPE_IN_PLACE))
def keeps_shape_in_place(c: Call) -> Value:
    """`x.scatter_(-1, ids, v)`: x, changed in place, of its shape."""
    return c.x


@method(*sorted(IN_PLACE_BINARY))
def in_place(c: Call) -> Value | _Pass:
    """`x.add_(y)`: x's shape, into which y must broadcast."""
    x, other = c.x, c.arg(0, "other")
    assert isinstance(x, tuple)
    node = c.nodes[0] if c.nodes else c.kw("other")
    if not isinstance(other, tuple) or node is None:
        return x
    tx, to = c.receiver_text(), c.text(node)

    def fits() -> Shape:
        try:
            return T.in_place(x, other, tx, to)
        except Mismatch as err:
            raise Mismatch(f"{c.name}: {err}") from None

    return c.rule(fits)


@method("expand_as", "view_as", "reshape_as", "broadcast_to")
def like(c: Call) -> Value | _Pass:
    if not (c.args and isinstance(c.args[0], tuple)):
        return PASS
    x, to = c.x, c.args[0]
    assert isinstance(x, tuple)
    if c.name in ("expand_as", "broadcast_to"):
        what = c.receiver_text()

        def fits() -> Shape:
            T.expand_fits(x, to, what)
            return to

        return c.rule(fits)
    return to


@method("masked_fill")
def masked_fill(c: Call) -> Value | _Pass:
    if not c.args:
        return PASS
    x, mask = c.x, c.args[0]
    assert isinstance(x, tuple)
    if not isinstance(mask, tuple):
        return x
    tm, tx = c.text(c.nodes[0]), c.receiver_text()

    def fits() -> Shape | None:
        try:
            T.broadcast(x, mask, tx, tm)
        except Mismatch as err:
            raise Mismatch(f"masked_fill: mask {tm} does not fit: {err}") from None
        return x

    return c.rule(fits)


@method(*sorted(BROADCAST_METHODS), "max", "min")
def elementwise(c: Call) -> Value | _Pass:
    # `torch.max(a, b)` with a tensor `b` is elementwise too.
    if not c.args or (c.name in ("max", "min") and not isinstance(c.args[0], tuple)):
        return PASS
    x, other = c.x, c.args[0]
    assert isinstance(x, tuple)
    if isinstance(other, tuple):
        tx, to = c.receiver_text(), c.text(c.nodes[0])
        return c.rule(lambda: T.broadcast(x, other, tx, to))
    return x if _scalar(c.nodes[0], other) else None


@method("view", "reshape", "new_zeros", "new_ones", "new_empty", "new_full", "expand")
def resized(c: Call) -> Value:
    name, x = c.name, c.x
    assert isinstance(x, tuple)
    vals = c.args if name != "new_full" else c.args[:1]
    if len(vals) == 1 and not isinstance(vals[0], (IntV, SymV, NumV, TupV)):
        return None  # one argument that may be a whole shape: rank unknown
    if len(vals) == 1 and isinstance(vals[0], TupV):
        if not vals[0].items and name.startswith("new_"):
            return ()  # `x.new_zeros(())`: a tensor of one value, of no dims
        vals = list(vals[0].items)
    size_kw = c.kwargs.get("size")
    if not vals and isinstance(size_kw, TupV):
        vals = list(size_kw.items)
    if not vals or any(isinstance(v, tuple) for v in vals):
        return None
    sizes = [c.size_of(v) for v in vals]
    minus = [i for i, s in enumerate(sizes) if s is not None and s.kind == "int" and s.value == -1]
    if name == "expand":
        what = c.receiver_text()
        return c.rule(lambda: _expanded(x, sizes, what))
    if len(minus) > 1:
        return None
    if name.startswith("new_"):
        return tuple(s or fresh() for s in sizes)
    m = minus[0] if minus else None
    return c.rule(lambda: T.view(x, sizes, m))


def _expanded(x: Shape, sizes: list[Size | None], what: str) -> Shape | None:
    n = T.rank(x)
    T.expand_fits(x, sizes, what)
    if n is None or n > len(sizes):
        return None
    off = len(sizes) - n
    return tuple(
        (
            x[i - off]
            if i >= off and s is not None and s.kind == "int" and s.value == -1
            else (s or fresh())
        )
        for i, s in enumerate(sizes)
    )


@method("transpose", "swapaxes", "swapdims")
def transpose(c: Call) -> Value | _Pass:
    if len(c.args) != 2:
        return PASS
    assert isinstance(c.x, tuple)
    i, j = in_range(c, c.x, lit_int(c.args[0])), in_range(c, c.x, lit_int(c.args[1]))
    return None if i is None or j is None else T.transpose(c.x, i, j)


@method("t")
def t(c: Call) -> Value | _Pass:
    if c.args:
        return PASS
    x = c.x
    assert isinstance(x, tuple)
    return T.transpose(x, 0, 1) if T.rank(x) == 2 else x if T.rank(x) in (0, 1) else None


@method("permute")
def permute(c: Call) -> Value:
    args, x = c.args, c.x
    assert isinstance(x, tuple)
    vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
    dims = [lit_int(v) for v in vals]
    if any(d is None for d in dims):
        return None
    return c.rule(lambda: T.permute(x, [d for d in dims if d is not None]))


@method("unsqueeze")
def unsqueeze(c: Call) -> Value | _Pass:
    if not c.args:
        return PASS
    assert isinstance(c.x, tuple)
    d = in_range(c, c.x, lit_int(c.args[0]), new_axis=True)
    return None if d is None else T.unsqueeze(c.x, d)


@method("squeeze")
def squeeze(c: Call) -> Value:
    assert isinstance(c.x, tuple)
    if not c.args and "dim" not in c.kwargs:
        return T.squeeze(c.x, None)
    d = in_range(c, c.x, lit_int(c.arg(0, "dim")))
    return None if d is None else T.squeeze(c.x, [d])


@method("flatten")
def flatten(c: Call) -> Value:
    x = c.x
    assert isinstance(x, tuple)
    s = lit_int(c.args[0]) if c.args else lit_int(c.kwargs.get("start_dim", IntV(lit(0))))
    e = lit_int(c.args[1]) if len(c.args) > 1 else lit_int(c.kwargs.get("end_dim", IntV(lit(-1))))
    if s is None or e is None:
        return None
    a, b = T.axis(x, s), T.axis(x, e)
    if T.rank(x) is None:
        return _flattened_run(x, s, e)
    if a is None or b is None or a > b:
        return None
    merged = T.product([i for i in x[a : b + 1] if isinstance(i, Size)])
    return (*x[:a], merged, *x[b + 1 :])


def _flattened_run(x: Shape, s: int, e: int) -> Shape | None:
    """`x.flatten(0, -2)` of "*bs d": where the axes flattened are the whole of one named run
    and sizes beside it (counted from the front up to the run, from the back after it), one
    size: their product, the run's as `prod(*bs)`, as `view(-1, d)` gives."""
    runs = [k for k, i in enumerate(x) if isinstance(i, Group)]
    if len(runs) != 1 or not (0 <= s <= runs[0] and -len(x) + runs[0] <= e < 0):
        return None
    run = x[runs[0]]
    assert isinstance(run, Group)
    if not run.name:
        return None
    b = len(x) + e
    span = [i for i in x[s : b + 1] if isinstance(i, Size)]
    merged = T.product([*span, T.run_product(run)])
    return (*x[:s], merged, *x[b + 1 :])


@method("split", "chunk", "unbind", "tensor_split")
def split(c: Call) -> Value:
    name, x, args, kwargs = c.name, c.x, c.args, c.kwargs
    assert isinstance(x, tuple)
    d = lit_int(c.arg(0 if name == "unbind" else 1, "dim", IntV(lit(0))))  # `x.unbind(-1)`
    if d is None:
        return None
    if name == "unbind":
        p = T.axis(x, d)
        n_v = None if p is None else x[p]
        if isinstance(n_v, Size) and n_v.kind == "int":
            assert isinstance(n_v.value, int)
            rest = tuple(i for k, i in enumerate(x) if k != p)
            return TupV(tuple(rest for _ in range(n_v.value)))
        return None
    first = args[0] if args else kwargs.get("split_size_or_sections", kwargs.get("chunks"))
    if name == "chunk":
        n = lit_int(first)
        if n is None and first is not None:
            # A count the checker cannot read: pieces that keep the rank, of unknown size
            # along `d`, as many as there are.
            return J.split(x, fresh(), d)
        return None if n is None or n <= 0 else J.chunk(x, n, d)
    if name == "split":
        if isinstance(first, TupV):
            return J.split(x, [c.size_of(i) for i in first.items], d)
        size = c.size_of(first)
        return None if size is None else J.split(x, size, d)
    return None


@method("size")
def size(c: Call) -> Value:
    x = c.x
    assert isinstance(x, tuple)
    if not c.args:
        return shape_tuple(x)
    d = lit_int(c.args[0])
    if d is None:
        return None
    at = T.size_at(x, d)
    return None if at is None else IntV(at)


@method("dim", "ndimension")
def dim(c: Call) -> Value:
    assert isinstance(c.x, tuple)
    n = T.rank(c.x)
    return None if n is None else IntV(lit(n))


@method("numel", "nelement")
def numel(c: Call) -> Value:
    """The number of elements: the product of the sizes, where the rank is known; of one
    axis, its size, whatever it is (as `x.shape[0]`)."""
    assert isinstance(c.x, tuple)
    sizes = [i for i in c.x if isinstance(i, Size)]
    if len(sizes) == len(c.x) == 1:
        return IntV(sizes[0])
    if len(sizes) != len(c.x) or any(i.kind == "fresh" for i in sizes):
        return None
    return IntV(T.product(sizes))


@method("moveaxis", "movedim")
def moveaxis(c: Call) -> Value | _Pass:
    x = c.x
    assert isinstance(x, tuple)
    if len(c.args) != 2:
        return PASS
    src, dst = lit_int(c.args[0]), lit_int(c.args[1])
    n = T.rank(x)
    if src is not None and dst is not None and n is None:
        return T.moved(x, src, dst)
    if src is None or dst is None or n is None or not (-n <= src < n and -n <= dst < n):
        return None
    order = list(range(n))
    order.insert(dst % n, order.pop(src % n))
    return T.permute(x, order)


@method("repeat_interleave")
def repeat_interleave(c: Call) -> Value | _Pass:
    x = c.x
    assert isinstance(x, tuple)
    if not (c.args or "repeats" in c.kwargs):
        return PASS
    repeats = c.args[0] if c.args else c.kwargs["repeats"]
    dim_v = c.arg(1, "dim")
    if dim_v is None:
        return (fresh(),)  # flattened first
    d = lit_int(dim_v)
    p = None if d is None else T.axis(x, d)
    if p is None:
        return None
    scalar = isinstance(repeats, (IntV, SymV))
    times = c.size_of(repeats) if scalar else None
    along = x[p]
    assert isinstance(along, Size)
    grown = T.mul(along, times) if times is not None else fresh()
    return tuple(grown if i == p else s for i, s in enumerate(x))


def _torch_repeat(c: Call) -> bool:
    """Whether `x.repeat(...)` is surely torch's, whose repeats must number x's dims: no
    keyword (numpy's takes `axis=`), no starred argument, and no numpy in the function."""
    if c.node.keywords or any(isinstance(a, ast.Starred) for a in c.node.args):
        return False
    return getattr(c.reader, "fn", None) is not None and not names_numpy(c.reader)


@method("repeat", "tile")
def repeat(c: Call) -> Value:
    name, x, args = c.name, c.x, c.args
    assert isinstance(x, tuple)
    func = c.node.func
    if name == "repeat" and isinstance(func, ast.Attribute) and may_be_array(c.reader, func.value):
        return None  # numpy's `a.repeat(n, axis)` repeats along one axis
    vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
    if len(args) == 1 and not isinstance(args[0], (IntV, SymV, NumV, TupV)):
        return None  # one argument that may be a whole tuple of repeats
    if not vals or any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in vals):
        return None
    sizes = [c.size_of(v) for v in vals]
    n = T.rank(x)
    if n is None:
        return _repeated_run(x, sizes) if name == "repeat" else None
    if name == "tile" and len(sizes) < n:
        ones: list[Size | None] = [lit(1)] * (n - len(sizes))
        sizes = ones + sizes  # tile pads the repeats with 1s
    if len(sizes) < n:
        if name == "repeat" and _torch_repeat(c):
            c.report(
                f'repeat: {c.receiver_text()} "{show(x)}" has {n} dims but {len(sizes)} '
                "repeats are given (torch raises RuntimeError: it needs one for each dim)"
            )
        return None
    off = len(sizes) - n
    tiled: list[Item] = []
    for i, rep in enumerate(sizes):
        here = x[i - off] if i >= off else None
        assert here is None or isinstance(here, Size)
        if rep is None:
            tiled.append(fresh())
        else:
            tiled.append(T.mul(here, rep) if here is not None else rep)
    return tuple(tiled)


def _repeated_run(x: Shape, sizes: list[Size | None]) -> Shape | None:
    """`x.repeat(*sizes)` of a shape with a run: as many axes as there are sizes (torch
    takes no fewer), those of x's tail after its run multiplied, the others unknown."""
    runs = [i for i, item in enumerate(x) if not isinstance(item, Size)]
    tail = x[runs[-1] + 1 :]
    if len(sizes) < len(x) - len(runs):
        return None
    out: list[Item] = []
    for k, rep in zip(range(len(sizes), 0, -1), sizes, strict=True):
        here = tail[-k] if k <= len(tail) else None
        assert here is None or isinstance(here, Size)
        out.append(T.mul(here, rep) if here is not None and rep is not None else fresh())
    return tuple(out)


@method("as_strided")
def strided_view(c: Call) -> Value:
    """`x.as_strided(size, stride)`: a view of the sizes given, whatever x's shape."""
    return _given_sizes(c, c.arg(0, "size"))


@function("torch.as_strided")
def strided(c: Call) -> Value:
    """`torch.as_strided(x, size, stride)`, as `x.as_strided(size, stride)`."""
    return _given_sizes(c, c.arg(1, "size"))


def _given_sizes(c: Call, given: Value) -> Value:
    if not isinstance(given, TupV) or any(isinstance(v, tuple) for v in given.items):
        return None
    return tuple(c.size_of(v) or fresh() for v in given.items)
