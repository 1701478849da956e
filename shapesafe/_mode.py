"""Check or off: the process default, and `mode()` blocks scoped like `torch.no_grad`.

`SHAPESAFE_MODE` is read once, when shapesafe's runtime is first used (this module is
imported with `checked` and the ops, not with the package), and a bad value is a
`ValueError` then: a project that never uses shapesafe but has it installed (pytest loads its
plugin) is not broken by it. `set_mode` sets the process default; `mode()` overrides it in
the current thread or async task only (a ContextVar), so overlapping blocks in two threads
never leave each other's checks off.

Wrappers read module-level flags on every call: `fast_check`, True while the default is
"check" and no `mode()` block was ever entered, then `fast_off`, True while the default is
"off" and no block was ever entered. When neither holds they ask `checking()`, which reads
the ContextVar. Verdicts don't depend on the mode, so a mode change clears nothing.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable, Iterator
from typing import Literal

Mode = Literal["check", "off"]
MODES: tuple[Mode, ...] = ("check", "off")

_raw = os.environ.get("SHAPESAFE_MODE", "check").strip().lower() or "check"
if _raw not in MODES:
    raise ValueError(f"SHAPESAFE_MODE must be one of {MODES}, got {_raw!r}")
ENV_MODE: Mode = _raw
#: With SHAPESAFE_MODE=off at import, `checked` hands back the undecorated function.
DISABLED_AT_IMPORT = ENV_MODE == "off"

_default: Mode = ENV_MODE
_scope: contextvars.ContextVar[Mode | None] = contextvars.ContextVar("shapesafe_mode", default=None)
#: The mode of the innermost `mode()` block active in this context, or None (the generated
#: wrappers call it directly: `checking()` without the calls around it).
scope_get = _scope.get
#: Set once any `mode()` block is entered: from then on the ContextVar must be read.
_scoped = False
_lock = threading.Lock()
#: Called with `(fast_check, fast_off)` whenever they change (the generated wrappers'
#: namespace keeps its own copies, read as globals).
_listeners: list[Callable[[bool, bool], None]] = []
fast_check = _default == "check"
fast_off = _default == "off"


def _refresh() -> None:
    global fast_check, fast_off
    fast_check = _default == "check" and not _scoped
    fast_off = _default == "off" and not _scoped
    for listener in _listeners:
        listener(fast_check, fast_off)


def add_listener(listener: Callable[[bool, bool], None]) -> None:
    """Call `listener(fast_check, fast_off)` now and whenever they change."""
    with _lock:
        _listeners.append(listener)
        listener(fast_check, fast_off)


def _reinit_lock_after_fork() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_lock_after_fork)


def checking() -> bool:
    """True when checks run in the current thread and async context."""
    if not _scoped:
        return _default == "check"
    scoped = _scope.get()
    return (_default if scoped is None else scoped) == "check"


def default_checking() -> bool:
    """True when the process default is "check" (what code compiled by dynamo follows: it
    can't read a ContextVar, so a `mode()` block does not reach into a compiled graph)."""
    return _default == "check"


def get_mode() -> Mode:
    """The current mode in this thread and async context: `"check"` or `"off"`."""
    scoped = _scope.get()
    return _default if scoped is None else scoped


def _validate(new: object) -> Mode:
    if new not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {new!r}")
    if new == "check" and DISABLED_AT_IMPORT:
        raise RuntimeError(
            "shapesafe cannot check: SHAPESAFE_MODE=off was set when it was imported, so "
            "`checked` returned every function undecorated. Unset SHAPESAFE_MODE (or set it "
            "to 'check') and restart the process to check shapes."
        )
    return new


def set_mode(new: Mode) -> None:
    """Set the process default: checks on (`"check"`) or off (`"off"`).

    A `mode()` block active in some thread or task keeps its own mode there. Verdict caches
    are kept: verdicts don't depend on the mode.

    **Raises:**

    `ValueError` for an unknown mode; `RuntimeError` for `"check"` after
    `SHAPESAFE_MODE=off` at import, which removed the checks for good.
    """
    global _default
    mode_ = _validate(new)
    with _lock:
        _default = mode_
        _refresh()


@contextlib.contextmanager
def mode(new: Mode) -> Iterator[None]:
    """Use a mode inside a `with` block, in this thread and async context only."""
    global _scoped
    mode_ = _validate(new)
    if not _scoped:
        with _lock:
            _scoped = True
            _refresh()
    token = _scope.set(mode_)
    try:
        yield
    finally:
        _scope.reset(token)
