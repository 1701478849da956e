"""Rules of matrix products, decompositions and matrix functions."""

import ast

from .. import _torch as T
from .._unify import Shape
from .._values import Value
from ._registry import PASS, Call, _Pass, function, method, string

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
        return c.rule(lambda: T.matmul(sa, sb, ta, tb))
    c.unknown("op input of unknown shape")
    return None


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
    return c.rule(lambda: T.linalg(op, x, full, what))


@method("matmul", "mm", "bmm")
def matmul_method(c: Call) -> Value | _Pass:
    if not (c.args and isinstance(c.args[0], tuple)):
        return PASS
    x, other = c.x, c.args[0]
    assert isinstance(x, tuple)
    tx, to = c.receiver_text(), c.text(c.nodes[0])
    return c.rule(lambda: T.matmul(x, other, tx, to))


@method(*(q.rsplit(".", 1)[-1] for q in LINALG if q.count(".") == 1 and q != "torch.qr"))
def decomposition_method(c: Call) -> Value | _Pass:
    """`a.inverse()`, `a.det()`, `a.svd()`..."""
    if c.args or c.kwargs:
        return PASS
    x = c.x
    assert isinstance(x, tuple)
    op = LINALG[f"torch.{c.name}"]
    what = c.text(c.node)
    return c.rule(lambda: T.linalg(op, x, False, what))


@method("dot", "vdot", "inner")
def dot(c: Call) -> Value | _Pass:
    assert isinstance(c.x, tuple)
    return () if T.rank(c.x) == 1 else PASS
