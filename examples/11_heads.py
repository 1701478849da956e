"""Reshape and permute for multi-head attention: split and merge heads."""

import torch
from _show import fix, heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    batch, seq, embed, heads = 2, 5, 8, 2
    head_dim = embed // heads
    x = torch.randn(batch, seq, embed)
    show("x", x, "batch seq embed", f"embed = heads * head_dim = {heads} * {head_dim}")

    say("")
    say("step 1, reshape: cut each token's embedding into heads (no data moves)")
    cut = x.reshape(batch, seq, heads, head_dim)
    show("x.reshape(b, s, h, d)", cut, "batch seq heads head_dim")
    say("step 2, permute: move heads before seq, so each head sees a whole sequence")
    split = ss.permute(cut, "b s h d -> b h s d")
    show("permute(b s h d -> b h s d)", split, "batch heads seq head_dim")
    same("split_heads(x, 2)", ss.split_heads(x, heads), split)

    say("")
    say("attention runs per head, over (seq, head_dim); then the heads merge back")
    out = ss.attention(split, split, split, causal=True)
    show("attention per head", out, "batch heads seq head_dim")
    back = ss.permute(out, "b h s d -> b s h d")
    show("permute(b h s d -> b s h d)", back, "batch seq heads head_dim")
    merged = back.reshape(batch, seq, embed)
    show("reshape(b, s, h * d)", merged, "batch seq embed")
    same("merge_heads(out)", ss.merge_heads(out), merged)
    same("merge_heads(split_heads(x))", ss.merge_heads(ss.split_heads(x, heads)), x)

    with mistake("ask for 3 heads on an embedding of 8"):
        ss.split_heads(x, 3)
    with mistake("permute a (batch, seq, embed) tensor as if it were already cut into heads"):
        ss.permute(x, "b s h d -> b h s d")  # shapesafe: ignore
    fix("reshape to (b, s, h, d) first, or call split_heads(x, h), which does both steps")


if __name__ == "__main__":
    heading(__doc__)
    main()
