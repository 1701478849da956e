"""The matrix-matrix product rules: inner dims must match, the result takes the outer dims."""

import torch
from _show import fix, heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    say("(m, n) @ (n, p) -> (m, p): the inner n's meet and vanish, the outer m, p remain")
    a = torch.randn(2, 3)
    b = torch.randn(3, 4)
    show("A", a, "m n")
    show("B", b, "n p")
    ab = ss.matmul(a, b)
    show("A @ B", ab, "m p")
    same("(A @ B)[i, j]", ab[1, 2], ss.dot(a[1], b[:, 2]))
    say("entry (i, j) is the dot of row i of A with column j of B")

    say("")
    say("transposing a product reverses it: (A @ B).T == B.T @ A.T")
    show("B.T @ A.T", ss.matmul(ss.transpose(b), ss.transpose(a)), "p m")
    same("(A @ B).T", ss.transpose(ab), ss.matmul(ss.transpose(b), ss.transpose(a)))

    say("")
    say("leading batch dims ride along: one product per batch entry")
    xa = torch.randn(2, 5, 3)
    xb = torch.randn(2, 3, 4)
    show("X", xa, "batch m n")
    show("Y", xb, "batch n p")
    show("X @ Y", ss.matmul(xa, xb), "batch m p")

    say("")
    say("attention scores: queries (s, d) against keys (t, d) need K transposed")
    q = torch.randn(5, 4)
    k = torch.randn(6, 4)
    show("Q", q, "s d")
    show("K.T", ss.transpose(k), "d t")
    show("Q @ K.T", ss.matmul(q, ss.transpose(k)), "s t")

    with mistake("compute Q @ K without the transpose"):
        ss.matmul(q, k)  # shapesafe: ignore
    with mistake("multiply a batch (batch, seq, embed) by a weight (embed, out) with matmul"):
        ss.matmul(torch.randn(2, 5, 4), torch.randn(4, 3))  # shapesafe: ignore
    fix("matmul never broadcasts the batch: linear(x, W.T) shares one weight across rows")


if __name__ == "__main__":
    heading(__doc__)
    main()
