"""The `checked` decorator, the check/off modes and the verdict cache.

`jaxtyping.jaxtyped(typechecker=beartype)` is the reference check. A call whose signature
was already accepted skips it. The signature is each tensor argument's (type, shape, dtype),
the type of each argument whose hint only looks at types, the value of the other annotated
arguments, and the value of every `{expr}` in a symbolic dim. Unannotated arguments (such as
`self`) take no part: beartype does not look at them.

On such a hit the dims that the reference bound are pushed back onto jaxtyping's memo stack,
so `isinstance(y, Float[Tensor, "b n"])` and nested beartype functions in the body see what
they would see after the full check, and the return is checked against the one the reference
accepted (a different one goes through beartype again).

Each checked function gets a wrapper generated for its own signature, so that a hit costs a
few attribute reads and one dict lookup: no argument packing, no loop over the parameters.
"""

import ast
import collections
import contextlib
import functools
import inspect
import threading
import types
import typing
import weakref
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, ParamSpec, TypeVar, cast

import jaxtyping
import torch
from beartype import beartype
from beartype.door import is_bearable
from jaxtyping import AbstractArray, AnnotationError, TypeCheckError, jaxtyped

# jaxtyping keeps the dims bound in each `jaxtyped` scope on a per-thread stack; a cache hit
# pushes the dims that the full check bound onto the same stack.
from jaxtyping import _storage as _jaxtyping_storage

from ._contract import Contract, TensorParam, parse_spec
from ._errors import ShapeError
from ._explain import describe, explain, observe, unbraced_hint
from ._mode import DISABLED_AT_IMPORT, ENV_MODE, MODES, Mode

_memo_storage: Any = _jaxtyping_storage._shape_storage
_get_shape_memo: Callable[[], tuple[dict[str, Any], dict[str, Any], Any, Any]] = (
    _jaxtyping_storage.get_shape_memo
)

#: dynamo folds a call to this function to True while it traces, so it must stay a call.
_is_compiling: Callable[[], bool] = torch.compiler.is_compiling

P = ParamSpec("P")
R = TypeVar("R")
_env_mode = ENV_MODE
_MODES = MODES

# Read by every wrapper on every call; `set_mode` is the only writer.
_checking = _env_mode == "check"


class _State:
    def __init__(self) -> None:
        self.mode: Mode = _env_mode
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
    global _checking
    if new not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {new!r}")
    with _state.lock:
        _state.mode = new
        _checking = new == "check"
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

    __slots__ = ("pytree", "rd", "ret_key", "rs", "rt", "single", "variadic")

    def __init__(
        self,
        single: dict[str, Any],
        variadic: dict[str, Any],
        pytree: dict[str, Any],
        out: Any,
    ) -> None:
        self.single = single
        self.variadic = variadic
        self.pytree = pytree
        self.ret_key = _return_key(out)
        # The accepted return's class, dtype and shape, compared one by one on a hit. A
        # non-tensor never matches there, so such a return is always checked again.
        self.rt: Any = type(out) if isinstance(out, torch.Tensor) else _NoTensor
        self.rd: Any = getattr(out, "dtype", None)
        self.rs: Any = getattr(out, "shape", None)


class _NoTensor:
    """The accepted return's class in an entry whose return was not a tensor."""


