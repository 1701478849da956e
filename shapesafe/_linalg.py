"""Products, sums, transposes and norms: the linear algebra of a transformer layer.

Elementwise ops never broadcast: both sides must have the same shape.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import torch
import torch.nn.functional as F
from jaxtyping import Float, Num, Shaped
from torch import Tensor

from ._checked import checked_op
from ._errors import ShapeError
from ._explain import dtype_name


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
