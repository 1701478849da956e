"""Expressions and call dispatch: the value of each expression, and which rule a call takes
(a torch op's rule, a tensor method, a contract, a module, a builtin)."""

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, cast

from .._contract import OPERATORS
from . import _torch as T
from ._calls import (
    _T,
    _Calls,
    _decorated,
    _one_of,
    _overridden,
    _substituted,
    _tuple_returns,
)
from ._modules import (
    LIST_CHANGES,
    ClassModel,
    find_class,
    unsubscripted,
)
from ._report import (
    _SAME_SHAPE_METHODS,
    Env,
    _alternatives,
    _callable,
    _external,
    _params,
    _scalar,
    _text,
)
from ._source import (
    Module,
    Signature,
    dotted_name,
    load_found,
    resolve,
)
from ._torch import (
    AnyOfV,
    ClsV,
    IntV,
    LamV,
    LayerV,
    ListV,
    Mismatch,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
)
from ._unify import (
    Group,
    Item,
    Shape,
    Size,
    Unifier,
    anonymous_group,
    certain,
    fresh,
    from_spec,
    lit,
    show,
    sym,
)

if TYPE_CHECKING:
    from ._run import _FileChecker  # noqa: F401


_Comprehensions = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


_INT_LABELS = frozenset(
    "Int Integer UInt Int8 Int16 Int32 Int64 UInt8 UInt16 UInt32 UInt64".split()
)


_INT_MAKERS = frozenset(
    """torch.arange torch.randint torch.argmax torch.argmin torch.argsort
    torch.randperm""".split()
)


_SAME_SHAPE_FUNCS = frozenset(
    """exp log sqrt rsqrt abs sin cos tanh sigmoid relu sign floor ceil round clamp clip
    square log1p expm1 erf tril triu cumsum softmax log_softmax zeros_like ones_like
    empty_like rand_like randn_like full_like nan_to_num logical_not isnan isinf isfinite
    sigmoid_ flip roll""".split()
) | frozenset(
    """acos asin atan tan sinh cosh asinh acosh atanh deg2rad rad2deg exp2 log2 log10
    reciprocal neg negative trunc frac logit erfinv cumprod sgn signbit""".split()
)


_F_SAME = frozenset(
    """relu gelu silu mish elu leaky_relu tanh sigmoid softplus dropout softmax log_softmax
    normalize layer_norm rms_norm group_norm hardtanh relu6 celu selu glu_ logsigmoid
    softsign tanhshrink""".split()
)


_REDUCTIONS = frozenset(
    """mean sum prod std var amax amin logsumexp norm all any argmax argmin count_nonzero
    nansum nanmean""".split()
)


_BROADCAST_METHODS = frozenset(
    """add sub mul div maximum minimum pow float_power multiply subtract divide true_divide
    floor_divide fmod remainder atan2 arctan2 hypot fmax fmin copysign xlogy logical_and
    logical_or logical_xor bitwise_and bitwise_or bitwise_xor eq ne lt le gt ge greater less
    greater_equal less_equal not_equal""".split()
)


_CONSTANTS = frozenset(
    f"{m}.{c}" for m in ("math", "numpy", "torch") for c in ("pi", "e", "tau", "inf", "nan")
)


_CONSTRUCTORS = frozenset("zeros ones randn rand empty".split())


_SPLICED_MAKERS = frozenset(f"torch.{c}" for c in _CONSTRUCTORS)


# Matrix decompositions and functions: the `_torch.linalg` rule for each.
_LINALG = {
    **{
        f"torch.linalg.{n}": n
        for n in (
            "svd qr eig eigh eigvals eigvalsh svdvals inv cholesky matrix_exp det slogdet pinv"
        ).split()
    },
    "torch.svd": "svd_old",
    "torch.inverse": "inv",
    "torch.det": "det",
    "torch.logdet": "logdet",
    "torch.slogdet": "slogdet",
    "torch.pinverse": "pinv",
    "torch.matrix_exp": "matrix_exp",
    "torch.qr": "qr",
    "torch.cholesky": "cholesky",
}


_SAME_LAYERS = frozenset(
    """Dropout GELU ReLU SiLU Tanh Sigmoid Identity Softplus LeakyReLU ELU Mish Hardtanh
    Softmax LogSoftmax Dropout1d Dropout2d""".split()
)


