"""The `checked` decorator: the miss and hit paths, the error path, and classes.

`jaxtyping.jaxtyped(typechecker=...)` with beartype's checks is the reference. A call whose
signature (see `_cache`) was already accepted skips it. On such a hit the dims that the
reference bound are pushed back onto jaxtyping's memo stack (see `_jaxtyping_compat`), so
the body sees what it would see after the full check, and the return is checked against the
one the reference accepted (a different one goes through beartype again).

The typechecker handed to jaxtyping asks beartype about each parameter (`is_bearable`'s
tester, made once per hint: see `_beartype_compat`), in order, inside jaxtyping's scope, and
stops at the first one it rejects with a private exception that jaxtyping does not catch.
So a rejected call never builds beartype's or jaxtyping's message, which would render
tensor values only to be thrown away: shapesafe writes its own from shapes and dtypes.
After the body only the return is checked: jaxtyping's return check asks about the
parameters again, which can differ only for a body that changes its arguments until they no
longer fit (or a hint beartype samples); a hit never asks again either.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import ast
import dataclasses
import functools
import inspect
import keyword
import re
import threading
import types
import typing
import weakref
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar, cast

import jaxtyping
import torch
from beartype import beartype
from beartype.roar import BeartypeDecorHintException
from jaxtyping import AnnotationError, jaxtyped
from torch._subclasses.fake_tensor import FakeTensor

from . import _cache, _structure
from ._array_hints import is_torch_array_hint
from ._beartype_compat import return_hint, tester
from ._cache import ALWAYS, NEVER, OMITTED, TESTED, Entry, VerdictCache, key_of
from ._codegen import _traced, generated_wrapper, generic_wrapper, writable
from ._contract import Contract, TensorParam, parse_spec
from ._errors import ShapeError
from ._explain import blamed, describe, explain, observe, unbraced_hint
from ._jaxtyping_compat import get_shape_memo, memo_stack
from ._mode import DISABLED_AT_IMPORT, get_mode, mode, set_mode

__all__ = ["checked", "checked_op", "get_mode", "mode", "raise_error", "set_mode"]

#: dynamo folds a call to this function to True while it traces, so it must stay a call.
_is_compiling: Callable[[], bool] = torch.compiler.is_compiling

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class _Rejected(BaseException):
    """beartype rejected `name` (a parameter, `args[1]` for a packed item, or `return`).

    A BaseException, so that jaxtyping's `except Exception` lets it through without
    building its message; `call_full` always catches it.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


#: The default of a dataclass field with a `default_factory` in its `__init__`'s signature:
#: the value is made in the body, so it is checked there (see `_Checked.check_made`).
_FACTORY: Any = getattr(dataclasses, "_HAS_DEFAULT_FACTORY", object())


def _droppable(signature: inspect.Signature, parameter: inspect.Parameter) -> bool:
    """Whether a wrapper can leave `parameter` out of the call it hands the reference (those
    after it are then passed by keyword): not a positional-only one, nor one a `*args`
    follows."""
    if parameter.kind == parameter.KEYWORD_ONLY:
        return True
    return parameter.kind == parameter.POSITIONAL_OR_KEYWORD and not any(
        p.kind == p.VAR_POSITIONAL for p in signature.parameters.values()
    )


