"""Attribute reads and subscripts: what `x.shape`, `self.w`, `obj.attr` and `x[i]` give, and
the dtype a name holds where the code says so."""

import ast
from collections import Counter
from typing import TYPE_CHECKING, Literal

from . import _torch as T
from ._calls import _overridden, _substituted, _tuple_returns
from ._declared import _Declared
from ._helpers import _plain_tensor
from ._made import made_by
from ._modules import ClassModel, _find_class, _getter
from ._report import Env
from ._rules import dtypes
from ._rules._registry import kw, shape_tuple
from ._rules.index import (
    _BITWISE,
    SAME_DTYPE,
    SAME_DTYPE_OPS,
    indices_of,
    int_list,
    returned_label,
    subscript,
)
from ._source import _class_named, _number_annotation, _params, dotted_name, walk
from ._torch import int_literal
from ._unify import Shape, Size, Unifier, fresh, from_spec, lit, sym
from ._values import (
    _TUPLES,
    AnyOfV,
    DictV,
    IntV,
    LayerV,
    ListV,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
    dict_key,
    sequence_of,
)

_INT_LABELS = frozenset(
    "Int Integer UInt Int8 Int16 Int32 Int64 UInt8 UInt16 UInt32 UInt64".split()
)


_INT_DTYPES = frozenset(f"torch.{t}" for t in "long int int8 int16 int32 int64 uint8 short".split())


_INT_MAKERS = frozenset(
    """torch.arange torch.randint torch.argmax torch.argmin torch.argsort
    torch.randperm""".split()
)


_CONSTANTS = frozenset(
    f"{m}.{c}" for m in ("math", "numpy", "torch") for c in ("pi", "e", "tau", "inf", "nan")
)


def _size_call(node: ast.Call) -> bool:
    """`x.size(1)` of a name: one size, read without calling anything else."""
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "size"
        and isinstance(func.value, ast.Name)
        and len(node.args) == 1
        and not node.keywords
        and int_literal(node.args[0]) is not None
    )


def _in_made_sizes(shape: Shape, obj: ObjV) -> Shape:
    """A tensor attribute of another class's instance (`self.head.weight`), in the sizes
    the instance was made with: a size its `__init__` names is the size the constructor
    call gave, or one unknown here where the call gave none, never the class's own name,
    which two instances of the class share."""
    cls = obj.cls
    assert isinstance(cls, ClassModel)
    init = cls.method("__init__")
    if init is None:
        return shape
    made = dict(made_by(obj))
    key = init[0].key

    def given(i: Size) -> Size:
        if i.kind == "sym" and i.key == key:
            return made.get(i) or fresh()
        m = T.monomial(i) if i.kind == "expr" else None
        if m is None or not any(a.kind == "sym" and a.key == key for a in m[1]):
            return i
        # `2*d_out`: each of the class's sizes in the product as the call gave it.
        atoms = [(given(a), n) for a, n in m[1].items()]
        if any(a.kind == "fresh" for a, _ in atoms):
            return fresh()
        return T.from_monomial((m[0], Counter({a: n for a, n in atoms})))

    return tuple(given(i) if isinstance(i, Size) else i for i in shape)


