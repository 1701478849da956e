"""Rotary embeddings: values against torch, errors and hints."""

import re

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn

Shape = tuple[int, ...]


def _rotate_by_complex(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """RoPE written another way: feature i and feature i + d/2 are one complex number,
    multiplied by `exp(1j * position * theta**(-2i/d))`."""
    d = x.shape[-1]
    freqs = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angles = positions.double()[..., None] * freqs  # (*batch, seq, d/2)
    pairs = torch.complex(x[..., : d // 2].double(), x[..., d // 2 :].double())
    turned = pairs * torch.polar(torch.ones_like(angles), angles).unsqueeze(-3)
    return torch.cat((turned.real, turned.imag), dim=-1).to(x.dtype)


def test_rope_matches_a_complex_rotation() -> None:
    q, k = randn(2, 4, 6, 8), randn(2, 2, 6, 8)
    positions = torch.arange(6)
    cos, sin = ss.rope_tables(positions, 8)
    assert cos.shape == sin.shape == (6, 8)
    q2, k2 = ss.apply_rope(q, k, cos, sin)
    assert_close(q2, _rotate_by_complex(q, positions, 10000.0))
    assert_close(k2, _rotate_by_complex(k, positions, 10000.0))


def test_rope_with_per_sequence_positions_and_another_theta() -> None:
    q, k = randn(2, 3, 5, 16), randn(2, 3, 5, 16)
    positions = torch.tensor([[0, 1, 2, 3, 4], [3, 4, 5, 6, 7]])  # the second left-padded
    cos, sin = ss.rope_tables(positions, 16, theta=500000.0)
    assert cos.shape == (2, 5, 16)
    q2, k2 = ss.apply_rope(q, k, cos, sin)
    assert_close(q2, _rotate_by_complex(q, positions, 500000.0))
    assert_close(k2, _rotate_by_complex(k, positions, 500000.0))


def test_rope_with_a_kv_cache_equals_rope_over_the_whole_sequence() -> None:
    # The new tokens' positions go on from the cache's length.
    q, k = randn(1, 2, 7, 8), randn(1, 2, 7, 8)
    whole_q, whole_k = ss.apply_rope(q, k, *ss.rope_tables(torch.arange(7), 8))
    past = 5
    step_q, step_k = ss.apply_rope(
        q[:, :, past:], k[:, :, past:], *ss.rope_tables(torch.arange(past, 7), 8)
    )
    assert_close(step_q, whole_q[:, :, past:])
    assert_close(step_k, whole_k[:, :, past:])


def test_rope_keeps_rotations_relative() -> None:
    # q.k after RoPE depends only on the distance between the two positions.
    q, k = randn(1, 1, 1, 8), randn(1, 1, 1, 8)

    def score(i: int, j: int) -> torch.Tensor:
        qi, _ = ss.apply_rope(q, q, *ss.rope_tables(torch.tensor([i]), 8))
        kj, _ = ss.apply_rope(k, k, *ss.rope_tables(torch.tensor([j]), 8))
        return (qi * kj).sum()

    assert_close(score(3, 1), score(10, 8))


def test_rope_tables_dtype_and_gradients() -> None:
    cos, sin = ss.rope_tables(torch.arange(4), 8, dtype=torch.bfloat16)
    assert cos.dtype == sin.dtype == torch.bfloat16
    q, k = randn(1, 2, 4, 8, grad=True), randn(1, 1, 4, 8, grad=True)
    q2, k2 = ss.apply_rope(q, k, *ss.rope_tables(torch.arange(4), 8))
    check_grads(q2.sum() + k2.sum(), [q, k])


def test_rotate_half() -> None:
    x = torch.arange(6.0)
    assert_close(ss.rotate_half(x), torch.tensor([-3.0, -4.0, -5.0, 0.0, 1.0, 2.0]))


@pytest.mark.parametrize(
    ("head_dim", "message"),
    [
        pytest.param(7, "rope_tables(): head_dim must be even, got 7", id="odd"),
        pytest.param(0, "rope_tables(): head_dim must be >= 2, got 0", id="zero"),
    ],
)
def test_rope_tables_head_dim_is_a_value_error(head_dim: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ss.rope_tables(torch.arange(3), head_dim)


def test_rope_tables_want_integer_positions() -> None:
    expect_shape_error(ss.rope_tables, (torch.arange(3.0), 8), "positions")


def test_odd_head_dim_is_a_shape_error() -> None:
    q = randn(1, 2, 3, 7)
    err = expect_shape_error(ss.apply_rope, (q, q, randn(3, 7), randn(3, 7)), "q", "head_dim")
    assert str(err).splitlines()[0] == (
        "apply_rope(): argument 'q' dim 'head_dim' is 7 at q.shape[3], expected an even number "
        "(rotary embeddings rotate pairs of features)"
    )
    expect_shape_error(ss.rotate_half, (randn(3, 5),), "x", "head_dim")


def _hint(err: ss.ShapeError) -> str:
    return str(err).splitlines()[-1]


def test_tables_for_every_position_get_a_slice_hint() -> None:
    q, k = randn(2, 4, 5, 8), randn(2, 2, 5, 8)
    cos, sin = ss.rope_tables(torch.arange(32), 8)
    err = expect_shape_error(ss.apply_rope, (q, k, cos, sin), "cos", "seq")
    assert _hint(err) == (
        "hint: 'cos' holds 32 positions and q 5: build the tables for these tokens' positions "
        "(after a KV cache of `past` tokens, torch.arange(past, past + 5)), "
        "or slice cos[past:past + 5]"
    )


def test_q_and_k_not_transposed_get_a_transpose_hint() -> None:
    # Straight from the projection: (batch, seq, heads, head_dim).
    q, k = randn(2, 6, 4, 8), randn(2, 6, 2, 8)
    cos, sin = ss.rope_tables(torch.arange(6), 8)
    err = expect_shape_error(ss.apply_rope, (q, k, cos, sin), "k", "seq")
    assert _hint(err) == (
        "hint: 'q' and 'k' look like (batch, seq, heads, head_dim): apply_rope wants heads "
        "before seq, try q.transpose(1, 2) and k.transpose(1, 2)"
    )


def test_too_few_positions_or_transposed_names_both() -> None:
    # cos has as many positions as q has heads: either may be the mistake.
    q = randn(2, 4, 5, 8)
    cos, sin = ss.rope_tables(torch.arange(4), 8)
    err = expect_shape_error(ss.apply_rope, (q, q, cos, sin), "cos", "seq")
    assert _hint(err).endswith("; or 'cos' was built for 4 positions, q has 5")
    assert "transpose" in _hint(err)


def test_no_transpose_hint_when_q_is_fine() -> None:
    q = randn(2, 4, 5, 8)
    cos, sin = ss.rope_tables(torch.arange(3), 8)
    err = expect_shape_error(ss.apply_rope, (q, q, cos, sin), "cos", "seq")
    assert "transpose" not in str(err)


def _rope_fits(q: Shape, k: Shape, table: Shape) -> bool:
    if len(q) < 3 or len(k) != len(q) or len(table) < 2:
        return False
    if q[:-3] != k[:-3] or q[-2:] != k[-2:] or q[-1] % 2 or table[-2:] != q[-2:]:
        return False
    batch, tb = q[:-3], table[:-2]
    return len(tb) <= len(batch) and all(
        t in (1, b) for t, b in zip(reversed(tb), reversed(batch), strict=False)
    )


small = st.integers(1, 3)


@settings(max_examples=80, deadline=None)
@given(
    batch=st.lists(small, max_size=2).map(tuple),
    heads=small,
    kv_heads=small,
    seq=small,
    half=st.integers(1, 3),
    odd=st.booleans(),
    table_batch=st.lists(small, max_size=2).map(tuple),
    table_seq=small,
    k_seq=small,
)
def test_apply_rope_shapes(
    batch: Shape,
    heads: int,
    kv_heads: int,
    seq: int,
    half: int,
    odd: bool,
    table_batch: Shape,
    table_seq: int,
    k_seq: int,
) -> None:
    d = 2 * half + odd
    q, k = (*batch, heads, seq, d), (*batch, kv_heads, k_seq, d)
    table = (*table_batch, table_seq, d)
    qt, kt, cos, sin = torch.randn(q), torch.randn(k), torch.randn(table), torch.randn(table)
    if _rope_fits(q, k, table):
        q2, k2 = ss.apply_rope(qt, kt, cos, sin)
        c, s = cos.unsqueeze(-3), sin.unsqueeze(-3)
        x1, x2 = qt.chunk(2, -1)
        assert_close(q2, qt * c + torch.cat((-x2, x1), -1) * s)
        x1, x2 = kt.chunk(2, -1)
        assert_close(k2, kt * c + torch.cat((-x2, x1), -1) * s)
    else:
        with pytest.raises(ss.ShapeError):
            ss.apply_rope(qt, kt, cos, sin)


@settings(max_examples=40, deadline=None)
@given(
    positions=st.lists(st.integers(1, 3), max_size=3).map(tuple),
    head_dim=st.integers(1, 6),
    integer=st.booleans(),
)
def test_rope_tables_shapes(positions: Shape, head_dim: int, integer: bool) -> None:
    pos = torch.randint(0, 50, positions) if integer else torch.rand(positions)
    if not integer or not positions:
        with pytest.raises(ss.ShapeError):
            ss.rope_tables(pos, head_dim)
    elif head_dim % 2:
        with pytest.raises(ValueError):
            ss.rope_tables(pos, head_dim)
    else:
        cos, sin = ss.rope_tables(pos, head_dim)
        freqs = 10000.0 ** (-torch.arange(0, head_dim, 2).float() / head_dim)
        angles = pos.float()[..., None] * freqs
        assert_close(cos, torch.cat((angles, angles), -1).cos())
        assert_close(sin, torch.cat((angles, angles), -1).sin())
