"""Check a whole package: every function, method and dataclass with annotations, at definition.

A finder at the front of `sys.meta_path` hands each module under the listed packages, when it
is loaded from a source file, to a loader that rewrites the module's syntax tree before
compiling it: each function defined at module level or in a class body (also inside `if`,
`try` and `with` blocks there) gets one more decorator, the innermost, and each class gets one,
the outermost. So the decorators run where the `def` and `class` statements run, and every
reference the module takes while it runs (an activation table, a registry, a default argument)
is the checked function: one function, one identity, and it pickles.

At definition, the function decorator looks at the annotations:

- one that mentions a jaxtyping array type (`Float[Tensor, "b n"]`): `checked(fn)`;
- only other hints (`int`, `Literal["a"]`, `torch.Tensor`): `beartype(fn)`, as jaxtyping's own
  hook does, unless the hook was installed with `other_hints=False`;
- none, `async def`, `typing.overload` and `typing.no_type_check`: the function itself.

A hint that names something not defined yet (a method's own class, `-> "Op"`, or any name
under `from __future__ import annotations`) can't be read at definition: such a function is
replaced by one that makes that choice at its first call, once the module has run.

A function defined inside another function is decorated only when an annotation of it
looks like an array type in the source (a subscript with a string in it): it is decorated
again at each call of the function around it, which costs milliseconds.

Under typeguard's `@typechecked`, which instruments the function's own code and so must get
the function itself, the decorator is the outermost instead.

The class decorator gives a dataclass's generated `__init__` the same treatment (with
`type.__setattr__`, so a metaclass that forbids setting attributes does not stop it).

The rewritten code is cached in its own `.pyc` (the `opt-shapesafe...` tag), apart from the
plain one, so a module imported once with the hook and once without gets the right code
each time.

Nothing heavy is imported here: torch and the decorator are imported with the first function
that is decorated.
"""

import ast
import difflib
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import logging
import marshal
import os
import pkgutil
import sys
import threading
import types
import typing
import warnings
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._array_hints import mentions_array

ENV_PACKAGES = "SHAPESAFE_PACKAGES"
#: `SHAPESAFE_OTHER_HINTS=off`: with `SHAPESAFE_PACKAGES`, functions whose hints mention no
#: array type are left alone rather than given beartype's check.
ENV_OTHER_HINTS = "SHAPESAFE_OTHER_HINTS"
#: How many module names a message lists before "and N more".
SHOWN = 5

logger = logging.getLogger("shapesafe")

_lock = threading.Lock()
#: The names the rewritten module binds to the two decorators. A module that has the first
#: one was rewritten: it is not "imported too early".
_FUNCTION = "__shapesafe_check__"
_CLASS = "__shapesafe_check_class__"
#: Part of the `.pyc` name of a rewritten module: bump it when the rewrite changes.
_REWRITE_VERSION = 1


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
    """The modules under `packages` that finished importing without the hook's rewrite."""
    found = []
    for name, module in list(sys.modules.items()):
        if module is None or not _covers(packages, name):
            continue
        if _FUNCTION in getattr(module, "__dict__", {}):
            continue  # rewritten by a hook installed earlier: checked
        spec = getattr(module, "__spec__", None)
        # importlib marks a module whose body is still running: a package that calls
        # `check_package(__name__)` in its own `__init__` is not "already imported".
        if not getattr(spec, "_initializing", False):
            found.append(name)
    return sorted(found)


