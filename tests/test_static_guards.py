"""The static checker on guard functions (`_guards.carry_guards`): a call statement of a
function that gives back nothing returns only where the `assert`s and `if ...: raise` checks
its body runs on every path held, so what they equate (in the caller's sizes) is known after
the call, as if written there. A guard that checks something else, or only on some paths,
says nothing of the sizes, and the finding stays."""

from pathlib import Path

import pytest

from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


SCORE = """\
def score(
    pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]
) -> Float[Tensor, "*b pts"]:
    {call}
    return pts.norm(dim=-1) * weights
"""

MISMATCH = (
    'pts.norm(dim=-1) * weights: pts.norm(dim=-1) "*b pts" and weights "*b k": pts '
    "lines up with k (torch would broadcast silently where one is 1, and fail otherwise)"
)

RAISES = """\
def _same_count(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:
    if pts.shape[-2] != weights.shape[-1]:
        raise ValueError("one weight per point")
"""

LOCALS = """\
def _same_count(pts, weights):
    n = pts.shape[-2]
    m = weights.size(-1)
    assert n == m, "one weight per point"
"""

CHAIN = """\
def _same_count(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:
    if pts.ndim < 2:
        raise ValueError("points need an axis")
    elif weights.shape[-1] != pts.shape[-2]:
        raise ValueError("one weight per point")
"""

NESTED = """\
def _same_count(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:
    assert pts.shape[-1] == 3
    _counts_agree(pts.shape[-2], weights.shape[-1])


def _counts_agree(a: int, b: int) -> None:
    assert a == b
"""


@pytest.mark.parametrize(
    "guard",
    [RAISES, LOCALS, CHAIN, NESTED],
    ids=["if-raise", "through-locals", "elif-chain", "guard-of-a-guard"],
)
def test_a_guard_that_equates_the_sizes_is_no_finding(tmp_path: Path, guard: str) -> None:
    source = guard + "\n\n" + SCORE.format(call="_same_count(pts, weights)")
    assert check(tmp_path, source) == []


def test_a_guard_with_its_arguments_named_is_no_finding(tmp_path: Path) -> None:
    source = RAISES + "\n\n" + SCORE.format(call="_same_count(weights=weights, pts=pts)")
    assert check(tmp_path, source) == []


@pytest.mark.parametrize(
    "guard",
    [
        # It checks the last axis, not the count: nothing says pts == k.
        'def _same_count(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:\n'
        "    if pts.shape[-1] != 3:\n"
        '        raise ValueError("xyz")\n',
        # Only where `strict` is true.
        'def _same_count(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"],'
        " strict: bool = False) -> None:\n"
        "    if strict:\n"
        "        if pts.shape[-2] != weights.shape[-1]:\n"
        '            raise ValueError("one weight per point")\n',
        # Not on the path that returns early.
        'def _same_count(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:\n'
        "    if pts.numel() == 0:\n"
        "        return\n"
        "    assert pts.shape[-2] == weights.shape[-1]\n",
        # A generator's body does not run at the call.
        'def _same_count(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]):\n'
        "    assert pts.shape[-2] == weights.shape[-1]\n"
        "    yield pts\n",
    ],
    ids=["checks-another-size", "under-a-flag", "after-an-early-return", "generator"],
)
def test_a_guard_that_does_not_equate_them_leaves_the_finding(tmp_path: Path, guard: str) -> None:
    source = guard + "\n\n" + SCORE.format(call="_same_count(pts, weights)")
    assert check(tmp_path, source) == [f"{guard.count(chr(10)) + 7}: {MISMATCH}"]


METHOD = """\
class Scorer(nn.Module):
    def _check(self, pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:
        assert pts.shape[-2] == weights.shape[-1], "one weight per point"

    def forward(
        self, pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]
    ) -> Float[Tensor, "*b pts"]:
        self._check(pts, weights)
        return pts.norm(dim=-1) * weights
"""


def test_a_method_guard_is_no_finding(tmp_path: Path) -> None:
    assert check(tmp_path, METHOD) == []


def test_a_method_guard_a_subclass_overrides_leaves_the_finding(tmp_path: Path) -> None:
    loose = (
        "\n\nclass Loose(Scorer):\n"
        '    def _check(self, pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"])'
        " -> None:\n"
        "        pass\n"
    )
    assert check(tmp_path, METHOD + loose) == [f"9: {MISMATCH}"]


def test_a_guard_of_an_attribute_holds_for_the_caller(tmp_path: Path) -> None:
    source = """\
class Mix(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width
        self.scale = nn.Parameter(torch.ones(width))

    def _check(self, x: Float[Tensor, "b e"]) -> None:
        if x.shape[-1] != self.width:
            raise ValueError("wrong width")

    def forward(self, x: Float[Tensor, "b e"], y: Float[Tensor, "b f"]) -> Float[Tensor, "b e"]:
        self._check(x)
        self._check(y)
        return x * self.scale + y
"""
    assert check(tmp_path, source) == []


def test_a_guard_makes_no_finding_of_its_own_in_the_caller(tmp_path: Path) -> None:
    # The guard's own mistake is reported once, where it is written.
    source = """\
def _check(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:
    assert (pts.norm(dim=-1) + weights).shape[-1] == weights.shape[-1]


def score(pts: Float[Tensor, "*b pts 3"], weights: Float[Tensor, "*b k"]) -> None:
    _check(pts, weights)
    _check(pts, weights)
"""
    found = check(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("2: pts.norm(dim=-1) + weights")
