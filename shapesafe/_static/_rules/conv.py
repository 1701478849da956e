"""Rules of convolutions, pooling, padding, sampling grids, the norms over channels, KL and
short-time Fourier transforms.

A layer built with `torch.nn.Conv2d(...)`, `MaxPool2d(...)`, `BatchNorm2d(...)` is a `LayerV`
whose sizes hold what its constructor was given; calling it applies the `@layer` rule of its
kind. The sizes of a convolution or a pooling layer are laid out as `_Window`'s fields:
channels in and out, then per spatial axis the kernel, stride, padding and dilation.
"""

import ast
from typing import NamedTuple

from .. import _torch as T
from .._unify import Group, Item, Shape, Size, certain, fresh, lit, show
from .._values import IntV, LayerV, Mismatch, SymV, TupV, Value
from ._registry import PASS, Call, _Pass, function, layer, lit_int, string

F = "torch.nn.functional."
# `padding="same"`, where a size stands for it.
SAME = fresh("same")


class _Window(NamedTuple):
    """A sliding window over `n` spatial axes: each list has one size per axis."""

    kernel: list[Size | None]
    stride: list[Size | None]
    padding: list[Size | None]
    dilation: list[Size | None]
    pool: bool = False  # some of torch's pools refuse an input smaller than the window


def _per_axis(c: Call, v: Value, n: int, default: int | None) -> list[Size | None]:
    """An int or a tuple of `n` ints, as `n` sizes; `default` where none is given."""
    if v is None:
        return [lit(default) if default is not None else None] * n
    if isinstance(v, TupV):
        if len(v.items) != n:
            return [None] * n
        return [c.size_of(i) for i in v.items]
    return [c.size_of(v)] * n


def _padding(c: Call, i: int, n: int) -> list[Size | None]:
    node = c.node.args[i] if i < len(c.node.args) else c.kw("padding")
    text = string(node)
    if text == "same":
        return [SAME] * n
    if text is not None:
        return [lit(0)] * n  # "valid"
    return _per_axis(c, c.arg(i, "padding"), n, 0)


def _out_size(size: Item, kernel: Size | None, w: _Window, axis: int) -> Size:
    """`(size + 2*padding - dilation*(kernel-1) - 1) // stride + 1`, where it can be told."""
    s, p, d = w.stride[axis], w.padding[axis], w.dilation[axis]
    if not isinstance(size, Size) or kernel is None or s is None or p is None or d is None:
        return fresh()
    if p == SAME:
        return size if s == lit(1) else fresh()
    ints = [lit_int(IntV(v)) for v in (kernel, s, p, d)]
    if any(v is None for v in ints):
        return fresh()
    k, st, pd, dl = (v for v in ints if v is not None)
    if st <= 0:
        return fresh()
    change = 2 * pd - dl * (k - 1)
    if size.kind == "int" and isinstance(size.value, int):
        if w.pool and size.value < dl * (k - 1) + 1:
            return fresh()
        out = (size.value + change - 1) // st + 1
        return lit(out) if out > 0 else fresh()  # torch refuses a window larger than the input
    return size if st == 1 and change == 0 else fresh()


def _spatial(x: Shape, n: int) -> int | None:
    """Where a `n`-d op's channel axis is in `x` (1 if batched, else 0); None where the rank
    is not one the op takes."""
    r = T.rank(x)
    if r is None or any(isinstance(i, Group) for i in x):
        return None
    if r == n + 2:
        return 1
    if r == n + 1:
        return 0
    return None


def _channel_axis(c: Call, x: Shape, n: int, what: str) -> int | None:
    """`_spatial`, for the input of the call `c` (a relation it counts); a rank the op does
    not take is reported."""
    c.relation()
    at = _spatial(x, n)
    if at is None:
        _rank_error(c, x, n, what)
    return at


