"""Statements, binding, branches, loops and merges: a scope read statement by statement.

A function's parameters and annotated locals get the shapes their jaxtyping annotations
state. From there, each statement is read in order: assignments rebind names, branches
and loops merge what they bind (a name that differs between branches becomes unknown),
and every expression gets a shape from a rule (`_expr`). Everything else is unknown, and
unknown values are never reported.
"""

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ._binding import _Binding
from ._calls import BodyCall
from ._counted import appended_once, passes
from ._facts import _narrowed, _unpacked, asserted_shape, dead_if, named_like_dims, ordered, stated
from ._fixtures import fixture_for
from ._guards import carry_guards
from ._helpers import constant_locals, decided, tensor_tested
from ._instances import not_instances
from ._modules import ClassModel, _find_class
from ._passed import param_shape
from ._report import _LOST_OTHER, Env, Finding, _alternatives, tensor_or_number
from ._rules.index import assigned
from ._run import Binding, active
from ._runs import starred_parts
from ._scopes import (
    _as_load,
    _assigned,
    _binds,
    _imported_as_the_file_does,
    _index,
    _own_nodes,
    _shared_lists,
)
from ._source import _class_named, _decorated, _number_annotation, _params, walk
from ._unify import (
    Facts,
    Group,
    Shape,
    Size,
    facts,
    from_spec,
    lit,
    scope_facts,
)
from ._unify import name as size_named
from ._values import (
    IntV,
    ListV,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
    _common_shape,
    _held,
    _item_of,
    _one_of,
    returned_tuple,
    sequence_of,
)

if TYPE_CHECKING:
    from ._file import FileChecker


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


