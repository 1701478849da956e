"""The check of one file: each scope read in turn (`_flow._Scope`), and the function
bodies and class `__init__`s that its calls need, read once per file.
"""

import ast
import re

from ._flow import _merge, _Scope
from ._helpers import BoundKey, in_caller_terms, renamed
from ._modules import ClassModel, model
from ._report import Env, Finding, Reporter, Stats
from ._rules.nn import inherited
from ._scopes import _index, _own_nodes, _stmt_binds
from ._source import Module, dotted_name, per_node
from ._unify import Shape, Size
from ._values import Value, _joined

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
        # (function, its unannotated parameters' shapes) -> what its body returns
        self.inferred_bound: dict[BoundKey, Value] = {}
        self.inferring_bound: set[BoundKey] = set()
        # nested function -> what it reads of the function around it (`_Scope.definition`)
        self.closures: dict[int, Env] = {}

    def reader(self, module: Module) -> "FileChecker":
        """A checker that reads another scope for what it gives, reporting and counting
        nothing, and sharing this file's bodies already read."""
        reader = FileChecker(module, "", self.stats)
        reader.silent = 1
        reader.inferred, reader.inferring = self.inferred, self.inferring
        reader.inferred_bound, reader.inferring_bound = self.inferred_bound, self.inferring_bound
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

    def infer_bound(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        cls: ClassModel | None,
        bound: tuple[tuple[str, Shape], ...],
        made: tuple[tuple[Size, Size], ...] = (),
    ) -> Value:
        """What `fn` returns when its unannotated parameters hold the caller's shapes
        `bound`, in the caller's sizes (`_helpers`); read once per function and shapes.
        `made` takes each sym of the callee's class to the size its instance was made with."""
        key = (id(fn), bound, made)
        if key in self.inferred_bound:
            return self.inferred_bound[key]
        if (
            key in self.inferring_bound
            or len(self.inferring_bound) > 4
            or isinstance(fn, ast.AsyncFunctionDef)
            or _generator(module, fn)
        ):
            return None
        self.inferring_bound.add(key)
        try:
            scope = _Scope(self.reader(module), fn.body, fn, cls)
            scope.bound = dict(bound)
            scope.results = []
            scope.run()
            value = _joined(scope.results)
            if made:
                value = renamed(value, dict(made))
                bound = (*bound, ("", tuple(size for _, size in made)))
            value = in_caller_terms(value, bound)
        finally:
            self.inferring_bound.discard(key)
        self.inferred_bound[key] = value
        return value

    def build(self, cls: ClassModel) -> dict[str, Value]:
        """What `cls.__init__` assigns to `self`, and the methods of `cls` that an
        `__init__` calls on `self` (threestudio's `configure`), read once per class."""
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
                seen = self.assigned_by(cls, init, attrs)
                for qual in _base_names(cls):
                    attrs.update(inherited(qual, init, seen))
            for name in cls.init_hooks():
                hook = cls.methods.get(name)
                if hook is not None:
                    self.assigned_by(cls, hook, attrs)
            cls.attrs = attrs  # type: ignore[assignment]
            return attrs
        finally:
            cls.building = False

    def assigned_by(
        self, cls: ClassModel, fn: ast.FunctionDef | ast.AsyncFunctionDef, attrs: dict[str, Value]
    ) -> dict[int, Value]:
        """Put into `attrs` what `fn`, a method that builds `cls`, assigns to `self`; give back
        the value of each expression it read."""
        scope = _Scope(self.reader(cls.module), fn.body, fn, cls)
        scope.keep_returns = True
        older = set(attrs) | _class_level(cls)
        assigned = {k[5:] for n in _own_nodes(fn.body) for k in _self_targets(n)} - older
        scope.new_attrs = frozenset(assigned)
        env = scope.run()
        for ended in scope.returned:
            env = _merge(env, ended, scope.new_attrs) if env is not None else ended
        for k, v in (env or {}).items():
            if k.startswith("self."):
                attrs[k[5:]] = v
        return scope.seen

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
