"""Each hint where it helps, and no hint where it would mislead.

A hint must never suggest a change that fixes the shapes but changes the meaning: it names
the blamed argument, or says plainly that two arguments are candidates.
"""

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss
from shapesafe.nn import GPT, CausalSelfAttention, GPTConfig, LayerNorm, Linear
from tests.helpers import randn


def error(call: Callable[[], Any]) -> ss.ShapeError:
    with pytest.raises(ss.ShapeError) as info:
        call()
    return info.value


def ids(*shape: int) -> torch.Tensor:
    return torch.zeros(*shape, dtype=torch.long)


@ss.checked
def _qkv_attention(
    q: Float[Tensor, "b h s d"], k: Float[Tensor, "b h s d"], v: Float[Tensor, "b h s d"]
) -> Float[Tensor, "b h s d"]:
    return ss.attention(q, k, v)


HINTS = [
    pytest.param(
        # q.mT does not fit (d would be 5): only k's transpose is a candidate.
        lambda: ss.attention_scores(randn(2, 5, 8), randn(2, 8, 6)),
        "k",
        "'k' looks transposed: its last two axes fit swapped, try k.mT",
        id="transposed-blamed-argument",
    ),
    pytest.param(
        lambda: ss.attention_scores(randn(2, 6, 8), randn(2, 8, 6)),
        "k",
        "either transpose fits, and they mean different things: "
        "k.mT if k is stored as (..., d, t), or q.mT if q is stored as (..., d, s)",
        id="either-transpose-fits-both-named",
    ),
    pytest.param(
        lambda: ss.linear(randn(2, 16, 32), torch.nn.Linear(16, 32).weight),
        "weight",
        "either transpose fits, and they mean different things: weight.T if weight is stored "
        "as (in_features, out_features), or x.mT if x is channels-first (in_features on axis -2)",
        id="channels-first-x-or-transposed-weight",
    ),
    pytest.param(
        lambda: ss.matvec(randn(3, 4), randn(3)),
        "x",
        "either 'x' has the wrong length or 'A' is stored transposed (try A.T)",
        id="vector-of-the-wrong-length-or-A.T",
    ),
    pytest.param(
        lambda: ss.attention(
            randn(2, 6, 5, 8).transpose(1, 2), randn(2, 6, 5, 8), randn(2, 6, 5, 8)
        ),
        "q",
        "'q' looks like it has heads and seq swapped: try q.transpose(1, 2), "
        "unless 'k' and 'v' both have them swapped",
        id="q-heads-and-seq-swapped",
    ),
    pytest.param(
        # A padding mask pins t: k and v swapped would move t, so only q is named.
        lambda: ss.attention(
            randn(2, 6, 5, 8).transpose(1, 2),
            randn(2, 6, 7, 8),
            randn(2, 6, 7, 8),
            torch.ones(2, 1, 1, 7, dtype=torch.bool),
        ),
        "q",
        "'q' looks like it has heads and seq swapped: try q.transpose(1, 2)",
        id="q-heads-and-seq-swapped-only-candidate",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 6, 5, 8), randn(2, 5, 6, 8), randn(2, 5, 6, 8), None),
        "q",
        "'q' looks like it has heads and seq swapped: try q.transpose(1, 2), "
        "unless 'k' and 'v' both have them swapped",
        id="k-and-v-swapped-named-as-a-candidate",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 8, 6, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4)),
        "q",
        "grouped-query attention needs q's heads to be a multiple of k and v's 3, "
        "or k/v heads that divide 8: one of [1, 2, 4, 8]",
        id="grouped-query-heads-that-do-not-divide",
    ),
    pytest.param(
        lambda: _qkv_attention(randn(2, 5, 6, 8), randn(2, 6, 5, 8), randn(2, 6, 5, 8)),
        "q",
        "'q' looks like it has axes 1 and 2 ('h' and 's') swapped: try q.transpose(1, 2), "
        "unless 'k' and 'v' are the ones swapped",
        id="checked-function-q-axes-swapped",
    ),
    pytest.param(
        lambda: ss.matmul(randn(3, 4), randn(3, 5)),
        "B",
        "'A' may be transposed: its last two axes fit swapped (A.T), "
        "unless 'B' is the one with the wrong size",
        id="transposed-other-argument-named-as-one-candidate",
    ),
    pytest.param(
        lambda: ss.linear(randn(32, 16), randn(4, 10, 16)),
        "weight",
        "'x' and 'weight' look swapped: the call fits with them exchanged",
        id="swapped-linear",
    ),
    pytest.param(
        lambda: ss.embedding(randn(11, 4), ids(2, 5)),
        "ids",
        "'ids' and 'weight' look swapped: the call fits with them exchanged",
        id="swapped-embedding",
    ),
    pytest.param(
        lambda: CausalSelfAttention(16, 4)(randn(7, 16)),
        "x",
        "'x' has no batch axis: for a single example, try x.unsqueeze(0)",
        id="rank-one-short-module",
    ),
    pytest.param(
        lambda: GPT(GPTConfig(11, 8, 8, 2, 1))(ids(5)),
        "idx",
        "'idx' has no batch axis: for a single example, try idx.unsqueeze(0)",
        id="rank-one-short-gpt",
    ),
    pytest.param(
        lambda: ss.merge_heads(randn(2, 5, 16)),
        "x",
        "'x' looks like (batch, seq, embed): split_heads(x, num_heads)",
        id="split-heads-first",
    ),
    pytest.param(
        lambda: Linear(16, 4)(randn(2, 4, 5, 4)),
        "x",
        "'x' looks like (batch, heads, seq, head_dim): merge_heads(x)",
        id="merge-heads-first",
    ),
    pytest.param(
        # k and v agree, split: q is the odd one out, and either side may change.
        lambda: ss.attention(randn(2, 5, 16), randn(2, 4, 5, 4), randn(2, 4, 5, 4)),
        "q",
        "'k' has its heads split and 'q' not: split_heads(q, 4), or merge_heads(k)",
        id="heads-split-on-one-side-only",
    ),
    pytest.param(
        lambda: ss.attention(
            randn(2, 4, 5, 8),
            randn(2, 4, 5, 8),
            randn(2, 4, 5, 8),
            torch.ones(1, 1, 8, 8).tril().bool(),
        ),
        "mask",
        "'mask' is larger than needed: slice it, mask[..., :5, :5]",
        id="mask-larger-than-needed",
    ),
    pytest.param(
        lambda: ss.apply_mask(randn(2, 5, 5), ss.causal_mask(8)),
        "mask",
        "'mask' is larger than needed: slice it, mask[:5, :5]",
        id="square-mask-larger-than-needed",
    ),
    pytest.param(
        lambda: ss.cross_entropy(randn(2, 5, 11), randn(2, 5)),
        "targets",
        "'targets' holds floats; if they are class or token ids, use targets.long()",
        id="float-targets",
    ),
    pytest.param(
        lambda: ss.cross_entropy(randn(2, 5, 11), ids(2, 5, 1)),
        "targets",
        "a size-1 axis is extra or missing: try targets.squeeze(-1)",
        id="targets-b-t-1",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 5, 8), randn(2, 5, 8), randn(2, 5, 8), ids(5, 5)),
        "mask",
        "build a boolean mask, e.g. mask != 0",
        id="integer-mask",
    ),
    pytest.param(
        lambda: ss.attention(
            randn(2, 4, 5, 8), randn(2, 4, 5, 8), randn(2, 4, 5, 8), torch.ones(5, 5).tril()
        ),
        "mask",
        "mask must be Bool (True = attend); for an additive float bias use attn_bias=mask; "
        "a float 0/1 mask (such as nanoGPT's bias buffer) is mask.bool()",
        id="float-mask-points-at-attn-bias",
    ),
    pytest.param(
        lambda: ss.attention(
            randn(2, 4, 5, 8),
            randn(2, 4, 5, 8),
            randn(2, 4, 5, 8),
            attn_bias=torch.ones(5, 5, dtype=torch.bool),
        ),
        "attn_bias",
        "attn_bias is added to the scores; a Bool mask goes in mask=attn_bias",
        id="bool-bias-points-at-mask",
    ),
    pytest.param(
        lambda: ss.attention(
            randn(2, 4, 5, 8), randn(2, 4, 7, 8), randn(2, 4, 7, 8), torch.ones(2, 7).bool()
        ),
        "mask",
        "'mask' looks like a (batch, keys) padding mask: try mask[:, None, None, :] "
        "to broadcast over heads and queries",
        id="padding-mask-b-t-in-attention",
    ),
    pytest.param(
        lambda: ss.attention(
            randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 8), torch.ones(2, 7).bool()
        ),
        "mask",
        "'mask' looks like a (batch, keys) padding mask: try mask[:, None, :] "
        "to broadcast over queries",
        id="padding-mask-b-t-without-heads",
    ),
    pytest.param(
        lambda: ss.apply_mask(randn(2, 4, 5, 7), torch.ones(2, 7).bool()),
        "mask",
        "'mask' looks like a (batch, keys) padding mask: try mask[:, None, None, :] "
        "to broadcast over heads and queries",
        id="padding-mask-b-t-in-apply-mask",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 6, 5, 8), randn(2, 5, 6, 8), randn(2, 6, 5, 8)),
        "k",
        "'k' looks like it has axes 1 and 2 swapped: try k.transpose(1, 2), "
        "unless 'q' and 'v' are the ones swapped",
        id="k-heads-and-seq-swapped-against-q-and-v",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 6, 5, 8), randn(2, 6, 5, 8), randn(2, 5, 6, 8)),
        "v",
        "'v' looks like it has axes 1 and 2 swapped: try v.transpose(1, 2), "
        "unless 'q' and 'k' are the ones swapped",
        id="v-heads-and-seq-swapped",
    ),
    pytest.param(
        # A padding mask pins t: q and k swapped would move it, so only v is named.
        lambda: ss.attention(
            randn(2, 6, 5, 8),
            randn(2, 6, 7, 8),
            randn(2, 7, 6, 8),
            torch.ones(2, 1, 1, 7, dtype=torch.bool),
        ),
        "v",
        "'v' looks like it has axes 1 and 2 swapped: try v.transpose(1, 2)",
        id="v-heads-and-seq-swapped-only-candidate",
    ),
    pytest.param(
        lambda: Linear(16, 4)(randn(2, 16, 5)),
        "x",
        "'x' may be channels-first (x.mT fits), unless in_features=16 is the wrong size",
        id="channels-first-input-to-a-module-or-a-module-of-the-wrong-size",
    ),
    pytest.param(
        # weight and bias agree on 5: x is the odd one out; normalising over seq (x.mT)
        # is right only if x is channels-first, so the layer's size is named too.
        lambda: ss.layer_norm(randn(2, 5, 8), randn(5), randn(5)),
        "x",
        "'x' may be channels-first (x.mT fits), unless e=5 is the wrong size",
        id="layer-norm-sized-for-seq-or-channels-first-x",
    ),
    pytest.param(
        lambda: ss.sub(randn(8, 1), randn(8)),
        "b",
        "a size-1 axis is extra or missing: try b.unsqueeze(1) or a.squeeze(-1)",
        id="symmetric-arguments-both-candidates",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 5, 8).half(), randn(2, 5, 8), randn(2, 5, 8)),
        "q",
        "cast it, e.g. q.to(k.dtype)",
        id="dtype-odd-one-out",
    ),
    pytest.param(
        lambda: Linear(4, 3).to(torch.bfloat16)(randn(2, 4)),
        "x",
        "x.to(torch.bfloat16), or move the module to x's dtype",
        id="module-dtype-blames-the-input",
    ),
    pytest.param(
        lambda: Linear(4, 3, bias=False).to(torch.bfloat16)(randn(2, 4)),
        "x",
        "x.to(torch.bfloat16), or move the module to x's dtype",
        id="module-dtype-blames-the-input-without-bias",
    ),
    pytest.param(
        lambda: LayerNorm(4).to(torch.float64)(randn(2, 4)),
        "x",
        "x.to(torch.float64), or move the module to x's dtype",
        id="layer-norm-dtype-blames-the-input",
    ),
]


