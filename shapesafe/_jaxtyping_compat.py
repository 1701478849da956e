"""Every touch of jaxtyping's private storage, in one place, checked against its version.

jaxtyping keeps the dims bound in each `jaxtyped` scope on a per-thread stack of memos
`(single, variadic, pytree, arguments)` (`jaxtyping._storage`). A cache hit pushes the dims
that the full check bound onto the same stack, so `isinstance(y, Float[Tensor, "b n"])` and
nested beartype functions in the body see what they would see after the full check; the
error path pushes the call's arguments to re-check hints the way the reference did.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import importlib.metadata
from collections.abc import Callable
from typing import Any

from jaxtyping import _storage

#: The jaxtyping releases whose `_storage` layout this module was written against.
SUPPORTED = ((0, 3, 0), (0, 4, 0))


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


JAXTYPING_VERSION = importlib.metadata.version("jaxtyping")
if not (SUPPORTED[0] <= _version(JAXTYPING_VERSION) < SUPPORTED[1]):
    raise ImportError(
        f"shapesafe supports jaxtyping >=0.3,<0.4 (it reads jaxtyping's dim storage); "
        f"jaxtyping {JAXTYPING_VERSION} is installed"
    )
if not (
    hasattr(_storage, "_shape_storage")
    and callable(getattr(_storage, "get_shape_memo", None))
    and callable(getattr(_storage, "push_shape_memo", None))
    and callable(getattr(_storage, "pop_shape_memo", None))
):
    raise ImportError(
        f"jaxtyping {JAXTYPING_VERSION}: its dim storage is not where shapesafe reads it"
    )

memo_storage: Any = _storage._shape_storage
get_shape_memo: Callable[[], tuple[dict[str, Any], dict[str, Any], Any, Any]] = (
    _storage.get_shape_memo
)
push_shape_memo: Callable[[dict[str, Any]], Any] = _storage.push_shape_memo
pop_shape_memo: Callable[[], None] = _storage.pop_shape_memo

# The first item of a hit's entry on jaxtyping's memo stack, until something reads it.
PENDING = object()


class MemoStack(list):  # type: ignore[type-arg]
    """jaxtyping's per-thread memo stack, with lazily built entries for cache hits.

    jaxtyping only reads the top with `stack[-1]`, so a hit pushes a cheap tuple
    `(PENDING, entry, names, *values)` and the memo (fresh copies of the bound dims and the
    call's arguments) is built the first time jaxtyping asks for it, if ever. `entry` is
    anything with `single`, `variadic` and `pytree` dicts.
    """

    #: How many pending memos were built so far. A hit compares it before and after the
    #: body: if its memo was read, the body may have bound new dims, which the return must
    #: then be checked against.
    built = 0

    def __getitem__(self, index: Any) -> Any:
        item = list.__getitem__(self, index)
        if type(item) is tuple and item and item[0] is PENDING:
            self.built += 1
            entry = item[1]
            names: tuple[str, ...] = item[2]
            item = (
                dict(entry.single),
                dict(entry.variadic),
                dict(entry.pytree),
                dict(zip(names, item[3:], strict=True)),
            )
            list.__setitem__(self, index, item)
        return item


def adopt_memo_stack(stack: list[Any]) -> MemoStack:
    """Swap this thread's plain memo list for a `MemoStack` with the same items.

    jaxtyping looks the stack up again on every push, pop, read and write, so the swap is
    safe even inside an active `jaxtyped` scope.
    """
    new = MemoStack(stack)
    memo_storage.memo_stack = new
    return new


def memo_stack() -> list[Any]:
    """This thread's memo stack, created if absent."""
    try:
        stack: list[Any] = memo_storage.memo_stack
    except AttributeError:
        stack = memo_storage.memo_stack = MemoStack()
    return stack