class VerdictCache:
    """A bounded, thread-safe LRU map from accepted call signatures to `_Entry`.

    `last` holds the most recently used (key, entry): a call with the same signature as the
    call before it compares two tuples and touches nothing else, which keeps the LRU order
    exact, since nothing else was used in between. Reads take no lock (a dict lookup, a
    `move_to_end`, an attribute read or write are each atomic under the GIL; a key evicted
    between lookup and move makes that call a miss); writes take the lock.
    """

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self.data: collections.OrderedDict[Any, _Entry] = collections.OrderedDict()
        self.last: tuple[Any, _Entry | None] = (None, None)
        self._lock = threading.Lock()
        with _state.lock:
            _state.caches.add(self)

    def get(self, key: Any) -> _Entry | None:
        data = self.data
        entry = data.get(key)
        if entry is not None:
            with contextlib.suppress(KeyError):
                data.move_to_end(key)
            self.last = (key, entry)
        return entry

    def put(self, key: Any, entry: _Entry) -> None:
        with self._lock:
            data = self.data
            data[key] = entry
            data.move_to_end(key)
            while len(data) > self.maxsize:
                data.popitem(last=False)
            self.last = (key, entry)

    def clear(self) -> None:
        with self._lock:
            self.data.clear()
            self.last = (None, None)

    def __len__(self) -> int:
        return len(self.data)


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


def _mixed_key(value: Any) -> Any:
    """Key of an argument whose hint is a union of tensor hints and type-only hints."""
    if isinstance(value, torch.Tensor):
        return (type(value), value.shape, value.dtype)
    return type(value)


# The first item of a hit's entry on jaxtyping's memo stack, until something reads it.
_PENDING = object()


class _MemoStack(list):  # type: ignore[type-arg]
    """jaxtyping's per-thread memo stack, with lazily built entries for cache hits.

    jaxtyping only reads the top with `stack[-1]`, so a hit pushes a cheap tuple
    `(_PENDING, entry, state, *values)` and the memo (fresh copies of the bound dims and the
    call's arguments) is built the first time jaxtyping asks for it, if ever.
    """

    #: How many pending memos were built so far. A hit compares it before and after the
    #: body: if its memo was read, the body may have bound new dims, which the return must
    #: then be checked against.
    built = 0

    def __getitem__(self, index: Any) -> Any:
        item = list.__getitem__(self, index)
        if type(item) is tuple and item and item[0] is _PENDING:
            self.built += 1
            entry: _Entry = item[1]
            state: _Checked = item[2]
            item = (
                dict(entry.single),
                dict(entry.variadic),
                dict(entry.pytree),
                dict(zip(state.names, item[3:], strict=True)),
            )
            list.__setitem__(self, index, item)
        return item


def _adopt_memo_stack(stack: list[Any]) -> _MemoStack:
    """Swap this thread's plain memo list for a `_MemoStack` with the same items.

    jaxtyping looks the stack up again on every push, pop, read and write, so the swap is
    safe even inside an active `jaxtyped` scope.
    """
    new = _MemoStack(stack)
    _memo_storage.memo_stack = new
    return new


class _Frame:
    __slots__ = ("out", "pytree", "single", "stage", "variadic")

    def __init__(self) -> None:
        self.out: Any = None
        self.stage = 0  # 0: checking parameters, 1: in the body, 2: checking the return
        self.single: dict[str, Any] = {}
        self.variadic: dict[str, Any] = {}
        self.pytree: dict[str, Any] = {}


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
    if not _is_torch_array_hint(hint):
        return None
    raw = getattr(hint, "dtypes", None)
    dtypes = (
        tuple(raw)
        if isinstance(raw, (list, tuple)) and all(isinstance(d, str) for d in raw)
        else None
    )
    label = getattr(getattr(hint, "dtype", None), "__name__", "Shaped")
    return TensorParam(name, parse_spec(hint.dim_str), dtypes, label, optional)


def _is_torch_array_hint(hint: Any) -> bool:
    if not (isinstance(hint, type) and issubclass(hint, AbstractArray)):
        return False
    array_type = getattr(hint, "array_type", None)
    return isinstance(array_type, type) and issubclass(array_type, torch.Tensor)


def _op_name(fn: Callable[..., Any]) -> str:
    qual = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))
    return str(qual).replace(".<locals>", "")


