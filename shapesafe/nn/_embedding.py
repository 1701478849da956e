"""`Embedding`: token ids to vectors, with the embedding size in the contract."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn

from .._checked import checked
from .._errors import ShapeError
from .._loss import embedding
from .._masks import check_size
from . import _fastpath
from ._linear import blame_input, checked_error


class Embedding(nn.Embedding):
    """A checked `torch.nn.Embedding`, and a subclass of it.

    **Arguments:**

    - `num_embeddings`: how many rows (the vocabulary size).
    - `embedding_dim`: the size of each row.
    - `device`, `dtype`: where and how to create the weight.

    The weight is `torch.nn.Embedding`'s, `(num_embeddings, embedding_dim)`, initialized the
    same way, so state dicts load both ways.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_size("Embedding", "num_embeddings", num_embeddings, minimum=1)
        check_size("Embedding", "embedding_dim", embedding_dim, minimum=1)
        super().__init__(num_embeddings, embedding_dim, device=device, dtype=dtype)

    @checked
    def forward(
        self, ids: Int[Tensor, "*batch"]
    ) -> Float[Tensor, "*batch embed={self.embedding_dim}"]:
        """Token ids `(*batch)` to vectors `(*batch, embed)`."""
        weight = self.weight
        try:
            if torch.compiler.is_compiling():  # compiled, the checks cost nothing at run time
                return embedding(ids, weight)
            # As in Linear: the contract holds ids and the output, torch refuses a weight
            # that does not fit, and the checked op then says what is wrong.
            out: Tensor = F.embedding(ids, weight)
            return out
        except RuntimeError as e:
            raise blame_input(self, ids, checked_error(e, embedding, ids, weight), "ids") from None
        except ShapeError as e:
            raise blame_input(self, ids, e, "ids") from None


def _fast_embedding(m: Embedding, ids: Tensor) -> Tensor:
    """`Embedding`'s fast form (see `_fastpath`): integer `ids` and a float weight
    `(rows, embedding_dim)` imply the contract, as `F.embedding` then returns
    `(*ids.shape, embedding_dim)` in the weight's dtype (or raises on an id out of range)."""
    weight = m.__dict__["_parameters"].get("weight")
    e = m.embedding_dim
    if (
        ids.__class__ is Tensor
        and ids.dtype in _fastpath.INTS
        and weight.__class__ is nn.Parameter
        and weight.dtype in _fastpath.FLOATS
        and e.__class__ is int
        and weight.ndim == 2
        and weight.shape[1] == e
    ):
        try:
            out: Tensor = F.embedding(ids, weight)
            return out
        except Exception:
            pass  # the checked call raises what it raises
    out = m(ids)
    return out


_fastpath.register(Embedding, _fast_embedding)
