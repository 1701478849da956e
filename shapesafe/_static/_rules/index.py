"""Rules of ops that look values up or order them: gather, sort, topk, searchsorted, nonzero;
and of subscripts, read (`x[ids]`) and assigned (`x[mask] = y`)."""

import ast
from collections.abc import Callable
from typing import NamedTuple

from .. import _poly
from .. import _torch as T
from .._report import SCATTERS_IN_PLACE, _text
from .._source import Module, dotted_name, resolve, walk
from .._unify import Group, Item, Shape, Size, certain, facts, fresh, lit, needs, show
from .._values import IntV, Mismatch, NumV, SymV, TupV, Value
from ._masked_rows import same_rows
from ._registry import PASS, Call, Reader, _Pass, bcast_all, function, lit_int, method


@function("torch.searchsorted")
def searchsorted(c: Call) -> Value | _Pass:
    """`torch.searchsorted(sorted "*B m", values "*B k")` has the values' shape; a sorted
    sequence of one axis takes values of any shape. Both stacks share their leading axes."""
    seq, values = c.x, c.arg(1, "input")  # an index for each value looked up
    if not isinstance(seq, tuple) or not isinstance(values, tuple):
        return PASS
    if len(seq) == 1 or any(isinstance(i, Group) for i in (*seq, *values)):
        return values
    ts, tv = c.arg_text(0, "sorted_sequence"), c.arg_text(1, "input")

    def positions() -> Shape | None:
        if len(seq) != len(values):
            raise Mismatch(
                f'searchsorted: {ts} "{show(seq)}" has {len(seq)} dims but {tv} '
                f'"{show(values)}" has {len(values)}; their leading dims must be the same'
            )
        for i, (p, q) in enumerate(zip(seq[:-1], values[:-1], strict=True)):
            assert isinstance(p, Size) and isinstance(q, Size)
            if needs(p, q) == "differ":
                raise Mismatch(
                    f'searchsorted: dim {i} is {p} in {ts} "{show(seq)}" but {q} in {tv} '
                    f'"{show(values)}"; the leading dims must be the same'
                )
        return values

    return c.rule(positions)


@function("torch.bincount")
def bincount(c: Call) -> Value | _Pass:
    """`torch.bincount(ids)`: one count for each value up to the largest (or `minlength`),
    a length the ids' values decide. The ids must be one axis."""
    return _counts(c, c.x, c.arg_text(0, "input"))


@method("bincount")
def bincount_method(c: Call) -> Value | _Pass:
    return _counts(c, c.x, c.receiver_text())


def _counts(c: Call, x: Value, text: str) -> Value | _Pass:
    if not isinstance(x, tuple):
        return PASS
    n = T.rank(x)
    if n is not None and n != 1:
        c.report(f'bincount: {text} "{show(x)}" has {n} dims, and bincount takes 1')
        return None
    return (fresh(),)


@function("torch.argwhere", "torch.nonzero")
@method("argwhere", "nonzero")
def nonzero(c: Call) -> Value | _Pass:
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    if c.name == "nonzero" and "as_tuple" in c.kwargs and not _false(c.kw("as_tuple")):
        return None
    count = T.rank(x)
    return None if count is None else (fresh(), lit(count))


def _false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


@function("torch.where")
def where_true(c: Call) -> Value | _Pass:
    """`torch.where(mask)`, as `torch.nonzero(mask, as_tuple=True)`: an index tensor for
    each axis of the mask, all of one length, which the mask's values decide."""
    x = c.x
    if len(c.args) != 1 or c.kwargs or not isinstance(x, tuple):
        return PASS
    n = T.rank(x)
    count = fresh()
    return None if n is None else TupV(tuple((count,) for _ in range(n)))


@method("sort", "argsort", "msort")
def sort(c: Call) -> Value:
    # `x.sort(dim)`: values and indices, each of x's shape.
    x = c.x
    return TupV((x, x), ("values", "indices")) if c.name == "sort" else x


@method("topk")
def topk(c: Call) -> Value | _Pass:
    x = c.x
    assert isinstance(x, tuple)
    if not (c.args or "k" in c.kwargs):
        return PASS
    k = c.args[0] if c.args else c.kwargs["k"]
    d = lit_int(c.arg(1, "dim", IntV(lit(-1))))
    p = None if d is None else T.axis(x, d)
    if p is None or not isinstance(k, (IntV, SymV, NumV)):
        return None
    size = c.size_of(k) or fresh()  # a number read from an int attribute: a size unknown
    kept = tuple(size if i == p else s for i, s in enumerate(x))
    return TupV((kept, kept), ("values", "indices"))


