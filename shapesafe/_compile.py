"""The contract check under torch.compile: plain-Python arithmetic on sizes.

beartype and jaxtyping cannot be traced by dynamo, so while compiling, `checked` checks the
same parsed contract (`state.contract`) here, comparing sizes with `==`. Dynamo runs this
code at trace time and leaves nothing of it in the graph:

- With static shapes every size is an int, so each comparison is decided once, at trace time.
- With dynamic shapes a size is a `SymInt`, and branching on a comparison makes dynamo guard
  on its outcome: a later call whose sizes break the relation recompiles and is checked again.
- A data-dependent size (the length of `x[x > 0]`) can't be compared while tracing; its
  equalities become `torch._check`s that the compiled code asserts when it runs.

The contract reaches the traced code as a `plan`: the same contract flattened into tuples of
strings and ints by an `assume_constant_result` function. Dynamo treats its result as a
constant, so reading it adds no guards (reading the dataclasses directly added about a
thousand to a small GPT, each evaluated on every call).

A call that breaks the contract raises `TracedShapeError` at trace time, with the message
that eager mode gives. Dynamo lets its own `Unsupported` errors out of a compile unchanged
and wraps every other exception raised while tracing (torch 2.13, `convert_frame._compile`),
so `TracedShapeError` is both a `ShapeError` and an `Unsupported`.
"""

import ast
import inspect
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

import torch
from torch._dynamo.exc import Unsupported
from torch.fx.experimental.symbolic_shapes import (
    guard_or_false,
    guard_or_true,
    statically_known_true,
)

from ._errors import ShapeError
from ._explain import dtype_name, explain

if TYPE_CHECKING:
    from ._checked import _Checked

# The plan, as nested tuples. An expression (the value of a symbolic dim) is one of
# ("size", name), ("arg", name), ("attr", expr, name), ("int", value), ("neg", expr),
# ("op", "+", left, right), ("min", exprs), ("max", exprs), or ("unknown",) for any other
# Python, which is left unchecked.
Expr = tuple[Any, ...]
# (kind, name, size, broadcastable, expr) for each dim of a spec.
DimPlan = tuple[str, str, int, bool, Expr]
# (name, optional, dtypes or None, variadic index or -1, dims, packed), where packed is
# "*" or "**" for `*args` / `**kwargs`, whose annotation describes each item.
ParamPlan = tuple[str, bool, "tuple[torch.dtype, ...] | None", int, tuple[DimPlan, ...], str]
# (parameter names, positional-only binding, tensor params, return or None).
Plan = tuple[tuple[str, ...], bool, tuple[ParamPlan, ...], "ParamPlan | None"]

_NOT_GIVEN: Any = object()
F = TypeVar("F", bound=Callable[..., Any])


_assume_constant: Callable[[Any], Any] = torch.compiler.assume_constant_result
_check: Callable[[Any], None] = torch._check


def _constant_result(fn: F) -> F:
    """`torch.compiler.assume_constant_result`, typed: it marks `fn` and returns it."""
    return cast(F, _assume_constant(fn))


_DTYPES: dict[str, torch.dtype] = {
    dtype_name(d): d for d in vars(torch).values() if isinstance(d, torch.dtype)
}
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.FloorDiv: "//", ast.Mod: "%", ast.Pow: "**"}


class TracedShapeError(ShapeError, Unsupported):
    """The `ShapeError` of a call that torch.compile traced and found breaking its contract.

    Its message starts with the eager `ShapeError`'s whole message; dynamo appends the lines
    of user code it was tracing.
    """

    def __init__(self, err: ShapeError) -> None:
        Unsupported.__init__(self, str(err), gb_type="shapesafe: shape contract broken")
        ShapeError.__init__(
            self,
            str(err),
            op=err.op,
            argument=err.argument,
            expected=err.expected,
            actual=err.actual,
            dim=err.dim,
            bindings=err.bindings,
            hint=err.hint,
        )


