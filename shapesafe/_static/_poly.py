"""Sizes as polynomials over named sizes: `h+2*border`, `n*m-1`.

A size built from an annotation's dim names and `int` parameters, with `+`, `-` and `*`, is
a polynomial in those names. Every name is a universal unknown, so two such sizes are the
same exactly when their polynomials are, and otherwise equal only for some sizes: a relation
that needs them equal holds only if the code's sizes happen to coincide. A part that is no
polynomial (`d//h`) is an atom of its own, the same only as the same text.
"""

import ast

from ._unify import Size, lit, name

# A polynomial: each monomial (its atoms, sorted, with repeats) to its nonzero coefficient.
Poly = dict[tuple[str, ...], int]

_MAX_POWER = 8


def form(size: Size) -> Poly | None:
    """The polynomial a size is, or None for one that is not built of names and ints alone
    (a fresh size, a sym, an expression of either)."""
    if size.kind == "int" and isinstance(size.value, int):
        return {(): size.value} if size.value else {}
    if size.kind == "name":
        return {(str(size.value),): 1}
    if size.kind != "expr" or size.key:
        return None
    try:
        node = ast.parse(str(size.value), mode="eval").body
    except SyntaxError:
        return None
    return _read(node)


def _read(node: ast.expr) -> Poly | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return {(): node.value} if node.value else {}
    if isinstance(node, ast.Name):
        return {(node.id,): 1}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _read(node.operand)
        if inner is None:
            return None
        return _scaled(inner, -1) if isinstance(node.op, ast.USub) else inner
    if not isinstance(node, ast.BinOp):
        return None
    left, right = _read(node.left), _read(node.right)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add):
        return _sum(left, right)
    if isinstance(node.op, ast.Sub):
        return _sum(left, _scaled(right, -1))
    if isinstance(node.op, ast.Mult):
        return _times(left, right)
    if isinstance(node.op, ast.Pow) and set(right) <= {()}:
        power = right.get((), 0)
        if 0 <= power <= _MAX_POWER:
            out: Poly = {(): 1}
            for _ in range(power):
                out = _times(out, left)
            return out
        return None
    if isinstance(node.op, (ast.FloorDiv, ast.Mod)):
        # No polynomial, but a size of its own: the same only as the same text.
        return {(ast.unparse(node).replace(" ", ""),): 1}
    return None


def _sum(a: Poly, b: Poly) -> Poly:
    out = dict(a)
    for mono, coef in b.items():
        total = out.get(mono, 0) + coef
        if total:
            out[mono] = total
        else:
            out.pop(mono, None)
    return out


def _scaled(a: Poly, k: int) -> Poly:
    return {mono: coef * k for mono, coef in a.items()} if k else {}


def _times(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for ma, ca in a.items():
        for mb, cb in b.items():
            out = _sum(out, {tuple(sorted(ma + mb)): ca * cb})
    return out


def _atom(text: str) -> str:
    return text if text.isidentifier() else f"({text})"


def size(p: Poly) -> Size:
    """The size a polynomial is: an int, a name, or an expression in one canonical text
    (the monomials by degree, then by their names; the constant last)."""
    if not p:
        return lit(0)
    if set(p) == {()}:
        return lit(p[()])
    if len(p) == 1:
        ((mono, coef),) = p.items()
        if coef == 1 and len(mono) == 1 and mono[0].isidentifier():
            return name(mono[0])
    text = ""
    for mono in sorted(p, key=lambda m: (not m, -len(m), m)):
        coef = p[mono]
        parts = [_atom(a) for a in mono]
        if abs(coef) != 1 or not parts:
            parts.insert(0, str(abs(coef)))
        term = "*".join(parts)
        text += ("-" if coef < 0 else "+" if text else "") + term
    return Size("expr", text)


def add(a: Size, b: Size, sign: int = 1) -> Size | None:
    """`a + b` (or `a - b` for sign -1) as a polynomial, where both are one."""
    fa, fb = form(a), form(b)
    if fa is None or fb is None:
        return None
    return size(_sum(fa, _scaled(fb, sign)))


def atoms(p: Poly) -> set[str]:
    return {a for mono in p for a in mono}


def differ(a: Size, b: Size) -> bool:
    """Whether two sizes are different polynomials in names: equal only where the sizes
    that the names stand for happen to satisfy an equation, not for every size."""
    fa, fb = form(a), form(b)
    return fa is not None and fb is not None and fa != fb


def same(a: Size, b: Size) -> bool:
    """Whether two sizes are one polynomial written two ways (`h+2*b`, `2*b+h`)."""
    if a.kind == b.kind and a.kind in ("int", "name"):
        return False  # `==` has told already
    fa, fb = form(a), form(b)
    return fa is not None and fa == fb


def least(size: Size) -> int | None:
    """The smallest a size can be where each name in it is any size (none is below 0): its
    constant term, if no other term can be negative (`4+n`, `2*h+1`); None otherwise."""
    p = form(size)
    if p is None or any(k < 0 for m, k in p.items() if m):
        return None
    return p.get((), 0)
