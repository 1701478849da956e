"""Expressions and call dispatch: the value of each expression, and which rule a call takes
(a torch op's rule, a tensor method, a contract, a module, a builtin)."""

import ast
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from .._contract import OPERATORS
from . import _torch as T
from ._bcast import beside_squeezed
from ._calls import _bind_arguments, _plain_signature, _tuple_returns
from ._helpers import (
    autograd_function,
    given_flags,
    imported_function,
    int_flags,
    number_params,
    sized,
    unannotated_bound,
)
from ._modules import (
    LIST_CHANGES,
    ClassModel,
    _find_class,
    _module_list,
    _resolve,
)
from ._report import (
    _SAME_SHAPE_METHODS,
    IN_PLACE_BINARY,
    MOVES_AXES_IN_PLACE,
    SCATTERS_IN_PLACE,
    Env,
    _alternatives,
    _scalar,
    _text,
)
from ._rules import PASS, builtin_call, layer_method, library_call, tensor_method
from ._rules._registry import FUNCTIONS, kw
from ._rules.construct import CONSTRUCTORS
from ._rules.helpers import defaulting
from ._rules.shape import rest_of
from ._sequences import _Sequences, _size_call
from ._source import (
    Module,
    Signature,
    _decorated,
    _params,
    dotted_name,
    signature,
)
from ._torch import int_literal
from ._unify import (
    Group,
    Shape,
    Size,
    fresh,
    lit,
    sym,
)
from ._unify import name as size_named
from ._values import (
    AnyOfV,
    ClsV,
    DictV,
    FnV,
    IntV,
    LamV,
    LayerV,
    LibV,
    ListV,
    Mismatch,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
    _callable,
    _held,
    _one_of,
    _repeated,
    concatenated,
    dict_method,
    dict_of,
)

# In-place methods that write values into a tensor at given places, keeping its shape.
_WRITES = frozenset(
    "scatter_ scatter_add_ scatter_reduce_ index_add_ index_copy_ index_fill_ index_put_".split()
)
_Comprehensions = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


_SPLICED_MAKERS = frozenset(f"torch.{c}" for c in CONSTRUCTORS) | frozenset(
    ("numpy.random.rand", "numpy.random.randn")  # `np.random.rand(*x[..., :1].shape)`
)


# numpy functions of ints that give arrays, not a number.
_NUMPY_MAKERS = frozenset(
    """zeros ones empty full eye identity tri indices arange linspace logspace geomspace
    random.rand random.randn random.permutation""".split()
)


