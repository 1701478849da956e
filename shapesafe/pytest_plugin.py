"""`pytest --shapesafe-packages=pkg1,pkg2`: run a test suite with those packages checked.

Registered through the `pytest11` entry point, so it is active wherever shapesafe is
installed. Without the option it only adds the option: this module imports nothing but the
standard library, pytest and shapesafe's `__init__` (which imports no runtime and doesn't
read `SHAPESAFE_MODE`), and torch is imported only once a listed package is.

In every run, the report of a ShapeError leaves out the frames of torch's `Module.__call__`
(see `_DISPATCH`).

With the option, the run's header says which packages are checked. Every mistake is a usage
error (exit status 4), as the run would otherwise pass with nothing checked:

- a name that isn't a package name;
- a package that doesn't exist (looked for once the `conftest.py` files are loaded, since
  they may put it on `sys.path`), named with a close match if there is one;
- a listed package, or one of its modules, that is already imported when the hook is
  installed, before the `conftest.py` files load (by another plugin, or by `-p`).
"""

import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._import_hook import ImportHook

OPTION = "--shapesafe-packages"
INI = "shapesafe_packages"
OTHER_OPTION = "--shapesafe-other-hints"
OTHER_INI = "shapesafe_other_hints"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("shapesafe")
    group.addoption(
        OPTION,
        dest="shapesafe_packages",
        default=None,
        metavar="PKG1,PKG2",
        help="check the jaxtyping annotations of every function in these packages "
        "(shapesafe's import hook)",
    )
    group.addoption(
        OTHER_OPTION,
        dest="shapesafe_other_hints",
        default=None,
        choices=("on", "off"),
        help="with --shapesafe-packages: give functions whose hints mention no array type "
        "beartype's check (on, the default) or leave them alone (off)",
    )
    parser.addini(INI, "packages to check with shapesafe's import hook (comma separated)")
    parser.addini(OTHER_INI, "on or off: beartype's check for functions without array hints")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    raw = early_config.known_args_namespace.shapesafe_packages
    if raw is None:
        raw = early_config.getini(INI) or ""
    if not raw.strip():
        return

    from ._import_hook import ImportHook, imported_already, split_names, too_early

    try:
        names = split_names(raw)
    except ValueError as err:
        raise pytest.UsageError(f"{OPTION}: {err}") from None
    if not names:
        return
    other = early_config.known_args_namespace.shapesafe_other_hints
    if other is None:
        other = (early_config.getini(OTHER_INI) or "on").strip().lower()
    if other not in ("on", "off"):
        raise pytest.UsageError(f"{OTHER_INI}: expected 'on' or 'off', got {other!r}")
    late = imported_already(names)
    if late:
        raise pytest.UsageError(
            too_early(
                OPTION,
                late,
                "The checks would silently not run. Find what imports it first (a pytest "
                "plugin, `-p`, or `python -c` code) and drop it, or use "
                "shapesafe.check_package in the package itself.",
            )
        )
    early_config.stash[_HOOK] = ImportHook(names, other_hints=other == "on")


def pytest_configure(config: pytest.Config) -> None:
    hook = config.stash.get(_HOOK, None)
    if hook is None:
        return
    from ._import_hook import _announce, missing, unknown

    for name in missing(hook.packages):
        hook.uninstall()
        raise pytest.UsageError(unknown(OPTION, name))
    _announce(OPTION, hook.packages, hook.other_hints)


def pytest_report_header(config: pytest.Config) -> str | None:
    hook = config.stash.get(_HOOK, None)
    if hook is None:
        return None
    others = "; beartype for other hints" if hook.other_hints else ""
    return f"shapesafe: checking {', '.join(hook.packages)} (import hook{others})"


def pytest_unconfigure(config: pytest.Config) -> None:
    hook = config.stash.get(_HOOK, None)
    if hook is not None:
        hook.uninstall()


_HOOK: pytest.StashKey["ImportHook"] = pytest.StashKey()

# torch's modules that only pass a call on: `Module.__call__` and its helpers. Their frames hold
# the call's arguments, which `--showlocals` would print as tensor values, and end the report
# with a torch line instead of the user's. They are left out of the report of a ShapeError.
_DISPATCH = ("torch.nn.modules.module",)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    hidden = _hide_dispatch(call.excinfo)
    try:
        yield
    finally:
        for module in hidden:
            module.__dict__.pop("__tracebackhide__", None)


def _hide_dispatch(excinfo: pytest.ExceptionInfo[BaseException] | None) -> list[Any]:
    """Mark torch's dispatch modules hidden while pytest writes the report of a ShapeError
    (pytest leaves out a frame whose globals hold a true `__tracebackhide__`)."""
    errors = sys.modules.get("shapesafe._errors")
    if excinfo is None or errors is None or not isinstance(excinfo.value, errors.ShapeError):
        return []
    hidden = []
    for name in _DISPATCH:
        module = sys.modules.get(name)
        if module is not None and "__tracebackhide__" not in module.__dict__:
            module.__dict__["__tracebackhide__"] = True
            hidden.append(module)
    return hidden
