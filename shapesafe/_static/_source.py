"""Reading contracts out of source files with `ast`: annotations, signatures, imports.

Nothing here imports the code it reads. shapesafe's own ops are found the same way as a
user's functions: by following `from shapesafe import linear` into shapesafe's source.
"""

import ast
import collections
import dataclasses
import hashlib
import io
import os
import re
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

from .._contract import Contract, TensorParam, parse_spec
from ._run import active

# jaxtyping's array annotations (`Float[Tensor, "b s"]`), as shapesafe and jaxtyping export them.
DTYPE_NAMES = frozenset(
    """Shaped Float Int Bool Num Real Inexact Integer UInt Complex Key BFloat16 Float16 Float32
    Float64 Int8 Int16 Int32 Int64 UInt8 UInt16 UInt32 UInt64 Complex64 Complex128""".split()
)
_ARRAY_MODULES = ("jaxtyping", "shapesafe")
_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # shapesafe's own source


@dataclasses.dataclass(frozen=True)
class Signature:
    """A function's parameters in call order, and its tensor contract."""

    contract: Contract
    positional: tuple[str, ...]
    has_varargs: bool


@dataclasses.dataclass
class Module:
    """One parsed source file and what its top level defines or imports."""

    path: Path
    source: str
    tree: ast.Module
    # local name -> (module, attribute); attribute None for `import a.b as x`
    imports: dict[str, tuple[str, str | None]]
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None]  # None: ambiguous
    aliases: dict[str, ast.expr]  # `Embeddings = Float[Tensor, "b s d"]`
    package: str  # dotted name of the package this file sits in, "" if none
    # What the checker has worked out about this version of the file (see `memo`): it goes
    # when the file changes and its Module is replaced.
    memos: dict[str, dict[Any, Any]] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def annotation(self, node: ast.expr | None) -> TensorParam | None:
        """The tensor contract an annotation states, or None if it states none. Worked out
        once per node where this file's text alone decides it."""
        if node is None:
            return None
        known = memo(self, "annotations")
        hit = known.get(id(node))
        if hit is not None and hit[0] is node:
            return cast(TensorParam | None, hit[1])
        run = active()
        lookups = run.lookups
        param = self._annotation(node)
        if run.lookups == lookups:
            known[id(node)] = (node, param)
        return param

    def _annotation(self, node: ast.expr) -> TensorParam | None:
        found = _annotation(self, node, 0)
        if found is None:
            return None
        text, label, optional = found
        try:
            spec = parse_spec(text)
        except ValueError:
            return None
        return TensorParam("", spec, None, label, optional)


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    """The parameters a call can name: positional-only, positional and keyword-only."""
    a = fn.args
    return [*a.posonlyargs, *a.args, *a.kwonlyargs]


