"""Upper and lower triangular matrices: the causal mask, applied to attention scores."""

import torch
from _show import fix, grid, heading, mistake, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    ones = torch.ones(5, 5)
    grid("tril(ones): lower", ss.tril(ones))
    grid("triu(ones): upper", ss.triu(ones))
    grid("triu(ones, 1): strictly", ss.triu(ones, diagonal=1))

    say("")
    say("a decoder may not look ahead: query i sees keys j <= i, the lower triangle")
    seq = 5
    mask = ss.causal_mask(seq)
    show("causal_mask(5)", mask, "seq seq", "bool, True = may attend")
    grid("", mask)

    say("")
    q = torch.randn(2, seq, 4)
    k = torch.randn(2, seq, 4)
    show("q", q, "batch seq d")
    show("k", k, "batch seq d")
    scores = ss.attention_scores(q, k)
    show("attention_scores(q, k)", scores, "batch seq seq", "q @ k.T / sqrt(d)")
    masked = ss.apply_mask(scores, mask)
    show("apply_mask(scores, mask)", masked, "batch seq seq", "future keys set to -inf")
    weights = ss.softmax(masked)
    show("softmax(masked)", weights, "batch seq seq", "each row sums to 1")
    grid("weights[0] > 0", weights[0] > 0)
    sums = weights.sum(dim=-1)
    torch.testing.assert_close(sums, torch.ones_like(sums))
    say("rows sum to 1, and every weight above the diagonal is exactly 0")

    with mistake("build the mask for block_size 8, then use it on a 5-token batch"):
        ss.apply_mask(scores, ss.causal_mask(8))  # shapesafe: ignore
    fix("slice it, causal_mask(8)[:seq, :seq], or build it for seq")
    with mistake("use a float 0/1 triangle as the mask"):
        ss.apply_mask(scores, ss.tril(ones))


if __name__ == "__main__":
    heading(__doc__)
    main()
