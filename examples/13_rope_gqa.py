"""Rotary position embeddings and grouped-query attention: the shapes of a Llama layer."""

import torch
from _show import fix, heading, mistake, same, say, show
from torch import Tensor

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    batch, seq, heads, kv_heads, head_dim = 2, 5, 4, 2, 8
    q = torch.randn(batch, heads, seq, head_dim)
    k = torch.randn(batch, kv_heads, seq, head_dim)
    v = torch.randn(batch, kv_heads, seq, head_dim)
    show("q (after split_heads)", q, "batch heads seq head_dim", "4 query heads")
    show("k, v", k, "batch kv_heads seq head_dim", "2 key/value heads")

    say("")
    say("RoPE: no learned positions; q and k turn by an angle that grows with the position")
    cos, sin = ss.rope_tables(torch.arange(seq), head_dim)
    show("rope_tables(arange(5), 8)", cos, "seq head_dim", "cos; sin the same")
    say("head_dim splits in two halves: feature i turns together with feature i + 4")
    show("rotate_half(q)", ss.rotate_half(q), "batch heads seq head_dim", "(x1, x2) -> (-x2, x1)")
    q_rot, k_rot = ss.apply_rope(q, k, cos, sin)
    show("apply_rope(q, k, cos, sin)", q_rot, "batch heads seq head_dim", "q, shape kept")
    show("", k_rot, "batch kv_heads seq head_dim", "k, shape kept")
    same("a turn keeps lengths: |q|", q_rot.norm(dim=-1), q.norm(dim=-1))

    a, b = torch.randn(1, 1, 1, head_dim), torch.randn(1, 1, 1, head_dim)

    def score(i: int, j: int) -> Tensor:
        """q.k of `a` at position i and `b` at position j."""
        cos_i, sin_i = ss.rope_tables(torch.tensor([i]), head_dim)
        cos_j, sin_j = ss.rope_tables(torch.tensor([j]), head_dim)
        a_i, _ = ss.apply_rope(a, a, cos_i, sin_i)
        b_j, _ = ss.apply_rope(b, b, cos_j, sin_j)
        return ss.dot(a_i.flatten(), b_j.flatten())

    say("so q.k depends on how far apart two tokens are, not on where they are:")
    same("score at (3, 1) and (9, 7)", score(3, 1), score(9, 7))

    say("")
    say("grouped-query attention: each key/value head serves a group of 4 / 2 = 2 query heads")
    k_wide = ss.repeat_kv(k_rot, heads // kv_heads)
    show("repeat_kv(k, 2)", k_wide, "batch heads seq head_dim", "kv head j -> q heads 2j, 2j+1")
    out = ss.attention(q_rot, k_rot, v, causal=True)
    show("attention(q, k, v, causal=True)", out, "batch heads seq head_dim", "2 kv heads given")
    wide = ss.attention(q_rot, k_wide, ss.repeat_kv(v, 2), causal=True)
    same("the same with repeat_kv", wide, out)
    say(f"a KV cache stores {kv_heads} heads of k and v per token instead of {heads}: half")

    say("")
    say("generating: the new token's q and k turn by its own position, 5, and k joins the cache")
    q_new = torch.randn(batch, heads, 1, head_dim)
    k_new = torch.randn(batch, kv_heads, 1, head_dim)
    cos_new, sin_new = ss.rope_tables(torch.arange(seq, seq + 1), head_dim)
    show("rope_tables(arange(5, 6), 8)", cos_new, "one head_dim")
    q_new, k_new = ss.apply_rope(q_new, k_new, cos_new, sin_new)
    keys = ss.kv_append(k_rot, k_new)
    show("kv_append(k, k_new)", keys, "batch kv_heads seq+1 head_dim", "the cache grew by one")
    values = ss.kv_append(v, torch.randn(batch, kv_heads, 1, head_dim))
    step = ss.attention(q_new, keys, values)
    show("attention(q_new, keys, values)", step, "batch heads one head_dim", "sees all 6 keys")

    with mistake("give k and v 3 heads for 4 query heads"):
        ss.attention(q, torch.randn(batch, 3, seq, head_dim), torch.randn(batch, 3, seq, head_dim))
    fix("num_key_value_heads must divide num_attention_heads: 1, 2 or 4 here")
    with mistake("turn the new token by the tables of all 6 positions"):
        all_cos, all_sin = ss.rope_tables(torch.arange(seq + 1), head_dim)
        ss.apply_rope(q_new, k_new, all_cos, all_sin)  # shapesafe: ignore
    with mistake("append keys straight from the projection, (batch, seq, heads, head_dim)"):
        ss.kv_append(k_rot, k_new.transpose(1, 2))  # shapesafe: ignore


if __name__ == "__main__":
    heading(__doc__)
    main()
