"""Symbolic sizes, and the size domain in which the static checker matches `_contract`'s
specs with the one unifier, `shapesafe._unify.match`.

At runtime every size is an int. Before the code runs, a size is what the caller's
annotations call it: a literal (`3`), a dim name (`"s"`), an expression (`"h*d"`), or a
fresh unknown (an `_` axis, or a dim that a callee's return spec leaves unbound).

Every size is a universal unknown, as a type variable is for a type checker: code is right
when it is right for every size its annotations allow. So two names, or a name and a
literal, are known to differ unless the scope's `Facts` say they are equal (an assert, an
`if` guard). A `sym` (a constructor argument, a config attribute) is set when the object is
built: the first size it must equal identifies it (`nn.Linear(cfg.d_model, ...)` applied
to an input of last dim `d_model`), and a later size it must equal is compared with that
one. It is not identified by a size that a tensor of the same relation carries on another
axis (`k` of "b h pos d//h" in `q @ k`): the code gave the two different roles there. Anything
else is unknown, and an unknown never makes a finding.
"""

import ast
import contextlib
import contextvars
import dataclasses
import functools
import itertools
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Literal

from .. import _symbolic
from .._contract import Conflict, Dim, Source, Spec
from .._unify import BindingState, Failure, RunPlan, SpecPlan, match
from ._source import walk

SizeKind = Literal["int", "name", "expr", "fresh", "sym"]
_counter = itertools.count()


class _Arith:
    """Arithmetic on sizes, for `_unify.symbolic_value`: it builds a `_Tree`."""

    __slots__ = ()

    def _op(self, op: ast.operator, other: object, reverse: bool = False) -> "_Tree":
        me, o = _node(self), _node(other)
        return _Tree(ast.BinOp(o, op, me) if reverse else ast.BinOp(me, op, o))

    def __add__(self, o: object) -> "_Tree":
        return self._op(ast.Add(), o)

    def __radd__(self, o: object) -> "_Tree":
        return self._op(ast.Add(), o, True)

    def __sub__(self, o: object) -> "_Tree":
        return self._op(ast.Sub(), o)

    def __rsub__(self, o: object) -> "_Tree":
        return self._op(ast.Sub(), o, True)

    def __mul__(self, o: object) -> "_Tree":
        return self._op(ast.Mult(), o)

    def __rmul__(self, o: object) -> "_Tree":
        return self._op(ast.Mult(), o, True)

    def __floordiv__(self, o: object) -> "_Tree":
        return self._op(ast.FloorDiv(), o)

    def __rfloordiv__(self, o: object) -> "_Tree":
        return self._op(ast.FloorDiv(), o, True)

    def __truediv__(self, o: object) -> "_Tree":
        return self._op(ast.Div(), o)

    def __rtruediv__(self, o: object) -> "_Tree":
        return self._op(ast.Div(), o, True)

    def __mod__(self, o: object) -> "_Tree":
        return self._op(ast.Mod(), o)

    def __rmod__(self, o: object) -> "_Tree":
        return self._op(ast.Mod(), o, True)

    def __pow__(self, o: object) -> "_Tree":
        return self._op(ast.Pow(), o)

    def __rpow__(self, o: object) -> "_Tree":
        return self._op(ast.Pow(), o, True)

    def __neg__(self) -> "_Tree":
        return _Tree(ast.UnaryOp(ast.USub(), _node(self)))

    def __pos__(self) -> "_Tree":
        return _Tree(ast.UnaryOp(ast.UAdd(), _node(self)))


@dataclasses.dataclass(frozen=True)
class Size(_Arith):
    """One axis. `fresh` sizes are equal only to themselves; `key` tells them apart.

    A `sym` is a size that code names rather than an annotation: a constructor argument or a
    config attribute (`config.n_embd`). Its `key` is the class whose code names it, and two
    syms are known to differ only when the same class names them differently.
    """

    kind: SizeKind
    value: int | str
    key: int = 0

    def __str__(self) -> str:
        # An unknown size shows as `?`, or `?seq` where a callee's spec names it `seq`; never
        # `_`, which a jaxtyping spec reads as a dim it does not check.
        if self.kind == "fresh":
            return f"?{self.value}"
        return str(self.value)