def _dims_apart(a: Shape, b: Shape) -> tuple[int, int] | None:
    """The numbers of dims of `a` and `b` where they certainly differ: both known, or both
    the one same run beside other axes (`... d` and `...`)."""
    ra, rb = T.rank(a), T.rank(b)
    if ra is None or rb is None:
        runs = [i for i in (*a, *b) if isinstance(i, Group)]
        if len(runs) != 2 or runs[0] != runs[1] or not runs[0].name:
            return None
        ra, rb = len(a) - 1, len(b) - 1
        if ra != rb:
            return ra, rb
        return None
    return (ra, rb) if ra != rb else None


def _same_dims(c: Call, x: Shape, index: Value, i: int, what: str) -> bool:
    """Report where the `i`th argument (`index`, or a scatter's `src`) has another number of
    dims than the tensor `x`, and say so: torch's gather and scatter take only index tensors
    of its rank."""
    if not isinstance(index, tuple):
        return False
    c.relation()
    apart = _dims_apart(index, x)
    if apart is not None:
        c.report(
            f'{c.name}: {what} {c.arg_text(i, what)} "{show(index)}" has {apart[0]} dims but '
            f'{c.receiver_text()} "{show(x)}" has {apart[1]} (torch raises RuntimeError: they '
            f"must have the same number of dims)"
        )
    return apart is not None


@method("gather")
def gather(c: Call) -> Value | _Pass:
    if len(c.args) + len(c.kwargs) < 2:
        return PASS
    index = c.arg(1, "index")
    if isinstance(c.x, tuple) and _same_dims(c, c.x, index, 1, "index"):
        return None
    dim = lit_int(c.arg(0, "dim"))
    if isinstance(c.x, tuple) and isinstance(index, tuple) and dim is not None:
        _no_longer(c, c.x, index, dim)
    return index if isinstance(index, tuple) else None  # the index's shape


def _no_longer(c: Call, x: Shape, index: Shape, dim: int) -> None:
    """Report an axis other than `dim` along which gather's index is certainly longer than
    the input (`x[:, :-2].gather(-1, ids[:, 1:])` of "b s" and "b s"): torch raises."""
    if len(x) != len(index) or any(isinstance(i, Group) for i in (*x, *index)) or not x:
        return
    for k, (a, b) in enumerate(zip(index, x, strict=True)):
        if k == dim % len(x) or not (isinstance(a, Size) and isinstance(b, Size)):
            continue
        over = _poly.add(a, b, -1)
        if over is not None and over.kind == "int" and int(over.value) > 0:
            node = c.nodes[1] if len(c.nodes) > 1 else c.kw("index")
            text = "index" if node is None else c.text(node)
            c.report(
                f'gather: index {text} "{show(index)}" is {a} long at dim {k} '
                f'but {c.receiver_text()} "{show(x)}" only {b} (torch raises RuntimeError: the '
                f"index may be no longer than the input but along dim {dim})"
            )
            return


@method("index_add", "index_copy", "index_fill", "masked_scatter")
def written(c: Call) -> Value:
    """`x.index_add(dim, ids, src)`: values written into a copy of x, of x's shape."""
    return c.x


@method("multinomial")
def multinomial(c: Call) -> Value | _Pass:
    """`probs.multinomial(n)`: n draws for each row of probs (of 1 or 2 dims)."""
    x = c.x
    assert isinstance(x, tuple)
    n = c.arg(0, "num_samples")
    if n is None or T.rank(x) not in (1, 2):
        return None
    return (*x[:-1], c.size_of(n) or fresh())


@method("scatter", "scatter_add", "scatter_reduce", *sorted(SCATTERS_IN_PLACE))
def scatter(c: Call) -> Value | _Pass:
    """`x.scatter_(dim, index, src)`: x's shape, where index (and a tensor src) has x's
    number of dims."""
    x = c.x
    if len(c.args) + len(c.kwargs) < 2 or not isinstance(x, tuple):
        return PASS
    if _same_dims(c, x, c.arg(1, "index"), 1, "index"):
        return None
    return None if _same_dims(c, x, c.arg(2, "src"), 2, "src") else x


