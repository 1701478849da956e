"""Reductions over chosen axes (`sum`, `mean`, `max`, `argmax`) and `softmax(x, dim)`."""

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn

Shape = tuple[int, ...]

REDUCTIONS = [
    pytest.param(ss.sum, torch.sum, id="sum"),
    pytest.param(ss.mean, torch.mean, id="mean"),
    pytest.param(ss.max, torch.amax, id="max"),
]


@pytest.mark.parametrize(("op", "reference"), REDUCTIONS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_by_index_and_by_name(
    op: Callable[..., Any], reference: Callable[..., Any], keepdim: bool
) -> None:
    x = randn(2, 3, 4)
    assert_close(op(x, 1, keepdim), reference(x, dim=1, keepdim=keepdim))
    assert_close(op(x, -1, keepdim=keepdim), reference(x, dim=-1, keepdim=keepdim))
    assert_close(op(x, (0, 2), keepdim), reference(x, dim=(0, 2), keepdim=keepdim))
    by_name = op(x, "batch seq embed -> batch embed", keepdim=keepdim)
    assert_close(by_name, reference(x, dim=1, keepdim=keepdim))
    assert_close(op(x, "b s e -> s", keepdim), reference(x, dim=(0, 2), keepdim=keepdim))


@pytest.mark.parametrize(("op", "reference"), REDUCTIONS)
def test_gradients(op: Callable[..., Any], reference: Callable[..., Any]) -> None:
    x = randn(2, 3, 4, grad=True)
    check_grads(op(x, 1), [x])


def test_sum_of_a_bool_mask_counts_as_torch_does() -> None:
    mask = torch.tensor([[True, False, True], [False, False, True]])
    assert_close(ss.sum(mask, -1), torch.tensor([2, 1]))


def test_argmax() -> None:
    logits = randn(2, 5, 11)
    assert_close(ss.argmax(logits, -1), logits.argmax(-1))
    assert_close(ss.argmax(logits, "b s vocab -> b s", keepdim=True), logits.argmax(-1, True))
    with pytest.raises(ValueError, match=re.escape("argmax(): reduces one axis, got 'b s v -> b'")):
        ss.argmax(logits, "b s v -> b")


def test_mean_of_integers_is_a_dtype_error() -> None:
    err = expect_shape_error(ss.mean, (torch.arange(6).reshape(2, 3), 1), "x")
    assert str(err).splitlines()[0] == "mean(): argument 'x' has dtype int64, expected Float"


def test_a_dim_past_the_last_axis() -> None:
    err = expect_shape_error(ss.mean, (randn(2, 3, 4), 3), "x")
    assert str(err).splitlines()[0] == (
        "mean(): argument 'x' has 3 dims (2, 3, 4), expected at least 4 for \"_ _ _ dim ...\""
    )
    assert str(err).splitlines()[-1] == (
        "hint: 'x' has 3 axes, 0 to 2 (or -3 to -1 from the end): dim counts past them, "
        "or 'x' lacks an axis"
    )
    expect_shape_error(ss.sum, (randn(2, 3), -3), "x")
    expect_shape_error(ss.sum, (torch.tensor(1.0), 0), "x")


def test_a_pattern_checks_the_rank() -> None:
    # A single example where a batch was expected: by index, this would average embed.
    err = expect_shape_error(ss.mean, (randn(5, 8), "batch seq embed -> batch embed"), "x")
    assert str(err).splitlines()[0] == (
        "mean(): argument 'x' has 2 dims (5, 8), expected 3 for \"batch seq embed\""
    )


def test_max_over_an_empty_axis() -> None:
    err = expect_shape_error(ss.max, (torch.empty(2, 0, 3), 1), "x", "reduced")
    assert str(err).splitlines()[0] == (
        "max(): argument 'x' dim 'reduced' is 0 at x.shape[1], expected at least 1 "
        "(max over an empty axis has no value)"
    )
    err = expect_shape_error(ss.argmax, (torch.empty(2, 0), "b v -> b"), "x", "v")


@pytest.mark.parametrize(
    ("dim", "message"),
    [
        pytest.param((), "sum(): dim is an empty tuple; name the axes to reduce", id="empty"),
        pytest.param((1, -2), "sum(): dim (1, -2) names an axis twice", id="twice"),
        pytest.param(True, "sum(): dim must be an int", id="bool"),
        pytest.param("b s e", "sum(): a pattern looks like 'b s e -> b e'", id="no-arrow"),
        pytest.param("b s e -> b s e", "sum(): 'b s e -> b s e' reduces no axis", id="nothing"),
        pytest.param("b s e -> e b", "sum(): the right side of 'b s e -> e b'", id="reorder"),
        pytest.param("b b e -> e", "sum(): a dim name repeats in 'b b e -> e'", id="repeat"),
        pytest.param("b s 3 -> b", "sum(): '3' in 'b s 3 -> b' is not a dim name", id="number"),
    ],
)
def test_bad_dims_are_value_errors(dim: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ss.sum(randn(2, 3, 4), dim)


def test_softmax_over_another_axis() -> None:
    x = randn(2, 3, 4)
    assert_close(ss.softmax(x), x.softmax(-1))
    assert_close(ss.softmax(x, dim=1), x.softmax(1))
    assert_close(ss.softmax(x, -3), x.softmax(0))
    expect_shape_error(ss.softmax, (x, 3), "x")
    with pytest.raises(ValueError, match=re.escape("softmax(): dim must be an int, got bool")):
        ss.softmax(x, True)


shapes = st.lists(st.integers(1, 3), max_size=4).map(tuple)


@pytest.mark.parametrize(("op", "reference"), REDUCTIONS)
@settings(max_examples=40, deadline=None)
@given(
    shape=shapes,
    dims=st.lists(st.integers(-5, 4), min_size=1, max_size=2, unique=True),
    keepdim=st.booleans(),
)
def test_reductions_over_shapes(
    op: Callable[..., Any],
    reference: Callable[..., Any],
    shape: Shape,
    dims: list[int],
    keepdim: bool,
) -> None:
    x = torch.randn(shape)
    dim = dims[0] if len(dims) == 1 else tuple(dims)
    rank = len(shape)
    in_range = rank >= 1 and all(-rank <= d < rank for d in dims)
    if in_range and len({d % rank for d in dims}) == len(dims):
        assert_close(op(x, dim, keepdim), reference(x, dim=dim, keepdim=keepdim))
    elif in_range:
        with pytest.raises(ValueError):
            op(x, dim, keepdim)
    else:
        with pytest.raises(ss.ShapeError):
            op(x, dim, keepdim)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, dim=st.integers(-5, 4))
def test_softmax_over_shapes(shape: Shape, dim: int) -> None:
    x = torch.randn(shape)
    if len(shape) >= 1 and -len(shape) <= dim < len(shape):
        assert_close(ss.softmax(x, dim), x.softmax(dim))
    else:
        with pytest.raises(ss.ShapeError):
            ss.softmax(x, dim)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 3), max_size=3).map(tuple), dim=st.integers(-4, 3))
def test_argmax_over_shapes(shape: Shape, dim: int) -> None:
    x = torch.randn(shape)
    if len(shape) >= 1 and -len(shape) <= dim < len(shape) and shape[dim] > 0:
        assert_close(ss.argmax(x, dim), x.argmax(dim))
    else:
        with pytest.raises(ss.ShapeError):
            ss.argmax(x, dim)
