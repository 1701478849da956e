"""The matrix-vector product: row-wise, and as a linear combination of the columns."""

import torch
from _show import fix, heading, mistake, same, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    a = torch.randn(3, 4)
    x = torch.randn(4)
    show("A", a, "m n")
    show("x", x, "n")
    y = ss.matvec(a, x)
    show("matvec(A, x)", y, "m", "(m, n) times (n,) gives (m,)")

    say("")
    say("view 1, row-wise: y[i] is the dot product of row i with x")
    rows = torch.stack([ss.dot(a[i], x) for i in range(a.shape[0])])
    for i in range(a.shape[0]):
        show(f"dot(A[{i}], x)", ss.dot(a[i], x), "")
    same("stacked row dots", rows, y)

    say("")
    say("view 2, column-wise: y is x[0] * column 0 + x[1] * column 1 + ...")
    combo = torch.zeros(a.shape[0])
    for j in range(a.shape[1]):
        term = ss.scale(float(x[j]), a[:, j])
        show(f"x[{j}] * A[:, {j}]", term, "m")
        combo = ss.add(combo, term)
    same("sum of scaled columns", combo, y)
    say("so A @ x lives in the span of A's columns: a linear layer mixes its columns")

    with mistake("multiply A by a vector of length m instead of n"):
        ss.matvec(a, y)  # shapesafe: ignore
    with mistake("pass a batch of vectors (batch, n) to matvec"):
        ss.matvec(a, torch.randn(2, 4))  # shapesafe: ignore
    fix("for a batch, use matmul(X, A.T) or linear(X, A): one row per vector")


if __name__ == "__main__":
    heading(__doc__)
    main()