@method("take_along_dim")
def take_along_dim(c: Call) -> Value | _Pass:
    """`x.take_along_dim(ids, dim)`: x and ids broadcast but on `dim`, where the result has
    ids' size; without a dim, one value for each index, of the flattened x."""
    x, index = c.x, c.arg(0, "indices")
    assert isinstance(x, tuple)
    if not isinstance(index, tuple):
        return None
    if len(c.args) < 2 and "dim" not in c.kwargs:
        return (fresh(),)
    d = lit_int(c.arg(1, "dim"))
    p = None if d is None else T.axis(x, d)
    q = None if d is None else T.axis(index, d)
    ranks = (T.rank(x), T.rank(index))
    if p is None or q is None or (None not in ranks and ranks[0] != ranks[1]):
        return None  # torch takes only ids of x's rank
    taken = (*x[:p], index[q], *x[p + 1 :])
    tx, ti = c.receiver_text(), c.arg_text(0, "indices")
    return c.rule(lambda: bcast_all([taken, index], [tx, ti], "take_along_dim"))


# Subscripts: `x[i]`, `x[:, ids]`, `x[mask]`, `pos[..., [0, 1]]`, `x[rows, cols]`.

# Tensor methods whose result holds the same values' kind as the tensor: an int index
# stays one through `ids.unsqueeze(0)` or `ids.expand(b, n)`.
SAME_DTYPE = frozenset(
    (
        "unsqueeze", "squeeze", "reshape", "flatten", "expand", "expand_as",
        "transpose", "permute", "contiguous", "clone", "detach", "repeat", "flip", "cpu", "cuda",
        "unbind",
    )
)  # fmt: skip
SAME_DTYPE_OPS = frozenset(("einops.rearrange", "einops.repeat", "torch.clone", "torch.flatten"))
_BITWISE = (ast.BitAnd, ast.BitOr, ast.BitXor)
# Ops that give (values, indices): what the second name of `_, ids = x.topk(k)` holds.
_WITH_INDICES = frozenset(("topk", "sort", "max", "min", "kthvalue", "mode", "median", "cummax"))


def unpacked_at(fn: ast.AST | None, name: str, source: ast.expr) -> int | None:
    """Where `name` stands in the tuple target that `source` is unpacked into:
    1 for `ids` in `_, ids = torch.topk(x, 2)`; None where it is not unpacked so."""
    if fn is None:
        return None
    for node in walk(fn):
        if isinstance(node, ast.Assign) and node.value is source and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, (ast.Tuple, ast.List)):
                for k, e in enumerate(target.elts):
                    if isinstance(e, ast.Name) and e.id == name:
                        return k
            return None
    return None


def indices_of(fn: ast.AST | None, name: str, source: ast.expr) -> bool:
    """Whether `name` is bound to the indices of an op that gives (values, indices):
    `_, ids = torch.topk(x, 2)`, `vals, ids = x.max(dim=-1)`."""
    if not isinstance(source, ast.Call):
        return False
    func = source.func
    op = func.attr if isinstance(func, ast.Attribute) else None
    if op not in _WITH_INDICES:
        return False
    if op in ("max", "min", "median") and not (len(source.args) > 1 or source.keywords):
        return False  # `x.max()` alone is one value
    return unpacked_at(fn, name, source) == 1 and len(getattr(_target(fn, source), "elts", ())) == 2


def _target(fn: ast.AST | None, source: ast.expr) -> ast.expr | None:
    for node in walk(fn) if fn is not None else ():
        if isinstance(node, ast.Assign) and node.value is source and len(node.targets) == 1:
            return node.targets[0]
    return None