@dataclasses.dataclass(frozen=True)
class Group:
    """A run of axes of unknown length: a caller's `*batch`, or an anonymous `...`."""

    name: str  # "" for an anonymous group
    key: int = 0
    # The run without its first `cut` axes, which code took out of it from the front
    # (`x[0]`, `x.sum(0)` of "*batch c"): `*batch[1:]`; and without its last `end`, taken
    # from the back (`x.sum(-2)`): `*batch[:-1]`. See `run_item`.
    cut: int = 0
    end: int = 0

    def __str__(self) -> str:
        if not self.name:
            return "..."
        if self.cut or self.end:
            return f"*{self.name}[{self.cut or ''}:{-self.end or ''}]"
        return f"*{self.name}"


Item = Size | Group
Shape = tuple[Item, ...]


def lit(n: int) -> Size:
    return Size("int", n)


def name(text: str) -> Size:
    return Size("name", text)


def sym(text: str, owner: int) -> Size:
    return Size("sym", text, owner)


def fresh(label: str = "") -> Size:
    return Size("fresh", label, next(_counter))


def anonymous_group() -> Group:
    return Group("", next(_counter))


def run_item(run: Group, i: int) -> Size:
    """Axis `i` of a run, counted from its first axis: `?batch[0]`, a size nothing is known
    of but that it is the same wherever that run's axis is read. Its key is taken apart from
    `fresh` sizes' keys, which count up from 0."""
    label = f"{run.name}[{i}]" if run.name else f"...[{i}]"
    return Size("fresh", label, -1 - (hash((run.name, run.key, i)) & 0xFFFFFFFFFFFF))


def dropped(items: Shape, k: int, end: int = 0) -> Shape | None:
    """`items`, a run's axes, without their first `k` and their last `end`: known sizes
    drop, and a run within loses its first or last axes (`cut`, `end`). None where there
    are too few: the code that took them out read other axes than the run's."""
    out = list(items)
    while k:
        if not out:
            return None
        first = out[0]
        if isinstance(first, Group):
            out[0] = dataclasses.replace(first, cut=first.cut + k)
            break
        out.pop(0)
        k -= 1
    while end:
        if not out:
            return None
        last = out[-1]
        if isinstance(last, Group):
            out[-1] = dataclasses.replace(last, end=last.end + end)
            break
        out.pop()
        end -= 1
    return tuple(out)


def show(shape: Sequence[Item]) -> str:
    """A shape as a spec string, e.g. `b s d` or `*batch n`."""
    return " ".join(str(item) for item in shape)


def expression(text: str, sizes: dict[str, Size]) -> Size | None:
    """A symbolic dim such as `heads*head_dim`, with its names replaced by their sizes."""
    if "{" in text:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    missing = False

    class _Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            nonlocal missing
            size = sizes.get(node.id)
            if size is None or size.kind == "fresh":
                missing = True
                return node
            if size.kind == "int":
                return ast.Constant(size.value)
            if size.kind == "name":
                return ast.Name(str(size.value), ast.Load())
            try:
                return ast.parse(str(size.value), mode="eval").body
            except SyntaxError:  # a size shown with an unknown part ("2*?")
                missing = True
                return node

    body = _Substitute().visit(tree).body
    if missing:
        return None
    return simplify(body)


def simplify(body: ast.expr) -> Size | None:
    """An int for a constant expression, a name for a bare name, else canonical text."""
    allowed = (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.operator, ast.unaryop)
    if not all(isinstance(n, (*allowed, ast.expr_context)) for n in walk(body)):
        return None
    if isinstance(body, ast.Name):
        return name(body.id)
    if not any(isinstance(n, ast.Name) for n in walk(body)):
        value = _fold(body)
        return None if value is None else lit(value)
    return Size("expr", ast.unparse(body).replace(" ", ""))


# A dim string is read, never run: `"n 9**9**9"` must not take forever. A constant is folded
# by the runtime's evaluator, with its one bound (`_symbolic.LIMIT`); a constant past the
# bound is no real tensor's size, so it stays unknown.


def _fold(node: ast.expr) -> int | None:
    """The value of an int constant expression, or None (not an int, or too large)."""
    try:
        value = _symbolic.evaluate(_symbolic.tree_of(node), {}, ())
    except Exception:  # a division by zero
        return None
    return value if type(value) is int and abs(value) <= _symbolic.LIMIT else None


