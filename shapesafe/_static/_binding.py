"""Binding: what assigning a value to a target does to the names a scope knows (tuples
unpacked, rows of a tensor, annotated locals), and where a name's value came from."""

import ast

from ._expr import _Expressions, _size_parts
from ._modules import _find_class
from ._report import Env
from ._scopes import (
    _local_annotations,
    changed_elsewhere,
)
from ._source import _class_named
from ._unify import (
    Group,
    Shape,
    Size,
    facts,
)
from ._values import (
    ListV,
    ObjV,
    TupV,
    Value,
    dict_stored,
)


class _Binding(_Expressions):
    """The part of a scope that binds values to targets."""

    def bind(self, target: ast.expr, v: Value, env: Env) -> None:
        if isinstance(target, ast.Name):
            if self.is_module and target.id in self.rebound_globals:
                v = None
            if changed_elsewhere(self.module, self.body, target.id, v):
                v = None  # code this reading does not follow may change the list or dict
            if v is None and not self.is_module:
                v = self.declared_local(target.id)
            if isinstance(v, tuple) and (known := facts()) is not None:
                known.carry(v)
            env[target.id] = v
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target, v, env)
        elif isinstance(target, ast.Attribute):
            base = self.dotted_target(target)
            if base is not None and v is None and self.cls is not None and "." in base:
                # `self.cfg = parse(self.Config, cfg)` where the class says `cfg: Config`
                v = self.declared_attribute(self.cls, target.attr)
            if base is not None:
                env[base] = v
            else:
                self.value(target.value, env)
        elif isinstance(target, ast.Subscript):
            self.value(target.value, env)
            name = self.dotted_target(target.value)
            held = env.get(name) if name is not None else None
            if dict_stored(target, v, env):
                pass
            elif isinstance(held, ListV) and v == held.item:
                pass  # a list whose items all have one value, given one more of it
            elif name is not None and name in env and not isinstance(held, (TupV, ListV)):
                pass  # item assignment keeps a tensor's shape
            elif isinstance(target.value, ast.Name):
                env[target.value.id] = None
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None, env)

    def unpack(self, target: ast.Tuple | ast.List, v: Value, env: Env) -> None:
        """`a, b = v`: each name bound to its item, where the checker knows them."""
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
        elif isinstance(v, tuple) and not starred:
            items = self.tensor_rows(target, v)
        for i, e in enumerate(elts):
            if isinstance(e, ast.Starred):
                self.bind(e.value, None, env)
            else:
                self.bind(e, items[i] if items is not None else None, env)

    def tensor_rows(self, target: ast.Tuple | ast.List, shape: Shape) -> tuple[Value, ...] | None:
        """`a, b, c = x` of a tensor whose first axis has a literal size: each name holds one
        row, so x's shape without that axis, and the axis must have as many rows as there
        are names (torch raises ValueError otherwise). A first axis of another size (a batch
        `B`) is not read: unpacking it into a fixed count of names says the value is not
        what its annotation says."""
        if not shape or not isinstance(shape[0], Size) or shape[0].kind != "int":
            return None
        n, first = len(target.elts), shape[0]
        if first.value != n:
            self.file.report(
                target,
                f"unpacking {n} names from a tensor whose first axis has {first} rows "
                "(torch raises ValueError)",
            )
            return None
        return tuple(shape[1:] for _ in range(n))

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
        """`original_shape = x.shape` (or `x.shape[:-1]`, `x.size()[:-1] + (h, d)`) where x
        has a run of unknown length, which a tuple of sizes can't hold: the shape, for
        `*original_shape[:-1]` or `new_shape` in a later `view`. A name bound more than once
        in the scope is left out."""
        value = stmt.value
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            return
        name = stmt.targets[0].id
        if len(self.origins.get(name, ())) != 1:
            return
        parts = _size_parts(value)
        part = None if parts is None else self.spliced_sizes(parts, env)
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