def _judge(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The typechecker given to jaxtyping: beartype's verdict on each parameter, in order.

    `beartype(fn)` runs once, so that a hint beartype can't use fails at decoration, as
    under `jaxtyped(typechecker=beartype)`.

    It also tells the call's `_Frame` how far the check got. jaxtyping calls the parameters'
    judge right before the body (its memo then holds the dims the arguments bound, which a
    hit restores), and the return's judge right after it. Recording here rather than in a
    shim around the body keeps a frame off the stack of each checked call.
    """
    # The return annotation jaxtyping gave: `Any` for the parameters' stand-in. beartype(fn)
    # rewrites it for a binary dunder (`__mul__`): `Any | NotImplementedType`.
    given = inspect.signature(fn).return_annotation
    beartype(fn)
    signature = inspect.signature(fn)
    testers = {
        name: tester(p.annotation)
        for name, p in signature.parameters.items()
        if p.annotation is not inspect.Parameter.empty
    }
    packed = {
        name: p.kind
        for name, p in signature.parameters.items()
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    # The names positional arguments fill, in order: without `*args` or `**kwargs`, a call
    # (which jaxtyping has already bound) maps by position, then by keyword, as `bind` would.
    positional = tuple(
        name
        for name, p in signature.parameters.items()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )
    #: Each positional parameter with its tester (None: not annotated), in order.
    in_order = tuple((name, testers.get(name)) for name in positional)
    check_return = given is not inspect.Signature.empty and given is not Any
    return_tester = tester(signature.return_annotation) if check_return else None
    #: Where jaxtyping's stand-in for the return check takes the return value: its last
    #: parameter, keyword-only.
    output = next(reversed(signature.parameters), "") if check_return else ""

    def judge(*args: Any, **kwargs: Any) -> Any:
        stack = getattr(_frames, "stack", None)
        frame: _Frame | None = stack[-1] if stack else None
        if return_tester is not None:
            # jaxtyping's stand-in returns the return value: read it, or call it.
            out = kwargs[output] if output in kwargs else fn(*args, **kwargs)
            if frame is not None:
                accepted = frame.stage == 1
                frame.out, frame.stage = out, 2
                if accepted:
                    # The parameters were accepted before the body, and their dims are on
                    # the memo: only the return is left, as on a hit.
                    if not return_tester(out):
                        raise _Rejected("return")
                    return out
        if not packed and not kwargs and return_tester is None:
            # The usual call, by position: the same steps as below, without a dict.
            tested = frame.tested if frame is not None and frame.stage == 0 else _UNTESTED
            for (name, bearable), value in zip(in_order, args, strict=False):
                if bearable is None or value is _FACTORY or value is OMITTED:
                    continue
                if name in tested:
                    if not tested[name]:
                        raise _Rejected(name)
                elif not bearable(value):
                    raise _Rejected(name)
            if frame is not None and frame.stage == 0:  # the body is next
                frame.stage = 1
                if frame.record:
                    single, variadic, pytree, _ = get_shape_memo()
                    frame.single, frame.variadic = dict(single), dict(variadic)
                    frame.pytree = dict(pytree)
            return None
        if not packed and len(args) <= len(positional):
            arguments = dict(zip(positional, args, strict=False))
            arguments.update(kwargs)
        else:
            arguments = signature.bind(*args, **kwargs).arguments
        for name, value in arguments.items():
            bearable = testers.get(name)
            if bearable is None or value is _FACTORY or value is OMITTED:
                continue
            kind = packed.get(name)
            if kind is None:
                if frame is not None and frame.stage == 0 and name in frame.tested:
                    # The wrapper's test took beartype's sample: the verdict is that one.
                    if not frame.tested[name]:
                        raise _Rejected(name)
                elif not bearable(value):
                    raise _Rejected(name)
            elif kind == inspect.Parameter.VAR_POSITIONAL:
                for i, item in enumerate(value):
                    if not bearable(item):
                        raise _Rejected(f"{name}[{i}]")
            else:
                for k, item in value.items():
                    if not bearable(item):
                        raise _Rejected(f"{name}[{k!r}]")
        if return_tester is None:
            if frame is not None and frame.stage == 0:  # the body is next
                frame.stage = 1
                if frame.record:
                    single, variadic, pytree, _ = get_shape_memo()
                    frame.single, frame.variadic = dict(single), dict(variadic)
                    frame.pytree = dict(pytree)
            return None
        if not return_tester(out):
            raise _Rejected("return")
        return out

    return judge


def _accepts(hint: Any, value: Any) -> bool:
    """beartype's verdict on `value` alone (no dims bound): False where it can't tell."""
    try:
        return bool(tester(hint)(value))
    except Exception:
        return False


def _tensor_param(name: str, hint: Any) -> TensorParam | None:
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = typing.get_args(hint)
        rest = [m for m in members if m is not type(None)]
        if len(rest) != 1:
            return None
        optional = len(rest) != len(members)
        hint = rest[0]
    if not is_torch_array_hint(hint):
        return None
    raw = getattr(hint, "dtypes", None)
    dtypes = (
        tuple(raw)
        if isinstance(raw, (list, tuple)) and all(isinstance(d, str) for d in raw)
        else None
    )
    label = getattr(getattr(hint, "dtype", None), "__name__", "Shaped")
    return TensorParam(name, parse_spec(hint.dim_str), dtypes, label, optional)


_PACKED: dict[inspect._ParameterKind, str] = {
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


def _tuple_return(hint: Any) -> tuple[TensorParam | None, ...] | None:
    """The items of a `tuple[...]` return hint holding tensors, as `Contract.returns`."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) is not tuple or not args or Ellipsis in args:
        return None
    items = tuple(_tensor_param(f"return[{i}]", h) for i, h in enumerate(args))
    return items if any(p is not None for p in items) else None


def _read_contract(
    fn: Callable[..., Any], signature: inspect.Signature, hints: dict[str, Any]
) -> Contract:
    """The contract that `fn`'s annotations (`hints`) state."""
    params = []
    for name, parameter in signature.parameters.items():
        tp = _tensor_param(name, hints.get(name))
        if tp is not None:
            packed = _PACKED.get(parameter.kind, "")
            params.append(dataclasses.replace(tp, packed=packed) if packed else tp)
    ret = _tensor_param("return", hints.get("return"))
    returns = _tuple_return(hints.get("return"))
    return Contract(_op_name(fn), tuple(params), ret, returns)


_contracts: "weakref.WeakKeyDictionary[Callable[..., Any], Contract]" = weakref.WeakKeyDictionary()


def contract_of(op: Callable[..., Any]) -> Contract:
    """The contract of an op: the one its check uses, or, where checks were off at import
    and `op` is the plain function, the one its annotations state. An op's error builders
    take its contract from here."""
    state = getattr(op, "__shapesafe__", None)
    if state is not None:
        contract: Contract = state.contract
        return contract
    found = _contracts.get(op)
    if found is None:
        hints = typing.get_type_hints(op, include_extras=True)
        found = _contracts[op] = _read_contract(op, inspect.signature(op), hints)
    return found


def _op_name(fn: Callable[..., Any]) -> str:
    qual = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))
    return str(qual).replace(".<locals>", "")