def _rank_error(c: Call, x: Shape, n: int, what: str) -> None:
    r = T.rank(x)
    if r is not None and r not in (n + 1, n + 2) and not any(isinstance(i, Group) for i in x):
        text = c.arg_text(0, "input")
        c.report(
            f'{what}({text}): {text} "{show(x)}" has {r} dims, but a {n}-d op takes {n + 2} '
            f"(batch, channels, {n} spatial) or {n + 1} (no batch)"
        )


def _pool_padding_ok(w: _Window) -> bool:
    """torch pools only with at most half the window's span of padding on each side: False
    where that certainly fails (a window of sizes not given as ints pools to sizes unknown)."""
    for k, p, d in zip(w.kernel, w.padding, w.dilation, strict=True):
        ints = [lit_int(IntV(v)) if v is not None else None for v in (k, p, d)]
        if None not in ints and 2 * ints[1] > ints[2] * (ints[0] - 1) + 1:  # type: ignore[operator]
            return False
    return True


def _windowed(x: Shape, at: int, n: int, channels: Size, w: _Window) -> Shape:
    spatial = [_out_size(x[at + 1 + i], w.kernel[i], w, i) for i in range(n)]
    return (*x[:at], channels, *spatial)


def _dims(kind: str) -> int:
    return int(kind.rstrip("d")[-1])


def _check_channels(c: Call, got: Item, want: Size | None, label: str, what: str, x: Shape) -> bool:
    """Report channels that differ from what the layer or weight takes; True if they do."""
    if not isinstance(got, Size) or want is None or certain(got, want) != "differ":
        return False
    text = c.arg_text(0, "input")
    c.report(f'{what}({text}): channel dim is {got} in {text} "{show(x)}" but {label} is {want}')
    return True


# Layers: built by a `@function` rule, applied by a `@layer` rule.

CONVS = ("Conv1d", "Conv2d", "Conv3d")
POOLS = tuple(f"{k}Pool{n}d" for k in ("Max", "Avg", "LP") for n in (1, 2, 3))
ADAPTIVE = tuple(f"Adaptive{k}Pool{n}d" for k in ("Max", "Avg") for n in (1, 2, 3))
BATCH_NORMS = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
INSTANCE_NORMS = ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d")


@function(*(f"torch.nn.{k}" for k in CONVS))
def conv_layer(c: Call) -> Value:
    kind, n = c.name, _dims(c.name)
    cin, cout = (c.size_of(c.arg(i, k)) for i, k in enumerate(("in_channels", "out_channels")))
    kernel = _per_axis(c, c.arg(2, "kernel_size"), n, None)
    stride = _per_axis(c, c.arg(3, "stride"), n, 1)
    padding = _padding(c, 4, n)
    dilation = _per_axis(c, c.arg(5, "dilation"), n, 1)
    groups = c.arg(6, "groups")
    grouped = groups is not None and lit_int(groups) != 1
    weight: Value = None
    if not grouped:
        weight = (cout or fresh(), cin or fresh(), *(k or fresh() for k in kernel))
    sizes = (cin if not grouped else None, cout, *kernel, *stride, *padding, *dilation)
    return LayerV(kind, sizes, weight, (cout or fresh(),))


@function(*(f"torch.nn.{k}" for k in POOLS))
def pool_layer(c: Call) -> Value:
    n = _dims(c.name)
    kernel = _per_axis(c, c.arg(0, "kernel_size"), n, None)
    stride_v = c.arg(1, "stride")
    stride = kernel if stride_v is None else _per_axis(c, stride_v, n, None)
    padding = _per_axis(c, c.arg(2, "padding"), n, 0)
    dilation = _per_axis(c, c.arg(3, "dilation") if c.name.startswith("Max") else None, n, 1)
    if c.name.startswith("LP"):
        # LPPool takes (norm_type, kernel_size, stride) and no padding.
        kernel = _per_axis(c, c.arg(1, "kernel_size"), n, None)
        stride_v = c.arg(2, "stride")
        stride = kernel if stride_v is None else _per_axis(c, stride_v, n, None)
        padding = [lit(0)] * n
    return LayerV(c.name, (None, None, *kernel, *stride, *padding, *dilation))