def from_dim(dim: Dim) -> Item:
    """How a caller's own annotation names one axis."""
    if dim.kind == "anonymous_variadic":
        return anonymous_group()
    if dim.kind == "variadic":
        # `*#batch` of two parameters: runs that broadcast together, the same run here.
        return Group(dim.name)
    if dim.kind == "named" and dim.broadcastable:
        # `#d`: d, or 1 where it broadcasts; an op that holds for d holds for 1 as well.
        return name(dim.name)
    if dim.kind == "anonymous" or dim.broadcastable:
        return fresh()
    if dim.kind == "fixed":
        return lit(dim.size)
    if dim.kind == "named":
        return name(dim.name)
    try:
        size = simplify(ast.parse(dim.name, mode="eval").body) if "{" not in dim.name else None
    except SyntaxError:
        size = None
    return fresh(dim.label) if size is None else size


def from_spec(spec: Spec) -> Shape:
    """The shape a caller declares with an annotation, in its own dim names."""
    return tuple(from_dim(d) for d in spec.dims)


Verdict = Literal["same", "differ", "unknown"]


def certain(a: Size, b: Size) -> Literal["same", "differ"] | None:
    """Whether two sizes are certainly the same or certainly differ, in what the scope in
    progress knows (`Facts`); None if neither."""
    if a == b or (a.kind == b.kind == "int" and a.value == b.value) or _poly.same(a, b):
        return "same"
    facts = _facts.get()
    if facts is not None and facts.parent:
        if facts.find(a) == facts.find(b):
            return "same"
        if any(_differ(x, y) for x in facts.members(a) for y in facts.members(b)):
            return "differ"
    elif _differ(a, b):
        return "differ"
    if "expr" in (a.kind, b.kind) and _products is not None:
        # `4*n` and `n`: the same product of sizes, with different coefficients.
        ma, mb = _products(a), _products(b)
        if ma is not None and mb is not None and ma[1] and ma[1] == mb[1] and ma[0] != mb[0]:
            return "differ"
    return None


def needs(a: Size, b: Size) -> Literal["same", "differ"] | None:
    """`certain`, where the code is right only if `a` and `b` are equal. Where neither is
    known, and one of them is a sym that no annotation fixes, the scope learns that they
    are equal: a sym is identified by the first size it must equal. Not where one tensor
    holds both on two axes (`_carried_apart`): then they differ, as two names do."""
    verdict = certain(a, b)
    facts = _facts.get()
    if verdict is None and facts is not None and _learns(facts, a, b):
        if _carried_apart(facts, a, b):
            return "differ"
        facts.union(a, b)
    return verdict


def equality_note(a: object, b: object, names: bool = False) -> str:
    """What a finding adds where `a` and `b` differ as unknowns, not as numbers: the
    equality the code needs. Empty for two literals or a size nothing is known of, and for
    two names unless `names` (a matmul's inner dims: `q @ k` holds only if s == t)."""
    if not (isinstance(a, Size) and isinstance(b, Size)):
        return ""
    kinds = {a.kind, b.kind}
    made = any(s.kind == "int" and s.key for s in (a, b))  # a 1 that an op made
    if kinds == {"int"} or "fresh" in kinds or made:
        return ""
    if not kinds & ({"int", "sym", "name"} if names else {"int", "sym"}):
        return ""
    if a.kind == "int":
        a, b = b, a  # `c == 3`, the literal last
    return f"holds only if {a} == {b}, and nothing here says they are equal"


def _differ(a: Size, b: Size) -> bool:
    """Whether two sizes are distinct unknowns (or literals), nothing said alone."""
    kinds = {a.kind, b.kind}
    if kinds <= {"int", "name"}:
        return a.value != b.value or a.kind != b.kind
    if "expr" in kinds and _poly.differ(a, b):
        return not _entangled(a, b)
    return a.kind == b.kind == "sym" and a.key == b.key and _related(str(a.value), str(b.value))


def _entangled(a: Size, b: Size) -> bool:
    """Whether the scope's facts say something of a name in `a` or `b` (`n == h*w`), so
    that two polynomials that differ may still be equal there."""
    facts = _facts.get()
    if facts is None or not facts.parent:
        return False
    names: set[str] = set()
    for s in (a, b):
        names |= _poly.atoms(_poly.form(s) or {})
    for s in (*facts.parent, *facts.parent.values()):
        if names & _poly.atoms(_poly.form(s) or {}):
            return True
    return False


