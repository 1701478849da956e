"""Calls of shapesafe's own modules from inside shapesafe's own modules, decided without the
verdict cache.

Inside a module's body, each child module is called with `call(child, *args)`. Where the
child is one of shapesafe's classes (the class itself, not a subclass), called plainly (no
hooks, its class's `forward`, not traced by torch.jit), its registered fast form runs: a few
comparisons that imply the child's contract (`fits`), then the child's body. Each fast form
is a second, hand-written form of its class's contract: sound, never complete. Where its
comparisons hold, jaxtyping + beartype accept the call; where one fails, or the body raises,
the child is called as usual, and its checked wrapper decides (and raises its own error). So
a fast form changes the cost of a call, never its verdict or its error;
`tests/test_nn_fastpath.py` draws modules, parameters and inputs, many of them broken, and
compares the two calls and the reference.

A module whose children are shapesafe's own (`children_plain`) has a fast form too: its
input's contract, its body (whose children are then called by `call` in turn, or, just found
plain, by `call_plain` and `call_child`, which don't look at their hooks again), then its
return's contract. No user code runs inside such a call (no hooks, no foreign child), so no
one can miss the dims the checked call would have put on jaxtyping's memo stack.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.modules import module as _module

from .._beartype_compat import tester
from .._jaxtyping_compat import pop_shape_memo, push_shape_memo
from .._mode import checking

#: Float dtypes the fast forms take (jaxtyping's `Float` takes more: those go the usual way).
FLOATS = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})
#: Integer dtypes of token ids that the fast forms take.
INTS = frozenset({torch.int32, torch.int64})

#: The fast form of each class, `fast(module, *args)`, which calls `module(*args)` itself
#: wherever its comparisons fail; with the class's checked `forward` it was written for.
FAST: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {}
#: Classes a module with a fast form may hold as children besides those in `FAST`: their
#: calls run no user code when plain.
KNOWN: set[type] = {nn.Dropout}

_Tensor = Tensor
_tracing_state = torch._C._get_tracing_state
_is_compiling = torch.compiler.is_compiling
# torch's global hooks: dicts it changes in place (`register_module_forward_hook`, ...).
_global_backward_pre_hooks = _module._global_backward_pre_hooks
_global_backward_hooks = _module._global_backward_hooks
_global_forward_hooks = _module._global_forward_hooks
_global_forward_pre_hooks = _module._global_forward_pre_hooks


def plain(m: nn.Module) -> bool:
    """Whether `m(...)` runs its class's `forward` and nothing else: no hooks (its own or
    global), no `Module.compile`, no `forward` set on the instance, no torch.jit trace."""
    d = m.__dict__
    return not (
        d["_forward_hooks"]
        or d["_forward_pre_hooks"]
        or d["_backward_hooks"]
        or d["_backward_pre_hooks"]
        or _global_backward_pre_hooks
        or _global_backward_hooks
        or _global_forward_hooks
        or _global_forward_pre_hooks
        or "forward" in d
        or d.get("_compiled_call_impl") is not None
        or _tracing_state() is not None
    )


def call(m: nn.Module, *args: Any) -> Any:
    """`m(*args)`, by `m`'s fast form where it has one and is called plainly."""
    cls = m.__class__
    entry = FAST.get(cls)
    # A `forward` replaced on the class is called as it is (through `m(*args)`).
    if entry is not None and cls.forward is entry[1]:
        d = m.__dict__
        # `plain(m)`, inlined: this runs for every child module's call.
        if not (
            d["_forward_hooks"]
            or d["_forward_pre_hooks"]
            or d["_backward_hooks"]
            or d["_backward_pre_hooks"]
            or _global_backward_pre_hooks
            or _global_backward_hooks
            or _global_forward_hooks
            or _global_forward_pre_hooks
            or "forward" in d
            or d.get("_compiled_call_impl") is not None
            or _tracing_state() is not None
        ):
            return entry[0](m, *args)
    return m(*args)