def returned_label(module: Module, fn: ast.AST | None, name: str, source: ast.expr) -> str:
    """The jaxtyping label (`Bool`, `Int`) of what `name` holds when it is bound to the
    result of an annotated function, whole or unpacked: `_, mask = frames(x)`; "" if none."""
    if not isinstance(source, ast.Call):
        return ""
    dotted = dotted_name(source.func)
    found = None if dotted is None else resolve(module, dotted)
    if found is None:
        return ""
    owner, sig = found
    at = unpacked_at(fn, name, source)
    if at is None:
        return sig.contract.ret.dtype_label if sig.contract.ret is not None else ""
    called = owner.functions.get(sig.contract.op)
    ret = called.returns if called is not None else None
    if not (isinstance(ret, ast.Subscript) and isinstance(ret.slice, ast.Tuple)):
        return ""
    if dotted_name(ret.value) not in ("tuple", "Tuple", "typing.Tuple"):
        return ""
    items = ret.slice.elts
    if at >= len(items) or any(isinstance(i, ast.Constant) and i.value is ... for i in items):
        return ""
    item = owner.annotation(items[at])
    return item.dtype_label if item is not None else ""


class _Part(NamedTuple):
    """One part of an index, read: `basic` ones are ints, slices, None and `...`; an
    advanced one has the shape it broadcasts with the others (`shape`), and takes `took`
    axes."""

    node: ast.expr
    basic: bool
    shape: Shape = ()
    took: int = 1
    mask: bool = False


def _part(
    reader: Reader, node: ast.expr, kind_of: Callable[[ast.expr], str | None]
) -> "_Part | None":
    if isinstance(node, ast.Slice) or T.is_ellipsis(node) or T.is_none(node):
        return _Part(node, True)
    v = reader.seen.get(id(node))
    if T.int_value(node) is not None or isinstance(v, (IntV, NumV)):
        # An int picks one place on its axis first, even among advanced parts: torch
        # (unlike numpy) reads `x[0, :, ids]` as `x[0][:, ids]`.
        return _Part(node if T.int_value(node) is not None else ast.Constant(0), True)
    if isinstance(node, ast.List):
        ints = all(
            T.int_value(e) is not None or isinstance(reader.seen.get(id(e)), IntV)
            for e in node.elts
        )
        return _Part(node, False, (lit(len(node.elts)),)) if ints and node.elts else None
    if isinstance(v, tuple):
        kind = kind_of(node)
        if kind == "int":
            return _Part(node, False, v)
        rank = T.rank(v)
        if kind == "bool" and rank is not None and not any(isinstance(i, Group) for i in v):
            return _Part(node, False, (fresh(),), rank, True)
    return None


def subscript(
    reader: Reader,
    node: ast.Subscript,
    base: Shape,
    parts: list[ast.expr],
    kind_of: Callable[[ast.expr], str | None],
) -> Value:
    """`base[parts]`, as torch indexes: the basic parts (ints, slices, None, `...`) act on
    their axes in place; the advanced ones (int tensors, lists of ints, masks) broadcast
    together into one block of axes, put where the first of them is when they stand side
    by side (ints aside), and in front otherwise. Parts past the last stand for whole axes."""
    read = [_part(reader, p, kind_of) for p in parts]
    if any(r is None for r in read):
        return None
    found = [r for r in read if r is not None]
    if all(r.basic for r in found):
        nodes = [r.node for r in found]  # an int variable read as a literal
        took, rank = T.consumed(nodes), T.rank(base)
        if rank is not None and took > rank:
            dims = "1 dim" if rank == 1 else f"{rank} dims"
            reader.file.report(
                node,
                f"{_text(reader.module, node)}: {took} indices for "
                f'{_text(reader.module, node.value)} "{show(base)}", which has {dims} '
                "(torch raises IndexError)",
            )
            return None
        try:
            return T.index(base, nodes, _cut(reader))
        except Mismatch as err:
            t = _text(reader.module, node.value)
            reader.file.report(node, f'{_text(reader.module, node)}: {err} {t} "{show(base)}"')
            return None
    try:
        return _advanced(reader, node, base, found)
    except Mismatch as err:
        reader.file.report(node, str(err))
        return None


def _cut(reader: Reader) -> T.Cut:
    """How long `x[..., :k]` and `x[..., k:]` are along an axis of size n, for a size k
    that is no literal. `x[:k]` is min(k, n) long: n where the scope knows `n <= k` (the
    `else` of `if k < n:`) or k exceeds n by a constant, and k otherwise. Code that
    slices to k means to take k, so where nothing says which is less, the scope takes
    `k <= n` from then on: where it later learns `n <= k` as well, k and n are equal.
    `x[k:]` is n-k long, under the same condition; where k is `n // 2`, it is k long too,
    as code that splits an axis in halves means it to be even (`_torch.add` puts the two
    halves back together as n)."""

    def cut(n: Item, part: ast.Slice) -> Size | None:
        if not isinstance(n, Size) or (part.step is not None and T.int_value(part.step) != 1):
            return None
        lo, hi = part.lower, part.upper
        span = _span(n, part)
        if span is not None:
            return span
        if hi is not None and (lo is None or T.int_value(lo) == 0):
            k = _bound(reader, hi)
            return None if k is None else _up_to(n, k)
        if lo is not None and hi is None:
            k = _bound(reader, lo)
            return None if k is None else _after(n, k)
        return None

    return cut


