"""The check of one file: each scope read in turn (`_flow._Scope`), and the function
bodies and class `__init__`s that its calls need, read once per file.
"""

import ast
import contextvars
import copy
import dataclasses
import re
from collections import Counter
from pathlib import Path
from typing import cast

from . import _torch as T
from ._flow import _merge, _Scope
from ._helpers import (
    BoundKey,
    Flags,
    Numbers,
    _plain_tensor,
    imported_function,
    in_caller_terms,
    renamed,
)
from ._modules import Change, ClassModel, base_names, model
from ._report import Env, Finding, Reporter, Stats
from ._rules.nn import inherited
from ._run import active
from ._scopes import _index, _own_nodes, _own_statements, _stmt_binds
from ._source import Module, dotted_name, load_found, memo, per_node, walk
from ._unify import Group, Shape, Size, sym
from ._values import IntV, LayerV, TupV, Value, _joined

_IGNORE = re.compile(r"#\s*shapesafe:\s*ignore\b")


# How many `FileChecker.steady` verdicts are being worked out, each under assumptions.
_assuming: contextvars.ContextVar[int] = contextvars.ContextVar("shapesafe_assuming", default=0)


# (function, the Union alternatives chosen, the flags given)
InferKey = tuple[int, tuple[tuple[str, int], ...], Flags]


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
        for t in walk(each)
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
    return per_node(module, "generator", fn, lambda: _read_generator(module, fn))


def _read_generator(module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    # A `yield` is written on one of the function's lines: most functions have none, and
    # are told apart without a walk over their nodes.
    lines = per_node(module, "yield lines", module.tree, lambda: _yield_lines(module.source))
    end = fn.end_lineno or len(module.source)
    if not any(fn.lineno <= line <= end for line in lines):
        return False
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(fn.body))


