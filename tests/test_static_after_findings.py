"""What an elementwise op or a matmul gives after a finding: the shape it has wherever it
runs as meant, where the finding lined up a name with a literal (`d` against the 3 of
xyz): the name is taken as that literal. The code after it is checked on that shape, and
not blamed again for the same equality. Other findings leave the shape unknown."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations, static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
"""

OFFSETS = (
    "def shifted(p: Float[Tensor, 'n d'], o: Float[Tensor, 'k 3']) -> Tensor:\n"
    "    q = p[:, None, :] + o\n"
    "    out: Float[Tensor, '{want}'] = q.clamp(-1.0, 1.0)\n"
    "    return out\n"
)

BROADCAST = (
    '2: p[:, None, :] + o: p[:, None, :] "n 1 d" and o "k 3": d lines up with 3 (torch '
    "would broadcast silently where one is 1, and fail otherwise; holds only if d == 3, and "
    "nothing here says they are equal)"
)


def check(tmp_path: Path, source: str, stats: Stats | None = None) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats)


def test_a_name_against_a_literal_is_the_literal_after_the_finding(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, OFFSETS.format(want="n k 3"), stats) == [BROADCAST]
    assert annotated_relations(stats) == (1, 1)


def test_a_wrong_annotation_after_a_finding_is_a_finding_too(tmp_path: Path) -> None:
    assert check(tmp_path, OFFSETS.format(want="n 3 k")) == [
        BROADCAST,
        '3: out: dim \'3\' is k in q.clamp(-1.0, 1.0) "n k 3", expected 3 ("n 3 k")',
    ]


def test_the_same_equality_is_not_blamed_twice(tmp_path: Path) -> None:
    source = (
        "def loss(x: Float[Tensor, 'b c'], g: Float[Tensor, 'b 3']) -> Tensor:\n"
        "    target = (x - g).detach()\n"
        "    return ((x - target) ** 2).sum()\n"
    )
    assert check(tmp_path, source) == [
        '2: x - g: x "b c" and g "b 3": c lines up with 3 (torch would broadcast silently '
        "where one is 1, and fail otherwise; holds only if c == 3, and nothing here says "
        "they are equal)"
    ]


@pytest.mark.parametrize(
    ("want", "found"),
    [
        pytest.param("b m", [], id="right"),
        pytest.param(
            "b d",
            ['2: y: dim \'d\' is d in the annotation "b d" but m in x @ w "b m"'],
            id="wrong",
        ),
    ],
)
def test_a_matmul_after_its_finding_has_its_rows_and_columns(
    tmp_path: Path, want: str, found: list[str]
) -> None:
    source = (
        "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, '3 m']) -> None:\n"
        f"    y: Float[Tensor, '{want}'] = x @ w\n"
    )
    inner = (
        '2: x @ w: inner dim is d in x "b d" but 3 in w "3 m" (holds only if d == 3, and '
        "nothing here says they are equal)"
    )
    assert check(tmp_path, source) == [inner, *found]


@pytest.mark.parametrize(
    ("x", "y"),
    [
        pytest.param("b 4", "b 3", id="two-literals"),
        pytest.param("b s", "b d", id="two-names"),
        pytest.param("n s 1", "n s", id="axes-that-do-not-line-up"),
    ],
)
def test_other_findings_leave_the_shape_unknown(tmp_path: Path, x: str, y: str) -> None:
    stats = Stats()
    source = (
        f"def f(x: Float[Tensor, '{x}'], y: Float[Tensor, '{y}']) -> None:\n"
        f"    z: Float[Tensor, '{x}'] = x + y\n"
    )
    found = check(tmp_path, source, stats)
    assert len(found) == 1 and found[0].startswith(f'2: x + y: x "{x}" and y "{y}"')
    assert annotated_relations(stats) == (0, 1)
