"""What a file's scopes bind, read once per file: the names each scope binds, its nested
scopes, its annotated locals, and the lists that may change where a statement-by-statement
reading does not see it. Syntax only: no shapes.
"""

import ast
import dataclasses
from collections.abc import Iterable, Iterator

from ._expr import _Comprehensions
from ._modules import LIST_CHANGES
from ._source import INNER_IMPORT, Module, dotted_name, import_origins, per_node, walk
from ._values import DictV, ListV, TupV, Value

_Scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


_Nested = (*_Scopes, *_Comprehensions)


def _children(node: ast.AST) -> list[ast.AST]:
    """`ast.iter_child_nodes` as a list, built in one loop (the walks of a file's scopes
    spend most of their time here)."""
    out: list[ast.AST] = []
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif type(value) is list:
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
    return out


def _own_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node of a scope in source order, without descending into nested scopes."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _Nested):
            continue
        stack.extend(_children(node)[::-1])


_ScopeNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclasses.dataclass
class _Index:
    """One pass over a file: the names each scope binds, its nested scopes, `global` names."""

    tree: ast.Module
    locals: dict[int, set[str]]
    children: dict[int, list[_ScopeNode]]
    globals: frozenset[str]


# Builtins that read a list without keeping or changing it.
_READS_LIST = frozenset(
    "len enumerate zip reversed sorted sum any all max min tuple list set iter print".split()
)


def _local_annotations(module: Module, body: list[ast.stmt]) -> dict[str, ast.expr]:
    """The annotations that a scope's own statements give its local names (`x: T` or
    `x: T = v`); a name annotated twice differently has none."""
    return per_node(module, "annotated locals", body, lambda: _read_local_annotations(body))


def _read_local_annotations(body: list[ast.stmt]) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    clashing: set[str] = set()
    for node in _own_statements(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            if name in found and ast.dump(found[name]) != ast.dump(node.annotation):
                clashing.add(name)
            if _reshapes_itself(name, node.value):
                clashing.add(name)  # `x: "t b c" = rearrange(x, ...)`: x held another shape
            found[name] = node.annotation
    return {k: v for k, v in found.items() if k not in clashing}


# Ops whose result has another shape than their input.
_RESHAPING = frozenset(
    "rearrange reshape view permute transpose flatten unflatten unsqueeze squeeze cat concat "
    "stack einsum repeat expand pack unpack".split()
)


def _reshapes_itself(name: str, value: ast.expr | None) -> bool:
    """Whether an annotated assignment gives its name a new shape made from its old value
    (`x: T = rearrange(x, ...)`, `x: T = x.view(...)`), so that T says nothing of what the
    name held before."""
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in _RESHAPING:
        return False
    return any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
        for n in walk(value)
    )


def _shared_lists(module: Module, body: list[ast.stmt]) -> frozenset[str]:
    """The names of a scope whose list may change where its statement-by-statement reading
    does not see it: the list is stored, aliased, passed to code the checker does not read,
    yielded, or changed inside a nested function or comprehension."""
    return per_node(module, "shared lists", body, lambda: _read_shared_lists(module, body))


def _read_shared_lists(module: Module, body: list[ast.stmt]) -> frozenset[str]:
    out: set[str] = set()
    stack: list[tuple[ast.AST, ast.AST | None, bool]] = [(n, None, False) for n in body]
    while stack:
        node, parent, nested = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and parent is not None:
            if not _reads_list(module, node, parent, nested):
                out.add(node.id)
        inner = nested or isinstance(node, _Nested)
        # A keyword argument's value is read by the call itself.
        above = parent if isinstance(node, ast.keyword) else node
        stack.extend([(child, above, inner) for child in _children(node)])
    return frozenset(out)


def _reads_list(module: Module, name: ast.Name, parent: ast.AST, nested: bool) -> bool:
    """Whether this use of `name` only reads what a list held in it holds, or changes it
    in a way the reading follows (`xs.append(v)` in the scope itself)."""
    if isinstance(parent, ast.Subscript):
        return parent.value is name and (not nested or isinstance(parent.ctx, ast.Load))
    if isinstance(parent, ast.Attribute):
        return parent.value is name and not (nested and parent.attr in LIST_CHANGES)
    if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)):
        return parent.iter is name
    if isinstance(parent, (ast.Starred, ast.Compare, ast.FormattedValue)):
        return True
    if isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.Assert)):
        return parent.test is name
    if isinstance(parent, ast.UnaryOp):
        return isinstance(parent.op, ast.Not)
    if isinstance(parent, ast.Return):
        return not nested
    if isinstance(parent, ast.Call) and parent.func is not name:
        func = dotted_name(parent.func)
        if func is None:
            return False
        if func in _READS_LIST:
            return True
        origin = module.imports.get(func.split(".")[0])
        return origin is not None and origin[0].split(".")[0] in ("torch", "einops", "numpy")
    return False


def _index(module: Module) -> _Index:
    return per_node(module, "index", module.tree, lambda: _read_index(module.tree))