@function(*(f"torch.nn.{k}" for k in ADAPTIVE))
def adaptive_layer(c: Call) -> Value:
    n = _dims(c.name)
    out = c.arg(0, "output_size")
    if isinstance(out, TupV) and len(out.items) == n:
        # None in output_size keeps the input's size there.
        sizes = tuple(None if i is None else (c.size_of(i) or fresh()) for i in out.items)
    elif isinstance(out, (IntV, SymV)):
        sizes = (c.size_of(out) or fresh(),) * n
    else:
        sizes = (fresh(),) * n
    return LayerV(c.name, sizes)


@function(*(f"torch.nn.{k}" for k in (*BATCH_NORMS, *INSTANCE_NORMS)))
def channel_norm_layer(c: Call) -> Value:
    size = c.size_of(c.arg(0, "num_features"))
    return LayerV(c.name, (size,), (size or fresh(),), (size or fresh(),))


@function("torch.nn.GroupNorm")
def group_norm_layer(c: Call) -> Value:
    size = c.size_of(c.arg(1, "num_channels"))
    return LayerV("GroupNorm", (size,), (size or fresh(),), (size or fresh(),))


def _window(held: LayerV, n: int, first: int) -> _Window:
    s = list(held.sizes[first:])
    return _Window(s[:n], s[n : 2 * n], s[2 * n : 3 * n], s[3 * n : 4 * n])


@layer(*CONVS)
def conv_apply(c: Call) -> Value | _Pass:
    x, held = c.x, c.held
    if not isinstance(x, tuple) or held is None:
        return PASS
    n = _dims(held.kind)
    what = c.text(c.node.func)
    at = _channel_axis(c, x, n, what)
    if at is None:
        return None
    cin, cout = held.sizes[0], held.sizes[1]
    if _check_channels(c, x[at], cin, "the layer's in_channels", what, x):
        return None
    return _windowed(x, at, n, cout or fresh(), _window(held, n, 2))


@layer(*POOLS)
def pool_apply(c: Call) -> Value | _Pass:
    x, held = c.x, c.held
    if not isinstance(x, tuple) or held is None:
        return PASS
    n = _dims(held.kind)
    at = _channel_axis(c, x, n, c.text(c.node.func))
    if at is None:
        return None
    channels = x[at]
    assert isinstance(channels, Size)
    window = _window(held, n, 2)._replace(pool=True)
    return _windowed(x, at, n, channels, window) if _pool_padding_ok(window) else None


@layer(*ADAPTIVE)
def adaptive_apply(c: Call) -> Value | _Pass:
    x, held = c.x, c.held
    if not isinstance(x, tuple) or held is None:
        return PASS
    n = _dims(held.kind)
    at = _channel_axis(c, x, n, c.text(c.node.func))
    if at is None:
        return None
    spatial = [s if s is not None else x[at + 1 + i] for i, s in enumerate(held.sizes)]
    return (*x[: at + 1], *spatial)


@layer(*BATCH_NORMS, *INSTANCE_NORMS, "GroupNorm")
def channel_norm_apply(c: Call) -> Value | _Pass:
    x, held = c.x, c.held
    if not isinstance(x, tuple) or held is None:
        return PASS
    r = T.rank(x)
    what = c.text(c.node.func)
    c.relation()
    if r is None or any(isinstance(i, Group) for i in x):
        return x
    kind = held.kind
    if kind.startswith("Instance"):
        n = _dims(kind)
        at = 1 if r == n + 2 else 0 if r == n + 1 else None
    elif kind == "BatchNorm1d":
        at = 1 if r in (2, 3) else None
    elif kind == "GroupNorm":
        at = 1 if r >= 2 else None
    else:
        at = 1 if r == _dims(kind) + 2 else None
    if at is None:
        text = c.arg_text(0, "input")
        c.report(f'{what}({text}): {text} "{show(x)}" has {r} dims, which {kind} does not take')
        return None
    label = "the layer's num_channels" if kind == "GroupNorm" else "the layer's num_features"
    if _check_channels(c, x[at], held.sizes[0], label, what, x):
        return None
    return x