def call_plain(m: nn.Module, *args: Any) -> Any:
    """`call(m, *args)` for a child that `children_plain` has just found plain, from inside
    its parent's fast form: its hooks are not looked at again (no user code ran since)."""
    cls = m.__class__
    entry = FAST.get(cls)
    if entry is not None and cls.forward is entry[1]:
        return entry[0](m, *args)
    return m(*args)


def call_child(m: nn.Module, name: str, *args: Any) -> Any:
    """`call_plain(getattr(m, name), *args)`, for `m` of a class in `FAST` (not a subclass,
    which may define `name` otherwise) called by its fast form: the child is read from
    `m._modules`, where `nn.Module.__getattr__` finds it, without that Python call."""
    child = m.__dict__["_modules"].get(name)
    if child is None:
        return getattr(m, name)(*args)  # no such child: what the attribute does
    cls = child.__class__
    entry = FAST.get(cls)
    if entry is not None and cls.forward is entry[1]:
        return entry[0](child, *args)
    return child(*args)


def register(cls: type, fast: Callable[..., Any]) -> None:
    """Make `fast` the fast form of `cls`'s own `forward`."""
    FAST[cls] = (fast, cls.forward)  # type: ignore[attr-defined]


def children_plain(m: nn.Module) -> bool:
    """Whether every child of `m` (through `ModuleList`s) is of a class in `FAST` or `KNOWN`
    and plain: then no user code runs inside `m`'s body."""
    if (
        _global_backward_pre_hooks
        or _global_backward_hooks
        or _global_forward_hooks
        or _global_forward_pre_hooks
        or _tracing_state() is not None
    ):
        return False
    children = list(m.__dict__["_modules"].values())
    for child in children:
        if child is None:
            continue
        cls = child.__class__
        d = child.__dict__
        if cls is nn.ModuleList:
            children.extend(d["_modules"].values())
            continue
        # `plain(child)`, less what was read above for all of them.
        if (
            (cls not in FAST and cls not in KNOWN)
            or d["_forward_hooks"]
            or d["_forward_pre_hooks"]
            or d["_backward_hooks"]
            or d["_backward_pre_hooks"]
            or "forward" in d
            or d.get("_compiled_call_impl") is not None
        ):
            return False
    return True


def returned(m: nn.Module, arguments: dict[str, Any], out: Any) -> Any:
    """`out`, which a fast form's body returned and its return comparisons refused: the
    return is then checked as the checked call checks it (the arguments' dims bound first,
    on a memo of their own), and its error raised; with checks off, `out`."""
    if not checking():
        return out
    state = type(m).forward.__shapesafe__  # type: ignore[attr-defined]
    push_shape_memo(arguments)
    try:
        for name, value in arguments.items():
            hint = state.hints.get(name)
            if hint is not None:
                tester(hint)(value)  # binds the argument's dims, as the reference does
        state.check_return(arguments, out)
    finally:
        pop_shape_memo()
    return out


def same_shape(
    cls: type,
    size: str,
    rank: int | None = None,
    run: Callable[[Any, Tensor], Any] | None = None,
) -> Callable[..., Any]:
    """The fast form of `cls`, whose `forward(x)` takes a float `(*batch, size)` (`rank`
    dims in all, where given; `size` names the attribute holding it) and returns `x`'s shape:
    the input's contract, children of shapesafe's own, the body, then the return's
    contract. The body is `run(m, x)` where given (one that calls the children, just found
    plain, by `call_plain`), else the class's `forward` body."""
    body = cls.forward.__wrapped__ if run is None else run  # type: ignore[attr-defined]

    def fast(m: nn.Module, x: Tensor) -> Any:
        n = getattr(m, size)
        if (
            x.__class__ is _Tensor
            and x.dtype in FLOATS
            and n.__class__ is int
            and (x.ndim >= 1 if rank is None else x.ndim == rank)
            and x.shape[-1] == n
            and children_plain(m)
        ):
            out = body(m, x)
            if out.__class__ is _Tensor and out.dtype in FLOATS and out.shape == x.shape:
                return out
            return returned(m, {"self": m, "x": x}, out)
        return m(x)

    register(cls, fast)
    return fast