# How a broadcasting-mismatch message writes the operator: the arithmetic of symbolic dims,
# and the bitwise operators.
_OPS: dict[type[ast.AST], str] = {op: sign for op, sign in OPERATORS.items()}
_OPS.update({ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"})


class _NoValue:
    pass


_NO = _NoValue()


_resolved: dict[tuple[int, str], tuple[Module, object]] = {}


def _resolve(
    module: Module, dotted: str, misses: dict[str, object]
) -> tuple[Module, Signature] | None:
    """`_source.resolve`, remembered (see `_remembered`)."""
    return _remembered(module, "f:", dotted, misses, lambda: resolve(module, dotted))


def _find_class(module: Module, func: ast.expr, misses: dict[str, object]) -> ClassModel | None:
    """`_modules.find_class`, remembered (see `_remembered`)."""
    dotted = dotted_name(func)
    if dotted is None:
        return None
    return _remembered(module, "c:", dotted, misses, lambda: find_class(module, func))


def _remembered(
    module: Module, kind: str, dotted: str, misses: dict[str, object], find: Callable[[], _T]
) -> _T | None:
    """`find()`, remembered per file and name while the file it found is unchanged.

    A name that resolves to nothing is remembered for good when it is not imported from a
    project file, and otherwise for one file's check (`misses`).
    """
    key = (id(module), kind + dotted)
    hit = _resolved.get(key)
    if hit is not None and hit[0] is module and (hit[1] is None or _current(hit[1])):
        return cast(_T, hit[1])
    if key[1] in misses:
        return None
    result = find()
    if result is not None or _external(module, dotted):
        _resolved[key] = (module, result)
    else:
        misses[key[1]] = None
    return result


def _current(found: object) -> bool:
    """Whether the file a remembered lookup found is still the version on disk."""
    target = found.module if isinstance(found, ClassModel) else found[0]  # type: ignore[index]
    return load_found(target.path) is target


def _module_number(module: Module, name: str) -> Value:
    """A top-level name bound once to a number, as functions of the file see it."""
    value = module.aliases.get(name)
    if isinstance(value, ast.UnaryOp):
        value = value.operand
    if isinstance(value, ast.Constant) and type(value.value) in (int, float):
        return NumV()
    return None


def _getter(
    found: tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef], attr: str
) -> tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The `@property` getter of `attr`, where `found` is the class's last definition of that
    name (a setter comes after its getter): the class it is in, and the getter."""
    owner = found[0]
    for stmt in owner.node.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == attr and _decorated(stmt, "property"):
            return owner, stmt
    return None


def _module_list(cls: ClassModel, depth: int = 0) -> bool:
    """Whether `cls` is a `torch.nn.ModuleList` that changes none of what it holds."""
    if depth > 8 or any(m in cls.methods for m in ("__init__", "__iter__", "__getitem__")):
        return False
    for base in cls.node.bases:
        dotted = dotted_name(unsubscripted(base))
        if dotted is None:
            continue
        first, _, rest = dotted.partition(".")
        origin = cls.module.imports.get(first)
        if origin is not None:
            head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
            qual = ".".join(p for p in (head, rest) if p)
            if qual in ("torch.nn.ModuleList", "torch.nn.modules.container.ModuleList"):
                return True
    return any(_module_list(b, depth + 1) for b in cls.bases)


def _operand(module: Module, node: ast.expr) -> str:
    """An operand as a message shows it: `(a - b)` in `w * (a - b)` keeps its parentheses."""
    text = _text(module, node)
    compound = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.NamedExpr)
    return f"({text})" if isinstance(node, compound) else text


def _held(item: Value) -> Value:
    """An item as a list or tuple holds it: a list inside one may be changed through the
    outer one (`rows[0].append(v)`, `for r in rows: r.append(v)`), so it is unknown."""
    return None if isinstance(item, ListV) or (isinstance(item, TupV) and item.mutable) else item


def _repeated(left: Value, right: Value) -> Value:
    """`[x] * 2`: a list or tuple repeated; a count the checker cannot read gives a list of
    unknown length, when its items all have one value."""
    seq, count = (left, right) if isinstance(left, TupV) else (right, left)
    assert isinstance(seq, TupV)
    if seq.fields:
        return None
    size = count.size if isinstance(count, IntV) else None
    if size is not None and size.kind == "int" and isinstance(size.value, int):
        return TupV(seq.items * max(size.value, 0), mutable=seq.mutable)
    if isinstance(count, (IntV, SymV)) and seq.items and all(i == seq.items[0] for i in seq.items):
        return ListV(seq.items[0])
    return None


def _item_of(iterated: Value) -> Value:
    """What a `for` loop over `iterated` binds on each pass: a list's item, what every item
    of a tuple shares, a row of a tensor."""
    if isinstance(iterated, ListV):
        return iterated.item
    if isinstance(iterated, TupV) and iterated.items and not iterated.fields:
        return _one_of(list(iterated.items))
    if isinstance(iterated, tuple) and iterated and isinstance(iterated[0], Size):
        return iterated[1:]
    return None


def _literal_shape(node: ast.expr, data: TupV, seen: dict[int, Value]) -> Shape | None:
    """`torch.tensor([[1, 2], [3, 4]])`: literal lists of Python numbers, all of one length.
    The inner lists are read from what `seen` has for their own nodes."""
    if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) != len(data.items):
        return None
    items = tuple(seen.get(id(e)) for e in node.elts)
    if all(isinstance(i, (IntV, NumV)) for i in items):
        return (lit(len(items)),)
    if items and all(isinstance(i, TupV) and not i.fields for i in items):
        inner = [
            _literal_shape(e, i, seen)  # type: ignore[arg-type]
            for e, i in zip(node.elts, items, strict=True)
        ]
        first = inner[0]
        if first is not None and all(s == first for s in inner):
            return (lit(len(items)), *first)
    return None


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


def _numeric(qual: str, args: list[Value]) -> bool:
    """`math.sqrt(d)`, `np.log(2.0)`: functions of numbers that give a number."""
    root = qual.split(".")[0]
    if root == "math":
        return True
    return root == "numpy" and bool(args) and all(isinstance(a, (IntV, NumV)) for a in args)


def _shape_tuple(shape: Shape) -> Value:
    if any(isinstance(i, Group) for i in shape):
        return None
    return TupV(tuple(IntV(i) for i in shape if isinstance(i, Size)))


def _lit_int(v: Value) -> int | None:
    if isinstance(v, IntV) and v.size.kind == "int":
        assert isinstance(v.size.value, int)
        return v.size.value
    return None


def _str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


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


def _bcast_all(shapes: list[Shape], texts: list[str], op: str = "") -> Shape | None:
    out: Shape | None = shapes[0]
    for s, t in zip(shapes[1:], texts[1:], strict=True):
        if out is None:
            return None
        try:
            out = T.broadcast(out, s, texts[0], t)
        except Mismatch as err:
            raise Mismatch(f"{op}: {err}" if op else str(err)) from None
    return out


def _same_shape(a: Shape, b: Shape, ta: str, tb: str, op: str) -> Shape | None:
    try:
        return T.broadcast(a, b, ta, tb)
    except Mismatch as err:
        raise Mismatch(f"{op}: {err}") from None


def _int(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


class _Expressions(_Calls):
    """The part of a scope that gives each expression its value."""

    if TYPE_CHECKING:

        def bind(self, target: ast.expr, v: Value, env: Env) -> None: ...

        def dotted_target(self, node: ast.expr) -> str | None: ...

        def remember(self, target: ast.expr, source: ast.expr, env: Env, at: ast.AST) -> None: ...

    def value(self, node: ast.expr | None, env: Env) -> Value:
        v = self._value(node, env)
        if node is not None:
            self.seen[id(node)] = v
        return v

    def _value(self, node: ast.expr | None, env: Env) -> Value:
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            if type(node.value) is int:
                return IntV(lit(node.value))
            return NumV() if type(node.value) is float else None
        if isinstance(node, ast.Name):
            if node.id not in env and node.id not in self.local:
                held = _find_class(self.module, node, self.file.misses)
                return ClsV(held) if held is not None else _module_number(self.module, node.id)
            return env.get(node.id)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, env)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, env)
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left, env), self.value(node.right, env)
            return self.binop(node, left, right, node.op, node.left, node.right)
        if isinstance(node, ast.UnaryOp):
            inner = self.value(node.operand, env)
            if isinstance(node.op, ast.USub) and isinstance(inner, IntV):
                if inner.size.kind == "int":
                    assert isinstance(inner.size.value, int)
                    return IntV(lit(-inner.size.value))
                return NumV()
            if isinstance(node.op, ast.Not):
                return None
            if isinstance(inner, (NumV, SymV)) and isinstance(node.op, (ast.USub, ast.UAdd)):
                return NumV()
            return inner if isinstance(inner, tuple) else None
        if isinstance(node, ast.Compare):
            left = self.value(node.left, env)
            rights = [self.value(c, env) for c in node.comparators]
            if len(rights) == 1 and not isinstance(
                node.ops[0], (ast.Is, ast.IsNot, ast.In, ast.NotIn)
            ):
                return self.binop(node, left, rights[0], ast.Eq(), node.left, node.comparators[0])
            return None
        if isinstance(node, ast.IfExp):
            self.value(node.test, env)
            a, b = self.value(node.body, env), self.value(node.orelse, env)
            if isinstance(a, (IntV, NumV, SymV)) and isinstance(b, (IntV, NumV, SymV)) and a != b:
                return NumV()  # a number either way
            return _one_of([a, b])
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [_held(self.value(e, env)) for e in node.elts]
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return None
            return TupV(tuple(items), mutable=isinstance(node, ast.List))
        if isinstance(node, ast.Lambda):
            return LamV(node, dict(env))
        if isinstance(node, _Comprehensions):
            return None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.value(child, env)
        return None

    def size_of(self, v: Value) -> Size | None:
        if isinstance(v, IntV):
            return v.size
        if isinstance(v, SymV) and self.key:
            return sym(v.text, self.key)
        return None

    def binop(
        self,
        node: ast.AST,
        left: Value,
        right: Value,
        op: ast.AST,
        lnode: ast.expr,
        rnode: ast.expr,
    ) -> Value:
        if isinstance(op, ast.MatMult):
            if isinstance(left, tuple) and isinstance(right, tuple):
                self.file.stats_relation()
                ta, tb = _operand(self.module, lnode), _operand(self.module, rnode)
                try:
                    return T.matmul(left, right, ta, tb)
                except Mismatch as err:
                    self.file.report(node, str(err))
                    return None
            self.file.stats_unknown("`@` with an operand of unknown shape")
            return None
        if isinstance(op, ast.Mult) and (isinstance(left, TupV) or isinstance(right, TupV)):
            return _repeated(left, right)
        a, b = self.size_of(left), self.size_of(right)
        numbers = (IntV, NumV, SymV)
        if isinstance(left, numbers) and isinstance(right, numbers) and NumV() in (left, right):
            return NumV()
        if a is not None and b is not None:
            if isinstance(op, ast.Mult):
                return IntV(T.mul(a, b))
            if isinstance(op, ast.FloorDiv):
                return IntV(T.floordiv(a, b))
            if isinstance(op, ast.Add):
                return IntV(T.add(a, b))
            if isinstance(op, ast.Sub):
                return IntV(T.add(a, b, -1))
            return NumV() if isinstance(op, (ast.Div, ast.Mod, ast.Pow)) else None
        if isinstance(left, tuple) and isinstance(right, tuple):
            self.file.stats_relation()
            ta, tb = _operand(self.module, lnode), _operand(self.module, rnode)
            try:
                return T.broadcast(left, right, ta, tb)
            except Mismatch as err:
                sign = "compared with" if isinstance(node, ast.Compare) else _OPS.get(type(op), "?")
                self.file.report(node, f"{ta} {sign} {tb}: {err}")
                return None
        if isinstance(left, tuple) and _scalar(rnode, right):
            return left
        if isinstance(right, tuple) and _scalar(lnode, left):
            return right
        if isinstance(left, tuple) or isinstance(right, tuple):
            self.file.stats_unknown("elementwise op with an operand of unknown shape")
        return None

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
                return _shape_tuple(base)
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
            return self.obj_attribute(base, attr)
        if isinstance(base, AnyOfV):
            return self.each(
                base, lambda o: self.obj_attribute(o, attr) if isinstance(o, ObjV) else None
            )
        if isinstance(base, SymV):
            return SymV(f"{base.text}.{attr}")
        if isinstance(base, LayerV):
            if attr == "weight":
                return base.weight
            if attr == "bias":
                return base.bias
        return None

    def obj_attribute(self, obj: ObjV, attr: str) -> Value:
        cls = obj.cls
        assert isinstance(cls, ClassModel)
        found = cls.annotation(attr)
        if found is not None:
            owner = found[0].module
            ann = owner.annotation(found[1])
            if ann is not None:
                return from_spec(ann.spec)
            if _number_annotation(found[1]):
                return NumV()  # `batch_size: int`: a number, if not which one
            named = _class_named(found[1])
            if named is not None:
                # `frustums: Frustums`: an instance of a class the checker reads.
                misses = self.file.misses if owner is self.module else {}
                held = _find_class(owner, named, misses)
                if held is not None:
                    return ObjV(held, exact=False)
        method = cls.method(attr)
        getter_of = _getter(method, attr) if method is not None else None
        if getter_of is not None:
            # `@property def W_pos(self) -> Float[Tensor, "n_ctx d_model"]`: its contract;
            # without one, what its body gives (unless a subclass may override it).
            # Its dim names are its own, as a call's are: fresh sizes here.
            owner_cls, getter = getter_of
            ret = owner_cls.module.annotation(getter.returns)
            if ret is not None:
                return Unifier().result(ret.spec)
            if getter.returns is None and (obj.exact or not _overridden(cls, attr)):
                got = self.file.infer(owner_cls.module, getter, owner_cls)
                on_self = self.cls is not None and self.cls is cls
                return _substituted(got, Unifier(), on_self) if isinstance(got, tuple) else None
            return None
        if cls.is_rebound(attr) or method is not None:
            return None
        # A subclass's __init__ may assign the attribute differently.
        attrs = self.file.build(cls) if obj.exact or not _overridden(cls, "__init__") else {}
        v = attrs.get(attr)
        if v is None and self.cls is cls:
            return SymV(f"self.{attr}")
        return v

    def subscript(self, node: ast.Subscript, env: Env) -> Value:
        base = self.value(node.value, env)
        sl = node.slice
        parts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        for p in parts:
            if not isinstance(p, ast.Slice):
                self.value(p, env)
        if isinstance(base, TupV):
            i = _int(sl)
            if i is not None:
                if -len(base.items) <= i < len(base.items):
                    return base.items[i]
                return None
            if isinstance(sl, ast.Slice) and sl.step is None:
                lo, hi = _int(sl.lower) if sl.lower else 0, _int(sl.upper) if sl.upper else None
                if lo is None or (sl.upper is not None and hi is None):
                    return None
                return TupV(base.items[lo:hi])
            return None
        if isinstance(base, tuple):
            tensors = [p for p in parts if isinstance(self.seen.get(id(p)), tuple)]
            if len(tensors) == 1:
                return self.advanced_index(base, parts, tensors[0])
            return T.index(base, parts)
        if isinstance(base, ListV) and not isinstance(sl, ast.Slice):
            return base.item
        return None

    def advanced_index(self, base: Shape, parts: list[ast.expr], index: ast.expr) -> Value:
        """`x[ids]`, `x[:, ids]`, `x[mask]`: one tensor index among full slices. Integer
        indices put their own shape in place of the axis; a mask takes as many axes as it
        has and leaves one of unknown size."""
        idx = self.seen.get(id(index))
        assert isinstance(idx, tuple)
        at = parts.index(index)
        full = all(
            isinstance(p, ast.Slice) and p.lower is None and p.upper is None and p.step is None
            for p in parts[:at]
        )
        after = parts[at + 1 :]
        rest_ok = all(
            (isinstance(p, ast.Slice) and p.lower is None and p.upper is None and p.step is None)
            or (isinstance(p, ast.Constant) and p.value is Ellipsis)
            for p in after
        )
        kind = self.index_kind(index)
        if not (full and rest_ok) or kind is None:
            return None
        took = 1 if kind == "int" else T.rank(idx)
        if took is None or any(isinstance(i, Group) for i in base[: at + took]):
            return None
        if len(base) < at + took:
            return None
        middle = idx if kind == "int" else (fresh(),)
        return (*base[:at], *middle, *base[at + took :])

    def index_kind(self, node: ast.expr, depth: int = 0) -> Literal["int", "bool"] | None:
        """Whether a tensor used as an index holds integers or booleans, where the code
        says so: an `Int[...]`/`Bool[...]` parameter it never rebinds, `.long()`,
        `torch.arange`, a comparison."""
        if isinstance(node, ast.Compare):
            return "bool"
        if isinstance(node, ast.Name) and node.id in self.origins and depth < 4:
            _end, source, _known = self.origins[node.id][-1]
            return self.index_kind(source, depth + 1) if len(self.origins[node.id]) == 1 else None
        if isinstance(node, ast.Name) and self.fn is not None and node.id not in self.origins:
            for arg in _params(self.fn):
                if arg.arg == node.id:
                    found = self.module.annotation(arg.annotation)
                    label = found.dtype_label if found is not None else ""
                    if label in _INT_LABELS:
                        return "int"
                    return "bool" if label == "Bool" else None
            return None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("long", "int", "argmax", "argmin"):
                return "int"
            if isinstance(func, ast.Attribute) and func.attr == "bool":
                return "bool"
            if self.qualified(func) in _INT_MAKERS:
                return "int"
        return None

    def qualified(self, func: ast.expr) -> str | None:
        """The dotted name a call's target denotes through the module's imports."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or self.shadowed(func.id):
            return None
        origin = self.module.imports.get(func.id)
        if origin is None:
            return None
        head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
        return ".".join([head, *reversed(parts)])

    def shadowed(self, name: str) -> bool:
        return (name in self.local and not self.is_module) or (
            self.is_module and name in self.rebound_globals
        )

    def _callee(self, func: ast.expr) -> tuple[Module, Signature] | None:
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or self.shadowed(func.id):
            return None
        if self.is_module and func.id in self.local and func.id not in self.module.functions:
            if func.id not in self.module.imports:
                return None
        return _resolve(self.module, ".".join([func.id, *reversed(parts)]), self.file.misses)

    def call(self, node: ast.Call, env: Env) -> Value:
        func = node.func
        args = [self.value(a.value if isinstance(a, ast.Starred) else a, env) for a in node.args]
        kwargs: dict[str, Value] = {
            k.arg: self.value(k.value, env) for k in node.keywords if k.arg is not None
        }
        for k in node.keywords:
            if k.arg is None:
                self.value(k.value, env)
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        if isinstance(func, ast.Attribute) and func.attr.endswith("_"):
            if func.attr not in _SAME_SHAPE_METHODS and not func.attr.startswith("_"):
                # `x.unsqueeze_(0)` changes x in place.
                changed = self.dotted_target(func.value)
                if changed is not None:
                    env[changed] = None
        if isinstance(func, ast.Attribute) and func.attr in LIST_CHANGES:
            self.list_changed(func, args, env)
        vals: dict[int, Value] = {id(a): v for a, v in zip(node.args, args, strict=True)}
        vals.update({id(k.value): kwargs[k.arg] for k in node.keywords if k.arg is not None})
        self.vals = vals
        self.file.stats_call()
        # `super().method(...)`: the method of a base class, with its contract.
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
            and not func.value.args
            and self.cls is not None
        ):
            for parent in self.cls.bases:
                if parent.method(func.attr) is not None:
                    return self.obj_call(
                        node, ObjV(parent, exact=False), func.attr, args, kwargs, env
                    )
        if (
            starred
            and isinstance(func, ast.Attribute)
            and func.attr in ("view", "reshape")
            and not node.keywords
        ):
            spliced = self.spliced_sizes(node.args, env)
            if spliced is not None:
                self.value(func.value, env)  # what is reshaped is read, for its own checks
                self.file.stats_known("reshape to given sizes")
                return spliced
        if starred and self.qualified(func) in _SPLICED_MAKERS:
            # `torch.zeros(*x.shape[:-1], n)`: a new tensor of the sizes given.
            made = self.spliced_sizes(node.args, env)
            if made is not None:
                self.file.stats_known("torch")
                return made
        # A method of a value the checker knows: a tensor, a module instance, a layer.
        if isinstance(func, ast.Attribute):
            dotted = self.dotted_target(func)
            holder = env.get(dotted) if dotted is not None and dotted in env else None
            if holder is None:
                base = self.value(func.value, env)
                if isinstance(base, tuple):
                    self.file.stats_known("tensor method")
                    return self.tensor_method(node, func.attr, base, args, kwargs, starred)
                if isinstance(base, ObjV):
                    return self.obj_call(node, base, func.attr, args, kwargs, env)
                if isinstance(base, ClsV):
                    # `Attention.create_alibi_slope(n)`: a static or class method.
                    meth = cast(ClassModel, base.cls).method(func.attr)
                    if meth is not None and (
                        _decorated(meth[1], "staticmethod") or _decorated(meth[1], "classmethod")
                    ):
                        return self.obj_call(
                            node, ObjV(base.cls, base.exact), func.attr, args, kwargs, env
                        )
                if (
                    (base is None or isinstance(base, SymV))
                    and func.attr in ("view", "reshape")
                    and not starred
                ):
                    # Whatever was reshaped, the result has the sizes asked for.
                    return self.reshaped(args)
                if isinstance(base, AnyOfV):
                    return self.each(
                        base, lambda o: self.call_of(node, o, func.attr, args, kwargs, env)
                    )
                if isinstance(base, TupV):
                    field = base.field(func.attr)
                    if _callable(field):
                        return self.invoke(node, field, args, kwargs)
                    self.file.stats_unknown("call without a shape rule or contract")
                    return None
        elif isinstance(func, ast.Name) and func.id in env:
            held = env[func.id]
            if _callable(held):
                return self.invoke(node, held, args, kwargs)
            if self.shadowed(func.id) or self.is_module:
                self.file.stats_unknown("call of a local value")
                return None
        if isinstance(func, ast.Attribute):
            dotted = self.dotted_target(func)
            if dotted is not None and dotted in env and _callable(env[dotted]):
                return self.invoke(node, env[dotted], args, kwargs)
        qual = self.qualified(func)
        if qual is not None and _numeric(qual, args):
            return NumV()
        if qual in ("typing.cast", "typing_extensions.cast") and len(args) == 2:
            return self.cast(node.args[0], args[1])
        stacked = self.stack_of_comprehension(node, qual, env)
        if stacked is not _NO:
            return stacked  # type: ignore[return-value]
        if qual in ("torch.nn.ModuleList", "torch.nn.ModuleDict") and node.args:
            self.file.stats_known("torch")
            return self.container(node.args[0], args[0], env)
        if qual is not None:
            done, result = self.library_call(node, qual, args, kwargs, starred)
            if done:
                return result
        if isinstance(func, ast.Name) and not self.shadowed(func.id):
            builtin = self.builtin_call(func.id, node, args)
            if not isinstance(builtin, _NoValue):
                return builtin
        callee = self._callee(func)
        if callee is not None:
            self.file.stats_known("annotated function")
            target = callee[0].functions.get(callee[1].contract.op)
            return self.contract_call(node, callee[0], callee[1], vals, 0, target)
        if isinstance(func, ast.Name) and not self.shadowed(func.id):
            fn = self.module.functions.get(func.id)
            if fn is not None and (
                _tuple_returns(self.module, fn) is not None
                or any(_alternatives(self.module, a.annotation) for a in _params(fn))
            ):
                self.file.stats_known("annotated function")
                return self.contract_call(node, self.module, None, vals, 0, fn)
            if fn is not None:
                found = self.contract_call(node, self.module, None, vals, 0, fn)
                if found is not None:
                    return found
        cls = (
            _find_class(self.module, func, self.file.misses)
            if not (isinstance(func, ast.Name) and self.shadowed(func.id))
            else None
        )
        if cls is not None:
            self.file.stats_known("constructor")
            if node.args and _module_list(cls):
                # `TypedModuleList([Block(c) for _ in range(n)])`: a ModuleList as it is.
                return self.container(node.args[0], args[0], env)
            return ObjV(cls)
        self.file.stats_unknown("call without a shape rule or contract")
        return None

    def spliced_sizes(self, nodes: list[ast.expr], env: Env) -> Shape | None:
        """`t.view(*x.shape[:-1], -1)`: the sizes asked for, with `*x.shape[...]` spliced in
        when the part of x's shape it takes is certain; a -1 becomes a fresh size."""
        out: list[Item] = []
        for n in nodes:
            if isinstance(n, ast.Starred):
                part = self.shape_slice(n.value, self.vals.get(id(n)), env)
                if part is None:
                    return None
                out.extend(part)
                continue
            v = self.vals.get(id(n))
            if isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)):
                return None
            size = self.size_of(v)
            minus = size is not None and size.kind == "int" and size.value == -1
            out.append(fresh() if size is None or minus else size)
        return tuple(out)

    def shape_slice(self, node: ast.expr, v: Value, env: Env) -> Shape | None:
        """The items of `x.shape`, `x.shape[:-k]` or `x.shape[k:]` for a tensor x, where
        the axes cut off are single axes, not runs; or of a known tuple of sizes `v`."""
        if isinstance(v, TupV) and not v.mutable:
            if any(isinstance(i, (tuple, TupV, ListV, LayerV, ObjV)) for i in v.items):
                return None
            return tuple(self.size_of(i) or fresh() for i in v.items)
        sl: ast.expr | None = None
        if isinstance(node, ast.Subscript):
            sl = node.slice
            node = node.value
        x: Value
        if isinstance(node, ast.Name) and node.id in self.shapes_named:
            # `original_shape = x.shape`, read when it was bound: x may be reshaped since.
            x = self.shapes_named[node.id]
        else:
            if not (isinstance(node, ast.Attribute) and node.attr == "shape"):
                return None
            if any(isinstance(n, ast.Call) for n in ast.walk(node.value)):
                return None  # read once already; calls are not read twice
            known = id(node.value) in self.seen
            x = self.seen[id(node.value)] if known else self.value(node.value, env)
        if not isinstance(x, tuple):
            return None
        if sl is None:
            return x
        if not isinstance(sl, ast.Slice) or sl.step is not None:
            return None
        lo = T.int_value(sl.lower) if sl.lower is not None else 0
        hi = T.int_value(sl.upper) if sl.upper is not None else None
        if lo is None or (sl.upper is not None and hi is None):
            return None
        if lo < 0 or (hi is not None and hi > 0) or (hi == 0):
            return None  # keep to dropping a head (lo >= 0) and a tail (hi < 0)
        cut = list(x[:lo]) + (list(x[len(x) + hi :]) if hi is not None else [])
        if len(x) < lo - (hi or 0) or any(isinstance(i, Group) for i in cut):
            return None
        return tuple(x[lo : len(x) + hi if hi is not None else None])

    def reshaped(self, args: list[Value]) -> Value:
        """`t.view(sizes)` / `t.reshape(sizes)` of a tensor of unknown shape: the sizes, when
        each argument is certainly one size; a -1 (one at most) is a size of its own."""
        vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
        if not vals or (len(args) == 1 and not isinstance(args[0], (IntV, SymV, NumV, TupV))):
            self.file.stats_unknown("call without a shape rule or contract")
            return None
        if any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in vals):
            return None
        sizes = [self.size_of(v) for v in vals]
        minus = [s for s in sizes if s is not None and s.kind == "int" and s.value == -1]
        if len(minus) > 1:
            return None
        self.file.stats_known("reshape to given sizes")
        return tuple(s if s is not None and s not in minus else fresh() for s in sizes)

    def meshgrid(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        """`torch.meshgrid(a, b, indexing=...)` of 1-D tensors: one grid per input."""
        vecs = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
        indexing = _str(_kw(node, "indexing"))
        if (
            indexing not in ("ij", "xy")
            or not vecs
            or any(isinstance(a, ast.Starred) for a in node.args)
        ):
            return None  # without `indexing`, torch warns and uses "ij"; keep to the explicit
        sizes: list[Size] = []
        for v in vecs:
            if not isinstance(v, tuple) or len(v) != 1 or not isinstance(v[0], Size):
                return None
            sizes.append(v[0])
        if indexing == "xy" and len(sizes) >= 2:
            sizes[0], sizes[1] = sizes[1], sizes[0]
        grid = tuple(sizes)
        return TupV(tuple(grid for _ in vecs))

    def element(self, node: ast.ListComp | ast.GeneratorExp, env: Env) -> Value:
        """The value of every item of a one-loop comprehension over a known list."""
        if len(node.generators) != 1 or node.generators[0].ifs:
            return None
        gen = node.generators[0]
        inner = dict(env)
        iterated = self.value(gen.iter, env)
        self.remember(gen.target, gen.iter, {}, gen.iter)
        self.bind(gen.target, iterated.item if isinstance(iterated, ListV) else None, inner)
        return self.value(node.elt, inner)

    def stack_of_comprehension(self, node: ast.Call, qual: str | None, env: Env) -> object:
        """`torch.stack([f(b) for b in blocks], dim=0)`: the items all have one shape."""
        if qual not in ("torch.stack", "torch.cat") or not node.args:
            return _NO
        seq = node.args[0]
        if not isinstance(seq, (ast.ListComp, ast.GeneratorExp)):
            return _NO
        self.file.stats_known("torch")
        item = self.element(seq, env)
        dim_node = node.args[1] if len(node.args) > 1 else _kw(node, "dim")
        d = 0 if dim_node is None else _int(dim_node)
        if not isinstance(item, tuple) or d is None:
            self.file.stats_unknown("op input of unknown shape")
            return None
        self.file.stats_relation()
        if qual == "torch.stack":
            n = T.rank(item)
            if n is None or not -n - 1 <= d <= n:
                return None
            at = d + n + 1 if d < 0 else d
            return (*item[:at], fresh(), *item[at:])
        at2 = T.axis(item, d)
        return (
            None if at2 is None else tuple(fresh() if i == at2 else s for i, s in enumerate(item))
        )

    def container(self, node: ast.expr, v: Value, env: Env) -> Value:
        """`nn.ModuleList([Block(c) for _ in range(n)])`, `nn.ModuleDict(dict(wte=...))`."""
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return ListV(self.element(node, env))
        if isinstance(v, TupV) and v.fields:
            return v
        if isinstance(v, TupV) and v.items and all(i == v.items[0] for i in v.items):
            return ListV(v.items[0])
        return None

    def cast(self, target: ast.expr, v: Value) -> Value:
        """`cast(T, x)` is x; where x is an object the checker does not know, an instance of
        the class (or one of the classes) T names."""
        if v is not None:
            return v
        members = [target]
        if isinstance(target, ast.Subscript) and dotted_name(target.value) in (
            "Union",
            "typing.Union",
        ):
            s = target.slice
            members = list(s.elts) if isinstance(s, ast.Tuple) else [s]
        found = [_find_class(self.module, m, self.file.misses) for m in members]
        if not found or any(c is None for c in found):
            return None
        return _one_of([ObjV(c, exact=False) for c in found])

    def list_changed(self, func: ast.Attribute, args: list[Value], env: Env) -> None:
        """`xs.append(v)` and the other methods that change a list in place: what the list
        holds afterwards, where the checker can follow it; otherwise it is unknown."""
        inner = func.value
        while isinstance(inner, ast.Subscript):
            inner = inner.value  # `xs[0].append(v)` changes what xs holds
        if inner is not func.value:
            root = self.dotted_target(inner)
            if root is not None and isinstance(env.get(root), (TupV, ListV)):
                env[root] = None
            return
        name = self.dotted_target(func.value)
        if name is None or name not in env:
            return
        held, how = env[name], func.attr
        if isinstance(held, TupV) and held.mutable:
            more = args[0] if len(args) == 1 else None
            if how == "append" and len(args) == 1:
                env[name] = TupV((*held.items, _held(more)), mutable=True)
            elif how == "extend" and isinstance(more, TupV) and not more.fields:
                env[name] = TupV((*held.items, *map(_held, more.items)), mutable=True)
            else:
                env[name] = None
        elif isinstance(held, ListV):
            added = args[-1] if how in ("append", "insert") and args else held.item
            if how == "extend" or added != held.item:
                env[name] = None

    def builtin_call(self, name: str, node: ast.Call, args: list[Value]) -> "Value | _NoValue":
        if name == "len" and len(args) == 1 and isinstance(args[0], tuple) and args[0]:
            first = args[0][0]
            return IntV(first) if isinstance(first, Size) else None
        if name == "len" and len(args) == 1 and isinstance(args[0], TupV):
            return IntV(lit(len(args[0].items)))
        if name == "int" and len(args) == 1 and isinstance(args[0], IntV):
            return args[0]
        if name in ("float", "int", "abs", "min", "max", "round") and args:
            if all(isinstance(a, (IntV, NumV)) for a in args):
                return NumV()
        if name in ("float", "int") and len(args) == 1 and isinstance(args[0], tuple):
            return NumV()  # a one-element tensor as a Python number
        if name in ("tuple", "list") and len(args) == 1 and isinstance(args[0], TupV):
            return args[0]
        if name == "dict" and not args and node.keywords:
            if all(k.arg is not None for k in node.keywords):
                fields = tuple(str(k.arg) for k in node.keywords)
                return TupV(tuple(self.vals.get(id(k.value)) for k in node.keywords), fields)
        spread = any(isinstance(a, ast.Starred) for a in node.args) or node.keywords
        if name == "enumerate" and len(args) == 1 and not spread:
            return ListV(TupV((None, _item_of(args[0]))))
        if name == "zip" and args and not spread:
            return ListV(TupV(tuple(_item_of(a) for a in args)))
        if name in (
            "super",
            "range",
            "print",
            "isinstance",
            "getattr",
            "hasattr",
            "setattr",
            "enumerate",
            "zip",
        ):
            return None
        return _NO

    def library_call(
        self, node: ast.Call, qual: str, args: list[Value], kwargs: dict[str, Value], starred: bool
    ) -> tuple[bool, Value]:
        root = qual.split(".")[0]
        if root not in ("torch", "einops", "fancy_einsum", "shapesafe"):
            return False, None
        last = qual.rsplit(".", 1)[-1]
        if root == "shapesafe":
            if qual in ("shapesafe.nn.Linear", "shapesafe.nn._linear.Linear"):
                return True, self.layer("Linear", args, kwargs, ("in_features", "out_features"))
            if qual in ("shapesafe.nn.LayerNorm", "shapesafe.nn._norm.LayerNorm"):
                return True, self.layer("LayerNorm", args, kwargs, ("features",))
            if qual.startswith("shapesafe.nn.") and last in ("MLP", "Block", "CausalSelfAttention"):
                return True, self.layer("Embed", args, kwargs, ("embed_dim",))
            first = args[0] if args else None
            if last == "permute" and len(args) == 2 and isinstance(first, tuple):
                pattern = _str(node.args[1])
                self.file.stats_known("shapesafe.permute")
                if pattern is None:
                    return True, None
                shape = first
                return True, self.rule(
                    node, lambda: T.rearrange(shape, pattern, {}, "permute"), [shape]
                )
            return False, None
        if starred:
            self.file.stats_unknown("call with *args")
            return True, None
        self.file.stats_known(root if root != "fancy_einsum" else "einops")
        x = args[0] if args else kwargs.get("input")
        torchf = qual.startswith("torch.") and qual.count(".") == 1
        func = qual.startswith("torch.nn.functional.")
        nn = qual.startswith("torch.nn.") and not func and qual.count(".") == 2
        if nn:
            if last == "Linear":
                return True, self.layer("Linear", args, kwargs, ("in_features", "out_features"))
            if last == "Embedding":
                return True, self.layer(
                    "Embedding", args, kwargs, ("num_embeddings", "embedding_dim")
                )
            if last in ("LayerNorm", "RMSNorm"):
                return True, self.layer("LayerNorm", args, kwargs, ("normalized_shape",))
            if last in _SAME_LAYERS:
                return True, LayerV("same", ())
            if last in ("Parameter", "Buffer"):
                return True, x if isinstance(x, tuple) else None
            self.file.calls_known_undo(root)
            self.file.stats_unknown("torch.nn class without a shape rule")
            return True, None
        if (torchf and last in _CONSTRUCTORS) or (torchf and last in ("full", "randint")):
            sizes: list[Value] = [a for a in args if not isinstance(a, tuple)]
            if last == "full":
                sizes = args[:1]
                if not isinstance(args[0] if args else None, TupV):
                    return True, None
            if last == "randint":
                sizes = [a for a in args if isinstance(a, TupV)][:1]  # type: ignore[assignment]
            if len(sizes) == 1 and isinstance(sizes[0], TupV):
                sizes = list(sizes[0].items)
            if not sizes:
                sv = kwargs.get("size")
                sizes = list(sv.items) if isinstance(sv, TupV) else []
                if not sizes:
                    return True, None
            if len(sizes) == 1 and not isinstance(sizes[0], (IntV, SymV, NumV)):
                return True, None  # one argument that may be a whole shape: rank unknown
            if any(isinstance(v, (tuple, TupV, LayerV, ObjV)) for v in sizes):
                return True, None
            out = [self.size_of(s) for s in sizes]
            return True, tuple(s if s is not None else fresh() for s in out)
        if torchf and last == "normal" and isinstance(kwargs.get("size"), TupV):
            size_v = kwargs["size"]
            assert isinstance(size_v, TupV)
            if any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in size_v.items):
                return True, None
            return True, tuple(self.size_of(v) or fresh() for v in size_v.items)
        if torchf and last in ("linspace", "logspace") and not starred:
            # `steps` is an int, even where the checker can't tell which: the result is 1-D.
            given_steps = len(node.args) > 2 or _kw(node, "steps") is not None
            steps = args[2] if len(args) > 2 else kwargs.get("steps")
            if not given_steps or isinstance(steps, (tuple, TupV, ListV, LayerV, ObjV)):
                return True, None
            s = self.size_of(steps)
            return True, (s if s is not None else fresh(),)
        if torchf and last == "eye" and args and len(args) <= 2:
            if any(isinstance(a, (tuple, TupV, ListV, LayerV, ObjV)) for a in args):
                return True, None
            n = self.size_of(args[0]) or fresh()
            m = (self.size_of(args[1]) or fresh()) if len(args) == 2 else n
            return True, (n, m)
        if torchf and last == "meshgrid":
            return True, self.meshgrid(node, args, kwargs)
        if torchf and last in ("tensor", "Tensor", "as_tensor", "FloatTensor", "LongTensor"):
            if len(node.args) == 1 and isinstance(args[0], TupV):
                return True, _literal_shape(node.args[0], args[0], self.seen)
            if len(node.args) == 1 and isinstance(args[0], (IntV, NumV)) and last != "Tensor":
                return True, ()  # `torch.tensor(0.5)`: one number, no axes
            return True, None
        if torchf and last == "arange":
            ints = [a for a in args]
            if len(ints) == 1:
                s = self.size_of(ints[0])
                return True, (s if s is not None else fresh(),)
            if len(ints) == 2:
                a, b = self.size_of(ints[0]), self.size_of(ints[1])
                return True, ((T.add(b, a, -1) if a is not None and b is not None else fresh()),)
            return True, (fresh(),)
        if torchf and last == "where" and len(args) == 3:
            # A number in place of a tensor broadcasts with anything; the condition is a tensor.
            shapes = [a for a in args if isinstance(a, tuple)]
            texts = [
                _text(self.module, n)
                for n, a in zip(node.args, args, strict=True)
                if isinstance(a, tuple)
            ]
            scalars = all(
                isinstance(a, tuple) or _scalar(n, a) for n, a in zip(node.args, args, strict=True)
            )
            if isinstance(args[0], tuple) and scalars:
                return True, self.rule(
                    node, lambda: _bcast_all(shapes, texts, "torch.where"), shapes
                )
            self.file.stats_unknown("op input of unknown shape")
            return True, None
        if (
            ((torchf or func) and last in ("softmax", "log_softmax"))
            or (torchf and last in _SAME_SHAPE_FUNCS)
            or (func and last in _F_SAME)
        ):
            return True, x if isinstance(x, tuple) else None
        if torchf and last in ("addmm", "baddbmm") and len(args) == 3:
            c, m1, m2 = args
            if isinstance(c, tuple) and isinstance(m1, tuple) and isinstance(m2, tuple):
                ta, tb = _text(self.module, node.args[1]), _text(self.module, node.args[2])
                tc = _text(self.module, node.args[0])
                sc, sa, sb = c, m1, m2

                def addmm() -> Shape | None:
                    product = T.matmul(sa, sb, ta, tb)
                    return None if product is None else T.broadcast(sc, product, tc, "the product")

                return True, self.rule(node, addmm, [sc, sa, sb])
            self.file.stats_unknown("op input of unknown shape")
            return True, None
        if torchf and last in ("matmul", "bmm", "mm"):
            if len(args) == 2 and isinstance(args[0], tuple) and isinstance(args[1], tuple):
                sa, sb = args[0], args[1]
                ta, tb = _text(self.module, node.args[0]), _text(self.module, node.args[1])
                return True, self.rule(node, lambda: T.matmul(sa, sb, ta, tb), [sa, sb])
            self.file.stats_unknown("op input of unknown shape")
            return True, None
        if func and last == "linear":
            return True, self.f_linear(node, args, kwargs)
        if (func and last == "cosine_similarity") or qual == "torch.linalg.cross":
            if isinstance(x, tuple):
                rest = node.args[1:]
                return True, self.tensor_method(node, last, x, args[1:], kwargs, False, rest)
            return True, None
        if func and last == "interpolate" and isinstance(x, tuple):
            return True, self.interpolated(x, args[1] if len(args) > 1 else kwargs.get("size"))
        if qual == "torch.autograd.grad":
            # One gradient for each input, of that input's shape.
            inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
            if isinstance(inputs, tuple):
                return True, TupV((inputs,))
            if isinstance(inputs, TupV) and not inputs.fields:
                return True, TupV(inputs.items)
            return True, None
        if torchf and last == "searchsorted" and len(args) >= 2 and isinstance(args[1], tuple):
            return True, args[1]  # an index for each value looked up
        if torchf and last in ("argwhere", "nonzero") and isinstance(x, tuple):
            if last == "nonzero" and "as_tuple" in kwargs:
                return True, None
            count = T.rank(x)
            return True, None if count is None else (fresh(), lit(count))
        if func and last == "embedding" and len(args) >= 2:
            idx, w = args[0], args[1]
            if isinstance(idx, tuple) and isinstance(w, tuple) and len(w) == 2:
                return True, (*idx, w[1])
            return True, None
        if func and last == "scaled_dot_product_attention":
            return True, self.sdpa(node, args, kwargs)
        if func and last in ("cross_entropy", "nll_loss"):
            return True, self.cross_entropy(node, args, kwargs)
        if func and last in (
            "mse_loss",
            "l1_loss",
            "binary_cross_entropy",
            "binary_cross_entropy_with_logits",
            "smooth_l1_loss",
            "huber_loss",
        ):
            if len(args) >= 2 and isinstance(args[0], tuple) and isinstance(args[1], tuple):
                sa, sb = args[0], args[1]
                ta, tb = _text(self.module, node.args[0]), _text(self.module, node.args[1])
                self.rule(node, lambda: _same_shape(sa, sb, ta, tb, last), [sa, sb])
            return True, () if _str(_kw(node, "reduction")) in (None, "mean", "sum") else None
        if torchf and last in ("cat", "concat", "concatenate", "stack"):
            seq = args[0] if args else kwargs.get("tensors")
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(0)))
            d = _lit_int(dim_v)
            if isinstance(seq, ListV) and isinstance(seq.item, tuple) and d is not None:
                return True, T.join_many(seq.item, d, last == "stack")
            if not isinstance(seq, TupV) or d is None or not seq.items:
                return True, None
            shapes = [s for s in seq.items if isinstance(s, tuple)]
            if len(shapes) != len(seq.items):
                self.file.stats_unknown("op input of unknown shape")
                return True, None
            seq_node = node.args[0] if node.args else None
            texts = (
                [_text(self.module, e) for e in seq_node.elts]
                if isinstance(seq_node, (ast.Tuple, ast.List))
                else ["tensor"] * len(shapes)
            )
            if last == "stack":
                return True, self.rule(node, lambda: T.stack(shapes, d, texts), shapes)
            return True, self.rule(node, lambda: T.concat(shapes, d, texts), shapes)
        if torchf and last == "einsum":
            eq = _str(node.args[0]) if node.args else None
            parsed = None if eq is None else T.einsum_letters(eq)
            if parsed is None:
                return True, None
            ops = args[1:]
            if len(ops) == 1 and isinstance(ops[0], TupV):
                ops = list(ops[0].items)
            texts = [_text(self.module, a) for a in node.args[1:]]
            shapes_e = [o if isinstance(o, tuple) else None for o in ops]
            return True, self.rule(
                node,
                lambda: T.einsum(
                    shapes_e, parsed[0], parsed[1], texts * (len(shapes_e) // max(1, len(texts)))
                ),
                [s for s in shapes_e if s is not None],
            )
        if root in ("einops", "fancy_einsum") and last == "einsum":
            if root == "einops":
                pattern = _str(node.args[-1]) if node.args else None
                ops, onodes = args[:-1], node.args[:-1]
            else:
                pattern = _str(node.args[0]) if node.args else None
                ops, onodes = args[1:], node.args[1:]
            parsed2 = None if pattern is None else T.einops_einsum(pattern)
            if parsed2 is None:
                return True, None
            texts2 = [_text(self.module, a) for a in onodes]
            shapes2 = [o if isinstance(o, tuple) else None for o in ops]
            return True, self.rule(
                node,
                lambda: T.einsum(shapes2, parsed2[0], parsed2[1], texts2),
                [s for s in shapes2 if s is not None],
            )
        if root == "einops" and last in ("rearrange", "reduce", "repeat"):
            pattern = _str(node.args[1]) if len(node.args) > 1 else None
            if pattern is None or not isinstance(x, tuple):
                if pattern is not None:
                    self.file.stats_unknown("op input of unknown shape")
                return True, None
            given = {k: self.size_of(v) for k, v in kwargs.items() if k is not None}
            shape_x = x
            return True, self.rule(
                node, lambda: T.rearrange(shape_x, pattern, given, f"einops.{last}"), [shape_x]
            )
        if torchf and last in ("transpose", "swapaxes") and len(args) == 3 and isinstance(x, tuple):
            i, j = _lit_int(args[1]), _lit_int(args[2])
            return True, None if i is None or j is None else T.transpose(x, i, j)
        op = _LINALG.get(qual)
        if op is not None:
            if not isinstance(x, tuple):
                self.file.stats_unknown("op input of unknown shape")
                return True, None
            mode = _str(_kw(node, "mode")) or "reduced"
            full_node = _kw(node, "full_matrices")
            some_node = _kw(node, "some")
            if op == "svd":
                full = not (isinstance(full_node, ast.Constant) and full_node.value is False)
                if full_node is not None and not isinstance(full_node, ast.Constant):
                    return True, None
            elif op == "svd_old":
                full = False
                if some_node is not None and not (
                    isinstance(some_node, ast.Constant) and some_node.value is True
                ):
                    return True, None
            else:
                full = mode == "complete"
                if op == "qr" and (mode not in ("reduced", "complete") or some_node is not None):
                    return True, None
            if len(args) > 1:
                return True, None  # options given by position
            shape_x = x
            what = _text(self.module, node)
            return True, self.rule(node, lambda: T.linalg(op, shape_x, full, what), [shape_x])
        if qual in ("torch.linalg.norm", "torch.linalg.vector_norm") and isinstance(x, tuple):
            if len(args) > 1 or "ord" in kwargs:
                return True, None  # an order may make a matrix norm of the last two dims
            return True, self.tensor_method(node, "norm", x, [], kwargs, False, [])
        if torchf and isinstance(x, tuple):
            rest_nodes = node.args[1:]
            return True, self.tensor_method(node, last, x, args[1:], kwargs, False, rest_nodes)
        if torchf and last in (
            "tensor",
            "as_tensor",
            "manual_seed",
            "no_grad",
            "device",
            "is_tensor",
            "finfo",
            "iinfo",
        ):
            return True, None
        self.file.calls_known_undo(root)
        self.file.stats_unknown(f"{root} op without a shape rule", node.func)
        return True, None

    def layer(
        self, kind: str, args: list[Value], kwargs: dict[str, Value], names: tuple[str, ...]
    ) -> Value:
        sizes: list[Size | None] = []
        for i, n in enumerate(names):
            v = args[i] if i < len(args) else kwargs.get(n)
            if isinstance(v, TupV) and len(v.items) == 1:
                v = v.items[0]
            sizes.append(self.size_of(v))
        if kind == "Linear":
            weight = (sizes[1] or fresh(), sizes[0] or fresh())
            bias: Value = (sizes[1] or fresh(),)
            return LayerV(kind, tuple(sizes), weight, bias)
        if kind == "Embedding":
            return LayerV(kind, tuple(sizes), (sizes[0] or fresh(), sizes[1] or fresh()))
        if kind == "LayerNorm":
            return LayerV(kind, tuple(sizes), (sizes[0] or fresh(),), (sizes[0] or fresh(),))
        return LayerV(kind, tuple(sizes))

    def rule(self, node: ast.Call, fn: "object", inputs: list[Shape]) -> Value:
        """Apply a shape rule, reporting a certain mismatch at the call."""
        assert callable(fn)
        self.file.stats_relation()
        try:
            out = fn()
        except Mismatch as err:
            self.file.report(node, str(err))
            return None
        return out  # type: ignore[no-any-return]

    def f_linear(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        x = args[0] if args else kwargs.get("input")
        w = args[1] if len(args) > 1 else kwargs.get("weight")
        b = args[2] if len(args) > 2 else kwargs.get("bias")
        if not isinstance(x, tuple) or not isinstance(w, tuple):
            self.file.stats_unknown("op input of unknown shape")
            return None
        tx = _text(self.module, node.args[0]) if node.args else "input"
        tw = _text(self.module, node.args[1]) if len(node.args) > 1 else "weight"
        self.file.stats_relation()
        if len(w) != 2 or any(isinstance(i, Group) for i in w):
            if T.rank(w) is not None:
                self.file.report(
                    node,
                    f'F.linear({tx}, {tw}): weight {tw} "{show(w)}" must have 2 dims',
                )
            return None
        got = T.size_at(x, -1)
        out_f, in_f = w
        assert isinstance(out_f, Size) and isinstance(in_f, Size)
        if got is not None and certain(got, in_f) == "differ":
            message = (
                f'F.linear({tx}, {tw}): last dim of {tx} "{show(x)}" is {got} but {tw} "{show(w)}" '
                f"takes {in_f} (weight is (out_features, in_features))"
            )
            if certain(got, out_f) == "same":
                message += f"; did you mean {tw}.T?"
            self.file.report(node, message)
            return None
        if isinstance(b, tuple) and len(b) == 1 and isinstance(b[0], Size):
            if certain(b[0], out_f) == "differ" and not T.is_one(b[0]):
                tb = _text(self.module, node.args[2]) if len(node.args) > 2 else "bias"
                self.file.report(
                    node,
                    f'F.linear({tx}, {tw}, {tb}): bias {tb} "{show(b)}" has {b[0]} '
                    f'but {tw} "{show(w)}" '
                    f"has out_features {out_f}",
                )
                return None
        if not x:
            return None
        return (*x[:-1], out_f)

    def sdpa(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        names = ("query", "key", "value")
        q, k, v = (args[i] if i < len(args) else kwargs.get(n) for i, n in enumerate(names))
        if not (isinstance(q, tuple) and isinstance(k, tuple) and isinstance(v, tuple)):
            self.file.stats_unknown("op input of unknown shape")
            return None
        texts = [_text(self.module, a) for a in node.args[:3]] + list(names[len(node.args) :])
        self.file.stats_relation()
        for (a, ta, ia), (b, tb, ib), what in (
            ((q, texts[0], -1), (k, texts[1], -1), "embedding"),
            ((k, texts[1], -2), (v, texts[2], -2), "sequence"),
        ):
            x, y = T.size_at(a, ia), T.size_at(b, ib)
            if x is not None and y is not None and certain(x, y) == "differ":
                self.file.report(
                    node,
                    f"scaled_dot_product_attention: {what} dim is "
                    f'{x} in {ta} "{show(a)}" but {y} in {tb} "{show(b)}"',
                )
                return None
        mask = args[3] if len(args) > 3 else kwargs.get("attn_mask")
        if isinstance(mask, tuple) and q and k:
            sq, sk = T.size_at(q, -2), T.size_at(k, -2)
            if sq is not None and sk is not None:
                scores: Shape = (
                    (*q[:-2], sq, sk) if T.rank(q) is not None else (anonymous_group(), sq, sk)
                )
                tm = _text(self.module, node.args[3]) if len(node.args) > 3 else "attn_mask"
                try:
                    T.broadcast(scores, mask, "the scores", tm)
                except Mismatch as err:
                    self.file.report(
                        node,
                        f"scaled_dot_product_attention: attn_mask {tm} does not fit {err}",
                    )
                    return None
        lv = T.size_at(v, -1)
        if not q:
            return None
        return (*q[:-1], lv if lv is not None else fresh())

    def cross_entropy(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        x = args[0] if args else kwargs.get("input")
        t = args[1] if len(args) > 1 else kwargs.get("target")
        reduction = _str(_kw(node, "reduction"))
        if (
            isinstance(x, tuple)
            and isinstance(t, tuple)
            and T.rank(x) is not None
            and T.rank(t) is not None
        ):
            self.file.stats_relation()
            tx = _text(self.module, node.args[0]) if node.args else "input"
            tt = _text(self.module, node.args[1]) if len(node.args) > 1 else "target"
            if len(t) == len(x) - 1:
                want = (x[0], *x[2:]) if len(x) > 1 else ()
                for p, (a, b) in enumerate(zip(want, t, strict=True)):
                    assert isinstance(a, Size) and isinstance(b, Size)
                    if certain(a, b) == "differ":
                        self.file.report(
                            node,
                            f'cross_entropy: target {tt} "{show(t)}" has {b} at axis {p} '
                            f'but {tx} "{show(x)}" has {a} '
                            "(input is (N, C, ...), target (N, ...))",
                        )
                        return None
            elif len(t) != len(x):
                self.file.report(
                    node,
                    f'cross_entropy: target {tt} "{show(t)}" has {len(t)} dims '
                    f'but input {tx} "{show(x)}" has {len(x)} '
                    "(input is (N, C, ...), target (N, ...) of class indices)",
                )
                return None
        else:
            self.file.stats_unknown("op input of unknown shape")
        if reduction in (None, "mean", "sum"):
            return ()
        return None

    def interpolated(self, x: Shape, size: Value) -> Value:
        """`F.interpolate(x, size=...)`: batch and channels kept, the spatial sizes given;
        with a `scale_factor` instead, spatial sizes of their own."""
        n = T.rank(x)
        if n is None or n < 3:
            return None
        if size is None:
            return (*x[:2], *(fresh() for _ in range(n - 2)))
        sizes = list(size.items) if isinstance(size, TupV) else [size] * (n - 2)
        if len(sizes) != n - 2 or not all(isinstance(s, (IntV, SymV, NumV)) for s in sizes):
            return None
        return (*x[:2], *(self.size_of(s) or fresh() for s in sizes))

    def receiver_text(self, node: ast.Call) -> str:
        """How a message names the tensor a method is called on: `x` in `x.add(y)` and in
        `torch.add(x, y)`, where the tensor is the first argument."""
        if isinstance(node.func, ast.Attribute) and self.qualified(node.func) is None:
            return _text(self.module, node.func.value)
        return _text(self.module, node.args[0]) if node.args else "input"

    def tensor_method(
        self,
        node: ast.Call,
        name: str,
        x: Shape,
        args: list[Value],
        kwargs: dict[str, Value],
        starred: bool,
        arg_nodes: list[ast.expr] | None = None,
    ) -> Value:
        if starred:
            return None
        nodes = node.args if arg_nodes is None else arg_nodes
        if name in _SAME_SHAPE_METHODS or (name == "type" and (args or kwargs)):
            return x  # `x.type()` without a dtype is a string
        if (
            name in ("expand_as", "view_as", "reshape_as", "broadcast_to")
            and args
            and isinstance(args[0], tuple)
        ):
            return args[0]
        if name == "masked_fill" and args:
            mask = args[0]
            if isinstance(mask, tuple):
                tm = _text(self.module, nodes[0])
                tx = self.receiver_text(node)

                def fits() -> Shape | None:
                    try:
                        T.broadcast(x, mask, tx, tm)
                    except Mismatch as err:
                        raise Mismatch(f"masked_fill: mask {tm} does not fit: {err}") from None
                    return x

                return self.rule(node, fits, [x, mask])
            return x
        elementwise = name in ("max", "min") and args and isinstance(args[0], tuple)
        if (name in _BROADCAST_METHODS or elementwise) and args:
            # `torch.max(a, b)` with a tensor `b` is elementwise too.
            other = args[0]
            if isinstance(other, tuple):
                tx, to = self.receiver_text(node), _text(self.module, nodes[0])
                return self.rule(node, lambda: T.broadcast(x, other, tx, to), [x, other])
            return x if _scalar(nodes[0], other) else None
        if name in ("matmul", "mm", "bmm") and args and isinstance(args[0], tuple):
            other = args[0]
            tx, to = self.receiver_text(node), _text(self.module, nodes[0])
            return self.rule(node, lambda: T.matmul(x, other, tx, to), [x, other])
        if name in ("view", "reshape", "new_zeros", "new_ones", "new_empty", "new_full", "expand"):
            vals = args if name != "new_full" else args[:1]
            if len(vals) == 1 and not isinstance(vals[0], (IntV, SymV, NumV, TupV)):
                return None  # one argument that may be a whole shape: rank unknown
            if len(vals) == 1 and isinstance(vals[0], TupV):
                vals = list(vals[0].items)
            size_kw = kwargs.get("size")
            if not vals and isinstance(size_kw, TupV):
                vals = list(size_kw.items)
            if not vals or any(isinstance(v, tuple) for v in vals):
                return None
            sizes = [self.size_of(v) for v in vals]
            minus = [
                i
                for i, s in enumerate(sizes)
                if s is not None and s.kind == "int" and s.value == -1
            ]
            if name == "expand":
                n = T.rank(x)
                if n is None or n > len(sizes):
                    return None
                off = len(sizes) - n
                return tuple(
                    (
                        x[i - off]
                        if i >= off and s is not None and s.kind == "int" and s.value == -1
                        else (s or fresh())
                    )
                    for i, s in enumerate(sizes)
                )
            if len(minus) > 1:
                return None
            if name.startswith("new_"):
                return tuple(s or fresh() for s in sizes)
            m = minus[0] if minus else None
            return self.rule(node, lambda: T.view(x, sizes, m), [x])
        if name in ("transpose", "swapaxes", "swapdims") and len(args) == 2:
            i, j = _lit_int(args[0]), _lit_int(args[1])
            return None if i is None or j is None else T.transpose(x, i, j)
        if name == "t" and not args:
            return T.transpose(x, 0, 1) if T.rank(x) == 2 else x if T.rank(x) in (0, 1) else None
        if name == "permute":
            vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
            dims = [_lit_int(v) for v in vals]
            if any(d is None for d in dims):
                return None
            return self.rule(node, lambda: T.permute(x, [d for d in dims if d is not None]), [x])
        if f"torch.{name}" in _LINALG and name != "qr" and not args and not kwargs:
            op = _LINALG[f"torch.{name}"]  # `a.inverse()`, `a.det()`, `a.svd()`...
            what = _text(self.module, node)
            return self.rule(node, lambda: T.linalg(op, x, False, what), [x])
        if name in ("cross", "cosine_similarity") and args and isinstance(args[0], tuple):
            second = args[0]
            tx, to = self.receiver_text(node), _text(self.module, nodes[0])

            def paired() -> Shape | None:
                ranks = T.rank(x), T.rank(second)
                if name == "cross" and None not in ranks and ranks[0] != ranks[1]:
                    raise Mismatch(
                        f'cross: {tx} "{show(x)}" and {to} "{show(second)}" differ in rank; '
                        "torch.cross needs the same number of dims"
                    )
                return T.broadcast(x, second, tx, to)

            both = self.rule(node, paired, [x, second])
            if name == "cross" or not isinstance(both, tuple):
                return both
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(1)))
            d = _lit_int(dim_v)
            return None if d is None else T.reduce(both, [d], False)
        if name in _REDUCTIONS or name in ("max", "min", "median", "mode"):
            dim_v = args[0] if args else kwargs.get("dim")
            if name == "norm" and args:
                dim_v = args[1] if len(args) > 1 else kwargs.get("dim")
            keep = kwargs.get("keepdim")
            keep_node = _kw(node, "keepdim")
            keepdim = isinstance(keep_node, ast.Constant) and keep_node.value is True
            if name == "norm" and len(args) > 2:
                return None  # keepdim given by position
            if (
                len(args) > 1
                and name not in ("norm",)
                and isinstance(nodes[1], ast.Constant)
                and nodes[1].value is True
            ):
                keepdim = True
            if keep is not None or (
                keep_node is not None and not isinstance(keep_node, ast.Constant)
            ):
                return None
            if dim_v is None:
                if name in ("max", "min", "median") and args:
                    return None
                return () if not keepdim else T.reduce(x, None, True)
            if isinstance(dim_v, TupV):
                dims = [_lit_int(v) for v in dim_v.items]
            else:
                dims = [_lit_int(dim_v)]
            if any(d is None for d in dims):
                return None
            out = T.reduce(x, [d for d in dims if d is not None], keepdim)
            if name in ("max", "min", "median", "mode"):
                return None if out is None else TupV((out, out), ("values", "indices"))
            return out
        if name == "unsqueeze" and args:
            d = _lit_int(args[0])
            return None if d is None else T.unsqueeze(x, d)
        if name == "squeeze":
            if not args and "dim" not in kwargs:
                return T.squeeze(x, None)
            dv = args[0] if args else kwargs.get("dim")
            d = _lit_int(dv)
            return None if d is None else T.squeeze(x, [d])
        if name == "flatten":
            s = _lit_int(args[0]) if args else _lit_int(kwargs.get("start_dim", IntV(lit(0))))
            e = (
                _lit_int(args[1])
                if len(args) > 1
                else _lit_int(kwargs.get("end_dim", IntV(lit(-1))))
            )
            if s is None or e is None:
                return None
            a, b = T.axis(x, s), T.axis(x, e)
            if a is None or b is None or T.rank(x) is None or a > b:
                return None
            merged = T.product([i for i in x[a : b + 1] if isinstance(i, Size)])
            return (*x[:a], merged, *x[b + 1 :])
        if name in ("split", "chunk", "unbind", "tensor_split"):
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(0)))
            d = _lit_int(dim_v)
            if d is None:
                return None
            if name == "unbind":
                p = T.axis(x, d)
                n_v = None if p is None else x[p]
                if isinstance(n_v, Size) and n_v.kind == "int":
                    assert isinstance(n_v.value, int)
                    rest = tuple(i for k, i in enumerate(x) if k != p)
                    return TupV(tuple(rest for _ in range(n_v.value)))
                return None
            first = args[0] if args else kwargs.get("split_size_or_sections", kwargs.get("chunks"))
            if name == "chunk":
                n = _lit_int(first)
                return None if n is None or n <= 0 else T.chunk(x, n, d)
            if name == "split":
                if isinstance(first, TupV):
                    return T.split(x, [self.size_of(i) for i in first.items], d)
                size = self.size_of(first)
                return None if size is None else T.split(x, size, d)
            return None
        if name == "size":
            if not args:
                return _shape_tuple(x)
            d = _lit_int(args[0])
            if d is None:
                return None
            at = T.size_at(x, d)
            return None if at is None else IntV(at)
        if name in ("dim", "ndimension"):
            n = T.rank(x)
            return None if n is None else IntV(lit(n))
        if name == "numel":
            return None
        if name in ("sort", "argsort", "msort"):
            # `x.sort(dim)`: values and indices, each of x's shape.
            return TupV((x, x), ("values", "indices")) if name == "sort" else x
        if name == "topk" and (args or "k" in kwargs):
            k = args[0] if args else kwargs["k"]
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(-1)))
            d = _lit_int(dim_v)
            p = None if d is None else T.axis(x, d)
            if p is None or not isinstance(k, (IntV, SymV)):
                return None
            size = self.size_of(k) or fresh()
            kept = tuple(size if i == p else s for i, s in enumerate(x))
            return TupV((kept, kept), ("values", "indices"))
        if name == "gather" and len(args) + len(kwargs) >= 2:
            index = args[1] if len(args) > 1 else kwargs.get("index")
            return index if isinstance(index, tuple) else None  # the index's shape
        if name in ("dot", "vdot", "inner") and T.rank(x) == 1:
            return ()
        if name in ("moveaxis", "movedim") and len(args) == 2:
            src, dst = _lit_int(args[0]), _lit_int(args[1])
            n = T.rank(x)
            if src is None or dst is None or n is None or not (-n <= src < n and -n <= dst < n):
                return None
            order = list(range(n))
            order.insert(dst % n, order.pop(src % n))
            return T.permute(x, order)
        if name == "repeat_interleave" and (args or "repeats" in kwargs):
            repeats = args[0] if args else kwargs["repeats"]
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim")
            if dim_v is None:
                return (fresh(),)  # flattened first
            d = _lit_int(dim_v)
            p = None if d is None else T.axis(x, d)
            if p is None:
                return None
            scalar = isinstance(repeats, (IntV, SymV))
            times = self.size_of(repeats) if scalar else None
            along = x[p]
            assert isinstance(along, Size)
            grown = T.mul(along, times) if times is not None else fresh()
            return tuple(grown if i == p else s for i, s in enumerate(x))
        if name in ("repeat", "tile"):
            vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
            if len(args) == 1 and not isinstance(args[0], (IntV, SymV, NumV, TupV)):
                return None  # one argument that may be a whole tuple of repeats
            if not vals or any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in vals):
                return None
            sizes = [self.size_of(v) for v in vals]
            n = T.rank(x)
            if n is None:
                return None
            if name == "tile" and len(sizes) < n:
                ones: list[Size | None] = [lit(1)] * (n - len(sizes))
                sizes = ones + sizes  # tile pads the repeats with 1s
            if len(sizes) < n:
                return None
            off = len(sizes) - n
            tiled: list[Item] = []
            for i, rep in enumerate(sizes):
                here = x[i - off] if i >= off else None
                assert here is None or isinstance(here, Size)
                if rep is None:
                    tiled.append(fresh())
                else:
                    tiled.append(T.mul(here, rep) if here is not None else rep)
            return tuple(tiled)
        return None