def _learns(facts: "Facts", a: Size, b: Size) -> bool:
    """Whether `needs(a, b)` identifies them: each side is a size of an annotation or of
    code, not a fresh one, and one side is only syms (and products of them)."""
    if "fresh" in (a.kind, b.kind):
        return False
    return any(
        all(m.kind == "sym" or (m.kind == "expr" and m.key) for m in facts.members(s))
        for s in (a, b)
    )


def _carried_apart(facts: "Facts", a: Size, b: Size) -> bool:
    """Whether a tensor of the relation being checked (`relating`), or one the scope bound
    to a name (`Facts.carry`), has `a` and `b` on two different axes: the code gave them
    different roles there (`k` of "b h pos d//h" in `q @ k`), so a sym among them is not
    identified by the other, and the relation holds only if the two happen to be equal."""
    ra, rb = facts.find(a), facts.find(b)
    for shape in (*_relating.get(), *facts.carried):
        roots = [facts.find(i) if isinstance(i, Size) else None for i in shape]
        if ra in roots and rb in roots:
            return True
    return False


# The shapes of the tensors whose relation `needs` is checking, set by `relating`.
_relating: contextvars.ContextVar[tuple[Shape, ...]] = contextvars.ContextVar(
    "shapesafe_static_relating", default=()
)


@contextlib.contextmanager
def relating(*shapes: Shape | None) -> Iterator[None]:
    """Check a relation between tensors of these shapes (a call's arguments, an op's
    operands), within the relation being checked, if one is (a matmul's batch axes): a sym
    that one of them carries is not learned equal to a size that the same tensor carries on
    another axis."""
    token = _relating.set((*_relating.get(), *(s for s in shapes if s)))
    try:
        yield
    finally:
        _relating.reset(token)


def _node_of(size: Size) -> Size:
    """The size that `Facts` keys: an int by its value alone (an op's 1 is a 1)."""
    return lit(size.value) if size.kind == "int" and size.key else size  # type: ignore[arg-type]


class Facts:
    """What one scope knows to be equal: sizes an assert or an `if` guard equates, and syms
    identified by the sizes they must equal (`needs`). A union-find over sizes.

    `carried` are the shapes of the tensors the scope bound to names, in every branch: one
    list, which each branch's copy shares. `order` are pairs (a, b) with a <= b: what a
    guard (`if k < n`) or a slice (`x[:k]`) says."""

    def __init__(
        self,
        parent: dict[Size, Size] | None = None,
        carried: dict[Shape, None] | None = None,
        order: Iterable[tuple[Size, Size]] = (),
    ) -> None:
        self.parent: dict[Size, Size] = dict(parent or {})
        self.carried: dict[Shape, None] = {} if carried is None else carried
        self.order: set[tuple[Size, Size]] = set(order)

    def find(self, size: Size) -> Size:
        size = _node_of(size)
        while size in self.parent:
            size = self.parent[size]
        return size

    def members(self, size: Size) -> list[Size]:
        root = self.find(size)
        out = [root]
        out += [s for s in self.parent if s != root and self.find(s) == root]
        return out if size in out or _node_of(size) in out else [size, *out]

    def union(self, a: Size, b: Size) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        # A literal, then a name, stands for the class: it is what messages would name.
        order = {"int": 0, "name": 1}
        if order.get(rb.kind, 2) < order.get(ra.kind, 2):
            ra, rb = rb, ra
        self.parent[rb] = ra

    def carry(self, shape: Shape) -> None:
        """Remember the shape of a tensor the scope bound to a name, where it has two
        sizes that a sym could be learned equal to (`_carried_apart`)."""
        sizes = {i for i in shape if isinstance(i, Size) and i.kind != "fresh"}
        if len(sizes) > 1:
            self.carried[shape] = None

    def assume(self, pairs: Iterable[tuple[Size, Size]]) -> None:
        """Take each pair as equal: what an assert or a guard says."""
        for a, b in pairs:
            if "fresh" not in (a.kind, b.kind):
                self.union(a, b)

    def at_most(self, pairs: Iterable[tuple[Size, Size]]) -> None:
        """Take `a <= b` for each pair (a, b); where `b <= a` is known too, they are equal."""
        for a, b in pairs:
            if "fresh" in (a.kind, b.kind):
                continue
            if self.below(b, a):
                self.union(a, b)
            self.order.add((a, b))

    def below(self, a: Size, b: Size) -> bool:
        """Whether `a <= b` is known: the sizes are equal, or a pair says so."""
        ra, rb = self.find(a), self.find(b)
        return ra == rb or any(self.find(x) == ra and self.find(y) == rb for x, y in self.order)