# How a broadcasting-mismatch message writes the operator: the arithmetic of symbolic dims,
# and the bitwise operators.
_OPS: dict[type[ast.AST], str] = {op: sign for op, sign in OPERATORS.items()}
_OPS.update({ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"})


def _kept(x: Value, sizes: Shape, ints: list[int | None], given: list[ast.expr]) -> Shape:
    """`x.expand(*y.shape[:-1], -1)`: the sizes given, where a -1 after the last spliced
    part keeps x's size on its axis, counted from the end; any other -1 a size unknown."""
    out = list(sizes)
    starred = [i for i, n in enumerate(given) if isinstance(n, ast.Starred)]
    for i, v in enumerate(ints):
        k = len(given) - i
        if v != -1 or (starred and i < starred[-1]) or not isinstance(x, tuple):
            continue
        at = T.axis(x, -k)
        if at is not None and T.axis(sizes, -k) is not None:
            out[len(out) - k] = x[at]
    return tuple(out)


class _NoValue:
    pass


_NO = _NoValue()


def _module_number(module: Module, name: str) -> Value:
    """A top-level name bound once to a number, as functions of the file see it."""
    value = module.aliases.get(name)
    if isinstance(value, ast.UnaryOp):
        value = value.operand
    if isinstance(value, ast.Constant) and type(value.value) in (int, float):
        return NumV()
    return None


def _operand(module: Module, node: ast.expr) -> str:
    """An operand as a message shows it: `(a - b)` in `w * (a - b)` keeps its parentheses."""
    text = _text(module, node)
    compound = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.NamedExpr)
    return f"({text})" if isinstance(node, compound) else text


def _numeric(qual: str, args: list[Value], node: ast.Call) -> bool:
    """`math.sqrt(d)`, `np.log(2.0)`: functions of numbers that give a number."""
    root = qual.split(".")[0]
    if root == "math":
        return True
    if qual.removeprefix("numpy.") in _NUMPY_MAKERS:
        return False  # `np.zeros(n)`, `np.full(n, 0.0)`: arrays of n numbers
    if any(k.arg in ("size", "shape") for k in node.keywords):
        return False  # `np.random.choice(n, size=k)`: an array of k numbers
    return root == "numpy" and bool(args) and all(isinstance(a, (IntV, NumV)) for a in args)


_SPLICED_METHODS = frozenset(("new_zeros", "new_ones", "new_empty", "expand", "broadcast_to"))


def _size_parts(node: ast.expr) -> list[ast.expr] | None:
    """The sizes one argument gives, as a call's arguments would: `(*x.shape[:-1], 1)`, or
    `x.shape[:-1] + (3,)` as `*x.shape[:-1], 3`; None for any other argument."""
    if isinstance(node, (ast.Tuple, ast.List)):
        return list(node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _size_parts(node.left), _size_parts(node.right)
        return None if left is None or right is None else left + right
    sliced = isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)
    shape = node.value if isinstance(node, ast.Subscript) and sliced else node
    if (isinstance(shape, ast.Attribute) and shape.attr == "shape") or _size_call(shape):
        return [ast.Starred(node, ast.Load())]  # `x.shape[:-1]`, `x.size()[:-1]`, spliced in
    return None


class _Expressions(_Sequences):
    """The part of a scope that gives each expression its value."""

    if TYPE_CHECKING:

        def bind(self, target: ast.expr, v: Value, env: Env) -> None: ...

        def dotted_target(self, node: ast.expr) -> str | None: ...

        def remember(self, target: ast.expr, source: ast.expr, env: Env, at: ast.AST) -> None: ...

    def value(self, node: ast.expr | None, env: Env) -> Value:
        v = self._value(node, env)
        if isinstance(v, tuple) and any(isinstance(i, Group) and i.cut + i.end for i in v):
            v = T.whole(v)  # `?batch[0] *batch[1:]` is `*batch`
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
                return self.global_value(node)
            return env.get(node.id)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.Attribute):
            found = self.attribute(node, env)
            return self.library_value(node) if found is None else found
        if isinstance(node, ast.Subscript):
            return self.subscript(node, env)
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left, env), self.value(node.right, env)
            if isinstance(node.right, ast.IfExp) and right is None and left is not None:
                # `x + (0.0 if pos is None else pos)`: the op on each value it may take.
                arms = (node.right.body, node.right.orelse)
                return _one_of(
                    [
                        self.binop(node, left, self.seen.get(id(a)), node.op, node.left, a)
                        for a in arms
                    ]
                )
            return self.binop(node, left, right, node.op, node.left, node.right)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, env)
        if isinstance(node, ast.Compare):
            return self.compare(node, env)
        if isinstance(node, ast.IfExp):
            self.value(node.test, env)
            a, b = self.value(node.body, env), self.value(node.orelse, env)
            for arm, other in ((node.orelse, a), (node.body, b)):
                if isinstance(arm, ast.Constant) and arm.value is None and isinstance(other, tuple):
                    return other  # `t if c else None`: t where it is a tensor, as an Optional
            if isinstance(a, (IntV, NumV, SymV)) and isinstance(b, (IntV, NumV, SymV)) and a != b:
                return NumV()  # a number either way
            return _one_of([a, b])
        if isinstance(node, (ast.Tuple, ast.List, ast.Dict)):
            return self.display(node, env)
        if isinstance(node, ast.Lambda):
            return LamV(node, dict(env))
        if isinstance(node, ast.BoolOp):
            # `n or self.n`: one of the operands; a number where each is one.
            either = [self.value(v, env) for v in node.values]
            if not all(isinstance(v, (IntV, NumV, SymV)) for v in either):
                return None
            return either[0] if all(v == either[0] for v in either) else NumV()
        if isinstance(node, ast.ListComp):
            return self.list_of(node, env)
        if isinstance(node, _Comprehensions):
            return None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.value(child, env)
        return None

    def display(self, node: ast.Tuple | ast.List | ast.Dict, env: Env) -> Value:
        """A tuple, list or dict written out: `(a, b)`, `[x, y]`, `{"rgb": rgb}`."""
        if isinstance(node, ast.Dict):
            for key in node.keys:
                self.value(key, env)
            return dict_of(list(node.keys), [self.value(v, env) for v in node.values])
        items = [_held(self.value(e, env)) for e in node.elts]
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return None
        return TupV(tuple(items), mutable=isinstance(node, ast.List))

    def unary(self, node: ast.UnaryOp, env: Env) -> Value:
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

    def compare(self, node: ast.Compare, env: Env) -> Value:
        left = self.value(node.left, env)
        rights = [self.value(c, env) for c in node.comparators]
        if len(rights) == 1 and not isinstance(node.ops[0], (ast.Is, ast.IsNot, ast.In, ast.NotIn)):
            return self.binop(node, left, rights[0], ast.Eq(), node.left, node.comparators[0])
        return None

    def global_value(self, node: ast.Name) -> Value:
        """A name the module's top level binds: a class, a library function or layer, a
        function of the checked files with a contract (named, not called), or a number."""
        held = _find_class(self.module, node, self.file.misses)
        if held is not None:
            return ClsV(held)
        if (named := self.library_value(node)) is not None:
            return named
        if (callee := _resolve(self.module, node.id, self.file.misses)) is not None:
            fn = callee[0].functions.get(callee[1].contract.op)
            return FnV(fn, callee[0]) if fn is not None else None
        return _module_number(self.module, node.id)

    def dim_names(self) -> frozenset[str]:
        """The dim names of the function's annotations, its return's too."""
        return self.annotated_names(with_return=True)

    def size_of(self, v: Value) -> Size | None:
        if isinstance(v, IntV):
            return v.size
        if isinstance(v, SymV) and self.key:
            # `self.n_classes` where the function's annotations name a dim `n_classes`.
            last = v.text.rsplit(".", 1)[-1]
            if last in self.dim_names():
                return size_named(last)
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
                    return T.despite(lambda: T.matmul(left, right, ta, tb))
            self.file.stats_unknown("`@` with an operand of unknown shape")
            return None
        if isinstance(op, ast.Mult) and (isinstance(left, TupV) or isinstance(right, TupV)):
            return _repeated(left, right)
        sequences = (TupV, ListV)
        if isinstance(op, ast.Add) and isinstance(left, sequences) and isinstance(right, sequences):
            return concatenated(left, right)
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
            outer = T.makes_unit_axis(lnode) or T.makes_unit_axis(rnode)
            try:
                return T.broadcast(left, right, ta, tb, outer)
            except Mismatch as err:
                sign = "compared with" if isinstance(node, ast.Compare) else _OPS.get(type(op), "?")
                self.file.report(node, f"{ta} {sign} {tb}: {err}")
                return T.despite(lambda: T.broadcast(left, right, ta, tb, outer))
        if isinstance(left, tuple) and _scalar(rnode, right):
            return left
        if isinstance(right, tuple) and _scalar(lnode, left):
            return right
        for v, other in ((left, rnode), (right, lnode)):
            if isinstance(v, tuple) and self.squeezed_beside(v, other):
                return v
        if isinstance(left, tuple) or isinstance(right, tuple):
            self.file.stats_unknown("elementwise op with an operand of unknown shape")
        return None

    def squeezed_beside(self, vector: Shape, node: ast.expr) -> bool:
        """`b * norms.squeeze()`, where `beside_squeezed` says that b keeps its shape."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            return False
        held = self.seen.get(id(node.func.value))
        bare = node.func.attr == "squeeze" and not node.args and not node.keywords
        return bare and isinstance(held, tuple) and beside_squeezed(vector, held)

    def aug_binop(self, stmt: ast.AugAssign, x: Value, other: Value) -> Value:
        """`x += y`: on tensors, in place, so x keeps its shape and y must broadcast to it."""
        if not (isinstance(x, tuple) and isinstance(other, tuple)) or isinstance(
            stmt.op, ast.MatMult
        ):
            out = self.binop(stmt, x, other, stmt.op, stmt.target, stmt.value)
            if out is None and isinstance(x, tuple) and not isinstance(stmt.op, ast.MatMult):
                return x  # in place, whatever `y` is: x keeps its shape or torch raises
            return out
        self.file.stats_relation()
        tx, to = _operand(self.module, stmt.target), _operand(self.module, stmt.value)
        try:
            return T.in_place(x, other, tx, to)
        except Mismatch as err:
            self.file.report(stmt, f"{tx} {_OPS.get(type(stmt.op), '?')}= {to}: {err}")
            return x

    def library_value(self, node: ast.expr) -> LibV | None:
        """`nn.Linear` or `F.relu` named, not called: a torch or einops function or class
        that has a rule."""
        qual = self.qualified(node)
        if qual is not None and qual.split(".")[0] in ("torch", "einops") and qual in FUNCTIONS:
            return LibV(qual)
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

    def imported_helper(
        self, func: ast.expr
    ) -> tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        """An unannotated function that `func` names in another checked file."""
        dotted = dotted_name(func)
        root = (dotted or "").split(".")[0]
        if dotted is None or root not in self.module.imports or self.shadowed(root):
            return None
        found = imported_function(self.module, dotted)
        if found is None or found[0] is self.module or signature(*found) is not None:
            return None
        return found

    def imported_helper_call(
        self,
        node: ast.Call,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        values: dict[int, Value],
    ) -> Value:
        """What an unannotated function of another file returns, read from its body with the
        shapes this call gives its parameters; None where it gives none (the body is not read
        under its own annotations, which name no tensor)."""
        given = _bind_arguments(_plain_signature(fn), node)
        bound = () if given is None else unannotated_bound(module, fn, given, values)
        numbers = number_params(fn, given, values)
        if not bound and not sized(numbers):
            return None
        flags = () if given is None else given_flags(module, fn, given, node, True)
        flags += () if given is None else int_flags(module, fn, given, node)
        found = self.file.infer_bound(module, fn, None, bound, (), flags, numbers)
        if found is not None:
            self.file.stats_known("return read from the body")
        return found

    def call(self, node: ast.Call, env: Env) -> Value:
        """A call's value: the first step (`_CALL_STEPS`) that knows what it calls decides."""
        if node.args and self.qualified(node.func) in _CALLS_ITS_FIRST:
            # `checkpoint(self.block, x, use_reentrant=False)` is `self.block(x)`.
            keep = [k for k in node.keywords if k.arg not in _CHECKPOINT_OPTIONS]
            node = ast.copy_location(ast.Call(node.args[0], node.args[1:], keep), node)
        node = _folded(node, self.flags) if self.flags else node
        args = [self.value(a.value if isinstance(a, ast.Starred) else a, env) for a in node.args]
        kwargs: dict[str, Value] = {
            k.arg: self.value(k.value, env) for k in node.keywords if k.arg is not None
        }
        for k in node.keywords:
            if k.arg is None:
                self.value(k.value, env)
        self.changed_by(node.func, args, env)
        vals: dict[int, Value] = {id(a): v for a, v in zip(node.args, args, strict=True)}
        vals.update({id(k.value): kwargs[k.arg] for k in node.keywords if k.arg is not None})
        self.vals = vals
        self.file.stats_call()
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        parts = _Parts(node, args, kwargs, starred, env, vals)
        for step in _CALL_STEPS:
            out = step(self, parts)
            if out is not _NO:
                return out  # type: ignore[return-value]
        self.file.stats_unknown("call without a shape rule or contract")
        return None

    def changed_by(self, func: ast.expr, args: list[Value], env: Env) -> None:
        """What a call changes in place: `x.unsqueeze_(0)` its tensor, `xs.append(v)` a list."""
        if isinstance(func, ast.Attribute) and func.attr.endswith("_"):
            kept = _SAME_SHAPE_METHODS | IN_PLACE_BINARY | SCATTERS_IN_PLACE | _WRITES
            if func.attr not in kept and not func.attr.startswith("_"):
                changed = self.dotted_target(func.value)
                # A tensor changed in place keeps its shape, unless the method moves axes.
                tensor = changed is not None and isinstance(env.get(changed), tuple)
                if changed is not None and not (tensor and func.attr not in MOVES_AXES_IN_PLACE):
                    env[changed] = None
        if isinstance(func, ast.Attribute) and func.attr in LIST_CHANGES:
            self.list_changed(func, args, env)

    def super_call(self, c: "_Parts") -> "Value | _NoValue":
        """`super().method(...)`: the method of a base class, with its contract."""
        func = c.node.func
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
                    parent_v = ObjV(parent, exact=False)
                    return self.obj_call(c.node, parent_v, func.attr, c.args, c.kwargs, c.env)
        return _NO

    def spliced_call(self, c: "_Parts") -> "Value | _NoValue":
        """`t.view(*x.shape[:-1], n)`, `torch.zeros(*x.shape[:-1], n)`: the sizes given,
        also as one tuple (`torch.ones((*x.shape[:-1], 1))`), positional or as `size=`."""
        node, func = c.node, c.node.func
        given: list[ast.expr] = node.args
        one = _size_parts(node.args[0]) if len(node.args) == 1 else None
        first = node.args[0] if len(node.args) == 1 else None
        if isinstance(first, ast.Name) and first.id in self.shapes_named:
            one = [ast.Starred(first, ast.Load())]  # `x.view(new_shape)`
        size = kw(node, "size")
        if not node.args and size is not None:
            one = _size_parts(size)  # `u.expand(size=(*x.shape[:-1], n))`
        if one is not None and any(isinstance(e, ast.Starred) for e in one):
            given = one
        elif not c.starred:
            return _NO
        if isinstance(func, ast.Attribute) and func.attr in ("view", "reshape"):
            minus: list[int] = []
            spliced = None if node.keywords else self.spliced_sizes(given, c.env, minus)
            if spliced is not None:
                x = self.value(func.value, c.env)  # read also for its own checks
                self.file.stats_known("reshape to given sizes")
                return rest_of(x, spliced, minus[0]) if len(minus) == 1 else spliced
        if isinstance(func, ast.Attribute) and func.attr in _SPLICED_METHODS:
            # `x.new_zeros(*x.shape[:-1], n)`, `x.expand(*x.shape[:-1], n)`: where no size
            # is a -1 (which `expand` reads as "keep"), the sizes given.
            ints = [T.int_value(a) for a in given]
            keep = func.attr == "expand" and -1 in ints
            spliced = None if -1 in ints and not keep else self.spliced_sizes(given, c.env)
            if spliced is not None:
                x = self.value(func.value, c.env)
                self.file.stats_known("tensor method")
                sizes = _kept(x, spliced, ints, given) if keep else spliced
                if isinstance(x, tuple) and func.attr in ("expand", "broadcast_to"):
                    try:
                        T.expand_fits(x, sizes, _text(self.module, func.value))
                    except Mismatch as err:
                        self.file.report(node, str(err))
                return sizes
        if self.qualified(func) in _SPLICED_MAKERS:
            made = self.spliced_sizes(given, c.env)
            if made is not None:
                self.file.stats_known("torch")
                return made
        return _NO

    def value_call(self, c: "_Parts") -> "Value | _NoValue":
        """A method of a value the checker knows (a tensor, a module instance, a layer), or a
        local value that can be called."""
        node, func, env = c.node, c.node.func, c.env
        if isinstance(func, ast.Attribute):
            dotted = self.dotted_target(func)
            holder = env.get(dotted) if dotted is not None and dotted in env else None
            if holder is None:
                found = self.method_call(c, func, self.value(func.value, env))
                if found is not _NO:
                    return found
        elif isinstance(func, ast.Name) and func.id in env:
            held = env[func.id]
            if _callable(held):
                return self.invoke(node, held, c.args, c.kwargs)
            if held is None and (done := self.nested_call(node, func.id, c.vals))[0]:
                return done[1]  # `contract(x)`, of a `def contract(x):` in this function
            if self.shadowed(func.id) or self.is_module:
                self.file.stats_unknown("call of a local value")
                return None
        elif (layer := self.listed_layer(func, env)) is not None:
            return self.invoke(node, layer, c.args, c.kwargs)
        if isinstance(func, ast.Attribute):
            dotted = self.dotted_target(func)
            if dotted is not None and dotted in env and _callable(env[dotted]):
                return self.invoke(node, env[dotted], c.args, c.kwargs)
        return _NO

    def listed_layer(self, func: ast.expr, env: Env) -> Value:
        """`self.layers[0]` of a list of like layers (`nn.ModuleList([Block(c) for ...])`):
        one of them, as a loop over the list gives it; None for anything else."""
        if not (
            isinstance(func, ast.Subscript)
            and isinstance(func.value, (ast.Name, ast.Attribute))
            and int_literal(func.slice) is not None
        ):
            return None
        held = self.value(func.value, env)
        ok = isinstance(held, ListV) and isinstance(held.item, (LayerV, ObjV))
        return held.item if ok else None  # type: ignore[union-attr]

    def method_call(self, c: "_Parts", func: ast.Attribute, base: Value) -> "Value | _NoValue":
        """`base.attr(...)` for the value `base` of `func.value`."""
        node, args, kwargs, env, attr = c.node, c.args, c.kwargs, c.env, func.attr
        if isinstance(base, tuple):
            self.file.stats_known("tensor method")
            return tensor_method(self, node, attr, base, args, kwargs, c.starred)
        if isinstance(base, ObjV):
            return self.obj_call(node, base, attr, args, kwargs, env)
        if isinstance(base, LayerV):  # `scheduler.step(out, t, x)`: a rule of the library's
            ruled = layer_method(self, node, base, attr, args, kwargs)
            if ruled is not PASS:
                return ruled  # type: ignore[return-value]
        if isinstance(base, DictV):
            return dict_method(base, attr, node.args)
        if isinstance(base, ClsV):
            # `Attention.create_alibi_slope(n)`: a static or class method.
            meth = cast(ClassModel, base.cls).method(attr)
            if meth is not None and (
                _decorated(meth[1], "staticmethod") or _decorated(meth[1], "classmethod")
            ):
                return self.obj_call(node, ObjV(base.cls, base.exact), attr, args, kwargs, env)
            if meth is None and attr == "apply" and autograd_function(cast(ClassModel, base.cls)):
                # `JumpReLU.apply(x, t)` runs `JumpReLU.forward(ctx, x, t)`: ctx, unknown here;
                # where the class has a `setup_context`, `forward(x, t)` takes no ctx.
                obj = ObjV(base.cls, base.exact)
                if cast(ClassModel, base.cls).method("setup_context") is not None:
                    return self.obj_call(node, obj, "forward", args, kwargs, env)
                ctx = [ast.Constant(None), *node.args]
                run = ast.copy_location(ast.Call(func, ctx, node.keywords), node)
                return self.obj_call(run, obj, "forward", [None, *args], kwargs, env)
        if (base is None or isinstance(base, SymV)) and attr in ("view", "reshape"):
            if not c.starred and self.qualified(func) is None:  # not `torch.reshape(x, s)`
                # Whatever was reshaped, the result has the sizes asked for.
                return self.reshaped(args)
        if isinstance(base, AnyOfV):
            return self.each(base, lambda o: self.call_of(node, o, attr, args, kwargs, env))
        if isinstance(base, TupV):
            field = base.field(attr)
            if _callable(field):
                return self.invoke(node, field, args, kwargs)
            self.file.stats_unknown("call without a shape rule or contract")
            return None
        return _NO

    def library_or_builtin(self, c: "_Parts") -> "Value | _NoValue":
        """A call of a library function (torch, einops, math...) or of a builtin."""
        node, func, args = c.node, c.node.func, c.args
        qual = self.qualified(func)
        if qual is not None and _numeric(qual, args, node):
            return NumV()
        if qual in ("typing.cast", "typing_extensions.cast") and len(args) == 2:
            return self.cast(node.args[0], args[1])
        stacked = self.stack_of_comprehension(c, qual)
        if stacked is not _NO:
            return stacked  # type: ignore[return-value]
        if qual in ("torch.nn.ModuleList", "torch.nn.ModuleDict") and node.args:
            self.file.stats_known("torch")
            return self.container(node.args[0], args[0], c.env)
        if qual is not None:
            done, result = library_call(self, node, qual, args, c.kwargs, c.starred)
            if done:
                return result
        if isinstance(func, ast.Name) and not self.shadowed(func.id):
            builtin = builtin_call(self, node, func.id, args, c.kwargs)
            if builtin is not PASS:
                return builtin  # type: ignore[return-value]
        return _NO

    def definition_call(self, c: "_Parts") -> "Value | _NoValue":
        """A call of a function or class the checker reads: its contract, what its body
        gives, or a new instance."""
        node, func = c.node, c.node.func
        if isinstance(func, ast.Name) and not self.shadowed(func.id) and not c.kwargs:
            picked = defaulting(self.module, func.id)
            if picked is not None and max(picked) < len(c.args):
                # `default(y, x)`: y when given; x stands in for y, with y's shape.
                given, other = (c.args[i] for i in picked)
                self.file.stats_known("defaulting helper")
                if isinstance(given, tuple):
                    return given
                first = node.args[picked[0]]
                omitted = isinstance(first, ast.Constant) and first.value is None
                return other if omitted and isinstance(other, tuple) else None
        callee = self._callee(func)
        if callee is not None:
            self.file.stats_known("annotated function")
            target = callee[0].functions.get(callee[1].contract.op)
            return self.contract_call(node, callee[0], callee[1], c.vals, 0, target)
        if isinstance(func, ast.Name) and not self.shadowed(func.id):
            fn = self.module.functions.get(func.id)
            if fn is not None and (
                _tuple_returns(self.module, fn) is not None
                or any(_alternatives(self.module, a.annotation) for a in _params(fn))
            ):
                self.file.stats_known("annotated function")
                return self.contract_call(node, self.module, None, c.vals, 0, fn)
            if fn is not None:
                found = self.contract_call(node, self.module, None, c.vals, 0, fn)
                if found is not None:
                    return found
        if (helper := self.imported_helper(func)) is not None:
            found = self.imported_helper_call(node, *helper, c.vals)
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
                return self.container(node.args[0], c.args[0], c.env)
            return self.made(node, ClsV(cls), c.args, c.kwargs)
        return _NO

    def stack_of_comprehension(self, c: "_Parts", qual: str | None) -> object:
        """`torch.stack([f(b) for b in blocks], dim=0)`: the items all have one shape. Over a
        literal list or `range(k)` (`[x[..., i] for i in range(3)]`), each item in turn, as
        if the list were written out."""
        node, env = c.node, c.env
        if qual not in ("torch.stack", "torch.cat") or not node.args:
            return _NO
        seq = node.args[0]
        if not isinstance(seq, (ast.ListComp, ast.GeneratorExp)):
            return _NO
        each = self.each_element(seq, env)
        if each is not None and all(isinstance(v, tuple) for v in each) and not c.starred:
            done, result = library_call(
                self, node, qual, [TupV(tuple(each)), *c.args[1:]], c.kwargs, False
            )
            if done:
                return result
        self.file.stats_known("torch")
        item = self.element(seq, env)
        dim_node = node.args[1] if len(node.args) > 1 else kw(node, "dim")
        d = 0 if dim_node is None else int_literal(dim_node)
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


