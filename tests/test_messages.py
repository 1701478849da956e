"""The exact text of the flagship errors, line by line, and that no message shows values."""

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss
from tests.helpers import randn


def message(call: Callable[[], Any]) -> str:
    with pytest.raises(ss.ShapeError) as info:
        call()
    return str(info.value)


def test_transposed_linear_weight() -> None:
    weight = torch.nn.Linear(16, 32).weight  # stored (out_features, in_features)
    text = message(lambda: ss.linear(randn(4, 10, 16), weight.T))
    assert text.splitlines() == [
        "linear(): argument 'weight' dim 'in_features' is 32 at weight.shape[1], "
        "expected 16 (bound by x.shape[2])",
        '    x       (4, 10, 16) float32  "*batch in_features"',
        '    weight  (16, 32) float32     "out_features in_features"',
        "                 ^^",
        "bound: in_features=16 from x.shape[2], batch=(4, 10) from x.shape[0:2]",
        "hint: 'weight' looks transposed: its last two axes fit swapped, try weight.T",
    ]


def test_prediction_b1_against_target_b() -> None:
    text = message(lambda: ss.sub(randn(8, 1), randn(8)))
    assert text.splitlines() == [
        "sub(): argument 'b' dims '*shape' are (8,) at b.shape[0:1], expected (8, 1) "
        "(bound by a.shape[0:2])",
        '    a  (8, 1) float32  "*shape"',
        '    b  (8,) float32    "*shape"',
        "        ^",
        "bound: shape=(8, 1) from a.shape[0:2]",
        "hint: a size-1 axis is extra or missing: try b.unsqueeze(1) or a.squeeze(-1)",
    ]


def test_q_at_k_without_transpose() -> None:
    text = message(lambda: ss.attention_scores(randn(2, 6, 8), randn(2, 8, 6)))
    lines = text.splitlines()
    assert lines[0] == (
        "attention_scores(): argument 'k' dim 'd' is 6 at k.shape[2], expected 8 (bound by q.shape[2])"
    )
    # q.mT fits too: the hint names both, and what each would mean.
    assert lines[-1] == (
        "hint: either transpose fits, and they mean different things: "
        "k.mT if k is stored as (..., d, t), or q.mT if q is stored as (..., d, s)"
    )


def test_square_causal_mask_on_rectangular_scores() -> None:
    text = message(lambda: ss.apply_mask(randn(2, 5, 7), ss.causal_mask(5)))
    assert text.splitlines() == [
        "apply_mask(): argument 'mask' dim 'k' is 5 at mask.shape[1], expected 7 (bound by scores.shape[2])",
        '    scores  (2, 5, 7) float32  "*batch q k"',
        '    mask    (5, 5) bool        "*#batch #q k"',
        "                ^",
        "bound: q=5 from scores.shape[1], k=7 from scores.shape[2], batch=(2,) from scores.shape[0:1]",
    ]


def test_token_ids_where_floats_belong() -> None:
    text = message(lambda: ss.linear(torch.randint(0, 100, (2, 5)), randn(32, 16)))
    assert text.splitlines() == [
        "linear(): argument 'x' has dtype int64, expected Float",
        '    x       (2, 5) int64      "*batch in_features"',
        "                   ^^^^^",
        '    weight  (32, 16) float32  "out_features in_features"',
        "hint: 'x' holds integers; if they are token ids, embed them first (nn.Embedding), "
        "otherwise cast with .float()",
    ]


def test_plain_list() -> None:
    text = message(lambda: ss.matvec([[1.0, 2.0]], randn(2)))  # type: ignore[arg-type]
    assert (
        text.splitlines()[0]
        == "matvec(): argument 'A' is list, expected a Float tensor of shape \"m n\""
    )
    assert text.splitlines()[-1] == "hint: convert it first, e.g. torch.tensor(A)"