_facts: contextvars.ContextVar[Facts | None] = contextvars.ContextVar(
    "shapesafe_static_facts", default=None
)


def facts() -> Facts | None:
    """The facts of the scope being read, if one is."""
    return _facts.get()


@contextlib.contextmanager
def scope_facts(start: Facts | None = None) -> Iterator[Facts]:
    """Read a scope (or one branch of one) under its own facts, a copy of `start`."""
    made = Facts(start.parent, start.carried, start.order) if start is not None else Facts()
    token = _facts.set(made)
    try:
        yield made
    finally:
        _facts.reset(token)


# How `_torch` reads a size as a product (coefficient, atoms); set when it is imported.
_products: "Callable[[Size], tuple[int, object] | None] | None" = None


def _related(a: str, b: str) -> bool:
    """Two syms of one class are told apart when both are plain arguments, or attributes of
    the same one (`config.n_embd`, `config.vocab_size`)."""
    if "." not in a and "." not in b:
        return True
    return a.split(".")[0] == b.split(".")[0] and "." in a and "." in b


def _of_syms(text: str) -> bool:
    """Whether a size expression names only attributes of `self` (`self.cfg.d_head*2`)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    inner = {id(n.value) for n in walk(tree) if isinstance(n, ast.Attribute)}
    names = [n for n in walk(tree) if isinstance(n, ast.Name)]
    return all(n.id == "self" and id(n) in inner for n in names)


class _Tree(_Arith):
    """A symbolic dim's value while `_unify.symbolic_value` computes it over sizes: the
    syntax tree that `expression` would build, simplified once whole (`_as_size`)."""

    __slots__ = ("node",)

    def __init__(self, node: ast.expr) -> None:
        self.node = node


def _node(value: object) -> ast.expr:
    """The tree of a size, as `expression` substitutes it; a fresh size can't be one."""
    if isinstance(value, _Tree):
        return value.node
    if type(value) is int:
        return ast.Constant(value)
    if isinstance(value, Size):
        if value.kind == "int":
            return ast.Constant(value.value)
        if value.kind == "name":
            return ast.Name(str(value.value), ast.Load())
        if value.kind != "fresh":
            return ast.parse(str(value.value), mode="eval").body
    raise ValueError(f"no size: {value!r}")


def _as_size(value: object) -> Size | None:
    """A value of the matcher's domain as a size; None for one that isn't (a run, or what a
    symbolic dim computes outside the sizes, such as a float)."""
    if isinstance(value, Size):
        return value
    if type(value) is int:
        return lit(value) if abs(value) <= _symbolic.LIMIT else None
    if isinstance(value, _Tree):
        return simplify(value.node)
    return None


class _Sizes(dict[str, Size]):
    """The unifier's single bindings, read through what it has learned.

    The matcher reads them with `get`. Each size it gets is remembered, by identity, with the
    name it is bound to (`bound_name`), for the rest of one `Unifier.match`: where a bound
    size is compared with a caller's size, the comparison then knows which argument bound
    it, whatever the order of the matcher's reads and comparisons.
    """

    def __init__(self, unifier: "Unifier") -> None:
        super().__init__()
        self.unifier = unifier
        self.read: dict[int, tuple[object, str]] = {}  # id(size got) -> (size, name)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        value = dict.get(self, key)
        if value is None:
            return default
        out = self.unifier.resolve(value)
        self.read[id(out)] = (out, key)
        return out

    def bound_name(self, size: object) -> str | None:
        """The name that `size` was got under in this match, if it was."""
        hit = self.read.get(id(size))
        return hit[1] if hit is not None and hit[0] is size else None


def _is_run(item: object) -> bool:
    return isinstance(item, Group)