def _folded(node: ast.Call, flags: dict[str, object]) -> ast.Call:
    """`x.sum(-1, keepdim=keepdim)` where `keepdim` holds one constant throughout the body
    (`given_flags`): the call with that constant written in its place, as rules read it."""

    def fold(e: ast.expr) -> ast.expr:
        held = flags.get(e.id) if isinstance(e, ast.Name) else None
        return ast.copy_location(ast.Constant(held), e) if isinstance(held, (bool, str)) else e

    args = [fold(a) for a in node.args]
    keys = [ast.keyword(k.arg, fold(k.value)) for k in node.keywords]
    if all(a is b for a, b in zip(args, node.args, strict=True)) and all(
        k.value is o.value for k, o in zip(keys, node.keywords, strict=True)
    ):
        return node
    return ast.copy_location(ast.Call(node.func, args, keys), node)


# Functions that call their first argument on the others, and their own keywords.
_CALLS_ITS_FIRST = frozenset(("torch.utils.checkpoint.checkpoint",))
_CHECKPOINT_OPTIONS = frozenset(
    "use_reentrant preserve_rng_state context_fn determinism_check debug".split()
)


@dataclasses.dataclass
class _Parts:
    """One call's parts, as the steps of `_Expressions.call` read them."""

    node: ast.Call
    args: list[Value]
    kwargs: dict[str, Value]
    starred: bool  # some argument is `*xs`
    env: Env
    vals: dict[int, Value]  # the value of each argument's node


# How a call is read, in order: the first step that knows what is called gives the value.
_CALL_STEPS: tuple[Callable[[_Expressions, _Parts], "Value | _NoValue"], ...] = (
    _Expressions.super_call,
    _Expressions.spliced_call,
    _Expressions.value_call,
    _Expressions.library_or_builtin,
    _Expressions.definition_call,
)
