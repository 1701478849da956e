"""Norms: L1 and L2 per row, and normalization as in layer norm."""

import torch
from _show import fix, heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8)
    show("x", x, "batch seq embed")
    show("l1_norm(x)", ss.l1_norm(x), "batch seq", "sum of |x|, one per token")
    show("l2_norm(x)", ss.l2_norm(x), "batch seq", "length, one per token")
    unit = ss.normalize(x)
    show("normalize(x)", unit, "batch seq embed", "each token scaled to length 1")
    same("l2_norm(normalize(x))", ss.l2_norm(unit), torch.ones(2, 3))

    say("")
    say("layer norm: per token, subtract the mean and divide by the standard deviation")
    mean = x.mean(dim=-1, keepdim=True)
    show("mean (keepdim=True)", mean, "batch seq one")
    centered = ss.sub(x, mean.expand_as(x))
    show("x - mean", centered, "batch seq embed", "expand first: no silent broadcasts")
    var = centered.pow(2).mean(dim=-1, keepdim=True)
    show("variance", var, "batch seq one")
    normed = ss.hadamard(centered, torch.rsqrt(var + 1e-5).expand_as(x))
    show("(x - mean) / std", normed, "batch seq embed")
    weight, bias = torch.ones(8), torch.zeros(8)
    show("layer_norm weight", weight, "embed", "learned scale, one per feature")
    same("layer_norm(x, w, b)", ss.layer_norm(x, weight, bias), normed)

    with mistake("subtract a mean taken without keepdim"):
        ss.sub(x, x.mean(dim=-1))  # shapesafe: ignore
    fix("keep the reduced axis: x.mean(dim=-1, keepdim=True).expand_as(x)")
    with mistake("use a layer_norm weight sized for another model width"):
        ss.layer_norm(x, torch.ones(16), torch.zeros(16))  # shapesafe: ignore


if __name__ == "__main__":
    heading(__doc__)
    main()