@pytest.mark.parametrize(("call", "argument", "hint"), HINTS)
def test_hint(call: Callable[[], Any], argument: str, hint: str) -> None:
    err = error(call)
    assert err.argument == argument
    assert err.hint == hint
    assert str(err).splitlines()[-1] == f"hint: {hint}"


NO_HINT = [
    pytest.param(
        # Normalising over seq would be wrong: the weight is sized for the wrong axis.
        lambda: ss.layer_norm(randn(2, 5, 8), randn(5)),
        id="layer-norm-weight-sized-for-seq-no-x.mT",
    ),
    pytest.param(
        # The fix is identity(4); A.T fits the shapes but computes something else.
        lambda: ss.matmul(randn(5, 4), ss.identity(5)),
        id="identity-of-the-wrong-size-no-A.T",
    ),
    pytest.param(
        # A square matrix transposed has the same shape: a transpose cannot be the fix.
        lambda: ss.matmul(randn(4, 4), randn(5, 3)),
        id="square-no-transpose",
    ),
    pytest.param(
        # With free dims a new axis could go anywhere.
        lambda: ss.permute(randn(2, 3, 4), "b s h d -> b h s d"),
        id="ambiguous-unsqueeze",
    ),
    pytest.param(
        # A mask broadcasts: a size-1 axis is never its fix, nor q's.
        lambda: ss.attention(
            randn(2, 4, 5, 8), randn(2, 4, 5, 8), randn(2, 4, 5, 8), torch.ones(3, 1, 5, 5).bool()
        ),
        id="mask-batch-no-unsqueeze",
    ),
    pytest.param(
        # A (t, t) mask of the wrong length is no padding mask: no mask[:, None, None, :].
        lambda: ss.attention(
            randn(2, 4, 5, 8), randn(2, 4, 5, 8), randn(2, 4, 5, 8), torch.ones(4, 7).bool()
        ),
        id="mask-of-other-lengths-no-padding-hint",
    ),
    pytest.param(
        # Only sizes differ: swapping matmul's arguments would change the product.
        lambda: ss.matmul(randn(3, 4), randn(5, 3)),
        id="no-swap-for-sizes",
    ),
]