def test_heads_that_do_not_divide_the_embedding() -> None:
    text = message(lambda: ss.split_heads(randn(2, 5, 30), 4))
    assert text.splitlines()[0] == (
        "split_heads(): argument 'x' dim 'embed' is 30 at x.shape[2], expected a multiple of "
        "num_heads=4 (embed must split evenly into heads)"
    )
    assert (
        text.splitlines()[-1]
        == "hint: num_heads must divide 30: one of [1, 2, 3, 5, 6, 10, 15, 30]"
    )


def test_user_function_and_return_value() -> None:
    @ss.checked
    def pool(x: ss.Float[ss.Tensor, "batch seq embed"]) -> ss.Float[ss.Tensor, "batch embed"]:
        return x.mean(dim=2)  # the bug: averages over embed instead of seq

    text = message(lambda: pool(randn(2, 5, 8)))
    assert text.splitlines()[0] == (
        "test_user_function_and_return_value.pool(): the return value dim 'embed' is 5 at "
        "return.shape[1], expected 8 (bound by x.shape[2])"
    )


def test_headlines_are_one_short_sentence() -> None:
    calls: list[Callable[[], Any]] = [
        lambda: ss.linear(randn(4, 10, 16), randn(16, 32)),
        lambda: ss.sub(randn(8, 1), randn(8)),
        lambda: ss.matmul(randn(2, 3, 4), randn(3, 4, 5)),
        lambda: ss.attention(randn(2, 6, 8), randn(2, 7, 8), randn(2, 7, 8), ss.causal_mask(6)),
        lambda: ss.split_heads(randn(2, 5, 30), 4),
    ]
    for call in calls:
        assert len(message(call).splitlines()[0]) <= 200


VALUE_CALLS: list[Callable[[torch.Tensor], Any]] = [
    lambda t: ss.linear(t[:2, :16], t[:16, :32]),
    lambda t: ss.sub(t[:8, :1], t[:8, 0]),
    lambda t: ss.matvec(t[:3, :4], t[0, :3]),
    lambda t: ss.dot(t[0, :3], t[0, :4]),
    lambda t: ss.apply_mask(t[None, :5, :7], ss.causal_mask(5)),
    lambda t: ss.layer_norm(t[:2, :8], t[0, :5]),
    lambda t: ss.split_heads(t[None, :5, :30], 4),
    lambda t: ss.permute(t[:2, :3], "b s h d -> b h s d"),
    lambda t: ss.linear(t[:2, :16].long(), t[:16, :32]),
    lambda t: ss.scale(2.0, t.tolist()),  # type: ignore[arg-type]
    lambda t: ss.cross_entropy(t[None, :5, :7], t[None, :5, :1].long()),
    lambda t: ss.cross_entropy(t[None, :5, :7], t[None, :5, 0]),
    lambda t: ss.embedding(t[:2, :5], t[:11, :4]),
    lambda t: ss.split_qkv(t[None, :5, :25], 2),
    lambda t: ss.attention(t[None, :5, :8], t[None, :5, :8], t[None, :5, :8], t[:8, :8] > 0),
    lambda t: ss.attention(
        t[None, None, :5, :8].half(), t[None, None, :5, :8], t[None, None, :5, :8]
    ),
    lambda t: ss.attention(
        t[:20, :8].reshape(1, 4, 5, 8),
        t[:15, :8].reshape(1, 3, 5, 8),
        t[:15, :8].reshape(1, 3, 5, 8),
    ),
    lambda t: ss.attention(
        t[:30, :8].reshape(1, 5, 6, 8),
        t[:30, :8].reshape(1, 6, 5, 8),
        t[:30, :8].reshape(1, 6, 5, 8),
    ),
    lambda t: ss.attention(t[None, :5, :8], t[None, :5, :8], t[None, :5, :8], t[:5, :5]),
    lambda t: ss.attention(
        t[None, :5, :8], t[None, :5, :8], t[None, :5, :8], attn_bias=t[:5, :5] > 0
    ),
    lambda t: ss.attention(
        t[:40, :8].reshape(2, 4, 5, 8),
        t[:40, :8].reshape(2, 4, 5, 8),
        t[:40, :8].reshape(2, 4, 5, 8),
        t[:2, :5] > 0,
    ),
    lambda t: ss.linear(t[:32, :32].reshape(2, 16, 32), t[:32, :16]),
    lambda t: ss.apply_mask(t[:40, :5].reshape(2, 4, 5, 5), t[:2, :5] > 0),
]


