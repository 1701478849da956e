"""A user's module called inside another: its output takes the sizes the instance was made
with (`Linear(d_model, d_key)` gives `... d_key`), read from the body of its forward, also
where its contract starts with `...`."""

from pathlib import Path

import pytest
import torch
from torch import nn

from shapesafe._static import check_file
from shapesafe.shapes import shapes_of

LINEAR = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn


class Linear(nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(size=(out_features, in_features)))

    def forward(self, x: Float[Tensor, "... in_features"]) -> Float[Tensor, "... out_features"]:
        return torch.einsum("...i,oi->...o", x, self.weight)


class Two(nn.Module):
    def __init__(self, d_model: int, d_key: int, d_value: int) -> None:
        super().__init__()
        self.q = Linear(d_model, d_key)
        self.k = Linear(in_features=d_model, out_features=d_key)
        self.v = Linear(d_model, d_value)

    def forward(self, x: Float[Tensor, "... s d_model"]) -> Float[Tensor, "... s d_model"]:
        y = BODY
        return x
"""


def shape_and_findings(tmp_path: Path, body: str) -> tuple[tuple[str, ...] | None, list[str]]:
    path = tmp_path / "made.py"
    path.write_text(LINEAR.replace("BODY", body))
    found = [b for b in shapes_of(path) if b.name == "y"]
    shape = found[0].shape if found else None
    return shape, [f"{f.line}: {f.message}" for f in check_file(path)]


def test_output_takes_the_size_the_instance_was_made_with(tmp_path: Path) -> None:
    assert shape_and_findings(tmp_path, "self.q(x)") == (("...", "s", "d_key"), [])
    assert shape_and_findings(tmp_path, "self.q(x) + self.k(x)") == (("...", "s", "d_key"), [])


def test_two_instances_of_different_sizes(tmp_path: Path) -> None:
    shape, findings = shape_and_findings(tmp_path, "self.q(x) + self.v(x)")
    assert shape is None
    assert findings == [
        '23: self.q(x) + self.v(x): self.q(x) "... s d_key" and self.v(x) "... s d_value": '
        "d_key lines up with d_value (torch would broadcast silently where one is 1, and fail "
        "otherwise; holds only if d_key == d_value, and nothing here says they are equal)"
    ]


@pytest.mark.parametrize("body", ["self.q(x.mT)", "self.q(torch.zeros(3))", "self.q(*[x])"])
def test_unknown_or_odd_input_gives_no_guess(tmp_path: Path, body: str) -> None:
    shape, _ = shape_and_findings(tmp_path, body)
    assert shape is None or "d_key" not in shape[:-1]


def test_torch_agrees() -> None:
    q, v = nn.Linear(4, 6), nn.Linear(4, 5)
    x = torch.zeros(2, 3, 4)
    assert q(x).shape == (2, 3, 6)
    with pytest.raises(RuntimeError):
        q(x) + v(x)


OPTIONAL = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn


class Keep(nn.Module):
    def forward(self, x: Float[Tensor, "... s d"]) -> Float[Tensor, "... s d"]:
        return x


class Net(nn.Module):
    def __init__(self, use: bool) -> None:
        super().__init__()
        if use:
            self.keep = Keep()
        else:
            self.keep = None
        self.off = None

    def forward(self, x: Float[Tensor, "b s d"], m: Float[Tensor, "s s"]) -> Float[Tensor, "b s d"]:
        if self.keep is not None:
            x = self.keep(x)
        y = BODY
        return x
"""


@pytest.mark.parametrize(
    ("body", "shape", "findings"),
    [
        # Keep's forward gives back its x: the run of its `...` is the call's b.
        pytest.param("self.keep(x)", ("b", "s", "d"), [], id="module-or-none"),
        pytest.param(
            "self.keep(x) @ m",
            None,
            [
                '23: self.keep(x) @ m: inner dim is d in self.keep(x) "b s d" but s in m "s s" '
                "(holds only if d == s, and nothing here says they are equal)"
            ],
            id="module-or-none-misused",
        ),
        pytest.param("self.off", None, [], id="only-none-stays-unknown"),
    ],
)
def test_attribute_that_is_a_module_or_none(
    tmp_path: Path, body: str, shape: tuple[str, ...] | None, findings: list[str]
) -> None:
    path = tmp_path / "optional.py"
    path.write_text(OPTIONAL.replace("BODY", body))
    found = [b for b in shapes_of(path) if b.name == "y"]
    assert (found[0].shape if found else None) == shape
    assert [f"{f.line}: {f.message}" for f in check_file(path)] == findings


NAMED = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn


class Probe(nn.Module):
    def __init__(self, n_latents: int, n_classes: int, width: int) -> None:
        super().__init__()
        self.n_latents, self.n_classes, self.width = n_latents, n_classes, width

    def loss(self, x: Float[Tensor, "n n_latents"]) -> Float[Tensor, "n_latents n_classes"]:
        return BODY
"""


@pytest.mark.parametrize(
    ("body", "findings"),
    [
        pytest.param("torch.zeros((self.n_latents, self.n_classes))", [], id="sizes-in-order"),
        pytest.param(
            "torch.zeros((self.n_classes, self.n_latents))",
            [
                "12: return of loss(): dim 'n_latents' is n_latents in x \"n n_latents\" but "
                'n_classes in torch.zeros((self.n_classes, self.n_l... "n_classes n_latents"'
            ],
            id="sizes-swapped",
        ),
        # `width` names no dim here: a size the instance was made with, equal to the first
        # size it must be (`n_classes`).
        pytest.param("torch.zeros((self.n_latents, self.width))", [], id="no-dim-of-that-name"),
    ],
)
def test_attribute_named_as_a_dim_is_that_dim(
    tmp_path: Path, body: str, findings: list[str]
) -> None:
    path = tmp_path / "named.py"
    path.write_text(NAMED.replace("BODY", body))
    assert [f"{f.line}: {f.message}" for f in check_file(path)] == findings
