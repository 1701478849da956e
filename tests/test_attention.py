"""Softmax, attention and layer norm against torch's own."""

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn


def test_softmax_rows_sum_to_one() -> None:
    x = randn(2, 3, 5)
    assert_close(ss.softmax(x), torch.softmax(x, dim=-1))
    assert_close(ss.softmax(x).sum(-1), torch.ones(2, 3))


def test_attention_scores_scaled_by_sqrt_d() -> None:
    q, k = randn(2, 4, 6, 8), randn(2, 4, 7, 8)
    assert_close(ss.attention_scores(q, k), q @ k.transpose(-2, -1) / 8**0.5)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_matches_sdpa(causal: bool) -> None:
    q, k, v = randn(2, 4, 6, 8), randn(2, 4, 6, 8), randn(2, 4, 6, 5)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert_close(ss.attention(q, k, v, causal=causal), expected)


def test_attention_with_mask_and_cross_lengths() -> None:
    q, k, v = randn(3, 4, 8), randn(3, 6, 8), randn(3, 6, 2)
    mask = torch.rand(4, 6) > 0.3
    mask[:, 0] = True
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_close(ss.attention(q, k, v, mask=mask), expected)
    expected_causal = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask & torch.ones(4, 6).tril().bool()
    )
    assert_close(ss.attention(q, k, v, mask=mask, causal=True), expected_causal)


def test_layer_norm_matches_torch() -> None:
    x, w, b = randn(2, 5, 8), randn(8), randn(8)
    assert_close(ss.layer_norm(x, w, b), F.layer_norm(x, (8,), w, b))
    assert_close(ss.layer_norm(x, w, eps=1e-3), F.layer_norm(x, (8,), w, None, eps=1e-3))


@pytest.mark.parametrize(
    ("op", "args"),
    [
        pytest.param(ss.softmax, (randn(2, 5, grad=True),), id="softmax"),
        pytest.param(
            ss.attention_scores, (randn(2, 3, 4, grad=True), randn(2, 5, 4, grad=True)), id="scores"
        ),
        pytest.param(
            ss.attention,
            (randn(2, 3, 4, grad=True), randn(2, 5, 4, grad=True), randn(2, 5, 6, grad=True)),
            id="attention",
        ),
        pytest.param(
            ss.layer_norm,
            (randn(2, 3, 4, grad=True), randn(4, grad=True), randn(4, grad=True)),
            id="ln",
        ),
    ],
)
def test_gradients(op: Callable[..., Any], args: tuple[torch.Tensor, ...]) -> None:
    out = op(*args)
    check_grads(out * randn(*out.shape), list(args))


@pytest.mark.parametrize(
    ("op", "args", "argument", "dim"),
    [
        pytest.param(ss.softmax, (torch.tensor(1.0),), "x", None, id="softmax-scalar"),
        pytest.param(ss.softmax, (torch.arange(4),), "x", None, id="softmax-int"),
        pytest.param(
            ss.attention_scores,
            (randn(2, 6, 8), randn(2, 8, 6)),
            "k",
            "d",
            id="q-at-k-no-transpose",
        ),
        pytest.param(
            ss.attention_scores,
            (randn(2, 6, 8), randn(3, 6, 8)),
            "k",
            "*batch[0]",
            id="scores-batch",
        ),
        pytest.param(
            ss.attention, (randn(2, 6, 8), randn(2, 7, 8), randn(2, 6, 8)), "v", "t", id="v-length"
        ),
        pytest.param(
            ss.attention,
            (randn(2, 6, 8), randn(2, 7, 4), randn(2, 7, 8)),
            "k",
            "d",
            id="k-head-dim",
        ),
        pytest.param(
            ss.attention,
            (randn(2, 6, 8), randn(2, 7, 8), randn(2, 7, 8), ss.causal_mask(6)),
            "mask",
            "t",
            id="mask",
        ),
        pytest.param(
            ss.attention,
            (randn(2, 6, 8).half(), randn(2, 6, 8), randn(2, 6, 8)),
            "q",
            None,
            id="dtype-blames-the-odd-one-out",
        ),
        pytest.param(
            ss.layer_norm, (randn(2, 5, 8), randn(5), randn(5)), "weight", "e", id="ln-weight-size"
        ),
        pytest.param(
            ss.layer_norm, (randn(2, 5, 8), randn(8), randn(4)), "bias", "e", id="ln-bias-size"
        ),
        pytest.param(
            ss.layer_norm, (randn(2, 5, 8), randn(1, 8)), "weight", None, id="ln-weight-rank"
        ),
    ],
)
def test_errors_name_the_argument(
    op: Callable[..., Any], args: tuple[Any, ...], argument: str, dim: str | None
) -> None:
    expect_shape_error(op, args, argument, dim)


