"""The transpose in backprop: gradient shapes equal parameter shapes."""

import torch
from _show import heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 3, requires_grad=True)
    w = torch.randn(2, 3, requires_grad=True)
    b = torch.randn(2, requires_grad=True)
    show("x", x, "batch in")
    show("W", w, "out in")
    show("b", b, "out")
    y = ss.linear(x, w, b)
    show("y = linear(x, W, b)", y, "batch out")
    loss = y.pow(2).sum()
    show("loss = (y ** 2).sum()", loss.detach(), "")
    torch.autograd.backward(loss)

    say("")
    say("autograd gives every parameter a gradient of exactly its own shape")
    assert w.grad is not None and b.grad is not None and x.grad is not None
    show("W.grad", w.grad, "out in", "same as W")
    show("b.grad", b.grad, "out", "same as b")
    show("x.grad", x.grad, "batch in", "same as x")

    say("")
    say("by hand: with dY = dloss/dy, the transposes come back in the backward pass")
    dy = ss.scale(2.0, y.detach())
    show("dY = 2y", dy, "batch out")
    dw = ss.matmul(ss.transpose(dy), x.detach())
    show("dW = dY.T @ x", dw, "out in", "(out, batch) @ (batch, in)")
    dx = ss.matmul(dy, w.detach())
    show("dx = dY @ W", dx, "batch in", "(batch, out) @ (out, in)")
    db = dy.sum(dim=0)
    show("db = dY summed over batch", db, "out")
    same("dW vs autograd", dw, w.grad)
    same("dx vs autograd", dx, x.grad)
    same("db vs autograd", db, b.grad)

    say("")
    say("a gradient step needs grad and parameter of the same shape")
    lr = 0.1
    show("W - lr * W.grad", ss.sub(w.detach(), ss.scale(lr, w.grad)), "out in")

    with mistake("compute dW as dY @ x, forgetting the transpose"):
        ss.matmul(dy, x.detach())  # shapesafe: ignore
    say("")
    wrong = ss.matmul(ss.transpose(x.detach()), dy)
    show("x.T @ dY", wrong, "in out", "a gradient of the wrong orientation")
    with mistake("take an SGD step with that (in, out) gradient"):
        ss.sub(w.detach(), ss.scale(lr, wrong))  # shapesafe: ignore


if __name__ == "__main__":
    heading(__doc__)
    main()