@pytest.mark.parametrize("call", NO_HINT)
def test_no_misleading_hint(call: Callable[[], Any]) -> None:
    err = error(call)
    assert err.hint is None, err.hint
    assert "hint:" not in str(err)


@ss.checked
def _viewed_attention(x: Float[Tensor, "b s e"], heads: int) -> Float[Tensor, "b s e"]:
    b, s, e = x.shape
    q = x.view(b, s, heads, e // heads)  # the bug: no .transpose(1, 2)
    k = x.view(b, s, heads, e // heads).transpose(1, 2)
    v = x.view(b, s, heads, e // heads).transpose(1, 2)
    return ss.merge_heads(ss.attention(q, k, v))


@ss.checked
def stack(*xs: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return xs[0]


BLAME = [
    pytest.param(
        lambda: ss.attention(
            randn(2, 6, 5, 8).transpose(1, 2), randn(2, 6, 5, 8), randn(2, 6, 5, 8)
        ),
        "attention(): argument 'q' dim '*batch[1]' is 5 at q.shape[1], expected a multiple of 6",
        id="attention-q-against-k-and-v",
    ),
    pytest.param(
        lambda: _viewed_attention(randn(2, 5, 48), 6),
        "attention(): argument 'q' dim '*batch[1]' is 5 at q.shape[1], expected a multiple of 6",
        id="checked-attention-q-viewed-without-transpose",
    ),
    pytest.param(
        lambda: _qkv_attention(randn(2, 5, 6, 8), randn(2, 6, 5, 8), randn(2, 6, 5, 8)),
        "_qkv_attention(): argument 'q' dim 'h' is 5 at q.shape[1], expected 6 "
        "(bound by k.shape[1])",
        id="checked-contract-q-against-k-and-v",
    ),
    pytest.param(
        lambda: stack(randn(4), randn(3), randn(3)),
        "stack(): argument 'xs[0]' dim 'n' is 4 at xs[0].shape[0], expected 3 "
        "(bound by xs[1].shape[0])",
        id="first-item-against-the-rest",
    ),
    pytest.param(
        # No majority: one against one, the first-bound argument binds, as before.
        lambda: stack(randn(3), randn(4)),
        "stack(): argument 'xs[1]' dim 'n' is 4 at xs[1].shape[0], expected 3 "
        "(bound by xs[0].shape[0])",
        id="one-against-one-blames-the-second",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 5, 8).half(), randn(2, 5, 8), randn(2, 5, 8)),
        "attention(): argument 'q' has dtype float16, expected float32 like 'k'",
        id="dtype-q-against-k-and-v",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 5, 8), randn(2, 5, 8).half(), randn(2, 5, 8)),
        "attention(): argument 'k' has dtype float16, expected float32 like 'q'",
        id="dtype-k-against-q-and-v",
    ),
    pytest.param(
        lambda: ss.attention(randn(2, 5, 8), randn(2, 5, 8), torch.randn(2, 5, 8, device="meta")),
        "attention(): argument 'v' has device meta, expected cpu like 'q'",
        id="device-v-against-q-and-k",
    ),
    pytest.param(
        lambda: ss.dot(randn(3), torch.randn(3, device="meta")),
        "dot(): argument 'b' has device meta, expected cpu like 'a'",
        id="device-one-against-one-blames-the-second",
    ),
]


