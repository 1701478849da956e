"""What `checked` does under torch.compile: only what is specific to dynamo.

beartype and jaxtyping cannot be traced by dynamo, so while compiling, `checked` checks the
same parsed contract (`state.contract`) with the one unifier (`_unify.match`), over sizes
that may be `SymInt`s. The check runs in `comptime` hooks: dynamo calls them at trace time
with the values of the traced call (fake tensors, `SymInt`s, the modules themselves) and
traces none of their bytecode, so checking adds little to a compile and nothing to the
graph:

- With static shapes every size is an int, so each comparison is decided once, at trace time.
- With dynamic shapes a size is a `SymInt`, and a comparison guards on its outcome
  (`_equal`): a later call whose sizes break the relation recompiles and is checked again.
- A data-dependent size (the length of `x[x > 0]`) can't be compared while tracing; its
  equalities become `torch._check`s that the compiled code asserts when it runs.
- `{...}` dims read the call's arguments, e.g. `{self.weight.shape[0]}` reads the module.
- A tuple return is checked item by item.

A call that breaks the contract raises `TracedShapeError` at trace time, with the message
that eager mode gives. Dynamo lets its own `Unsupported` errors out of a compile unchanged
(torch 2.13, `convert_frame._compile`), so `TracedShapeError` is both a `ShapeError` and an
`Unsupported`; its "from user code" lines leave out shapesafe's own frames. Without
`fullgraph`, dynamo breaks the graph at the failing hook and runs it eagerly, where
`comptime` calls the fallback, which raises the same error.

Tracing outside dynamo (non-strict `torch.export`, `make_fx(..., tracing_mode="symbolic")`)
takes the same check, called directly (`_check_eagerly`): there too the sizes are `SymInt`s,
and none is ever read as an int, which would specialize it. An error message reads a traced
size as its example value (`_explain.example_int`), which adds no guard.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import inspect
import linecache
import os
import traceback
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

import torch
from torch._dynamo.comptime import comptime
from torch._dynamo.exc import Unsupported
from torch.fx.experimental.symbolic_shapes import (
    guard_or_false,
    guard_or_true,
    statically_known_true,
)

from ._contract import Contract, TensorParam
from ._errors import ShapeError
from ._explain import dtype_name, example_int, explain
from ._unify import SpecPlan, int_atom, match

if TYPE_CHECKING:
    from ._checked import _Checked


class TracedParam(NamedTuple):
    """One tensor param as `holds` checks it while traced."""

    name: str
    optional: bool
    dtypes: "tuple[torch.dtype, ...] | None"  # None: any dtype
    packed: str  # "*" or "**" for `*args` / `**kwargs`, whose annotation describes each item
    spec: SpecPlan  # the spec's `_unify` plan


# The return: None (unchecked), ("one", param) or ("tuple", length, ((index, param), ...)).
TracedReturn = tuple[Any, ...] | None


class TracedPlan(NamedTuple):
    """A checked function's contract as the traced check reads it."""

    names: tuple[str, ...]  # the parameter names
    simple_params: bool  # positional-only binding
    params: tuple[TracedParam, ...]
    ret: TracedReturn


_NOT_GIVEN: Any = object()

_check: Callable[[Any], None] = torch._check


_DTYPES: dict[str, torch.dtype] = {
    dtype_name(d): d for d in vars(torch).values() if isinstance(d, torch.dtype)
}


class TracedShapeError(ShapeError, Unsupported):
    """The `ShapeError` of a call that torch.compile traced and found breaking its contract.

    Its message starts with the eager `ShapeError`'s whole message; dynamo appends the lines
    of user code it was tracing.
    """

    def __init__(self, err: ShapeError, fn: Callable[..., Any] | None = None) -> None:
        Unsupported.__init__(
            self,
            str(err),
            gb_type="shapesafe: shape contract broken",
            real_stack=_user_stack(fn),
        )
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


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _user_stack(fn: Callable[..., Any] | None = None) -> traceback.StackSummary:
    """The frames dynamo was tracing, without shapesafe's own (its wrappers and checks), so
    that the "from user code" lines of a traced error end at the user's call; then the `def`
    of the checked function `fn` whose contract broke, where it is the user's.

    A checked function compiled itself (`torch.compile(f)`, a checked `forward` of the module
    compiled) has no traced caller: the `def` is then the one user frame to show.
    """
    stack = torch._guards.TracingContext.extract_stack()
    frames = [
        f
        for f in stack
        if not f.filename.startswith("<shapesafe.")
        and os.path.dirname(os.path.abspath(f.filename)) != _PACKAGE
    ]
    own = _definition(fn) if fn is not None else None
    if own is not None:
        frames.append(own)
    return traceback.StackSummary.from_list(frames)


