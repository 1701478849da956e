"""Correct attention code in several styles; `shapesafe check` must stay silent."""

import math

import torch
from jaxtyping import Bool, Float
from torch import Tensor

import shapesafe as ss
from shapesafe import attention_scores, matmul


def attend(
    q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"], v: Float[Tensor, "b t e"]
) -> Float[Tensor, "b s e"]:
    weights = ss.softmax((q @ k.mT) / math.sqrt(q.shape[-1]))
    return matmul(weights, v)


def attend_ops(
    q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"], v: Float[Tensor, "b t e"]
) -> Float[Tensor, "b s e"]:
    scores = attention_scores(q, k)
    return ss.matmul(ss.softmax(scores), v)


def causal(
    x: Float[Tensor, "b s d"], mask: Bool[Tensor, "s s"]
) -> Float[Tensor, "b s d"]:
    scores = ss.matmul(x, ss.transpose(x))
    masked = ss.apply_mask(scores, mask)
    return ss.attention(x, x, x, mask=mask) + 0.0 * ss.matmul(masked, x)


def heads(x: Float[Tensor, "b s e"], n_heads: int) -> Float[Tensor, "b s e"]:
    h = ss.split_heads(x, n_heads)
    out = ss.attention(h, h, h, causal=True)
    return ss.merge_heads(out)  # shapesafe: ignore (h*d is e, which no checker can prove)


q = torch.randn(2, 3, 8)
k = torch.randn(2, 5, 8)
v = torch.randn(2, 5, 4)
attend(q, k, v)
attend_ops(q, k, v)
causal(q, ss.causal_mask(3))
heads(torch.randn(2, 3, 8), 2)
