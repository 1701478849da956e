"""Symbolic sizes and the symbolic unifier: `_contract`'s specs matched against named dims.

At runtime every size is an int. Before the code runs, a size is what the caller's
annotations call it: a literal (`3`), a dim name (`"s"`), an expression (`"h*d"`), or a
fresh unknown (an `_` axis, or a dim that a callee's return spec leaves unbound). Two sizes
are known to differ when both are ints that differ, or when both are names that differ
(the caller gave them different names, so nothing proves them equal). Anything else is
unknown, and an unknown never makes a finding.
"""

import ast
import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Literal

from .._contract import Conflict, Dim, Source, Spec

SizeKind = Literal["int", "name", "expr", "fresh", "sym"]
_counter = itertools.count()


@dataclasses.dataclass(frozen=True)
class Size:
    """One axis. `fresh` sizes are equal only to themselves; `key` tells them apart.

    A `sym` is a size that code names rather than an annotation: a constructor argument or a
    config attribute (`config.n_embd`). Its `key` is the class whose code names it, and two
    syms are known to differ only when the same class names them differently.
    """

    kind: SizeKind
    value: int | str
    key: int = 0

    def __str__(self) -> str:
        if self.kind == "fresh":
            return f"?{self.value}" if self.value else "_"
        return str(self.value)


@dataclasses.dataclass(frozen=True)
class Group:
    """A run of axes of unknown length: a caller's `*batch`, or an anonymous `...`."""

    name: str  # "" for an anonymous group
    key: int = 0

    def __str__(self) -> str:
        return f"*{self.name}" if self.name else "..."


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
            return ast.parse(str(size.value), mode="eval").body

    body = _Substitute().visit(tree).body
    if missing:
        return None
    return simplify(body)


def simplify(body: ast.expr) -> Size | None:
    """An int for a constant expression, a name for a bare name, else canonical text."""
    allowed = (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.operator, ast.unaryop)
    if not all(isinstance(n, (*allowed, ast.expr_context)) for n in ast.walk(body)):
        return None
    if isinstance(body, ast.Name):
        return name(body.id)
    if not any(isinstance(n, ast.Name) for n in ast.walk(body)):
        try:
            code = compile(ast.fix_missing_locations(ast.Expression(body)), "<dim>", "eval")
            value = eval(code, {"__builtins__": {}})
        except Exception:
            return None
        return lit(value) if isinstance(value, int) and not isinstance(value, bool) else None
    return Size("expr", ast.unparse(body).replace(" ", ""))


def from_dim(dim: Dim) -> Item:
    """How a caller's own annotation names one axis."""
    if dim.kind == "anonymous_variadic" or (dim.kind == "variadic" and dim.broadcastable):
        return anonymous_group()
    if dim.kind == "variadic":
        return Group(dim.name)
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
    """Whether two sizes are certainly the same or certainly differ; None if neither."""
    if a == b or (a.kind == b.kind == "int" and a.value == b.value):
        return "same"
    if a.kind == b.kind and a.kind in ("int", "name"):
        return "differ"
    if a.kind == b.kind == "sym" and a.key == b.key and _related(str(a.value), str(b.value)):
        return "differ"
    # A 1 that an op made (keepdim, unsqueeze) is not an axis the caller named.
    if {a.kind, b.kind} == {"int", "name"} and (a.key == 1 or b.key == 1):
        return "differ"
    if "expr" in (a.kind, b.kind) and _products is not None:
        # `4*n` and `n`: the same product of sizes, with different coefficients.
        ma, mb = _products(a), _products(b)
        if ma is not None and mb is not None and ma[1] and ma[1] == mb[1] and ma[0] != mb[0]:
            return "differ"
    return None


# How `_torch` reads a size as a product (coefficient, atoms); set when it is imported.
_products: "Callable[[Size], tuple[int, object] | None] | None" = None


def _related(a: str, b: str) -> bool:
    """Two syms of one class are told apart when both are plain arguments, or attributes of
    the same one (`config.n_embd`, `config.vocab_size`)."""
    if "." not in a and "." not in b:
        return True
    return a.split(".")[0] == b.split(".")[0] and "." in a and "." in b