def _type_only(hint: Any) -> bool:
    """True if beartype's verdict on a value of this plain-class hint depends on its type only.

    `isinstance` against a class whose metaclass is `type` or `ABCMeta` looks at the type;
    protocols, jaxtyping's array types and other metaclasses may look at the value.
    """
    if hint is None or hint is type(None):
        return True
    if not isinstance(hint, type) or type(hint) not in (type, _ABCMeta):
        return False
    return not getattr(hint, "_is_protocol", False)


_ABCMeta = type(collections.abc.Sized)

# How a parameter contributes to the signature.
_SKIP, _TENSOR, _OPTIONAL_TENSOR, _MIXED, _TYPE, _VALUE, _NEVER = range(7)


def _param_kind(hint: Any) -> int:
    if hint is None or hint is Any or hint is object:
        return _SKIP
    if _is_torch_array_hint(hint):
        return _TENSOR
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _NEVER  # beartype validators may look at values
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(hint)
        tensors = [m for m in members if _is_torch_array_hint(m)]
        others = [m for m in members if not _is_torch_array_hint(m)]
        if not all(_type_only(m) for m in others):
            return _VALUE
        if not tensors:
            return _TYPE
        if others == [type(None)]:
            return _OPTIONAL_TENSOR
        return _MIXED
    if _type_only(hint):
        return _TYPE
    return _VALUE


def _return_kind(hint: Any) -> int | None:
    """How a hit checks the return: not at all, `_TENSOR`, or `_VALUE` (by `_return_key`).

    None when the verdict on a return may depend on more than `_return_key`.
    """
    if hint is inspect.Signature.empty or hint is Any or hint is object:
        return _SKIP
    if _is_torch_array_hint(hint):
        return _TENSOR
    return _VALUE if _simple_hint(hint) else None