@pytest.mark.parametrize("call", VALUE_CALLS)
def test_messages_never_contain_tensor_values(call: Callable[[torch.Tensor], Any]) -> None:
    data = torch.full((40, 40), 7654.321)
    text = message(lambda: call(data))
    assert not re.search(r"7654|765\d|tensor\(\[", text), text


def test_transpose_hint_can_point_at_the_argument_that_bound_the_size() -> None:
    err = message(lambda: ss.matmul(randn(3, 4), randn(3, 5)))
    # Either A is transposed or B has the wrong size: the hint says so, it does not guess.
    assert err.splitlines()[-1] == (
        "hint: 'A' may be transposed: its last two axes fit swapped (A.T), "
        "unless 'B' is the one with the wrong size"
    )


def test_unsqueeze_hint_only_when_the_place_is_unambiguous() -> None:
    # With only free dims, an axis could go anywhere: no hint beats a wrong one.
    err = message(lambda: ss.permute(randn(2, 3, 4), "b s h d -> b h s d"))
    assert "hint" not in err


def test_shared_weight_in_a_batched_matmul() -> None:
    err = message(lambda: ss.matmul(randn(2, 5, 4), randn(4, 6)))
    assert err.splitlines()[0] == (
        "matmul(): argument 'B' dims '*batch' are () at B.shape[0:0], expected (2,) (bound by A.shape[0:1])"
    )
    assert err.splitlines()[-1] == (
        "hint: batch dims never broadcast: try B.expand(2, -1, -1), or linear(x, W.T) for one "
        "weight shared across the batch"
    )


# --- messages built by `checked` itself ---------------------------------------------------