def _definition(fn: Callable[..., Any]) -> traceback.FrameSummary | None:
    """Where `fn` is defined (its `def` line), unless that is in shapesafe."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    if code is None:
        return None
    filename = os.path.abspath(code.co_filename)
    if filename.startswith(_PACKAGE + os.sep) or code.co_filename.startswith("<"):
        return None
    lineno = code.co_firstlineno
    # The first line is the first decorator's: the `def` comes after the decorators.
    lines = linecache.getlines(code.co_filename)
    for number in range(lineno, min(len(lines), lineno + 50) + 1):
        if lines[number - 1].lstrip().startswith(("def ", "async def ")):
            lineno = number
            break
    return traceback.FrameSummary(code.co_filename, lineno, code.co_name)


def call_traced(state: "_Checked", args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run `state.fn` under dynamo tracing, checking its contract before and after.

    The checks run at trace time as `comptime` hooks: plain Python on the fake tensors'
    sizes, which dynamo does not trace, so they cost microseconds, not the seconds that
    tracing the unifier's bytecode took. Comparisons of `SymInt`s still guard (`_equal`).
    """
    # Without `fullgraph`, dynamo breaks the graph at a hook that raises and runs that call
    # eagerly: `comptime` then calls its fallback, which raises the same error.
    comptime(_check_arguments, lambda: _check_eagerly(state, args, kwargs))
    out = state.fn(*args, **kwargs)
    comptime(_check_return, lambda: _check_eagerly(state, args, kwargs, out))
    return out


def _check_eagerly(
    state: "_Checked", args: tuple[Any, ...], kwargs: dict[str, Any], out: Any = _NOT_GIVEN
) -> None:
    """The check outside dynamo: its eager fallback, non-strict `torch.export` and `make_fx`.

    The sizes may be `SymInt`s there too, so they are compared as at trace time (`holds`):
    `explain`, which reads sizes as ints, runs only once the contract is broken.
    """
    _check_values(state, state.arguments(args, kwargs), out)


def _check_arguments(ctx: Any) -> None:
    _check_call(ctx, with_return=False)


def _check_return(ctx: Any) -> None:
    _check_call(ctx, with_return=True)


def _check_call(ctx: Any, with_return: bool) -> None:
    """At trace time: the call's contract on the values of `call_traced`'s locals."""
    state = _value_of(ctx.get_local("state"))
    args = _value_of(ctx.get_local("args"))
    kwargs = _value_of(ctx.get_local("kwargs"))
    out = _value_of(ctx.get_local("out")) if with_return else _NOT_GIVEN
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        raise Unsupported(
            "shapesafe: a checked call's arguments have no Python value at trace time",
            gb_type="shapesafe: arguments not readable",
        )
    _check_values(state, state.arguments(args, kwargs), out, at_trace_time=True)


def _check_values(
    state: "_Checked", arguments: Mapping[str, Any], out: Any, at_trace_time: bool = False
) -> None:
    """The contract on one call's values (sizes that may be `SymInt`s); `out` is the return,
    or `_NOT_GIVEN` to check the arguments only. At trace time (a `comptime` hook, plain
    Python), the error's "from user code" lines end with the checked function's `def`; the
    fallback's code may itself be traced by dynamo, which reading source would break."""
    fn = state.fn if at_trace_time else None
    with_return = out is not _NOT_GIVEN
    plan = _plan(state)
    ret = plan.ret
    sizes: dict[str, Any] = {}
    shapes: dict[str, tuple[bool, tuple[Any, ...]]] = {}
    for p in plan.params:
        if p.name not in arguments:
            continue
        value = arguments[p.name]
        if p.packed == "*":
            items = tuple(value)
        elif p.packed == "**":
            items = tuple(value.values())
        else:
            items = (value,)
        for item in items:
            if not holds(p, item, sizes, shapes, arguments):
                _raise(state, arguments, fn=fn)
    if with_return and ret is not None and not _return_holds(ret, out, sizes, shapes, arguments):
        _raise(state, arguments, out, fn)


class _Unreadable:
    """A value dynamo can't hand over at trace time (a function, say). No tensor contract
    reads it; a `{...}` dim that does is left unchecked, as its value can't be known."""


_OPAQUE: Any = _Unreadable()


def _value_of(var: Any) -> Any:
    """The Python value behind a `ComptimeVar`: fake tensors for tensors, `SymInt`s for
    dynamic ints, the objects themselves for modules and constants; `_OPAQUE` otherwise."""
    return _python_value(var._i_will_not_complain_if_bc_breaks_VariableTracker())


def _python_value(vt: Any) -> Any:
    from torch._dynamo.comptime import ComptimeVar
    from torch._dynamo.variables import BaseListVariable, ConstDictVariable, TensorVariable
    from torch._dynamo.variables.tensor import SymNodeVariable

    realize = getattr(vt, "realize", None)
    if realize is not None:
        vt = realize()
    if isinstance(vt, (TensorVariable, SymNodeVariable)):
        return ComptimeVar(vt).as_fake()
    if isinstance(vt, BaseListVariable):
        items = [_python_value(item) for item in vt.items]
        # A NamedTuple crosses as a plain tuple: the contract reads only its items.
        return tuple(items) if issubclass(vt.python_type(), tuple) else items
    if isinstance(vt, ConstDictVariable):
        try:
            return {k.vt.as_python_constant(): _python_value(v) for k, v in vt.items.items()}
        except NotImplementedError:
            return _OPAQUE
    if vt.is_python_constant():
        try:
            return vt.as_python_constant()
        except NotImplementedError:
            pass
    return getattr(vt, "value", _OPAQUE)


