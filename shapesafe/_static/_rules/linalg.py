"""Rules of matrix products, decompositions, matrix functions, and of the ops that make or
take a diagonal (`diag`, `diagonal`) or a covariance (`cov`)."""

import ast
from typing import cast

from .. import _torch as T
from .._unify import Group, Shape, Size, certain, fresh, lit, needs, show
from .._values import IntV, Mismatch, TupV, Value
from ._registry import PASS, Call, _Pass, function, lit_int, method, string

# Matrix decompositions and functions: the `_torch.linalg` rule for each.
LINALG = {
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


@function("torch.addmm", "torch.baddbmm")
def addmm(c: Call) -> Value | _Pass:
    if len(c.args) != 3:
        return PASS
    sc, sa, sb = c.args
    if isinstance(sc, tuple) and isinstance(sa, tuple) and isinstance(sb, tuple):
        tc, ta, tb = (c.text(n) for n in c.node.args[:3])

        def product() -> Shape | None:
            made = T.matmul(sa, sb, ta, tb)
            return None if made is None else T.broadcast(sc, made, tc, "the product")

        return c.rule(product)
    c.unknown("op input of unknown shape")
    return None


@function("torch.matmul", "torch.bmm", "torch.mm")
def matmul(c: Call) -> Value:
    args = c.args
    if len(args) == 2 and isinstance(args[0], tuple) and isinstance(args[1], tuple):
        sa, sb = args[0], args[1]
        ta, tb = c.text(c.node.args[0]), c.text(c.node.args[1])
        op = (c.qual or "").rsplit(".", 1)[-1]
        return c.rule(lambda: _product(op, sa, sb, ta, tb))
    c.unknown("op input of unknown shape")
    return None


def _product(op: str, a: Shape, b: Shape, ta: str, tb: str) -> Shape | None:
    """`matmul`, or `bmm` of two stacks of matrices "b n m" and "b m p" (of the same
    batch: bmm does not broadcast), or `mm` of two matrices."""
    rank = {"bmm": 3, "mm": 2}.get(op)
    if rank is None:
        return T.matmul(a, b, ta, tb)
    if any(isinstance(i, Group) for i in (*a, *b)):
        return T.matmul(a, b, ta, tb)
    for shape, text in ((a, ta), (b, tb)):
        if len(shape) != rank:
            raise Mismatch(f'{op}: {text} "{show(shape)}" has {len(shape)} dims, expected {rank}')
    made = T.matmul(a, b, ta, tb)
    if rank == 3:
        ba, bb = cast(Size, a[0]), cast(Size, b[0])
        if needs(ba, bb) == "differ":
            raise Mismatch(
                f'bmm: the batch is {ba} in {ta} "{show(a)}" but {bb} in {tb} "{show(b)}" '
                "(bmm does not broadcast)"
            )
    return made


@function(*LINALG)
def decomposition(c: Call) -> Value:
    assert c.qual is not None
    op = LINALG[c.qual]
    x = c.x
    if not isinstance(x, tuple):
        c.unknown("op input of unknown shape")
        return None
    mode = string(c.kw("mode")) or "reduced"
    full_node = c.kw("full_matrices")
    some_node = c.kw("some")
    if op == "svd":
        full = not (isinstance(full_node, ast.Constant) and full_node.value is False)
        if full_node is not None and not isinstance(full_node, ast.Constant):
            return None
    elif op == "svd_old":
        full = False
        if some_node is not None and not (
            isinstance(some_node, ast.Constant) and some_node.value is True
        ):
            return None
    else:
        full = mode == "complete"
        if op == "qr" and (mode not in ("reduced", "complete") or some_node is not None):
            return None
    if len(c.args) > 1:
        return None  # options given by position
    what = c.text(c.node)
    return c.rule(lambda: decomposed(op, x, full, what))


@function("torch.pca_lowrank", "torch.svd_lowrank")
def lowrank(c: Call) -> Value | _Pass:
    """`U, S, V = torch.pca_lowrank(a)` of `a` "(..., m, n)": "(..., m, q)", "(..., q)" and
    "(..., n, q)", q the rank asked for (by default min(6, m, n))."""
    x = c.x
    if not isinstance(x, tuple):
        c.unknown("op input of unknown shape")
        return None
    given = c.arg(1, "q")
    q = None if given is None else c.size_of(given)
    what = c.text(c.node)

    def made() -> TupV | None:
        found = _matrix(x, what, False)
        if found is None:
            return None
        batch, m, n = found
        k = q if q is not None else fresh()
        return TupV(((*batch, m, k), (*batch, k), (*batch, n, k)), ("U", "S", "V"))

    return c.rule(made)


@method("matmul", "mm", "bmm")
def matmul_method(c: Call) -> Value | _Pass:
    if not (c.args and isinstance(c.args[0], tuple)):
        return PASS
    x, other = c.x, c.args[0]
    assert isinstance(x, tuple)
    tx, to = c.receiver_text(), c.text(c.nodes[0])
    return c.rule(lambda: _product(c.name, x, other, tx, to))


@method(*(q.rsplit(".", 1)[-1] for q in LINALG if q.count(".") == 1 and q != "torch.qr"))
def decomposition_method(c: Call) -> Value | _Pass:
    """`a.inverse()`, `a.det()`, `a.svd()`..."""
    if c.args or c.kwargs:
        return PASS
    x = c.x
    assert isinstance(x, tuple)
    op = LINALG[f"torch.{c.name}"]
    what = c.text(c.node)
    return c.rule(lambda: decomposed(op, x, False, what))


@method("dot", "vdot", "inner")
def dot(c: Call) -> Value | _Pass:
    assert isinstance(c.x, tuple)
    return () if T.rank(c.x) == 1 else PASS


@function("torch.diag")
def diag(c: Call) -> Value | _Pass:
    """A vector makes a square matrix; a matrix gives its diagonal."""
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    k = lit_int(c.arg(1, "diagonal", IntV(lit(0))))
    r = T.rank(x)
    if k is None or r is None or any(isinstance(i, Group) for i in x):
        return None
    sizes = [i for i in x if isinstance(i, Size)]
    if r == 1:
        side = sizes[0] if k == 0 else T.add(sizes[0], lit(abs(k)))
        return (side, side)
    if r == 2:
        m, n = sizes
        ints = [lit_int(IntV(s)) for s in sizes]
        if ints[0] is not None and ints[1] is not None:
            rows, cols = (ints[0], ints[1] - k) if k >= 0 else (ints[0] + k, ints[1])
            return (lit(max(0, min(rows, cols))),)
        if k == 0 and certain(m, n) == "same":
            return (m,)
        return (fresh(),)
    text = c.arg_text(0, "input")
    c.relation()
    c.report(f'torch.diag({text}): {text} "{show(x)}" has {r} dims; torch.diag takes 1 or 2')
    return None


@function("torch.cov", "torch.corrcoef")
def cov(c: Call) -> Value | _Pass:
    """Variables in rows, observations in columns: a matrix of the rows (a number for one
    row, so a row count that is a name is taken as more than one)."""
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    r = T.rank(x)
    rows = x[0] if r == 2 else None
    if r == 1 or (isinstance(rows, Size) and T.is_one(rows)):
        return ()  # one variable: torch gives a number, not a 1x1 matrix
    if isinstance(rows, Size):
        return (rows, rows)
    return None


@function("torch.diagonal")
def diagonal(c: Call) -> Value | _Pass:
    """`torch.diagonal(x, offset, dim1, dim2)`: those two axes go, their diagonal comes last."""
    return _diagonal(c, 1)


@method("diagonal")
def diagonal_method(c: Call) -> Value | _Pass:
    """`x.diagonal(offset, dim1, dim2)`, as `torch.diagonal`."""
    return _diagonal(c, 0)


def _diagonal(c: Call, shift: int) -> Value | _Pass:
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    k = lit_int(c.arg(shift, "offset", IntV(lit(0))))
    d1, d2 = (
        lit_int(c.arg(i + shift, n, IntV(lit(d)))) for i, n, d in ((1, "dim1", 0), (2, "dim2", 1))
    )
    if k is None or d1 is None or d2 is None:
        return None
    p1, p2 = T.axis(x, d1), T.axis(x, d2)
    if p1 is None or p2 is None or p1 == p2:
        return None
    m, n = x[p1], x[p2]
    assert isinstance(m, Size) and isinstance(n, Size)
    rest = tuple(s for i, s in enumerate(x) if i not in (p1, p2))
    ints = [lit_int(IntV(s)) for s in (m, n)]
    if ints[0] is not None and ints[1] is not None:
        rows, cols = (ints[0], ints[1] - k) if k >= 0 else (ints[0] + k, ints[1])
        return (*rest, lit(max(0, min(rows, cols))))
    if k == 0 and certain(m, n) == "same":
        return (*rest, m)
    return (*rest, fresh())


@function("torch.cdist")
def cdist(c: Call) -> Value | _Pass:
    """`torch.cdist(a "*B P M", b "*B R M")` is "*B P R"; the points' sizes M must agree."""
    a, b = c.x, c.arg(1, "x2")
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        return PASS
    ta, tb = c.arg_text(0, "x1"), c.arg_text(1, "x2")

    def distances() -> Shape | None:
        if len(a) < 2 or len(b) < 2 or any(isinstance(i, Group) for i in (*a[-2:], *b[-2:])):
            return None
        ma, mb = a[-1], b[-1]
        assert isinstance(ma, Size) and isinstance(mb, Size)
        if certain(ma, mb) == "differ":
            raise Mismatch(
                f'cdist: last dim is {ma} in {ta} "{show(a)}" but {mb} in {tb} "{show(b)}"'
            )
        batch = T.broadcast(a[:-2], b[:-2], ta, tb)
        return None if batch is None else (*batch, a[-2], b[-2])

    return c.rule(distances)


@function("torch.outer", "torch.ger")
def outer(c: Call) -> Value | _Pass:
    a, b = c.x, c.arg(1, "vec2")
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        return PASS
    if len(a) == 1 and len(b) == 1 and isinstance(a[0], Size) and isinstance(b[0], Size):
        return (a[0], b[0])
    return None


@function("torch.trace")
def trace(c: Call) -> Value | _Pass:
    """The sum of a matrix's diagonal: a number."""
    if not isinstance(c.x, tuple):
        return PASS
    return () if T.rank(c.x) == 2 else None


def _matrix(shape: Shape, what: str, square: bool) -> tuple[Shape, Size, Size] | None:
    """The batch axes and the two matrix sizes of a stack of matrices."""
    if len(shape) < 2 or not all(isinstance(i, Size) for i in shape[-2:]):
        return None
    m, n = cast(Size, shape[-2]), cast(Size, shape[-1])
    if square and needs(m, n) == "differ":
        raise Mismatch(f'{what}: needs square matrices, and "{show(shape)}" is {m} by {n}')
    return shape[:-2], m, n


def _smaller(m: Size, n: Size) -> Size:
    if m.kind == "int" and n.kind == "int":
        return lit(min(cast(int, m.value), cast(int, n.value)))
    return m if m == n else fresh()


def decomposed(op: str, shape: Shape, full: bool, what: str) -> "Shape | TupV | None":
    """Matrix decompositions and functions of a stack of matrices `(..., m, n)`: `svd`,
    `qr`, `eig`/`eigh`, `inv`, `det`, `pinv` and their kin, named as torch.linalg names them
    (`svd_old` is `torch.svd`, whose V is not transposed). `what` is the call, for messages."""
    square = op in (
        "eig",
        "eigh",
        "eigvals",
        "eigvalsh",
        "inv",
        "det",
        "slogdet",
        "cholesky",
        "matrix_exp",
        "logdet",
    )
    found = _matrix(shape, what, square)
    if found is None:
        return None
    batch, m, n = found
    k = _smaller(m, n)
    if op == "svd":
        u, vh = ((m, m), (n, n)) if full else ((m, k), (k, n))
        return TupV(((*batch, *u), (*batch, k), (*batch, *vh)), ("U", "S", "Vh"))
    if op == "svd_old":
        return TupV(((*batch, m, k), (*batch, k), (*batch, n, k)), ("U", "S", "V"))
    if op == "qr":
        q, r = ((m, m), (m, n)) if full else ((m, k), (k, n))
        return TupV(((*batch, *q), (*batch, *r)), ("Q", "R"))
    if op in ("eig", "eigh"):
        return TupV(((*batch, m), (*batch, m, m)), ("eigenvalues", "eigenvectors"))
    if op in ("eigvals", "eigvalsh", "svdvals"):
        return (*batch, m if op != "svdvals" else k)
    if op in ("inv", "cholesky", "matrix_exp"):
        return shape
    if op in ("det", "logdet"):
        return batch
    if op == "slogdet":
        return TupV((batch, batch), ("sign", "logabsdet"))
    if op == "pinv":
        return (*batch, n, m)
    return None


@function("torch.linalg.solve")
def solve(c: Call) -> Value | _Pass:
    """`torch.linalg.solve(A "*B n n", b)`: b is one vector "n", or a stack of vectors
    "*B n" (exactly A's shape without its last axis), or else a stack of matrices "*C n k";
    the result has b's shape, over the batch that *B and *C broadcast to. A must be square,
    and b's rows must number A's."""
    a, b = c.x, c.arg(1, "B")
    if not isinstance(a, tuple) or not isinstance(b, tuple) or c.kw("left") is not None:
        return PASS
    ta, tb = c.arg_text(0, "A"), c.arg_text(1, "B")
    return c.rule(lambda: _system("solve", a, b, ta, tb, square=True))


@function("torch.linalg.lstsq")
def lstsq(c: Call) -> Value | _Pass:
    """`torch.linalg.lstsq(A "*B m n", b)`: b is a vector "m", a stack of vectors "*B m"
    (A's shape without its last axis) or a stack of matrices "*C m k"; the solution is n
    long where b is m (over the batch *B and *C broadcast to). The residuals, rank and
    singular values depend on the driver and on A's rank: not known."""
    a, b = c.x, c.arg(1, "B")
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        return PASS
    ta, tb = c.arg_text(0, "A"), c.arg_text(1, "B")

    def solved() -> TupV | None:
        x = _system("lstsq", a, b, ta, tb, square=False)
        fields = ("solution", "residuals", "rank", "singular_values")
        return None if x is None else TupV((x, None, None, None), fields)

    return c.rule(solved)


@function("torch.linalg.solve_triangular")
def solve_triangular(c: Call) -> Value | _Pass:
    """`torch.linalg.solve_triangular(A "*B n n", b "*C n k", upper=...)`: "*(B,C) n k";
    with `left=False`, b is "*C k n" and so is the result. b is never a vector."""
    a, b = c.x, c.arg(1, "B")
    left = c.kw("left")
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        return PASS
    if left is not None and not isinstance(left, ast.Constant):
        return None
    ta, tb = c.arg_text(0, "A"), c.arg_text(1, "B")
    if left is None or left.value is True:
        return c.rule(lambda: _system("solve_triangular", a, b, ta, tb, True, matrices=True))
    right = T.transpose(b, -1, -2) if len(b) >= 2 else None
    if right is None:
        return None

    def solved() -> Shape | None:
        x = _system("solve_triangular", a, right, ta, f"{tb}.mT", True, matrices=True)
        return None if x is None else T.transpose(x, -1, -2)

    return c.rule(solved)


@function("torch.cholesky_solve")
def cholesky_solve(c: Call) -> Value | _Pass:
    """`torch.cholesky_solve(b "*C n k", L "*B n n")`: "*(B,C) n k" (b comes first)."""
    b, low = c.x, c.arg(1, "input2")
    if not isinstance(low, tuple) or not isinstance(b, tuple) or len(c.args) > 2:
        return PASS
    tb, tl = c.arg_text(0, "B"), c.arg_text(1, "L")
    return c.rule(lambda: _system("cholesky_solve", low, b, tl, tb, True, matrices=True))


@function("torch.linalg.inv_ex", "torch.linalg.cholesky_ex")
def inverse_ex(c: Call) -> Value | _Pass:
    """`torch.linalg.inv_ex(A "*B n n")`: the inverse (or factor) "*B n n", and `info` "*B"."""
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    what = c.text(c.node)

    def made() -> TupV | None:
        found = _matrix(x, what, square=True)
        if found is None:
            return None
        return TupV((x, found[0]), ("L" if "cholesky" in (c.qual or "") else "inverse", "info"))

    return c.rule(made)


def _system(
    op: str, a: Shape, b: Shape, ta: str, tb: str, square: bool, matrices: bool = False
) -> Shape | None:
    """The solution x of A x = b, for A "*B m n" (square where `square`): b is a vector
    "m", or a stack of vectors "*B m" (exactly A's shape without its last axis), or else a
    stack of matrices "*C m k" (only these where `matrices`); x is n long where b is m,
    over the batch that *B and *C broadcast to. b's rows must number A's. (`lstsq` takes a
    vector only where A is one matrix; other shapes of b are not read here.)"""
    if any(isinstance(i, Group) for i in (*a, *b)):
        return None
    found = _matrix(a, f"{op}: {ta}", square=square)
    if found is None or not b:
        return None
    batch, n = found[0], found[2]
    m = n if square else found[1]
    vector = len(b) == 1 and not matrices
    if op == "lstsq" and len(b) not in (len(a) - 1, len(a)):
        return None
    if len(b) == len(a) - 1 and not matrices:
        verdicts = {certain(cast(Size, p), cast(Size, q)) for p, q in zip(a[:-1], b, strict=True)}
        if None in verdicts or (op == "lstsq" and verdicts != {"same"}):
            return None  # a stack of vectors or of matrices, as the sizes turn out
        vector = verdicts == {"same"}
    if not vector and len(b) < 2:
        return None
    rows = cast(Size, b[-1] if vector else b[-2])
    if needs(m, rows) == "differ":
        read = (
            f' (torch reads {tb} as matrices, not as vectors, since it is not "{show(a[:-1])}")'
            if len(b) == len(a) - 1 and not matrices
            else ""
        )
        raise Mismatch(
            f'{op}: {ta} "{show(a)}" is {m} by {n} but {tb} "{show(b)}" has {rows} rows' + read
        )
    if vector:
        return (*batch, n)
    joined = T.broadcast(batch, b[:-2], ta, tb)
    return None if joined is None else (*joined, b[-2] if square else n, b[-1])


@function("torch.linalg.matrix_norm")
def matrix_norm(c: Call) -> Value | _Pass:
    """`torch.linalg.matrix_norm(A "*B m n")`: one norm per matrix, "*B" (with `keepdim`,
    "*B 1 1"); over other axes (`dim=`), not known here."""
    x = c.x
    if not isinstance(x, tuple) or len(c.args) > 2 or c.kw("dim") is not None:
        return PASS
    keep = c.kw("keepdim")
    if keep is not None and not isinstance(keep, ast.Constant):
        return None
    what = c.text(c.node)

    def made() -> Shape | None:
        found = _matrix(x, what, False)
        if found is None:
            return None
        return (*found[0], T.OP_ONE, T.OP_ONE) if keep is not None and keep.value else found[0]

    return c.rule(made)


@function("torch.mv")
def mv(c: Call) -> Value | _Pass:
    """`torch.mv(A "n m", v "m")`: "n"; A must be a matrix and v a vector."""
    a, v = c.x, c.arg(1, "vec")
    if not isinstance(a, tuple) or not isinstance(v, tuple):
        return PASS
    return c.rule(lambda: _matrix_vector(a, v, c.arg_text(0, "input"), c.arg_text(1, "vec")))


@method("mv")
def mv_method(c: Call) -> Value | _Pass:
    a, v = c.x, c.args[0] if c.args else None
    if not isinstance(a, tuple) or not isinstance(v, tuple):
        return PASS
    return c.rule(lambda: _matrix_vector(a, v, c.receiver_text(), c.text(c.nodes[0])))


def _matrix_vector(a: Shape, v: Shape, ta: str, tv: str) -> Shape | None:
    if any(isinstance(i, Group) for i in (*a, *v)):
        return None
    for shape, text, rank in ((a, ta, 2), (v, tv, 1)):
        if len(shape) != rank:
            raise Mismatch(f'mv: {text} "{show(shape)}" has {len(shape)} dims, expected {rank}')
    return T.matmul(a, v, ta, tv)


@function("torch.kron")
def kron(c: Call) -> Value | _Pass:
    """`torch.kron(a, b)`: the shorter shape padded with 1s in front, then each axis the
    product of the two sizes."""
    a, b = c.x, c.arg(1, "other")
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        return PASS
    if any(isinstance(i, Group) for i in (*a, *b)):
        return None
    n = max(len(a), len(b))
    pa = [lit(1)] * (n - len(a)) + [cast(Size, i) for i in a]
    pb = [lit(1)] * (n - len(b)) + [cast(Size, i) for i in b]
    return tuple(T.mul(p, q) for p, q in zip(pa, pb, strict=True))
