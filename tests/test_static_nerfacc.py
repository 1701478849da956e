"""nerfacc's `accumulate_along_rays`, as its documentation states it: one value per ray,
"n_rays D" for samples packed with their ray indices, "... D" for samples batched per
ray, with D 1 where no values are given."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations, static_findings

HEADER = """\
import nerfacc
from jaxtyping import Float, Int
from torch import Tensor


"""


def check(tmp_path: Path, source: str) -> tuple[list[str], Stats]:
    stats = Stats()
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats), stats


PACKED = """\
def render(
    w: Float[Tensor, "S"], rgb: Float[Tensor, "S 3"], ids: Int[Tensor, "S"], n: int
) -> Float[Tensor, "{want}"]:
    return nerfacc.accumulate_along_rays(w, values={values}, ray_indices=ids, n_rays=n)
"""


@pytest.mark.parametrize(
    ("values", "want", "found"),
    [
        pytest.param("rgb", "n 3", [], id="values"),
        pytest.param("None", "n 1", [], id="weights-alone"),
        pytest.param(
            "rgb",
            "n 1",
            [
                '4: return of render(): dim \'1\' is 3 in nerfacc.accumulate_along_rays(w, valu... "n 3", expected 1 ("n 1")'
            ],
            id="wrong-width",
        ),
        pytest.param(
            "None",
            "S 1",
            [
                "4: return of render(): dim 'S' is S in w \"S\" but n in "
                'nerfacc.accumulate_along_rays(w, valu... "n 1"'
            ],
            id="one-per-sample",
        ),
    ],
)
def test_packed_samples_give_one_value_per_ray(
    tmp_path: Path, values: str, want: str, found: list[str]
) -> None:
    got, stats = check(tmp_path, PACKED.format(values=values, want=want))
    assert got == found
    assert annotated_relations(stats) == (1, 1)


def test_batched_samples_sum_over_their_last_axis(tmp_path: Path) -> None:
    source = (
        "def render(w: Float[Tensor, 'R S'], rgb: Float[Tensor, 'R S 3']) -> Float[Tensor, 'R S']:\n"
        "    return nerfacc.accumulate_along_rays(w, values=rgb)\n"
    )
    got, _ = check(tmp_path, source)
    assert got == [
        "2: return of render(): dim 'S' is S in w \"R S\" but 3 in "
        'nerfacc.accumulate_along_rays(w, valu... "R 3" (holds only if S == 3, and nothing '
        "here says they are equal)"
    ]


def test_other_parameter_orders_are_not_read(tmp_path: Path) -> None:
    # Some versions take `ray_indices` second: a positional call is left unknown.
    source = (
        "def render(w: Float[Tensor, 'S'], ids: Int[Tensor, 'S']) -> Float[Tensor, 'S 7']:\n"
        "    return nerfacc.accumulate_along_rays(w, ids)\n"
    )
    got, stats = check(tmp_path, source)
    assert got == []
    assert annotated_relations(stats) == (0, 1)
