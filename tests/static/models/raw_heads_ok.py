"""Raw torch, fixed: heads split with view, then moved in front of the sequence axis."""

import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def head_scores(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"], n_heads: int) -> Tensor:
    b, s, d = q.shape
    t = k.shape[1]
    qh = q.view(b, s, n_heads, d // n_heads).transpose(1, 2)
    kh = k.view(b, t, n_heads, d // n_heads).transpose(1, 2)
    return qh @ kh.transpose(-2, -1)


def split_scores(
    q: Float[Tensor, "b s h e"], k: Float[Tensor, "b s h e"]
) -> Float[Tensor, "b h s s"]:
    return q.transpose(1, 2) @ k.permute(0, 2, 3, 1)


@ss.checked
def head_scores_permute(x: Float[Tensor, "b s d"], n_heads: int) -> Float[Tensor, "b heads s s"]:
    B, S, D = x.size()
    q = x.reshape(B, S, n_heads, -1).permute(0, 2, 1, 3)
    return q @ q.mT


head_scores(torch.randn(2, 3, 8), torch.randn(2, 5, 8), 2)
split_scores(torch.randn(2, 3, 2, 4), torch.randn(2, 3, 2, 4))
head_scores_permute(torch.randn(2, 3, 8), 2)
