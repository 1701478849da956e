"""A `(b, 1)` against a `(b,)` broadcasts silently into `(b, b)`: a finding, unless the
expression made the 1 itself (`ids[:, None] == ids`, `x.unsqueeze(1) * x`,
`rearrange(x, "i -> i 1")`), which is how code builds a table on purpose."""

from pathlib import Path

import pytest

from tests.test_static_rules import check_source


@pytest.mark.parametrize(
    "expr",
    [
        "torch.arange(n)[:, None] == torch.arange(n)",
        "torch.arange(n).unsqueeze(1) == torch.arange(n)",
        "einops.rearrange(torch.arange(n), 'i -> i 1') == torch.arange(n)",
        "einops.rearrange(torch.arange(n), 'i -> i ()') < torch.arange(n)",
    ],
)
def test_a_table_built_on_purpose_is_silent(tmp_path: Path, expr: str) -> None:
    source = f"import einops\n\n\ndef table(n: int) -> Tensor:\n    return ({expr}).float()\n"
    assert check_source(tmp_path, source) == []


def test_a_prediction_of_width_one_against_its_targets_is_a_finding(tmp_path: Path) -> None:
    source = (
        "def loss(pred: Float[Tensor, 'b 1'], target: Float[Tensor, ' b']) -> Tensor:\n"
        "    return ((pred - target) ** 2).mean()\n"
    )
    assert check_source(tmp_path, source) == [
        '6: pred - target: target "b" against pred "b 1": b lines up with the 1, so torch '
        'would broadcast silently to "b b"'
    ]
