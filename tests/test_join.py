"""`cat`, `stack` and the KV-cache append: values against torch, errors and hints."""

import re
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn

Shape = tuple[int, ...]
small = st.integers(0, 3)
shapes = st.lists(small, max_size=4).map(tuple)


def test_cat_and_stack_match_torch() -> None:
    a, b = randn(2, 3, 4), randn(2, 5, 4)
    assert_close(ss.cat([a, b], dim=1), torch.cat([a, b], dim=1))
    assert_close(ss.cat((a, b), dim=-2), torch.cat([a, b], dim=-2))
    assert_close(ss.cat([a]), a)
    assert_close(ss.stack([a, a, a], dim=-1), torch.stack([a, a, a], dim=-1))
    assert_close(ss.stack([a, a], dim=3), torch.stack([a, a], dim=3))


def test_cat_promotes_dtypes_as_torch_does() -> None:
    a, b = randn(2), randn(3, dtype=torch.float64)
    assert ss.cat([a, b]).dtype == torch.cat([a, b]).dtype == torch.float64


def test_gradients() -> None:
    a, b = randn(2, 3, grad=True), randn(2, 3, grad=True)
    check_grads(ss.cat([a, b], dim=0), [a, b])
    a.grad = b.grad = None
    check_grads(ss.stack([a, b], dim=1), [a, b])
    a.grad = b.grad = None
    check_grads(ss.kv_append(a[None], b[None]), [a, b])


def test_cat_message_blames_the_tensor_that_differs() -> None:
    err = expect_shape_error(ss.cat, ([randn(2, 4, 5, 8), randn(2, 4, 5, 7)], 2), "tensors[1]")
    assert str(err).splitlines()[0] == (
        "cat(): argument 'tensors[1]' dim 'd3' is 7 at tensors[1].shape[3], expected 8 "
        "(bound by tensors[0].shape[3])"
    )


def test_cat_of_an_empty_1d_tensor_with_anything_is_a_rank_error() -> None:
    # torch.cat takes a (0,) tensor next to any other: a leftover of an empty cache.
    expect_shape_error(ss.cat, ([torch.empty(0), randn(2, 3)],), "tensors[1]")


