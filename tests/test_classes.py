"""`checked` on classes follows `jaxtyped`: a dataclass gets its `__init__` (so its fields)
checked, any class is returned itself, and `typing.no_type_check` is honoured."""

import dataclasses
import typing
from typing import Any

import pytest
import torch
from jaxtyping import Float, Int
from torch import Tensor

import shapesafe
from shapesafe import ShapeError, checked


@checked
@dataclasses.dataclass
class Batch:
    tokens: Int[Tensor, "batch seq"]
    mask: Float[Tensor, "batch seq"]
    scale: float = 1.0


@checked
@dataclasses.dataclass(frozen=True)
class Frozen:
    """Like an `equinox.Module`: frozen, fields set by the generated `__init__`."""

    weight: Float[Tensor, "out in_"]
    bias: Float[Tensor, " out"]

    def __call__(self, x: Float[Tensor, " in_"]) -> Float[Tensor, " out"]:
        return self.weight @ x + self.bias


def test_a_checked_dataclass_is_the_class_itself() -> None:
    assert isinstance(Batch, type)
    b = Batch(torch.zeros(2, 5, dtype=torch.int64), torch.ones(2, 5))
    assert b.tokens.shape == (2, 5)
    assert dataclasses.is_dataclass(b)
    assert [f.name for f in dataclasses.fields(Batch)] == ["tokens", "mask", "scale"]


def test_a_dataclass_checks_its_fields_together() -> None:
    with pytest.raises(ShapeError, match=r"Batch.__init__\(\): argument 'mask' dim 'seq'"):
        Batch(torch.zeros(2, 5, dtype=torch.int64), torch.ones(2, 6))
    with pytest.raises(ShapeError, match="argument 'tokens'"):
        Batch(torch.zeros(2, 5), torch.ones(2, 5))  # float ids
    bad: Any = "big"
    with pytest.raises(ShapeError, match="argument 'scale' is str, expected float"):
        Batch(torch.zeros(2, 5, dtype=torch.int64), torch.ones(2, 5), bad)


def test_a_frozen_dataclass_twice_with_the_same_shapes() -> None:
    for _ in range(2):  # a miss, then a hit
        m = Frozen(torch.randn(3, 4), torch.randn(3))
        torch.testing.assert_close(m(torch.ones(4)), m.weight @ torch.ones(4) + m.bias)
    with pytest.raises(ShapeError, match="argument 'bias' dim 'out'"):
        Frozen(torch.randn(3, 4), torch.randn(4))


def test_a_plain_class_is_returned_unchanged() -> None:
    class Plain:
        def __init__(self, x: Float[Tensor, " n"]) -> None:
            self.x = x

    init = Plain.__init__
    assert checked(Plain) is Plain
    assert Plain.__init__ is init


def test_decorating_a_dataclass_twice_wraps_its_init_once() -> None:
    init = Batch.__init__
    assert checked(Batch) is Batch
    assert Batch.__init__ is init


def test_no_type_check_on_a_dataclass_is_honoured() -> None:
    @checked
    @typing.no_type_check
    @dataclasses.dataclass
    class Loose:
        x: Float[Tensor, " n"]

    Loose(torch.zeros(2, 2))  # nothing checked


def test_no_type_check_over_checked_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    def f(x: Float[Tensor, " n"], y: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return x

    g = typing.no_type_check(checked(f))
    out = g(torch.zeros(2), torch.zeros(3))  # not checked
    assert out.shape == (2,)
    assert len(g.__shapesafe__.cache) == 0  # type: ignore[attr-defined]


def test_checked_rejects_what_is_neither_function_nor_class() -> None:
    with pytest.raises(TypeError, match="expected a function, method or class, got int"):
        checked(3)  # type: ignore[arg-type]


def test_classes_under_mode_off() -> None:
    with shapesafe.mode("off"):
        b = Batch(torch.zeros(2, 5), torch.ones(2, 6))  # not checked
    assert b.mask.shape == (2, 6)