class _Access(_Declared):
    """The part of a scope that reads attributes and subscripts of values."""

    if TYPE_CHECKING:

        def dotted_target(self, node: ast.expr) -> str | None: ...

        def size_of(self, v: Value) -> Size | None: ...

    def attribute(self, node: ast.Attribute, env: Env) -> Value:
        dotted = self.dotted_target(node)
        if dotted is not None and dotted in env:
            return env[dotted]
        base = self.value(node.value, env)
        attr = node.attr
        if base is None and attr in ("pi", "e", "tau", "inf", "nan"):
            if self.qualified(node) in _CONSTANTS:
                return NumV()
        if isinstance(base, tuple):
            if attr == "shape":
                return shape_tuple(base)
            if attr in ("mT", "T"):
                if (attr == "T" and T.rank(base) not in (None, 2)) or len(base) < 2:
                    return None
                if attr == "T" and T.rank(base) is None:
                    return None
                return T.transpose(base, -2, -1)
            if attr == "ndim":
                n = T.rank(base)
                return None if n is None else IntV(lit(n))
            if attr in ("data", "grad", "real", "imag"):
                return base
            return None
        if isinstance(base, TupV):
            return base.field(attr)
        if isinstance(base, ObjV):
            return self.config_size(node, base, self.obj_attribute(base, attr))
        if isinstance(base, AnyOfV):
            return self.each(
                base, lambda o: self.obj_attribute(o, attr) if isinstance(o, ObjV) else None
            )
        if isinstance(base, SymV):
            if attr in base.changed or attr == "shape":
                return None  # `self.mean.shape` of a value not known: no one size
            ints = self.config_ints(node.value, attr)  # `*self.cfg.grid_size`: so many numbers
            return SymV(f"{base.text}.{attr}") if ints is None else TupV((NumV(),) * ints)
        if isinstance(base, LayerV):
            if attr == "weight":
                return base.weight
            if attr == "bias":
                return base.bias
        return None

    def obj_attribute(self, obj: ObjV, attr: str) -> Value:
        cls = obj.cls
        assert isinstance(cls, ClassModel)
        declared = self.declared_attribute(cls, attr)
        if declared is not None:
            return declared
        method = cls.method(attr)
        getter_of = _getter(method, attr) if method is not None else None
        if getter_of is not None:
            # `@property def W_pos(self) -> Float[Tensor, "n_ctx d_model"]`: its contract;
            # without one (or with a bare `-> Tensor`), what its body gives (unless a
            # subclass may override it).
            # Its dim names are its own, as a call's are: fresh sizes here.
            # `@property def geometry(self) -> BaseGeometry`: an instance of that class, as
            # a call of a method so annotated gives.
            owner_cls, getter = getter_of
            ret = owner_cls.module.annotation(getter.returns)
            if ret is not None:
                return Unifier().result(ret.spec)
            if (parts := _tuple_returns(owner_cls.module, getter)) is not None:
                # `-> Tuple[Float[Tensor, "l m"], Float[Tensor, "m"]]`: each in one set of sizes.
                made = Unifier()
                return TupV(tuple(None if p is None else made.result(p.spec) for p in parts))
            plain = getter.returns is None or _plain_tensor(owner_cls.module, getter.returns)
            if plain and (obj.exact or not _overridden(cls, attr)):
                got = self.file.infer(owner_cls.module, getter, owner_cls)
                on_self = self.cls is not None and self.cls is cls
                return _substituted(got, Unifier(), on_self) if isinstance(got, tuple) else None
            if getter.returns is not None:
                return self.instance_returned(owner_cls.module, getter)
            return None
        if method is not None:
            return None
        # Another method may assign it again: known where every such assignment keeps the
        # tensor's shape, and for a config whose other fields they set (`self.cfg.device`).
        fields = None
        if cls.is_rebound(attr) and not self.file.steady(cls, attr):
            fields = cls.fields_changed(attr)
            if fields is None:
                return None
        # A subclass's __init__ may assign the attribute differently.
        attrs = self.file.build(cls) if obj.exact or not _overridden(cls, "__init__") else {}
        v = attrs.get(attr)
        if v is None and self.cls is cls:
            v = SymV(f"self.{attr}")
        if isinstance(v, tuple) and self.cls is not cls:
            v = _in_made_sizes(v, obj)
        if fields is not None:
            return SymV(v.text, v.changed | fields) if isinstance(v, SymV) else None
        return v

    def config_size(self, node: ast.Attribute, obj: ObjV, got: Value) -> Value:
        """`self.cfg.d_in`, where the class declares `d_in: int` and no method of `self`'s
        class sets `cfg` or that field of it: a size set when the object is built, the
        same at each read (a sym), rather than some number."""
        holder = node.value
        if not (
            isinstance(got, NumV)
            and self.cls is not None
            and isinstance(holder, ast.Attribute)
            and isinstance(holder.value, ast.Name)
            and holder.value.id == "self"
        ):
            return got
        cls = obj.cls
        assert isinstance(cls, ClassModel)
        found = cls.annotation(node.attr)
        if found is None or not (isinstance(found[1], ast.Name) and found[1].id == "int"):
            return got
        fields = self.cls.fields_changed(holder.attr)
        if fields is None or node.attr in fields:
            return got
        return SymV(f"self.{holder.attr}.{node.attr}")

    def config_ints(self, holder: ast.expr, attr: str) -> int | None:
        """How many numbers `self.cfg.<attr>` holds where the class declares `cfg: Config`
        and Config declares `attr: Tuple[int, int, int]` (or of floats), and no method of the
        class sets cfg or that field of it: the sizes of `torch.zeros(1, *self.cfg.grid_size)`,
        the numbers of `x * self.cfg.range[1]`."""
        if not (
            self.cls is not None
            and isinstance(holder, ast.Attribute)
            and isinstance(holder.value, ast.Name)
            and holder.value.id == "self"
        ):
            return None
        held = holder.attr
        found = self.cls.annotation(held)
        fields = self.cls.fields_changed(held)
        if found is None or fields is None or attr in fields:
            return None
        owner, ann = found
        if not isinstance(ann, ast.Name):
            return None
        for stmt in owner.node.body:  # a config class declared in the class
            if isinstance(stmt, ast.ClassDef) and stmt.name == ann.id:
                return _int_tuple(stmt, attr)
        cls = _find_class(owner.module, ann, self.file.misses)
        return None if cls is None else _int_tuple(cls.node, attr)

    def declared_attribute(self, cls: ClassModel, attr: str) -> Value:
        """What the annotation of `attr` in `cls` (or a base) says it holds, if it says."""
        found = cls.annotation(attr)
        if found is None:
            return None
        owner = found[0].module
        ann = owner.annotation(found[1])
        if ann is not None and attr not in found[0].declared_here:
            # Annotated where a method sets it (`self.mass: "n_components vocab" = ...` in
            # `__init__`): its dim names are that method's, sizes of the instance set when
            # it was built. They are the same as the reading function's dims of those names,
            # and otherwise sizes of the class's own, known by the first size they must
            # equal (a method's "n_comp vocab").
            own = self.annotated_names(with_return=True)
            return tuple(
                sym(str(i.value), cls.instance_key)
                if isinstance(i, Size) and i.kind == "name" and i.value not in own
                else i
                for i in from_spec(ann.spec)
            )
        if ann is not None:
            return from_spec(ann.spec)
        if _number_annotation(found[1]):
            return NumV()  # `batch_size: int`: a number, if not which one
        numbers = sequence_of(owner, found[1])
        if numbers is not None:
            return numbers  # `fovy_range: Tuple[float, float]`
        named = _class_named(found[1])
        if named is not None:
            # `frustums: Frustums`: an instance of a class the checker reads.
            misses = self.file.misses if owner is self.module else {}
            held = _find_class(owner, named, misses)
            if held is not None:
                return ObjV(held, exact=False)
        return None

    def subscript(self, node: ast.Subscript, env: Env) -> Value:
        base = self.value(node.value, env)
        sl = node.slice
        parts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        for p in parts:
            if not isinstance(p, ast.Slice):
                self.value(p, env)
                continue
            for bound in (p.lower, p.upper):
                # `x[..., :k]`: what k is, where reading it calls nothing but `t.size(i)`.
                if bound is not None and int_literal(bound) is None:
                    calls = [n for n in walk(bound) if isinstance(n, ast.Call)]
                    if all(_size_call(c) for c in calls):
                        self.value(bound, env)
        if base is None and isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            # `x.shape[-1]` where x's shape has a run: the axis at that end, as `x.size(-1)`.
            x, i = self.seen.get(id(node.value.value)), int_literal(sl)
            at = T.size_at(x, i) if isinstance(x, tuple) and i is not None else None
            return None if at is None else IntV(at)
        if isinstance(base, TupV):
            i = int_literal(sl)
            if i is not None:
                if -len(base.items) <= i < len(base.items):
                    return base.items[i]
                return None
            if isinstance(sl, ast.Slice) and sl.step is None:
                lo, hi = (
                    int_literal(sl.lower) if sl.lower else 0,
                    int_literal(sl.upper) if sl.upper else None,
                )
                if lo is None or (sl.upper is not None and hi is None):
                    return None
                return TupV(base.items[lo:hi])
            return None
        if isinstance(base, tuple):
            return subscript(self, node, base, parts, self.index_kind)
        if isinstance(base, ListV) and not isinstance(sl, ast.Slice):
            return base.item
        if isinstance(base, ListV) and isinstance(sl, ast.Slice) and sl.step is None:
            return base  # `self.layers[1:]`: a list of the same like items
        if isinstance(base, DictV):
            return base.get(dict_key(sl))
        return None

    def dtype_label(self, node: ast.expr) -> str | None:
        """The jaxtyping label (`Bool`, `Int`) of a parameter that `node` names and that its
        function never rebinds; None for anything else."""
        if not isinstance(node, ast.Name) or self.fn is None or node.id in self.origins:
            return None
        for arg in _params(self.fn):
            if arg.arg == node.id:
                found = self.module.annotation(arg.annotation)
                return found.dtype_label if found is not None else None
        return None

    def dtype_tested(self, node: ast.expr) -> bool:
        """Whether the function asks what dtype the name `node` holds (`if image.dtype ==
        torch.bool:`), so that it may hold another than its annotation says."""
        return (
            isinstance(node, ast.Name) and self.fn is not None and dtypes.tested(self.fn, node.id)
        )

    def index_kind(self, node: ast.expr, depth: int = 0) -> Literal["int", "bool"] | None:
        """Whether a tensor used as an index holds integers or booleans, where the code
        says so: an `Int[...]`/`Bool[...]` parameter it never rebinds, `.long()`,
        `torch.arange`, a comparison."""
        if isinstance(node, ast.Compare):
            return "bool"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert) and depth < 6:
            return self.index_kind(node.operand, depth + 1)  # `~mask`
        if isinstance(node, ast.BinOp) and isinstance(node.op, _BITWISE) and depth < 6:
            kinds = {self.index_kind(node.left, depth + 1), self.index_kind(node.right, depth + 1)}
            return kinds.pop() if len(kinds) == 1 else None  # `mask & other`
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC) and depth < 6:
            # `ids * 2 + flag`: arithmetic on an int tensor never gives booleans
            kinds = {self.index_kind(node.left, depth + 1), self.index_kind(node.right, depth + 1)}
            return "int" if "int" in kinds else None
        if isinstance(node, ast.Subscript) and depth < 6:
            return self.index_kind(node.value, depth + 1)  # `ids[:, None]`
        if isinstance(node, ast.Name) and node.id in self.origins and depth < 6:
            return self.rebound_kind(node.id, depth)
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts and depth < 6:
            kinds = {self.index_kind(e, depth + 1) for e in node.elts}  # `for i in [a, b]`
            return kinds.pop() if len(kinds) == 1 else None
        if isinstance(node, ast.Name) and self.fn is not None and node.id not in self.origins:
            return self.param_index_kind(node.id)
        if isinstance(node, ast.Attribute) and node.attr == "indices":
            return "int"  # `x.max(dim=-1).indices`
        if isinstance(node, ast.Call):
            return self.call_index_kind(node, depth)
        return None

    def rebound_kind(self, name: str, depth: int) -> Literal["int", "bool"] | None:
        """`index_kind` of a name the function binds: what every binding gives, and its
        annotation where the name is a parameter. A binding that only reshapes, clamps or
        slices what the name held (`ids = ids.clamp(max=n)`, `ids = ids[:, :t]`) keeps its
        kind, whichever it is, so it adds none."""
        kinds = {
            self.bound_kind(name, src, depth)
            for _e, src, _k in self.origins[name]
            if _kept_from(src) != name
        }
        param = self.param_index_kind(name)
        if param is not None:
            kinds.add(param)
        return kinds.pop() if len(kinds) == 1 else None  # what every binding gives

    def param_index_kind(self, name: str) -> Literal["int", "bool"] | None:
        """`index_kind` of a parameter the function never rebinds: its annotation's dtype."""
        for arg in _params(self.fn) if self.fn is not None else ():
            if arg.arg == name:
                found = self.module.annotation(arg.annotation)
                label = found.dtype_label if found is not None else ""
                if label in _INT_LABELS:
                    return "int"
                return "bool" if label == "Bool" else None
        return None

    def call_index_kind(self, node: ast.Call, depth: int) -> Literal["int", "bool"] | None:
        """`index_kind` of a call's result: `.long()`, `argmax`, `torch.arange`, or what a
        call that keeps the dtype (`ids.unsqueeze(0)`) is given."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("long", "int", "argmax", "argmin"):
            return "int"
        if isinstance(func, ast.Attribute) and func.attr == "bool":
            return "bool"
        if isinstance(func, ast.Attribute) and func.attr in _KEEPS_KIND and depth < 6:
            return self.index_kind(func.value, depth + 1)  # `ids.unsqueeze(0)`
        if self.qualified(func) in SAME_DTYPE_OPS and node.args and depth < 6:
            return self.index_kind(node.args[0], depth + 1)  # `repeat(mask, "b n -> b n 3")`
        if self.qualified(func) in _INT_MAKERS:
            return "int"
        if self.qualified(func) == "torch.where" and len(node.args) == 1:
            return "int"  # `rows, cols = torch.where(mask)`
        if self.qualified(func) == "torch.tensor" and node.args and int_list(node.args[0]):
            return "int"
        named = self.dtype_named(node)
        if named is not None:
            return named
        label = self.method_label(func)
        if label:
            return "int" if label in _INT_LABELS else "bool" if label == "Bool" else None
        return None

    def dtype_named(self, node: ast.Call) -> Literal["int", "bool"] | None:
        """The kind of the dtype a call names: `dtype=torch.bool` (`torch.eye(n,
        dtype=torch.bool)`), or the one argument of `.to(torch.long)`, `.type(torch.int32)`."""
        given = kw(node, "dtype")
        func = node.func
        if given is None and isinstance(func, ast.Attribute) and func.attr in ("to", "type"):
            given = node.args[0] if len(node.args) == 1 else None
        qual = self.qualified(given) if given is not None else None
        if qual in _INT_DTYPES:
            return "int"
        return "bool" if qual == "torch.bool" else None

    def method_label(self, func: ast.expr) -> str:
        """The jaxtyping label (`Int`, `Bool`) of what a method of this class that `func`
        names on `self` returns, by its annotation: `self.position_ids(mask)`; "" if none."""
        if not (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
            and self.cls is not None
        ):
            return ""
        found = self.cls.method(func.attr)
        ret = None if found is None else found[0].module.annotation(found[1].returns)
        return ret.dtype_label if ret is not None else ""

    def bound_kind(self, name: str, source: ast.expr, depth: int) -> Literal["int", "bool"] | None:
        """`index_kind` of what `name = source` (or `..., name = source`) binds."""
        if indices_of(self.fn, name, source):
            return "int"
        label = returned_label(self.module, self.fn, name, source)
        if label:
            return "int" if label in _INT_LABELS else "bool" if label == "Bool" else None
        return self.index_kind(source, depth + 1)


# Tensor methods whose result holds values of the tensor's kind: those of `SAME_DTYPE`,
# and bounds or picks that keep an int an int (`ids.clamp(max=n - 1)`).
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
_KEEPS_KIND = SAME_DTYPE | frozenset(
    "clamp clamp_min clamp_max clip view roll narrow select index_select repeat_interleave".split()
)


def _kept_from(source: ast.expr) -> str | None:
    """The name whose value `source` only reshapes, bounds or slices (`ids` in
    `ids[:, :t].clamp(max=n)`), of whatever kind it holds; None for anything else."""
    while True:
        if isinstance(source, ast.Subscript):
            source = source.value
        elif (
            isinstance(source, ast.Call)
            and isinstance(source.func, ast.Attribute)
            and source.func.attr in _KEEPS_KIND
        ):
            source = source.func.value
        else:
            return source.id if isinstance(source, ast.Name) else None


def _int_tuple(cls: ast.ClassDef, attr: str) -> int | None:
    """How many numbers the field `attr` that `cls` declares holds, where it is declared a
    tuple of so many: `Tuple[int, int, int]`, `Tuple[float, float]` (not `tuple[int, ...]`)."""
    for stmt in cls.body:
        target = stmt.target if isinstance(stmt, ast.AnnAssign) else None
        if not (isinstance(target, ast.Name) and target.id == attr):
            continue
        ann = stmt.annotation if isinstance(stmt, ast.AnnAssign) else None
        if not (isinstance(ann, ast.Subscript) and dotted_name(ann.value) in _TUPLES):
            return None
        items = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        if not all(isinstance(i, ast.Name) and i.id in ("int", "float") for i in items):
            return None
        return len(items)
    return None
