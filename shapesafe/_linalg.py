"""Products, sums, transposes and norms: the linear algebra of a transformer layer.

Elementwise ops never broadcast: both sides must have the same shape.
"""

import torch
import torch.nn.functional as F
from jaxtyping import Float, Num, Shaped
from torch import Tensor

from ._checked import checked
from ._errors import ShapeError


def same_dtype(op: str, a_name: str, a: Tensor, b_name: str, b: Tensor) -> None:
    """torch's matrix kernels need one dtype; say so before torch does."""
    if a.dtype != b.dtype:
        a_dt = repr(a.dtype).rsplit(".", 1)[-1]
        b_dt = repr(b.dtype).rsplit(".", 1)[-1]
        raise ShapeError(
            f"{op}(): argument '{b_name}' has dtype {b_dt}, expected {a_dt} like '{a_name}'\n"
            f"hint: cast one side, e.g. {b_name}.to({a_name}.dtype)",
            op=op,
            argument=b_name,
            expected=a_dt,
            actual=b_dt,
            hint=f"cast one side, e.g. {b_name}.to({a_name}.dtype)",
        )


@checked
def scale(c: float | int, x: Float[Tensor, "*shape"]) -> Float[Tensor, "*shape"]:
    """Multiply every entry of `x` by the scalar `c`.

    **Arguments:**

    - `c`: a Python number.
    - `x`: any shape, `(*shape)`.

    **Returns:**

    `(*shape)`, the same shape as `x`.
    """
    return x * c


@checked
def add(a: Num[Tensor, "*shape"], b: Num[Tensor, "*shape"]) -> Num[Tensor, "*shape"]:
    """`a + b` for two tensors of exactly the same shape (no broadcasting)."""
    return a + b


@checked
def sub(a: Num[Tensor, "*shape"], b: Num[Tensor, "*shape"]) -> Num[Tensor, "*shape"]:
    """`a - b` for two tensors of exactly the same shape (no broadcasting)."""
    return a - b


@checked
def hadamard(a: Num[Tensor, "*shape"], b: Num[Tensor, "*shape"]) -> Num[Tensor, "*shape"]:
    """The element-wise product `a * b`, same shape on both sides (no broadcasting)."""
    return a * b


@checked
def dot(a: Float[Tensor, " n"], b: Float[Tensor, " n"]) -> Float[Tensor, ""]:
    """The dot product of two vectors `(n,)`; returns a 0-d tensor."""
    same_dtype("dot", "a", a, "b", b)
    return torch.dot(a, b)


@checked
def outer(a: Float[Tensor, " m"], b: Float[Tensor, " n"]) -> Float[Tensor, "m n"]:
    """The outer product of `(m,)` and `(n,)`: `(m, n)` with entry `a[i] * b[j]`."""
    same_dtype("outer", "a", a, "b", b)
    return torch.outer(a, b)


@checked
def matvec(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
    """The matrix-vector product `A @ x`: `(m, n)` times `(n,)` gives `(m,)`."""
    same_dtype("matvec", "A", A, "x", x)
    return torch.mv(A, x)


@checked
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
    same_dtype("matmul", "A", A, "B", B)
    return torch.matmul(A, B)


@checked
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
    same_dtype("linear", "x", x, "weight", weight)
    if bias is not None:
        same_dtype("linear", "x", x, "bias", bias)
    return F.linear(x, weight, bias)


@checked
def transpose(A: Shaped[Tensor, "*batch m n"]) -> Shaped[Tensor, "*batch n m"]:
    """Swap the last two axes: `(*batch, m, n)` becomes `(*batch, n, m)`."""
    return A.mT


@checked
def l1_norm(x: Float[Tensor, "*batch n"]) -> Float[Tensor, "*batch"]:
    """The L1 norm (sum of absolute values) over the last axis: `(*batch, n)` to `(*batch)`."""
    return x.abs().sum(dim=-1)


@checked
def l2_norm(x: Float[Tensor, "*batch n"]) -> Float[Tensor, "*batch"]:
    """The L2 (Euclidean) norm over the last axis: `(*batch, n)` to `(*batch)`."""
    norm: Tensor = torch.linalg.vector_norm(x, ord=2, dim=-1)
    return norm


@checked
def normalize(x: Float[Tensor, "*batch n"], eps: float = 1e-12) -> Float[Tensor, "*batch n"]:
    """Scale each row over the last axis to unit L2 norm (rows of zeros stay zero)."""
    return F.normalize(x, p=2.0, dim=-1, eps=eps)
