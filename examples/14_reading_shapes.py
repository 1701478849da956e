"""Reading shapes without running: `shapesafe shapes` lists what the static checker infers."""

import contextlib
import io
from pathlib import Path

import torch
from _show import fix, heading, mistake, say, show
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss
from shapesafe import check

HERE = Path(__file__).resolve()


@ss.checked
def self_attention(
    x: Float[Tensor, "batch seq embed"], w_qkv: Float[Tensor, "3*embed embed"], heads: int
) -> Float[Tensor, "batch seq embed"]:
    qkv = ss.linear(x, w_qkv)
    q, k, v = qkv.chunk(3, dim=-1)
    q = ss.split_heads(q, heads)
    k = ss.split_heads(k, heads)
    v = ss.split_heads(v, heads)
    scores = q @ k.mT
    weights = scores.softmax(dim=-1)
    mixed = weights @ v
    return ss.merge_heads(mixed)  # shapesafe: ignore (heads*head_dim is embed)


def main() -> None:
    torch.manual_seed(0)
    say("$ shapesafe shapes examples/14_reading_shapes.py:self_attention")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        check.main(["shapes", f"{HERE}:self_attention"])
    for line in out.getvalue().splitlines():
        say(f"  {line}")

    say("")
    say("each statement is followed by a comment per tensor name it binds, in dim names:")
    say("- a parameter has the dims its annotation names: x is (batch, seq, embed)")
    say("- linear(x, w_qkv) takes out_features from the weight: (batch, seq, 3*embed)")
    say("- ?heads, ?head_dim: sizes that split_heads's contract names but the code doesn't give")
    say("- ?: a size with no name: q's ?heads and k's come from two calls, so the checker")
    say("  can't prove them equal, and q @ k.mT broadcasts them")
    say("- a shape it can't know reads `unknown (...)`, with where it was lost")
    say("no tensor was made: the listing reads the annotations, as `shapesafe check` does")

    say("")
    batch, seq, embed, heads = 2, 5, 8, 2
    x = torch.randn(batch, seq, embed)
    w_qkv = torch.randn(3 * embed, embed) / embed**0.5
    show("x", x, "batch seq embed")
    show("w_qkv", w_qkv, "3*embed embed")
    show("self_attention(x, w_qkv, 2)", self_attention(x, w_qkv, heads), "batch seq embed")

    with mistake("pass the weight as (in, out), as if x @ w_qkv"):
        self_attention(x, w_qkv.mT, heads)  # shapesafe: ignore
    fix("the listing says it: w_qkv is (3*embed, embed), out_features first, as linear wants")
    with mistake("call it on one sequence, without a batch axis"):
        self_attention(x[0], w_qkv, heads)  # shapesafe: ignore
    fix("x[0:1] or x[0].unsqueeze(0) keeps a batch of one")


if __name__ == "__main__":
    heading(__doc__)
    main()
