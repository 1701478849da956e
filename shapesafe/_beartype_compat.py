"""beartype's tester for one hint, made once, so that a checked call takes no lock.

`beartype.door.is_bearable(value, hint)` looks its generated tester up in a cache guarded by
a non-reentrant `threading.Lock` on every call. A signal handler (or a finalizer) that makes
a checked call while the interrupted code is inside that lock would wait for it forever. So
each hint's tester is made once, at decoration, and called directly: it is the very
function `is_bearable` would call, without the lookup.

The factory is private to beartype; where it is missing, or can't make a tester for a hint
(a relative forward reference, say), `is_bearable` itself is used, as before.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import functools
import types
import typing
from collections.abc import Callable
from typing import Any

from beartype.door import is_bearable

try:
    from beartype._check.make.checkmakefunc import make_code_tester_check
    from beartype._conf.confcommon import BEARTYPE_CONF_DEFAULT
    from beartype.door._func.doorfunc import _func_tester_factory
except ImportError:  # pragma: no cover - another beartype layout
    _make: Callable[[Any], Callable[[object], bool]] | None = None
else:

    def _make_tester(hint: Any) -> Callable[[object], bool]:
        made: Callable[[object], Any] = _func_tester_factory.cache_func_checker(
            hint, BEARTYPE_CONF_DEFAULT, "is_bearable() ", make_code_tester_check
        )
        return made

    _make = _make_tester

try:
    from beartype._data.func.datafunc import METHOD_NAMES_DUNDER_BINARY
except ImportError:  # pragma: no cover - another beartype layout
    METHOD_NAMES_DUNDER_BINARY = frozenset()


def tester(hint: Any) -> Callable[[object], bool]:
    """A function `value -> bool` with `is_bearable(value, hint)`'s verdict, which takes no
    lock when called."""
    if _make is not None:
        try:
            return _make(hint)
        except Exception:
            pass  # is_bearable raises the same error on each call, as it did before
    return functools.partial(_is_bearable, hint=hint)


def _is_bearable(value: object, hint: Any) -> bool:
    return bool(is_bearable(value, hint))


def return_hint(name: str | None, hint: Any) -> Any:
    """The return hint beartype checks for a function named `name`: a binary dunder
    (`__mul__`, `__eq__`) may also return `NotImplemented`."""
    if name in METHOD_NAMES_DUNDER_BINARY and hint is not Any:
        return typing.Union[hint, types.NotImplementedType]  # noqa: UP007 - any hint
    return hint
