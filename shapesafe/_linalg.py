"""Products, sums, transposes and norms: the linear algebra of a transformer layer.

Elementwise ops never broadcast: both sides must have the same shape. `broadcast_add` is the
one whose contract says which axes of its second argument broadcast.
"""

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from jaxtyping import Float, Num, Shaped
from torch import Tensor

from ._checked import checked_op
from ._contract import Conflict, Observed
from ._errors import ShapeError
from ._explain import OP_HINTS, dtype_name


def kernel_error(error: RuntimeError, op: str, **tensors: Tensor | None) -> Exception:
    """What to raise when a torch kernel fails on arguments whose shapes already passed.

    torch's matrix kernels need one dtype and one device; the ShapeError names the odd one
    out: the argument whose dtype (or device) differs from most of the others, or from the
    first one on a tie. Any other failure is torch's own error, unchanged. Checking only
    here, after the fact, keeps the check off the path of every successful call.
    """
    given = [(n, t) for n, t in tensors.items() if t is not None]
    for what in ("dtype", "device"):
        values = [(n, dtype_name(t.dtype) if what == "dtype" else str(t.device)) for n, t in given]
        odd = odd_one_out(values)
        if odd is None:
            continue
        name, got, want, like = odd
        verb = "cast" if what == "dtype" else "move"
        hint = f"{verb} it, e.g. {name}.to({like}.{what})"
        return ShapeError(
            f"{op}(): argument '{name}' has {what} {got}, expected {want} like '{like}'\n"
            f"hint: {hint}",
            op=op,
            argument=name,
            expected=want,
            actual=got,
            hint=hint,
        )
    return error


def odd_one_out(values: list[tuple[str, str]]) -> tuple[str, str, str, str] | None:
    """`(name, its value, the usual value, an argument that has it)`, or None if all agree.

    The usual value is the most common one; on a tie, the first argument's.
    """
    counts: dict[str, int] = {}
    for _, value in values:
        counts[value] = counts.get(value, 0) + 1
    if len(counts) < 2:
        return None
    usual = max(counts, key=lambda v: (counts[v], v == values[0][1]))
    like = next(n for n, v in values if v == usual)
    name, got = next((n, v) for n, v in values if v != usual)
    return name, got, usual, like


@checked_op
def scale(c: float | int, x: Float[Tensor, "*shape"]) -> Float[Tensor, "*shape"]:
    """Multiply every entry of `x` by the scalar `c`.

    **Arguments:**

    - `c`: a Python number.
    - `x`: any shape, `(*shape)`.

    **Returns:**

    `(*shape)`, the same shape as `x`.
    """
    return x * c


@checked_op
def add(a: Num[Tensor, "*shape"], b: Num[Tensor, "*shape"]) -> Num[Tensor, "*shape"]:
    """`a + b` for two tensors of exactly the same shape (no broadcasting)."""
    return a + b


@checked_op
def broadcast_add(
    x: Num[Tensor, "*batch e"], y: Num[Tensor, "*#batch e"]
) -> Num[Tensor, "*batch e"]:
    """`x + y` where `y` is shared across some of `x`'s axes: a bias, a position embedding.

    `y`'s last axis must equal `x`'s; its other axes broadcast to `x`'s (fewer of them, or
    size 1), never the other way: the result always has `x`'s shape. So `(b, 1) + (b,)`,
    which torch broadcasts to `(b, b)`, is an error here too.

    **Arguments:**

    - `x`: `(*batch, e)`.
    - `y`: `(e,)` (a bias), `(s, e)` (position embeddings for `x` of `(b, s, e)`), or any
      `(*batch, e)` whose batch dims broadcast to `x`'s.

    **Returns:**

    `(*batch, e)`.
    """
    try:
        return x + y
    except RuntimeError as e:
        raise kernel_error(e, "broadcast_add", x=x, y=y) from None


def _bias_hint(observed: Mapping[str, Observed | None], c: Conflict) -> str | None:
    """`add(x, bias)`: one side would broadcast to the other as `broadcast_add` allows."""
    a, b = observed.get("a"), observed.get("b")
    if a is None or b is None or a.shape is None or b.shape is None:
        return None
    for big, small, x, y in ((a.shape, b.shape, "a", "b"), (b.shape, a.shape, "b", "a")):
        if big != small and _broadcasts_to(small, big):
            return (
                f"add never broadcasts; if '{y}' is shared across the leading axes of '{x}' "
                f"(a bias, a position embedding), use broadcast_add({x}, {y})"
            )
    return None


def _broadcasts_to(small: tuple[int, ...], big: tuple[int, ...]) -> bool:
    """`broadcast_add`'s rule: the same last axis, the others broadcast to `big`'s."""
    if not small or not big or len(small) > len(big) or small[-1] != big[-1]:
        return False
    return all(s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False))


OP_HINTS["add"] = _bias_hint


