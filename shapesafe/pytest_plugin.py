"""`pytest --shapesafe-packages=pkg1,pkg2`: run a test suite with those packages checked.

Registered through the `pytest11` entry point, so it is active wherever shapesafe is
installed. Without the option it only adds the option: this module imports nothing but the
standard library and pytest, and torch is imported only once a listed package is.

The hook is installed before conftest files are loaded. A listed package that is already
imported by then (by another plugin, or by `-p`) can't be checked any more, which is an error
rather than a silently unchecked run.
"""

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._import_hook import ImportHook

OPTION = "--shapesafe-packages"
INI = "shapesafe_packages"


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
    parser.addini(INI, "packages to check with shapesafe's import hook (comma separated)")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    raw = early_config.known_args_namespace.shapesafe_packages
    if raw is None:
        raw = early_config.getini(INI) or ""
    if not raw.strip():
        return

    from ._import_hook import ImportHook, imported_already, split_names

    try:
        names = split_names(raw)
    except ValueError as err:
        raise pytest.UsageError(f"{OPTION}: {err}") from None
    if not names:
        return
    late = imported_already(names)
    if late:
        shown = ", ".join(late[:5]) + (", ..." if len(late) > 5 else "")
        raise pytest.UsageError(
            f"{OPTION}: {shown} {'was' if len(late) == 1 else 'were'} imported before shapesafe "
            "could install its import hook, so the checks would silently not run. Find what "
            "imports it first (a pytest plugin, `-p`, or `python -c` code) and drop it, or use "
            "shapesafe.check_package in the package itself."
        )
    early_config.stash[_HOOK] = ImportHook(names)


def pytest_unconfigure(config: pytest.Config) -> None:
    hook = config.stash.get(_HOOK, None)
    if hook is not None:
        hook.uninstall()


_HOOK: pytest.StashKey["ImportHook"] = pytest.StashKey()