@ss.checked
def stack(*xs: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return xs[0]


@ss.checked
def named(**xs: Float[Tensor, " n"]) -> None:
    pass


@ss.checked
def shifted(x: Float[Tensor, " n"], y: Float[Tensor, " n+1"], k: int) -> Float[Tensor, " n+1"]:
    return y


def test_a_packed_args_item_is_named_by_its_index() -> None:
    text = message(lambda: stack(randn(3), randn(3), randn(4)))
    assert text.splitlines()[0] == (
        "stack(): argument 'xs[2]' dim 'n' is 4 at xs[2].shape[0], expected 3 "
        "(bound by xs[0].shape[0])"
    )
    assert "tuple" not in text


def test_a_packed_kwargs_value_that_is_not_a_tensor() -> None:
    bad: Any = [1.0, 2.0]
    text = message(lambda: named(a=randn(3), b=bad))
    assert text.splitlines()[0] == (
        "named(): argument 'xs['b']' is list, expected a Float tensor of shape \"n\""
    )


def test_a_rejected_non_tensor_beside_a_symbolic_dim_is_a_shape_error() -> None:
    # The tensors hold; `n+1` can only be judged with the call's bindings.
    bad: Any = "two"
    text = message(lambda: shifted(randn(3), randn(4), bad))
    assert text == "shifted(): argument 'k' is str, expected int"


def test_a_jagged_nested_tensor_in_a_failing_call() -> None:
    nested = torch.nested.nested_tensor([randn(2, 3), randn(4, 3)], layout=torch.jagged)
    text = message(lambda: ss.matvec(nested, randn(3)))
    assert text.splitlines()[0] == (
        "matvec(): argument 'A' is a nested tensor (2, j1, 3) torch.float32 (jagged layout), "
        'expected a Float tensor "m n"'
    )


def test_an_annotation_beartype_cannot_check_fails_at_decoration() -> None:
    def f(x: 3) -> None:  # type: ignore[valid-type]
        pass

    with pytest.raises(TypeError, match=re.escape("checked: test_an_annotation_beartype_cannot")):
        ss.checked(f)


@ss.checked
def forgot_return(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return None  # type: ignore[return-value]


def test_a_missing_return_value() -> None:
    text = message(lambda: forgot_return(randn(3)))
    assert text.splitlines()[0].startswith("forgot_return(): the return value is None")


def test_cross_entropy_with_b_t_1_targets() -> None:
    targets = torch.zeros(2, 5, 1, dtype=torch.long)
    text = message(lambda: ss.cross_entropy(randn(2, 5, 11), targets))
    assert text.splitlines() == [
        "cross_entropy(): argument 'targets' dims '*batch' are (2, 5, 1) at targets.shape[0:3], "
        "expected (2, 5) (bound by logits.shape[0:2])",
        '    logits   (2, 5, 11) float32  "*batch vocab"',
        '    targets  (2, 5, 1) int64     "*batch"',
        "              ^^^^^^^",
        "bound: vocab=11 from logits.shape[2], batch=(2, 5) from logits.shape[0:2]",
        "hint: a size-1 axis is extra or missing: try targets.squeeze(-1)",
    ]


def test_grouped_query_heads_that_do_not_divide() -> None:
    text = message(lambda: ss.attention(randn(2, 8, 6, 4), randn(2, 3, 6, 4), randn(2, 3, 6, 4)))
    assert text.splitlines() == [
        "attention(): argument 'q' dim '*batch[1]' is 8 at q.shape[1], expected a multiple "
        "of 3 (k and v have 3 heads)",
        '    q  (2, 8, 6, 4) float32  "*batch s d"',
        "           ^",
        '    k  (2, 3, 6, 4) float32  "*kv_batch t d"',
        '    v  (2, 3, 6, 4) float32  "*kv_batch t e"',
        "hint: grouped-query attention needs q's heads to be a multiple of k and v's 3, "
        "or k/v heads that divide 8: one of [1, 2, 4, 8]",
    ]


def test_q_with_heads_and_seq_swapped() -> None:
    q, k, v = randn(2, 6, 5, 8), randn(2, 6, 5, 8), randn(2, 6, 5, 8)
    text = message(lambda: ss.attention(q.transpose(1, 2), k, v))
    assert text.splitlines() == [
        "attention(): argument 'q' dim '*batch[1]' is 5 at q.shape[1], expected a multiple "
        "of 6 (k and v have 6 heads)",
        '    q  (2, 5, 6, 8) float32  "*batch s d"',
        "           ^",
        '    k  (2, 6, 5, 8) float32  "*kv_batch t d"',
        '    v  (2, 6, 5, 8) float32  "*kv_batch t e"',
        "hint: 'q' looks like it has heads and seq swapped: try q.transpose(1, 2), "
        "unless 'k' and 'v' both have them swapped",
    ]


def test_channels_first_x_in_linear_names_both_transposes() -> None:
    weight = torch.nn.Linear(16, 32).weight
    text = message(lambda: ss.linear(randn(2, 16, 32), weight))
    assert text.splitlines() == [
        "linear(): argument 'weight' dim 'in_features' is 16 at weight.shape[1], "
        "expected 32 (bound by x.shape[2])",
        '    x       (2, 16, 32) float32  "*batch in_features"',
        '    weight  (32, 16) float32     "out_features in_features"',
        "                 ^^",
        "bound: in_features=32 from x.shape[2], batch=(2, 16) from x.shape[0:2]",
        "hint: either transpose fits, and they mean different things: weight.T if weight is "
        "stored as (in_features, out_features), or x.mT if x is channels-first "
        "(in_features on axis -2)",
    ]


def test_a_dtype_mix_names_the_odd_one_out() -> None:
    text = message(lambda: ss.attention(randn(2, 5, 8).half(), randn(2, 5, 8), randn(2, 5, 8)))
    assert text.splitlines() == [
        "attention(): argument 'q' has dtype float16, expected float32 like 'k'",
        "hint: cast it, e.g. q.to(k.dtype)",
    ]
