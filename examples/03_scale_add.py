"""Scaling and adding matrices, and the residual connection."""

import torch
from _show import heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    a = torch.randn(3, 4)
    b = torch.randn(3, 4)
    show("A", a, "m n")
    show("B", b, "m n")
    show("scale(2.0, A)", ss.scale(2.0, a), "m n", "every entry times 2")
    show("add(A, B)", ss.add(a, b), "m n", "entry by entry")
    show("sub(A, B)", ss.sub(a, b), "m n")
    same(
        "2(A + B) == 2A + 2B",
        ss.scale(2.0, ss.add(a, b)),
        ss.add(ss.scale(2.0, a), ss.scale(2.0, b)),
    )

    say("")
    say("a transformer adds each sublayer's output back onto its input: x + f(x)")
    x = torch.randn(2, 5, 8)
    w_up = torch.randn(32, 8)
    w_down = torch.randn(8, 32)
    show("x", x, "batch seq embed")
    hidden = ss.linear(x, w_up)
    show("hidden = linear(x, W_up)", hidden, "batch seq hidden")
    f_x = ss.linear(hidden, w_down)
    show("f(x) = linear(., W_down)", f_x, "batch seq embed")
    show("x + f(x)", ss.add(x, f_x), "batch seq embed", "the residual keeps the shape")

    with mistake("add the MLP's hidden layer back onto x (forgot W_down)"):
        ss.add(x, hidden)  # shapesafe: ignore

    say("")
    pred = torch.randn(4, 1)
    target = torch.randn(4)
    show("prediction", pred, "batch one", "a model's output column")
    show("target", target, "batch")
    show("plain torch: pred - target", pred - target, "batch batch", "silently (4, 4): wrong loss!")
    with mistake("subtract a (batch,) target from a (batch, 1) prediction"):
        ss.sub(pred, target)  # shapesafe: ignore


if __name__ == "__main__":
    heading(__doc__)
    main()
