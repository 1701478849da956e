"""Special matrices and masks: identity, diagonal, triangular, causal."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import torch
from jaxtyping import Bool, Float, Shaped
from torch import Tensor

from ._checked import checked_op


def check_size(op: str, name: str, value: object, minimum: int = 0) -> int:
    """A size must be an int >= `minimum`; anything else is a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{op}(): {name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{op}(): {name} must be >= {minimum}, got {value}")
    return value


@checked_op
def identity(
    n: int, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Float[Tensor, "n n"]:
    """The `(n, n)` identity matrix: the transform that does nothing."""
    check_size("identity", "n", n)
    if not dtype.is_floating_point:
        raise ValueError(f"identity(): dtype must be a floating dtype, got {dtype}")
    return torch.eye(n, dtype=dtype, device=device)


@checked_op
def diag(v: Float[Tensor, " n"]) -> Float[Tensor, "n n"]:
    """The `(n, n)` matrix with `v` on its diagonal: scales axis i by `v[i]`."""
    return torch.diag(v)


@checked_op
def tril(A: Shaped[Tensor, "*batch m n"], diagonal: int = 0) -> Shaped[Tensor, "*batch m n"]:
    """Keep the lower triangle (entries with `j - i <= diagonal`), zero the rest."""
    return torch.tril(A, diagonal=diagonal)


@checked_op
def triu(A: Shaped[Tensor, "*batch m n"], diagonal: int = 0) -> Shaped[Tensor, "*batch m n"]:
    """Keep the upper triangle (entries with `j - i >= diagonal`), zero the rest."""
    return torch.triu(A, diagonal=diagonal)


@checked_op
def causal_mask(seq_len: int, device: torch.device | str | None = None) -> Bool[Tensor, "seq seq"]:
    """`(seq, seq)` booleans, True where query i may attend to key j, i.e. `j <= i`."""
    check_size("causal_mask", "seq_len", seq_len)
    return torch.ones(seq_len, seq_len, dtype=torch.bool, device=device).tril()


@checked_op
def apply_mask(
    scores: Float[Tensor, "*batch q k"], mask: Bool[Tensor, "*#batch #q k"]
) -> Float[Tensor, "*batch q k"]:
    """Set attention scores to -inf where `mask` is False, so softmax gives them 0.

    **Arguments:**

    - `scores`: `(*batch, q, k)`.
    - `mask`: booleans broadcastable to `(*batch, q, k)`, the shapes `attention` takes,
      e.g. `(q, k)`, `(b, 1, q, k)` or a padding mask `(b, 1, 1, k)`; True where attention
      is allowed.

    **Returns:**

    `(*batch, q, k)`.
    """
    return scores.masked_fill(~mask, float("-inf"))