def _read_index(tree: ast.Module) -> _Index:
    top = id(tree.body)
    names: dict[int, set[str]] = {top: set()}
    children: dict[int, list[_ScopeNode]] = {top: []}
    rebound: set[str] = set()
    # Statements only: names are bound by statements (a walrus aside), and expressions are
    # most of a file's nodes.
    stack: list[tuple[ast.stmt, int]] = [(n, top) for n in reversed(tree.body)]
    while stack:
        node, scope = stack.pop()
        names[scope].update(_stmt_binds(node))
        if isinstance(node, ast.Global):
            rebound.update(node.names)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            children[scope].append(node)
            inner = id(node.body)
            names[inner], children[inner] = set(), []
            stack.extend((n, inner) for n in reversed(node.body))
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                stack.extend((n, scope) for n in reversed(block) if isinstance(n, ast.stmt))
        if isinstance(node, (ast.Try, ast.TryStar)):
            for handler in node.handlers:
                if handler.name:
                    names[scope].add(handler.name)
                stack.extend((n, scope) for n in reversed(handler.body))
        elif isinstance(node, ast.Match):
            for case in node.cases:
                for part in walk(case.pattern):
                    names[scope].update(_binds(part))
                stack.extend((n, scope) for n in reversed(case.body))
    return _Index(tree, names, children, frozenset(rebound))


def _stmt_binds(node: ast.stmt) -> list[str]:
    """The names one statement binds in its own scope (not those of its nested blocks)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    else:
        return _binds(node)
    out: list[str] = []
    todo = list(targets)
    while todo:
        t = todo.pop()
        if isinstance(t, ast.Name):
            out.append(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            todo.extend(t.elts)
        elif isinstance(t, ast.Starred):
            todo.append(t.value)
    return out


def _assigned(stmts: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for node in _own_nodes(stmts):
        if isinstance(node, (ast.Name, ast.Tuple)):
            out.update(_binds(node))
    return out


def _as_load(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Name):
        return ast.copy_location(ast.Name(node.id, ast.Load()), node)
    return node


# Statements with no statements inside them: most of a scope's.
_NO_BLOCKS = (
    ast.Expr,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.Return,
    ast.Pass,
    ast.Raise,
    ast.Import,
    ast.ImportFrom,
    ast.Assert,
    ast.Delete,
    ast.Global,
    ast.Nonlocal,
    ast.Break,
    ast.Continue,
)


def _own_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a scope, in nested blocks too, but not in nested scopes."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, _Scopes) or isinstance(stmt, _NO_BLOCKS):
            continue
        blocks: list[list[ast.stmt]] = [
            getattr(stmt, field, []) for field in ("body", "orelse", "finalbody")
        ]
        blocks += [h.body for h in getattr(stmt, "handlers", [])]
        blocks += [c.body for c in getattr(stmt, "cases", [])]
        for block in reversed(blocks):
            stack.extend(reversed(block))


def _binds(node: ast.AST) -> list[str]:
    """The names a node binds in its own scope."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [node.id]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return [*node.names, *node.names]  # bound elsewhere: never a single known binding
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _imported_as_the_file_does(module: Module, body: list[ast.stmt]) -> set[str]:
    if not _any_import(module):
        return set()
    return per_node(module, "file imports", body, lambda: _read_imported(module, body))


def _any_import(module: Module) -> bool:
    """Whether any import of the file is indented (in a function, class or block)."""
    return per_node(
        module, "inner imports", module.tree, lambda: INNER_IMPORT.search(module.source) is not None
    )


def _read_imported(module: Module, body: list[ast.stmt]) -> set[str]:
    """The names a function binds only by imports that give them the meaning the file's
    imports do (`import torch` again, or a `from .layers import Linear` the file takes up):
    they are no locals, and resolve as the file's names do."""
    imported: set[str] = set()
    other: set[str] = set()
    for node in _own_nodes(body):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for local, origin in import_origins(node):
                (imported if module.imports.get(local) == origin else other).add(local)
        elif isinstance(node, ast.stmt):
            other.update(_stmt_binds(node))
    return imported - other


def changed_elsewhere(module: Module, body: list[ast.stmt], name: str, v: Value) -> bool:
    """Whether the list or dict `v` bound to `name` may change where the reading of `body`
    does not see it (`_shared_lists`, `_shared_dicts`)."""
    if isinstance(v, ListV) or (isinstance(v, TupV) and v.mutable):
        return name in _shared_lists(module, body)
    return isinstance(v, DictV) and name in _shared_dicts(module, body)


# Methods that read a dict without changing it.
_READS_DICT = frozenset("get keys values items copy".split())


def _shared_dicts(module: Module, body: list[ast.stmt]) -> frozenset[str]:
    """The names of a scope whose dict may change where its statement-by-statement reading
    does not see it: as for lists (`_shared_lists`), and where code changes it through a
    method (`d.update(...)`, `d.pop(k)`) or deletes a key. `return d, loss` only reads it."""
    return per_node(module, "shared dicts", body, lambda: _read_shared_dicts(module, body))


def _read_shared_dicts(module: Module, body: list[ast.stmt]) -> frozenset[str]:
    out: set[str] = set()
    stack: list[tuple[ast.AST, ast.AST | None, ast.AST | None, bool]] = [
        (n, None, None, False) for n in body
    ]
    while stack:
        node, parent, above, nested = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and parent is not None:
            if not _reads_dict(module, node, parent, above, nested):
                out.add(node.id)
        inner = nested or isinstance(node, _Nested)
        # A keyword argument's value is read by the call itself.
        up = parent if isinstance(node, ast.keyword) else node
        stack.extend([(child, up, parent, inner) for child in _children(node)])
    return frozenset(out)


def _reads_dict(
    module: Module, name: ast.Name, parent: ast.AST, above: ast.AST | None, nested: bool
) -> bool:
    if isinstance(parent, ast.Tuple) and isinstance(above, ast.Return):
        return not nested
    if isinstance(parent, ast.Attribute):
        return parent.value is name and parent.attr in _READS_DICT
    if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Del):
        return False
    return _reads_list(module, name, parent, nested)
