"""An unannotated helper read from its body with the caller's shapes takes only the branch
that the call's constants decide: `f(x, flag=False)`, or a constant default left unset.
A flag the body rebinds, or that `*args`/`**kwargs` may set, decides nothing."""

from pathlib import Path

import pytest
import torch

from shapesafe._static import check_file
from shapesafe.shapes import shapes_of

SOURCE = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn


def pair(x, flag=True, extra=None):
    if extra is None:
        extra = x
    out = x + extra
    if flag:
        return out, None
    else:
        return out


def kind(x, mode="sum"):
    if mode == "sum":
        return x.sum(-1)
    elif mode is None or not mode:
        return x
    return x.unsqueeze(0)


def rebound(x, flag=True):
    flag = not flag
    if flag:
        return x.sum(-1)
    return x


def looped(x, flag=True):
    for _ in range(2):
        if flag:
            return x.sum(-1)
        flag = False
    return x


class Model(nn.Module):
    def residual(self, embed, flag=True):
        if flag:
            return embed, None
        return embed

    def forward(self, x: Float[Tensor, "b s d"], opts: dict) -> Float[Tensor, "b s d"]:
        y = BODY
        return x
"""


def shape_and_findings(tmp_path: Path, body: str) -> tuple[tuple[str, ...] | None, list[str]]:
    path = tmp_path / "flags.py"
    path.write_text(SOURCE.replace("BODY", body))
    found = [b for b in shapes_of(path) if b.name == "y"]
    shape = found[0].shape if found else None
    return shape, [f"{f.line}: {f.message}" for f in check_file(path)]


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        ("pair(x)[0]", ("b", "s", "d")),
        ("pair(x, flag=False)", ("b", "s", "d")),
        ("pair(x, False)", ("b", "s", "d")),
        ("self.residual(x)[0]", ("b", "s", "d")),
        ("self.residual(x, False)", ("b", "s", "d")),
        ("kind(x)", ("b", "s")),
        ('kind(x, mode="sum")', ("b", "s")),
        ("kind(x, None)", ("b", "s", "d")),
        ('kind(x, "")', ("b", "s", "d")),
        ('kind(x, "max")', (1, "b", "s", "d")),
    ],
)
def test_the_calls_constants_pick_the_branch(
    tmp_path: Path, body: str, shape: tuple[object, ...]
) -> None:
    assert shape_and_findings(tmp_path, body) == (tuple(str(s) for s in shape), [])


@pytest.mark.parametrize(
    "body",
    [
        "pair(x, opts['flag'])",  # not a constant
        "pair(x, **opts)",  # may set flag
        "pair(x, *[False])",  # may set flag
        "rebound(x)",  # rebinds it before the test
        "looped(x)",  # rebinds it in a loop around the test
    ],
)
def test_unknown_or_rebound_flags_decide_nothing(tmp_path: Path, body: str) -> None:
    shape, findings = shape_and_findings(tmp_path, body)
    # Both branches run: a tensor and a tuple join to nothing, two ranks to a run.
    assert shape in (None, ("b", "s", "...")) and findings == []


def test_a_decided_branch_is_checked_against_the_annotation(tmp_path: Path) -> None:
    path = tmp_path / "use.py"
    path.write_text(
        SOURCE.replace("BODY", "x")
        + """

def use(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
    return kind(x, "max")


def fine(x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
    return kind(x, "")
"""
    )
    assert [f"{f.line}: {f.message}" for f in check_file(path)] == [
        """51: return of use(): kind(x, "max") "1 b s d" has 4 dims, expected 3 for 'return' "b s d\""""
    ]


def test_torch_agrees() -> None:
    x = torch.zeros(2, 3, 4)
    assert (x + x).shape == (2, 3, 4)
    assert x.sum(-1).shape == (2, 3)
    assert x.unsqueeze(0).shape == (1, 2, 3, 4)


UNION = """\
from typing import Union

import einops
import torch
from jaxtyping import Float
from torch import Tensor


def loss(
    logits: Float[Tensor, "batch pos d"], per_token: bool = False
) -> Union[Float[Tensor, ""], Float[Tensor, "batch pos"]]:
    out = logits[..., :-1, 0]
    if per_token:
        return out
    return out.sum()


def use(items: list, d: int) -> None:
    x = torch.zeros(3, len(items), d)
    y = einops.repeat(x, "b p d -> b (2 p) d")
    z = loss(y, per_token=True)
    w = loss(y)
"""


def test_a_flag_picks_the_alternative_of_a_union_return(tmp_path: Path) -> None:
    # The body's `pos-1`, in the caller's `2*?`, is a size not known: not a crash.
    path = tmp_path / "union.py"
    path.write_text(UNION)
    shapes = {b.name: b.shape for b in shapes_of(path)}
    assert (shapes["z"], shapes["w"]) == (("3", "2*?"), ())
    assert check_file(path) == []


PLAIN = """\
import torch
from jaxtyping import Float
from torch import Tensor


def helper(k: int, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    picked = torch.where(mask[None], hidden, -torch.inf)
    return torch.zeros_like(picked)


def total(x: Tensor) -> Tensor:
    return x.sum(-1)


def shaped(x: Float[Tensor, "b n"], y: torch.Tensor) -> torch.Tensor:
    return y.sum(-1)


class Tensor2:
    pass


def other(x: Tensor2):
    return x


def use(h: Float[Tensor, "b n"], m: Float[Tensor, "n"]) -> None:
    y = helper(3, h, m)
    z = helper(k=3, hidden=h, mask=m)
    w = total(h)
    u = shaped(h, m)
    v = other(h)
"""


def test_plain_tensor_parameters_take_the_callers_shapes(tmp_path: Path) -> None:
    # A parameter annotated `Tensor` takes any shape: the body is read with the one given.
    path = tmp_path / "plain.py"
    path.write_text(PLAIN)
    shapes = {b.name: b.shape for b in shapes_of(path)}
    assert (shapes["y"], shapes["z"], shapes["w"]) == (("b", "n"), ("b", "n"), ("b",))
    # Beside a shaped parameter, a body that gives nothing under its own annotations is
    # read with every shape the call gives; a class that is not torch's Tensor is not a
    # tensor of any shape.
    assert (shapes["u"], shapes.get("v")) == ((), None)
    assert check_file(path) == []
