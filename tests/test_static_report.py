"""The wording of the static checker's findings (`_static/_report.py`): a size the checker
cannot name prints as `?`, never as `_` (which a jaxtyping spec reads as an unchecked dim),
and a finding that shows one says what it stands for."""

import re
from pathlib import Path

import pytest

from shapesafe._static import check_file
from shapesafe._static._report import with_legend
from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float, Int
from torch import Tensor

def loss(logits: Float[Tensor, "*batch c"], targets: Int[Tensor, "*batch"]) -> Float[Tensor, ""]:
    return logits.sum()
"""

STATIC = Path(__file__).resolve().parent / "static"
CORPUS = sorted(STATIC.glob("*.py")) + sorted((STATIC / "models").glob("*.py"))
# `_` as a size in a message: alone, or between spaces, quotes and parentheses.
_BARE = re.compile(r"(?<![\w.\[])_(?![\w\]])")


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


def test_a_run_of_unknown_sizes_is_told_by_its_length(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, 'n m'], b: Float[Tensor, 'p q r'], k):\n"
        "    logits = b.reshape(k, k, k, k)\n"
        "    targets = a.reshape(k, k)\n"
        "    return loss(logits, targets)\n"
    )
    assert check(tmp_path, source) == [
        "4: loss(logits, targets): '*batch' is 3 dims in logits \"? ? ? ?\" but 2 dims in "
        'targets "? ?" (? is an unknown size)',
    ]


def test_an_unknown_pinned_to_an_unknown_makes_no_note(tmp_path: Path) -> None:
    # The first axis of both is unknown: "? is ? from targets" would say nothing.
    source = (
        "def f(a: Float[Tensor, 'n m'], b: Float[Tensor, 'p q r'], k):\n"
        "    logits = b.reshape(k, 2, 3, 4)\n"
        "    targets = a.reshape(k, 5)\n"
        "    return loss(logits, targets)\n"
    )
    assert check(tmp_path, source) == [
        "4: loss(logits, targets): dim '*batch[1]' is 2 in logits \"? 2 3 4\" but 5 in "
        'targets "? 5" (? is an unknown size)',
    ]


def test_an_unknown_named_by_the_callee_keeps_its_name_and_note(tmp_path: Path) -> None:
    source = (
        "def mask(n: int) -> Float[Tensor, 'seq seq']:\n"
        "    return torch.ones(n, n)\n"
        "def apply(scores: Float[Tensor, 'b q k'], m: Float[Tensor, 'q k']) -> None:\n"
        "    pass\n"
        "def f(scores: Float[Tensor, 'b s t'], n) -> None:\n"
        "    apply(scores, mask(n))\n"
    )
    assert check(tmp_path, source) == [
        "6: apply(scores, mask(n)): dim 'k' is t in scores \"b s t\" but s in mask(n) "
        '"?seq ?seq" (?seq is s from scores)',
    ]


def test_a_rank_finding_shows_unknown_sizes_as_question_marks(tmp_path: Path) -> None:
    source = (
        "def g(a: Float[Tensor, 'n m'], k) -> Float[Tensor, 'n']:\n    return a.reshape(k, k, 2)\n"
    )
    assert check(tmp_path, source) == [
        "2: return of g(): a.reshape(k, k, 2) \"? ? 2\" has 3 dims, expected 1 for 'return' "
        '"n" (? is an unknown size)',
    ]


@pytest.mark.parametrize(
    ("message", "legend"),
    [
        pytest.param('x "? d" has 2 dims', True, id="unknown-axis"),
        pytest.param('m "?seq ?seq"', False, id="named-unknown"),
        pytest.param("did you mean w.mT?", False, id="question"),
        pytest.param('x "b d"; did you mean (x)?', False, id="question-after-paren"),
    ],
)
def test_the_legend_comes_with_a_bare_question_mark_only(message: str, legend: bool) -> None:
    assert with_legend(message) == message + (" (? is an unknown size)" if legend else "")


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_no_corpus_finding_prints_an_underscore_size(path: Path) -> None:
    for finding in check_file(path):
        shapes = re.findall(r'"[^"]*"|\([^()]*\)', finding.message)
        assert not [s for s in shapes if _BARE.search(s)], finding.message
