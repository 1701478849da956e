"""Check a whole package: every function, method and dataclass with jaxtyping annotations.

A finder at the front of `sys.meta_path` hands each module under the listed packages to a
loader that runs the module as usual and then replaces, in the module's namespace and in the
classes it defines, each function whose annotations mention a jaxtyping array type with
`checked(function)`. Everything else (unannotated functions, functions defined elsewhere and
imported, non-function objects) keeps its identity.

`async def` functions are left alone. The rewrite happens after the module's body has run,
so calls made while the module itself is being imported are not checked, and a reference
taken during that time (a registry dict, a decorator that stores the function) keeps the
unchecked function.

Nothing heavy is imported here: torch and the decorator are imported with the first module
that is rewritten.
"""

import importlib.abc
import importlib.machinery
import inspect
import os
import sys
import threading
import types
import typing
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from ._array_hints import mentions_array

ENV_PACKAGES = "SHAPESAFE_PACKAGES"

_lock = threading.Lock()


def split_names(text: str | Iterable[str]) -> tuple[str, ...]:
    """`"a, b.c"` or `["a", "b.c"]` as `("a", "b.c")`, checking that each is a dotted name."""
    raw = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(dict.fromkeys(n.strip() for n in raw if n.strip()))
    for name in names:
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"not a package name: {name!r}")
    return names


def _covers(packages: Sequence[str], module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def imported_already(packages: Sequence[str]) -> list[str]:
    """The modules under `packages` that are already imported and finished importing."""
    found = []
    for name, module in list(sys.modules.items()):
        if module is None or not _covers(packages, name):
            continue
        spec = getattr(module, "__spec__", None)
        # importlib marks a module whose body is still running: a package that calls
        # `check_package(__name__)` in its own `__init__` is not "already imported".
        if not getattr(spec, "_initializing", False):
            found.append(name)
    return sorted(found)


class ImportHook:
    """An installed import hook; also a context manager that uninstalls it on exit."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = tuple(packages)
        self._finder = _Finder(self.packages)
        with _lock:
            sys.meta_path.insert(0, self._finder)

    def uninstall(self) -> None:
        """Stop checking modules imported from now on (those already checked stay checked)."""
        with _lock:
            if self._finder in sys.meta_path:
                sys.meta_path.remove(self._finder)

    def __enter__(self) -> "ImportHook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        return f"ImportHook({', '.join(self.packages)})"


def install_import_hook(*packages: str) -> ImportHook:
    """Check every annotated function, method and dataclass of the modules under `packages`.

    Each module under one of `packages` that is imported while the hook is installed gets,
    after its body has run, `checked` on each function and method defined in it whose
    annotations mention a jaxtyping array type (`Float[Tensor, "b n"]`), including a
    dataclass's generated `__init__`. Unannotated code is untouched.

    ```python
    with shapesafe.install_import_hook("my_model"):
        import my_model
    ```

    **Arguments:**

    - `packages`: dotted names of packages or modules; a name covers its submodules.

    **Returns:**

    The installed hook. It is a context manager that uninstalls it on exit; without `with`,
    call its `uninstall()`.
    """
    names = split_names(packages)
    if not names:
        raise ValueError("install_import_hook() needs at least one package name")
    return ImportHook(names)


def check_package(name: str) -> ImportHook:
    """Check the package `name` from its own `__init__.py`: call it before the imports there.

    ```python
    # my_model/__init__.py
    import shapesafe

    shapesafe.check_package(__name__)
    from .layers import Attention  # checked
    ```

    The submodules imported after the call are checked as `install_import_hook` checks
    them, for the rest of the process. The functions defined in `__init__.py` itself are
    not: decorate those with `checked`.
    """
    return install_import_hook(name)


def install_from_environment() -> ImportHook | None:
    """`SHAPESAFE_PACKAGES=pkg1,pkg2`: the hook for those packages, installed for good."""
    names = split_names(os.environ.get(ENV_PACKAGES, ""))
    if not names:
        return None
    late = imported_already(names)
    if late:
        warnings.warn(
            f"{ENV_PACKAGES}: {', '.join(late)} was imported before shapesafe, so it is not "
            "checked; import shapesafe first",
            RuntimeWarning,
            stacklevel=3,
        )
    return ImportHook(names)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = packages

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if not _covers(self.packages, fullname):
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _Finder):
                continue
            find = getattr(finder, "find_spec", None)
            spec: importlib.machinery.ModuleSpec | None = (
                None if find is None else find(fullname, path, target)
            )
            if spec is not None:
                loader = spec.loader
                if isinstance(loader, importlib.abc.Loader) and hasattr(loader, "exec_module"):
                    spec.loader = _Loader(loader)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    """Runs the module with its own loader, then checks what it defines."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._inner.exec_module(module)
        check_module(module)

    def __getattr__(self, name: str) -> Any:
        # get_data, get_source, get_resource_reader, is_package, ...
        return getattr(self._inner, name)


def check_module(module: types.ModuleType) -> int:
    """Apply `checked` to what `module` defines; returns how many functions got it."""
    from ._checked import checked

    done: dict[int, Any] = {}  # one wrapper per function, so aliases stay aliases
    count = 0

    def wrap(fn: Any) -> Any:
        nonlocal count
        key = id(fn)
        if key not in done:
            done[key] = checked(fn)
            count += 1
        return done[key]

    def visit_class(cls: type, seen: set[int]) -> None:
        if id(cls) in seen:
            return
        seen.add(id(cls))
        for attr, value in list(vars(cls).items()):
            if isinstance(value, type) and _defined_in(value, module):
                visit_class(value, seen)
                continue
            fn = _underlying(value)
            if fn is not None and _defined_in(fn, module) and _annotated(fn):
                setattr(cls, attr, wrap(value))

    seen: set[int] = set()
    for attr, value in list(vars(module).items()):
        if isinstance(value, type) and _defined_in(value, module):
            visit_class(value, seen)
        elif isinstance(value, types.FunctionType):
            if _defined_in(value, module) and _annotated(value):
                setattr(module, attr, wrap(value))
    return count


def _underlying(value: Any) -> types.FunctionType | None:
    """The plain function behind a class attribute, or None for anything else."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    elif isinstance(value, property):
        value = value.fget
    return value if isinstance(value, types.FunctionType) else None


def _defined_in(obj: Any, module: types.ModuleType) -> bool:
    """Defined by this module (a dataclass's `__init__` counts), not imported into it."""
    if getattr(obj, "__shapesafe__", None) is not None:
        return False  # already checked
    return getattr(obj, "__module__", None) == module.__name__


def _annotated(fn: types.FunctionType) -> bool:
    """Whether an annotation of `fn` mentions a jaxtyping array type anywhere in it.

    `async def` functions are left alone: `checked` would take the coroutine for the return
    value.
    """
    raw = getattr(fn, "__annotations__", None)
    if not raw or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return False
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:
        hints = dict(raw)
    return any(mentions_array(h) for h in hints.values())
