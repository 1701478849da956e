"""The language-model loss and the token embedding: where token ids meet floats."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from ._checked import checked_op


@checked_op
def cross_entropy(
    logits: Float[Tensor, "*batch vocab"],
    targets: Int[Tensor, "*batch"],
    ignore_index: int = -100,
) -> Float[Tensor, ""]:
    """The mean cross-entropy of next-token `logits` against target ids.

    The same value as `F.cross_entropy(logits.view(-1, vocab), targets.view(-1))`, with the
    batch dims of both checked first: `(batch, seq, 1)` targets or float targets are errors
    here, not a silent broadcast.

    **Arguments:**

    - `logits`: `(*batch, vocab)`, unnormalized scores.
    - `targets`: `(*batch)`, integer ids in `[0, vocab)`.
    - `ignore_index`: targets equal to it do not count (nor enter the mean).

    **Returns:**

    A 0-d tensor.
    """
    flat = logits.reshape(-1, logits.shape[-1])
    return F.cross_entropy(flat, targets.reshape(-1), ignore_index=ignore_index)


@checked_op
def embedding(
    ids: Int[Tensor, "*batch"], weight: Float[Tensor, "vocab embed"]
) -> Float[Tensor, "*batch embed"]:
    """Look up one row of `weight` per token id, as `torch.nn.functional.embedding`.

    **Arguments:**

    - `ids`: `(*batch)`, integer ids in `[0, vocab)`.
    - `weight`: `(vocab, embed)`, one row per token.

    **Returns:**

    `(*batch, embed)`.
    """
    return F.embedding(ids, weight)