def _bound_once(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names of `fn` bound exactly once: a parameter never assigned, or a local assigned
    by one statement outside any loop."""
    a = fn.args
    params = {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if p}
    counts: dict[str, int] = {}
    looped: set[str] = set()
    for node in _own_nodes(fn.body):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            looped.update(_assigned(node.body) | _assigned(node.orelse))
        for name in _binds(node):
            counts[name] = counts.get(name, 0) + 1
    out = {p for p in params if p not in counts}
    return out | {k for k, n in counts.items() if n == 1 and k not in params | looped}


def _number_default(fn: ast.FunctionDef | ast.AsyncFunctionDef, arg: ast.arg) -> bool:
    """Whether `arg`'s default is a float or bool literal (`scale=0.5`, `flag=False`)."""
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    pairs = list(zip(positional[len(positional) - len(a.defaults) :], a.defaults, strict=True))
    pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
    for param, default in pairs:
        if param is arg:
            if isinstance(default, ast.UnaryOp) and isinstance(default.op, ast.USub):
                default = default.operand
            return isinstance(default, ast.Constant) and type(default.value) in (float, bool)
    return False


def _followed_list(v: Value) -> bool:
    """Whether `v` is a list whose changes the reading follows (`_shared_lists`)."""
    return isinstance(v, ListV) or (isinstance(v, TupV) and v.mutable)


def _grown(held: Value, more: TupV) -> Value:
    """What a list holds after `xs += more`."""
    if more.fields:
        return None
    if isinstance(held, TupV):
        return TupV((*held.items, *map(_held, more.items)), mutable=True)
    assert isinstance(held, ListV)
    return held if all(i == held.item for i in more.items) else None


_SIZES = frozenset(("shape", "ndim", "size", "dim", "numel", "len", "isinstance"))
# jaxtyping's integer dtypes, which some code writes bare for a Python int: `n: Int`.
_BARE_INTS: frozenset[str | None] = frozenset(
    f"jaxtyping.{n}" for n in ("Int", "Integer", "Int32", "Int64", "UInt")
)


def _reads_sizes(test: ast.expr) -> bool:
    """Whether a branch's condition may read a size, so that which path runs may depend on
    the shapes: `w = a if x.shape[-1] == 3 else b`. Its paths are not read one by one."""
    for node in walk(test):
        if isinstance(node, ast.Attribute) and node.attr in _SIZES:
            return True
        if isinstance(node, ast.Name) and node.id in _SIZES:
            return True
    return False


class _Scope(_Binding):
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
        if fn is not None:
            self.local -= _imported_as_the_file_does(file.module, body)
        if self.is_module:
            self.rebound_globals = set(index.globals)
        self.exits: list[list[Env]] = []
        self.key = cls.instance_key if cls is not None else 0
        self.keep_returns = False
        self.returned: list[Env] = []
        self.vals: dict[int, Value] = {}
        # For telling where an unknown shape came from: each expression's last value, and
        # the expression each local name was last bound from.
        self.seen: dict[int, Value] = {}
        self.results: list[Value] | None = None  # what each `return` gives, when inferring
        self.chosen: dict[str, int] = {}  # Union parameter -> the alternative it takes
        self.bound: dict[str, Shape] = {}  # unannotated parameter -> the caller's shape
        self.numbers: dict[str, Value] = {}  # unannotated parameter -> the number given it
        self.flags: dict[str, object] = {}  # parameter -> the constant it holds throughout
        # In `__init__`: the attributes that nothing gave a value before it runs.
        self.new_attrs: frozenset[str] | None = None
        self.origins: dict[str, list[tuple[tuple[int, int], ast.expr, bool]]] = {}
        self.shapes_named: dict[str, Shape] = {}  # see `name_shape`
        # What each path of the last `if` read knew where it ended (`branches`).
        self.ends_knowing: tuple[Facts | None, Facts | None] = (None, None)
        self.called: list[BodyCall] | None = None  # see `expr_stmt`

    def merge(self, a: Env | None, b: Env | None) -> Env | None:
        if a is not None and b is not None and self.cls is not None:
            a, b = self.declared_side(a, b), self.declared_side(b, a)
        return _merge(a, b, self.new_attrs)

    def declared_side(self, env: Env, other: Env) -> Env:
        """`env`, with `self.x` where only `other` assigns it and the class declares
        `x: Float[Tensor, "n 3"]` (or `Optional[...]`): on this path `x` holds what it held
        before, which its declaration says. So `if self._n is None: self._n = f()` keeps the
        declared shape after the `if`. An attribute `__init__` makes here is left to `_merge`.
        """
        assert self.cls is not None
        added: Env = {}
        for k in other.keys() - env.keys():
            attr = k[5:]
            if not k.startswith("self.") or "." in attr:
                continue
            if self.new_attrs is not None and attr in self.new_attrs:
                continue
            declared = self.declared_attribute(self.cls, attr)
            if isinstance(declared, tuple):
                added[k] = declared
        return {**env, **added} if added else env

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
            env[arg.arg] = self.param_value(fn, arg)
        for packed in (a.vararg, a.kwarg):
            if packed is not None:
                env[packed.arg] = None
        env.update(self.bound)
        env.update({k: v for k, v in self.numbers.items() if env.get(k) is None})
        for name, value in self.flags.items():
            if isinstance(value, TupV):
                env[name] = value  # `size=(d_out, d_in)`, as the caller gives it
            elif (
                (self.bound or self.numbers)
                and type(value) is int
                and isinstance(env.get(name), IntV | None)
            ):
                env[name] = IntV(lit(value))  # `dim: int = -1`, as the caller leaves it
        for k, v in self.file.closures.get(id(fn), {}).items():
            if k not in self.local:
                env[k] = v
        return env

    def param_value(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, arg: ast.arg) -> Value:
        """What a parameter holds as the body starts, as its annotation says."""
        found = self.module.annotation(arg.annotation) or tensor_or_number(
            self.module, arg.annotation
        )
        if found is not None:
            # A tensor or a number (`n: Int[Tensor, ""] | int`) is read as the tensor.
            return param_shape(fn, arg.arg, found.spec)
        if (
            (named := _class_named(arg.annotation)) is not None
            and (held := _find_class(self.module, named, self.file.misses))
            and (
                not (self.cls is not None and fn.name == "__init__")
                or held.method("forward") is not None
            )
        ):
            # `rays: RayBundle`: its annotated attributes have shapes. In `__init__`, a
            # module passed in (`encoding: Encoding`) is one; a config is a sym.
            return ObjV(held, exact=False)
        if (
            self.cls is not None
            and fn.name == "__init__"
            and isinstance(arg.annotation, ast.Name)
            and arg.annotation.id == "float"
        ):
            return NumV()  # `beta_init: float`: a number the instance is made with, not a size
        if (
            self.cls is not None
            and fn.name == "__init__"
            and not _alternatives(self.module, arg.annotation)
            and sequence_of(self.module, arg.annotation) is None  # `shape: tuple[int, ...]`
        ):
            return SymV(arg.arg)
        if (alts := _alternatives(self.module, arg.annotation)) and not (
            self.cls is not None and fn.name == "__init__"
        ):
            pick = self.chosen.get(arg.arg)
            shapes = [from_spec(a.spec) for a in alts]
            return shapes[pick] if pick is not None else _common_shape(shapes)
        bare = arg.annotation is not None and self.qualified(arg.annotation) in _BARE_INTS
        if (isinstance(arg.annotation, ast.Name) and arg.annotation.id == "int") or bare:
            # `n_heads: int` (or jaxtyping's `Int` written bare for one): a size the caller
            # picks, an unknown of its own.
            return IntV(size_named(arg.arg))
        if _number_annotation(arg.annotation):
            # `eps: float`: a Python number, which broadcasts with any tensor.
            return NumV()
        if (items := sequence_of(self.module, arg.annotation)) is not None:
            return items
        if arg.annotation is None and _number_default(fn, arg):
            # `noise_scale=0.0`, `keepdim=False`: a Python number, as `eps: float` is.
            return NumV()
        fixture = fixture_for(self.module, fn, self.cls, arg.arg)
        if fixture is not None:
            # What pytest passes: what the fixture returns.
            v = self.file.infer(self.module, fixture, None)
            return v if isinstance(v, tuple) else None
        return None

    def run(self) -> Env | None:
        with scope_facts() as facts:
            # A body read with its caller's shapes (`bound`) takes the caller's sizes and
            # the instance's: its own names are not the caller's to equate.
            cls = self.cls
            if self.fn is not None and not self.bound and cls is not None and not cls.building:
                held = self.file.build(cls)
                facts.assume(named_like_dims(self.module, self.fn, held, self.key))
            return self._run()

    def _run(self) -> Env | None:
        try:
            env = self.initial()
            if self.fn is not None and active().observer is not None:
                for arg in _params(self.fn):
                    if isinstance(env.get(arg.arg), tuple):
                        self.observe(arg, None, env, arg)
            return self.block(self.body, env)
        except RecursionError:
            self.file.depends()  # a depth that the reading's start decides
            return None

    def block(self, stmts: list[ast.stmt], env: Env | None) -> Env | None:
        for i, stmt in enumerate(stmts):
            if env is None:
                return None
            if (
                isinstance(stmt, ast.If)
                and stmt.orelse
                and not _reads_sizes(stmt.test)
                and self.may_fork(stmts[i + 1 :])
            ):
                a, b = self.branches(stmt, env)
                knowing = self.ends_knowing
                joined = self.merge(a, b)
                # Only what both paths assign: a path that leaves a value as it was is
                # most often one that a config rules out (`if not cfg.ungrouped: k = ...`).
                both = _assigned(stmt.body) & _assigned(stmt.orelse)
                if a is None or b is None or joined is None:
                    return self.forked(stmts[i + 1 :], None, None, joined)
                a = {**joined, **{k: v for k, v in a.items() if k in both}}
                b = {**joined, **{k: v for k, v in b.items() if k in both}}
                return self.forked(stmts[i + 1 :], a, b, joined, knowing)
            env = self.stmt(stmt, env)
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.IfExp):
                if (
                    env is not None
                    and not _reads_sizes(stmt.value.test)
                    and self.may_fork(stmts[i + 1 :])
                ):
                    a, b = dict(env), dict(env)
                    for target in stmt.targets:
                        self.bind(target, self.seen.get(id(stmt.value.body)), a)
                        self.bind(target, self.seen.get(id(stmt.value.orelse)), b)
                    return self.forked(stmts[i + 1 :], a, b, env)
        return env

    def may_fork(self, rest: list[ast.stmt]) -> bool:
        """Whether the statements after a branch may be read once for each path into them
        (`forked`): in a function read for its findings, with no later branch whose
        condition could be tied to this one's, so that each path is one the code can take."""
        if self.fn is None or self.file.silent or not rest:
            return False
        tied = (ast.If, ast.IfExp, ast.Match, ast.While, ast.BoolOp, ast.Try, ast.TryStar)
        return not any(isinstance(n, tied) for n in _own_nodes(rest))

    def forked(
        self,
        rest: list[ast.stmt],
        a: Env | None,
        b: Env | None,
        joined: Env | None,
        knowing: tuple[Facts | None, Facts | None] = (None, None),
    ) -> Env | None:
        """Read `rest` after a branch whose paths end in `a` and `b`: once from where they
        join, which counts for `--stats`; and where they differ, once from each path, so
        that a value that is wrong on one path does not hide behind the other's. A path's
        finding is kept on a line where the joined reading found nothing. Each path is
        read with what its guard said (`knowing`), where it is known."""
        if a is None or b is None or a == b:
            return self.block(rest, joined)
        paths = ((a, knowing[0]), (b, knowing[1]))
        found = self.on_each_path(lambda: [self.one_path(rest, *path) for path in paths])
        out = self.block(rest, joined)
        self.keep_new(found)
        return out

    def one_path(self, rest: list[ast.stmt], env: Env, knowing: Facts | None) -> Env | None:
        """Read `rest` from `env`, where one path ends, with what its guard said."""
        if knowing is None:
            return self.block(rest, dict(env))
        with scope_facts(knowing):
            return self.block(rest, dict(env))

    def on_each_path(self, read: Callable[[], object]) -> set[Finding]:
        """What `read` finds, counting nothing and reporting nothing yet."""
        kept = self.file.findings
        self.file.findings = set()
        self.file.quiet += 1
        self.file.on_path += 1
        try:
            read()
        finally:
            self.file.quiet -= 1
            self.file.on_path -= 1
            found, self.file.findings = self.file.findings, kept
        return found

    def keep_new(self, found: set[Finding]) -> None:
        """Report what one path's reading found, on lines where the reading of the joined
        paths found nothing: it says the same, from what both paths share."""
        lines = {f.line for f in self.file.findings}
        self.file.findings |= {f for f in found if f.line not in lines}

    def check_arms(self, node: ast.expr) -> None:
        """The return check of each value that `a if c else b` may give."""
        if isinstance(node, ast.IfExp):
            self.check_arms(node.body)
            self.check_arms(node.orelse)
        else:
            self.check_return(node, self.seen.get(id(node)))

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
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            # `_check(x, y)`: what its guards equate holds from here on (`carry_guards`).
            before, self.called = self.called, []
            try:
                self.value(stmt.value, env)
                made = self.called
            finally:
                self.called = before
            carry_guards(self, stmt.value, made, env)
            return env
        self.value(stmt.value if isinstance(stmt, ast.Expr) else stmt.test, env)
        if isinstance(stmt, ast.Assert):
            env.update(_narrowed(stmt.test, env))
            asserted_shape(self, stmt.test, env)
            held = facts()
            if held is not None:
                held.assume(stated(self, stmt.test, env))
                held.at_most(ordered(self, stmt.test, env))
        return env

    def assign(self, stmt: ast.Assign, env: Env) -> Env | None:
        env.update(_unpacked(stmt, env))
        v = self.value(stmt.value, env)
        for target in stmt.targets:
            if self.optional_attr(target, stmt.value):
                continue
            if isinstance(target, ast.Subscript):
                assigned(self, target, stmt.value, self.value(_as_load(target), env), v)
            self.bind(target, v, env)
            self.remember(target, stmt.value, env, stmt)
            self.starred_shape(stmt, env)
            self.observe(target, stmt.value, env, stmt)
        self.name_shape(stmt, env)
        return env

    def starred_shape(self, stmt: ast.Assign, env: Env) -> None:
        """`*b, h, w = x.shape`: each name its size, and the starred one its sizes as a list,
        or (for `*b` in a later `view`) the run of unknown length that x's shape holds."""
        target = stmt.targets[0] if len(stmt.targets) == 1 else None
        elts = target.elts if isinstance(target, (ast.Tuple, ast.List)) else []
        star = [i for i, e in enumerate(elts) if isinstance(e, ast.Starred)]
        value = stmt.value
        if len(star) != 1 or not (isinstance(value, ast.Attribute) and value.attr == "shape"):
            return
        part = self.shape_slice(value, None, env)
        parts = None if part is None else starred_parts(len(elts), star[0], part)
        named = [e.value if isinstance(e, ast.Starred) else e for e in elts]
        if parts is None or not all(isinstance(e, ast.Name) for e in named):
            return
        ids = [cast(ast.Name, e).id for e in named]
        names, sizes = (*ids[: star[0]], *ids[star[0] + 1 :]), (*parts[0], *parts[2])
        for i, item in zip(names, sizes, strict=True):
            env[i] = IntV(item) if isinstance(item, Size) else None
        if any(isinstance(i, Group) for i in parts[1]):
            if len(self.origins.get(ids[star[0]], ())) == 1:
                self.shapes_named[ids[star[0]]] = parts[1]
        elif ids[star[0]] not in _shared_lists(self.module, self.body):
            env[ids[star[0]]] = TupV(tuple(IntV(cast(Size, i)) for i in parts[1]), mutable=True)

    def optional_attr(self, target: ast.expr, value: ast.expr) -> bool:
        """`self.rope = None` where the class is built and another path gives `self.rope` a
        value (`self.rope = Rope(...)`): the attribute holds that value wherever it is used,
        since using None as one fails. So the None is not bound, and the paths' merge keeps
        the value."""
        return (
            self.new_attrs is not None
            and isinstance(value, ast.Constant)
            and value.value is None
            and isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
            and target.attr in self.new_attrs
        )

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
        if isinstance(stmt.op, ast.Add) and _followed_list(current) and isinstance(other, TupV):
            v = _grown(current, other)  # `xs += [v]`, as `xs.extend([v])`
        else:
            v = self.aug_binop(stmt, current, other)
        self.bind(stmt.target, v, env)
        if v is None and isinstance(current, tuple):
            self.remember(stmt.target, stmt.value, {}, stmt)
        source = stmt.value if current is not None else _as_load(stmt.target)
        self.observe(stmt.target, source, env, stmt)
        return env

    def return_(self, stmt: ast.Return, env: Env) -> Env | None:
        if stmt.value is not None:
            v = returned_tuple(stmt.value, self.value(stmt.value, env), self.seen)
            if self.fn is not None:
                self.check_return(stmt.value, v)
                if isinstance(stmt.value, ast.IfExp) and not _reads_sizes(stmt.value.test):
                    arms = stmt.value
                    self.keep_new(self.on_each_path(lambda: self.check_arms(arms)))
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
        return self.merge(*self.branches(stmt, env))

    def branches(self, stmt: ast.If, env: Env) -> tuple[Env | None, Env | None]:
        """Where each path of an `if` ends, or None for one that does not go on."""
        self.value(stmt.test, env)
        self.ends_knowing = (None, None)
        flags = {**dict(constant_locals(self.module, self.fn)), **self.flags} if self.fn else {}
        known = decided(stmt.test, flags) if flags else None
        if known is None and (given := {k for k, v in self.bound.items() if env.get(k) is v}):
            known = tensor_tested(stmt.test, given, self.qualified)  # `if s is None:`, s given
        if known is not None:
            # The call's constants decide it: only one path runs.
            taken = stmt.body if known else stmt.orelse
            ends = self.block(taken, env)
            for name in _assigned(taken):
                self.flags.pop(name, None)  # a default filled in: no longer the call's
            return (ends, None) if known else (None, ends)
        narrowed = _narrowed(stmt.test, env)
        held = facts()
        with scope_facts(held) as facts_a:
            facts_a.assume(stated(self, stmt.test, env))
            facts_a.at_most(ordered(self, stmt.test, env))
            dead = dead_if(self.module, self.fn, stmt, env, True)
            a = None if dead else self.block(stmt.body, {**env, **narrowed})
        otherwise = _narrowed(stmt.test, env, ast.NotEq)
        otherwise.update(not_instances(self.module, self.fn, stmt.test, env))
        with scope_facts(held) as facts_b:
            facts_b.assume(stated(self, stmt.test, env, False))
            facts_b.at_most(ordered(self, stmt.test, env, False))
            dead = dead_if(self.module, self.fn, stmt, env, False)
            b = None if dead else self.block(stmt.orelse, {**env, **otherwise})
        self.ends_knowing = (facts_a, facts_b)
        if held is not None and (a is None) != (b is None):
            # What the guard says holds on where only one path goes on.
            on = facts_b if a is None else facts_a
            held.parent, held.order = on.parent, on.order
        # The run is whole again where the paths join, unless only one path goes on.
        for path, other, made in ((a, b, narrowed), (b, a, otherwise)):
            for k, v in made.items():
                if path is not None and other is not None and path.get(k) is v:
                    path[k] = env[k]
        return a, b

    def for_(self, stmt: ast.For | ast.AsyncFor, env: Env) -> Env | None:
        iterated = self.value(stmt.iter, env)
        self.remember(stmt.target, stmt.iter, {}, stmt.iter)
        grown = appended_once(stmt)
        before = env.get(grown) if grown is not None else None
        out = self.loop(stmt.body, stmt.orelse, env, stmt.target, _item_of(iterated))
        if grown is not None and out is not None and before == TupV((), mutable=True):
            # `outs = []`, then one `outs.append(v)` a pass: as many items as passes.
            held, n = out.get(grown), passes(stmt.iter, iterated, self.seen)
            if isinstance(held, ListV) and n is not None:
                out[grown] = ListV(held.item, n)
        return out

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
        if self.fn is not None and not isinstance(stmt, ast.ClassDef) and not self.file.silent:
            # What a nested function reads of this one's names, where each is bound once
            # and already was: its value when the nested function runs.
            once = _bound_once(self.fn)
            self.file.closures[id(stmt)] = {
                k: v for k, v in env.items() if k in once and v is not None
            }
        if not self.is_module:
            env[stmt.name] = self.file.function_value(self.module, stmt)
        return env

    def import_(self, stmt: ast.Import | ast.ImportFrom, env: Env) -> Env | None:
        # The module's own imports are read by _source; so are a function's that bind a
        # name as the file does (`_imported_as_the_file_does`). Others shadow the name.
        if not self.is_module:
            for alias in stmt.names:
                name = (alias.asname or alias.name).split(".")[0]
                if name in self.local:
                    env[name] = None
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
            for node in walk(case.pattern):
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

    def ann_assign(self, stmt: ast.AnnAssign, env: Env) -> None:
        declared = self.module.annotation(stmt.annotation)
        v = self.value(stmt.value, env) if stmt.value is not None else None
        unifier = None
        if declared is not None and stmt.value is not None:
            unifier = self.check_declared(stmt, declared, v)
        if declared is not None and self.fn is not None:
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