def _brace_exprs(specs: list[TensorParam]) -> list[str]:
    """The `{...}` expressions of every symbolic dim, in order, without repeats."""
    out: list[str] = []
    for p in specs:
        for d in p.spec.dims:
            if d.kind != "symbolic" or "{" not in d.name:
                continue
            for part in d.name.split("{")[1:]:
                expr = part.split("}")[0].strip()
                if expr not in out:
                    out.append(expr)
    return out


# Nodes allowed in the `{expr}` of a symbolic dim for the call to be cached: the expression
# is evaluated in the wrapper and its value becomes part of the signature.
_EXPR_NODES = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.operator,
    ast.unaryop,
    ast.Subscript,
)


def _safe_expr(expr: str, names: tuple[str, ...]) -> bool:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if not isinstance(node, _EXPR_NODES):
            return False
        if isinstance(node, ast.Name) and node.id not in names:
            return False
    return True


#: No argument was tested before the full check.
_UNTESTED: dict[str, bool] = {}


class _Frame:
    __slots__ = ("made", "out", "pytree", "record", "single", "stage", "tested", "variadic")

    def __init__(self, record: bool, tested: dict[str, bool]) -> None:
        #: Whether to record the dims bound before the body: the call may be cached.
        self.record = record
        #: beartype's verdicts on the `TESTED` arguments the wrapper tested already: the
        #: full check takes them as they are, so that a sampled hint is sampled once.
        self.tested = tested
        self.out: Any = None
        #: The values a dataclass's `__init__` made for its `default_factory` fields.
        self.made: dict[str, Any] = {}
        self.stage = 0  # 0: checking parameters, 1: in the body, 2: checking the return
        self.single: dict[str, Any] = {}
        self.variadic: dict[str, Any] = {}
        self.pytree: dict[str, Any] = {}


_frames = threading.local()


