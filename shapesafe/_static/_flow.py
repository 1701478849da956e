"""Statements, binding, branches, loops and merges: a scope read statement by statement.

A function's parameters and annotated locals get the shapes their jaxtyping annotations
state. From there, each statement is read in order: assignments rebind names, branches
and loops merge what they bind (a name that differs between branches becomes unknown),
and every expression gets a shape from a rule (`_expr`). Everything else is unknown, and
unknown values are never reported.
"""

import ast
import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ._expr import (
    _Comprehensions,
    _Expressions,
)
from ._modules import (
    LIST_CHANGES,
    ClassModel,
    _find_class,
    model,
)
from ._report import (
    _LOST_OTHER,
    Env,
    Finding,
    Reporter,
    Stats,
    _alternatives,
)
from ._rules.index import assigned
from ._rules.nn import inherited
from ._run import Binding, active
from ._source import (
    Module,
    _class_named,
    _decorated,
    _number_annotation,
    dotted_name,
    per_node,
)
from ._torch import int_value
from ._unify import (
    Group,
    Shape,
    fresh,
    from_spec,
)
from ._values import (
    ListV,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
    _common_shape,
    _item_of,
    _joined,
    _one_of,
)

_Scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _own_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node of a scope in source order, without descending into nested scopes."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_Scopes, *_Comprehensions)):
            continue
        stack.extend(list(ast.iter_child_nodes(node))[::-1])


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
            found[name] = node.annotation
    return {k: v for k, v in found.items() if k not in clashing}


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
        inner = nested or isinstance(node, (*_Scopes, *_Comprehensions))
        # A keyword argument's value is read by the call itself.
        above = parent if isinstance(node, ast.keyword) else node
        stack.extend((child, above, inner) for child in ast.iter_child_nodes(node))
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
                for part in ast.walk(case.pattern):
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


def _merge(a: Env | None, b: Env | None, new_attrs: frozenset[str] | None = None) -> Env | None:
    """What is known after two paths join.

    A local name that only one path binds keeps that path's value: on the other path it is
    unbound, and reading it raises. So does `self.x` in an `__init__` where x is not in
    `new_attrs`'s complement: when neither a base class nor the class body gives x a value
    (`FileChecker.build`). Otherwise an attribute may hold an older value on the other path.
    """
    if a is None:
        return None if b is None else dict(b)
    if b is None:
        return dict(a)
    out: Env = {}
    for k in a.keys() | b.keys():
        va, vb = a.get(k), b.get(k)
        if (k in a) != (k in b):
            attr = k.startswith("self.") and k.count(".") == 1
            kept = "." not in k or (new_attrs is not None and attr and k[5:] in new_attrs)
            out[k] = (va if k in a else vb) if kept else None
        else:
            # What both paths share: `(b, s, d)` and `(b, s, h, d)` give `(b, s, ..., d)`.
            out[k] = _one_of([va, vb])
    return out


def _narrowed(test: ast.expr, env: Env, op: type[ast.cmpop] = ast.Eq) -> Env:
    """`x.ndim == 3` (or `x.dim()`, `len(x.shape)`) where x's shape holds one run: x with
    that many axes, the run's own fresh sizes; nothing for any other test. With `op`
    `ast.NotEq`, the same for the path where `x.ndim != 3` is false."""
    if not (isinstance(test, ast.Compare) and [type(o) for o in test.ops] == [op]):
        return {}
    left, right = test.left, test.comparators[0]
    if int_value(left) is not None:
        left, right = right, left
    k, name = int_value(right), _rank_of(left)
    shape = env.get(name) if name is not None else None
    if k is None or name is None or not isinstance(shape, tuple):
        return {}
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if len(runs) != 1 or k < len(shape) - 1:
        return {}
    g = runs[0]
    return {name: (*shape[:g], *(fresh() for _ in range(k - len(shape) + 1)), *shape[g + 1 :])}


