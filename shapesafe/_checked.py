"""The `checked` decorator, the check/off modes and the verdict cache.

`jaxtyping.jaxtyped(typechecker=beartype)` is the reference check. A call whose signature
(each tensor's type, shape and dtype, plus the hashable non-tensor arguments) was already
accepted skips it: the dims that the reference bound are pushed back into jaxtyping's memo,
so the body sees exactly what it would see after a full check.
"""

import collections
import contextlib
import functools
import inspect
import os
import threading
import types
import typing
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Literal, ParamSpec, TypeVar, cast

import torch
from beartype import beartype
from beartype.door import is_bearable
from jaxtyping import AbstractArray, TypeCheckError, jaxtyped

# jaxtyping's per-thread memo of bound dims. A cache hit pushes the dims that the full
# check bound, so code in the body sees what it would see after the full check.
from jaxtyping import _storage as _jaxtyping_storage

from ._contract import Contract, TensorParam, parse_spec
from ._errors import ShapeError
from ._explain import explain, observe

_memo_storage: Any = _jaxtyping_storage._shape_storage
_get_shape_memo: Callable[[], tuple[dict[str, Any], dict[str, Any], Any, Any]] = (
    _jaxtyping_storage.get_shape_memo
)

P = ParamSpec("P")
R = TypeVar("R")
Mode = Literal["check", "off"]
_MODES = ("check", "off")

_env_mode = os.environ.get("SHAPESAFE_MODE", "check").strip().lower() or "check"
if _env_mode not in _MODES:
    raise ValueError(f"SHAPESAFE_MODE must be one of {_MODES}, got {_env_mode!r}")
#: With SHAPESAFE_MODE=off at import, `checked` hands back the undecorated function.
DISABLED_AT_IMPORT = _env_mode == "off"


class _State:
    def __init__(self) -> None:
        self.mode: Mode = cast(Mode, _env_mode)
        self.lock = threading.Lock()
        self.caches: weakref.WeakSet[VerdictCache] = weakref.WeakSet()


_state = _State()


def get_mode() -> Mode:
    """The current mode: `"check"` or `"off"`."""
    return _state.mode


def set_mode(new: Mode) -> None:
    """Switch checks on (`"check"`) or off (`"off"`) for every checked function.

    Clears every verdict cache. It cannot bring back checks that `SHAPESAFE_MODE=off`
    removed at import.
    """
    if new not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {new!r}")
    with _state.lock:
        _state.mode = new
        for cache in list(_state.caches):
            cache.clear()


@contextlib.contextmanager
def mode(new: Mode) -> Iterator[None]:
    """Use a mode inside a `with` block, then restore the previous one."""
    old = get_mode()
    set_mode(new)
    try:
        yield
    finally:
        set_mode(old)


class _Entry:
    """An accepted signature: the dims the reference bound, and the return it accepted."""

    __slots__ = ("ret_key", "single", "variadic")

    def __init__(self, single: dict[str, Any], variadic: dict[str, Any], ret_key: Any) -> None:
        self.single = single
        self.variadic = variadic
        self.ret_key = ret_key