def dotted_name(node: ast.expr) -> str | None:
    """`a.b.c` for a chain of names and attributes; None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _is_array_type(module: Module, node: ast.expr, depth: int = 0) -> str | None:
    """The dtype label if `node` names one of jaxtyping's array annotations.

    The name may come through the checked project's own modules: a re-export
    (`from pkg.typing import Float`), an alias (`Float = jaxtyping.Float`) or a rename.
    """
    dotted = dotted_name(node)
    if dotted is None or depth > 8:
        return None
    first, _, rest = dotted.partition(".")
    origin = module.imports.get(first)
    if origin is None:
        alias = None if rest else module.aliases.get(first)
        return None if alias is None else _is_array_type(module, alias, depth + 1)
    return _label(module, origin, dotted, depth)


def _label(module: Module, origin: tuple[str, str | None], dotted: str, depth: int) -> str | None:
    """The dtype label of `dotted`, whose first name is imported from `origin`."""
    rest = dotted.partition(".")[2]
    if origin[0].lstrip(".").split(".")[0] not in _ARRAY_MODULES:
        if not (origin[0].startswith(".") and _in_package(module)):
            found = _imported(module, origin, rest)
            return None if found is None else _is_array_type(*found, depth + 1)
    label = dotted.rsplit(".", 1)[-1] if rest else origin[1]
    return label if label in DTYPE_NAMES else None


def _wrapper_type(module: Module, node: ast.expr, depth: int = 0) -> str | None:
    """The dtype label if `node` names a project's wrapper of one of jaxtyping's array
    annotations: `Float = TorchTyping(jaxtyping.Float)`, where `TorchTyping(d)[s]` is
    `d[Tensor, s]`, so that `Float["b d"]` is `jaxtyping.Float[Tensor, "b d"]`."""
    dotted = dotted_name(node)
    if dotted is None or depth > 8:
        return None
    first, _, rest = dotted.partition(".")
    wrapped = None if rest else _wrappers(module).get(first)
    if wrapped is not None:
        arg, origin = wrapped
        if origin is None:
            return _is_array_type(module, arg, depth + 1)
        return _label(module, origin, dotted_name(arg) or "", depth + 1)
    origin = module.imports.get(first)
    if origin is None or origin[0].lstrip(".").split(".")[0] in _ARRAY_MODULES:
        return None
    found = _imported(module, origin, rest)
    return None if found is None else _wrapper_type(*found, depth + 1)


_Wrapped = dict[str, tuple[ast.expr, tuple[str, str | None] | None]]


def _wrappers(module: Module) -> _Wrapped:
    """The file's top-level names bound last to `Wrapper(dtype)`, `Wrapper` a wrapper class
    of its own, each with the dtype expression and where its first name was imported from
    when the call ran (that very line often rebinds the name: `Float = TorchTyping(Float)`)."""
    known = memo(module, "wrappers")
    if "" not in known:
        known[""] = _find_wrappers(module)
    return cast(_Wrapped, known[""])


def _find_wrappers(module: Module) -> _Wrapped:
    classes = {s.name: s for s in _statements(module.tree.body) if isinstance(s, ast.ClassDef)}
    imported: dict[str, tuple[str, str | None]] = {}
    found: _Wrapped = {}
    for stmt in _statements(module.tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for local, origin in import_origins(stmt):
                imported[local] = origin
                found.pop(local, None)
            continue
        entry = None
        call = None
        if isinstance(stmt, ast.Assign) and [type(t) for t in stmt.targets] == [ast.Name]:
            call = stmt.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and len(call.args) == 1
            and not call.keywords
            and _is_wrapper_class(classes.get(call.func.id))
        ):
            arg = call.args[0]
            entry = (arg, imported.get((dotted_name(arg) or "").partition(".")[0]))
        bound = _bound(stmt)
        for name in bound:
            imported.pop(name, None)
            found.pop(name, None)
        if entry is not None and len(bound) == 1:
            found[bound[0]] = entry
    return found


def _bound(stmt: ast.stmt) -> list[str]:
    """The names a top-level statement other than an import binds."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    targets = stmt.targets if isinstance(stmt, ast.Assign) else []
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    return [n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)]


