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

from ._contract import Contract, TensorParam
from ._errors import ShapeError
from ._explain import dtype_name, explain
from ._unify import SpecPlan, int_atom, match

if TYPE_CHECKING:
    from ._checked import _Checked

# (name, optional, dtypes or None, packed, the spec's `_unify` plan), where packed is "*" or
# "**" for `*args` / `**kwargs`, whose annotation describes each item.
ParamPlan = tuple[str, bool, "tuple[torch.dtype, ...] | None", str, SpecPlan]
# The return: None (unchecked), ("one", param) or ("tuple", length, ((index, param), ...)).
ReturnPlan = tuple[Any, ...] | None
# (parameter names, positional-only binding, tensor params, return).
Plan = tuple[tuple[str, ...], bool, tuple[ParamPlan, ...], ReturnPlan]

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
    shapes: dict[str, tuple[bool, tuple[Any, ...]]] = {}
    for p in params:
        if p[0] not in arguments:
            continue
        value = arguments[p[0]]
        if p[3] == "*":
            for item in value:
                if not holds(p, item, sizes, shapes, arguments):
                    _fail(state, arguments)
        elif p[3] == "**":
            for item in value.values():
                if not holds(p, item, sizes, shapes, arguments):
                    _fail(state, arguments)
        elif not holds(p, value, sizes, shapes, arguments):
            _fail(state, arguments)
    out = state.fn(*args, **kwargs)
    if ret is not None and not _return_holds(ret, out, sizes, shapes, arguments):
        _fail(state, arguments, out)
    return out


def _return_holds(
    ret: tuple[Any, ...],
    out: Any,
    sizes: dict[str, Any],
    shapes: dict[str, tuple[bool, tuple[Any, ...]]],
    arguments: Mapping[str, Any],
) -> bool:
    if ret[0] == "one":
        return holds(ret[1], out, sizes, shapes, arguments)
    # A tuple return: its length and tensor items here; the types of its other items are
    # beartype's, which does not run under dynamo.
    if not isinstance(out, tuple) or len(out) != ret[1]:
        return False
    for index, param in ret[2]:
        if not holds(param, out[index], sizes, shapes, arguments):
            return False
    return True


def holds(
    param: ParamPlan,
    value: Any,
    sizes: dict[str, Any],
    shapes: dict[str, tuple[bool, tuple[Any, ...]]],
    arguments: Mapping[str, Any],
) -> bool:
    """Whether `value` fits `param`, binding its dims into `sizes` and `shapes`.

    `_unify.match` on sizes that may be `SymInt`s, compared through `_equal`/`_is_one`. A
    symbolic dim whose value can't be known here is left unchecked.
    """
    _, optional, dtypes, _, spec = param
    if value is None:
        return optional
    if not isinstance(value, torch.Tensor):
        return False
    if dtypes is not None and value.dtype not in dtypes:
        return False
    failed = match(spec, value.shape, sizes, shapes, arguments, _equal, _is_one, _atom)
    return failed is None


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


def _atom(value: Any) -> bool:
    """A `{...}` part's value that stands for itself: an int as in eager mode, or a SymInt."""
    return int_atom(value) or isinstance(value, torch.SymInt)


# Building the plan ------------------------------------------------------------------------

_plans: "weakref.WeakKeyDictionary[_Checked, Plan]" = weakref.WeakKeyDictionary()


@_constant_result
def _plan(state: "_Checked") -> Plan:
    """`state.contract` as constants. Dynamo calls this for real, at trace time."""
    plan = _plans.get(state)
    if plan is None:
        contract = state.contract
        kinds = {name: p.kind for name, p in state.signature.parameters.items()}
        params = tuple(
            _param_plan(p, p.packed or _PACKED.get(kinds[p.name], "")) for p in contract.params
        )
        ret = _return_plan(contract)
        plan = _plans[state] = (state.names, state.simple_params, params, ret)
    return plan


_PACKED: dict[inspect._ParameterKind, str] = {
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


def _param_plan(p: TensorParam, packed: str) -> ParamPlan:
    dtypes = None if p.dtypes is None else tuple(_DTYPES[n] for n in p.dtypes if n in _DTYPES)
    return (p.name, p.optional, dtypes, packed, p.spec.plan)


def _return_plan(contract: Contract) -> ReturnPlan:
    if contract.returns is not None:
        items = tuple(
            (i, _param_plan(p, "")) for i, p in enumerate(contract.returns) if p is not None
        )
        return ("tuple", len(contract.returns), items)
    return None if contract.ret is None else ("one", _param_plan(contract.ret, ""))


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
