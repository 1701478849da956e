"""Identity and diagonal matrices: the "do nothing" transform, and diagonal scaling."""

import math

import torch
from _show import fix, grid, heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    x = torch.randn(5, 4)
    show("x", x, "seq d")
    eye = ss.identity(4)
    show("identity(4)", eye, "d d")
    grid("", eye)
    same("x @ I", ss.matmul(x, eye), x)
    same("identity(5) @ x", ss.matmul(ss.identity(5), x), x)
    say("on the right I must be (d, d); on the left (seq, seq): it matches the axis it meets")

    say("")
    say("a diagonal matrix scales each axis on its own: column j of x times v[j]")
    v = torch.tensor([1.0, 2.0, 3.0, 4.0])
    show("v", v, "d")
    d = ss.diag(v)
    show("diag(v)", d, "d d")
    grid("", d)
    scaled = ss.matmul(x, d)
    show("x @ diag(v)", scaled, "seq d")
    same("hadamard(x, v per row)", ss.hadamard(x, v.expand(5, 4)), scaled)

    say("")
    say("attention divides scores by sqrt(d_k): a scalar times the identity")
    q = torch.randn(5, 4)
    k = torch.randn(6, 4)
    raw = ss.matmul(q, ss.transpose(k))
    show("q @ k.T", raw, "s t")
    c = 1 / math.sqrt(q.shape[-1])
    show("scale(1/sqrt(d), I)", ss.scale(c, ss.identity(6)), "t t", f"c = {c:.3f} on the diagonal")
    same("(q @ k.T) @ cI", ss.matmul(raw, ss.scale(c, ss.identity(6))), ss.scale(c, raw))
    same("attention_scores(q, k)", ss.attention_scores(q, k), ss.scale(c, raw))

    with mistake("multiply x (seq, d) by an identity sized for seq"):
        ss.matmul(x, ss.identity(5))  # shapesafe: ignore
    with mistake("call diag() on a matrix, expecting its diagonal back"):
        ss.diag(d)  # shapesafe: ignore  (the mistake this lesson shows)
    fix("diag(v) builds a matrix from a vector; torch.diagonal(M) reads one out")


if __name__ == "__main__":
    heading(__doc__)
    main()