def _gives_value(module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether `fn` has a `return` of a value other than None."""
    return per_node(
        module,
        "gives a value",
        fn,
        lambda: any(
            isinstance(n, ast.Return)
            and n.value is not None
            and not (isinstance(n.value, ast.Constant) and n.value.value is None)
            for n in _own_statements(fn.body)
        ),
    )


def _unchanged(through: tuple[tuple[Path, Module | None], ...]) -> bool:
    """Whether each file a reading went through is still the version it read."""
    return all(load_found(path) is module for path, module in through)


def _yield_lines(source: str) -> list[int]:
    """The numbers of the lines that have `yield` on them, 1-based, as `ast` counts lines
    (a carriage return alone ends one too)."""
    if "yield" not in source:
        return []
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    return [i for i, line in enumerate(source.split("\n"), 1) if "yield" in line]


class FileChecker(Reporter):
    """The check of one file: each of its scopes read in turn, and the classes and function
    bodies that its calls need, read once per file."""

    def __init__(self, module: Module, display: str, stats: Stats | None = None) -> None:
        super().__init__(module, display, stats)
        # (function, Union alternatives) -> what its body returns (`infer`)
        self.inferred: dict[InferKey, Value] = {}
        self.inferring: set[InferKey] = set()
        # ... -> the owner class it was read with, and whether the run may share it
        self.inferred_by: dict[InferKey, tuple[object, bool]] = {}
        # For each body being read by `infer`, innermost last: whether what it gives
        # depends on where the reading started (see `depends`).
        self.particular: list[bool] = []
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
        reader.inferred_by, reader.particular = self.inferred_by, self.particular
        reader.inferred_bound, reader.inferring_bound = self.inferred_bound, self.inferring_bound
        return reader

    def infer(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        cls: ClassModel | None,
        chosen: tuple[tuple[str, int], ...] = (),
        flags: Flags = (),
    ) -> Value:
        """What `fn` returns, read from its body under its own annotations: a shape (or a
        tuple of them) in its dim names, or None. `chosen` gives the alternative that each
        of some Union parameters takes. Read once per function, alternatives and file;
        once per run where the reading does not depend on the file (`depends`)."""
        key = (id(fn), chosen, flags)
        if key in self.inferred:
            owner, general = self.inferred_by[key]
            if owner is not cls or not general:
                self.depends()
            return self.inferred[key]
        if key in self.inferring:
            self.depends()  # a recursion, cut where this file's reading entered it
            return None
        if isinstance(fn, ast.AsyncFunctionDef) or _generator(module, fn):
            return None
        if not _gives_value(module, fn):
            return None  # what the reading would give: it has no `return` of a value
        shared = memo(module, "inferred")  # for every file of the run
        held = shared.get((id(fn), chosen, flags, id(cls)))
        if held is not None and held[0] is fn and held[1] is cls and _unchanged(held[3]):
            self.inferred[key], self.inferred_by[key] = held[2], (cls, True)
            return cast(Value, held[2])
        reading = active().reading
        self.inferring.add(key)
        self.particular.append(False)
        reading.append({module.path: module})
        try:
            scope = _Scope(self.reader(module), fn.body, fn, cls)
            scope.chosen, scope.flags = dict(chosen), dict(flags)
            scope.results = []
            scope.run()
            value = _joined(scope.results)
        finally:
            self.inferring.discard(key)
            general = not self.particular.pop()
            through = reading.pop()
        if reading:
            reading[-1].update(through)
        self.inferred[key], self.inferred_by[key] = value, (cls, general)
        if general:
            shared[id(fn), chosen, flags, id(cls)] = (fn, cls, value, tuple(through.items()))
        return value

    def read_nested(
        self,
        module: Module,
        fn: ast.FunctionDef,
        bound: tuple[tuple[str, Shape], ...] = (),
        flags: Flags = (),
        numbers: Numbers = (),
    ) -> Value:
        """What a function defined in the body being checked returns, read with the names it
        shares with that body as they are bound there (`closures`) and with what the call
        gives its unannotated parameters (as `infer_bound`), in that body's sizes. Not kept:
        a reading of the enclosing body with other shapes binds those names to other values."""
        key = (id(fn), (), ())
        if self.silent or key in self.inferring or _generator(module, fn):
            return None
        self.inferring.add(key)
        self.particular.append(True)
        try:
            reader = self.reader(module)
            reader.closures = self.closures
            scope = _Scope(reader, fn.body, fn, None)
            scope.bound, scope.flags, scope.numbers = dict(bound), dict(flags), dict(numbers)
            scope.results = []
            scope.run()
            value = _joined(scope.results)
        finally:
            self.inferring.discard(key)
            self.particular.pop()
        # The enclosing body's sizes are those of its names the function reads, those the
        # call gives; a size the function's own annotations name is its own.
        held = self.closures.get(id(fn), {}).values()
        kept = tuple(i for v in held if isinstance(v, tuple) for i in v)
        sizes = tuple(v.size for _, v in numbers if isinstance(v, IntV))
        return in_caller_terms(value, (*bound, ("", kept), ("", sizes)))

    def depends(self) -> None:
        """What the bodies being read give depends on this file: on a body read earlier in
        it with another owner, or on the readings in progress (a recursion cut, a depth)."""
        self.particular[:] = [True] * len(self.particular)

    def infer_bound(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        cls: ClassModel | None,
        bound: tuple[tuple[str, Shape], ...],
        made: tuple[tuple[Size, Size], ...] = (),
        flags: Flags = (),
        numbers: Numbers = (),
    ) -> Value:
        """What `fn` returns when its unannotated parameters hold the caller's shapes
        `bound`, in the caller's sizes (`_helpers`); read once per function and shapes.
        `made` takes each sym of the callee's class to the size its instance was made with;
        `flags` are the parameters that hold a constant (`given_flags`), `numbers` those
        that the call gives a Python number (`number_params`)."""
        self.depends()  # read once per file, to a depth
        key = (id(fn), bound, made, (*flags, *numbers))
        if key in self.inferred_bound:
            return self.inferred_bound[key]
        if (
            key in self.inferring_bound
            or len(self.inferring_bound) > 8
            or isinstance(fn, ast.AsyncFunctionDef)
            or _generator(module, fn)
        ):
            return None
        self.inferring_bound.add(key)
        try:
            scope = _Scope(self.reader(module), fn.body, fn, cls)
            scope.bound, scope.flags = dict(bound), dict(flags)
            scope.numbers = dict(numbers)
            scope.results = []
            scope.run()
            value = _joined(scope.results)
            if made:
                value = renamed(value, dict(made))
                bound = (*bound, ("", tuple(size for _, size in made)))
            given = tuple(
                i.size
                for _, v in flags
                if isinstance(v, TupV)
                for i in v.items
                if isinstance(i, IntV)
            )
            sizes = tuple(v.size for _, v in numbers if isinstance(v, IntV))
            value = in_caller_terms(value, (*bound, ("", given), ("", sizes)))
        finally:
            self.inferring_bound.discard(key)
        self.inferred_bound[key] = value
        return value

    def function_value(self, module: Module, fn: ast.stmt) -> Value:
        """A function defined in a body (`def tanh_relu(x): ...`, then `return tanh_relu`): a
        layer that keeps its input's shape where it takes one tensor and its body, read with
        a tensor of any shape, gives back a tensor of that very shape; nothing known else."""
        if not isinstance(fn, ast.FunctionDef) or fn.decorator_list:
            return None
        a = fn.args
        params = [*a.posonlyargs, *a.args]
        if len(params) != 1 or a.vararg or a.kwarg or a.kwonlyargs or a.defaults:
            return None
        ann = params[0].annotation
        if ann is not None and not _plain_tensor(module, ann):
            return None
        x = (Group("", -1 - (id(fn) & 0xFFFFFFFF)),)  # one per function: its reading is kept
        return (
            LayerV("same", ())
            if self.infer_bound(module, fn, None, ((params[0].arg, x),)) == x
            else None
        )

    def build(self, cls: ClassModel) -> dict[str, Value]:
        """What `cls.__init__` assigns to `self`, and the methods of `cls` that an
        `__init__` calls on `self` (threestudio's `configure`), read once per class."""
        if cls.attrs is not None:
            return cls.attrs  # type: ignore[return-value]
        if cls.building:
            self.depends()
            return {}
        cls.building = True
        try:
            attrs: dict[str, Value] = {}
            for base in reversed(cls.bases):
                attrs.update(_rekeyed(self.build(base), base, cls.instance_key))
            init = cls.methods.get("__init__")
            if init is not None:
                seen = self.assigned_by(cls, init, attrs)
                for qual in base_names(cls):
                    for k, v in inherited(qual, init, seen, cls.key).items():
                        attrs.setdefault(k, v)  # what `__init__` sets after it stands
                self.built_by_helpers(cls, init, attrs)
            for name in cls.init_hooks():
                hook = cls.methods.get(name)
                if hook is not None:
                    self.assigned_by(cls, hook, attrs)
                    self.built_by_helpers(cls, hook, attrs)
            cls.attrs = attrs  # type: ignore[assignment]
            return attrs
        finally:
            cls.building = False

    def steady(self, cls: ClassModel, attr: str) -> bool:
        """Whether every statement of a method other than `__init__` that changes `attr`
        (`ClassModel.changes`) keeps the tensor shape that `build` gives it: an in-place
        change, or an assignment of a value of that very shape (`self.W_dec.data =
        self.W_dec.data / norms`).

        The values are read with the attributes in question assumed steady: if each change
        keeps the shape while all of them hold theirs, then none ever changes it. Any that
        fails is dropped and the rest read again. A verdict worked out while another one is
        assumed is not kept.
        """
        if cls.steady is None:
            if cls.building:
                return False
            outer = _assuming.get() == 0
            token = _assuming.set(_assuming.get() + 1)
            verdicts: dict[str, bool] = {}
            try:
                verdicts = self._steady(cls)
            finally:
                _assuming.reset(token)
                cls.steady = verdicts if outer and verdicts else None
            return verdicts.get(attr, False)
        return cls.steady.get(attr, False)

    def _steady(self, cls: ClassModel) -> dict[str, bool]:
        built = self.build(cls)
        changes = {attr: cls.changes(attr) for attr in _rebound_names(cls)}
        kept = {
            attr
            for attr, made in changes.items()
            if not made
            or (isinstance(built.get(attr), tuple) and all(c.kind != "other" for c in made))
        }
        while True:
            cls.steady = dict.fromkeys(changes, False) | dict.fromkeys(kept, True)
            failed = self._changed_shapes(cls, built, {a: changes[a] for a in kept})
            if not failed:
                return cls.steady
            kept -= failed

    def _changed_shapes(
        self, cls: ClassModel, built: dict[str, Value], changes: dict[str, list[Change]]
    ) -> set[str]:
        """The attributes among `changes` that a "value" change gives another shape than
        `built`, each method read once on an instance of `cls`."""
        by_fn: dict[int, list[tuple[str, Change]]] = {}
        for attr, made in changes.items():
            for change in made:
                if change.kind == "value":
                    by_fn.setdefault(id(change.fn), []).append((attr, change))
        failed: set[str] = set()
        for items in by_fn.values():
            first = items[0][1]
            reader = FileChecker(first.owner.module, "", self.stats)
            reader.silent = 1
            scope = _Scope(reader, first.fn.body, first.fn, cls)
            scope.run()
            for attr, change in items:
                value = getattr(change.stmt, "value", None)
                if value is None or scope.seen.get(id(value), None) != built.get(attr):
                    failed.add(attr)
        return failed

    def built_by_helpers(
        self, cls: ClassModel, fn: ast.FunctionDef | ast.AsyncFunctionDef, attrs: dict[str, Value]
    ) -> None:
        """`_init_weights_gated(self)`, a statement of `fn`'s body itself (so run on every
        path), where `fn` builds `cls`: what that function of the checked files assigns to its
        first parameter, which `self` is given, is built too, unless `fn` assigns it itself."""
        own = {k[5:] for n in _own_nodes(fn.body) for k in _self_targets(n)}
        for stmt in fn.body:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if not isinstance(call, ast.Call) or not call.args:
                continue
            first, dotted = call.args[0], dotted_name(call.func)
            if not (isinstance(first, ast.Name) and first.id == "self") or dotted is None:
                continue
            found = imported_function(cls.module, dotted)
            builder = _as_method(*found) if found is not None else None
            if found is None or builder is None:
                continue
            got = dict(attrs)
            self.assigned_by(cls, builder, got, found[0])
            made = {k[5:] for n in _own_nodes(builder.body) for k in _self_targets(n)}
            attrs.update({k: got.get(k) for k in made - own})

    def assigned_by(
        self,
        cls: ClassModel,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        attrs: dict[str, Value],
        module: Module | None = None,
    ) -> dict[int, Value]:
        """Put into `attrs` what `fn`, a method that builds `cls`, assigns to `self`; give back
        the value of each expression it read. `module` is `fn`'s, where it is not `cls`'s."""
        scope = _Scope(self.reader(module or cls.module), fn.body, fn, cls)
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


def _as_method(
    module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """A function whose first parameter is given `self`, as a method: that parameter named
    `self`. None where it has no such parameter or already reads another `self`."""
    params = [*fn.args.posonlyargs, *fn.args.args]
    if not params or any(isinstance(n, ast.Name) and n.id == "self" for n in walk(fn)):
        return None
    name = params[0].arg

    def read() -> ast.FunctionDef | ast.AsyncFunctionDef:
        copy = cast(ast.FunctionDef, _renamed_tree(fn, name))
        first = (copy.args.posonlyargs or copy.args.args)[0]
        first.arg, first.annotation = "self", None
        return copy

    return per_node(module, "as method", fn, read)


def _renamed_tree(fn: ast.AST, name: str) -> ast.AST:
    """A copy of `fn` in which each use of the name `name` reads `self`."""

    class Renamer(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            return ast.copy_location(ast.Name("self", node.ctx), node) if node.id == name else node

    return cast(ast.AST, ast.fix_missing_locations(Renamer().visit(copy.deepcopy(fn))))


def _rekeyed(attrs: dict[str, Value], base: ClassModel, key: int) -> dict[str, Value]:
    """What `base` builds, in the sizes of the subclass whose instance key is `key`: a size
    of `self` that a base's code read (`self.cfg.d_sae`) is the subclass's size of that name,
    since both read the one instance. A size of a parameter of the base's `__init__` stays
    the base's: the subclass's own parameters are others."""
    keys = {c.instance_key for c in base.mro()} - {key}
    if not keys:
        return attrs

    def mine(i: Size) -> bool:  # not the base's `__init__` parameters, which are its own
        return i.kind == "sym" and i.key in keys and str(i.value).startswith("self.")

    def size(i: Size) -> Size:
        if mine(i):
            return sym(str(i.value), key)
        m = T.monomial(i) if i.kind == "expr" and i.key else None
        if m is None or not any(mine(a) for a in m[1]):
            return i
        return T.from_monomial((m[0], Counter({size(a): n for a, n in m[1].items()})))

    def walk(v: Value) -> Value:
        if isinstance(v, tuple):
            return tuple(size(i) if isinstance(i, Size) else i for i in v)
        if isinstance(v, TupV) and not v.mutable:
            return dataclasses.replace(v, items=tuple(walk(i) for i in v.items))
        if isinstance(v, LayerV):
            return dataclasses.replace(v, weight=walk(v.weight), bias=walk(v.bias))
        return v

    return {k: walk(v) for k, v in attrs.items()}


def _rebound_names(cls: ClassModel) -> set[str]:
    """The attributes that `cls.is_rebound` names."""
    out = set(cls.rebound)
    for base in cls.bases:
        out |= _rebound_names(base)
    return out