# Functions


@function(F + "conv1d", F + "conv2d", F + "conv3d")
def conv(c: Call) -> Value | _Pass:
    x, w = c.x, c.arg(1, "weight")
    if not isinstance(x, tuple) or not isinstance(w, tuple):
        return PASS
    n = _dims(c.name)
    what = c.text(c.node.func)
    at = _channel_axis(c, x, n, what)
    if at is None:
        return None
    if T.rank(w) != n + 2 or any(isinstance(i, Group) for i in w):
        return None
    cout, cin_g, *kernel = (i for i in w if isinstance(i, Size))
    groups = c.arg(6, "groups")
    if groups is None or lit_int(groups) == 1:
        tw = c.arg_text(1, "weight")
        label = f'weight {tw} "{show(w)}" takes {cin_g}; in_channels'
        if _check_channels(c, x[at], cin_g, label, what, x):
            return None
    window = _Window(
        list(kernel),
        _per_axis(c, c.arg(3, "stride"), n, 1),
        _padding(c, 4, n),
        _per_axis(c, c.arg(5, "dilation"), n, 1),
    )
    return _windowed(x, at, n, cout, window)


@function(*(F + f"{k}_pool{n}d" for k in ("max", "avg") for n in (1, 2, 3)))
def pool(c: Call) -> Value | _Pass:
    x = c.x
    if not isinstance(x, tuple) or "return_indices" in c.kwargs:
        return PASS
    n = _dims(c.name)
    at = _channel_axis(c, x, n, c.text(c.node.func))
    if at is None:
        return None
    kernel = _per_axis(c, c.arg(1, "kernel_size"), n, None)
    stride_v = c.arg(2, "stride")
    stride = kernel if stride_v is None else _per_axis(c, stride_v, n, None)
    dilation_v = c.arg(4, "dilation") if c.name.startswith("max") else None
    padding = _per_axis(c, c.arg(3, "padding"), n, 0)
    window = _Window(kernel, stride, padding, _per_axis(c, dilation_v, n, 1), pool=True)
    channels = x[at]
    assert isinstance(channels, Size)
    return _windowed(x, at, n, channels, window) if _pool_padding_ok(window) else None


@function(*(F + f"adaptive_{k}_pool{n}d" for k in ("max", "avg") for n in (1, 2, 3)))
def adaptive_pool(c: Call) -> Value | _Pass:
    x = c.x
    if not isinstance(x, tuple) or c.arg(2, "return_indices") is not None:
        return PASS
    held = adaptive_layer(c_shifted(c))
    assert isinstance(held, LayerV)
    n = _dims(c.name)
    at = _channel_axis(c, x, n, c.text(c.node.func))
    if at is None:
        return None
    spatial = [s if s is not None else x[at + 1 + i] for i, s in enumerate(held.sizes)]
    return (*x[: at + 1], *spatial)


def c_shifted(c: Call) -> Call:
    """The call with its first argument (the input) left out: `F.op(x, a, b)` read as `op(a, b)`."""
    return Call(c.reader, c.node, c.name, c.args[1:], c.kwargs, c.nodes[1:], None, c.qual)


@function(F + "batch_norm", F + "instance_norm", "torch.batch_norm", "torch.instance_norm")
def norm_over_channels(c: Call) -> Value | _Pass:
    return c.x if isinstance(c.x, tuple) else PASS