def _is_nested(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.is_nested


def _is_fake(value: Any) -> bool:
    return isinstance(value, FakeTensor)


def _symbolic(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a tensor argument (or an item of a list or tuple argument) has a symbolic size,
    as under `make_fx(..., tracing_mode="symbolic")`.

    Such a call is checked as under torch.compile (`_compile`), on its `SymInt`s: beartype,
    jaxtyping and the cache would read them as ints, and so specialize them. A plain
    `torch.Tensor` (not a fake one, nor any other subclass) has int sizes.
    """
    plain = torch.Tensor
    for value in (*args, *kwargs.values()):
        if value.__class__ is plain:
            continue
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            if (
                item.__class__ is not plain
                and isinstance(item, plain)
                and not item.is_nested
                and any(isinstance(s, torch.SymInt) for s in item.shape)
            ):
                return True
    return False


class _Checked:
    """Everything `checked` needs for one function, built once at decoration."""

    def __init__(self, fn: Callable[..., Any], own_op: bool = False) -> None:
        self.fn = fn
        #: One of shapesafe's own ops. Their bodies are torch calls that never read the bound
        #: dims, and they meet their return contracts by construction (the full check on
        #: each first call, and the tests against torch, hold them to it), so a hit neither
        #: restores the dims nor checks the return again. User functions get both.
        self.own_op = own_op
        self.signature = inspect.signature(fn)
        self.names = tuple(self.signature.parameters)
        self.simple_params = all(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            for p in self.signature.parameters.values()
        )
        self.packed = {
            name: p.kind
            for name, p in self.signature.parameters.items()
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        resolved = True
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception:
            hints, resolved = {}, False
        self.hints = hints
        ret_hint = hints.get("return", inspect.Signature.empty)
        #: beartype's verdict on a return (None: not checked), made once (`_beartype_compat`).
        self.return_tester = (
            None
            if ret_hint is inspect.Signature.empty
            else tester(return_hint(getattr(fn, "__name__", None), ret_hint))
        )
        self.contract = _read_contract(fn, self.signature, hints)
        rets = self.contract.return_params()
        self.exprs = _brace_exprs([*self.contract.params, *rets])
        #: The `{expr}` dims of the return: a hit checks the return again when the body
        #: changed one of their values.
        self.return_exprs = tuple(_brace_exprs(list(rets)))
        self.return_kind = _cache.return_kind(hints.get("return", inspect.Signature.empty))
        self.kinds = {name: _cache.param_kind(hints.get(name)) for name in self.names}
        #: Parameters whose default their hint rejects (`alpha: float = None`), each with its
        #: default. A call that leaves one out gets `OMITTED` there from the wrapper (its
        #: key tells it from a value passed), and the full check leaves it out, as the
        #: reference does; the body gets the default. One that a `*args` follows, or that
        #: is positional-only, can't be left out of the call: the reference gets `OMITTED`,
        #: which its judge passes over, and the body the default (see `substitute`).
        self.omitted_defaults = {
            name: p.default
            for name, p in self.signature.parameters.items()
            if p.default is not p.empty
            and p.default is not _FACTORY
            and name in hints
            and not _accepts(hints[name], p.default)
        }
        self.kept_omitted = frozenset(
            name
            for name in self.omitted_defaults
            if not _droppable(self.signature, self.signature.parameters[name])
        )
        #: Where each positional parameter's argument sits in a call.
        self.positions = {
            name: i
            for i, (name, p) in enumerate(self.signature.parameters.items())
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        }
        #: A dataclass's `default_factory` fields (their default is `_FACTORY`), each with
        #: beartype's tester for its hint: a field the call left out is checked once the
        #: body made it. The key of a left-out tensor field fails (the full check, every
        #: time); a union of tensors and other types is never cached.
        self.factory_testers = {
            name: tester(hints[name])
            for name, p in self.signature.parameters.items()
            if p.default is _FACTORY and name in hints
        }
        #: Annotated parameters with a default: the generic wrapper passes it explicitly.
        self.defaulted = any(
            p.default is not p.empty and name in hints
            for name, p in self.signature.parameters.items()
        )
        for name in self.factory_testers:
            if self.kinds[name] in (_cache.MIXED, TESTED, _cache.EITHER):
                self.kinds[name] = NEVER
        #: beartype's tester of each `TESTED` parameter, run on every call (hit or miss).
        self.testers = {
            name: tester(hints[name]) for name, kind in self.kinds.items() if kind == TESTED
        }
        #: beartype's tester of the part of each `EITHER` parameter's union that holds no
        #: tensor hint, run on every call whose argument is no tensor.
        self.either_testers = {
            name: tester(_cache.either_part(hints[name]))
            for name, kind in self.kinds.items()
            if kind == _cache.EITHER
        }
        self.all_tested = {
            name: True for name in self.testers if self.packed.get(name) is None
        } or _UNTESTED
        unwrapped = inspect.unwrap(fn)
        plain = not (
            inspect.isgeneratorfunction(unwrapped)
            or inspect.iscoroutinefunction(unwrapped)
            or inspect.isasyncgenfunction(unwrapped)
        )
        self.cacheable = (
            resolved
            and plain
            and NEVER not in self.kinds.values()
            and all(_safe_expr(e, self.names) for e in self.exprs)
        )
        self.cache = VerdictCache()
        #: Accepted structures (see `_structure`), each with the return structure the
        #: reference accepted with it: a new shape with a known structure is decided by
        #: the unifier alone.
        self.structures: dict[Any, Any] = {}
        #: The parts of the structure the structure path found last, then its return
        #: structure (the generated wrapper's shortcut; a fresh object matches nothing).
        self.last_structure: tuple[Any, ...] = (object(),) * 64
        #: Whether a call may take the structure path: decided here, once.
        self.structured = self.cacheable and writable(self) and _structure.decidable(self)
        #: Where the structure's parts sit in a key (the generated wrapper sets it).
        self.structure_index: tuple[int, ...] = ()
        try:
            self.reference = jaxtyped(self._for_jaxtyping(), typechecker=_judge)
        except BeartypeDecorHintException as e:
            first = str(e).strip().splitlines()[0]
            raise TypeError(f"checked: {self.contract.op}(): {first}") from None
        #: The wrapper `checked` returned, once made (for `no_type_check` on it).
        self.wrapper_ref: Callable[[], Any] = lambda: None

    def _for_jaxtyping(self) -> Callable[..., Any]:
        """`fn` itself, or where jaxtyping can't take it as it is, a shim around it.

        jaxtyping writes `def {fn.__name__}(...)` and resolves string annotations in
        `fn.__globals__`: a lambda's name, or a callable object without globals, needs the
        shim (which runs with `fn`'s globals, using only closure variables and builtins).
        A dataclass's `__init__` with `default_factory` fields needs it to check the fields
        the body made.
        """
        fn = self.fn
        fn_globals = getattr(fn, "__globals__", None)
        name = getattr(fn, "__name__", None)
        if (
            isinstance(fn, types.FunctionType)
            and isinstance(fn_globals, dict)
            and isinstance(name, str)
            and name.isidentifier()
            and not keyword.iskeyword(name)
            and not self.factory_testers
            and not self.kept_omitted
        ):
            return fn
        check_made = self.check_made if self.factory_testers else None
        frames = _frames
        substitute = self.substitute

        def shim(*args: Any, **kwargs: Any) -> Any:
            out = fn(*substitute(args), **kwargs)
            if check_made is not None:
                check_made(args, kwargs, frames.stack[-1])
            return out

        if isinstance(fn_globals, dict):
            shim = types.FunctionType(
                shim.__code__, fn_globals, shim.__name__, None, shim.__closure__
            )
        shim = functools.wraps(fn)(shim)
        name = shim.__name__
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            # jaxtyping writes `def {name}(...)`: a lambda's `<lambda>` is no name there.
            shim.__name__ = "_anonymous"
        return shim

    def check_made(self, args: tuple[Any, ...], kwargs: dict[str, Any], frame: _Frame) -> None:
        """After a dataclass's `__init__`: each `default_factory` field the call left out,
        against its hint and the dims the arguments bound (jaxtyping's memo is still this
        call's)."""
        arguments = self.arguments(args, kwargs)
        obj = arguments.get(self.names[0]) if self.names else None
        for name, bearable in self.factory_testers.items():
            if arguments.get(name) is _FACTORY:
                value = getattr(obj, name, _FACTORY)
                if value is not _FACTORY and not bearable(value):
                    frame.made[name] = value
                    raise _Rejected(name)

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if not kwargs and self.simple_params and len(args) == len(self.names):
            return dict(zip(self.names, args, strict=True))
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The signature of a call, for the generic wrapper: each parameter by its kind.

        Unannotated parameters (`self`) take no part, so the key holds no reference to them.
        None where the call can't be keyed; the name of a `TESTED` argument beartype rejected.
        """
        if not self.cacheable or self.exprs:
            return None
        try:
            arguments = self.arguments(args, kwargs)
            key: list[Any] = []
            for name, value in arguments.items():
                kind = self.kinds[name]
                packed = self.packed.get(name)
                if kind == TESTED:
                    if not self.tested(name, value, packed):
                        return name if packed is None else None  # the full check rejects it
                    continue
                if kind == _cache.EITHER and not isinstance(value, torch.Tensor):
                    if packed is not None:
                        return None
                    if value is not OMITTED and not self.either_testers[name](value):
                        return name  # the full check rejects it

                if packed is None:
                    key.append(key_of(kind, value))
                elif packed == inspect.Parameter.VAR_POSITIONAL:
                    key.append(tuple([key_of(kind, v) for v in value]))
                else:
                    key.append(tuple(sorted((k, key_of(kind, v)) for k, v in value.items())))
            return tuple(key)
        except Exception:
            return None

    def tested(self, name: str, value: Any, packed: Any) -> bool:
        """beartype's verdict on a `TESTED` argument (each item of a packed one)."""
        bearable = self.testers[name]
        if packed is None:
            return value is OMITTED or bool(bearable(value))
        items = value if packed == inspect.Parameter.VAR_POSITIONAL else value.values()
        return all(bearable(item) for item in items)

    def drop_omitted(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call without the `OMITTED` parameters (those after a left-out one by keyword):
        the call the user made, as far as the reference can tell."""
        if not self.omitted_defaults or not (
            any(a is OMITTED for a in args) or any(v is OMITTED for v in kwargs.values())
        ):
            return args, kwargs
        positional: list[Any] = []
        keywords: dict[str, Any] = {}
        gap = False
        kept = self.kept_omitted
        for name, value in zip(self.names, args, strict=False):
            if value is OMITTED and name not in kept:
                gap = True
            elif gap:
                keywords[name] = value
            else:
                positional.append(value)
        keywords.update((k, v) for k, v in kwargs.items() if v is not OMITTED)
        return tuple(positional), keywords

    def substitute(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """`args` with the default in place of each `OMITTED` that stays in the call (see
        `kept_omitted`): what the body gets."""
        if not self.kept_omitted or not any(a is OMITTED for a in args):
            return args
        out = list(args)
        for name in self.kept_omitted:
            i = self.positions[name]
            if i < len(out) and out[i] is OMITTED:
                out[i] = self.omitted_defaults[name]
        return tuple(out)

    def call_generic(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.defaulted and (self.packed or len(args) + len(kwargs) < len(self.names)):
            # Defaults are checked as if passed, as the generated wrapper passes them; one
            # its hint rejects is `OMITTED` (see `omitted_defaults`).
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError:
                pass  # the reference raises it
            else:
                for name in self.omitted_defaults:
                    if name not in bound.arguments:
                        bound.arguments[name] = OMITTED
                bound.apply_defaults()
                args, kwargs = bound.args, bound.kwargs
        key = self.key(args, kwargs)
        if key.__class__ is str:
            return self.call_full(None, args, kwargs, {key: False})
        if key is not None:
            try:
                entry = self.cache.get(key)
            except TypeError:  # a symbolic size, which can't be hashed (see `call_full`)
                return self.call_full(None, args, kwargs)
            if entry is not None:
                return self.call_cached(entry, args, kwargs)
        return self.call_full(key, args, kwargs)

    def call_full(
        self,
        key: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        tested: dict[str, bool] = _UNTESTED,
    ) -> Any:
        """The reference check; an accepted signature goes into the cache under `key`, and
        its structure is remembered (see `_structure`). `tested`: the verdict on a `TESTED`
        argument the wrapper's test rejected; with a key, each of them was accepted.

        A miss calls this from the wrapper directly: each frame between a checked call and
        its body counts against the recursion limit of a function that recurses cold."""
        if self.omitted_defaults:
            args, kwargs = self.drop_omitted(args, kwargs)
        wrapper = self.wrapper_ref()
        if wrapper is not None and getattr(wrapper, "__no_type_check__", False):
            return self.fn(*args, **kwargs)
        if _symbolic(args, kwargs):
            return _traced(self, args, kwargs)
        stack = getattr(_frames, "stack", None)
        if stack is None:
            stack = _frames.stack = []
        if key is not None:
            tested = self.all_tested
        frame = _Frame(key is not None and self.cacheable, tested)
        stack.append(frame)
        try:
            out = self.reference(*args, **kwargs)
        except _Rejected as rejected:
            raise self.shape_error(args, kwargs, rejected.name, frame) from None
        except AnnotationError as e:
            hint = None if frame.stage == 1 else unbraced_hint(self.contract, self.names)
            if hint is None:
                raise
            raise AnnotationError(f"{e}\nhint: {hint}") from None
        finally:
            stack.pop()
        if key is not None and self.cacheable and self._may_cache(args, kwargs):
            self.cache.put(key, Entry(frame.single, frame.variadic, frame.pytree, out))
            if self.structured:
                _structure.remember(self, key, out)
        return out

    def _may_cache(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        if _jaxtyping_off(self.fn) or torch._C._get_tracing_state() is not None:
            # jaxtyping skipped the check; or a trace, which `torch.jit.trace` runs twice
            # and compares: both runs must take the same path.
            return False
        # A jagged tensor's shape holds nested ints, which equal no plain size. A fake
        # tensor's key, were it the cache's last, would be compared with a symbolically
        # traced call's (`make_fx`), and comparing its sizes would guard on them.
        return not any(_is_nested(a) or _is_fake(a) for a in (*args, *kwargs.values()))

    def call_cached(self, entry: Entry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A hit in the generic wrapper: the same steps as a generated one, unrolled."""
        args, kwargs = self.drop_omitted(args, kwargs)
        args = self.substitute(args)
        stack = memo_stack()
        arguments = self.arguments(args, kwargs)
        memo = (dict(entry.single), dict(entry.variadic), dict(entry.pytree), arguments)
        stack.append(memo)
        try:
            out = self.fn(*args, **kwargs)
            # Dims bound in the body (the memo grew) constrain the return too.
            grew = stack[-1] is not memo or memo[0] != entry.single or memo[1] != entry.variadic
            if (
                grew
                or self.return_exprs
                or self.return_kind == ALWAYS
                or _cache.return_key(out) != entry.ret_key
            ):
                self.check_return(arguments, out)
        finally:
            del memo_stack()[-1]
        return out

    def check_return_values(self, values: tuple[Any, ...], out: Any) -> None:
        """A hit's return differs from the accepted one: check it (the memo is pushed)."""
        self.check_return(dict(zip(self.names, values, strict=True)), out)

    def check_return(self, arguments: dict[str, Any], out: Any) -> None:
        bearable = self.return_tester
        if bearable is None or bearable(out):
            return
        raise self.return_error(arguments, out)

    def return_error(self, arguments: dict[str, Any], out: Any) -> ShapeError:
        err = _explained(self.contract, arguments, out)
        if err is not None:
            return err
        got = _describe_value(out)
        return ShapeError(
            f"{self.contract.op}(): the return value is {got}, which does not match "
            f"the annotation {_hint_name(self.hints.get('return'))}",
            op=self.contract.op,
            argument="return",
            actual=got,
        )

    def shape_error(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], culprit: str, frame: _Frame
    ) -> ShapeError:
        """The error for a call beartype rejected at `culprit` (see `_Rejected`)."""
        op = self.contract.op
        arguments = self.arguments(self.substitute(args), kwargs)
        arguments.update(frame.made)
        if frame.stage == 2 or culprit == "return":
            return self.return_error(arguments, frame.out)
        err = _explained(self.contract, arguments)
        if err is not None:
            return err
        name, _, rest = culprit.partition("[")
        value = arguments.get(name)
        if rest:
            index: Any = rest[:-1]
            packed = arguments.get(name, ())
            if self.packed.get(name) == inspect.Parameter.VAR_KEYWORD:
                value = packed.get(index[1:-1])
            else:
                value = packed[int(index)]
        hint = self.hints.get(name)
        tp = _tensor_param(culprit, hint)
        got = _describe_value(value)
        want = f'a {tp.dtype_label} tensor "{tp.spec.text}"' if tp else _hint_name(hint)
        return ShapeError(
            f"{op}(): {blamed(culprit)} is {got}, expected {want}",
            op=op,
            argument=culprit,
            expected=want,
            actual=got,
        )


def _explained(contract: Contract, arguments: dict[str, Any], *out: Any) -> ShapeError | None:
    """`explain` (of the return too, when `out` is given), or None where it can't tell (a
    nested tensor's sizes, say)."""
    if any(_is_nested(v) for v in (*arguments.values(), *out)):
        return None
    try:
        return explain(contract, arguments, *out)
    except Exception:
        return None


def _describe_value(value: Any) -> str:
    """What arrived, without values: `tensor (2, 5) float32`, `list`, `a nested tensor ...`."""
    if _is_nested(value):
        layout = "jagged" if value.layout == torch.jagged else "strided"
        try:
            sizes = "(" + ", ".join(str(s) for s in value.shape) + ")"
        except Exception:
            sizes = f"of {value.size(0)} tensors"
        return f"a nested tensor {sizes} {value.dtype} ({layout} layout)"
    obs = observe(value)
    return describe(obs) if obs is None or obs.shape is None else f"tensor {describe(obs)}"


def _jaxtyping_off(fn: Callable[..., Any]) -> bool:
    """True when jaxtyping skipped the check: such a call says nothing about its signature."""
    return bool(jaxtyping.config.jaxtyping_disable or getattr(fn, "__no_type_check__", False))


def _hint_name(hint: Any) -> str:
    name = getattr(hint, "__name__", None)
    if name is not None and not typing.get_args(hint):
        return str(name)
    return re.sub(r"\b(?:typing|jaxtyping|torch|collections\.abc)\.", "", repr(hint))


def raise_error(make: Callable[..., Exception], *args: Any) -> NoReturn:
    """Raise `make(*args)`: a ShapeError (or a ValueError) an op's or a module's body finds,
    in eager mode or while traced.

    While dynamo traces, the error is built and raised at trace time, as for a broken
    contract, so it leaves the compile as a `TracedShapeError` (a `TracedValueError`).
    """
    if _is_compiling():
        from ._compile import raise_made

        raise_made(make, *args)
    raise make(*args)


def checked(fn: Callable[P, R]) -> Callable[P, R]:
    """Enforce a function's jaxtyping annotations, with readable errors.

    The semantics are those of `jaxtyping.jaxtyped(typechecker=beartype)`: dims are bound
    consistently across all arguments and the return. Works on plain functions, on methods
    such as `nn.Module.forward`, on `classmethod`, `staticmethod` and `property` objects,
    and on classes: a dataclass (an `equinox.Module` too) gets its `__init__` checked, so
    its fields are; any class is returned itself. A `functools.partial` gets its function
    checked, the arguments it holds with those of each call; a lambda works too (it checks
    what its `__annotations__` say, if anything).

    **Arguments:**

    - `fn`: a function whose parameters and return carry jaxtyping annotations, or a class.

    **Returns:**

    The checked function, or the class. With `SHAPESAFE_MODE=off` at import, `fn` itself.

    **Raises:**

    `ShapeError` when a call breaks the contract. At decoration, beartype's errors for an
    annotation it can't check.
    """
    return cast(Callable[P, R], _decorate(fn, own_op=False))


def checked_op(fn: Callable[P, R]) -> Callable[P, R]:
    """`checked` for shapesafe's own ops (see `_Checked.own_op`)."""
    return cast(Callable[P, R], _decorate(fn, own_op=True))


def _decorate(fn: Any, own_op: bool) -> Any:
    if DISABLED_AT_IMPORT:
        return fn
    if inspect.isclass(fn):
        return _decorate_class(fn)
    descriptor: Any = fn
    if isinstance(descriptor, classmethod):
        return classmethod(_decorate(descriptor.__func__, own_op))
    if isinstance(descriptor, staticmethod):
        return staticmethod(_decorate(descriptor.__func__, own_op))
    if isinstance(descriptor, property):
        fget, fset, fdel = (
            None if f is None else _decorate(f, own_op)
            for f in (descriptor.fget, descriptor.fset, descriptor.fdel)
        )
        return property(fget, fset, fdel, descriptor.__doc__)
    if not callable(fn):
        raise TypeError(f"checked: expected a function, method or class, got {type(fn).__name__}")
    if isinstance(fn, functools.partial):
        # The contract is the function's: the arguments the partial holds are checked
        # with the ones each call passes, so their dims bind the rest.
        return functools.partial(_decorate(fn.func, own_op), *fn.args, **fn.keywords)
    state = _Checked(fn, own_op)
    wrapper = generated_wrapper(state)
    if wrapper is None:
        wrapper = generic_wrapper(state)
    wrapper = functools.wraps(fn)(wrapper)
    wrapper.__shapesafe__ = state  # type: ignore[attr-defined]
    state.wrapper_ref = weakref.ref(wrapper)
    return wrapper


def _decorate_class(cls: type[T]) -> type[T]:
    """As `jaxtyped` does: a dataclass's `__init__` is checked (so are its fields); any class
    is returned itself, and `no_type_check` on it is honoured."""
    if not dataclasses.is_dataclass(cls) or getattr(cls, "__no_type_check__", False):
        return cls
    init = cls.__dict__.get("__init__")
    if init is None or getattr(init, "__shapesafe__", None) is not None:
        return cls
    type.__setattr__(cls, "__init__", _decorate(init, own_op=False))
    return cls