def test_stack_message() -> None:
    err = expect_shape_error(ss.stack, ([randn(2, 3), randn(2, 3), randn(3, 2)],), "tensors[2]")
    assert "*shape[0]" in str(err).splitlines()[0]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        pytest.param(lambda: ss.cat([]), ValueError, "cat(): tensors is empty", id="cat-empty"),
        pytest.param(
            lambda: ss.cat([randn(2)], dim=1),
            ValueError,
            "cat(): dim 1 is out of range for 1 dims (-1 to 0)",
            id="cat-dim-range",
        ),
        pytest.param(
            lambda: ss.stack([randn(2)], dim=-3),
            ValueError,
            "stack(): dim -3 is out of range for 2 dims (-2 to 1)",
            id="stack-dim-range",
        ),
        pytest.param(
            lambda: ss.cat([randn(2), [1.0]]),  # type: ignore[list-item]
            ss.ShapeError,
            "cat(): argument 'tensors[1]' is list, expected a tensor",
            id="cat-list-item",
        ),
        pytest.param(
            lambda: ss.cat([torch.tensor(1.0), torch.tensor(2.0)]),
            ss.ShapeError,
            "cat(): argument 'tensors[0]' has 0 dims (), expected at least 1",
            id="cat-scalars",
        ),
    ],
)
def test_bad_values(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call()


def test_device_mix_names_the_tensor() -> None:
    err = expect_shape_error(
        ss.cat, ([randn(2), randn(2), torch.randn(2, device="meta")],), "tensors[2]"
    )
    assert str(err).splitlines()[0] == (
        "cat(): argument 'tensors[2]' has device meta, expected cpu like 'tensors[0]'"
    )


@settings(max_examples=80, deadline=None)
@given(
    base=st.lists(small, min_size=0, max_size=3).map(tuple),
    others=st.lists(st.tuples(shapes, st.booleans()), min_size=0, max_size=2),
    dim=st.integers(-4, 3),
)
def test_cat_shapes(base: Shape, others: list[tuple[Shape, bool]], dim: int) -> None:
    rank = len(base)
    items = [base]
    for shape, related in others:
        if related and rank and -rank <= dim < rank:
            # Same shape except along dim.
            other = list(base)
            other[dim] = shape[0] if shape else 0
            shape = tuple(other)
        items.append(shape)
    tensors = [torch.randn(s) for s in items]
    if not -max(rank, 1) <= dim < max(rank, 1):
        with pytest.raises((ValueError, ss.ShapeError)):
            ss.cat(tensors, dim)
        return
    fits = rank >= 1 and all(
        len(s) == rank and all(s[i] == base[i] for i in range(rank) if i != dim % rank)
        for s in items
    )
    if fits:
        assert_close(ss.cat(tensors, dim), torch.cat(tensors, dim))
    else:
        with pytest.raises(ss.ShapeError):
            ss.cat(tensors, dim)


@settings(max_examples=60, deadline=None)
@given(
    shapes_=st.lists(
        st.sampled_from([(2, 3), (3, 2), (2,), (2, 3, 1), ()]), min_size=1, max_size=3
    ),
    dim=st.integers(-3, 2),
)
def test_stack_shapes(shapes_: list[Shape], dim: int) -> None:
    tensors = [torch.randn(s) for s in shapes_]
    rank = len(shapes_[0]) + 1
    if not -rank <= dim < rank:
        with pytest.raises((ValueError, ss.ShapeError)):
            ss.stack(tensors, dim)
    elif all(s == shapes_[0] for s in shapes_):
        assert_close(ss.stack(tensors, dim), torch.stack(tensors, dim))
    else:
        with pytest.raises(ss.ShapeError):
            ss.stack(tensors, dim)


def test_kv_append_grows_the_sequence_axis() -> None:
    cache, new = randn(2, 4, 7, 8), randn(2, 4, 1, 8)
    out = ss.kv_append(cache, new)
    assert_close(out, torch.cat([cache, new], dim=2))
    assert ss.kv_append(torch.empty(2, 4, 0, 8), new).shape == (2, 4, 1, 8)


def test_kv_append_new_keys_not_transposed_get_a_hint() -> None:
    # A decode step's keys straight from the projection: (batch, 1, heads, head_dim). The
    # generic hint would expand them to the cache's heads, which fits and is wrong.
    cache, new = randn(2, 4, 7, 8), randn(2, 1, 4, 8)
    err = expect_shape_error(ss.kv_append, (cache, new), "new")
    assert str(err).splitlines()[0] == (
        "kv_append(): argument 'new' dim '*batch[1]' is 1 at new.shape[1], expected 4 "
        "(bound by cache.shape[1])"
    )
    assert str(err).splitlines()[-1] == (
        "hint: 'new' looks like (batch, seq, heads, head_dim): the cache holds heads before "
        "seq, try new.transpose(-3, -2)"
    )
    assert "expand" not in str(err)


def test_kv_append_head_dim() -> None:
    expect_shape_error(ss.kv_append, (randn(2, 4, 7, 8), randn(2, 4, 1, 16)), "new", "head_dim")


@settings(max_examples=60, deadline=None)
@given(pair=st.tuples(shapes, shapes, st.booleans()))
def test_kv_append_shapes(pair: tuple[Shape, Shape, bool]) -> None:
    cache, new, related = pair
    if related and len(cache) >= 2 and new:
        new = (*cache[:-2], new[0], cache[-1])
    fits = len(cache) >= 2 and len(new) == len(cache) and cache[:-2] == new[:-2]
    fits = fits and cache[-1] == new[-1]
    a, b = torch.randn(cache), torch.randn(new)
    if fits:
        assert_close(ss.kv_append(a, b), torch.cat([a, b], dim=-2))
    else:
        with pytest.raises(ss.ShapeError):
            ss.kv_append(a, b)