MASKS = [
    pytest.param(lambda: torch.rand(6, 7) > 0.3, id="bool-s-t"),
    pytest.param(lambda: torch.rand(2, 1, 1, 7) > 0.3, id="bool-padding-b-1-1-t"),
    pytest.param(lambda: torch.rand(2, 1, 6, 7) > 0.3, id="bool-b-1-s-t"),
    pytest.param(lambda: torch.rand(2, 3, 6, 7) > 0.3, id="bool-full"),
]
BIASES = [
    pytest.param(lambda: torch.randn(6, 7), id="float-s-t"),
    pytest.param(lambda: torch.randn(1, 1, 6, 7), id="float-1-1-s-t"),
    pytest.param(lambda: torch.randn(2, 1, 1, 7), id="float-padding"),
    pytest.param(lambda: torch.randn(2, 3, 6, 7), id="float-full"),
]


@pytest.mark.parametrize("make_mask", MASKS)
@pytest.mark.parametrize("causal", [False, True])
def test_attention_masks_broadcast_as_sdpa(
    make_mask: Callable[[], torch.Tensor], causal: bool
) -> None:
    q, k, v = randn(2, 3, 6, 8), randn(2, 3, 7, 8), randn(2, 3, 7, 5)
    mask = make_mask()
    mask[..., 0] = True  # no row fully masked
    allowed = torch.ones(6, 7, dtype=torch.bool).tril()
    reference = mask & allowed if causal else mask
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=reference)
    assert_close(ss.attention(q, k, v, mask=mask, causal=causal), expected)


@pytest.mark.parametrize("make_bias", BIASES)
@pytest.mark.parametrize("causal", [False, True])
def test_attention_biases_broadcast_as_sdpa(
    make_bias: Callable[[], torch.Tensor], causal: bool
) -> None:
    q, k, v = randn(2, 3, 6, 8), randn(2, 3, 7, 8), randn(2, 3, 7, 5)
    bias = make_bias()
    allowed = torch.ones(6, 7, dtype=torch.bool).tril()
    reference = bias.masked_fill(~allowed, float("-inf")) if causal else bias
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=reference)
    assert_close(ss.attention(q, k, v, causal=causal, attn_bias=bias), expected)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_with_a_mask_and_a_bias(causal: bool) -> None:
    q, k, v = randn(2, 3, 6, 8), randn(2, 3, 7, 8), randn(2, 3, 7, 5)
    mask = torch.rand(2, 1, 1, 7) > 0.3
    mask[..., 0] = True
    bias = torch.randn(3, 6, 7)  # a per-head position bias
    allowed = mask & torch.ones(6, 7, dtype=torch.bool).tril() if causal else mask
    reference = bias.masked_fill(~allowed, float("-inf"))
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=reference)
    assert_close(ss.attention(q, k, v, mask, causal, attn_bias=bias), expected)


def test_a_float_mask_is_refused_and_pointed_at_attn_bias() -> None:
    # nanoGPT's float 0/1 `bias` buffer, added to the scores, would block nothing.
    buffer = torch.ones(5, 5).tril()
    q = randn(2, 4, 5, 8)
    with pytest.raises(
        ss.ShapeError,
        match=re.escape("attention(): argument 'mask' has dtype float32, expected Bool"),
    ) as info:
        ss.attention(q, q, q, mask=buffer)
    assert info.value.hint == (
        "mask must be Bool (True = attend); for an additive float bias use attn_bias=mask; "
        "a float 0/1 mask (such as nanoGPT's bias buffer) is mask.bool()"
    )


def test_a_bool_bias_is_refused_and_pointed_at_mask() -> None:
    q = randn(2, 4, 5, 8)
    with pytest.raises(
        ss.ShapeError,
        match=re.escape("attention(): argument 'attn_bias' has dtype bool, expected Float"),
    ) as info:
        ss.attention(q, q, q, attn_bias=torch.ones(5, 5, dtype=torch.bool))
    assert info.value.hint == "attn_bias is added to the scores; a Bool mask goes in mask=attn_bias"


