"""The names a module takes from other modules of the project beyond what its own import
statements say: those a star import brings in, and modules re-exported by name."""

import ast

from ._run import active
from ._source import Module, _statements, find_module, load_found, walk


def take_imported_names(module: Module) -> None:
    """Add to `module.imports` what its star imports bring in, then follow re-exported
    modules (`_take_reexported_modules`). Both load other modules of the project: one that
    imports this one back finds it being read and takes nothing more from it."""
    starring = active().starring
    if module.path in starring:
        return
    starring.add(module.path)
    try:
        _take_stars(module)
        _take_reexported_modules(module)
    finally:
        starring.discard(module.path)


# What `from einops import *` brings in (einops's `__all__`), for a library outside the
# checked files whose functions have shape rules.
_LIBRARY_STARS = {
    "einops": ("rearrange", "reduce", "repeat", "einsum", "pack", "unpack", "parse_shape"),
}


def _take_stars(module: Module) -> None:
    """`from pkg.typing import *`: the names the star brings in (its `__all__`, else those
    not starting with `_`), where the file does not bind them itself. An imported name keeps
    where it comes from (`Float` stays jaxtyping's); a function, class or alias is the star
    module's."""
    stars = [
        s
        for s in _statements(module.tree.body)
        if isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names)
    ]
    for stmt in stars:
        dotted = "." * stmt.level + (stmt.module or "")
        found = find_module(dotted, module)
        other = load_found(found) if found is not None else None
        if other is None:
            for name in _LIBRARY_STARS.get(dotted, ()):
                if name not in module.imports and name not in module.functions:
                    module.imports[name] = (dotted, name)
            continue
        public = _exported(other)
        bound = set(module.imports) | set(module.functions) | set(module.aliases)
        for name, origin in other.imports.items():
            if name in public and name not in bound and name != "*":
                module.imports[name] = origin
        for name in [*other.functions, *other.aliases, *_classes(other)]:
            if name in public and name not in bound and name not in module.imports:
                module.imports[name] = (dotted, name)


def _classes(module: Module) -> list[str]:
    return [s.name for s in _statements(module.tree.body) if isinstance(s, ast.ClassDef)]


def _exported(module: Module) -> set[str]:
    """The names `from module import *` brings in."""
    for stmt in _statements(module.tree.body):
        if not isinstance(stmt, ast.Assign):
            continue
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets):
            value = stmt.value
            if isinstance(value, (ast.List, ast.Tuple)):
                return {
                    e.value
                    for e in value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                }
    names = {*module.imports, *module.functions, *module.aliases, *_classes(module)}
    return {n for n in names if not n.startswith("_")}


def _take_reexported_modules(module: Module) -> None:
    """`from pkg.common import torch`, where the project's `pkg/common.py` does `import torch`:
    the name is the module `torch` itself. Asked only of names the file uses as `name.attr`."""
    used = {
        n.value.id
        for n in walk(module.tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    }
    names = [
        name
        for name, (mod, attr) in module.imports.items()
        if attr is not None and name in used and not mod.startswith(".")
    ]
    for name in names:
        mod, attr = module.imports[name]
        found = find_module(mod, module)
        other = load_found(found) if found is not None else None
        origin = None if other is None or attr is None else other.imports.get(attr)
        if origin is not None and origin[1] is None and not origin[0].startswith("."):
            module.imports[name] = origin
