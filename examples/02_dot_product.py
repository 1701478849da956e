"""Element-wise product vs dot product: the dot product as similarity, as in q.k."""

import torch
from _show import heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    q = torch.randn(8)
    k = q + 0.3 * torch.randn(8)
    other = torch.randn(8)
    show("q", q, "d")
    show("k (close to q)", k, "d")
    show("other (random)", other, "d")

    say("")
    say("element-wise (Hadamard): one product per position, same shape out")
    prod = ss.hadamard(q, k)
    show("hadamard(q, k)", prod, "d")
    say("dot product: multiply position by position, then add up: one number")
    show("dot(q, k)", ss.dot(q, k), "")
    same("dot == hadamard(q, k).sum", ss.dot(q, k), prod.sum())

    say("")
    say("the dot product measures similarity: large when two vectors point the same way")
    show("dot(q, k)", ss.dot(q, k), "", "similar")
    show("dot(q, other)", ss.dot(q, other), "", "unrelated")
    cos = ss.dot(ss.normalize(q), ss.normalize(k))
    show("cosine(q, k)", cos, "", "dot of unit vectors, in [-1, 1]")

    say("")
    say("attention takes the dot of every query with every key: Q @ K.T")
    queries = torch.randn(5, 8)
    keys = torch.randn(6, 8)
    show("Q", queries, "s d")
    show("K", keys, "t d")
    scores = ss.matmul(queries, ss.transpose(keys))
    show("Q @ K.T", scores, "s t", "scores[i, j] = dot(Q[i], K[j])")
    same("scores[1, 2]", scores[1, 2], ss.dot(queries[1], keys[2]))

    say("")
    column = torch.randn(4, 1)
    row = torch.randn(4)
    show("plain torch: (4, 1) * (4,)", column * row, "n n", "silently broadcast to 16 products!")
    with mistake("multiply a (4, 1) column by a (4,) vector"):
        ss.hadamard(column, row)  # shapesafe: ignore
    with mistake("dot a query of head_dim 4 with a key of embed 8"):
        ss.dot(q[:4], k)  # shapesafe: ignore


if __name__ == "__main__":
    heading(__doc__)
    main()
