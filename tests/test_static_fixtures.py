"""The static checker on tests that take pytest fixtures: a parameter named for a fixture of
the test's file holds what the fixture returns, as pytest passes it; not where the test's
class has a fixture of that name, a parametrize mark gives it, or the fixture yields."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import static_findings

HEADER = """\
import pytest
import torch
from jaxtyping import Float
from torch import Tensor


def norm(x: Float[Tensor, "b d"]) -> Float[Tensor, "b"]:
    return x.norm(dim=-1)

"""

# A fixture of a 1-D tensor, and a test that gives it to a function that takes two dims.
FIXTURE = """\
@pytest.fixture{mark}
def logits(){returns}:
    {body}
{decorator}def test_norm(logits: torch.Tensor) -> None:
    assert norm(logits).shape == (4,)
"""

_FOUND = '5: norm(logits): logits "4" has 1 dims, expected 2 for \'x\' "b d"'


def check(tmp_path: Path, source: str, stats: Stats | None = None) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats)


@pytest.mark.parametrize(
    ("mark", "returns", "body", "decorator", "expected"),
    [
        pytest.param("", "", "return torch.randn(4)", "", [_FOUND], id="fixture"),
        pytest.param(
            '(scope="module")',
            " -> torch.Tensor",
            "return torch.tensor([1.0, 3.0, 2.0, 0.5])",
            "",
            [_FOUND],
            id="fixture-with-a-scope",
        ),
        # What pytest passes is what it yields, not what a body returns.
        pytest.param("", "", "yield torch.randn(4)", "", [], id="a-fixture-that-yields"),
        pytest.param(
            "(params=[1, 2])", "", "return torch.randn(4)", "", [], id="a-fixture-with-params"
        ),
        pytest.param(
            "",
            "",
            "return torch.randn(4)",
            '@pytest.mark.parametrize("logits", [torch.randn(4, 2)])\n',
            [],
            id="parametrized-instead",
        ),
    ],
)
def test_a_parameter_named_for_a_fixture_holds_what_it_returns(
    tmp_path: Path, mark: str, returns: str, body: str, decorator: str, expected: list[str]
) -> None:
    source = FIXTURE.format(mark=mark, returns=returns, body=body, decorator=decorator)
    assert check(tmp_path, source) == expected


def test_a_fixture_of_the_right_shape_is_a_checked_relation(tmp_path: Path) -> None:
    source = (
        "@pytest.fixture\n"
        "def acts():\n"
        "    return torch.randn(4, 8)\n"
        "def test_norm(acts: torch.Tensor) -> None:\n"
        "    assert norm(acts).shape == (4,)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == []
    assert stats.annotated["argument"] == 1
    assert stats.unknown["argument of unknown shape"] == 0


def test_a_fixture_of_the_tests_class_is_its_own(tmp_path: Path) -> None:
    source = (
        "@pytest.fixture\n"
        "def logits():\n"
        "    return torch.randn(4)\n"
        "class TestNorm:\n"
        "    @pytest.fixture\n"
        "    def logits(self):\n"
        "        return torch.randn(4, 2)\n"
        "    def test_norm(self, logits: torch.Tensor) -> None:\n"
        "        assert norm(logits).shape == (4,)\n"
    )
    assert check(tmp_path, source) == []


def test_a_file_that_generates_tests_may_give_the_parameter(tmp_path: Path) -> None:
    source = (
        "def pytest_generate_tests(metafunc):\n"
        "    metafunc.parametrize('logits', [torch.randn(4, 2)])\n"
        + FIXTURE.format(mark="", returns="", body="return torch.randn(4)", decorator="")
    )
    assert check(tmp_path, source) == []