@functools.lru_cache(maxsize=1024)
def _plan(spec: Spec) -> SpecPlan:
    """The spec's plan as the static checker matches it: a `*#name` run is not judged."""
    plan = spec.plan
    if plan.run is not None and plan.run.broadcastable:
        return plan._replace(run=RunPlan("", False, plan.run.position))
    return plan


def _run_rank(
    plan: SpecPlan, shape: Shape, shapes: dict[str, tuple[bool, Shape]]
) -> Failure | None:
    """A rank failure where `shape` holds the very run that the spec's variadic dim is bound
    to, with fewer axes before or after it: `x.sum(-1)` of "*b n 3" against "*b n 3"."""
    pre, post, run, ndims = plan
    bound = shapes.get(run.name) if run is not None and run.name else None
    if bound is None or len(bound[1]) != 1 or not isinstance(bound[1][0], Group):
        return None
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    held, whole = shape[runs[0]] if len(runs) == 1 else None, bound[1][0]
    cut = held.cut + held.end if isinstance(held, Group) and not whole.cut + whole.end else 0
    if isinstance(held, Group) and cut and dataclasses.replace(held, cut=0, end=0) == whole:
        # `x.sum(0)` of "*b c" is "*b[1:] c": as many axes as "*b c" only with one more.
        if len(shape) - cut == ndims:
            return None
        return Failure("rank", -1, -1, ndims, len(shape) - cut)
    if held != whole:
        return None
    if runs[0] >= len(pre) and len(shape) - runs[0] - 1 >= len(post):
        return None  # `match` tells what the run would have to hold
    return Failure("rank", -1, -1, ndims, len(shape))


