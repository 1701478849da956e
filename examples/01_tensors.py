"""Scalars, vectors, matrices and higher-rank tensors: rank and shape."""

import torch
from _show import heading, mistake, say, show

import shapesafe as ss


def main() -> None:
    torch.manual_seed(0)
    say("rank = how many axes; shape = the size of each axis; each axis has a name")
    show("scalar, rank 0", torch.tensor(0.5), "")
    token = torch.randn(8)
    show("vector, rank 1", token, "embed", "one token's embedding")
    sentence = torch.randn(5, 8)
    show("matrix, rank 2", sentence, "seq embed", "one sentence of 5 tokens")
    x = torch.randn(2, 5, 8)
    show("rank-3 tensor", x, "batch seq embed", "2 sentences: the running example")
    heads = x.reshape(2, 5, 2, 4).transpose(1, 2)
    show("rank-4 tensor", heads, "batch heads seq head_dim", "attention's view of x")

    say("")
    say("indexing removes axes from the left")
    show("x[0]", x[0], "seq embed", "the first sentence")
    show("x[0, 1]", x[0, 1], "embed", "its second token")
    show("x[0, 1, 2]", x[0, 1, 2], "", "one number")
    show("x[:, -1]", x[:, -1], "batch embed", "the last token of each sentence")
    show("x[:, -1:]", x[:, -1:], "batch seq embed", "a slice keeps the axis (size 1)")

    say("")
    say("text enters as integer token ids; an embedding table turns each into a vector")
    ids = torch.randint(0, 50, (2, 5))
    show("token ids", ids, "batch seq", "int64")
    table = torch.randn(50, 8)
    show("embedding table", table, "vocab embed")
    show("table[ids]", table[ids], "batch seq embed")

    with mistake("feed the token ids to softmax before embedding them"):
        ss.softmax(ids)
    with mistake("take a dot product of a whole sentence with one embedding"):
        ss.dot(sentence, token)  # shapesafe: ignore


if __name__ == "__main__":
    heading(__doc__)
    main()
