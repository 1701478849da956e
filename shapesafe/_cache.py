"""Verdict keys, and the bounded, thread- and fork-safe verdict cache.

A key must capture everything the reference check reads, and hold nothing it doesn't need:

- a tensor by its (class, shape, dtype): never by identity, never by value;
- an argument whose hint only looks at types, by its type;
- an argument whose hint looks at its value, by (type, value), and only for immutable atoms
  (`int`, `float`, `bool`, `str`, ...), exact tuples of them and tensors. Anything else
  (an object that may change after it was keyed, a tuple subclass, a NamedTuple) makes the
  call uncacheable, and it takes the full check;
- unannotated arguments (such as `self`) not at all: beartype does not look at them.

Hints whose verdict beartype samples (`tuple[int, ...]`, `list[int]`, `Sequence[int]`:
beartype checks one random item per call) or that read arbitrary state (protocols,
validators) are never keyed: a lucky sample would otherwise become sticky. Where such a hint
holds no jaxtyping array, its verdict can't depend on the dims the other arguments bind, so
the parameter is `TESTED`: beartype's tester runs on it on every call, hit or miss, and the
rest of the call is keyed as usual. A return hint the key can't capture is `ALWAYS` checked
by beartype on a hit, with the hit's dims on jaxtyping's memo stack, as the full check does.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import collections
import collections.abc
import enum
import inspect
import os
import threading
import types
import typing
import weakref
from typing import Any, Literal

import torch

from ._array_hints import binds_names, is_torch_array_hint


class Entry:
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
        try:
            self.ret_key: Any = return_key(out)
        except TypeError:
            self.ret_key = _NoTensor  # never equal to a computed key: checked every time
        # The accepted return's class, dtype and shape, compared one by one on a hit. A
        # non-tensor never matches there, so such a return is always checked again.
        self.rt: Any = type(out) if isinstance(out, torch.Tensor) else _NoTensor
        self.rd: Any = getattr(out, "dtype", None)
        self.rs: Any = getattr(out, "shape", None) if self.rt is not _NoTensor else None


def bound_entry(bound: tuple[dict[str, Any], dict[str, Any]]) -> Entry:
    """An entry holding only the dims a structure-path call's arguments bound (`_unify`'s
    binder): it serves as the body's memo, and gets its return's fields (set by the generated
    wrapper) once the return was accepted."""
    entry = Entry.__new__(Entry)
    entry.single, entry.variadic = bound
    entry.pytree = {}
    return entry


class _NoTensor:
    """The accepted return's class in an entry whose return was not a tensor."""


class _Omitted:
    """The type of `OMITTED`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<omitted>"


#: What a wrapper passes for a parameter the call left out whose default its hint rejects
#: (`alpha: float = None`): the reference checks only the arguments a call passes, so the
#: full check leaves such a parameter out, and its key tells it from an explicit value.
OMITTED: Any = _Omitted()


_caches: "weakref.WeakSet[VerdictCache]" = weakref.WeakSet()
#: Guards `_caches`, at decoration and in `clear_all` only: never during a checked call.
_caches_lock = threading.Lock()


class VerdictCache:
    """A bounded, thread-safe LRU map from accepted call signatures to `Entry`.

    `last` holds the most recently used (key, entry): a call with the same signature as the
    call before it compares two tuples and touches nothing else. Keys hold no tensors and
    no objects that compare by value in surprising ways (see `value_key`), so that
    comparison never runs a tensor's `==`.

    Nothing here takes a lock, so that a signal handler or a finalizer that makes a checked
    call in the middle of another one can never wait for itself. Each step (a dict lookup,
    store, `move_to_end` or `popitem`, an attribute read or write) is atomic under the GIL:
    a key evicted between lookup and move makes that call a miss, a store that meets a
    concurrent change is dropped (the next call of that signature is a miss again), and two
    racing evictions only drop one more entry. Every write goes through `put` and `clear`.
    """

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self.data: collections.OrderedDict[Any, Entry] = collections.OrderedDict()
        self.last: tuple[Any, Entry | None] = (None, None)
        with _caches_lock:
            _caches.add(self)

    def get(self, key: Any) -> Entry | None:
        data = self.data
        entry = data.get(key)
        if entry is not None:
            try:
                data.move_to_end(key)
            except KeyError:
                pass
            self.last = (key, entry)
        return entry

    def put(self, key: Any, entry: Entry) -> None:
        data = self.data
        try:
            data[key] = entry
            data.move_to_end(key)
            while len(data) > self.maxsize:
                data.popitem(last=False)
        except (KeyError, RuntimeError):
            # Another thread, or a handler that interrupted this one, changed `data`
            # meanwhile: the entry may be gone, which costs one more miss.
            pass
        self.last = (key, entry)

    def clear(self) -> None:
        self.data.clear()
        self.last = (None, None)

    def __len__(self) -> int:
        return len(self.data)


def clear_all() -> None:
    """Empty every verdict cache in the process (the structures the full check accepted stay):
    the next call of each signature is a miss, as the first call with each shape is."""
    with _caches_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()


def _reinit_locks_after_fork() -> None:
    # The parent's other threads are gone in the child: a lock one of them held would stay
    # held for good. No other thread runs yet, so making new ones is safe.
    global _caches_lock
    _caches_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_locks_after_fork)


# --- keys ------------------------------------------------------------------------------

#: Immutable values that compare equal only to values of the same meaning within one type.
_ATOMS = frozenset(
    {
        int,
        float,
        bool,
        str,
        bytes,
        complex,
        type(None),
        type(Ellipsis),
        torch.dtype,
        torch.device,
        _Omitted,
    }
)


def tensor_key(value: torch.Tensor) -> tuple[Any, Any, Any]:
    return (type(value), value.shape, value.dtype)


def value_key(value: Any) -> Any:
    """The key of a value that a hint reads. Raises TypeError when it can't be keyed safely."""
    t = type(value)
    if t in _ATOMS or isinstance(value, enum.Enum):
        return (t, value)
    if t is tuple:
        return (tuple, tuple([value_key(v) for v in value]))
    if isinstance(value, torch.Tensor):
        return tensor_key(value)
    raise TypeError(f"a {t.__name__} is not keyed by value")