def listing(names: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b, c, d, e and 3 more`: at most `SHOWN` names."""
    if len(names) <= SHOWN:
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{', '.join(names[:SHOWN])} and {len(names) - SHOWN} more"


def too_early(where: str, late: Sequence[str], fix: str) -> str:
    """The message for modules that were imported before the hook was installed."""
    verb = "was" if len(late) == 1 else "were"
    pronoun = "it is" if len(late) == 1 else "they are"
    return (
        f"{where}: {listing(late)} {verb} imported before shapesafe's import hook was "
        f"installed, so {pronoun} not checked. {fix}"
    )


def missing(names: Sequence[str]) -> list[str]:
    """The names among `names` that no finder can find, without importing them."""
    return [name for name in names if not _exists(name)]


def unknown(where: str, name: str) -> str:
    """The message for a package that does not exist, with a close match if there is one."""
    close = _close_match(name)
    hint = f" (did you mean {close!r}?)" if close else ""
    return f"{where}: no module named {name!r}{hint}, so nothing of it would be checked"


def _spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """How `name` would be imported, found as import finds it, without running anything.

    A top-level name is looked up through `sys.meta_path`; a submodule in the folders of the
    package above it (without importing that package).
    """
    module = sys.modules.get(name)
    if module is not None:
        spec: importlib.machinery.ModuleSpec | None = getattr(module, "__spec__", None)
        if spec is None:  # `__main__`, or a module made by hand
            spec = importlib.machinery.ModuleSpec(name, None)
            path = getattr(module, "__path__", None)
            spec.submodule_search_locations = None if path is None else list(path)
        return spec
    parent, _, _ = name.rpartition(".")
    if not parent:
        try:
            return importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
    above = _spec(parent)
    if above is None or not above.submodule_search_locations:
        return None
    return importlib.machinery.PathFinder.find_spec(name, list(above.submodule_search_locations))


def _exists(name: str) -> bool:
    return _spec(name) is not None


def _close_match(name: str) -> str | None:
    """The importable name closest to `name` (a typo's fix), if one is close enough."""
    parent, _, last = name.rpartition(".")
    if parent and not _exists(parent):
        return _close_match(parent)
    if parent:
        above = _spec(parent)
        locations = None if above is None else above.submodule_search_locations
        candidates = [m.name for m in pkgutil.iter_modules(list(locations or []))]
    else:
        candidates = [m.name for m in pkgutil.iter_modules()]
        candidates += [m.partition(".")[0] for m in sys.modules]
    found = difflib.get_close_matches(last, sorted(set(candidates)), n=1)
    if not found:
        return None
    return f"{parent}.{found[0]}" if parent else found[0]


class ImportHook:
    """An installed import hook; also a context manager that uninstalls it on exit."""

    def __init__(self, packages: Sequence[str], other_hints: bool = True) -> None:
        self.packages = tuple(packages)
        self.other_hints = other_hints
        self._finder = _Finder(self.packages, other_hints)
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


def _announce(where: str, names: Sequence[str], other_hints: bool) -> None:
    others = "beartype for other hints" if other_hints else "array hints only"
    logger.info("shapesafe: %s checks %s (%s)", where, ", ".join(names), others)


def install_import_hook(*packages: str, other_hints: bool = True) -> ImportHook:
    """Check every annotated function, method and dataclass of the modules under `packages`.

    Each module under one of `packages` that is imported while the hook is installed is
    rewritten as it is imported, so that each function and method defined in it whose
    annotations mention a jaxtyping array type (`Float[Tensor, "b n"]`) is `checked` where
    it is defined, as if decorated by hand; a dataclass gets its `__init__` checked.
    Functions with other hints only get beartype's check, as under jaxtyping's hook.

    ```python
    with shapesafe.install_import_hook("my_model"):
        import my_model
    ```

    **Arguments:**

    - `packages`: dotted names of packages or modules; a name covers its submodules.
    - `other_hints`: give functions whose hints mention no array type beartype's check
      (the default); `False` leaves them alone.

    **Returns:**

    The installed hook. It is a context manager that uninstalls it on exit; without `with`,
    call its `uninstall()`.

    **Raises:**

    `ModuleNotFoundError` naming a package that doesn't exist (with a close match, if any);
    `RuntimeError` naming the modules under `packages` that were imported before, without
    the hook: they would run unchecked. Nothing is installed then.
    """
    names = split_names(packages)
    if not names:
        raise ValueError("install_import_hook() needs at least one package name")
    where = "shapesafe.install_import_hook"
    for name in missing(names):
        raise ModuleNotFoundError(unknown(where, name), name=name)
    late = imported_already(names)
    if late:
        raise RuntimeError(too_early(where, late, "Install the hook before anything imports them."))
    _announce("install_import_hook", names, other_hints)
    return ImportHook(names, other_hints)


def check_package(name: str, *, other_hints: bool = True) -> ImportHook:
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

    **Raises:**

    `ModuleNotFoundError` for a package that doesn't exist. A submodule imported before the
    call is a `RuntimeWarning` that names it, not an error: an error would break the
    package for every program that imports it, while it works, partly unchecked.
    """
    names = split_names([name])
    where = f"shapesafe.check_package({name!r})"
    for missed in missing(names):
        raise ModuleNotFoundError(unknown(where, missed), name=missed)
    late = imported_already(names)
    if late:
        warnings.warn(
            too_early(where, late, f"Call check_package before the imports in {name}/__init__.py."),
            RuntimeWarning,
            stacklevel=2,
        )
    _announce("check_package", names, other_hints)
    return ImportHook(names, other_hints)


def install_from_environment() -> ImportHook | None:
    """`SHAPESAFE_PACKAGES=pkg1,pkg2`: the hook for those packages, installed for good.

    Every mistake here is a `RuntimeWarning`, not an error: the variable reaches every
    program that imports shapesafe in that environment (tools included), and an error would
    break those that work. A bad or unknown name is left out; a module imported before
    shapesafe stays unchecked.
    """
    raw = os.environ.get(ENV_PACKAGES, "")
    names: list[str] = []
    for part in raw.split(","):
        try:
            names.extend(split_names(part))
        except ValueError as err:
            warnings.warn(f"{ENV_PACKAGES}: {err}; it is left out", RuntimeWarning, stacklevel=3)
    for name in missing(names):
        warnings.warn(unknown(ENV_PACKAGES, name), RuntimeWarning, stacklevel=3)
        names.remove(name)
    if not names:
        return None
    late = imported_already(names)
    if late:
        warnings.warn(
            too_early(ENV_PACKAGES, late, "Import shapesafe before them."),
            RuntimeWarning,
            stacklevel=3,
        )
    other_hints = os.environ.get(ENV_OTHER_HINTS, "").strip().lower() not in ("off", "0")
    _announce(ENV_PACKAGES, names, other_hints)
    return ImportHook(names, other_hints)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self, packages: tuple[str, ...], other_hints: bool) -> None:
        self.packages = packages
        self.other_hints = other_hints

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
            if spec is None:
                continue
            loader = spec.loader
            if isinstance(loader, importlib.machinery.SourceFileLoader):
                ours = _Loader(loader.name, loader.path, self.other_hints)
                spec.loader = ours
                if spec.cached is not None:
                    spec.cached = ours.cache_path(loader.path)  # the module's `__cached__`
            return spec
        return None


class _Loader(importlib.machinery.SourceFileLoader):
    """Loads a source file as `SourceFileLoader` does, with the decorators added."""

    def __init__(self, fullname: str, path: str, other_hints: bool) -> None:
        super().__init__(fullname, path)
        self.other_hints = other_hints
        kind = "a" if other_hints else "j"
        self.tag = f"shapesafe{_REWRITE_VERSION}{kind}{sys.flags.optimize}"

    def source_to_code(  # type: ignore[override]
        self, data: bytes, path: str, *, _optimize: int = -1
    ) -> types.CodeType:
        source = importlib.util.decode_source(data)
        tree = ast.parse(source, path)
        rewrite(tree, self.other_hints)
        code: types.CodeType = compile(tree, path, "exec", dont_inherit=True, optimize=_optimize)
        return code

    def cache_path(self, source_path: str) -> str | None:
        """Where the rewritten code of `source_path` is cached: its own `.pyc` name."""
        try:
            return importlib.util.cache_from_source(source_path, optimization=self.tag)
        except NotImplementedError:  # no cache tag on this interpreter
            return None

    def get_code(self, fullname: str) -> types.CodeType:
        """The rewritten module's code, from its own `.pyc` when that is fresh."""
        source_path = self.get_filename(fullname)
        cached = self.cache_path(source_path)
        stats = self.path_stats(source_path)
        header = (
            importlib.util.MAGIC_NUMBER
            + (0).to_bytes(4, "little")
            + (int(stats["mtime"]) & 0xFFFFFFFF).to_bytes(4, "little")
            + (int(stats["size"]) & 0xFFFFFFFF).to_bytes(4, "little")
        )
        if cached is not None:
            try:
                data = self.get_data(cached)
            except OSError:
                data = b""
            if data[:16] == header:
                try:
                    code = marshal.loads(data[16:])
                except (EOFError, ValueError, TypeError):
                    pass
                else:
                    if isinstance(code, types.CodeType):
                        return code
        code = self.source_to_code(self.get_data(source_path), source_path)
        if cached is not None and not sys.dont_write_bytecode:
            try:
                self.set_data(cached, header + marshal.dumps(code))
            except OSError:
                pass  # a read-only folder: compile again next time
        return code


# --- the rewrite --------------------------------------------------------------------------


def rewrite(tree: ast.Module, other_hints: bool = True) -> ast.Module:
    """Add the decorators to `tree` in place (see the module's docstring); returns it."""
    _block(tree.body)
    where = 0
    for i, node in enumerate(tree.body):
        docstring = (
            i == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (docstring or future):
            break
        where = i + 1
    suffix = "all" if other_hints else "arrays"
    imports = ast.ImportFrom(
        module=__name__,
        names=[ast.alias(f"_check_{suffix}", _FUNCTION), ast.alias(f"_class_{suffix}", _CLASS)],
        level=0,
    )
    tree.body.insert(where, imports)
    ast.fix_missing_locations(tree)
    return tree


def _named(node: ast.expr, *names: str) -> bool:
    """Whether a decorator is `name`, `x.name` or a call of one of them."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id in names
    return isinstance(node, ast.Attribute) and node.attr in names


def _decorate(node: ast.FunctionDef) -> None:
    decorator = ast.copy_location(ast.Name(_FUNCTION, ast.Load()), node)
    if any(_named(d, "typechecked") for d in node.decorator_list):
        # typeguard rewrites the function's own code: it must get the function itself, and
        # ours checks the function it returns.
        node.decorator_list.insert(0, decorator)
    else:
        node.decorator_list.append(decorator)


def _skipped(node: ast.FunctionDef) -> bool:
    return any(_named(d, "no_type_check", "overload") for d in node.decorator_list)


def _looks_like_array(node: ast.FunctionDef) -> bool:
    """Whether an annotation has a subscript with a string in it (`Float[Tensor, "b n"]`),
    or is a string with a subscript in it: what a nested function must show to be decorated,
    since decorating costs milliseconds at every definition."""
    args = node.args
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    hints = [p.annotation for p in params if p is not None and p.annotation is not None]
    for hint in [*hints, *([node.returns] if node.returns is not None else [])]:
        for sub in ast.walk(hint):
            if isinstance(sub, ast.Subscript) and any(
                isinstance(c, ast.Constant) and isinstance(c.value, str) for c in ast.walk(sub)
            ):
                return True
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "[" in sub.value:
                return True
    return False


def _nested(function: ast.FunctionDef) -> None:
    """Decorate the functions defined inside `function` whose hints look like array types."""
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.FunctionDef) and not _skipped(node) and _looks_like_array(node):
                _decorate(node)


def _block(body: list[ast.stmt]) -> None:
    for node in body:
        if isinstance(node, ast.FunctionDef):
            if not _skipped(node):
                _decorate(node)
                _nested(node)
        elif isinstance(node, ast.ClassDef):
            if any(_named(d, "no_type_check") for d in node.decorator_list):
                continue
            first = node.decorator_list[0] if node.decorator_list else node
            node.decorator_list.insert(0, ast.copy_location(ast.Name(_CLASS, ast.Load()), first))
            _block(node.body)
        elif isinstance(node, (ast.If, ast.For, ast.While, ast.With)):
            _block(node.body)
            _block(getattr(node, "orelse", []))
        elif isinstance(node, (ast.Try, ast.TryStar)):
            _block(node.body)
            for handler in node.handlers:
                _block(handler.body)
            _block(node.orelse)
            _block(node.finalbody)


# --- the decorators, run at definition ----------------------------------------------------

#: The functions the function decorator has seen (the class decorator leaves them alone).
_seen: "weakref.WeakSet[Callable[..., Any]]" = weakref.WeakSet()


def _check_all(fn: Any) -> Any:
    """The function decorator: `checked`, beartype, or `fn` itself (see the docstring)."""
    return _decide(fn, other_hints=True)


def _check_arrays(fn: Any) -> Any:
    """The function decorator with `other_hints=False`: `checked` or `fn` itself."""
    return _decide(fn, other_hints=False)


def _class_all(cls: Any) -> Any:
    """The class decorator: a dataclass's generated `__init__` gets the function decorator."""
    return _decide_class(cls, other_hints=True)


def _class_arrays(cls: Any) -> Any:
    """The class decorator with `other_hints=False`."""
    return _decide_class(cls, other_hints=False)


def _decide_class(cls: Any, other_hints: bool) -> Any:
    if not isinstance(cls, type) or "__dataclass_fields__" not in cls.__dict__:
        return cls
    init = cls.__dict__.get("__init__")
    if not isinstance(init, types.FunctionType) or init in _seen:
        return cls  # written in the class body: the function decorator saw it
    new = _decide(init, other_hints)
    if new is not init:
        try:
            type.__setattr__(cls, "__init__", new)
        except (TypeError, AttributeError) as err:
            warnings.warn(
                f"shapesafe: {cls.__module__}.{cls.__qualname__}.__init__ is not checked: {err}",
                RuntimeWarning,
                stacklevel=2,
            )
    return cls


def _decide(fn: Any, other_hints: bool) -> Any:
    if not isinstance(fn, types.FunctionType) or not fn.__annotations__:
        return fn
    _seen.add(fn)
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return fn  # `checked` would take the coroutine for the return value
    if _hints(fn)[1]:
        return _decorated(fn, other_hints)
    return _deferred(fn, other_hints)


def _deferred(fn: types.FunctionType, other_hints: bool) -> Any:
    """`fn`, decorated at its first call: a hint names something not defined yet.

    A method whose hints name its own class (`-> "Op"`, or any hint under `from __future__
    import annotations`) is defined before the class is, and a hint may name a class
    defined further down the module. Decorated now, the hint could not be read, and
    `checked` would have no contract. At the first call the module has run: the hints
    resolve, and the function gets the decorator it would have had. The function put in
    its place keeps its identity for good, so references and pickling stay as they are.
    """
    chosen: Callable[..., Any] | None = None

    def deferred(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest leaves this frame out of a failure
        nonlocal chosen
        if chosen is None:
            chosen = _decorated(fn, other_hints)
            state = getattr(chosen, "__shapesafe__", None)
            if state is not None:
                deferred.__shapesafe__ = state  # type: ignore[attr-defined]
        return chosen(*args, **kwargs)

    functools.update_wrapper(deferred, fn)
    _seen.add(deferred)
    return deferred


def _decorated(fn: types.FunctionType, other_hints: bool) -> Any:
    """`checked(fn)`, `beartype(fn)` or `fn`, as its hints say (a warning when it fails)."""
    kind = _hint_kind(fn)
    decorate = _decorators()
    try:
        if kind == "array":
            new = decorate[0](fn)
        elif other_hints and decorate[1] is not None:
            new = decorate[1](fn)
        else:
            return fn
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        warnings.warn(
            f"shapesafe: {fn.__module__}.{fn.__qualname__} is not checked: {first}",
            RuntimeWarning,
            stacklevel=2,
        )
        return fn
    _seen.add(new)
    return new


_decorators_cache: list[tuple[Callable[[Any], Any], Callable[[Any], Any] | None]] = []


def _decorators() -> tuple[Callable[[Any], Any], Callable[[Any], Any] | None]:
    """`checked`, and beartype (None with `SHAPESAFE_MODE=off`), imported on first use."""
    if not _decorators_cache:
        from beartype import beartype

        from ._checked import checked
        from ._mode import DISABLED_AT_IMPORT

        _decorators_cache.append((checked, None if DISABLED_AT_IMPORT else beartype))
    return _decorators_cache[0]


def _hint_kind(fn: types.FunctionType) -> str:
    """`"array"` when a hint of `fn` mentions a jaxtyping array type, else `"other"`.

    A hint that can't be resolved yet (a name defined later in the module) counts as other:
    beartype resolves it at the first call."""
    if any(mentions_array(h) for h in _hints(fn)[0].values()):
        return "array"
    return "other"


def _hints(fn: types.FunctionType) -> tuple[dict[str, Any], bool]:
    """The hints of `fn` that resolve now, and whether all of them do."""
    try:
        return typing.get_type_hints(fn, include_extras=True), True
    except Exception:
        hints = {}
        for name, raw in fn.__annotations__.items():
            if isinstance(raw, str):
                try:
                    raw = eval(raw, fn.__globals__)  # as get_type_hints does, one at a time
                except Exception:
                    continue
            hints[name] = raw
        return hints, False
