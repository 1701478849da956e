"""Raw torch, fixed: the keys are transposed before the product, in three spellings."""

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def attend(
    q: Float[Tensor, "b h s d"], k: Float[Tensor, "b h t d"], v: Float[Tensor, "b h t e"]
) -> Float[Tensor, "b h s e"]:
    att = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(q.size(-1))
    att = F.softmax(att, dim=-1)
    return att @ v


def scores_bmm(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> Float[Tensor, "b s t"]:
    return torch.bmm(q, k.mT)


def scores_einsum(q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"]) -> Float[Tensor, "b s t"]:
    return torch.einsum("bsd,btd->bst", q, k)


attend(torch.randn(2, 2, 3, 8), torch.randn(2, 2, 5, 8), torch.randn(2, 2, 5, 4))
scores_bmm(torch.randn(2, 3, 8), torch.randn(2, 5, 8))
scores_einsum(torch.randn(2, 3, 8), torch.randn(2, 5, 8))