@pytest.mark.parametrize(
    ("kwargs", "headline"),
    [
        pytest.param(
            {"mask": torch.ones(5, 5, dtype=torch.bool, device="meta")},
            "attention(): argument 'mask' has device meta, expected cpu like 'q'",
            id="bool-mask",
        ),
        pytest.param(
            {"attn_bias": torch.zeros(5, 5, device="meta")},
            "attention(): argument 'attn_bias' has device meta, expected cpu like 'q'",
            id="float-bias",
        ),
    ],
)
def test_a_mask_on_another_device_is_named(
    kwargs: dict[str, Any], headline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch's CPU kernel takes a meta mask without complaint; a CUDA one raises, as here.
    def refuse(*args: Any, **kw: Any) -> torch.Tensor:
        raise RuntimeError("Expected all tensors to be on the same device")

    monkeypatch.setattr(F, "scaled_dot_product_attention", refuse)
    q = randn(2, 4, 5, 8)
    with pytest.raises(ss.ShapeError, match=re.escape(headline)):
        ss.attention(q, q, q, **kwargs)


def test_a_bias_of_another_dtype_blames_the_odd_one_out() -> None:
    q = randn(2, 4, 5, 8)
    with pytest.raises(
        ss.ShapeError,
        match=re.escape("attention(): argument 'attn_bias' has dtype float64, expected float32"),
    ):
        ss.attention(q, q, q, attn_bias=torch.zeros(5, 5, dtype=torch.float64))


def test_attention_takes_nanogpts_float_buffer_as_bool() -> None:
    T, block = 5, 8
    buffer = torch.tril(torch.ones(block, block)).view(1, 1, block, block)
    q, k, v = randn(2, 4, T, 8), randn(2, 4, T, 8), randn(2, 4, T, 8)
    out = ss.attention(q, k, v, mask=buffer[:, :, :T, :T].bool())
    assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_attention_scale() -> None:
    q, k, v = randn(2, 6, 8), randn(2, 7, 8), randn(2, 7, 5)
    expected = F.scaled_dot_product_attention(q, k, v, scale=0.3)
    assert_close(ss.attention(q, k, v, scale=0.3), expected)


def test_attention_dropout() -> None:
    q, k, v = randn(2, 6, 8), randn(2, 7, 8), randn(2, 7, 5)
    torch.manual_seed(3)
    expected = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    torch.manual_seed(3)
    assert_close(ss.attention(q, k, v, dropout_p=0.5), expected)
    assert_close(ss.attention(q, k, v, dropout_p=0.0), F.scaled_dot_product_attention(q, k, v))


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
@pytest.mark.parametrize("causal", [False, True])
def test_grouped_query_attention(kv_heads: int, causal: bool) -> None:
    q, k, v = randn(2, 8, 6, 4), randn(2, kv_heads, 6, 4), randn(2, kv_heads, 6, 3)
    group = 8 // kv_heads
    expected = F.scaled_dot_product_attention(
        q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1), is_causal=causal
    )
    assert_close(ss.attention(q, k, v, causal=causal), expected)


def test_grouped_query_heads_that_do_not_divide() -> None:
    # k and v agree on 3 heads: q, with 8, is the odd one out.
    err = expect_shape_error(
        ss.attention, (randn(2, 8, 6, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4)), "q"
    )
    assert err.dim == "*batch[1]"
    assert "expected a multiple of 3 (k and v have 3 heads)" in str(err)
    assert err.hint == (
        "grouped-query attention needs q's heads to be a multiple of k and v's 3, "
        "or k/v heads that divide 8: one of [1, 2, 4, 8]"
    )


def test_grouped_query_heads_with_a_mask_on_qs_side_blame_k() -> None:
    # A mask with its own heads axis sides with q: two against two, k is blamed.
    mask = torch.ones(2, 8, 6, 6, dtype=torch.bool)
    args = (randn(2, 8, 6, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4), mask)
    err = expect_shape_error(ss.attention, args, "k", "*kv_batch[1]")
    assert "expected 8 (k's heads must divide q's 8 heads)" in str(err)


@pytest.mark.parametrize(
    ("args", "argument", "dim"),
    [
        pytest.param(
            (randn(2, 4, 6, 8), randn(3, 4, 6, 8), randn(3, 4, 6, 8)),
            "q",
            "*batch[0]",
            id="q-batch-against-k-and-v",
        ),
        pytest.param(
            (randn(2, 4, 6, 8), randn(4, 6, 8), randn(4, 6, 8)),
            "q",
            "*batch",
            id="q-rank-against-k-and-v",
        ),
        pytest.param(
            (
                randn(2, 4, 6, 8),
                randn(3, 4, 6, 8),
                randn(3, 4, 6, 8),
                torch.ones(2, 1, 6, 6).bool(),
            ),
            "k",
            "*kv_batch[0]",
            id="k-batch-against-q-and-mask",
        ),
        pytest.param(
            (randn(2, 4, 6, 8), randn(2, 4, 6, 8), randn(2, 4, 6, 8), torch.ones(6, 7).bool()),
            "mask",
            "t",
            id="mask-t",
        ),
        pytest.param(
            (
                randn(2, 4, 6, 8),
                randn(2, 4, 6, 8),
                randn(2, 4, 6, 8),
                torch.ones(3, 1, 6, 6).bool(),
            ),
            "mask",
            "*#batch[0]",
            id="mask-batch",
        ),
        pytest.param(
            (randn(2, 6, 8), randn(2, 6, 8), randn(2, 6, 8), torch.ones(6, 6).long()),
            "mask",
            None,
            id="mask-int",
        ),
    ],
)
def test_mask_and_kv_errors(args: tuple[Any, ...], argument: str, dim: str | None) -> None:
    expect_shape_error(ss.attention, args, argument, dim)


def test_attention_dtype_blames_the_odd_one_out() -> None:
    q, k, v = randn(2, 6, 8), randn(2, 6, 8), randn(2, 6, 8)
    for odd in range(3):
        args = [q, k, v]
        args[odd] = args[odd].half()
        err = expect_shape_error(ss.attention, args, "qkv"[odd])
        assert err.actual == "float16" and err.expected == "float32"
