"""What a call gives where its contract leaves it open: an instance of the class a return
annotation names, a user module's output in the sizes its instance was made with, and the
torch layer that an instance of a layer's subclass is."""

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._modules import ClassModel, _find_class, base_names, layer_base
from ._report import _Explaining
from ._rules.nn import LAYER_ATTRS, made_layer
from ._source import Module, _class_named, _params, dotted_name
from ._unify import Shape, Size, sym
from ._values import ClsV, IntV, LayerV, ObjV, SymV, TupV, Value


class _Made(_Explaining):
    """The part of a scope that reads what a call gives from the class it names or the
    instance it runs on."""

    if TYPE_CHECKING:

        def size_of(self, v: Value) -> Size | None: ...

    def instance_returned(
        self, module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef
    ) -> Value:
        """`-> RaySamples`: an instance of the class a return annotation names, where the
        checker reads that class; which subclass, it does not know. `-> Tuple[RaySamples,
        List]`: a tuple of such instances, and of values not known."""
        misses = self.file.misses if module is self.module else {}
        node = fn.returns
        parts: list[ast.expr] | None = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
            if (dotted_name(node.value) or "").rsplit(".", 1)[-1] in ("tuple", "Tuple"):
                parts = list(node.slice.elts)
        found: list[Value] = []
        for part in parts if parts is not None else [node]:
            if isinstance(part, ast.Constant) and part.value is Ellipsis:
                return None  # `Tuple[RaySamples, ...]`: how many, not known
            named = _class_named(part)
            held = None if named is None else _find_class(module, named, misses)
            found.append(None if held is None else ObjV(held, exact=False))
        if all(v is None for v in found):
            return None
        return found[0] if parts is None else TupV(tuple(found))

    def layer_made(self, instance: ObjV) -> LayerV | None:
        """The torch layer (in `LAYER_ATTRS`) that an instance of a subclass of it is, in
        the sizes it was made with: those its constructor hands on unchanged, or those
        that its `__init__` gives `super().__init__` (a size of the instance's own
        is left unknown)."""
        cls = instance.cls
        assert isinstance(cls, ClassModel)
        qual = layer_base(cls, LAYER_ATTRS)
        if qual is not None:
            return made_layer(qual, dict(instance.sizes))
        qual = next((q for c in cls.mro() for q in base_names(c) if q in LAYER_ATTRS), None)
        init = cls.method("__init__")
        if qual is None or init is None:
            return None
        attrs, made = self.file.build(cls), dict(made_by(instance))
        sizes: dict[str, Size] = {}
        for name in LAYER_ATTRS[qual]:
            v = attrs.get(name)
            if isinstance(v, IntV) and v.size.kind == "int":
                sizes[name] = v.size
            elif isinstance(v, SymV) and (given := made.get(sym(v.text, init[0].key))):
                sizes[name] = given
        return made_layer(qual, sizes)

    def made_run(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        owner: ClassModel | None,
        given: dict[str, ast.expr],
        shape_of: Callable[[ast.expr], Value],
        out: Shape,
        run: int,
        instance: ObjV,
    ) -> Shape:
        """`out`, a return with a run at `run` (`... out_features`), where the body of a
        module's method, read with the caller's shapes and the sizes its instance was made
        with, gives what the run and the free dims stand for."""
        bound = []
        for arg in _params(fn):
            expr = given.get(arg.arg)
            v = shape_of(expr) if expr is not None else None
            if isinstance(v, tuple):
                bound.append((arg.arg, v))
        made = made_by(instance)
        if not made:
            return out
        got = self.file.infer_bound(module, fn, owner, tuple(bound), made)
        tail = len(out) - run - 1
        if not isinstance(got, tuple) or len(got) < run + tail:
            return out
        result = list(got)
        for i in [*range(run), *range(len(out) - tail, len(out))]:
            item, at = out[i], i if i < run else len(got) - (len(out) - i)
            if isinstance(item, Size) and item.kind != "fresh":
                result[at] = item
        return tuple(result)

    def made_sizes(self, out: Shape, body: Shape, free: set[int], instance: "ObjV | None") -> Shape:
        """`out` with each free dim where the callee's body gives a size of its instance's
        `__init__` parameter (`self.weight` of `out_features`) read as the size the instance
        was made with."""
        assert instance is not None and isinstance(instance.cls, ClassModel)
        init = instance.cls.method("__init__")
        if init is None:
            return out
        key, made = init[0].key, dict(instance.sizes)
        got = list(out)
        for i in free:
            item = body[i]
            if isinstance(item, Size) and item.kind == "sym" and item.key == key:
                got[i] = made.get(str(item.value), got[i])
        return tuple(got)

    def made(
        self, node: ast.Call, held: ClsV, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        """An instance of the class `held` that `node` makes, with the sizes it is given."""
        cls = held.cls
        assert isinstance(cls, ClassModel)
        literal = _literal_arguments(cls, node, args, kwargs)
        sized = _sized_arguments(self.size_of, cls, node, args, kwargs)
        return ObjV(cls, held.exact, given=literal, sizes=sized)


def made_by(instance: "ObjV | None") -> tuple[tuple[Size, Size], ...]:
    """Each sym of an instance's class (a parameter of its `__init__`) with the size the
    instance was made with, in the sizes of the code that made it."""
    if instance is None or not instance.sizes:
        return ()
    assert isinstance(instance.cls, ClassModel)
    init = instance.cls.method("__init__")
    if init is None:
        return ()
    return tuple((sym(k, init[0].key), size) for k, size in instance.sizes)


def _init_arguments(
    cls: ClassModel, node: ast.Call, args: list[Value], kwargs: dict[str, Value]
) -> dict[str, Value]:
    """The values a constructor call gives `cls.__init__`'s parameters, by name (`self`
    aside); none where `__init__` is not read or the call splices `*args`."""
    init = cls.method("__init__")
    qual = layer_base(cls, LAYER_ATTRS)
    if (init is None and qual is None) or any(isinstance(a, ast.Starred) for a in node.args):
        return {}
    if qual is not None:
        # A layer's subclass that hands on its arguments: the layer's parameters.
        params, named = list(LAYER_ATTRS[qual]), []
    else:
        assert init is not None
        params = [a.arg for a in [*init[1].args.posonlyargs, *init[1].args.args]][1:]
        named = [a.arg for a in init[1].args.kwonlyargs]
    given = dict(zip(params, args, strict=False))
    given.update({k: v for k, v in kwargs.items() if k in params or k in named})
    return given


def _sized_arguments(
    size_of: Callable[[Value], Size | None],
    cls: ClassModel,
    node: ast.Call,
    args: list[Value],
    kwargs: dict[str, Value],
) -> tuple[tuple[str, Size], ...]:
    """The parameters of `cls.__init__` that a constructor call gives a size that is no
    fresh unknown (`Linear(d_model, d_key)`), in the sizes of the code that calls it."""
    given = _init_arguments(cls, node, args, kwargs)
    sizes = {k: size_of(v) for k, v in given.items()}
    return tuple((k, s) for k, s in sizes.items() if s is not None and s.kind != "fresh")


def _literal_arguments(
    cls: ClassModel, node: ast.Call, args: list[Value], kwargs: dict[str, Value]
) -> tuple[tuple[str, int], ...]:
    """The parameters of `cls.__init__` that a constructor call gives a literal int."""
    given = _init_arguments(cls, node, args, kwargs)
    return tuple(
        (name, v.size.value)
        for name, v in given.items()
        if isinstance(v, IntV) and v.size.kind == "int" and isinstance(v.size.value, int)
    )