def _matmul_broadcast_hint(observed: Mapping[str, Observed | None], c: Conflict) -> str | None:
    """Batch dims that torch would broadcast, one side's size-1 axes to the other's sizes
    (`(b, h, s, t) @ (b, 1, t, d)`): expanding that side is what torch's `@` does."""
    a, b = observed.get("A"), observed.get("B")
    if a is None or b is None or a.shape is None or b.shape is None:
        return None
    if c.kind not in ("size", "variadic") or len(a.shape) != len(b.shape) or len(a.shape) < 3:
        return None
    if a.shape[-1] != b.shape[-2]:
        return None
    for name, small, big, keep in (
        ("B", b.shape, a.shape, b.shape[-2:]),
        ("A", a.shape, b.shape, a.shape[-2:]),
    ):
        ones = small[:-2] != big[:-2] and all(
            s in (1, g) for s, g in zip(small[:-2], big[:-2], strict=True)
        )
        if ones:
            sizes = ", ".join(str(n) for n in big[:-2]) + ", -1" * len(keep)
            return (
                f"batch dims never broadcast here: {name}.expand({sizes}) repeats its size-1 "
                "batch axes without a copy, as torch's @ would"
            )
    return None


OP_HINTS["matmul"] = _matmul_broadcast_hint


@checked_op
def sub(a: Num[Tensor, "*shape"], b: Num[Tensor, "*shape"]) -> Num[Tensor, "*shape"]:
    """`a - b` for two tensors of exactly the same shape (no broadcasting)."""
    return a - b


@checked_op
def hadamard(a: Num[Tensor, "*shape"], b: Num[Tensor, "*shape"]) -> Num[Tensor, "*shape"]:
    """The element-wise product `a * b`, same shape on both sides (no broadcasting)."""
    return a * b


@checked_op
def dot(a: Float[Tensor, " n"], b: Float[Tensor, " n"]) -> Float[Tensor, ""]:
    """The dot product of two vectors `(n,)`; returns a 0-d tensor."""
    try:
        return torch.dot(a, b)
    except RuntimeError as e:
        raise kernel_error(e, "dot", a=a, b=b) from None


@checked_op
def outer(a: Float[Tensor, " m"], b: Float[Tensor, " n"]) -> Float[Tensor, "m n"]:
    """The outer product of `(m,)` and `(n,)`: `(m, n)` with entry `a[i] * b[j]`."""
    return torch.outer(a, b)


@checked_op
def matvec(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
    """The matrix-vector product `A @ x`: `(m, n)` times `(n,)` gives `(m,)`."""
    try:
        return torch.mv(A, x)
    except RuntimeError as e:
        raise kernel_error(e, "matvec", A=A, x=x) from None


@checked_op
def matmul(
    A: Float[Tensor, "*batch m n"], B: Float[Tensor, "*batch n p"]
) -> Float[Tensor, "*batch m p"]:
    """The matrix product `A @ B`: inner dims must match, the result takes the outer dims.

    **Arguments:**

    - `A`: `(*batch, m, n)`.
    - `B`: `(*batch, n, p)`, with the same batch dims as `A` (no broadcasting).

    **Returns:**

    `(*batch, m, p)`.
    """
    try:
        return torch.matmul(A, B)
    except RuntimeError as e:
        raise kernel_error(e, "matmul", A=A, B=B) from None


@checked_op
def linear(
    x: Float[Tensor, "*batch in_features"],
    weight: Float[Tensor, "out_features in_features"],
    bias: Float[Tensor, " out_features"] | None = None,
) -> Float[Tensor, "*batch out_features"]:
    """`x @ weight.T + bias`, torch.nn.functional.linear's convention.

    **Arguments:**

    - `x`: `(*batch, in_features)`.
    - `weight`: `(out_features, in_features)`, as `nn.Linear` stores it.
    - `bias`: `(out_features,)` or None.

    **Returns:**

    `(*batch, out_features)`.
    """
    try:
        return F.linear(x, weight, bias)
    except RuntimeError as e:
        raise kernel_error(e, "linear", x=x, weight=weight, bias=bias) from None


@checked_op
def transpose(A: Shaped[Tensor, "*batch m n"]) -> Shaped[Tensor, "*batch n m"]:
    """Swap the last two axes: `(*batch, m, n)` becomes `(*batch, n, m)`."""
    return A.mT


@checked_op
def l1_norm(x: Float[Tensor, "*batch n"]) -> Float[Tensor, "*batch"]:
    """The L1 norm (sum of absolute values) over the last axis: `(*batch, n)` to `(*batch)`."""
    return x.abs().sum(dim=-1)


@checked_op
def l2_norm(x: Float[Tensor, "*batch n"]) -> Float[Tensor, "*batch"]:
    """The L2 (Euclidean) norm over the last axis: `(*batch, n)` to `(*batch)`."""
    norm: Tensor = torch.linalg.vector_norm(x, ord=2, dim=-1)
    return norm


@checked_op
def normalize(x: Float[Tensor, "*batch n"], eps: float = 1e-12) -> Float[Tensor, "*batch n"]:
    """Scale each row over the last axis to unit L2 norm (rows of zeros stay zero)."""
    return F.normalize(x, p=2.0, dim=-1, eps=eps)