@pytest.mark.parametrize(("call", "headline"), BLAME)
def test_blame_goes_to_the_odd_one_out(call: Callable[[], Any], headline: str) -> None:
    with pytest.raises(ss.ShapeError, match="^" + re.escape(headline)):
        call()


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 6),
    odd=st.integers(1, 6),
    count=st.integers(3, 5),
    data=st.data(),
)
def test_one_item_against_all_the_others_is_blamed(
    n: int, odd: int, count: int, data: st.DataObject
) -> None:
    assume(odd != n)
    at = data.draw(st.integers(0, count - 1))
    sizes = [odd if i == at else n for i in range(count)]
    name = f"xs[{at}]"
    headline = (
        f"stack(): argument '{name}' dim 'n' is {odd} at {name}.shape[0], expected {n} "
        f"(bound by xs[{1 if at == 0 else 0}].shape[0])"
    )
    with pytest.raises(ss.ShapeError, match="^" + re.escape(headline)) as info:
        stack(*(randn(k) for k in sizes))
    assert info.value.argument == name


def test_a_transposed_q_gets_no_grouped_query_divisor_list() -> None:
    err = error(
        lambda: ss.attention(
            randn(2, 6, 5, 8).transpose(1, 2), randn(2, 6, 5, 8), randn(2, 6, 5, 8)
        )
    )
    assert err.hint is not None
    assert "one of [" not in err.hint and "grouped-query" not in err.hint


