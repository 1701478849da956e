"""Rules of `torch.nn` layers and `torch.nn.functional` ops: linear, attention, losses."""

import ast

from .. import _torch as T
from .._modules import hands_on, super_init
from .._unify import (
    Group,
    Shape,
    Size,
    anonymous_group,
    certain,
    fresh,
    lit,
    needs,
    show,
    sym,
)
from .._values import IntV, LayerV, Mismatch, NumV, ObjV, SymV, TupV, Value
from ._registry import PASS, Call, _Pass, function, lit_int, same_shape, string
from ._registry import layer as applied

SAME_LAYERS = frozenset(
    """Dropout GELU ReLU SiLU Tanh Sigmoid Identity Softplus LeakyReLU ELU Mish Hardtanh
    Softmax LogSoftmax Dropout1d Dropout2d""".split()
)
LOSSES = (
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "smooth_l1_loss",
    "huber_loss",
)
F = "torch.nn.functional."


def layer(c: Call, kind: str, names: tuple[str, ...]) -> Value:
    """A layer of the sizes its constructor is given."""
    sizes: list[Size | None] = []
    for i, n in enumerate(names):
        v = c.arg(i, n)
        if isinstance(v, TupV) and len(v.items) == 1:
            v = v.items[0]
        sizes.append(c.size_of(v))
    if kind == "Linear":
        weight = (sizes[1] or fresh(), sizes[0] or fresh())
        bias: Value = (sizes[1] or fresh(),)
        return LayerV(kind, tuple(sizes), weight, bias)
    if kind == "Embedding":
        return LayerV(kind, tuple(sizes), (sizes[0] or fresh(), sizes[1] or fresh()))
    if kind == "LayerNorm":
        return LayerV(kind, tuple(sizes), (sizes[0] or fresh(),), (sizes[0] or fresh(),))
    return LayerV(kind, tuple(sizes))


# Layers


@function("torch.nn.Linear")
def linear_layer(c: Call) -> Value:
    return layer(c, "Linear", ("in_features", "out_features"))


@function("torch.nn.Embedding")
def embedding_layer(c: Call) -> Value:
    return layer(c, "Embedding", ("num_embeddings", "embedding_dim"))


@function("torch.nn.LayerNorm", "torch.nn.RMSNorm")
def norm_layer(c: Call) -> Value:
    return layer(c, "LayerNorm", ("normalized_shape",))


@function(*(f"torch.nn.{n}" for n in sorted(SAME_LAYERS)))
def same_layer(c: Call) -> Value:
    return LayerV("same", ())


@function("transformer_lens.hook_points.HookPoint")
def hook_point(c: Call) -> Value:
    """TransformerLens's `HookPoint()`: a module whose forward gives its input back, which
    model and SAE code wraps around each activation (`self.hook_z(z)`)."""
    return LayerV("same", ())


@function("torch.nn.Parameter", "torch.nn.Buffer")
def parameter(c: Call) -> Value:
    data = c.arg(0, "data")  # `nn.Parameter(data=w)` too
    return data if isinstance(data, tuple) else None


# Functions


@function(F + "linear")
def linear(c: Call) -> Value:
    x, w, b = c.arg(0, "input"), c.arg(1, "weight"), c.arg(2, "bias")
    if not isinstance(x, tuple) or not isinstance(w, tuple):
        c.unknown("op input of unknown shape")
        return None
    tx, tw = c.arg_text(0, "input"), c.arg_text(1, "weight")
    c.relation()
    if len(w) != 2 or any(isinstance(i, Group) for i in w):
        if T.rank(w) is not None:
            c.report(f'F.linear({tx}, {tw}): weight {tw} "{show(w)}" must have 2 dims')
        return None
    got = T.size_at(x, -1)
    out_f, in_f = w
    assert isinstance(out_f, Size) and isinstance(in_f, Size)
    if got is not None and needs(got, in_f) == "differ":
        message = (
            f'F.linear({tx}, {tw}): last dim of {tx} "{show(x)}" is {got} but {tw} "{show(w)}" '
            f"takes {in_f} (weight is (out_features, in_features))"
        )
        if certain(got, out_f) == "same":
            message += f"; did you mean {tw}.T?"
        c.report(message)
        return None
    if isinstance(b, tuple) and len(b) == 1 and isinstance(b[0], Size):
        if not T.is_one(b[0]) and needs(b[0], out_f) == "differ":
            tb = c.arg_text(2, "bias")
            c.report(
                f'F.linear({tx}, {tw}, {tb}): bias {tb} "{show(b)}" has {b[0]} '
                f'but {tw} "{show(w)}" has out_features {out_f}'
            )
            return None
    if not x:
        return None
    return (*x[:-1], out_f)


