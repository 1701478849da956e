"""Idioms of small from-scratch transformer code: helpers annotated with a shape that says
nothing (`Float[Tensor, "..."]`) give what their bodies give, an in-place op keeps its
target's shape, `float("-inf")` is a number, `w.T @ x` with x "... n", a return dim
that its class holds a size of by name, `x.squeeze(d)` of a named size (of unknown rank), einsum with
an operand of unknown shape, `torch.arange(0, n, 1)`, and a helper given a tuple of sizes."""

from pathlib import Path

from shapesafe._static import check_file

HEAD = """\
import torch
from jaxtyping import Bool, Float
from torch import Tensor


def softmax(x: Float[Tensor, "..."], dim: int = -1) -> Float[Tensor, "..."]:
    shifted = x - x.max(dim=dim, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)
"""


def check(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "m.py"
    path.write_text(HEAD + body)
    return [f.message for f in check_file(path)]


def test_a_helper_annotated_with_any_shape_gives_its_bodys_shape(tmp_path: Path) -> None:
    body = """

def attend(
    q: Float[Tensor, "b s d"], k: Float[Tensor, "b s d"], v: Float[Tensor, "b s e"]
) -> Float[Tensor, "b s e"]:
    weights = softmax(q @ k.transpose(-1, -2))
    return v @ weights


def attend_right(
    q: Float[Tensor, "b s d"], k: Float[Tensor, "b s d"], v: Float[Tensor, "b s e"]
) -> Float[Tensor, "b s e"]:
    weights = softmax(q @ k.transpose(-1, -2), dim=-1)
    return weights @ v
"""
    assert check(tmp_path, body) == [
        'v @ weights: inner dim is e in v "b s e" but s in weights "b s s" '
        "(holds only if e == s, and nothing here says they are equal)"
    ]


def test_the_int_a_helper_is_given_is_the_dim_it_reduces(tmp_path: Path) -> None:
    body = """

def total(x: Float[Tensor, "..."], dim=-1) -> Float[Tensor, "..."]:
    return x.sum(dim=dim)


def wrong(x: Float[Tensor, "b n"]) -> Float[Tensor, "b"]:
    return total(x, 0)


def right(x: Float[Tensor, "b n"]) -> Float[Tensor, "b"]:
    return total(x) + total(x, dim=1) + total(x, -1)
"""
    assert check(tmp_path, body) == [
        'return of wrong(): dim \'b\' is b in x "b n" but n in total(x, 0) "n"'
    ]


def test_an_in_place_op_keeps_the_targets_shape(tmp_path: Path) -> None:
    body = """

def attend(
    q: Float[Tensor, "b s d"],
    k: Float[Tensor, "b s d"],
    v: Float[Tensor, "b s e"],
    mask: Bool[Tensor, "s s"],
) -> Float[Tensor, "b s e"]:
    scores = q @ k.transpose(-1, -2)
    scores += torch.where(mask, torch.zeros_like(mask), torch.ones_like(mask) * float("-inf"))
    return v @ scores
"""
    assert check(tmp_path, body) == [
        'v @ scores: inner dim is e in v "b s e" but s in scores "b s s" '
        "(holds only if e == s, and nothing here says they are equal)"
    ]


def test_a_matrix_times_a_stack_of_unknown_rank(tmp_path: Path) -> None:
    body = """

def wrong(x: Float[Tensor, "... i"], w: Float[Tensor, "o i"]) -> Float[Tensor, "... o"]:
    return w.T @ x


def vector(x: Float[Tensor, "... o"], w: Float[Tensor, "o i"]) -> Float[Tensor, "... i"]:
    return w.T @ x
"""
    assert check(tmp_path, body) == [
        'return of wrong(): dim \'o\' is o in w "o i" but i in w.T @ x "... i i"'
    ]


def test_a_return_dim_the_class_holds_is_that_size(tmp_path: Path) -> None:
    body = """

class Linear(torch.nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(out_features, in_features))

    def forward(self, x: Float[Tensor, "... in_features"]) -> Float[Tensor, "... out_features"]:
        return self.weight.T @ x

    def right(self, x: Float[Tensor, "... in_features"]) -> Float[Tensor, "... out_features"]:
        return x @ self.weight.T
"""
    assert check(tmp_path, body) == [
        "return of forward(): dim 'out_features' is out_features in the annotation "
        '"... out_features" but in_features in self.weight.T @ x "... in_features in_features"'
    ]


def test_squeeze_of_a_named_size_is_of_unknown_rank(tmp_path: Path) -> None:
    # `squeeze(0)` of "batch view c h w": right where the caller built a batch of one, which
    # the checker may not follow, so the rank is unknown and the call stays silent.
    body = """

def psnr(x: Float[Tensor, "c h w"], y: Float[Tensor, "c h w"]) -> Float[Tensor, ""]: ...


def score(color: Float[Tensor, "batch view c h w"], gt: Float[Tensor, "c h w"]) -> Float[Tensor, ""]:
    return psnr(color.squeeze(0).squeeze(0), gt)
"""
    assert check(tmp_path, body) == []
    literal = body.replace('"batch view c h w"]', '"1 1 c h w"]').replace("gt)", "gt[0])")
    found = check(tmp_path, literal)
    assert len(found) == 1 and "gt[0]" in found[0] and "has 2 dims, expected 3" in found[0]


def test_einsum_with_an_operand_of_unknown_shape(tmp_path: Path) -> None:
    body = """
import einops


def wrong(x: Float[Tensor, "... s p j"], r) -> Float[Tensor, "... s p i"]:
    return einops.einsum(r, x, "... s p i j, ... s p j -> ... p s i")


def right(x: Float[Tensor, "... s p j"], r) -> Float[Tensor, "... s p i"]:
    return einops.einsum(r, x, "... s p i j, ... s p j -> ... s p i")
"""
    assert check(tmp_path, body) == [
        "return of wrong(): dim 'p' is p in x \"... s p j\" but s in "
        'einops.einsum(r, x, "... s p i j, ...... "... p s ?i"'
    ]


def test_arange_with_a_step_of_one(tmp_path: Path) -> None:
    body = """

def wrong(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
    return x + torch.arange(0, x.shape[2], 1)[None, :, None]


def right(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
    return x + torch.arange(0, x.shape[1], 1)[None, :, None]
"""
    assert check(tmp_path, body) == [
        'x + torch.arange(0, x.shape[2], 1)[None, ...: x "b s d" and '
        'torch.arange(0, x.shape[2], 1)[None, ... "1 d 1": s lines up with d '
        "(torch would broadcast silently where one is 1, and fail otherwise)"
    ]


def test_a_helper_given_a_tuple_of_sizes_makes_a_tensor_of_them(tmp_path: Path) -> None:
    body = """
from collections.abc import Sequence


def make(size: Sequence[int], std: float = 1.0) -> Tensor:
    return torch.nn.init.trunc_normal_(torch.empty(size), std=std)


class Linear(torch.nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(data=make(size=(out_features, in_features)))

    def forward(self, x: Float[Tensor, "... in_features"]) -> Float[Tensor, "... out_features"]:
        return x @ self.weight
"""
    assert check(tmp_path, body) == [
        'x @ self.weight: inner dim is in_features in x "... in_features" but out_features '
        'in self.weight "out_features in_features"; did you mean self.weight.mT?'
    ]
