"""Identity, diagonal, triangular and causal masks."""

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn


def test_identity_is_the_do_nothing_transform() -> None:
    x = randn(5)
    assert_close(ss.identity(5), torch.eye(5))
    assert_close(ss.matvec(ss.identity(5), x), x)
    assert ss.identity(3, dtype=torch.float64).dtype == torch.float64
    assert ss.identity(0).shape == (0, 0)


def test_diag_scales_each_axis() -> None:
    v, x = randn(4), randn(4)
    assert_close(ss.diag(v), torch.diag(v))
    assert_close(ss.matvec(ss.diag(v), x), v * x)


@pytest.mark.parametrize("diagonal", [-1, 0, 1])
def test_tril_triu_match_torch(diagonal: int) -> None:
    a = randn(2, 4, 5)
    assert_close(ss.tril(a, diagonal), torch.tril(a, diagonal))
    assert_close(ss.triu(a, diagonal=diagonal), torch.triu(a, diagonal))
    assert_close(ss.tril(a, diagonal) + ss.triu(a, diagonal + 1), a)


def test_causal_mask_allows_the_past_and_the_present() -> None:
    m = ss.causal_mask(4)
    assert m.dtype == torch.bool
    assert_close(m, torch.ones(4, 4).tril().bool())
    assert bool(m[2, 2]) and bool(m[2, 0]) and not bool(m[0, 2])
    assert ss.causal_mask(0).shape == (0, 0)


def test_apply_mask_sets_minus_infinity() -> None:
    scores = randn(2, 4, 4)
    masked = ss.apply_mask(scores, ss.causal_mask(4))
    assert_close(masked, scores.masked_fill(~torch.ones(4, 4).tril().bool(), float("-inf")))
    weights = torch.softmax(masked, dim=-1)
    assert_close(weights.triu(1), torch.zeros(2, 4, 4))


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param((4, 6), id="q-k"),
        pytest.param((2, 1, 4, 6), id="b-1-q-k"),
        pytest.param((2, 1, 1, 6), id="padding-b-1-1-k"),
        pytest.param((1, 6), id="one-row-for-every-query"),
        pytest.param((2, 3, 4, 6), id="full"),
    ],
)
def test_apply_mask_takes_what_attention_takes(shape: tuple[int, ...]) -> None:
    scores = randn(2, 3, 4, 6)
    mask = torch.rand(shape) > 0.5
    expected = scores.masked_fill(~mask, float("-inf"))
    assert_close(ss.apply_mask(scores, mask), expected)
    # The same mask in attention: the weights are softmax of the masked scores.
    mask[..., 0] = True
    q, k, v = randn(2, 3, 4, 8), randn(2, 3, 6, 8), randn(2, 3, 6, 5)
    reference = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_close(ss.attention(q, k, v, mask=mask), reference)


@pytest.mark.parametrize(
    ("op", "args"),
    [
        pytest.param(ss.diag, (randn(4, grad=True),), id="diag"),
        pytest.param(ss.tril, (randn(3, 3, grad=True),), id="tril"),
        pytest.param(ss.triu, (randn(3, 3, grad=True),), id="triu"),
        pytest.param(
            ss.apply_mask, (randn(2, 3, 3, grad=True), ss.causal_mask(3)), id="apply_mask"
        ),
    ],
)
def test_gradients(op: Callable[..., Any], args: tuple[Any, ...]) -> None:
    out = op(*args)
    if op is ss.apply_mask:
        out = torch.softmax(out, dim=-1)
    check_grads(out, [args[0]])


@pytest.mark.parametrize(
    ("op", "args", "argument", "dim"),
    [
        pytest.param(ss.diag, (randn(3, 3),), "v", None, id="diag-of-matrix"),
        pytest.param(ss.tril, (randn(3),), "A", None, id="tril-vector"),
        pytest.param(ss.triu, (torch.ones(3),), "A", None, id="triu-vector"),
        pytest.param(
            ss.apply_mask,
            (randn(2, 5, 7), ss.causal_mask(5)),
            "mask",
            "k",
            id="square-mask-on-s-by-t",
        ),
        pytest.param(
            ss.apply_mask, (randn(2, 5, 5), torch.ones(5, 5)), "mask", None, id="float-mask"
        ),
        pytest.param(
            ss.apply_mask,
            (randn(2, 5, 5), ss.causal_mask(5)[None].expand(3, 5, 5)),
            "mask",
            "*#batch[0]",
            id="mask-batch-that-does-not-broadcast",
        ),
        pytest.param(ss.identity, ("3",), "n", None, id="identity-string"),
    ],
)
def test_errors_name_the_argument(
    op: Callable[..., Any], args: tuple[Any, ...], argument: str, dim: str | None
) -> None:
    expect_shape_error(op, args, argument, dim)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda: ss.causal_mask(-1),
            r"causal_mask\(\): seq_len must be >= 0, got -1",
            id="negative-mask",
        ),
        pytest.param(
            lambda: ss.identity(-2), r"identity\(\): n must be >= 0, got -2", id="negative-identity"
        ),
        pytest.param(
            lambda: ss.identity(3, dtype=torch.int64),
            r"identity\(\): dtype must be a floating",
            id="int-identity",
        ),
    ],
)
def test_bad_sizes_are_value_errors(call: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()