def test_grouped_query_heads_that_fit_a_swap_by_chance_get_no_transpose() -> None:
    # Swapped, q would have 6 heads, which 3 divides; but neither its heads nor its length
    # would then match k's: a transpose is no likelier than a wrong head count.
    err = error(lambda: ss.attention(randn(2, 8, 6, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4)))
    assert err.hint is not None and "transpose" not in err.hint


def test_a_transposed_k_is_blamed_not_v() -> None:
    # k's heads and seq swapped: q and v agree on both, so v's transpose is no fix.
    err = error(lambda: ss.attention(randn(2, 6, 5, 8), randn(2, 5, 6, 8), randn(2, 6, 5, 8)))
    assert err.argument == "k"
    assert err.hint is not None and "v.transpose" not in err.hint


def test_a_layer_sized_for_seq_never_gets_a_bare_x_mt() -> None:
    err = error(lambda: LayerNorm(5)(randn(2, 5, 8)))
    assert err.hint is not None and "unless features=5 is the wrong size" in err.hint


def test_a_channels_first_x_never_gets_weight_t_alone() -> None:
    err = error(lambda: ss.linear(randn(2, 16, 32), torch.nn.Linear(16, 32).weight))
    assert err.hint is not None and "x.mT" in err.hint and "weight.T" in err.hint


def test_cross_entropy_targets_hint_never_touches_the_logits() -> None:
    err = error(lambda: ss.cross_entropy(randn(2, 5, 11), ids(2, 5, 1)))
    assert err.hint is not None and "logits" not in err.hint


def test_a_mask_smaller_than_needed_is_not_sliced() -> None:
    err = error(lambda: ss.apply_mask(randn(2, 5, 7), ss.causal_mask(5)))
    assert err.hint is None