@function(F + "scaled_dot_product_attention")
def sdpa(c: Call) -> Value:
    names = ("query", "key", "value")
    q, k, v = (c.arg(i, n) for i, n in enumerate(names))
    if not (isinstance(q, tuple) and isinstance(k, tuple) and isinstance(v, tuple)):
        c.unknown("op input of unknown shape")
        return None
    texts = [c.text(a) for a in c.node.args[:3]] + list(names[len(c.node.args) :])
    c.relation()
    for (a, ta, ia), (b, tb, ib), what in (
        ((q, texts[0], -1), (k, texts[1], -1), "embedding"),
        ((k, texts[1], -2), (v, texts[2], -2), "sequence"),
    ):
        x, y = T.size_at(a, ia), T.size_at(b, ib)
        if x is not None and y is not None and needs(x, y) == "differ":
            c.report(
                f"scaled_dot_product_attention: {what} dim is "
                f'{x} in {ta} "{show(a)}" but {y} in {tb} "{show(b)}"'
            )
            return None
    mask = c.arg(3, "attn_mask")
    if isinstance(mask, tuple) and q and k:
        sq, sk = T.size_at(q, -2), T.size_at(k, -2)
        if sq is not None and sk is not None:
            scores: Shape = (
                (*q[:-2], sq, sk) if T.rank(q) is not None else (anonymous_group(), sq, sk)
            )
            tm = c.arg_text(3, "attn_mask")
            try:
                T.broadcast(scores, mask, "the scores", tm)
            except Mismatch as err:
                c.report(f"scaled_dot_product_attention: attn_mask {tm} does not fit {err}")
                return None
    lv = T.size_at(v, -1)
    if not q:
        return None
    return (*q[:-1], lv if lv is not None else fresh())


@function(F + "cross_entropy", F + "nll_loss")
def cross_entropy(c: Call) -> Value:
    x, t = c.arg(0, "input"), c.arg(1, "target")
    reduction = string(c.kw("reduction"))
    if isinstance(x, tuple) and isinstance(t, tuple) and None not in (T.rank(x), T.rank(t)):
        c.relation()
        tx, tt = c.arg_text(0, "input"), c.arg_text(1, "target")
        if len(t) == len(x) - 1:
            want = (x[0], *x[2:]) if len(x) > 1 else ()
            for p, (a, b) in enumerate(zip(want, t, strict=True)):
                assert isinstance(a, Size) and isinstance(b, Size)
                if needs(a, b) == "differ":
                    c.report(
                        f'cross_entropy: target {tt} "{show(t)}" has {b} at axis {p} '
                        f'but {tx} "{show(x)}" has {a} '
                        "(input is (N, C, ...), target (N, ...))"
                    )
                    return None
        elif len(t) != len(x):
            c.report(
                f'cross_entropy: target {tt} "{show(t)}" has {len(t)} dims '
                f'but input {tx} "{show(x)}" has {len(x)} '
                "(input is (N, C, ...), target (N, ...) of class indices)"
            )
            return None
    else:
        c.unknown("op input of unknown shape")
    if reduction in (None, "mean", "sum"):
        return ()
    return None


@function(*(F + n for n in LOSSES))
def elementwise_loss(c: Call) -> Value:
    args = c.args
    if len(args) >= 2 and isinstance(args[0], tuple) and isinstance(args[1], tuple):
        sa, sb = args[0], args[1]
        ta, tb = c.text(c.node.args[0]), c.text(c.node.args[1])
        c.rule(lambda: same_shape(sa, sb, ta, tb, c.name))
    return () if string(c.kw("reduction")) in (None, "mean", "sum") else None


@function(F + "interpolate")
def interpolate(c: Call) -> Value | _Pass:
    """`F.interpolate(x, size=...)`: batch and channels kept, the spatial sizes given;
    with a `scale_factor` instead, spatial sizes of their own."""
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    size = c.arg(1, "size")
    n = T.rank(x)
    if n is None or n < 3:
        return None
    if size is None:
        return (*x[:2], *(fresh() for _ in range(n - 2)))
    sizes = list(size.items) if isinstance(size, TupV) else [size] * (n - 2)
    if len(sizes) != n - 2 or not all(isinstance(s, (IntV, SymV, NumV)) for s in sizes):
        return None
    return (*x[:2], *(c.size_of(s) or fresh() for s in sizes))


@function(F + "embedding")
def embedding(c: Call) -> Value | _Pass:
    if len(c.args) < 2:
        return PASS
    idx, w = c.args[0], c.args[1]
    if isinstance(idx, tuple) and isinstance(w, tuple) and len(w) == 2:
        return (*idx, w[1])
    return None


# The attributes a torch layer's `__init__` sets from its arguments, for classes that
# subclass it and call `super().__init__(...)`: the argument names of each, in order.
LAYER_ATTRS = {
    "torch.nn.Linear": ("in_features", "out_features"),
    "torch.nn.Embedding": ("num_embeddings", "embedding_dim"),
}


