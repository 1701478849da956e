"""Shape rules of library ops: one function per op or op family, by topic.

- `construct`: new tensors of given sizes, from data, ranges and grids;
- `shape`: elementwise ops, and ops that move, add, drop, join or split axes;
- `linalg`: matrix products and decompositions;
- `reduce`: reductions;
- `nn`: `torch.nn` layers and `torch.nn.functional` ops;
- `norms`: the functional norms (`F.layer_norm`, `F.rms_norm`, `F.group_norm`);
- `einops`: ops that take a pattern (einsum, rearrange);
- `index`: lookups and orderings;
- `conv`: convolutions, pooling, sampling grids and the norms of channels (BatchNorm, GroupNorm);
- `dtypes`: which dtypes each jaxtyping label takes;
- `arrays`: numpy's functions, as the torch ops of the same meaning;
- `builtins`: Python's builtins on sizes and shapes (`len`, `int`, `zip`);
- `diffusers`: the noise schedulers of diffusers, and the methods of theirs that keep a shape;
- `images`: OpenCV's image functions (`cv2.imread`, `cvtColor`, `resize`);
- `raster`: nvdiffrast's rasterizer (`rasterize`, `interpolate`, `antialias`);
- `nerfacc`: nerfacc's volume rendering (`accumulate_along_rays`).

Adding an op is adding one function, registered with `@function` or `@method`, in one of
these files. A call with no rule that applies has an unknown value, never a guess.
"""

import ast

from .._unify import Shape
from .._values import LayerV, Value
from . import (  # noqa: F401
    arrays,
    builtins,
    construct,
    conv,
    diffusers,
    dtypes,
    einops,
    images,
    index,
    linalg,
    nerfacc,
    nn,
    norms,
    raster,
    reduce,
    shape,
)
from ._registry import FUNCTIONS, LAYERS, METHODS, PASS, Call, Reader, _Pass, apply

__all__ = [
    "FUNCTIONS",
    "METHODS",
    "PASS",
    "Call",
    "builtin_call",
    "layer_call",
    "layer_method",
    "library_call",
    "tensor_method",
]

# The roots of the qualified names that rules are registered under.
ROOTS = frozenset(("torch", "einops", "fancy_einsum", "shapesafe"))
# Libraries with rules for some of their functions only: the others are read as before.
SOME = frozenset(("numpy", "transformer_lens", "diffusers", "cv2", "nvdiffrast", "nerfacc"))
# torch functions that give no tensor, or one of unknown shape, and are known as such.
_NO_SHAPE = frozenset("tensor as_tensor manual_seed no_grad device is_tensor finfo iinfo".split())


def tensor_method(
    reader: Reader,
    node: ast.Call,
    name: str,
    x: Shape,
    args: list[Value],
    kwargs: dict[str, Value],
    starred: bool,
    arg_nodes: list[ast.expr] | None = None,
) -> Value:
    """`x.name(*args, **kwargs)` on a tensor of shape `x`."""
    if starred:
        return None
    call = Call(reader, node, name, args, kwargs, node.args if arg_nodes is None else arg_nodes, x)
    out = apply(METHODS, name, call)
    return None if out is PASS else out  # type: ignore[return-value]


def library_call(
    reader: Reader,
    node: ast.Call,
    qual: str,
    args: list[Value],
    kwargs: dict[str, Value],
    starred: bool,
) -> tuple[bool, Value]:
    """A call of a torch, einops or shapesafe function: (whether it is one, its value)."""
    root = qual.split(".")[0]
    if root not in ROOTS and root not in SOME:
        return False, None
    last = qual.rsplit(".", 1)[-1]
    events = reader.file
    if root == "shapesafe":
        # shapesafe's ops and modules have contracts; `permute`'s output comes from its pattern.
        if last == "permute" and len(args) == 2 and isinstance(args[0], tuple):
            return True, einops.permute(Call(reader, node, last, args, kwargs, node.args, args[0]))
        return False, None
    if starred:
        if root in SOME:
            return False, None
        events.stats_unknown("call with *args")
        return True, None
    x = args[0] if args else kwargs.get("input")
    out = apply(FUNCTIONS, qual, Call(reader, node, last, args, kwargs, node.args, x, qual))
    label = root if root != "fancy_einsum" else "einops"
    if out is not PASS:
        events.stats_known(label)
        return True, out  # type: ignore[return-value]
    if root in SOME:
        return False, None  # their other functions: read as any other call, as before
    if qual.count(".") == 1 and root == "torch":
        if isinstance(x, tuple):
            events.stats_known(label)
            rest = node.args[1:]
            return True, tensor_method(reader, node, last, x, args[1:], kwargs, False, rest)
        if last in _NO_SHAPE:
            events.stats_known(label)
            return True, None
    if qual.startswith("torch.nn.") and not qual.startswith("torch.nn.functional."):
        if qual.count(".") == 2:
            events.stats_unknown("torch.nn class without a shape rule")
            return True, None
    has_rule = qual in FUNCTIONS or (qual.count(".") == 1 and last in METHODS)
    if has_rule and not isinstance(x, tuple):
        # `torch.norm(x, dim=-1)` of an x whose shape is unknown: the op has a rule.
        events.stats_unknown("op input of unknown shape", node.func)
        return True, None
    events.stats_unknown(f"{root} op without a shape rule", node.func)
    return True, None


def builtin_call(
    reader: Reader, node: ast.Call, name: str, args: list[Value], kwargs: dict[str, Value]
) -> "Value | _Pass":
    """A call of the builtin `name`: its value, or PASS where no rule applies."""
    x = args[0] if args else None
    return apply(
        FUNCTIONS, f"builtins.{name}", Call(reader, node, name, args, kwargs, node.args, x)
    )


def layer_call(
    reader: Reader, node: ast.Call, held: LayerV, args: list[Value], kwargs: dict[str, Value]
) -> "Value | _Pass":
    """Calling the layer `held` on `args`: its value, or PASS where no rule applies."""
    x = args[0] if args else kwargs.get("input")
    call = Call(reader, node, held.kind, args, kwargs, node.args, x, held=held)
    return apply(LAYERS, held.kind, call)


def layer_method(
    reader: Reader,
    node: ast.Call,
    held: LayerV,
    attr: str,
    args: list[Value],
    kwargs: dict[str, Value],
) -> "Value | _Pass":
    """`held.attr(*args)` for a method other than the layer's forward (a diffusers
    scheduler's `step`): its value, or PASS where no rule is registered for it."""
    call = Call(reader, node, attr, args, kwargs, node.args, args[0] if args else None, held=held)
    return apply(LAYERS, f"{held.kind}.{attr}", call)