def test_an_int_tensor_has_its_article() -> None:
    err = error(lambda: ss.cross_entropy(randn(2, 11), [1, 2]))  # type: ignore[arg-type]
    assert 'expected an Int tensor of shape "*batch"' in str(err)
    err = error(lambda: ss.softmax([1.0]))  # type: ignore[arg-type]
    assert 'expected a Float tensor of shape "*batch n"' in str(err)


def test_variadic_dim_is_named_as_in_the_message() -> None:
    err = error(lambda: ss.matmul(randn(2, 5, 4), randn(4, 6)))
    assert err.dim == "*batch"
    assert "dims '*batch'" in str(err).splitlines()[0]


def test_hint_time_does_not_grow_with_a_size() -> None:
    # Building the "try one of" list used to walk every integer up to embed_dim.
    with pytest.raises(ValueError, match=r"num_heads=2 must divide embed_dim=1000000000001"):
        CausalSelfAttention(10**12 + 1, 2)
    err = error(lambda: ss.split_heads(torch.empty(1, 1, 10**9 + 7, device="meta"), 2))
    assert err.hint is not None and "one of [1]" in err.hint


def test_a_dim_that_names_an_argument_without_braces() -> None:
    from jaxtyping import AnnotationError, Int

    @ss.checked
    def extend(
        idx: Int[torch.Tensor, "batch seq"], max_new_tokens: int
    ) -> Int[torch.Tensor, "batch seq+max_new_tokens"]:
        return torch.cat([idx, idx[:, :max_new_tokens]], dim=1)

    with pytest.raises(AnnotationError) as info:
        extend(ids(2, 5), 3)
    assert str(info.value).splitlines()[-1] == (
        "hint: 'max_new_tokens' is an argument, not a dim: "
        "write \"seq+{max_new_tokens}\" in the spec of 'return'"
    )

    @ss.checked
    def fixed(
        idx: Int[torch.Tensor, "batch seq"], max_new_tokens: int
    ) -> Int[torch.Tensor, "batch seq+{max_new_tokens}"]:
        return torch.cat([idx, idx[:, :max_new_tokens]], dim=1)

    assert fixed(ids(2, 5), 3).shape == (2, 8)

    @ss.checked
    def wrong(
        idx: Int[torch.Tensor, "batch seq"], max_new_tokens: int
    ) -> Int[torch.Tensor, "batch seq+{max_new_tokens}"]:
        return torch.cat([idx, idx[:, :1]], dim=1)

    with pytest.raises(ss.ShapeError, match=r"dim 'seq\+\{max_new_tokens\}' is 6 at"):
        wrong(ids(2, 5), 3)


def test_a_tensor_where_a_scalar_is_expected_gets_a_plain_rank_error() -> None:
    # A scalar spec has no first dim for the missing-batch hint to look at.
    @ss.checked
    def total(x: ss.Float[torch.Tensor, ""]) -> ss.Float[torch.Tensor, ""]:
        return x

    e = error(lambda: total(randn(3)))
    assert e.argument == "x"
    assert "unsqueeze" not in str(e)


def test_parentheses_in_a_spec_are_read_as_jaxtyping_reads_them() -> None:
    from jaxtyping import Float

    @ss.checked
    def flat(x: Float[torch.Tensor, "(b s) d"]) -> Float[torch.Tensor, "(b s) d"]:
        return x

    err = error(lambda: flat(randn(6, 4)))
    assert err.argument == "x"
    assert err.hint == (
        "jaxtyping reads '(b', 's)' as separate dims: parentheses do not group axes; "
        'write "b*s d" where those dims are bound by other arguments, else name the merged '
        'axis ("b_s d")'
    )


def test_a_dim_whose_parentheses_balance_is_an_expression_not_a_group() -> None:
    from jaxtyping import Float

    from shapesafe._contract import paren_note, parse_spec

    @ss.checked
    def grow(x: Float[torch.Tensor, " n"]) -> Float[torch.Tensor, " (n+1)"]:
        return x

    err = error(lambda: grow(randn(3)))
    assert err.argument == "return"
    assert "do not group axes" not in str(err)
    assert paren_note(parse_spec("min(a,b) d")) is None
    assert paren_note(parse_spec("b (h w) c")) == (
        "jaxtyping reads '(h', 'w)' as separate dims: parentheses do not group axes; "
        'write "b h*w c" where those dims are bound by other arguments, else name the merged '
        'axis ("b h_w c")'
    )