class VerdictCache:
    """A bounded, thread-safe LRU map from accepted call signatures to `_Entry`."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._data: collections.OrderedDict[Any, _Entry] = collections.OrderedDict()
        self._lock = threading.Lock()
        with _state.lock:
            _state.caches.add(self)

    def get(self, key: Any) -> _Entry | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data.move_to_end(key)
            return entry

    def put(self, key: Any, entry: _Entry) -> None:
        with self._lock:
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def _item_key(value: Any) -> Any:
    """The part of a signature one argument contributes. Raises TypeError if unhashable."""
    if isinstance(value, torch.Tensor):
        return (type(value), value.shape, value.dtype)
    if type(value) is tuple:
        return (tuple, tuple(_item_key(v) for v in value))
    hash(value)
    return (type(value), value)


def _return_key(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return (type(value), value.shape, value.dtype)
    if type(value) is tuple:
        return (tuple, tuple(_return_key(v) for v in value))
    return type(value)


def _is_compiling() -> bool:
    return bool(torch.compiler.is_compiling())


class _Frame:
    __slots__ = ("out", "single", "stage", "variadic")

    def __init__(self) -> None:
        self.out: Any = None
        self.stage = 0  # 0: checking parameters, 1: in the body, 2: checking the return
        self.single: dict[str, Any] = {}
        self.variadic: dict[str, Any] = {}


_frames = threading.local()


def _tensor_param(name: str, hint: Any) -> TensorParam | None:
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = typing.get_args(hint)
        rest = [m for m in members if m is not type(None)]
        if len(rest) != 1:
            return None
        optional = len(rest) != len(members)
        hint = rest[0]
    if not (isinstance(hint, type) and issubclass(hint, AbstractArray)):
        return None
    array_type = getattr(hint, "array_type", None)
    if not (isinstance(array_type, type) and issubclass(array_type, torch.Tensor)):
        return None
    raw = getattr(hint, "dtypes", None)
    dtypes = (
        tuple(raw)
        if isinstance(raw, (list, tuple)) and all(isinstance(d, str) for d in raw)
        else None
    )
    label = getattr(getattr(hint, "dtype", None), "__name__", "Shaped")
    return TensorParam(name, parse_spec(hint.dim_str), dtypes, label, optional)


def _op_name(fn: Callable[..., Any]) -> str:
    qual = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))
    return str(qual).replace(".<locals>", "")


def _simple_hint(hint: Any) -> bool:
    """True if beartype's verdict on a value of this hint depends only on `_return_key`."""
    if hint is inspect.Signature.empty or hint is None or hint is type(None) or hint is Any:
        return True
    if isinstance(hint, type):
        return not issubclass(hint, AbstractArray) or _tensor_param("return", hint) is not None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_simple_hint(h) for h in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        return Ellipsis not in args and all(_simple_hint(h) for h in args)
    return False