def _span(n: Size, part: ast.Slice) -> Size | None:
    """`x[..., lo:hi]` for literal bounds `0 <= lo < hi`, along an axis of a size not known
    as a number: hi - lo long, as code that slices to hi means to take that many (under the
    same condition as `_cut`'s, hi <= n); one made by the op where that is 1 (`x[..., 3:4]`,
    as `x[..., :1]`); None where the scope knows n < hi."""
    if n.kind == "int" or part.upper is None:
        return None
    lo = 0 if part.lower is None else T.int_literal(part.lower)
    hi = T.int_literal(part.upper)
    if lo is None or hi is None or not 0 <= lo < hi or hi == 1:
        return None
    k = lit(hi)
    if _up_to(n, k) is not k:
        return None
    return T.OP_ONE if hi - lo == 1 else lit(hi - lo)


def _bound(reader: Reader, node: ast.expr) -> Size | None:
    """The size a slice bound that is no literal stands for; None for a negative one
    (`x[:-k]`) or one the checker knows nothing of."""
    if T.int_value(node) is not None or isinstance(node, ast.UnaryOp):
        return None
    v = reader.seen.get(id(node))
    size = reader.size_of(v) if isinstance(v, (IntV, SymV)) else None
    if size is None or size.kind in ("int", "fresh"):
        return None
    held = facts()
    root = None if held is None else held.find(size)
    # A size of the class's own that the scope knows by a dim's name: that name.
    return root if root is not None and root.kind == "name" else size


def _up_to(n: Size, k: Size) -> Size:
    held = facts()
    over = _poly.add(k, n, -1)  # `x[:n+1]` is n long, `x[:n-1]` n-1
    if over is not None and over.kind == "int":
        return n if int(over.value) >= 0 else k
    if certain(k, n) == "same":
        return n
    if held is not None:
        if held.below(n, k):
            return n
        held.at_most([(k, n)])
    return k


def _after(n: Size, k: Size) -> Size | None:
    if k == T.floordiv(n, lit(2)):
        return k  # the second half of an axis that the code means to be even
    held = facts()
    rest = _poly.add(n, k, -1)
    if rest is None or (held is not None and held.below(n, k) and certain(k, n) != "same"):
        return None
    if rest.kind == "int" and int(rest.value) < 0:
        return None
    if held is not None:
        held.at_most([(k, n)])
    return rest


def _advanced(reader: Reader, node: ast.Subscript, base: Shape, found: list[_Part]) -> Shape | None:
    dots = [i for i, r in enumerate(found) if T.is_ellipsis(r.node)]
    if len(dots) > 1:
        return None
    at = dots[0] if dots else len(found)
    before, after = found[:at], found[at + 1 :]

    def took(rs: list[_Part]) -> int:
        return sum(0 if T.is_none(r.node) else r.took for r in rs)

    cb, ca = took(before), took(after)
    base = T.front(base, cb)  # `x[ids]` of "*batch 3": the run's first axis
    outer = (*base[:cb], *base[len(base) - ca :])
    if cb + ca > len(base) or any(isinstance(i, Group) for i in outer):
        return None
    # Each part's output: basic parts give axes in place, advanced ones a marker.
    pieces: list[Shape | None] = []
    pos = 0
    for r in before:
        pos = _piece(reader, node, base, r, pos, pieces)
    pieces.append(base[cb : len(base) - ca])
    pos = len(base) - ca
    for r in after:
        pos = _piece(reader, node, base, r, pos, pieces)
    advanced = [r for r in found if not r.basic]
    texts = [_text(reader.module, r.node) for r in advanced]
    joined: Shape | None = advanced[0].shape
    for r, text in zip(advanced[1:], texts[1:], strict=True):
        if joined is None:
            return None
        joined = T.broadcast(joined, r.shape, texts[0], text)
    if joined is None:
        return None
    # Ints were taken first (`select`), so they stand between no two advanced parts; nor
    # does a `...` that stands for no axis.
    empty = cb + ca == len(base)
    kept = [
        r for r in found if T.int_value(r.node) is None and not (empty and T.is_ellipsis(r.node))
    ]
    order = [i for i, r in enumerate(kept) if not r.basic]
    together = order == list(range(order[0], order[-1] + 1))
    out: list[Item] = []
    placed = False
    for piece in pieces:
        if piece is None:
            if not placed and together:
                out.extend(joined)
            placed = True
            continue
        out.extend(piece)
    return tuple(out) if together else (*joined, *out)