def call_traced(state: "_Checked", args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run `state.fn` under dynamo tracing, checking its contract before and after."""
    names, positional, params, ret = _plan(state)
    if positional and len(args) <= len(names):
        arguments = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            arguments[key] = value
    else:
        arguments = state.arguments(args, kwargs)
    sizes: dict[str, Any] = {}
    shapes: dict[str, tuple[Any, ...]] = {}
    for p in params:
        if p[0] not in arguments:
            continue
        value = arguments[p[0]]
        if p[5] == "*":
            for item in value:
                if not holds(p, item, sizes, shapes, arguments):
                    _fail(state, arguments)
        elif p[5] == "**":
            for item in value.values():
                if not holds(p, item, sizes, shapes, arguments):
                    _fail(state, arguments)
        elif not holds(p, value, sizes, shapes, arguments):
            _fail(state, arguments)
    out = state.fn(*args, **kwargs)
    if ret is not None and not holds(ret, out, sizes, shapes, arguments):
        _fail(state, arguments, out)
    return out


def holds(
    param: ParamPlan,
    value: Any,
    sizes: dict[str, Any],
    shapes: dict[str, tuple[Any, ...]],
    arguments: Mapping[str, Any],
) -> bool:
    """Whether `value` fits `param`, binding its dims into `sizes` and `shapes`.

    The rules of `_contract.unify`, on sizes that may be `SymInt`s: a name bound by an earlier
    argument must match, a fixed dim must equal its size, a symbolic dim its value.
    """
    _, optional, dtypes, vi, dims, _ = param
    if value is None:
        return optional
    if not isinstance(value, torch.Tensor):
        return False
    if dtypes is not None and value.dtype not in dtypes:
        return False
    shape = value.shape
    rank = len(shape)
    if vi < 0:
        if rank != len(dims):
            return False
        for axis in range(rank):
            if not _match_one(dims[axis], shape[axis], sizes, arguments):
                return False
        return True
    if rank < len(dims) - 1:
        return False
    tail = len(dims) - vi - 1
    for axis in range(vi):
        if not _match_one(dims[axis], shape[axis], sizes, arguments):
            return False
    for k in range(tail):
        if not _match_one(dims[vi + 1 + k], shape[rank - tail + k], sizes, arguments):
            return False
    kind, name, _, broadcastable, _ = dims[vi]
    if kind == "anonymous_variadic":
        return True
    got = tuple(shape[vi : rank - tail])
    want = shapes.get(name)
    if want is None:
        shapes[name] = got
        return True
    if _same(want, got):
        return True
    return broadcastable and _broadcasts(want, got)


def _match_one(
    dim: DimPlan, size: Any, sizes: dict[str, Any], arguments: Mapping[str, Any]
) -> bool:
    kind, name, fixed, broadcastable, expr = dim
    if kind == "anonymous":
        return True
    if broadcastable and _is_one(size):
        return True
    if kind == "fixed":
        return _equal(size, fixed)
    if kind == "symbolic":
        try:
            expected = _evaluate(expr, sizes, arguments)
        except Exception:
            return True  # `evaluate_symbolic` gives None: the dim is not checked
        if not isinstance(expected, (int, torch.SymInt)):
            return True
        return _equal(expected, size)
    bound = sizes.get(name)
    if bound is None:
        sizes[name] = size
        return True
    return _equal(bound, size)


def _equal(a: Any, b: Any) -> bool:
    """`a == b` for sizes: decided at trace time, or guarded, or asserted at run time.

    Static sizes compare as ints. Dynamic (backed) sizes compare under a guard, so a call
    that changes the outcome recompiles. A data-dependent (unbacked) size, like the length
    of `x[x > 0]`, can't be decided while tracing: it becomes a `torch._check`, which the
    compiled code asserts at run time, instead of a false error now.
    """
    same = a == b
    if not guard_or_true(same):
        return False
    if not statically_known_true(same):
        _check(same)
    return True


def _is_one(size: Any) -> bool:
    return guard_or_false(size == 1)


def _evaluate(expr: Expr, sizes: Mapping[str, Any], arguments: Mapping[str, Any]) -> Any:
    """The value of a symbolic dim's expression; None when a dim it reads is not bound yet."""
    tag = expr[0]
    if tag == "int":
        return expr[1]
    if tag == "size":
        return sizes.get(expr[1])
    if tag == "arg":
        return arguments.get(expr[1])
    if tag == "attr":
        obj = _evaluate(expr[1], sizes, arguments)
        return None if obj is None else getattr(obj, expr[2])
    if tag == "neg":
        value = _evaluate(expr[1], sizes, arguments)
        return None if value is None else -value
    if tag == "op":
        left = _evaluate(expr[2], sizes, arguments)
        right = _evaluate(expr[3], sizes, arguments)
        if left is None or right is None:
            return None
        op = expr[1]
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "//":
            return left // right
        if op == "%":
            return left % right
        return left**right
    if tag == "min" or tag == "max":
        values = [_evaluate(e, sizes, arguments) for e in expr[1]]
        if any(v is None for v in values):
            return None
        return min(values) if tag == "min" else max(values)
    return None


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if not _equal(x, y):
            return False
    return True


def _broadcasts(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if not (_is_one(x) or _is_one(y) or _equal(x, y)):
            return False
    return True


# Building the plan ------------------------------------------------------------------------

_plans: "weakref.WeakKeyDictionary[_Checked, Plan]" = weakref.WeakKeyDictionary()


@_constant_result
def _plan(state: "_Checked") -> Plan:
    """`state.contract` as constants. Dynamo calls this for real, at trace time."""
    plan = _plans.get(state)
    if plan is None:
        contract = state.contract
        kinds = {name: p.kind for name, p in state.signature.parameters.items()}
        params = tuple(_param_plan(p, _PACKED.get(kinds[p.name], "")) for p in contract.params)
        ret = None if contract.ret is None else _param_plan(contract.ret, "")
        plan = _plans[state] = (state.names, state.simple_params, params, ret)
    return plan


_PACKED: dict[inspect._ParameterKind, str] = {
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


def _param_plan(p: Any, packed: str) -> ParamPlan:
    dtypes = None if p.dtypes is None else tuple(_DTYPES[n] for n in p.dtypes if n in _DTYPES)
    vi = -1 if p.spec.variadic_index is None else p.spec.variadic_index
    dims = tuple(
        (d.kind, d.name, d.size, d.broadcastable, _expr(d.name) if d.kind == "symbolic" else ())
        for d in p.spec.dims
    )
    return (p.name, p.optional, dtypes, vi, dims, packed)


def _expr(text: str) -> Expr:
    """Parse a symbolic dim as `evaluate_symbolic` reads it: `{...}` parts are arguments."""
    try:
        fstring = ast.parse("f" + repr(text), mode="eval").body
        assert isinstance(fstring, ast.JoinedStr)
        pieces: list[str] = []
        parts: list[Expr] = []
        for value in fstring.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                pieces.append(value.value)
            elif (
                isinstance(value, ast.FormattedValue)
                and value.conversion == -1
                and value.format_spec is None
            ):
                pieces.append(f"(_shapesafe_part_{len(parts)})")
                parts.append(_convert(value.value, "arg", []))
            else:
                return ("unknown",)
        return _convert(ast.parse("".join(pieces), mode="eval").body, "size", parts)
    except (SyntaxError, ValueError, AssertionError):
        return ("unknown",)


def _convert(node: ast.expr, names: str, parts: list[Expr]) -> Expr:
    """An expression tree as nested tuples; ("unknown",) for anything else Python allows."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ("int", node.value)
    if isinstance(node, ast.Name):
        if node.id.startswith("_shapesafe_part_"):
            return parts[int(node.id.removeprefix("_shapesafe_part_"))]
        return (names, node.id)
    if isinstance(node, ast.Attribute):
        return ("attr", _convert(node.value, names, parts), node.attr)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return ("neg", _convert(node.operand, names, parts))
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left = _convert(node.left, names, parts)
        right = _convert(node.right, names, parts)
        return ("op", _OPS[type(node.op)], left, right)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("min", "max")
        and node.args
        and not node.keywords
    ):
        return (node.func.id, tuple(_convert(a, names, parts) for a in node.args))
    return ("unknown",)


# Failing --------------------------------------------------------------------------------


def _fail(state: "_Checked", arguments: Mapping[str, Any], out: Any = _NOT_GIVEN) -> NoReturn:
    """Raise the eager message for a call that `holds` rejected."""
    # A tuple or dict holding tensors is no constant to dynamo, so containers one level
    # deep (`*args`, `**kwargs`) cross as their items plus their layout.
    layout: list[tuple[str, str, tuple[Any, ...]]] = []
    flat: list[Any] = []
    for name, value in arguments.items():
        if isinstance(value, (tuple, list)):
            layout.append((name, type(value).__name__, (len(value),)))
            flat.extend(value)
        elif isinstance(value, dict):
            layout.append((name, "dict", tuple(value)))
            flat.extend(value.values())
        else:
            layout.append((name, "", ()))
            flat.append(value)
    if out is _NOT_GIVEN:
        _raise_shape_error(state, tuple(layout), False, None, *flat)
    _raise_shape_error(state, tuple(layout), True, out, *flat)
    raise AssertionError("unreachable")


# Dynamo calls an `assume_constant_result` function for real, at trace time, with the real
# values of its arguments (tensors included), and lets exceptions from it propagate as they
# are. So the message comes from the same `explain` as in eager mode, on concrete shapes.
@_constant_result
def _raise_shape_error(
    state: "_Checked",
    layout: tuple[tuple[str, str, tuple[Any, ...]], ...],
    has_out: bool,
    out: Any,
    *flat: Any,
) -> NoReturn:
    contract = state.contract
    arguments: dict[str, Any] = {}
    items = iter(flat)
    for name, container, keys in layout:
        if container == "dict":
            arguments[name] = {k: next(items) for k in keys}
        elif container:
            values = [next(items) for _ in range(keys[0])]
            arguments[name] = tuple(values) if container == "tuple" else values
        else:
            arguments[name] = next(items)
    err = explain(contract, arguments, out) if has_out else explain(contract, arguments)
    if err is None:
        # `holds` rejected what `unify` accepts; the differential tests keep this unreachable.
        err = ShapeError(
            f"{contract.op}(): the arguments do not match the annotations together",
            op=contract.op,
        )
    raise TracedShapeError(err)


@_constant_result
def raise_made(make: Callable[..., ShapeError], *args: Any) -> NoReturn:
    """Raise `make(*args)` while dynamo traces, as `_raise_shape_error` does for contracts."""
    raise TracedShapeError(make(*args))
