"""Shape arithmetic of torch's ops, over the static checker's symbolic sizes: what the op
rules of `_rules` compute with.

Each function takes the shapes it is given and returns the result's shape, or None when it
cannot tell (a run of unknown length in the way, an axis index it cannot place, an argument
that is not a literal). It never guesses. When the shapes it is given certainly cannot go
together, it raises `Mismatch` with a message for people; the checker reports it.
"""

import ast
from collections import Counter
from collections.abc import Callable, Sequence
from contextvars import ContextVar

from . import _poly, _unify
from ._run import active
from ._runs import back, beside_a_run, beside_run, ends, front, moved, same_ends, whole
from ._unify import (
    Group,
    Item,
    Shape,
    Size,
    anonymous_group,
    certain,
    equality_note,
    fresh,
    lit,
    needs,
    relating,
    show,
)
from ._values import (
    Mismatch,
)

__all__ = ["certain", "ends", "front", "moved", "whole"]

# A product of sizes: a coefficient and the atoms it multiplies, each atom a Size that is not
# an int (a name, a sym, a fresh size, or an opaque expression such as `d//h`).
Monomial = tuple[int, Counter[Size]]


# The `key` of `lit(1)` sizes that an op made (keepdim, unsqueeze), not an annotation.
OP_ONE = Size("int", 1, 1)


def is_one(size: Size) -> bool:
    return size.kind == "int" and size.value == 1


def monomial(size: Size) -> Monomial | None:
    if size.kind == "int":
        assert isinstance(size.value, int)
        return size.value, Counter()
    if size.kind == "expr":
        found: Monomial | None = active().monomials.get(size)
        if found is not None:
            return found
        return _parse_product(str(size.value))
    return 1, Counter({size: 1})


def _parse_product(text: str) -> Monomial | None:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None
    coef, atoms = 1, Counter[Size]()
    todo = [node]
    while todo:
        part = todo.pop()
        if isinstance(part, ast.BinOp) and isinstance(part.op, ast.Mult):
            todo += [part.left, part.right]
        elif isinstance(part, ast.Constant) and type(part.value) is int:
            coef *= part.value
        elif isinstance(part, ast.Name):
            atoms[Size("name", part.id)] += 1
        else:
            return None
    return coef, atoms


def from_monomial(m: Monomial) -> Size:
    coef, atoms = m
    atoms = +atoms
    if not atoms:
        return lit(coef)
    if coef == 1 and sum(atoms.values()) == 1:
        return next(iter(atoms))
    names = sorted(atoms, key=str)
    if all(a.kind == "name" for a in names):
        text = "*".join(
            ([str(coef)] if coef != 1 else []) + [str(a) for a in names for _ in range(atoms[a])]
        )
        named = Size("expr", text)
        if any(not str(a).isidentifier() for a in names):
            active().monomials.setdefault(named, (coef, Counter(atoms)))  # `prod(*bs)`
        return named
    parts = ([str(coef)] if coef != 1 else []) + [
        str(a) if atoms[a] == 1 else f"{a}**{atoms[a]}" for a in names
    ]
    keys = sorted({a.key for a in names})
    size = Size(
        "expr", "*".join(parts), hash(tuple((a.kind, a.value, a.key) for a in names)) if keys else 0
    )
    active().monomials.setdefault(size, (coef, Counter(atoms)))
    return size


def _product_of(size: Size) -> tuple[int, object] | None:
    m = monomial(size)
    return None if m is None else (m[0], +m[1])


_unify._products = _product_of


def mul(a: Size, b: Size) -> Size:
    ma, mb = monomial(a), monomial(b)
    if ma is None or mb is None:
        return fresh()
    return from_monomial((ma[0] * mb[0], ma[1] + mb[1]))


def product(sizes: Sequence[Size]) -> Size:
    out = lit(1)
    for s in sizes:
        out = mul(out, s)
    return out