class Unifier(BindingState):
    """Binds a callee's dim names to a caller's sizes, argument by argument.

    `_unify.match` over this domain: `eq` is false only for sizes known to differ (and
    learns what a fresh size is), `is_one` only for sizes known not to be 1 is false (a `#`
    dim makes no finding on a size that may be 1), and a `Group` is a run of unknown
    length. Failures become the same `Conflict` records as `_contract.Bindings`' ones, and
    only what is certain is reported. The binding state is the runtime's
    (`_unify.BindingState`); a run's source is its first axis only (`spans_runs`).
    """

    spans_runs = False
    sizes_: _Sizes
    shapes_: dict[str, tuple[bool, Shape]]

    def __init__(self, arguments: Mapping[str, object] | None = None) -> None:
        # What a `{self.x}` part of a symbolic dim reads (`Instance`); None: nothing.
        self.arguments = arguments
        super().__init__(_Sizes(self))
        # What each fresh size turned out to be during this call, and the argument where.
        self.known: dict[int, tuple[Size, str]] = {}
        # What the arguments' `*#name` runs give together (`_bcast`).
        self.runs_: dict[str, tuple[Shape, Source] | None] = {}
        self._argument = ""
        self._where: dict[str, tuple[int, int]] = {}

    def copy(self) -> "Unifier":
        out = Unifier()
        out.sizes_.update(self.sizes_)
        out.shapes_ = dict(self.shapes_)
        out.sources = dict(self.sources)
        out.known = dict(self.known)
        out.runs_ = dict(self.runs_)
        return out

    def adopt(self, other: "Unifier") -> None:
        """Take what `other`, a copy of this one that matched more, has bound."""
        self.sizes_.clear()
        self.sizes_.update(other.sizes_)
        self.shapes_ = dict(other.shapes_)
        self.sources = dict(other.sources)
        self.known = dict(other.known)
        self.runs_ = dict(other.runs_)

    def adopt_common(self, others: "list[Unifier]") -> None:
        """Take the bindings that every one of `others`, copies of this one that matched
        more, made alike."""
        first = others[0]
        for n, size in dict.items(first.sizes_):
            if n in self.sizes_:
                continue
            here = first.resolve(size)
            if all(
                n in o.sizes_ and o.resolve(dict.__getitem__(o.sizes_, n)) == here
                for o in others[1:]
            ):
                self.sizes_[n] = here
                self.sources[n] = first.sources[n]
        for n, bound in first.shapes_.items():
            if n not in self.shapes_ and all(o.shapes_.get(n) == bound for o in others[1:]):
                self.shapes_[n] = bound
                self.sources["*" + n] = first.sources["*" + n]

    def bind_declared(
        self, spec: Spec, argument: str, only: Collection[str] | None = None, runs: bool = False
    ) -> None:
        """Bind each name of `spec` (or each of those in `only`) to itself, as declared by
        the caller's annotation; with `runs`, a `*#name` run too (what a return's `*name` is,
        where every argument's run is the caller's own)."""
        for axis, dim in enumerate(spec.dims):
            if only is not None and dim.name not in only:
                continue
            if dim.kind == "named" and not dim.broadcastable and dim.name not in self.sizes_:
                self.sizes_[dim.name] = name(dim.name)
                self.sources[dim.name] = Source(argument, axis)
            elif dim.kind == "variadic" and (runs or not dim.broadcastable):
                if dim.name not in self.shapes_:
                    self.shapes_[dim.name] = (False, (Group(dim.name),))
                    self.sources["*" + dim.name] = Source(argument, axis)

    def resolve(self, size: Size) -> Size:
        while size.kind == "fresh" and size.key in self.known:
            size = self.known[size.key][0]
        return size

    def compare(self, a: Size, b: Size, argument: str, a_argument: str | None = None) -> Verdict:
        """Whether `a` and `b` are the same size; learns what a fresh size is.

        `argument` is where `b` was seen, `a_argument` where `a` was (the same if None).
        """
        a, b = self.resolve(a), self.resolve(b)
        verdict = needs(a, b)
        if verdict is not None:
            return verdict
        if a.kind == "fresh":
            self.known[a.key] = (b, argument)
        elif b.kind == "fresh":
            self.known[b.key] = (a, a_argument or argument)
        return "unknown"

    def eq(self, a: object, b: object) -> bool:
        """The matcher's `eq`: false only when `a` and `b` are known to differ."""
        x, y = _as_size(a), _as_size(b)
        if x is None or y is None:
            return True
        a_argument = None
        bound = self.sizes_.bound_name(a)
        if bound is not None:
            # `a` is a bound size: what `b` turns out to be was seen where `a` was bound.
            a_argument = self._argument if bound in self._where else self.sources[bound].argument
        return self.compare(x, y, self._argument, a_argument) != "differ"

    def is_one(self, a: object) -> bool:
        """The matcher's `is_one`: whether `a` may be 1.

        A size nothing is known of (an op's result of no known size) is not taken as 1: at a
        `#` dim the matcher then compares it with the bound size and learns it, as it does at
        any other dim, so a later dim can still conflict with it.
        """
        size = _as_size(a)
        if size is None:
            return True
        size = self.resolve(size)
        if size.kind == "fresh":
            return False
        return size.kind != "int" or size.value == 1

    def _size_of(self, size: object) -> object:
        return self.resolve(size) if isinstance(size, Size) else size

    def _expected_of(self, value: object) -> object:
        return _as_size(value)

    def sizes(self) -> dict[str, Size]:
        return {n: self.resolve(s) for n, s in self.sizes_.items()}

    def match(self, argument: str, spec: Spec, shape: Shape) -> Conflict | None:
        """Bind `spec` against `shape`; the first certain conflict, or None."""
        saved = self._saved()
        self._argument, self._where = argument, {}
        self.sizes_.read = {}
        with relating(shape):
            failed = _run_rank(_plan(spec), shape, self.shapes_) or match(
                _plan(spec),
                shape,
                self.sizes_,
                self.shapes_,
                self.arguments,
                eq=self.eq,
                is_one=self.is_one,
                where=self._where,
                is_run=_is_run,
            )
        if failed is None:
            self._record(argument, self._where)
            moved = _runs.shifted_in(spec, shape, self.shapes_)
            if moved is not None:  # `x.sum(-2)` of "*d 3" where "*d" is expected
                return Conflict(
                    argument, "variadic", spec, *moved, self.sources["*" + moved[1].name]
                )
            clash = _bcast.record(self.runs_, argument, spec, shape)
            if clash is None:
                return None
            axis, before, got, source = clash
            dim = spec.dims[spec.plan.run.position]  # type: ignore[union-attr]
            return Conflict(argument, "variadic", spec, axis, dim, before, got, source)
        conflict = self._conflict(argument, spec, shape, failed)
        self._rollback(saved)
        return conflict

    def _conflict(self, argument: str, spec: Spec, shape: Shape, failed: Failure) -> Conflict:
        single = self._single_conflict(argument, spec, shape, failed, self._where)
        if single is not None:
            return single
        kind, axis, index, expected, actual = failed
        dim = spec.dims[index]
        src = self.sources["*" + dim.name]
        if kind == "variadic":
            return Conflict(argument, "variadic", spec, axis, dim, expected, actual, src)
        # One item of a run differs: name it from whichever end of the bound run has no run
        # of unknown length.
        i = axis - index
        want = self.shapes_[dim.name][1]
        if not any(isinstance(item, Group) for item in want[:i]):
            label = f"{dim.token}[{i}]"
        elif not any(isinstance(item, Group) for item in want[i + 1 :]):
            label = f"{dim.token}[{i - len(want)}]"
        else:
            label = dim.token
        one = Dim(label, "named", name=label)
        return Conflict(argument, "size", spec, axis, one, expected, actual, src)

    def learned(self, shape: Shape) -> list[tuple[Size, Size, str]]:
        """Fresh sizes in `shape` that this call pinned down: (fresh, size, argument)."""
        out = []
        for item in dict.fromkeys(shape):
            if isinstance(item, Size) and item.kind == "fresh" and item.key in self.known:
                out.append((item, self.resolve(item), self.known[item.key][1]))
        return out

    def substitute(
        self, shape: Shape, keep_syms: bool, runs: "dict[int, Shape] | None" = None
    ) -> Shape:
        """A shape in a callee's dim names, in the caller's sizes; what the call does not bind
        is fresh. A sym is the callee's own unless `keep_syms` (the call is on `self`).
        `runs` are the caller's axes of the callee's anonymous runs, by key."""
        out: list[Item] = []
        sizes = self.sizes()
        renamed: dict[object, Size] = {}
        for item in shape:
            if isinstance(item, Group):
                bound = self.shapes_.get(item.name) if item.name else None
                if not item.name and runs and item.key in runs:
                    bound = (False, runs[item.key])
                if bound is None:
                    out.append(anonymous_group())
                else:
                    run = dropped(bound[1], item.cut, item.end)
                    if run is None:
                        return (anonymous_group(),)  # `x[0]` of "*b d" where *b is empty
                    out.extend(self.resolve(i) if isinstance(i, Size) else i for i in run)
            elif item.kind == "int" or (item.kind == "sym" and keep_syms):
                out.append(item)
            elif item.kind == "name" and str(item.value) in sizes:
                out.append(sizes[str(item.value)])
            elif item.kind == "expr":
                product = _products(item) if _products is not None else None
                kinds = {a.kind for a in product[1]} if product is not None else set()  # type: ignore[attr-defined]
                size = None
                if kinds == {"sym"} or (not kinds and _of_syms(str(item.value))):
                    size = item if keep_syms else None
                elif item.key == 0:
                    size = expression(str(item.value), sizes)
                out.append(size or renamed.setdefault((item.kind, item.value, item.key), fresh()))
            else:
                out.append(renamed.setdefault((item.kind, item.value, item.key), fresh()))
        return tuple(out)

    def result(self, spec: Spec) -> Shape:
        """The shape a return spec gives, in the caller's sizes; unbound dims are fresh."""
        out: list[Item] = []
        unbound: dict[str, Size] = {}
        sizes = self.sizes()
        for dim in spec.dims:
            if dim.kind == "anonymous_variadic":
                out.append(anonymous_group())
            elif dim.kind == "variadic":
                bound = self.shapes_.get(dim.name)
                both = self.runs_.get(dim.name)
                if bound is None and both is not None and not dim.broadcastable:
                    out.extend(self.resolve(i) if isinstance(i, Size) else i for i in both[0])
                elif bound is None or dim.broadcastable:
                    out.append(anonymous_group())
                else:
                    out.extend(self.resolve(i) if isinstance(i, Size) else i for i in bound[1])
            elif dim.kind == "fixed":
                out.append(lit(dim.size))
            elif dim.kind == "named" and dim.name in sizes and not dim.broadcastable:
                out.append(sizes[dim.name])
            elif dim.kind == "named":
                out.append(unbound.setdefault(dim.name, fresh(dim.name)))
            elif dim.kind == "symbolic":
                out.append(expression(dim.name, sizes) or fresh(dim.label or dim.name))
            else:
                out.append(fresh())
        return tuple(out)


from . import _bcast, _poly, _runs  # noqa: E402  (they build Sizes, so they are imported last)