def _piece(
    reader: Reader, node: ast.Subscript, base: Shape, r: _Part, pos: int, pieces: list[Shape | None]
) -> int:
    """Add the output of part `r` at axis `pos` of `base` to `pieces`; the next axis."""
    if T.is_none(r.node):
        pieces.append((T.OP_ONE,))
        return pos
    if isinstance(r.node, (ast.Slice, ast.Constant)) or T.int_value(r.node) is not None:
        one = T.index(base[pos : pos + 1], [r.node], _cut(reader))
        pieces.append(one if one is not None else (fresh(),))
        return pos + 1
    if r.mask:
        _check_mask(reader, node, base[pos : pos + r.took], r)
    pieces.append(None)
    return pos + r.took


def _check_mask(reader: Reader, node: ast.Subscript, axes: Shape, r: _Part) -> None:
    """A mask's shape must be the shape of the axes it picks from."""
    mask = reader.seen.get(id(r.node))
    if not isinstance(mask, tuple):
        return
    reader.file.stats_relation()
    for p, (a, b) in enumerate(zip(axes, mask, strict=True)):
        if isinstance(a, Size) and isinstance(b, Size) and certain(a, b) == "differ":
            tm, tx = _text(reader.module, r.node), _text(reader.module, node.value)
            raise Mismatch(
                f'{tx}[{tm}]: mask {tm} "{show(mask)}" has {b} at its axis {p} '
                f"but the axis of {tx} it picks from is {a}"
            )


def assigned(
    reader: Reader, target: ast.Subscript, source: ast.expr, part: Value, v: Value
) -> None:
    """`x[parts] = v`: v broadcasts into what `x[parts]` reads, as torch copies it in, after
    the leading axes of 1 that v has beyond it are dropped. Into a dict or a list, v takes
    the place of the item (`outputs[key] = outputs[key][:n]`), so nothing is copied in."""
    if not isinstance(part, tuple) or not isinstance(v, tuple):
        return
    if not isinstance(reader.seen.get(id(target.value)), tuple):
        return
    reader.file.stats_relation()
    v = same_rows(reader, target, source, part, v)
    tx, tv = _text(reader.module, target), _text(reader.module, source)
    extra = len(v) - len(part)
    runs = any(isinstance(i, Group) for i in (*v, *part))
    if extra > 0 and not runs:
        lead = [i for i in v[:extra] if isinstance(i, Size) and not T.is_one(i)]
        if lead:
            named = [str(i) for i in lead if i.kind == "name"]
            only = f" (holds only if {' == '.join(named)} == 1)" if len(named) == len(lead) else ""
            reader.file.report(
                target,
                f'{tx} = {tv}: {tv} "{show(v)}" has more dims than {tx} "{show(part)}"'
                f", and its extra leading axes are not 1{only}",
            )
            return
        v = v[extra:]
    try:
        T.in_place(part, v, tx, tv)
    except Mismatch as err:
        reader.file.report(target, f"{tx} = {tv}: {err}")


@function("torch.masked_select")
def masked_select(c: Call) -> Value | _Pass:
    if not isinstance(c.x, tuple):
        return PASS
    return (fresh(),)  # as many as the mask picks


@function("torch.isin", "torch.bucketize")
def lookup_each(c: Call) -> Value | _Pass:
    """One answer for each element of the first argument."""
    return c.x if isinstance(c.x, tuple) else PASS


def int_list(node: ast.expr) -> bool:
    """A literal list of int literals, nested or not: `[0, 1, 3, 2]`."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return bool(node.elts) and all(int_list(e) for e in node.elts)
    return T.int_value(node) is not None