@function(F + "pad")
def pad(c: Call) -> Value | _Pass:
    """`F.pad(x, (left, right, top, bottom, ...))`: the last axes grow by their pads."""
    x, given = c.x, c.arg(1, "pad")
    if not isinstance(x, tuple) or not isinstance(given, TupV):
        return PASS
    amounts = [c.size_of(v) for v in given.items]
    k = len(amounts) // 2
    r = T.rank(x)
    if len(amounts) % 2 or r is None or r < k:
        return None
    out = list(x)
    for i in range(k):
        lo, hi = amounts[2 * i], amounts[2 * i + 1]
        at = len(out) - 1 - i
        size = out[at]
        if isinstance(size, Group) or lo is None or hi is None:
            if isinstance(size, Group):
                return None
            out[at] = fresh()
            continue
        out[at] = T.add(T.add(size, lo), hi)
    return tuple(out)


@function(F + "grid_sample")
def grid_sample(c: Call) -> Value | _Pass:
    """`F.grid_sample(x "N C H W", grid "N Ho Wo 2")` is "N C Ho Wo" (and 5-d alike)."""
    x, grid = c.x, c.arg(1, "grid")
    if not isinstance(x, tuple) or not isinstance(grid, tuple):
        return PASS
    tx, tg = c.arg_text(0, "input"), c.arg_text(1, "grid")
    rx, rg = T.rank(x), T.rank(grid)
    c.relation()
    if rx is None or rg is None:
        return None
    if rx not in (4, 5) or rg != rx:
        c.report(
            f'grid_sample({tx}, {tg}): {tx} "{show(x)}" and {tg} "{show(grid)}" must both '
            "have 4 dims (N, C, H, W and N, H, W, 2) or both 5"
        )
        return None
    last, n, ng = grid[-1], x[0], grid[0]
    assert isinstance(last, Size) and isinstance(n, Size) and isinstance(ng, Size)
    if certain(last, lit(rx - 2)) == "differ":
        c.report(
            f'grid_sample({tx}, {tg}): last dim of {tg} "{show(grid)}" is {last}, '
            f"but a {rx}-d input takes {rx - 2} coordinates"
        )
        return None
    if certain(n, ng) == "differ":
        c.report(
            f'grid_sample({tx}, {tg}): batch dim is {n} in {tx} "{show(x)}" but {ng} in '
            f'{tg} "{show(grid)}"'
        )
        return None
    return (x[0], x[1], *grid[1:-1])


@function(F + "kl_div")
def kl_div(c: Call) -> Value | _Pass:
    """The input and the target broadcast together; reduced to a number unless 'none'."""
    x, t = c.x, c.arg(1, "target")
    if not isinstance(x, tuple) or not isinstance(t, tuple):
        return PASS
    tx, tt = c.arg_text(0, "input"), c.arg_text(1, "target")
    both = c.rule(lambda: _same(x, t, tx, tt))
    reduction = string(c.kw("reduction"))
    if c.kw("reduction") is not None and reduction is None:
        return None
    return both if reduction == "none" else ()


def _same(x: Shape, t: Shape, tx: str, tt: str) -> Shape | None:
    try:
        return T.broadcast(x, t, tx, tt)
    except Mismatch as err:
        raise Mismatch(f"kl_div: {err}") from None


@function("torch.stft")
def stft(c: Call) -> Value | _Pass:
    """`torch.stft(x, n_fft, ...)` of a signal "l" or "b l": frequencies by frames, "f t"
    or "b f t", and a last axis of 2 where `return_complex=False`."""
    x = c.x
    if not isinstance(x, tuple) or T.rank(x) not in (1, 2):
        return PASS
    parts = c.kw("return_complex")
    real = isinstance(parts, ast.Constant) and parts.value is False
    return (*x[:-1], fresh(), fresh(), *((lit(2),) if real else ()))


@function("torch.istft")
def istft(c: Call) -> Value | _Pass:
    """`torch.istft(s, n_fft, ..., length=n)` of "f t" or "b f t": the signal, "n" or "b n"
    (of a length of its own where none is given)."""
    x = c.x
    if not isinstance(x, tuple) or T.rank(x) not in (2, 3):
        return PASS
    length = c.size_of(c.kwargs["length"]) if "length" in c.kwargs else None
    return (*x[:-2], length or fresh())
