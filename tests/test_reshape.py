"""split_heads, merge_heads, repeat_kv and the named permute."""

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


def test_split_heads_layout() -> None:
    x = randn(2, 5, 12)
    heads = ss.split_heads(x, 3)
    assert heads.shape == (2, 3, 5, 4)
    assert_close(heads, x.view(2, 5, 3, 4).transpose(1, 2))
    assert_close(heads[:, 1], x[..., 4:8])


def test_merge_heads_inverts_split_heads() -> None:
    x = randn(2, 5, 12, grad=True)
    back = ss.merge_heads(ss.split_heads(x, 4))
    assert_close(back, x)
    check_grads(back, [x])


def test_permute_by_name() -> None:
    x = randn(2, 3, 4, 5)
    assert_close(ss.permute(x, "b s h d -> b h s d"), x.permute(0, 2, 1, 3))
    assert_close(ss.permute(x, "a b c d -> d c b a"), x.permute(3, 2, 1, 0))


@pytest.mark.parametrize(
    ("op", "args", "argument", "dim"),
    [
        pytest.param(ss.split_heads, (randn(2, 5, 30), 4), "x", "embed", id="heads-do-not-divide"),
        pytest.param(ss.split_heads, (randn(2, 5, 3, 4), 3), "x", None, id="already-split"),
        pytest.param(ss.split_heads, (randn(2, 5, 12), "3"), "num_heads", None, id="heads-string"),
        pytest.param(ss.merge_heads, (randn(2, 5, 12),), "x", None, id="merge-unsplit"),
        pytest.param(
            ss.permute, (randn(2, 3, 4), "b s h d -> b h s d"), "x", None, id="permute-rank"
        ),
    ],
)
def test_errors_name_the_argument(
    op: Callable[..., Any], args: tuple[Any, ...], argument: str, dim: str | None
) -> None:
    expect_shape_error(op, args, argument, dim)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        pytest.param("b s h d", "pattern must look like", id="no-arrow"),
        pytest.param("b s -> s b -> b s", "pattern must look like", id="two-arrows"),
        pytest.param(
            "b s h -> b s d", r"only on the left: \['h'\], only on the right: \['d'\]", id="renamed"
        ),
        pytest.param("b b h -> b h b", "repeats", id="repeated"),
        pytest.param("b 2 h -> b h 2", "is not a dim name", id="number"),
    ],
)
def test_permute_pattern_mistakes_are_value_errors(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ss.permute(randn(2, 3, 4), pattern)


def test_split_heads_bad_head_counts() -> None:
    with pytest.raises(ValueError, match="num_heads must be >= 1"):
        ss.split_heads(randn(2, 3, 4), 0)
    with pytest.raises(ValueError, match="num_heads must be >= 1, got -2"):
        ss.split_heads(randn(2, 3, 4), -2)
    assert ss.split_heads(torch.zeros(1, 1, 4), 4).shape == (1, 4, 1, 1)


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_split_qkv_is_gpt2s_layout(heads: int) -> None:
    x = randn(2, 5, 3 * 8)
    q, k, v = ss.split_qkv(x, heads)
    # GPT-2 / nanoGPT: split the c_attn output in three along the last axis, then heads.
    parts = (x[..., :8], x[..., 8:16], x[..., 16:])
    for got, part in zip((q, k, v), parts, strict=True):
        assert got.shape == (2, heads, 5, 8 // heads)
        torch.testing.assert_close(got, part.reshape(2, 5, heads, 8 // heads).transpose(1, 2))
        torch.testing.assert_close(got, ss.split_heads(part, heads))


def test_split_qkv_on_a_non_contiguous_input() -> None:
    x = randn(5, 2, 24).transpose(0, 1)
    q, _, _ = ss.split_qkv(x, 2)
    torch.testing.assert_close(q, ss.split_heads(x[..., :8].contiguous(), 2))


@pytest.mark.parametrize(
    ("shape", "heads", "headline", "hint"),
    [
        pytest.param(
            (2, 5, 25),
            2,
            "split_qkv(): argument 'x' dim 'fused' is 25 at x.shape[2], expected a multiple of 3",
            None,
            id="not-three-parts",
        ),
        pytest.param(
            (2, 5, 24),
            3,
            "split_qkv(): argument 'x' dim 'fused' is 24 at x.shape[2], expected a multiple of "
            "3*num_heads=9",
            "num_heads must divide embed=8: one of [1, 2, 4, 8]",
            id="heads-do-not-divide",
        ),
    ],
)
def test_split_qkv_errors(
    shape: tuple[int, ...], heads: int, headline: str, hint: str | None
) -> None:
    with pytest.raises(ss.ShapeError) as info:
        ss.split_qkv(randn(*shape), heads)
    assert str(info.value).startswith(headline)
    assert info.value.argument == "x" and info.value.dim == "fused"
    assert info.value.hint == hint


def test_split_qkv_wants_batch_seq_fused() -> None:
    expect_shape_error(ss.split_qkv, (randn(5, 24), 2), "x")


def test_repeat_kv_is_repeat_interleave_on_heads() -> None:
    x = randn(2, 3, 5, 4)
    out = ss.repeat_kv(x, 4)
    assert out.shape == (2, 12, 5, 4)
    assert_close(out, x.repeat_interleave(4, dim=1))
    assert ss.repeat_kv(x, 1) is x


def test_repeat_kv_gradients() -> None:
    x = randn(1, 2, 3, 4, grad=True)
    check_grads(ss.repeat_kv(x, 3), [x])


@pytest.mark.parametrize("n_rep", [0, -1])
def test_repeat_kv_count_is_a_value_error(n_rep: int) -> None:
    with pytest.raises(ValueError, match=re.escape("repeat_kv(): n_rep must be >= 1")):
        ss.repeat_kv(randn(1, 2, 3, 4), n_rep)


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 3), max_size=5).map(tuple), n_rep=st.integers(1, 3))
def test_repeat_kv_shapes(shape: tuple[int, ...], n_rep: int) -> None:
    x = torch.randn(shape)
    if len(shape) >= 3:
        assert_close(ss.repeat_kv(x, n_rep), x.repeat_interleave(n_rep, dim=-3))
    else:
        with pytest.raises(ss.ShapeError):
            ss.repeat_kv(x, n_rep)
