"""Checked binary dunders (`__mul__`, `__add__`, ...): beartype lets them return
`NotImplemented`, and a rejected argument is blamed, not the return value the body never made."""

import re
from typing import Union

import pytest
import torch
from beartype import beartype
from jaxtyping import Float, jaxtyped
from torch import Tensor

import shapesafe
from shapesafe import ShapeError


class Scaled:
    @shapesafe.checked
    def __mul__(self, other: Union[float, Float[Tensor, "n n"]]) -> Float[Tensor, "n n"]:  # noqa: UP007
        return torch.as_tensor(other) * torch.ones(2, 2)

    @shapesafe.checked
    def __add__(self, other: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return other + 1


class Declining:
    @shapesafe.checked
    def __sub__(self, other: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return NotImplemented


class DecliningReference:
    @jaxtyped(typechecker=beartype)
    def __sub__(self, other: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return NotImplemented


def test_a_rejected_union_argument_is_blamed_not_the_return() -> None:
    union = "Union[float, Float[Tensor, 'n n']]"
    expected = f"Scaled.__mul__(): argument 'other' is tensor (3,) float32, expected {union}"
    with pytest.raises(ShapeError, match=re.escape(expected)):
        Scaled() * torch.zeros(3)


def test_a_rejected_tensor_argument_draws_no_return_row() -> None:
    with pytest.raises(ShapeError) as caught:
        Scaled() + torch.zeros(2, 3)
    message = str(caught.value)
    assert message.startswith("Scaled.__add__(): argument 'other' has 2 dims (2, 3)")
    assert "return" not in message


def test_accepted_calls_return_what_the_body_returns() -> None:
    torch.testing.assert_close(Scaled() * 2.0, torch.full((2, 2), 2.0))
    torch.testing.assert_close(Scaled() + torch.zeros(3), torch.ones(3))


def test_not_implemented_is_accepted_as_under_jaxtyped_beartype() -> None:
    vector = torch.zeros(3)
    assert DecliningReference().__sub__(vector) is NotImplemented
    assert Declining().__sub__(vector) is NotImplemented