def expr_key(value: Any) -> Any:
    """The key of an `{expr}` value: jaxtyping formats it into the dim, so a tensor (whose
    format is its value) is never keyed."""
    if isinstance(value, torch.Tensor):
        raise TypeError("a tensor in a dim expression is not keyed")
    return value_key(value)


def return_key(value: Any) -> Any:
    """What a hit compares a return by, for a return hint of kind `VALUE`."""
    if isinstance(value, torch.Tensor):
        return tensor_key(value)
    t = type(value)
    if t is tuple:
        return (tuple, tuple([return_key(v) for v in value]))
    if isinstance(value, tuple):
        return object()  # a tuple subclass: equal to no accepted key, so checked again
    return t


def mixed_key(value: Any) -> Any:
    """Key of an argument whose hint is a union of tensor hints and type-only hints."""
    if isinstance(value, torch.Tensor):
        return tensor_key(value)
    return type(value)


# --- what a hint reads -----------------------------------------------------------------

# How a parameter contributes to the signature. `TESTED`: not at all, beartype's tester
# decides it on every call (a hint without arrays that no key captures). `ITEMS`: a list or
# tuple of tensors of one hint, by `items_key`. `ALWAYS` (returns only): beartype checks the
# return of every call. `EITHER`: a union of tensor hints and hints that mention no array
# and take no tensor (`Union[str, List[str], Int[Tensor, "b s"]]`): a tensor is keyed as
# `MIXED` keys it; any other value is tested against the other hints on every call, and
# keyed by its type.
SKIP, TENSOR, OPTIONAL_TENSOR, MIXED, TYPE, VALUE, NEVER, TESTED, ALWAYS, ITEMS, EITHER = range(11)

_ABCMeta = type(collections.abc.Sized)


#: What `isinstance` runs for a class whose metaclass leaves it alone: it reads the type.
_TYPE_CHECKS = (type.__instancecheck__, _ABCMeta.__instancecheck__)


def type_only(hint: Any) -> bool:
    """True if beartype's verdict on a value of this plain-class hint depends on its type only.

    `isinstance` against a class whose metaclass is `type` or `ABCMeta`, or a metaclass that
    keeps their `__instancecheck__` (`torch.Tensor`'s), looks at the type; protocols,
    jaxtyping's array types and other metaclasses (`nn.Parameter`'s, which asks the value)
    may look at the value.
    """
    if hint is None or hint is type(None):
        return True
    if not isinstance(hint, type) or type(hint).__instancecheck__ not in _TYPE_CHECKS:
        return False
    return not getattr(hint, "_is_protocol", False)


def _plain_literal(hint: Any) -> bool:
    """A `Literal` of values a `value_key` captures (ints, strings, enum members...)."""
    return all(type(a) in _ATOMS or isinstance(a, enum.Enum) for a in typing.get_args(hint))