class Unifier:
    """Binds a callee's dim names to a caller's sizes, argument by argument.

    The symbolic sibling of `_contract.Bindings`: the same walk over a spec's axes, the same
    `Conflict` records, but it only reports what is certain.
    """

    def __init__(self) -> None:
        self.single: dict[str, tuple[Size, Source]] = {}
        self.variadic: dict[str, tuple[Shape, Source]] = {}
        # What each fresh size turned out to be during this call, and where that was seen.
        self.known: dict[int, tuple[Size, Source]] = {}

    def bind_declared(self, spec: Spec, argument: str) -> None:
        """Bind each name of `spec` to itself, as declared by the caller's annotation."""
        for axis, dim in enumerate(spec.dims):
            if dim.kind == "named" and not dim.broadcastable:
                self.single.setdefault(dim.name, (name(dim.name), Source(argument, axis)))
            elif dim.kind == "variadic" and not dim.broadcastable:
                self.variadic.setdefault(dim.name, ((Group(dim.name),), Source(argument, axis)))

    def resolve(self, size: Size) -> Size:
        while size.kind == "fresh" and size.key in self.known:
            size = self.known[size.key][0]
        return size

    def compare(self, a: Size, b: Size, source: Source, a_source: Source | None = None) -> Verdict:
        """Whether `a` and `b` are the same size; learns what a fresh size is.

        `source` is where `b` was seen, `a_source` where `a` was (the same place if None).
        """
        a, b = self.resolve(a), self.resolve(b)
        verdict = certain(a, b)
        if verdict is not None:
            return verdict
        if a.kind == "fresh":
            self.known[a.key] = (b, source)
        elif b.kind == "fresh":
            self.known[b.key] = (a, a_source or source)
        return "unknown"

    def sizes(self) -> dict[str, Size]:
        return {n: self.resolve(s) for n, (s, _) in self.single.items()}

    def match(self, argument: str, spec: Spec, shape: Shape) -> Conflict | None:
        """Bind `spec` against `shape`; the first certain conflict, or None."""
        groups = [i for i, item in enumerate(shape) if isinstance(item, Group)]
        vi = spec.variadic_index
        ndims = len(spec.dims)
        if not groups:
            rank = len(shape)
            if (vi is None and rank != ndims) or rank < spec.min_rank:
                return Conflict(argument, "rank", spec, expected=ndims, actual=shape)
            if vi is None:
                pairs = list(zip(range(rank), spec.dims, shape, strict=True))
            else:
                tail = ndims - vi - 1
                pairs = [(k, spec.dims[k], shape[k]) for k in range(vi)]
                pairs += [
                    (rank - tail + k, d, shape[rank - tail + k])
                    for k, d in enumerate(spec.dims[vi + 1 :])
                ]
            middle: Shape | None = None if vi is None else shape[vi : rank - (ndims - vi - 1)]
        else:
            head, tail_items = shape[: groups[0]], shape[groups[-1] + 1 :]
            known_rank = sum(1 for item in shape if isinstance(item, Size))
            if vi is None and known_rank > ndims:
                return Conflict(argument, "rank", spec, expected=ndims, actual=shape)
            before = spec.dims if vi is None else spec.dims[:vi]
            after = () if vi is None else spec.dims[vi + 1 :]
            pairs = [(k, before[k], head[k]) for k in range(min(len(before), len(head)))]
            n_after = (
                min(len(after), len(tail_items))
                if vi is not None
                else min(ndims - len(head), len(tail_items))
            )
            spec_tail = after if vi is not None else spec.dims[len(head) :]
            for k in range(1, n_after + 1):
                pairs.append((len(shape) - k, spec_tail[-k], tail_items[-k]))
            middle = None
            if vi is not None and len(before) <= len(head) and len(after) <= len(tail_items):
                middle = shape[len(before) : len(shape) - len(after)]
        single_before = dict(self.single)
        variadic_before = dict(self.variadic)
        conflict = None
        for axis, dim, item in pairs:
            if isinstance(item, Size):
                conflict = self._match_one(argument, spec, axis, dim, item)
                if conflict is not None:
                    break
        if conflict is None and vi is not None and middle is not None:
            conflict = self._match_variadic(argument, spec, vi, spec.dims[vi], middle)
        if conflict is not None:
            self.single, self.variadic = single_before, variadic_before
        return conflict

    def _match_one(
        self, argument: str, spec: Spec, axis: int, dim: Dim, size: Size
    ) -> Conflict | None:
        here = Source(argument, axis)
        size = self.resolve(size)
        if dim.kind == "anonymous" or dim.kind == "anonymous_variadic":
            return None
        if dim.broadcastable:
            # A size of 1 always fits, so only two different ints, neither 1, are certain.
            bound = self.single.get(dim.name)
            if size.kind != "int" or size.value == 1:
                return None
            if bound is None:
                self.single[dim.name] = (size, here)
            elif bound[0].kind == "int" and bound[0].value not in (1, size.value):
                return Conflict(
                    argument, "size", spec, axis, dim, self.resolve(bound[0]), size, bound[1]
                )
            return None
        if dim.kind == "fixed":
            if self.compare(lit(dim.size), size, here) == "differ":
                return Conflict(argument, "fixed", spec, axis, dim, dim.size, size)
            return None
        if dim.kind == "symbolic":
            expected = expression(dim.name, self.sizes())
            if expected is not None and self.compare(expected, size, here) == "differ":
                return Conflict(argument, "symbolic", spec, axis, dim, expected, size)
            return None
        bound = self.single.get(dim.name)
        if bound is None:
            self.single[dim.name] = (size, here)
            return None
        if self.compare(bound[0], size, here, bound[1]) == "differ":
            return Conflict(
                argument, "size", spec, axis, dim, self.resolve(bound[0]), size, bound[1]
            )
        return None

    def _match_variadic(
        self, argument: str, spec: Spec, start: int, dim: Dim, got: Shape
    ) -> Conflict | None:
        if dim.kind == "anonymous_variadic" or dim.broadcastable:
            return None
        bound = self.variadic.get(dim.name)
        if bound is None:
            self.variadic[dim.name] = (got, Source(argument, start))
            return None
        want, src = bound
        return self._compare_groups(argument, spec, start, dim, want, got, src)

    def _compare_groups(
        self, argument: str, spec: Spec, start: int, dim: Dim, want: Shape, got: Shape, src: Source
    ) -> Conflict | None:
        # Peel equal items off both ends; what is left decides.
        lo = 0
        while lo < min(len(want), len(got)):
            a, b = want[lo], got[lo]
            if not (isinstance(a, Size) and isinstance(b, Size)):
                if a == b:
                    lo += 1
                    continue
                break
            if self.compare(a, b, Source(argument, start + lo)) == "differ":
                return self._group_conflict(argument, spec, start, dim, lo, a, b, src)
            lo += 1
        hi = 0
        while hi < min(len(want), len(got)) - lo:
            a, b = want[-1 - hi], got[-1 - hi]
            if not (isinstance(a, Size) and isinstance(b, Size)):
                if a == b:
                    hi += 1
                    continue
                break
            if self.compare(a, b, Source(argument, start + len(got) - 1 - hi)) == "differ":
                return self._group_conflict(
                    argument, spec, start, dim, len(got) - 1 - hi, a, b, src
                )
            hi += 1
        rest_want = want[lo : len(want) - hi]
        rest_got = got[lo : len(got) - hi]
        only_sizes = all(isinstance(i, Size) for i in rest_want + rest_got)
        if len(rest_want) != len(rest_got) and only_sizes:
            return Conflict(argument, "variadic", spec, start, dim, want, got, src)
        return None

    def _group_conflict(
        self, argument: str, spec: Spec, start: int, dim: Dim, i: int, a: Size, b: Size, src: Source
    ) -> Conflict:
        # Name the axis from whichever end of the group has no run of unknown length.
        want = self.variadic[dim.name][0]
        if not any(isinstance(item, Group) for item in want[:i]):
            label = f"{dim.token}[{i}]"
        elif not any(isinstance(item, Group) for item in want[i + 1 :]):
            label = f"{dim.token}[{i - len(want)}]"
        else:
            label = dim.token
        one = Dim(label, "named", name=label)
        return Conflict(argument, "size", spec, start + i, one, a, b, src)

    def learned(self, shape: Shape) -> list[tuple[Size, Size, Source]]:
        """Fresh sizes in `shape` that this call pinned down: (fresh, size, where)."""
        out = []
        for item in dict.fromkeys(shape):
            if isinstance(item, Size) and item.kind == "fresh" and item.key in self.known:
                out.append((item, self.resolve(item), self.known[item.key][1]))
        return out

    def result(self, spec: Spec) -> Shape:
        """The shape a return spec gives, in the caller's sizes; unbound dims are fresh."""
        out: list[Item] = []
        unbound: dict[str, Size] = {}
        sizes = self.sizes()
        for dim in spec.dims:
            if dim.kind == "anonymous_variadic":
                out.append(anonymous_group())
            elif dim.kind == "variadic":
                bound = self.variadic.get(dim.name)
                if bound is None or dim.broadcastable:
                    out.append(anonymous_group())
                else:
                    out.extend(self.resolve(i) if isinstance(i, Size) else i for i in bound[0])
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