def _simple_hint(hint: Any) -> bool:
    """True if beartype's verdict on a value of this hint depends only on `_return_key`."""
    if hint is inspect.Signature.empty or hint is Any:
        return True
    if _is_torch_array_hint(hint) or _type_only(hint):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_simple_hint(h) for h in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        return Ellipsis not in args and all(_simple_hint(h) for h in args)
    return False


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
        resolved = True
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception:
            hints, resolved = {}, False
        self.hints = hints
        params = []
        for name in self.names:
            tp = _tensor_param(name, hints.get(name))
            if tp is not None:
                params.append(tp)
        ret = _tensor_param("return", hints.get("return"))
        self.contract = Contract(_op_name(fn), tuple(params), ret)
        self.exprs = _brace_exprs([*params, *([ret] if ret else [])])
        self.return_kind = _return_kind(hints.get("return", inspect.Signature.empty))
        self.kinds = {name: _param_kind(hints.get(name)) for name in self.names}
        unwrapped = inspect.unwrap(fn)
        plain = not (
            inspect.isgeneratorfunction(unwrapped)
            or inspect.iscoroutinefunction(unwrapped)
            or inspect.isasyncgenfunction(unwrapped)
        )
        self.cacheable = (
            resolved
            and plain
            and self.return_kind is not None
            and _NEVER not in self.kinds.values()
            and all(_safe_expr(e, self.names) for e in self.exprs)
        )
        self.cache = VerdictCache()
        self.reference = jaxtyped(self._make_shim(), typechecker=beartype)

    def _make_shim(self) -> Callable[..., Any]:
        """`fn`, recording the dims bound when the body starts and how far the check got.

        The shim runs with `fn`'s globals (it uses only closure variables and builtins), as
        jaxtyping resolves string annotations in the decorated function's globals.
        """
        fn = self.fn
        frames = _frames
        get_memo = _get_shape_memo

        def shim(*args: Any, **kwargs: Any) -> Any:
            frame: _Frame = frames.stack[-1]
            single, variadic, pytree, _ = get_memo()
            frame.single, frame.variadic, frame.pytree = dict(single), dict(variadic), dict(pytree)
            frame.stage = 1
            out = fn(*args, **kwargs)
            frame.out = out
            frame.stage = 2
            return out

        fn_globals = getattr(fn, "__globals__", None)
        if isinstance(fn_globals, dict):
            shim = types.FunctionType(
                shim.__code__, fn_globals, shim.__name__, None, shim.__closure__
            )
        return functools.wraps(fn)(shim)

    def arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if not kwargs and self.simple_params and len(args) == len(self.names):
            return dict(zip(self.names, args, strict=True))
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The signature of a call, for the generic wrapper: every argument by value."""
        if not self.cacheable or self.exprs:
            return None
        try:
            key = tuple([_item_key(a) for a in args])
            if kwargs:
                key += (_PENDING, *sorted((k, _item_key(v)) for k, v in kwargs.items()))
        except TypeError:
            return None
        return key

    def call_generic(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = self.key(args, kwargs)
        if key is not None:
            entry = self.cache.get(key)
            if entry is not None:
                return self.call_cached(entry, args, kwargs)
        return self.call_full(key, args, kwargs)

    def call_full(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The reference check; an accepted signature goes into the cache under `key`."""
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
        except AnnotationError as e:
            hint = None if frame.stage == 1 else unbraced_hint(self.contract, self.names)
            if hint is None:
                raise
            raise AnnotationError(f"{e}\nhint: {hint}") from None
        finally:
            stack.pop()
        if key is not None and self.cacheable and not _jaxtyping_off(self.fn):
            self.cache.put(key, _Entry(frame.single, frame.variadic, frame.pytree, out))
        return out

    def call_cached(self, entry: _Entry, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A hit in the generic wrapper: the same steps as a generated one, unrolled."""
        try:
            memo_stack = _memo_storage.memo_stack
        except AttributeError:
            memo_stack = _memo_storage.memo_stack = []
        arguments = self.arguments(args, kwargs)
        memo = (dict(entry.single), dict(entry.variadic), dict(entry.pytree), arguments)
        memo_stack.append(memo)
        try:
            out = self.fn(*args, **kwargs)
            # Dims bound in the body (the memo grew) constrain the return too.
            grew = (
                memo_stack[-1] is not memo or memo[0] != entry.single or memo[1] != entry.variadic
            )
            if grew or _return_key(out) != entry.ret_key:
                self.check_return(arguments, out)
        finally:
            del _memo_storage.memo_stack[-1]
        return out

    def check_return_values(self, values: tuple[Any, ...], out: Any) -> None:
        """A hit's return differs from the accepted one: check it (the memo is pushed)."""
        self.check_return(dict(zip(self.names, values, strict=True)), out)

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
            got = describe(obs) if obs is None or obs.shape is None else f"tensor {describe(obs)}"
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


def _jaxtyping_off(fn: Callable[..., Any]) -> bool:
    """True when jaxtyping skipped the check: such a call says nothing about its signature."""
    return bool(jaxtyping.config.jaxtyping_disable or getattr(fn, "__no_type_check__", False))


def _hint_name(hint: Any) -> str:
    name = getattr(hint, "__name__", None)
    return str(name) if name is not None else repr(hint).replace("typing.", "")


def _traced(state: _Checked, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # Imported here: `_compile` imports dynamo, which doubles the time `import shapesafe`
    # takes, and it is only needed once something is being compiled.
    from ._compile import call_traced

    return call_traced(state, args, kwargs)


def raise_error(make: Callable[..., ShapeError], *args: Any) -> NoReturn:
    """Raise `make(*args)`: a ShapeError an op's body finds, in eager mode or while traced.

    While dynamo traces, the error is built and raised by an `assume_constant_result`
    function, as for a broken contract, so it leaves the compile as a `TracedShapeError`.
    """
    if _is_compiling():
        from ._compile import raise_made

        raise_made(make, *args)
    raise make(*args)


# The generated code's own names start with this prefix, and it reads the module globals
# below; a function with a parameter named like either gets the generic wrapper.
_PREFIX = "_ss_"
_GLOBALS_USED = frozenset(
    {
        "_checking",
        "_is_compiling",
        "_traced",
        "_memo_storage",
        "_MemoStack",
        "_adopt_memo_stack",
        "_PENDING",
        "_mixed_key",
        "_item_key",
        "_return_key",
        "KeyError",
        "AttributeError",
        "Exception",
    }
)


def _generated_wrapper(state: _Checked) -> Callable[..., Any] | None:
    """A wrapper with `fn`'s own parameters, or None where the generic one must do.

    The hit path in the generated source reads, in order: the mode, `_is_compiling()`, the
    signature (a flat tuple of attribute reads), the cache, jaxtyping's memo stack, then
    calls `fn` and compares the return's class, dtype and shape with the accepted one.
    """
    params = list(state.signature.parameters.values())
    if not state.cacheable or any(
        param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        or param.name.startswith(_PREFIX)
        or param.name in _GLOBALS_USED
        for param in params
    ):
        return None
    decl: list[str] = []
    call: list[str] = []
    positional: list[str] = []
    keyword: list[str] = []
    defaults: list[Any] = []
    key: list[str] = []
    saw_positional_only = saw_star = False
    for param in params:
        n = param.name
        if param.kind == param.POSITIONAL_ONLY:
            saw_positional_only = True
        elif saw_positional_only:
            decl.append("/")
            saw_positional_only = False
        if param.kind == param.KEYWORD_ONLY and not saw_star:
            if saw_positional_only:
                decl.append("/")
                saw_positional_only = False
            decl.append("*")
            saw_star = True
        if param.default is param.empty:
            decl.append(n)
        else:
            decl.append(f"{n}={_PREFIX}defaults[{len(defaults)}]")
            defaults.append(param.default)
        if param.kind == param.KEYWORD_ONLY:
            call.append(f"{n}={n}")
            keyword.append(f"{n!r}: {n}")
        else:
            call.append(n)
            positional.append(n)
        kind = state.kinds[n]
        if kind == _TENSOR:
            key += [f"{n}.__class__", f"{n}.shape", f"{n}.dtype"]
        elif kind == _OPTIONAL_TENSOR:
            key += [
                f"{n}.__class__",
                f"None if {n} is None else {n}.shape",
                f"None if {n} is None else {n}.dtype",
            ]
        elif kind == _MIXED:
            key.append(f"_mixed_key({n})")
        elif kind == _TYPE:
            key.append(f"{n}.__class__")
        elif kind == _VALUE:
            key.append(f"_item_key({n})")
    if saw_positional_only:
        decl.append("/")
    key += [f"({e})" for e in state.exprs]
    if not key:
        key.append("None")
    args_tuple = "(" + "".join(f"{n}, " for n in positional) + ")"
    kwargs_dict = "{" + ", ".join(keyword) + "}"
    values = "".join(f", {n}" for n in state.names)
    p = _PREFIX
    all_values = "(" + "".join(f"{n}, " for n in state.names) + ")"
    again = f"{p}state.check_return_values({all_values}, {p}out)"
    if state.return_kind == _TENSOR:
        ret_check = (
            f"if ({p}stack.built != {p}built or {p}out.__class__ is not {p}e.rt"
            f" or {p}out.dtype is not {p}e.rd or {p}out.shape != {p}e.rs):\n"
            f"                {again}"
        )
    elif state.return_kind == _VALUE:
        ret_check = (
            f"if {p}stack.built != {p}built or _return_key({p}out) != {p}e.ret_key:\n"
            f"                {again}"
        )
    else:
        ret_check = "pass"
    if not state.own_op:
        body = f"""        try:
            {p}stack = _memo_storage.memo_stack
        except AttributeError:
            {p}stack = _memo_storage.memo_stack = _MemoStack()
        if {p}stack.__class__ is not _MemoStack:
            {p}stack = _adopt_memo_stack({p}stack)
        {p}built = {p}stack.built
        {p}stack.append((_PENDING, {p}e, {p}state{values}))
        try:
            {p}out = {p}fn({", ".join(call)})
            {ret_check}
        finally:
            del {p}stack[-1]
        return {p}out"""
    else:
        body = f"""        return {p}fn({", ".join(call)})"""
    source = f"""
def {p}factory({p}fn, {p}state, {p}cache, {p}defaults):
    {p}data = {p}cache.data
    {p}move = {p}data.move_to_end
    {p}call_full = {p}state.call_full
    def {p}wrapper({", ".join(decl)}):
        if not _checking:
            return {p}fn({", ".join(call)})
        if _is_compiling():
            return _traced({p}state, {args_tuple}, {kwargs_dict})
        {p}key = None
        try:
            {p}key = ({", ".join(key)},)
            {p}last = {p}cache.last
            if {p}key == {p}last[0]:
                {p}e = {p}last[1]
            else:
                {p}e = {p}data[{p}key]
                {p}move({p}key)
                {p}cache.last = ({p}key, {p}e)
        except KeyError:
            return {p}call_full({p}key, {args_tuple}, {kwargs_dict})
        except Exception:
            return {p}call_full(None, {args_tuple}, {kwargs_dict})
{body}
    return {p}wrapper
"""
    namespace: dict[str, Any] = {}
    code = compile(source, f"<shapesafe.checked {state.contract.op}>", "exec")
    exec(code, globals(), namespace)
    factory = namespace[f"{p}factory"]
    wrapper: Callable[..., Any] = factory(state.fn, state, state.cache, tuple(defaults))
    return wrapper


def checked(fn: Callable[P, R]) -> Callable[P, R]:
    """Enforce a function's jaxtyping annotations, with readable errors.

    The semantics are those of `jaxtyping.jaxtyped(typechecker=beartype)`: dims are bound
    consistently across all arguments and the return. Works on plain functions, on methods
    such as `nn.Module.forward`, and on `classmethod`, `staticmethod` and `property` objects.

    **Arguments:**

    - `fn`: a function whose parameters and return carry jaxtyping annotations.

    **Returns:**

    The checked function. With `SHAPESAFE_MODE=off` at import, `fn` itself.

    **Raises:**

    `ShapeError` when a call breaks the contract.
    """
    return _decorate(fn, own_op=False)


def checked_op(fn: Callable[P, R]) -> Callable[P, R]:
    """`checked` for shapesafe's own ops (see `_Checked.own_op`)."""
    return _decorate(fn, own_op=True)


def _decorate(fn: Callable[P, R], own_op: bool) -> Callable[P, R]:
    if DISABLED_AT_IMPORT:
        return fn
    descriptor: Any = fn
    if isinstance(descriptor, classmethod):
        return cast(Callable[P, R], classmethod(_decorate(descriptor.__func__, own_op)))
    if isinstance(descriptor, staticmethod):
        return cast(Callable[P, R], staticmethod(_decorate(descriptor.__func__, own_op)))
    if isinstance(descriptor, property):
        fget, fset, fdel = (
            None if f is None else _decorate(f, own_op)
            for f in (descriptor.fget, descriptor.fset, descriptor.fdel)
        )
        return cast(Callable[P, R], property(fget, fset, fdel, descriptor.__doc__))
    state = _Checked(fn, own_op)
    wrapper = _generated_wrapper(state)
    if wrapper is None:
        raw = fn
        call_generic = state.call_generic

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not _checking:
                return raw(*args, **kwargs)
            if _is_compiling():
                return _traced(state, args, kwargs)
            return call_generic(args, kwargs)

    wrapper = functools.wraps(fn)(wrapper)
    wrapper.__shapesafe__ = state  # type: ignore[attr-defined]
    return cast(Callable[P, R], wrapper)