def _value_hint(hint: Any) -> bool:
    """True if beartype checks all of a value against this hint, deterministically, and a
    `value_key` captures everything it reads."""
    if type_only(hint) or is_torch_array_hint(hint):
        return True
    origin = typing.get_origin(hint)
    if origin is Literal:
        return _plain_literal(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_value_hint(h) for h in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        # `tuple[int, ...]`: beartype checks one random item per call.
        return Ellipsis not in args and args != ((),) and all(_value_hint(h) for h in args)
    return False


def param_kind(hint: Any) -> int:
    if hint is None or hint is Any or hint is object:
        return SKIP
    if is_torch_array_hint(hint):
        return TENSOR
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _unkeyed(hint)  # beartype validators may look at anything
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(hint)
        tensors = [m for m in members if is_torch_array_hint(m)]
        others = [m for m in members if not is_torch_array_hint(m)]
        if not all(type_only(m) for m in others):
            if _value_hint(hint):
                return VALUE
            return EITHER if tensors and either_part(hint) is not None else _unkeyed(hint)
        if not tensors:
            return TYPE
        if others == [type(None)]:
            return OPTIONAL_TENSOR
        return MIXED
    if type_only(hint):
        return TYPE
    return VALUE if _value_hint(hint) else _unkeyed(hint)


def either_part(hint: Any) -> Any:
    """Of a union of tensor hints and others, the union of the others, where each of them
    is None, a `Literal` of plain values, or a class (or a generic of one, `list[str]`) that
    no tensor is an instance of: then a tensor's verdict is the tensor hints', and any other
    value's is this part's. Else None."""
    others = [m for m in typing.get_args(hint) if not is_torch_array_hint(m)]
    if not others or not all(_takes_no_tensor(m) for m in others):
        return None
    return others[0] if len(others) == 1 else typing.Union[tuple(others)]  # noqa: UP007


def _takes_no_tensor(hint: Any) -> bool:
    if hint is None or hint is type(None):
        return True
    origin = typing.get_origin(hint)
    if origin is Literal:
        return _plain_literal(hint)
    cls = origin if origin is not None else hint
    if not isinstance(cls, type) or getattr(cls, "_is_protocol", False):
        return False
    # `binds_names` reads the generic's arguments too (`list[Float[Tensor, "n"]]`).
    return not (binds_names(hint) or issubclass(torch.Tensor, cls))


def _unkeyed(hint: Any) -> int:
    """The kind of a hint no key captures: `TESTED` where checking it reads and binds no
    name on jaxtyping's memo (`binds_names`: no array, no `PyTree[..., "T"]`); `ITEMS` for
    `list[Float[Tensor, ...]]`, `Sequence[...]`,
    `tuple[..., ...]` and `dict[str, ...]` of one tensor hint; else `NEVER`."""
    if not binds_names(hint):
        return TESTED
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (list, collections.abc.Sequence) and len(args) == 1:
        item = args[0]
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = args[0]
    elif origin in (dict, collections.abc.Mapping) and len(args) == 2 and type_only(args[0]):
        item = args[1]
    else:
        return NEVER
    return ITEMS if is_torch_array_hint(item) else NEVER


def items_key(value: Any) -> Any:
    """The key of a list, tuple or dict of tensors whose hint holds one tensor hint (`ITEMS`).

    beartype checks one item of it (and a dict's key, against a hint that reads its type),
    and binds that item's dims: where every item has the same class, shape and dtype (and
    every key the same class), any item gives the same verdict and the same dims, so the key
    is the container's type and that one item key. None otherwise (another container, items
    that differ, an item that is no tensor): the full check then samples, as the reference
    does. (None, not an exception: a call with such a list is common, and raising costs it a
    tenth of the check.)
    """
    t = type(value)
    if t is dict:
        if not value:
            return (t, None)
        keys = iter(value)
        key_class = next(keys).__class__
        for k in keys:
            if k.__class__ is not key_class:
                return None
        same = _same_tensors(list(value.values()))
        return None if same is None else (t, key_class, same)
    if t is not list and t is not tuple:
        return None
    if not value:
        return (t, None)
    same = _same_tensors(value)
    return None if same is None else (t, same)


def _same_tensors(items: Any) -> Any:
    """The one (class, shape, dtype) of `items` (not empty), or None where they differ."""
    first = items[0]
    if not isinstance(first, torch.Tensor):
        return None
    cls, shape, dtype = first.__class__, first.shape, first.dtype
    for item in items:
        if item.__class__ is not cls or item.dtype is not dtype or item.shape != shape:
            return None
    return (cls, shape, dtype)


def return_kind(hint: Any) -> int:
    """How a hit checks the return: not at all, `TENSOR`, `VALUE` (by `return_key`), or
    `ALWAYS` (beartype, when the verdict may depend on more than `return_key`)."""
    if hint is inspect.Signature.empty or hint is Any or hint is object:
        return SKIP
    if is_torch_array_hint(hint):
        return TENSOR
    return VALUE if _simple_return(hint) else ALWAYS


def _simple_return(hint: Any) -> bool:
    """True if beartype's verdict on a value of this hint depends only on `return_key`."""
    if hint is inspect.Signature.empty or hint is Any:
        return True
    if is_torch_array_hint(hint) or type_only(hint):
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_simple_return(h) for h in typing.get_args(hint))
    if origin is tuple:
        args = typing.get_args(hint)
        return Ellipsis not in args and all(_simple_return(h) for h in args)
    return False


def key_of(kind: int, value: Any) -> Any:
    """One argument's part of a signature (the generic wrapper's version of the generated
    code). Raises when the value can't be keyed; the call then takes the full check."""
    if kind == TENSOR:
        return tensor_key(value)
    if kind == OPTIONAL_TENSOR:
        return None if value is None else tensor_key(value)
    if kind == MIXED or kind == EITHER:
        return mixed_key(value)
    if kind == TYPE:
        return type(value)
    if kind == VALUE:
        return value_key(value)
    if kind == ITEMS:
        key = items_key(value)
        if key is None:
            raise TypeError("a list of tensors that differ is not keyed")
        return key
    if kind == NEVER:
        raise TypeError("never cached")
    return None  # SKIP, and TESTED (`_Checked.key` tests it)