def _rank_of(node: ast.expr) -> str | None:
    """The local name in `x.ndim`, `x.dim()` or `len(x.shape)`."""
    if isinstance(node, ast.Call) and not node.args and not node.keywords:
        if isinstance(node.func, ast.Attribute) and node.func.attr == "dim":
            node = ast.Attribute(node.func.value, "ndim")
    elif isinstance(node, ast.Call) and dotted_name(node.func) == "len" and len(node.args) == 1:
        arg = node.args[0]
        if isinstance(arg, ast.Attribute) and arg.attr == "shape":
            node = ast.Attribute(arg.value, "ndim")
    if isinstance(node, ast.Attribute) and node.attr == "ndim" and isinstance(node.value, ast.Name):
        return node.value.id
    return None


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


def _own_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a scope, in nested blocks too, but not in nested scopes."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, _Scopes):
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


class _Scope(_Expressions):
    """A module, class body or function, read statement by statement."""

    def __init__(
        self,
        file: "FileChecker",
        body: list[ast.stmt],
        fn: ast.FunctionDef | ast.AsyncFunctionDef | None = None,
        cls: ClassModel | None = None,
    ) -> None:
        self.file = file
        self.module = file.module
        self.fn = fn
        self.cls = cls
        self.body = body
        self.is_module = body is file.module.tree.body
        self.local: set[str] = set()
        self.rebound_globals: set[str] = set()
        if fn is not None:
            a = fn.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None:
                    self.local.add(arg.arg)
        index = _index(file.module)
        self.local.update(index.locals.get(id(body), ()))
        if self.is_module:
            self.rebound_globals = set(index.globals)
        self.exits: list[list[Env]] = []
        self.key = cls.key if cls is not None else 0
        self.keep_returns = False
        self.returned: list[Env] = []
        self.vals: dict[int, Value] = {}
        # For telling where an unknown shape came from: each expression's last value, and
        # the expression each local name was last bound from.
        self.seen: dict[int, Value] = {}
        self.results: list[Value] | None = None  # what each `return` gives, when inferring
        self.chosen: dict[str, int] = {}  # Union parameter -> the alternative it takes
        # In `__init__`: the attributes that nothing gave a value before it runs.
        self.new_attrs: frozenset[str] | None = None
        self.origins: dict[str, list[tuple[tuple[int, int], ast.expr, bool]]] = {}
        self.shapes_named: dict[str, Shape] = {}  # see `name_shape`

    def merge(self, a: Env | None, b: Env | None) -> Env | None:
        return _merge(a, b, self.new_attrs)

    def initial(self) -> Env:
        env: Env = {}
        fn = self.fn
        if fn is None:
            return env
        a = fn.args
        params = [*a.posonlyargs, *a.args]
        is_method = self.cls is not None and not _decorated(fn, "staticmethod")
        for i, arg in enumerate([*params, *a.kwonlyargs]):
            if i == 0 and is_method and arg in params:
                if self.cls is not None and not _decorated(fn, "classmethod"):
                    env[arg.arg] = ObjV(self.cls, exact=False)
                continue
            found = self.module.annotation(arg.annotation)
            if found is not None:
                env[arg.arg] = from_spec(found.spec)
            elif (
                (named := _class_named(arg.annotation)) is not None
                and (held := _find_class(self.module, named, self.file.misses))
                and (
                    not (self.cls is not None and fn.name == "__init__")
                    or held.method("forward") is not None
                )
            ):
                # `rays: RayBundle`: its annotated attributes have shapes. In `__init__`, a
                # module passed in (`encoding: Encoding`) is one; a config is a sym.
                env[arg.arg] = ObjV(held, exact=False)
            elif (
                self.cls is not None
                and fn.name == "__init__"
                and not _alternatives(self.module, arg.annotation)
            ):
                env[arg.arg] = SymV(arg.arg)
            elif (alts := _alternatives(self.module, arg.annotation)) and not (
                self.cls is not None and fn.name == "__init__"
            ):
                pick = self.chosen.get(arg.arg)
                shapes = [from_spec(a.spec) for a in alts]
                env[arg.arg] = shapes[pick] if pick is not None else _common_shape(shapes)
            elif _number_annotation(arg.annotation):
                # `eps: float`: a Python number, which broadcasts with any tensor.
                env[arg.arg] = NumV()
            else:
                env[arg.arg] = None
        for packed in (a.vararg, a.kwarg):
            if packed is not None:
                env[packed.arg] = None
        return env

    def run(self) -> Env | None:
        try:
            env = self.initial()
            if self.fn is not None and active().observer is not None:
                a = self.fn.args
                for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
                    if isinstance(env.get(arg.arg), tuple):
                        self.observe(arg, None, env, arg)
            return self.block(self.body, env)
        except RecursionError:
            return None

    def block(self, stmts: list[ast.stmt], env: Env | None) -> Env | None:
        for stmt in stmts:
            if env is None:
                return None
            env = self.stmt(stmt, env)
        return env

    def stmt(self, stmt: ast.stmt, env: Env) -> Env | None:
        """Read one statement: what is known after it, or None if it does not end normally."""
        read = _STATEMENTS.get(type(stmt))
        if read is not None:
            return read(self, stmt, env)
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self.value(child, env)
        return env

    def expr_stmt(self, stmt: ast.Expr | ast.Assert, env: Env) -> Env | None:
        self.value(stmt.value if isinstance(stmt, ast.Expr) else stmt.test, env)
        if isinstance(stmt, ast.Assert):
            env.update(_narrowed(stmt.test, env))
        return env

    def assign(self, stmt: ast.Assign, env: Env) -> Env | None:
        v = self.value(stmt.value, env)
        for target in stmt.targets:
            if isinstance(target, ast.Subscript):
                assigned(self, target, stmt.value, self.value(_as_load(target), env), v)
            self.bind(target, v, env)
            self.remember(target, stmt.value, env, stmt)
            self.observe(target, stmt.value, env, stmt)
        self.name_shape(stmt, env)
        return env

    def annotated(self, stmt: ast.AnnAssign, env: Env) -> Env | None:
        self.ann_assign(stmt, env)
        if stmt.value is not None:
            self.observe(stmt.target, stmt.value, env, stmt)
        return env

    def observe(self, target: ast.AST, source: ast.expr | None, env: Env, at: ast.AST) -> None:
        """Tell the run's observer, if it has one, the shape each name of `target` holds
        after `at`: a tensor's, or unknown and why (see `Shapes`)."""
        observer = active().observer
        if observer is None or self.file.silent or self.file.quiet:
            return
        if isinstance(target, (ast.Tuple, ast.List)):
            for e in target.elts:
                self.observe(e.value if isinstance(e, ast.Starred) else e, source, env, at)
            return
        name = target.arg if isinstance(target, ast.arg) else getattr(target, "id", None)
        if name is None:
            return
        v = env.get(name)
        if not (v is None or isinstance(v, tuple)):
            return  # not a tensor: a number, a list, a module
        if v is None and self.is_module and name in self.module.aliases:
            return  # `Embeddings = Float[Tensor, "b s d"]`: a type
        shape = None if v is None else tuple(str(i) for i in v)
        why = self.lost(source) if v is None and source is not None else ""
        if why == _LOST_OTHER:
            return  # nothing says that it holds a tensor: `xs = []`, `cfg = {}`
        line, col = getattr(target, "lineno", 0), getattr(target, "col_offset", 0)
        observer.add(
            self.module.path,
            Binding(
                line,
                col,
                col + len(name.encode()),
                name,
                getattr(at, "end_lineno", None) or line,
                shape,
                why,
                isinstance(target, ast.arg),
            ),
        )

    def aug_assign(self, stmt: ast.AugAssign, env: Env) -> Env | None:
        current = self.value(_as_load(stmt.target), env)
        other = self.value(stmt.value, env)
        v = self.aug_binop(stmt, current, other)
        self.bind(stmt.target, v, env)
        if v is None and isinstance(current, tuple):
            self.remember(stmt.target, stmt.value, {}, stmt)
        source = stmt.value if current is not None else _as_load(stmt.target)
        self.observe(stmt.target, source, env, stmt)
        return env

    def return_(self, stmt: ast.Return, env: Env) -> Env | None:
        if stmt.value is not None:
            v = self.value(stmt.value, env)
            if self.fn is not None:
                self.check_return(stmt.value, v)
            none = isinstance(stmt.value, ast.Constant) and stmt.value.value is None
            if self.results is not None and not none:
                self.results.append(v)
        if self.keep_returns:
            self.returned.append(dict(env))
        return None

    def raise_(self, stmt: ast.Raise, env: Env) -> Env | None:
        for part in (stmt.exc, stmt.cause):
            if part is not None:
                self.value(part, env)
        return None

    def jump(self, stmt: ast.Break | ast.Continue, env: Env) -> Env | None:
        if self.exits:
            self.exits[-1].append(dict(env))
        return None

    def if_(self, stmt: ast.If, env: Env) -> Env | None:
        self.value(stmt.test, env)
        narrowed = _narrowed(stmt.test, env)
        a = self.block(stmt.body, {**env, **narrowed})
        otherwise = _narrowed(stmt.test, env, ast.NotEq)
        b = self.block(stmt.orelse, {**env, **otherwise})
        # The run is whole again where the paths join, unless only one path goes on.
        for path, other, made in ((a, b, narrowed), (b, a, otherwise)):
            for k, v in made.items():
                if path is not None and other is not None and path.get(k) is v:
                    path[k] = env[k]
        return self.merge(a, b)

    def for_(self, stmt: ast.For | ast.AsyncFor, env: Env) -> Env | None:
        iterated = self.value(stmt.iter, env)
        self.remember(stmt.target, stmt.iter, {}, stmt.iter)
        return self.loop(stmt.body, stmt.orelse, env, stmt.target, _item_of(iterated))

    def while_(self, stmt: ast.While, env: Env) -> Env | None:
        self.value(stmt.test, env)
        return self.loop(stmt.body, stmt.orelse, env, None)

    def with_(self, stmt: ast.With | ast.AsyncWith, env: Env) -> Env | None:
        for item in stmt.items:
            self.value(item.context_expr, env)
            if item.optional_vars is not None:
                self.bind(item.optional_vars, None, env)
                self.remember(item.optional_vars, item.context_expr, {}, item.context_expr)
        return self.block(stmt.body, env)

    def try_(self, stmt: ast.Try | ast.TryStar, env: Env) -> Env | None:
        body = self.block(stmt.body, dict(env))
        start = self.merge(env, body)
        # Anything the body bound may or may not have happened in a handler.
        for name in _assigned(stmt.body):
            if start is not None:
                start[name] = None
        ends = [self.block(stmt.orelse, dict(body)) if body is not None else None]
        for handler in stmt.handlers:
            h_env = dict(start) if start is not None else {}
            if handler.name:
                h_env[handler.name] = None
            ends.append(self.block(handler.body, h_env))
        out: Env | None = None
        for end in ends:
            out = self.merge(out, end) if out is not None else end
        if stmt.finalbody:
            return self.block(stmt.finalbody, out if out is not None else dict(start or env))
        return out

    def definition(
        self, stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, env: Env
    ) -> Env | None:
        if not self.is_module:
            env[stmt.name] = None
        return env

    def import_(self, stmt: ast.Import | ast.ImportFrom, env: Env) -> Env | None:
        # The module's own imports are read by _source; a function's shadow names.
        if not self.is_module:
            for alias in stmt.names:
                env[(alias.asname or alias.name).split(".")[0]] = None
        return env

    def unbind(self, stmt: ast.Global | ast.Nonlocal | ast.Delete, env: Env) -> Env | None:
        if isinstance(stmt, ast.Delete):
            for t in stmt.targets:
                self.bind(t, None, env)
        else:
            for n in stmt.names:
                env[n] = None
        return env

    def match(self, stmt: ast.Match, env: Env) -> Env | None:
        self.value(stmt.subject, env)
        out: Env | None = dict(env)
        for case in stmt.cases:
            c_env = dict(env)
            for node in ast.walk(case.pattern):
                for n in _binds(node):
                    c_env[n] = None
            out = self.merge(out, self.block(case.body, c_env))
        return out

    def loop(
        self,
        body: list[ast.stmt],
        orelse: list[ast.stmt],
        env: Env,
        target: ast.expr | None,
        item: Value = None,
    ) -> Env | None:
        def once(start: Env) -> Env | None:
            run = dict(start)
            if target is not None:
                self.bind(target, item, run)
            self.exits.append([])
            end = self.block(body, run)
            for extra in self.exits.pop():
                end = self.merge(end, extra) if end is not None else extra
            return end

        self.file.quiet += 1
        try:
            first = once(env)
        finally:
            self.file.quiet -= 1
        head = self.merge(env, first) or env
        # The body runs again from what every iteration may have left behind.
        second = once(head)
        out = self.merge(head, second) or head
        return self.block(orelse, out) if orelse else out

    def bind(self, target: ast.expr, v: Value, env: Env) -> None:
        if isinstance(target, ast.Name):
            if self.is_module and target.id in self.rebound_globals:
                v = None
            if isinstance(v, ListV) or (isinstance(v, TupV) and v.mutable):
                if target.id in _shared_lists(self.module, self.body):
                    v = None  # code this reading does not follow may change the list
            if v is None and not self.is_module:
                v = self.declared_local(target.id)
            env[target.id] = v
        elif isinstance(target, (ast.Tuple, ast.List)):
            elts = target.elts
            starred = [i for i, e in enumerate(elts) if isinstance(e, ast.Starred)]
            items: tuple[Value, ...] | None = None
            if isinstance(v, TupV) and not starred and len(v.items) == len(elts):
                items = v.items  # a list is as the reading followed it (`_shared_lists`)
            elif isinstance(v, TupV) and not starred and not (v.mutable or v.uncertain):
                self.file.report(
                    target,
                    f"unpacking {len(v.items)} values into {len(elts)} names",
                )
            for i, e in enumerate(elts):
                if isinstance(e, ast.Starred):
                    self.bind(e.value, None, env)
                else:
                    self.bind(e, items[i] if items is not None else None, env)
        elif isinstance(target, ast.Attribute):
            base = self.dotted_target(target)
            if base is not None:
                env[base] = v
            else:
                self.value(target.value, env)
        elif isinstance(target, ast.Subscript):
            self.value(target.value, env)
            name = self.dotted_target(target.value)
            held = env.get(name) if name is not None else None
            if isinstance(held, ListV) and v == held.item:
                pass  # a list whose items all have one value, given one more of it
            elif name is not None and name in env and not isinstance(held, (TupV, ListV)):
                pass  # item assignment keeps a tensor's shape
            elif isinstance(target.value, ast.Name):
                env[target.value.id] = None
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None, env)

    def declared_local(self, name: str) -> Value:
        """What a local's annotation says it holds, where a value assigned to it has no
        shape the checker knows: `ray_samples: RaySamples` before `ray_samples, w = f(...)`."""
        annotation = _local_annotations(self.module, self.body).get(name)
        if annotation is None:
            return None
        declared = self.module.annotation(annotation)
        if declared is not None:
            return self.local_shape(declared, None)
        named = _class_named(annotation)
        held = None if named is None else _find_class(self.module, named, self.file.misses)
        return None if held is None else ObjV(held, exact=False)

    def name_shape(self, stmt: ast.Assign, env: Env) -> None:
        """`original_shape = x.shape` (or `x.shape[:-1]`) where x has a run of unknown
        length, which a tuple of sizes can't hold: the shape, for `*original_shape[:-1]` in a
        later `view`. A name bound more than once in the scope is left out."""
        value = stmt.value
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            return
        name = stmt.targets[0].id
        if len(self.origins.get(name, ())) != 1:
            return
        shape_expr = value.value if isinstance(value, ast.Subscript) else value
        if isinstance(shape_expr, ast.Attribute) and shape_expr.attr == "shape":
            part = self.shape_slice(value, None, env)
            if part is not None and any(isinstance(i, Group) for i in part):
                self.shapes_named[name] = part

    def remember(self, target: ast.expr, source: ast.expr, env: Env, at: ast.AST) -> None:
        """Which expression each name in `target` holds from the end of `at` on, and whether
        its shape is known."""
        if isinstance(target, ast.Name):
            end = (getattr(at, "end_lineno", 0) or 0, getattr(at, "end_col_offset", 0) or 0)
            known = env.get(target.id) is not None
            self.origins.setdefault(target.id, []).append((end, source, known))
            if len(self.origins[target.id]) > 1:
                self.shapes_named.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for e in target.elts:
                self.remember(e.value if isinstance(e, ast.Starred) else e, source, env, at)

    def origin(self, node: ast.Name) -> tuple[ast.expr, bool] | None:
        """The binding of `node`'s name that its use most likely reads: the last one before."""
        found = self.origins.get(node.id)
        if not found:
            return None
        here = (node.lineno, node.col_offset)
        before = [f for f in found if f[0] <= here]
        _end, source, known = (before or found)[-1]
        return source, known

    def dotted_target(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            return f"self.{node.attr}"
        return None

    def ann_assign(self, stmt: ast.AnnAssign, env: Env) -> None:
        declared = self.module.annotation(stmt.annotation)
        v = self.value(stmt.value, env) if stmt.value is not None else None
        unifier = None
        if declared is not None and stmt.value is not None:
            unifier = self.check_declared(stmt, declared, v)
        if declared is not None and isinstance(stmt.target, ast.Name) and self.fn is not None:
            bound: Value = self.local_shape(declared, unifier)
        elif declared is not None:
            bound = from_spec(declared.spec)
        else:
            bound = v
        if stmt.value is not None or declared is not None:
            self.bind(stmt.target, bound, env)


# How each kind of statement is read (`_Scope.stmt`); others have their expressions read.
_STATEMENTS: dict[type[ast.stmt], Callable[[_Scope, Any, Env], Env | None]] = {
    ast.Expr: _Scope.expr_stmt,
    ast.Assert: _Scope.expr_stmt,
    ast.Assign: _Scope.assign,
    ast.AnnAssign: _Scope.annotated,
    ast.AugAssign: _Scope.aug_assign,
    ast.Return: _Scope.return_,
    ast.Raise: _Scope.raise_,
    ast.Break: _Scope.jump,
    ast.Continue: _Scope.jump,
    ast.If: _Scope.if_,
    ast.For: _Scope.for_,
    ast.AsyncFor: _Scope.for_,
    ast.While: _Scope.while_,
    ast.With: _Scope.with_,
    ast.AsyncWith: _Scope.with_,
    ast.Try: _Scope.try_,
    ast.TryStar: _Scope.try_,
    ast.FunctionDef: _Scope.definition,
    ast.AsyncFunctionDef: _Scope.definition,
    ast.ClassDef: _Scope.definition,
    ast.Import: _Scope.import_,
    ast.ImportFrom: _Scope.import_,
    ast.Global: _Scope.unbind,
    ast.Nonlocal: _Scope.unbind,
    ast.Delete: _Scope.unbind,
    ast.Match: _Scope.match,
}


_IGNORE = re.compile(r"#\s*shapesafe:\s*ignore\b")


def _self_targets(node: ast.AST) -> list[str]:
    """`self.x` for each attribute of `self` that a statement assigns."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    return [
        f"self.{t.attr}"
        for each in targets
        for t in ast.walk(each)
        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
    ]


def _class_level(cls: ClassModel) -> set[str]:
    """Names that the body of `cls` or of a class it derives from gives a value."""
    out: set[str] = set()
    for stmt in cls.node.body:
        if isinstance(stmt, ast.Assign) or (isinstance(stmt, ast.AnnAssign) and stmt.value):
            out.update(_stmt_binds(stmt))
    for base in cls.bases:
        out |= _class_level(base)
    return out


def _generator(module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return per_node(
        module,
        "generator",
        fn,
        lambda: any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(fn.body)),
    )


class FileChecker(Reporter):
    """The check of one file: each of its scopes read in turn, and the classes and function
    bodies that its calls need, read once per file."""

    def __init__(self, module: Module, display: str, stats: Stats | None = None) -> None:
        super().__init__(module, display, stats)
        # (function, Union alternatives) -> what its body returns (`infer`)
        self.inferred: dict[tuple[int, tuple[tuple[str, int], ...]], Value] = {}
        self.inferring: set[tuple[int, tuple[tuple[str, int], ...]]] = set()

    def reader(self, module: Module) -> "FileChecker":
        """A checker that reads another scope for what it gives, reporting and counting
        nothing, and sharing this file's bodies already read."""
        reader = FileChecker(module, "", self.stats)
        reader.silent = 1
        reader.inferred, reader.inferring = self.inferred, self.inferring
        return reader

    def infer(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        cls: ClassModel | None,
        chosen: tuple[tuple[str, int], ...] = (),
    ) -> Value:
        """What `fn` returns, read from its body under its own annotations: a shape (or a
        tuple of them) in its dim names, or None. `chosen` gives the alternative that each
        of some Union parameters takes. Read once per function, alternatives and file."""
        key = (id(fn), chosen)
        if key in self.inferred:
            return self.inferred[key]
        if key in self.inferring or isinstance(fn, ast.AsyncFunctionDef) or _generator(module, fn):
            return None
        self.inferring.add(key)
        try:
            scope = _Scope(self.reader(module), fn.body, fn, cls)
            scope.chosen = dict(chosen)
            scope.results = []
            scope.run()
            value = _joined(scope.results)
        finally:
            self.inferring.discard(key)
        self.inferred[key] = value
        return value

    def build(self, cls: ClassModel) -> dict[str, Value]:
        """What `cls.__init__` assigns to `self`, read once per class."""
        if cls.attrs is not None:
            return cls.attrs  # type: ignore[return-value]
        if cls.building:
            return {}
        cls.building = True
        try:
            attrs: dict[str, Value] = {}
            for base in reversed(cls.bases):
                attrs.update(self.build(base))
            init = cls.methods.get("__init__")
            if init is not None:
                scope = _Scope(self.reader(cls.module), init.body, init, cls)
                scope.keep_returns = True
                older = set(attrs) | _class_level(cls)
                assigned = {k[5:] for n in _own_nodes(init.body) for k in _self_targets(n)} - older
                scope.new_attrs = frozenset(assigned)
                env = scope.run()
                for ended in scope.returned:
                    env = _merge(env, ended, scope.new_attrs) if env is not None else ended
                for qual in _base_names(cls):
                    attrs.update(inherited(qual, init, scope.seen))
                for k, v in (env or {}).items():
                    if k.startswith("self."):
                        attrs[k[5:]] = v
            cls.attrs = attrs  # type: ignore[assignment]
            return attrs
        finally:
            cls.building = False

    def run(self) -> list[Finding]:
        todo: list[
            tuple[list[ast.stmt], ast.FunctionDef | ast.AsyncFunctionDef | None, ClassModel | None]
        ]
        todo = [(self.module.tree.body, None, None)]
        while todo:
            body, fn, cls = todo.pop()
            if self._counting():
                self.stats.functions += 1
            _Scope(self, body, fn, cls).run()
            for node in _index(self.module).children.get(id(body), ()):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    owner = cls if fn is None and cls is not None and node in body else None
                    todo.append((node.body, node, owner))
                else:
                    todo.append((node.body, None, model(self.module, node)))
        lines = self.module.source.splitlines()
        kept = {
            f
            for f in self.findings
            if not (0 < f.line <= len(lines) and _IGNORE.search(lines[f.line - 1]))
        }
        return sorted(kept)


def _base_names(cls: ClassModel) -> list[str]:
    """The qualified names of a class's bases that are imported (`nn.Linear` is
    `torch.nn.Linear`)."""
    out = []
    for base in cls.node.bases:
        dotted = dotted_name(base)
        if dotted is None:
            continue
        first, _, rest = dotted.partition(".")
        origin = cls.module.imports.get(first)
        if origin is None:
            continue
        head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
        out.append(f"{head}.{rest}" if rest else head)
    return out