def divide(a: Size, b: Size) -> Size | None:
    """`a // b` when b certainly divides a; None if that is not certain."""
    ma, mb = monomial(a), monomial(b)
    if ma is None or mb is None or mb[0] == 0:
        return None
    if ma[0] % mb[0] or any(ma[1][k] < n for k, n in mb[1].items()):
        return None
    return from_monomial((ma[0] // mb[0], ma[1] - mb[1]))


def floordiv(a: Size, b: Size) -> Size:
    """`a // b` as a size: exact when b divides a, else an opaque atom named by the text."""
    if a.kind == "int" and b.kind == "int":
        assert isinstance(a.value, int) and isinstance(b.value, int)
        return lit(a.value // b.value) if b.value else fresh()
    exact = divide(a, b)
    if exact is not None:
        return exact
    if a.kind == "fresh" or b.kind == "fresh":
        return fresh()
    return Size("expr", f"{_atom_text(a)}//{_atom_text(b)}", a.key or b.key)


def _linear(size: Size) -> tuple[dict[str, int], int] | None:
    """A name or a sum of names and ints (`n`, `n+1`, `2*n-k`) as (coefficients, constant)."""
    if size.kind == "int" and isinstance(size.value, int):
        return {}, size.value
    if size.kind == "name":
        return {str(size.value): 1}, 0
    if size.kind != "expr":
        return None
    try:
        node = ast.parse(str(size.value), mode="eval").body
    except SyntaxError:
        return None
    coefs: dict[str, int] = {}
    const = 0
    todo: list[tuple[ast.expr, int]] = [(node, 1)]
    while todo:
        part, sign = todo.pop()
        if isinstance(part, ast.BinOp) and isinstance(part.op, (ast.Add, ast.Sub)):
            todo += [
                (part.left, sign),
                (part.right, -sign if isinstance(part.op, ast.Sub) else sign),
            ]
        elif isinstance(part, ast.Constant) and type(part.value) is int:
            const += sign * part.value
        elif isinstance(part, ast.Name):
            coefs[part.id] = coefs.get(part.id, 0) + sign
        elif (
            isinstance(part, ast.BinOp)
            and isinstance(part.op, ast.Mult)
            and isinstance(part.left, ast.Constant)
            and type(part.left.value) is int
            and isinstance(part.right, ast.Name)
        ):
            coefs[part.right.id] = coefs.get(part.right.id, 0) + sign * part.left.value
        else:
            return None
    return coefs, const


def offset(size: Size, k: int) -> Size:
    """`size + k` for an int k: a sum of the same names (`n-1` from `n`, `n` from `n+1`)."""
    if k == 0:
        return size
    form = _linear(size)
    if form is None:
        return fresh()
    coefs, const = form
    const += k
    terms = [(n, c) for n, c in coefs.items() if c]
    if not terms:
        return lit(const)
    text = ""
    for n, c in terms:
        term = n if abs(c) == 1 else f"{abs(c)}*{n}"
        text += (
            (term if c > 0 else f"-{term}") if not text else (f"+{term}" if c > 0 else f"-{term}")
        )
    if const:
        text += f"+{const}" if const > 0 else str(const)
    if len(terms) == 1 and terms[0][1] == 1 and not const:
        return Size("name", terms[0][0])
    return Size("expr", text)


def apart(a: Size, b: Size) -> bool:
    """Whether `a` and `b` are the same sum of names but for a nonzero constant (`n-1`, `n`):
    never equal, whatever the names stand for."""
    fa, fb = _linear(a), _linear(b)
    if fa is None or fb is None or not fa[0]:
        return False
    strip = {n: c for n, c in fa[0].items() if c}, {n: c for n, c in fb[0].items() if c}
    return strip[0] == strip[1] and fa[1] != fb[1]


def _atom_text(s: Size) -> str:
    text = str(s)
    return text if text.replace(".", "").replace("_", "").isalnum() else f"({text})"


def add(a: Size, b: Size, sign: int = 1) -> Size:
    if a.kind == "int" and b.kind == "int":
        assert isinstance(a.value, int) and isinstance(b.value, int)
        return lit(a.value + sign * b.value)
    if sign == 1 and a.kind == "int" and a.value == 0:
        return b
    if b.kind == "int" and b.value == 0:
        return a
    whole = _halved(a)
    if sign == 1 and a == b and whole is not None:
        return whole  # the two halves of an axis split at n // 2, which the code means even
    return _poly.add(a, b, sign) or fresh()


def _halved(size: Size) -> Size | None:
    """n, where `size` is `n // 2` of a name n."""
    if size.kind != "expr" or size.key or not str(size.value).endswith("//2"):
        return None
    head = str(size.value)[: -len("//2")]
    return _unify.name(head) if head.isidentifier() else None


# Axes


def axis(shape: Shape, index: int) -> int | None:
    """The position in `shape` of axis `index` (negative counts from the end), if certain."""
    groups = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    n = len(shape)
    if not groups:
        return index + n if -n <= index < 0 else index if 0 <= index < n else None
    if index >= 0:
        return index if index < groups[0] else None
    return n + index if n + index > groups[-1] else None


def _size_at(shape: Shape, index: int) -> Size | None:
    shape = front(shape, index + 1) if index >= 0 else back(shape, -index)
    pos = axis(shape, index)
    if pos is None:
        return None
    item = shape[pos]
    return item if isinstance(item, Size) else None


def size_at(shape: Shape, index: int) -> Size | None:
    return _size_at(shape, index)


def rank(shape: Shape) -> int | None:
    return None if any(isinstance(i, Group) for i in shape) else len(shape)


def transpose(shape: Shape, i: int, j: int) -> Shape | None:
    shape = ends(shape, max(i, j) + 1, -min(i, j))
    a, b = axis(shape, i), axis(shape, j)
    if a is None or b is None:
        return None
    out = list(shape)
    out[a], out[b] = out[b], out[a]
    return tuple(out)


def permute(shape: Shape, dims: Sequence[int]) -> Shape | None:
    n = rank(shape)
    if n is None:
        return None
    if len(dims) != n:
        raise Mismatch(f'permute got {len(dims)} dims for a tensor of rank {n} "{show(shape)}"')
    places = [d + n if d < 0 else d for d in dims]
    if sorted(places) != list(range(n)):
        return None
    return tuple(shape[p] for p in places)


def reduce(shape: Shape, dims: Sequence[int] | None, keepdim: bool) -> Shape | None:
    """`x.sum(dim, keepdim)` and friends; dims None reduces everything."""
    if dims is None:
        if not keepdim:
            return ()
        n = rank(shape)
        return None if n is None else tuple(OP_ONE for _ in range(n))
    shape = ends(shape, max(dims, default=-1) + 1, -min(dims, default=0))
    places = []
    for d in dims:
        p = axis(shape, d)
        if p is None:
            return None
        places.append(p)
    if keepdim:
        return tuple(OP_ONE if i in places else item for i, item in enumerate(shape))
    return tuple(item for i, item in enumerate(shape) if i not in places)


def unsqueeze(shape: Shape, d: int) -> Shape | None:
    n = rank(shape)
    if n is None:
        shape = front(shape, d) if d >= 0 else back(shape, -d - 1)
        if d >= 0 and not any(isinstance(i, Group) for i in shape[:d]):
            return (*shape[:d], OP_ONE, *shape[d:])
        if d < 0 and (d == -1 or axis(shape, d + 1) is not None):
            cut = len(shape) + d + 1
            return (*shape[:cut], OP_ONE, *shape[cut:])
        return None
    if d < 0:
        d += n + 1
    if not 0 <= d <= n:
        return None
    return (*shape[:d], OP_ONE, *shape[d:])


def squeeze(shape: Shape, dims: Sequence[int] | None) -> Shape | None:
    """`x.squeeze()`, `x.squeeze(d)` drop the axes of size 1. Where an axis it may drop is
    not a literal, the rank is unknown: code that squeezes a named axis takes it to be 1,
    which it may be by a path the checker does not follow (a batch of one built by the
    caller), so neither keeping nor dropping it is certain."""
    if dims is None:
        if any(not (isinstance(i, Size) and i.kind == "int") for i in shape):
            return None
        return tuple(i for i in shape if not (isinstance(i, Size) and is_one(i)))
    shape = ends(shape, max(dims, default=-1) + 1, -min(dims, default=0))
    places = []
    for d in dims:
        p = axis(shape, d)
        item = None if p is None else shape[p]
        if not isinstance(item, Size) or item.kind != "int":
            return None  # a named size may be 1 at run time
        if is_one(item):
            places.append(p)
    return tuple(item for i, item in enumerate(shape) if i not in places)


# Broadcasting and matmul

# Set by `despite`: an op's shape where it runs, after a finding said it may not.
_despite: ContextVar[bool] = ContextVar("despite", default=False)


def despite(op: Callable[[], Shape | None]) -> Shape | None:
    """What `op` (a broadcast or a matmul that just raised `Mismatch` for a finding) gives
    wherever it runs as meant: a name the finding lined up with a literal k is taken as k
    from here on, so the code after it is checked as the code that ran and is not blamed
    again for the same equality. None for any other finding (two literals that differ,
    two names, a run in the way): what the code meant is not clear enough to go on."""
    token = _despite.set(True)
    try:
        return op()
    except Mismatch:
        return None
    finally:
        _despite.reset(token)


def _assume(a: Size, b: Size) -> None:
    """Within `despite`: take two sizes a finding said must be equal as equal, where one is
    a literal other than 1 and the other is not a literal (`d` against the 3 of xyz): the
    literal is what the code meant. Any other pair (two names on axes that do not line up
    as meant, say) leaves the shape unknown."""
    if {a.kind, b.kind} & {"int"} != {"int"} or a.kind == b.kind or is_one(a) or is_one(b):
        raise Mismatch("not assumed")
    held = _unify.facts()
    if held is not None:
        held.assume([(a, b)])


def _broadcast_pair(x: Size, y: Size, what: str) -> Size:
    if certain(x, y) == "same":
        return x
    if is_one(x):
        return y
    if is_one(y):
        return x
    if apart(x, y):
        raise Mismatch(what)  # never equal, whatever the names stand for
    if needs(x, y) == "differ":
        if not _despite.get():
            needed = equality_note(x, y)
            raise Mismatch(what[:-1] + f"; {needed})" if needed else what)
        _assume(x, y)
        return y if y.kind == "int" else x
    if x.kind == "fresh" and y.kind != "fresh":
        return y
    if y.kind == "fresh" and x.kind != "fresh":
        return x
    if x.kind == "int":
        return x
    if y.kind == "int":
        return y
    return fresh()


def makes_unit_axis(node: ast.expr) -> bool:
    """Whether an operand makes a new axis of size 1 itself (`x[:, None]`, `x.unsqueeze(1)`,
    `rearrange(x, "i -> i 1")`): an outer op, `ids[:, None] == ids`, broadcasts on purpose."""
    if isinstance(node, ast.Subscript):
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return any(isinstance(p, ast.Constant) and p.value is None for p in parts)
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if called == "unsqueeze":
        return True
    if called == "rearrange" and len(node.args) >= 2:
        pattern = node.args[1]
        if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str):
            out = pattern.value.split("->")[-1].replace("(", " ( ").replace(")", " ) ")
            return "1" in out.split() or "( )" in " ".join(out.split())
    return False


def broadcast(
    a: Shape,
    b: Shape,
    ta: str,
    tb: str,
    outer: bool = False,
    shown: tuple[Shape, Shape] | None = None,
) -> Shape | None:
    """torch's broadcasting, raising Mismatch where named or literal sizes certainly clash
    or where a name of the shorter operand lines up with a 1 beside the same name, unless
    `outer`: the expression made that 1 itself, to broadcast the two into a table. `shown`:
    the shapes a finding shows, where `a` and `b` are theirs with a run's axes taken out."""
    if a == b:
        return a
    lined = same_ends(a, b)
    if lined != (a, b):
        joined = broadcast(*lined, ta, tb, outer, (a, b))
        return None if joined is None else whole(joined)
    sa, sb = shown or (a, b)
    ga = [i for i, item in enumerate(a) if isinstance(item, Group)]
    gb = [i for i, item in enumerate(b) if isinstance(item, Group)]
    tail_a = a[ga[-1] + 1 :] if ga else a
    tail_b = b[gb[-1] + 1 :] if gb else b
    n = min(len(tail_a), len(tail_b))
    out: list[Item] = []
    with relating(a, b):
        for k in range(1, n + 1):
            x, y = tail_a[-k], tail_b[-k]
            assert isinstance(x, Size) and isinstance(y, Size)
            what = (
                f'{ta} "{show(sa)}" and {tb} "{show(sb)}": {x} lines up with {y} '
                f"(torch would broadcast silently where one is 1, and fail otherwise)"
            )
            out.append(_broadcast_pair(x, y, what))
    out.reverse()
    if not ga and not gb and len(a) != len(b):
        short, long_, ts, tl = (a, b, ta, tb) if len(a) < len(b) else (b, a, tb, ta)
        offset = len(long_) - len(short)
        for k, item in enumerate(short):
            other = long_[offset + k]
            assert isinstance(item, Size) and isinstance(other, Size)
            if (
                not outer
                and item.kind == "name"
                and is_one(other)
                and item in long_[:offset] + long_[offset + k + 1 :]
            ):
                result = show(tuple(long_[:offset]) + tuple(out))
                raise Mismatch(
                    f'{ts} "{show(short)}" against {tl} "{show(long_)}": {item} lines up with '
                    f'the 1, so torch would broadcast silently to "{result}"'
                )
        return (*long_[:offset], *out)
    if len(a) == len(b) and not ga and not gb:
        return tuple(out)
    return _broadcast_runs(a, b, f'{ta} "{show(sa)}"', f'{tb} "{show(sb)}"', ga, gb, out)


def _broadcast_runs(
    a: Shape, b: Shape, ta: str, tb: str, ga: list[int], gb: list[int], out: list[Item]
) -> Shape | None:
    """`broadcast` where an operand has a run (`*batch`): `out` is what its tails, those
    after the last run, give axis by axis; `ga` and `gb` where the runs are; `ta` and `tb`
    name each operand with its shape."""
    tail_a = a[ga[-1] + 1 :] if ga else a
    tail_b = b[gb[-1] + 1 :] if gb else b
    n = len(out)
    # The same run in both, behind the same leading axes: the tails decide the rest.
    if len(ga) == len(gb) == 1 and a[: ga[0] + 1] == b[: gb[0] + 1]:
        if len(tail_a) == len(tail_b):
            return (*a[: ga[0] + 1], *out)
        # `x / x.mean(-1)` on "... d": the run's last axes line up with the longer tail.
        run, longer = a[ga[0]], tail_a if len(tail_a) > len(tail_b) else tail_b
        extra = longer[: len(longer) - n]
        if all(isinstance(e, Size) and is_one(e) for e in extra):
            return None
        if isinstance(run, Group) and run.end and extra == beside_run(run, len(extra)):
            # `x / x.sum(-1)` of "*d": the run lines up with itself, shifted.
            n, whole_run = len(extra), f"*{run.name}"
            raise Mismatch(
                f"{ta} and {tb}: each axis of {whole_run} lines up with the "
                f"one {'' if n == 1 else f'{n} '}before it (torch fails unless {whole_run} "
                f"has at most {n} ax{'is' if n == 1 else 'es'}, or its axes are equal or 1)"
            )
        raise Mismatch(
            f"{ta} and {tb}: {show(extra)} lines up with the last "
            f"axes of {run}, the run both share (torch fails unless {run} is empty or ends in "
            f"1s or {show(extra)})"
        )
    # A run of unknown length: only a shorter operand that fits in the other's tail is certain.
    if not gb and len(b) <= len(tail_a):
        return (*a[: len(a) - n], *out)
    if not ga and len(a) <= len(tail_b):
        return (*b[: len(b) - n], *out)
    # Two runs of their own (`*#batch` of two arguments), or a run beside a longer shape:
    # the tails line up axis by axis; a longer tail's other axes line up with the other
    # run, and keep a size that is not 1 (or torch fails); before them is a run of its own.
    longer = tail_a if len(tail_a) > len(tail_b) else tail_b
    return (anonymous_group(), *beside_a_run(longer[: len(longer) - n]), *out)


def in_place(x: Shape, other: Shape, tx: str, to: str) -> Shape:
    """`x.add_(other)`, `x += other`: the result keeps x's shape, so `other` must broadcast
    to it without adding or widening an axis of x."""
    out = broadcast(x, other, tx, to)
    if out is None or out == x or any(isinstance(i, Group) for i in (*x, *other)):
        return x
    keeps = f'{tx} "{show(x)}", whose shape an in-place op keeps'
    if len(other) > len(x):
        raise Mismatch(f'{to} "{show(other)}" has more dims than {keeps}')
    for xi, oi in zip(reversed(x), reversed(other), strict=False):
        assert isinstance(xi, Size) and isinstance(oi, Size)
        if is_one(xi) and not is_one(oi) and oi.kind in ("int", "name"):
            raise Mismatch(f'{oi} in {to} "{show(other)}" lines up with a 1 in {keeps}')
    return x


def swapped_text(text: str) -> str:
    """`w` with its last two axes swapped: drop a trailing `.T`/`.mT`, else add `.mT`."""
    for suffix in (".mT", ".T"):
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return f"{text}.mT"


def matmul(a: Shape, b: Shape, ta: str, tb: str) -> Shape | None:
    """torch.matmul: `(..., m, n) @ (..., n, p)`, or a vector on either side."""
    with relating(a, b):
        return _matmul(a, b, ta, tb)


def _matmul(a: Shape, b: Shape, ta: str, tb: str) -> Shape | None:
    if not a or not b:
        return None
    left = a[-1]
    right = b[-1] if len(b) == 1 else b[-2]
    if len(b) == 2 and isinstance(right, Group) and isinstance(b[-1], Size):
        return _matmul_run(a, b)
    if not isinstance(left, Size) or not isinstance(right, Size):
        return None
    if _despite.get():
        if certain(left, right) != "same":
            _assume(left, right)
    elif needs(left, right) == "differ":
        message = (
            f'{ta} @ {tb}: inner dim is {left} in {ta} "{show(a)}" but {right} in {tb} "{show(b)}"'
        )
        if len(b) >= 2 and isinstance(b[-1], Size) and certain(left, b[-1]) == "same":
            message += f"; did you mean {swapped_text(tb)}?"
        elif needed := equality_note(left, right, names=True):
            message += f" ({needed})"
        raise Mismatch(message)
    if len(b) == 1:
        return a[:-1]
    if len(a) == 1:
        return (*b[:-2], b[-1])
    batch_a, batch_b = a[:-2], b[:-2]
    if batch_a == batch_b or not batch_b:
        batch: Shape | None = batch_a
    elif not batch_a:
        batch = batch_b
    else:
        try:
            batch = broadcast(batch_a, batch_b, f"{ta}'s batch", f"{tb}'s batch")
        except Mismatch as err:
            raise Mismatch(f"{ta} @ {tb}: {err}") from None
    if batch is None:
        return None
    return (*batch, a[-2], b[-1])


def _matmul_run(a: Shape, b: Shape) -> Shape | None:
    """`w.T @ x` with x "... n": x is a vector if the run is empty, else a stack of
    matrices whose rows the run ends in. Where w's last axis is not n, a vector fails, so
    x must be a stack: the product ends in w's rows and n after a run of its own."""
    if len(a) < 2 or not all(isinstance(i, Size) for i in a):
        return None
    left, n = a[-1], b[-1]
    assert isinstance(left, Size) and isinstance(n, Size)
    if needs(left, n) != "differ" or certain(left, n) == "same":
        return None
    return (anonymous_group(), a[-2], n)


def run_product(run: Group) -> Size:
    """The number of elements in a named run's axes, one size of its own: `prod(*bs)`."""
    return _unify.name(f"prod({run})")


def view(shape: Shape | None, sizes: Sequence[Size | None], minus: int | None) -> Shape:
    """`x.view(*sizes)`; `minus` is the position of a -1, worked out from the product."""
    out: list[Item] = [s if s is not None and i != minus else fresh() for i, s in enumerate(sizes)]
    runs = [i for i in shape or () if isinstance(i, Group)]
    if shape is not None and len(runs) == 1 and runs[0].name and minus is not None:
        # `x.view(-1, d)` of "*bs d": the -1 is the product of the run's axes, one size.
        whole_run = run_product(runs[0])
        return view((*(s for s in shape if isinstance(s, Size)), whole_run), sizes, minus)
    if shape is not None and rank(shape) is not None:
        total = product([s for s in shape if isinstance(s, Size)])
        known = [s for i, s in enumerate(sizes) if i != minus]
        if minus is not None and all(s is not None for s in known):
            rest = divide(total, product([s for s in known if s is not None]))
            if rest is not None:
                out[minus] = rest
        elif minus is None and all(s is not None and s.kind == "int" for s in sizes):
            got = product([s for s in sizes if s is not None])
            if total.kind == "int" and got != total:
                raise Mismatch(
                    f'cannot view "{show(shape)}" ({total.value} elements) as '
                    f'"{show(tuple(out))}" ({got.value} elements)'
                )
    return tuple(out)


def expand_fits(x: Shape, sizes: Sequence[Item | None], what: str) -> None:
    """`x.expand(sizes)` (or `expand_as`, `broadcast_to`), the axes lined up from the end
    as far as neither side has a run: an axis of x whose size is a number other than 1 can
    only keep it, so one certainly given another size is a Mismatch; so is a shape of
    fewer axes than x has."""
    if not any(isinstance(i, Group) for i in (*x, *sizes)) and len(sizes) < len(x):
        raise Mismatch(
            f'expand: {what} "{show(x)}" has {len(x)} dims, more than the {len(sizes)} given'
        )
    for k in range(1, min(len(x), len(sizes)) + 1):
        have, want = x[-k], sizes[-k]
        if isinstance(have, Group) or isinstance(want, Group):
            return
        if not (isinstance(have, Size) and have.kind == "int" and isinstance(want, Size)):
            continue
        if (want.kind == "int" and want.value == -1) or is_one(have):
            continue
        if certain(have, want) == "differ":
            raise Mismatch(
                f'expand: {what} "{show(x)}" has {have} at dim {len(x) - k}, which cannot '
                f"become {want} (only an axis of 1 expands)"
            )


# Index expressions: x[0], x[:, -1], x[..., None]


# How long a slice is whose bounds are not literals (`x[..., :k]`), given the axis's size:
# None where the bounds say nothing of it.
Cut = Callable[[Item, ast.Slice], Size | None]


def index(shape: Shape, parts: Sequence[ast.expr], cut: Cut | None = None) -> Shape | None:
    """Basic indexing with ints, full or partial slices, None (or `torch.newaxis`) and `...`;
    `cut` reads the slices whose bounds are not literals."""
    parts = [ast.Constant(None) if _newaxis(p) else p for p in parts]
    ellipses = [
        i for i, p in enumerate(parts) if isinstance(p, ast.Constant) and p.value is Ellipsis
    ]
    if len(ellipses) > 1:
        return None
    consumed = _consumed(parts)
    runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if runs:
        # `x[..., :-1]` on "*batch n": the parts after `...` must stay clear of the runs,
        # whose length is unknown; those before it (or without one, all) may take the
        # first axes of a run out of it (`x[0]`).
        at = ellipses[0] if ellipses else len(parts)
        before, after = parts[:at], parts[at + 1 :]
        cb, ca = _consumed(before), _consumed(after)
        shape = ends(shape, cb, ca)
        runs = [i for i, item in enumerate(shape) if isinstance(item, Group)]
        if cb > runs[0] or ca > len(shape) - runs[-1] - 1:
            return None
        head = index(shape[:cb], before, cut)
        tail = index(shape[len(shape) - ca :], after, cut)
        if head is None or tail is None:
            return None
        return (*head, *shape[cb : len(shape) - ca], *tail)
    if consumed > len(shape):
        raise Mismatch(f"{consumed} indices for {len(shape)} dims of")
    out: list[Item] = []
    pos = 0
    for part in parts:
        if isinstance(part, ast.Constant) and part.value is Ellipsis:
            skip = len(shape) - consumed
            out.extend(shape[pos : pos + skip])
            pos += skip
        elif isinstance(part, ast.Constant) and part.value is None:
            out.append(OP_ONE)
        elif isinstance(part, ast.Slice):
            cut_to = None if cut is None else cut(shape[pos], part)
            if part.lower is None and part.upper is None and part.step is None:
                out.append(shape[pos])
            else:
                out.append(_sliced(shape[pos], part) if cut_to is None else cut_to)
            pos += 1
        elif _is_int(part):
            k, size = int_value(part), shape[pos]
            if isinstance(size, Size) and size.kind == "int" and k is not None:
                if not -int(size.value) <= k < int(size.value):
                    raise Mismatch(f"index {k} is out of range for an axis of size {size} in")
            pos += 1
        else:
            return None
    out.extend(shape[pos:])
    return tuple(out)


def is_ellipsis(part: ast.expr) -> bool:
    return isinstance(part, ast.Constant) and part.value is Ellipsis


def is_none(part: ast.expr) -> bool:
    """`None`, or `torch.newaxis`: an index part that adds an axis of 1."""
    return (isinstance(part, ast.Constant) and part.value is None) or _newaxis(part)


def _newaxis(part: ast.expr) -> bool:
    """`torch.newaxis` or `np.newaxis`: None by another name."""
    return (
        isinstance(part, ast.Attribute)
        and part.attr == "newaxis"
        and isinstance(part.value, ast.Name)
        and part.value.id in ("torch", "np", "numpy")
    )


def _sliced(size: Item, part: ast.Slice) -> Size:
    """The length of `x[lo:hi:step]` along an axis: exact for a literal size; for a named one,
    `n-k` where the slice drops k from the ends (`x[1:]`, `x[:-1]`); a fresh size otherwise."""
    bounds = [int_value(b) if b is not None else None for b in (part.lower, part.upper, part.step)]
    given = [b for b in (part.lower, part.upper, part.step) if b is not None]
    lo = 0 if part.lower is None else bounds[0]
    hi, forward = bounds[1], part.step is None or bounds[2] == 1
    if lo is not None and hi is not None and 0 <= hi <= lo and forward:
        return lit(0)  # `x[..., :0]`, `x[2:1]`: empty whatever the axis holds
    if not (isinstance(size, Size) and size.kind == "int" and isinstance(size.value, int)):
        first = bounds[0] in (None, 0) and bounds[1] == 1
        last = bounds[0] == -1 and part.upper is None
        if (first or last) and bounds[2] in (None, 1):
            return OP_ONE  # `x[..., :1]` or `x[..., -1:]` keeps one of a nonempty axis
        lo, hi = bounds[0], bounds[1]
        head = 0 if part.lower is None else lo
        tail = 0 if part.upper is None else (-hi if hi is not None and hi < 0 else None)
        if isinstance(size, Size) and head is not None and head >= 0 and tail is not None:
            if bounds[2] in (None, 1) and (part.step is None or bounds[2] == 1):
                return offset(size, -(head + tail))  # as long as the axis is longer
        if forward and bounds[2] in (None, 1):
            return _within_least(size, head, hi)
        return fresh()
    if any(int_value(b) is None for b in given) or bounds[2] == 0:
        return fresh()
    return lit(len(range(size.value)[slice(*bounds)]))


def _within_least(size: Item, lo: int | None, hi: int | None) -> Size:
    """`x[..., lo:hi]` of an axis whose size is never below hi (`x[..., :3]` of an axis of
    `4+n`): hi - lo, whatever the names in the size are; a fresh size otherwise."""
    floor = _poly.least(size) if isinstance(size, Size) else None
    if floor is not None and lo is not None and hi is not None and 0 <= lo <= hi <= floor:
        return lit(hi - lo)
    return fresh()


def int_literal(node: ast.expr | None) -> int | None:
    """An int written in the source (`3`, `-3`, `-(-3)`): its value; None for anything else."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_literal(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def int_value(node: ast.expr) -> int | None:
    if not _is_int(node):
        return None
    sign = 1
    if isinstance(node, ast.UnaryOp):
        node, sign = node.operand, -1
    value = node.value if isinstance(node, ast.Constant) else None
    return sign * value if isinstance(value, int) else None


def consumed(parts: Sequence[ast.expr]) -> int:
    return _consumed([ast.Constant(None) if _newaxis(p) else p for p in parts])


def _consumed(parts: Sequence[ast.expr]) -> int:
    """How many axes the index parts take up: all but None and `...`."""
    return sum(
        1
        for p in parts
        if not (isinstance(p, ast.Constant) and (p.value is None or p.value is Ellipsis))
    )


def _is_int(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int