def inherited(
    qual: str, init: ast.FunctionDef | ast.AsyncFunctionDef, seen: dict[int, Value], key: int
) -> dict[str, Value]:
    """The attributes that `super().__init__(...)` in `init` sets on a subclass of the torch
    layer `qual`, from the values the call's arguments had: its sizes, and its weights of
    those sizes. An `__init__` that hands on its `*args, **kwargs` gives the sizes of the
    layer's own parameter names, which a call of the subclass binds (`layer_base`)."""
    names = LAYER_ATTRS.get(qual)
    if names is None:
        return {}
    for stmt in init.body:
        call = super_init(stmt)
        if call is None:
            continue
        if hands_on(init):
            return _weighted(qual, {n: SymV(n) for n in names}, key)
        if any(isinstance(a, ast.Starred) for a in call.args):
            return {}
        given: dict[str, ast.expr] = dict(zip(names, call.args, strict=False))
        given.update({k.arg: k.value for k in call.keywords if k.arg in names})
        out: dict[str, Value] = {}
        for name in names:
            v = seen.get(id(given[name])) if name in given else None
            if isinstance(v, (IntV, SymV)):
                out[name] = v
        return _weighted(qual, out, key)
    return {}


def made_layer(qual: str, sizes: dict[str, Size]) -> LayerV:
    """The layer `qual` (in `LAYER_ATTRS`) made with `sizes` for its parameters, by name."""
    return LayerV(qual.rsplit(".", 1)[-1], tuple(sizes.get(n) for n in LAYER_ATTRS[qual]))


def _weighted(qual: str, sizes: dict[str, Value], key: int) -> dict[str, Value]:
    """`sizes` with the weight and bias that a layer `qual` of those sizes holds."""

    def size(name: str) -> Size | None:
        v = sizes.get(name)
        return v.size if isinstance(v, IntV) else sym(v.text, key) if isinstance(v, SymV) else None

    out = dict(sizes)
    if qual == "torch.nn.Linear" and (o := size("out_features")) is not None:
        out["weight"] = (o, size("in_features") or fresh())
        out["bias"] = (o,)
    if qual == "torch.nn.Embedding" and (n := size("num_embeddings")) is not None:
        out["weight"] = (n, size("embedding_dim") or fresh())
    return out


@function(F + "one_hot")
def one_hot(c: Call) -> Value | _Pass:
    """`F.one_hot(ids, n)`: a new last axis of n (of a size of its own without n)."""
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    n = c.arg(1, "num_classes")
    size = c.size_of(n) if isinstance(n, (IntV, SymV)) else None
    return (*x, size if size is not None and size != lit(-1) else fresh())


@function("torch.nn.Sequential")
def sequential(c: Call) -> Value:
    """`nn.Sequential(a, b, c)`: a layer that applies each of its layers in turn."""
    if c.kwargs or any(isinstance(a, ast.Starred) for a in c.node.args):
        return None
    return LayerV("Sequential", (), TupV(tuple(c.args)))


@applied("Sequential")
def sequential_apply(c: Call) -> Value | _Pass:
    held = c.held
    if held is None or not isinstance(held.weight, TupV) or len(c.args) != 1:
        return PASS
    x: Value = c.x
    given = c.node.args[0] if c.node.args else ast.Name("input")
    for k, step in enumerate(held.weight.items):
        if not isinstance(x, tuple) or not isinstance(step, (LayerV, ObjV)):
            return None
        # Named in messages as `self.net[1](self.net[0](x))`, found at the call.
        part = ast.Subscript(c.node.func, ast.Constant(k), ast.Load())
        here = ast.copy_location(ast.Call(part, [given], []), c.node)
        x = c.reader.apply_module(here, step, [x], {})
        given = ast.Call(part, [given], [])
    return x


@function("torch.nn.Flatten")
def flatten_layer(c: Call) -> Value:
    start = lit_int(c.arg(0, "start_dim", IntV(lit(1))))
    end = lit_int(c.arg(1, "end_dim", IntV(lit(-1))))
    if start is None or end is None:
        return None
    return LayerV("Flatten", (lit(start), lit(end)))


@applied("Flatten")
def flatten_apply(c: Call) -> Value | _Pass:
    held, x = c.held, c.x
    if held is None or not isinstance(x, tuple):
        return PASS
    ends = [IntV(s) for s in held.sizes if s is not None]
    return c.method("flatten", x, list(ends), [ast.Constant(s.size.value) for s in ends])


@function("torch.nn.Upsample")
def upsample_layer(c: Call) -> Value:
    size = c.arg(0, "size")
    if isinstance(size, TupV):
        return LayerV("Upsample", tuple(c.size_of(v) for v in size.items))
    if isinstance(size, (IntV, SymV)):
        return LayerV("Upsample", (c.size_of(size),))
    return LayerV("Upsample", ())


@applied("Upsample")
def upsample_apply(c: Call) -> Value | _Pass:
    """Batch and channels kept; the spatial sizes given, or of their own (a scale factor)."""
    held, x = c.held, c.x
    if held is None or not isinstance(x, tuple):
        return PASS
    n = T.rank(x)
    if n is None or n < 3 or any(isinstance(i, Group) for i in x):
        return None
    given = list(held.sizes)
    if len(given) == 1:
        given = given * (n - 2)
    if given and len(given) != n - 2:
        return None
    spatial = [g if g is not None else fresh() for g in given] or [fresh() for _ in range(n - 2)]
    return (*x[:2], *spatial)
