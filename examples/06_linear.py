"""The linear layer: the (out, in) weight, why it is transposed, and the bias."""

import torch
from _show import heading, mistake, same, say, show

import shapesafe as ss
import shapesafe.nn


def main() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16)
    layer = torch.nn.Linear(16, 32)
    w, b = layer.weight.detach(), layer.bias.detach()
    show("x", x, "batch seq in")
    show("nn.Linear(16, 32).weight", w, "out in", "one row per output feature")
    show("nn.Linear(16, 32).bias", b, "out")
    say("each output is a row of W dotted with the input, so y = x @ W.T + b")

    say("")
    say("step by step: flatten the batch, multiply by W.T, add the bias, unflatten")
    flat = x.reshape(-1, 16)
    show("x.reshape(-1, 16)", flat, "rows in", "rows = batch * seq")
    show("W.T", ss.transpose(w), "in out")
    prod = ss.matmul(flat, ss.transpose(w))
    show("x @ W.T", prod, "rows out")
    biased = ss.add(prod, b.expand(10, 32))
    show("+ b (expanded to rows)", biased, "rows out")
    y = biased.reshape(2, 5, 32)
    show("reshape back", y, "batch seq out")

    say("")
    say("linear() does it in one checked call, over any leading dims")
    show("linear(x, W, b)", ss.linear(x, w, b), "batch seq out")
    same("torch's nn.Linear", ss.linear(x, w, b), layer(x).detach())
    checked_layer = shapesafe.nn.Linear(16, 32)
    checked_layer.load_state_dict(layer.state_dict())
    same("shapesafe.nn.Linear", checked_layer(x).detach(), y)

    with mistake("pass W.T, as in the math books' x @ W, to linear()"):
        ss.linear(x, w.T, b)  # shapesafe: ignore
    with mistake("give a Linear(16, 32) input with 15 features"):
        checked_layer(torch.randn(2, 5, 15))  # shapesafe: ignore
    with mistake("use a bias sized for the input (16,) instead of the output (32,)"):
        ss.linear(x, w, torch.zeros(16))  # shapesafe: ignore


if __name__ == "__main__":
    heading(__doc__)
    main()