class _Checked:
    """Everything `checked` needs for one function, built once at decoration."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.signature = inspect.signature(fn)
        self.names = tuple(self.signature.parameters)
        self.simple_params = all(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            for p in self.signature.parameters.values()
        )
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception:
            hints = {}
        self.hints = hints
        params = []
        for name in self.names:
            tp = _tensor_param(name, hints.get(name))
            if tp is not None:
                params.append(tp)
        ret = _tensor_param("return", hints.get("return"))
        self.contract = Contract(_op_name(fn), tuple(params), ret)
        self.cacheable = _simple_hint(hints.get("return", inspect.Signature.empty)) and not any(
            d.kind == "symbolic" and "{" in d.name and not _bare_names(d.name, self.names)
            for p in (*params, *([ret] if ret else []))
            for d in p.spec.dims
        )
        self.cache = VerdictCache()
        self.reference = jaxtyped(self._make_shim(), typechecker=beartype)

    def _make_shim(self) -> Callable[..., Any]:
        fn = self.fn

        @functools.wraps(fn)
        def shim(*args: Any, **kwargs: Any) -> Any:
            frame: _Frame = _frames.stack[-1]
            single, variadic, _, _ = _get_shape_memo()
            frame.single, frame.variadic = dict(single), dict(variadic)
            frame.stage = 1
            out = fn(*args, **kwargs)
            frame.out = out
            frame.stage = 2
            return out

        return shim

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if not kwargs and self.simple_params and len(args) == len(self.names):
            return dict(zip(self.names, args, strict=True))
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            key = tuple([_item_key(a) for a in args])
            if kwargs:
                key += tuple([(k, _item_key(v)) for k, v in kwargs.items()])
        except TypeError:
            return None
        return key

    def call_full(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        stack = getattr(_frames, "stack", None)
        if stack is None:
            stack = _frames.stack = []
        frame = _Frame()
        stack.append(frame)
        try:
            out = self.reference(*args, **kwargs)
        except TypeCheckError as e:
            if frame.stage == 1:
                raise  # raised inside the body: not this function's contract
            raise self.shape_error(args, kwargs, e, frame) from None
        finally:
            stack.pop()
        if key is not None and self.cacheable:
            self.cache.put(key, _Entry(frame.single, frame.variadic, _return_key(out)))
        return out

    def call_cached(self, entry: _Entry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            memo_stack = _memo_storage.memo_stack
        except AttributeError:
            memo_stack = _memo_storage.memo_stack = []
        arguments = self.arguments(args, kwargs)
        memo_stack.append((dict(entry.single), dict(entry.variadic), {}, arguments))
        try:
            out = self.fn(*args, **kwargs)
            if _return_key(out) != entry.ret_key:
                self.check_return(arguments, out)
        finally:
            memo_stack.pop()
        return out

    def check_return(self, arguments: dict[str, Any], out: Any) -> None:
        hint = self.hints.get("return", inspect.Signature.empty)
        if hint is inspect.Signature.empty or is_bearable(out, hint):
            return
        raise self.return_error(arguments, out)

    def return_error(self, arguments: dict[str, Any], out: Any) -> ShapeError:
        err = explain(self.contract, arguments, out)
        if err is not None:
            return err
        got = type(out).__name__
        return ShapeError(
            f"{self.contract.op}(): the return value is {got}, which does not match "
            f"the annotation {_hint_name(self.hints.get('return'))}",
            op=self.contract.op,
            argument="return",
            actual=got,
        )

    def shape_error(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], cause: TypeCheckError, frame: _Frame
    ) -> ShapeError:
        op = self.contract.op
        arguments = self.arguments(args, kwargs)
        if frame.stage == 2:
            # The parameters passed, so only the return can have failed.
            return self.return_error(arguments, frame.out)
        err = explain(self.contract, arguments)
        if err is not None:
            return err
        for name, value in arguments.items():
            hint = self.hints.get(name)
            if hint is None or is_bearable(value, hint):
                continue
            tp = _tensor_param(name, hint)
            obs = observe(value)
            got = "None" if obs is None else obs.type_name or f"tensor {obs.shape} {obs.dtype}"
            want = f'a {tp.dtype_label} tensor "{tp.spec.text}"' if tp else _hint_name(hint)
            return ShapeError(
                f"{op}(): argument '{name}' is {got}, expected {want}",
                op=op,
                argument=name,
                expected=want,
                actual=got,
            )
        return ShapeError(
            f"{op}(): the arguments do not match the annotations together",
            op=op,
            argument="",
        )


def _hint_name(hint: Any) -> str:
    name = getattr(hint, "__name__", None)
    return str(name) if name is not None else repr(hint).replace("typing.", "")


def _bare_names(expr: str, names: tuple[str, ...]) -> bool:
    """True if every `{...}` part of a symbolic dim is just a parameter's name."""
    parts = expr.split("{")[1:]
    return all(p.split("}")[0].strip() in names for p in parts)


def checked(fn: Callable[P, R]) -> Callable[P, R]:
    """Enforce a function's jaxtyping annotations, with readable errors.

    The semantics are those of `jaxtyping.jaxtyped(typechecker=beartype)`: dims are bound
    consistently across all arguments and the return. Works on plain functions and on
    methods such as `nn.Module.forward`.

    **Arguments:**

    - `fn`: a function whose parameters and return carry jaxtyping annotations.

    **Returns:**

    The checked function. With `SHAPESAFE_MODE=off` at import, `fn` itself.

    **Raises:**

    `ShapeError` when a call breaks the contract.
    """
    if DISABLED_AT_IMPORT:
        return fn
    state = _Checked(fn)
    cache = state.cache
    call_full = state.call_full
    call_cached = state.call_cached
    key_of = state.key
    raw = fn

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if _state.mode == "off":
            return raw(*args, **kwargs)
        if _is_compiling():
            from ._compile import call_traced

            return cast(R, call_traced(state, args, kwargs))
        key = key_of(args, kwargs)
        if key is not None:
            entry = cache.get(key)
            if entry is not None:
                return cast(R, call_cached(entry, args, kwargs))
        return cast(R, call_full(key, args, kwargs))

    wrapper.__shapesafe__ = state  # type: ignore[attr-defined]
    return wrapper
