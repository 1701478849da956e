"""Attention end to end: scores, mask, softmax, weighted sum, against torch's SDPA."""

import torch
import torch.nn.functional as F
from _show import fix, heading, mistake, same, say, show

import shapesafe as ss
import shapesafe.nn


def main() -> None:
    torch.manual_seed(0)
    batch, seq, embed, heads = 2, 5, 8, 2
    x = torch.randn(batch, seq, embed)
    w_q, w_k, w_v, w_o = (torch.randn(embed, embed) / embed**0.5 for _ in range(4))
    show("x", x, "batch seq embed")
    show("W_q (and W_k, W_v, W_o)", w_q, "out in")

    say("")
    q = ss.split_heads(ss.linear(x, w_q), heads)
    k = ss.split_heads(ss.linear(x, w_k), heads)
    v = ss.split_heads(ss.linear(x, w_v), heads)
    show("q = split(linear(x, W_q))", q, "batch heads seq head_dim")
    show("k", k, "batch heads seq head_dim")
    show("v", v, "batch heads seq head_dim")
    scores = ss.attention_scores(q, k)
    show("1. q @ k.T / sqrt(d)", scores, "batch heads seq seq", "query by key")
    masked = ss.apply_mask(scores, ss.causal_mask(seq))
    show("2. apply_mask(causal)", masked, "batch heads seq seq", "no looking ahead")
    weights = ss.softmax(masked)
    show("3. softmax", weights, "batch heads seq seq", "each row sums to 1")
    mixed = ss.matmul(weights, v)
    show("4. weights @ v", mixed, "batch heads seq head_dim", "a weighted sum of values")
    merged = ss.merge_heads(mixed)
    show("5. merge_heads", merged, "batch seq embed")
    out = ss.linear(merged, w_o)
    show("6. linear(., W_o)", out, "batch seq embed")

    say("")
    sdpa = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    same("torch's SDPA", mixed, sdpa)
    same("attention(causal=True)", ss.attention(q, k, v, causal=True), mixed)
    module = shapesafe.nn.CausalSelfAttention(embed, heads, bias=False)
    with torch.no_grad():
        for proj, w in zip(
            (module.q_proj, module.k_proj, module.v_proj, module.out_proj),
            (w_q, w_k, w_v, w_o),
            strict=True,
        ):
            proj.weight.copy_(w)
        same("nn.CausalSelfAttention", module(x), out)

    with mistake("compute the scores as q @ k, without transposing k"):
        ss.matmul(q, k)
    with mistake("weigh values that were never split into heads"):
        ss.matmul(weights, ss.linear(x, w_v))  # shapesafe: ignore
    fix("every (batch, heads) pair needs its own values: split_heads(linear(x, W_v), heads)")


if __name__ == "__main__":
    heading(__doc__)
    main()