def _raise(
    state: "_Checked",
    arguments: Mapping[str, Any],
    out: Any = _NOT_GIVEN,
    fn: Callable[..., Any] | None = None,
) -> NoReturn:
    """Raise the eager message for a call that `holds` rejected, from a trace-time hook."""
    contract = state.contract
    # A traced int argument (a `{n}` dim's value) is read as its example value, as `observe`
    # reads traced sizes: the message compares ints, and reading adds no guard.
    arguments = {
        k: example_int(v) if isinstance(v, torch.SymInt) else v for k, v in arguments.items()
    }
    err = explain(contract, arguments) if out is _NOT_GIVEN else explain(contract, arguments, out)
    if err is None:
        # `holds` rejected what `unify` accepts; the differential tests keep this unreachable.
        err = ShapeError(
            f"{contract.op}(): the arguments do not match the annotations together",
            op=contract.op,
        )
    raise TracedShapeError(err, fn)


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
    param: TracedParam,
    value: Any,
    sizes: dict[str, Any],
    shapes: dict[str, tuple[bool, tuple[Any, ...]]],
    arguments: Mapping[str, Any],
) -> bool:
    """Whether `value` fits `param`, binding its dims into `sizes` and `shapes`.

    `_unify.match` on sizes that may be `SymInt`s, compared through `_equal`/`_is_one`. A
    symbolic dim whose value can't be known here is left unchecked.
    """
    if value is None:
        return param.optional
    if not isinstance(value, torch.Tensor):
        return False
    if param.dtypes is not None and value.dtype not in param.dtypes:
        return False
    failed = match(param.spec, value.shape, sizes, shapes, arguments, _equal, _is_one, _atom)
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

_plans: "weakref.WeakKeyDictionary[_Checked, TracedPlan]" = weakref.WeakKeyDictionary()


def _plan(state: "_Checked") -> TracedPlan:
    """`state.contract` as the tuples `holds` reads, built once per checked function."""
    plan = _plans.get(state)
    if plan is None:
        contract = state.contract
        kinds = {name: p.kind for name, p in state.signature.parameters.items()}
        params = tuple(
            _param_plan(p, p.packed or _PACKED.get(kinds[p.name], "")) for p in contract.params
        )
        ret = _return_plan(contract)
        plan = _plans[state] = TracedPlan(state.names, state.simple_params, params, ret)
    return plan


_PACKED: dict[inspect._ParameterKind, str] = {
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


def _param_plan(p: TensorParam, packed: str) -> TracedParam:
    dtypes = None if p.dtypes is None else tuple(_DTYPES[n] for n in p.dtypes if n in _DTYPES)
    return TracedParam(p.name, p.optional, dtypes, packed, p.spec.plan)


def _return_plan(contract: Contract) -> TracedReturn:
    if contract.returns is not None:
        items = tuple(
            (i, _param_plan(p, "")) for i, p in enumerate(contract.returns) if p is not None
        )
        return ("tuple", len(contract.returns), items)
    return None if contract.ret is None else ("one", _param_plan(contract.ret, ""))


# Failing --------------------------------------------------------------------------------


class TracedValueError(ValueError, Unsupported):
    """A `ValueError` (a bad non-tensor value) found while torch.compile traced: dynamo lets
    it out of the compile unchanged, as it does `TracedShapeError`."""

    def __init__(self, err: ValueError) -> None:
        Unsupported.__init__(
            self, str(err), gb_type="shapesafe: bad value", real_stack=_user_stack()
        )
        ValueError.__init__(self, str(err))


def raise_made(make: Callable[..., Exception], *args: Any) -> NoReturn:
    """Raise `make(*args)` (a `ShapeError` or `ValueError`) while traced.

    Under dynamo the error is made and raised at trace time, in a `comptime` hook (as a
    broken contract is), so it leaves the compile as itself instead of dynamo's "Observed
    exception"; elsewhere (non-strict export, `make_fx`) it is raised at once. A traced int
    among `args` is read as its example value.
    """
    comptime(_raise_made_hook, lambda: _raise_made(make, args))
    raise AssertionError("unreachable: the hook raises")  # pragma: no cover


def _raise_made_hook(ctx: Any) -> None:
    _raise_made(_value_of(ctx.get_local("make")), _value_of(ctx.get_local("args")))


def _raise_made(make: Callable[..., Exception], args: Any) -> NoReturn:
    err = make(*(example_int(a) if isinstance(a, torch.SymInt) else a for a in args))
    if isinstance(err, ShapeError):
        raise TracedShapeError(err)
    if isinstance(err, ValueError):
        raise TracedValueError(err)
    raise err