def _is_wrapper_class(cls: ast.ClassDef | None) -> bool:
    """`__init__(self, d)` keeps `d` as `self.a`, and `__getitem__(self, s)` returns
    `self.a[Tensor, s]`."""
    if cls is None:
        return False
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    init, item = methods.get("__init__"), methods.get("__getitem__")
    if init is None or item is None or len(init.args.args) != 2 or len(item.args.args) != 2:
        return False
    kept = {
        t.attr
        for stmt in init.body
        if isinstance(stmt, ast.Assign) and dotted_name(stmt.value) == init.args.args[1].arg
        for t in stmt.targets
        if isinstance(t, ast.Attribute) and dotted_name(t.value) == init.args.args[0].arg
    }
    body = [
        s for s in item.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    ret = body[0].value if len(body) == 1 and isinstance(body[0], ast.Return) else None
    if not (isinstance(ret, ast.Subscript) and isinstance(ret.value, ast.Attribute)):
        return False
    elts = ret.slice.elts if isinstance(ret.slice, ast.Tuple) else []
    return (
        dotted_name(ret.value.value) == item.args.args[0].arg
        and ret.value.attr in kept
        and len(elts) == 2
        and (dotted_name(elts[0]) or "").rsplit(".", 1)[-1] == "Tensor"
        and dotted_name(elts[1]) == item.args.args[1].arg
    )


def _imported(
    module: Module, origin: tuple[str, str | None], rest: str
) -> tuple[Module, ast.Name] | None:
    """The module of the checked project that an imported name is bound in, and the name
    there: `(typing.py, Float)` for `from pkg.typing import Float` or for `pkg.typing.Float`
    after `import pkg.typing`. None where that module is not found among the checked files."""
    mod_name, attr = origin
    if rest:
        *inner, last = rest.split(".")
        mod_name = mod_name if attr is None else _join(mod_name, attr)
        for part in inner:
            mod_name = _join(mod_name, part)
        attr = last
    if attr is None:
        return None
    path = find_module(mod_name, module)
    if path is None:
        return None
    active().lookups += 1  # what the name is depends on the version of that file
    target = load_found(path)
    if target is None or target is module:
        return None
    return target, ast.Name(id=attr, ctx=ast.Load())


def _in_package(module: Module) -> bool:
    """shapesafe's own modules may import the dtypes relatively."""
    return module.path.is_relative_to(_PACKAGE_DIR)


def _annotation(module: Module, node: ast.expr | None, depth: int) -> tuple[str, str, bool] | None:
    if node is None or depth > 8:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            inner = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
        return _annotation(module, inner, depth + 1)
    if isinstance(node, ast.Name) and node.id in module.aliases:
        return _annotation(module, module.aliases[node.id], depth + 1)
    if isinstance(node, (ast.Name, ast.Attribute)):
        # `x: Embeddings`, where `Embeddings = Float[Tensor, "b s d"]` in the project's
        # own `types.py`
        first, _, tail = (dotted_name(node) or "").partition(".")
        origin = module.imports.get(first)
        if origin is None or origin[0].lstrip(".").split(".")[0] in _ARRAY_MODULES:
            return None
        bound = _imported(module, origin, tail)
        return None if bound is None else _annotation(*bound, depth + 1)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [node.left, node.right]
        rest = [s for s in sides if not (isinstance(s, ast.Constant) and s.value is None)]
        if len(rest) != 1:
            return None
        found = _annotation(module, rest[0], depth + 1)
        return None if found is None else (found[0], found[1], True)
    if not isinstance(node, ast.Subscript):
        return None
    return _subscripted_annotation(module, node, depth)


def _subscripted_annotation(
    module: Module, node: ast.Subscript, depth: int
) -> tuple[str, str, bool] | None:
    """`Float[Tensor, "b s d"]`, or `Optional[...]`/`Union[..., None]` of one."""
    head = dotted_name(node.value) or ""
    last = head.rsplit(".", 1)[-1]
    if last in ("Optional", "Union"):
        members = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        rest = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
        if len(rest) != 1 or (last == "Union" and len(members) == 1):
            return None
        found = _annotation(module, rest[0], depth + 1)
        return None if found is None else (found[0], found[1], True)
    label = _is_array_type(module, node.value)
    if label is None and isinstance(node.slice, ast.Constant):
        label = _wrapper_type(module, node.value)  # `Float["b d"]` of a wrapper
        text: ast.expr = node.slice
    elif label is None or not isinstance(node.slice, ast.Tuple) or len(node.slice.elts) != 2:
        return None
    else:
        text = node.slice.elts[1]
    if label is None:
        return None
    if not (isinstance(text, ast.Constant) and isinstance(text.value, str)):
        return None
    if isinstance(node.slice, ast.Tuple):
        # `Float[TimeSeries1d, "channel"]`: an array type of the project as the array puts
        # the new dims in front of its own, "channel time"
        inner = _annotation(module, node.slice.elts[0], depth + 1)
        if inner is not None and not inner[2]:
            return f"{text.value} {inner[0]}".strip(), label, False
    return text.value, label, False


def signature(module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Signature | None:
    """The tensor contract of `fn`, or None if none of its parameters is a tensor contract.
    Worked out once per function where its file's text alone decides it."""
    known = memo(module, "signatures")
    hit = known.get(id(fn))
    if hit is not None and hit[0] is fn:
        return cast(Signature | None, hit[1])
    run = active()
    lookups = run.lookups
    sig = _signature(module, fn)
    if run.lookups == lookups:
        known[id(fn)] = (fn, sig)
    return sig


def _signature(module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Signature | None:
    args = fn.args
    params: list[TensorParam] = []
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    for arg in every:
        found = module.annotation(arg.annotation)
        if found is not None:
            params.append(dataclasses.replace(found, name=arg.arg))
    ret = module.annotation(fn.returns)
    if not params and ret is None:
        return None
    if ret is not None:
        ret = dataclasses.replace(ret, name="return")
    return Signature(
        Contract(fn.name, tuple(params), ret),
        tuple(a.arg for a in [*args.posonlyargs, *args.args]),
        args.vararg is not None,
    )


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under `node`, itself first, in the order `ast.walk` gives them, reading
    each node's fields in one loop (`ast.walk` spends most of its time in the generators of
    `iter_child_nodes`, and the checker walks each function several times)."""
    todo = collections.deque([node])
    while todo:
        node = todo.popleft()
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                todo.append(value)
            elif type(value) is list:
                todo.extend(item for item in value if isinstance(item, ast.AST))
        yield node


# An import statement that is indented: inside a function, a class or a block.
INNER_IMPORT = re.compile(r"^[ \t]+(?:from[ \t]+\S+[ \t]+)?import[ \t]", re.MULTILINE)


def _top_level(
    tree: ast.Module,
    inner_imports: bool = True,
) -> tuple[
    dict[str, tuple[str, str | None]],
    dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None],
    dict[str, ast.expr],
]:
    imports: dict[str, tuple[str, str | None]] = {}
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | None] = {}
    aliases: dict[str, ast.expr] = {}
    seen: set[str] = set()

    def rebind(name: str) -> None:
        # A name bound twice at the top level is not a fixed function, import or alias.
        last_def.pop(name, None)
        if name in seen:
            functions[name] = None
            imports.pop(name, None)
            aliases.pop(name, None)
        seen.add(name)

    last_def: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for stmt in _statements(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            fresh = stmt.name not in seen
            if not fresh and stmt.name in last_def:
                # `def f` again, and nothing else binds f: a function body, run once the
                # module is read, calls the last one.
                functions[stmt.name] = last_def[stmt.name] = stmt
                continue
            rebind(stmt.name)
            if fresh:
                functions[stmt.name] = last_def[stmt.name] = stmt
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for local, origin in import_origins(stmt):
                rebind(local)
                imports[local] = origin
        elif isinstance(stmt, ast.Assign):
            for each in stmt.targets:
                for node in walk(each):
                    if isinstance(node, ast.Name):
                        rebind(node.id)
            if len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                aliases[stmt.targets[0].id] = stmt.value
        elif isinstance(stmt, ast.ClassDef):
            rebind(stmt.name)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            if isinstance(stmt.target, ast.Name):
                rebind(stmt.target.id)
                if isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                    if dotted_name(stmt.annotation) in ("TypeAlias", "typing.TypeAlias"):
                        aliases[stmt.target.id] = stmt.value
    # `from .layers import Linear` inside a function: the file's too, where no top-level
    # statement binds the name and every function that imports it takes it from one place.
    inner: dict[str, tuple[str, str | None]] = {}
    clashing: set[str] = set()
    for node in walk(tree) if inner_imports else ():
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in tree.body:
            for local, origin in import_origins(node):
                if inner.setdefault(local, origin) != origin:
                    clashing.add(local)
    for local, origin in inner.items():
        if local not in seen and local not in clashing and local != "*":
            imports[local] = origin
    return imports, functions, aliases


def import_origins(stmt: ast.Import | ast.ImportFrom) -> list[tuple[str, tuple[str, str | None]]]:
    """Each local name an import binds, with where it comes from: (module, attribute), the
    attribute None for `import a.b as x`."""
    if isinstance(stmt, ast.Import):
        return [
            (
                alias.asname or alias.name.split(".")[0],
                (alias.name if alias.asname else alias.name.split(".")[0], None),
            )
            for alias in stmt.names
        ]
    base = "." * stmt.level + (stmt.module or "")
    return [(alias.asname or alias.name, (base, alias.name)) for alias in stmt.names]


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The top-level statements, with those of `if TYPE_CHECKING:` blocks in place.

    A type checker takes those blocks as run; shapesafe's own `__init__` imports its
    exports there, so that importing it stays lazy.
    """
    for stmt in body:
        guard = dotted_name(stmt.test) if isinstance(stmt, ast.If) else None
        if isinstance(stmt, ast.If) and guard in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            yield from _statements(stmt.body)
        else:
            yield stmt


def read_source(path: Path) -> str:
    """A source file's text, decoded as Python decodes it (PEP 263 coding line, BOM, UTF-8).

    Raises OSError, or SyntaxError for an unknown or wrong encoding.
    """
    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as err:
        raise SyntaxError(f"cannot decode the file: {err}", (str(path), 1, 1, None)) from None


def _load(path: Path, stamp: tuple[int, int]) -> Module | None:
    """The file at `path` as it is at `stamp` (modified time and size), parsed once per run
    and version: a new version replaces the one the run held."""
    run = active()
    held = run.modules.get(path)
    if held is not None and held[0] == stamp:
        module = held[1]
    else:
        module = _parse(path)
        run.modules[path] = (stamp, module)
    if run.reading:
        run.reading[-1][path] = module
    return module


def _parse(path: Path) -> Module | None:
    try:
        source = read_source(path)
        tree = ast.parse(source, filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    imports, functions, aliases = _top_level(tree, INNER_IMPORT.search(source) is not None)
    module = Module(path, source, tree, imports, functions, aliases, _package_of(path))
    from ._imported import take_imported_names  # it reads other modules, loaded here

    take_imported_names(module)
    return module


def load(path: Path) -> Module | None:
    """Parse a file once per version of it on disk."""
    try:
        st = path.stat()
    except OSError:
        return None
    return _load(path.resolve(), (st.st_mtime_ns, st.st_size))


def load_found(path: Path) -> Module | None:
    """`load` for a path that `find_module` gave: resolved once, stat-ed each time (once
    per file checked, in `check_file`)."""
    run = active()
    real = run.real_paths.get(path)
    if real is None:
        real = run.real_paths[path] = path.resolve()
    stamps = run.stamps
    stamp = stamps.get(real) if stamps is not None else None
    if stamp is None:
        try:
            st = os.stat(real)
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamps is not None:
            stamps[real] = stamp
    return _load(real, stamp)


def _package_of(path: Path) -> str:
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.append(folder.name)
        folder = folder.parent
    if path.name != "__init__.py" and not parts:
        return ""
    return ".".join(reversed(parts))


def _roots(path: Path) -> list[Path]:
    """Folders that absolute imports from `path` are looked up in."""
    folder = path.parent
    while (folder / "__init__.py").exists():
        folder = folder.parent
    roots = [path.parent, folder, Path.cwd()]
    return list(dict.fromkeys(roots))


def find_module(dotted: str, importer: Module) -> Path | None:
    """The file for `import dotted` (or a relative `.mod`) as seen from `importer`.

    Remembered per folder and name: the checker asks the same question for every call.
    """
    where = "" if dotted.startswith(".") else (active().cwd or os.getcwd())
    mine = memo(importer, "found modules")  # the same, asked by one file
    if (dotted, where) in mine:
        return cast(Path | None, mine[dotted, where])
    key = (importer.path.parent, dotted, where)
    found_modules = active().found_modules
    if key in found_modules:
        found = found_modules[key]
    else:
        found = found_modules[key] = _find_module(dotted, importer)
    mine[dotted, where] = found
    return found


def _find_module(dotted: str, importer: Module) -> Path | None:
    level = len(dotted) - len(dotted.lstrip("."))
    rest = dotted[level:]
    if level:
        base = importer.path.parent
        for _ in range(level - 1):
            base = base.parent
        roots = [base]
    elif rest.split(".")[0] == _PACKAGE_DIR.name:
        roots = [_PACKAGE_DIR.parent]
    else:
        roots = _roots(importer.path)
    parts = [p for p in rest.split(".") if p]
    for root in roots:
        target = root.joinpath(*parts)
        for candidate in (target.with_suffix(".py") if parts else None, target / "__init__.py"):
            if candidate is not None and candidate.is_file():
                return candidate
    return None


def resolve(module: Module, dotted: str, depth: int = 0) -> tuple[Module, Signature] | None:
    """The annotated function that the dotted name `dotted` denotes at `module`'s top level."""
    if depth > 6:
        return None
    first, _, rest = dotted.partition(".")
    if not rest:
        fn = module.functions.get(first)
        if fn is not None:
            sig = signature(module, fn)
            return None if sig is None else (module, sig)
        origin = module.imports.get(first)
        if origin is None or origin[1] is None:
            return None
        return _resolve_in(origin[0], origin[1], module, depth)
    origin = module.imports.get(first)
    if origin is None:
        return None
    return _resolve_in(*dotted_target(origin, rest), module, depth)


def dotted_target(origin: tuple[str, str | None], rest: str) -> tuple[str, str]:
    """Where `first.rest` points, for a `first` imported as `origin` (`from m import first`
    or `import first`): the module it names, and the last name of `rest` in it."""
    mod_name = origin[0] if origin[1] is None else _join(origin[0], origin[1])
    parts = rest.split(".")
    for part in parts[:-1]:
        mod_name = _join(mod_name, part)
    return mod_name, parts[-1]


def _join(base: str, attr: str) -> str:
    return base + attr if base.endswith(".") else f"{base}.{attr}"


def _resolve_in(
    mod_name: str, attr: str, importer: Module, depth: int
) -> tuple[Module, Signature] | None:
    path = find_module(mod_name, importer)
    if path is None:
        return None
    target = load_found(path)
    if target is None:
        return None
    return resolve(target, attr, depth + 1)


def has_contract(path: Path, name: str) -> bool:
    """Whether the top-level function `name` in the file at `path` has a tensor contract."""
    module = load(path)
    return module is not None and resolve(module, name) is not None


Lookups = dict[tuple[str, str], Path | None]


def fingerprint(path: Path, lookups: Lookups | None = None) -> str:
    """A hash of the string constants in `path` and in the files its imported names live in.

    Shape strings are string constants, so the mypy plugin reports this hash: editing only a
    shape string in a callee's file then makes mypy re-check the files that call it. Only
    the names the file takes from other modules are followed (through re-exports, as the
    checker resolves them), not whole import closures. `lookups` caches module lookups; the
    mypy plugin keeps one per run.
    """
    start = load(path)
    if start is None:
        return ""
    cache: Lookups = {} if lookups is None else lookups
    files = {start.path: start}
    for mod_name, attr in _names_taken(start):
        _follow(mod_name, attr, start, cache, files, 0)
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(str(key).encode() + _strings_digest(files[key]))
    return digest.hexdigest()[:16]


def _names_taken(module: Module) -> set[tuple[str, str]]:
    """(module, attribute) for each name the file takes from another module.

    `from m import f` takes `(m, f)`; `import m` and then `m.sub.f` takes `(m, sub)` and
    `(m.sub, f)`.
    """
    taken: set[tuple[str, str]] = set()
    for target, attr in module.imports.values():
        if attr is not None:
            taken.add((target, attr))
    for node in walk(module.tree):
        if not isinstance(node, ast.Attribute):
            continue
        dotted = dotted_name(node)
        first, _, rest = (dotted or "").partition(".")
        origin = module.imports.get(first)
        if origin is None or not rest:
            continue
        base = origin[0] if origin[1] is None else _join(origin[0], origin[1])
        for part in rest.split("."):
            taken.add((base, part))
            base = _join(base, part)
    return taken


def _follow(
    mod_name: str,
    attr: str,
    importer: Module,
    cache: Lookups,
    files: dict[Path, Module],
    depth: int,
) -> None:
    """Add the files that `attr` of module `mod_name` comes from, following re-exports."""
    if depth > 6:
        return
    target = _cached_load(mod_name, importer, cache, files)
    if target is not None:
        origin = target.imports.get(attr)
        if origin is not None:
            if origin[1] is None:
                _cached_load(origin[0], target, cache, files)
            else:
                _follow(origin[0], origin[1], target, cache, files, depth + 1)
    _cached_load(_join(mod_name, attr), importer, cache, files)  # `attr` may be a submodule


def _cached_load(
    dotted: str, importer: Module, cache: Lookups, files: dict[Path, Module]
) -> Module | None:
    key = (dotted, str(importer.path.parent))
    if key not in cache:
        cache[key] = find_module(dotted, importer)
    found = cache[key]
    loaded = None if found is None else load(found)
    if loaded is not None:
        files.setdefault(loaded.path, loaded)
    return loaded


def _strings_digest(module: Module) -> bytes:
    def read() -> bytes:
        digest = hashlib.sha256()
        for node in walk(module.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                digest.update(node.value.encode() + b"\0")
        return digest.digest()

    return per_node(module, "strings", module.tree, read)


_T = TypeVar("_T")


def memo(module: Module, kind: str) -> dict[Any, Any]:
    """The cache named `kind` of what the checker worked out about one version of a file."""
    found = module.memos.get(kind)
    if found is None:
        found = module.memos[kind] = {}
    return found


def per_node(module: Module, kind: str, node: object, read: Callable[[], _T]) -> _T:
    """`read()`, once per syntax node of `module` (a function, a scope's body) and `kind`."""
    cache = memo(module, kind)
    hit = cache.get(id(node))
    if hit is not None and hit[0] is node:
        return cast(_T, hit[1])
    found = read()
    cache[id(node)] = (node, found)
    return found


def _number_annotation(node: ast.expr | None) -> bool:
    """`float`, `int`, `Optional[float]`, `float | None`: a Python number, or None."""
    if isinstance(node, ast.Name):
        return node.id in ("float", "int")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = (node.left, node.right)
        none = [s for s in sides if isinstance(s, ast.Constant) and s.value is None]
        return len(none) == 1 and any(_number_annotation(s) for s in sides if s not in none)
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, (ast.Name, ast.Attribute))
        and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr) == "Optional"
    ):
        return _number_annotation(node.slice)
    return False


def _class_named(node: ast.expr | None) -> ast.Name | ast.Attribute | None:
    """The class in `X`, `Optional[X]`, `X | None` or `Union[X, None]`.

    Where the value is None, reading its attributes or calling it raises, so the code that
    uses it sees an X.
    """
    if isinstance(node, (ast.Name, ast.Attribute)):
        return node
    members: list[ast.expr] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        members = [node.left, node.right]
    elif isinstance(node, ast.Subscript):
        last = (dotted_name(node.value) or "").rsplit(".", 1)[-1]
        if last == "Optional":
            members = [node.slice]
        elif last == "Union":
            members = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else []
    rest = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    if len(rest) == 1 and isinstance(rest[0], (ast.Name, ast.Attribute)):
        return rest[0]
    return None


def _decorated(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == name)
        or (isinstance(d, ast.Attribute) and d.attr == name)
        for d in fn.decorator_list
    )
