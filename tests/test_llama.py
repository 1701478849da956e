"""shapesafe.nn.Llama against transformers' LlamaForCausalLM (random init, no download), its KV
cache against the full forward, and its shape and config errors."""

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor
from torch.fx.experimental.proxy_tensor import make_fx

import shapesafe
import shapesafe.nn
from shapesafe import ShapeError
from shapesafe.nn import (
    KVCache,
    Llama,
    LlamaAttention,
    LlamaConfig,
    LlamaDecoderLayer,
    LlamaModel,
    RMSNorm,
    RotaryEmbedding,
    SwiGLU,
)
from tests.helpers import one_thread

# Small enough to be quick; a wide init, so that greedy decoding does not settle on one token.
SIZES: dict[str, Any] = {
    "vocab_size": 97,
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 40,
    "rope_theta": 500.0,
    "initializer_range": 0.2,
}

CONFIGS = [
    pytest.param({"num_key_value_heads": 2, "tie_word_embeddings": False}, id="gqa-untied"),
    pytest.param({"num_key_value_heads": 1, "tie_word_embeddings": True}, id="mqa-tied"),
    pytest.param({"num_key_value_heads": 4, "tie_word_embeddings": True}, id="mha-tied"),
    pytest.param({"num_key_value_heads": 4, "tie_word_embeddings": False}, id="mha-untied"),
    pytest.param(
        {"num_key_value_heads": 2, "head_dim": 12, "attention_bias": True, "mlp_bias": True},
        id="gqa-head-dim-12-biases",
    ),
]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with one_thread():
        yield


def pair(**overrides: Any) -> tuple[Llama, transformers.LlamaForCausalLM]:
    """A transformers model with random weights, and ours holding its state dict."""
    sizes = {**SIZES, **overrides}
    torch.manual_seed(0)
    # No special tokens: transformers' generate would stop at an end-of-sequence id.
    hf_config = transformers.LlamaConfig(
        **sizes, bos_token_id=None, eos_token_id=None, pad_token_id=None
    )
    theirs = transformers.LlamaForCausalLM(hf_config)
    theirs.train(False)
    ours = Llama(LlamaConfig.from_transformers(hf_config)).eval()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def hf_greedy(model: transformers.LlamaForCausalLM, ids: Tensor, new: int) -> Tensor:
    out = model.generate(
        ids, attention_mask=torch.ones_like(ids), max_new_tokens=new, do_sample=False
    )
    assert isinstance(out, Tensor)
    return out


@pytest.mark.parametrize("overrides", CONFIGS)
def test_logits_equal_transformers(overrides: dict[str, Any]) -> None:
    ours, theirs = pair(**overrides)
    ids = torch.randint(0, SIZES["vocab_size"], (3, 11))
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), theirs(ids).logits)


@pytest.mark.parametrize("overrides", CONFIGS)
def test_greedy_generation_with_the_cache_equals_transformers(overrides: dict[str, Any]) -> None:
    ours, theirs = pair(**overrides)
    ids = torch.randint(0, SIZES["vocab_size"], (2, 6))
    mine = ours.generate(ids, max_new_tokens=12)
    assert mine.shape == (2, 18)
    torch.testing.assert_close(mine, hf_greedy(theirs, ids, 12), rtol=0, atol=0)
    # Not a degenerate run: the tokens vary.
    assert len(set(mine[:, 6:].flatten().tolist())) > 4


def test_state_dict_keys_are_transformers_and_load_both_ways() -> None:
    ours, theirs = pair(num_key_value_heads=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "model.layers.1.self_attn.k_proj.weight" in ours.state_dict()
    assert ours.state_dict()["model.layers.0.self_attn.k_proj.weight"].shape == (16, 32)
    torch.manual_seed(1)
    fresh = Llama(LlamaConfig(**SIZES, num_key_value_heads=2))
    theirs.load_state_dict(fresh.state_dict())
    ids = torch.randint(0, SIZES["vocab_size"], (2, 5))
    with torch.no_grad():
        torch.testing.assert_close(theirs(ids).logits, fresh(ids))


def test_tied_head_shares_the_embedding() -> None:
    tied = Llama(LlamaConfig(**SIZES, tie_word_embeddings=True))
    assert tied.lm_head.weight is tied.model.embed_tokens.weight
    untied = Llama(LlamaConfig(**SIZES))
    assert untied.lm_head.weight is not untied.model.embed_tokens.weight


def test_initial_weights_follow_the_config() -> None:
    torch.manual_seed(0)
    model = Llama(LlamaConfig(**{**SIZES, "initializer_range": 0.02}))
    layer = model.model.layers[0]
    assert isinstance(layer, LlamaDecoderLayer)
    q = layer.self_attn.q_proj.weight
    assert float(q.detach().std()) == pytest.approx(0.02, rel=0.2)
    norm = model.model.norm.weight
    torch.testing.assert_close(norm.detach(), torch.ones(SIZES["hidden_size"]))


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
def test_the_cache_gives_the_logits_of_the_full_sequence(kv_heads: int) -> None:
    ours, _ = pair(num_key_value_heads=kv_heads)
    ids = torch.randint(0, SIZES["vocab_size"], (2, 12))
    with torch.no_grad():
        full = ours(ids)
        cache = ours.new_cache()
        # A prompt of 5, one token, then a chunk of 6 after the cached positions.
        parts = [ours(ids[:, :5], cache), ours(ids[:, 5:6], cache), ours(ids[:, 6:], cache)]
    assert cache.seen() == 12
    assert cache.keys[0] is not None and cache.keys[0].shape == (2, kv_heads, 12, 8)
    torch.testing.assert_close(torch.cat(parts, dim=1), full)


def test_sampling_is_reproducible_and_top_k_1_is_greedy() -> None:
    ours, _ = pair(num_key_value_heads=2)
    ids = torch.randint(0, SIZES["vocab_size"], (2, 4))

    def sample(seed: int, **kwargs: Any) -> Tensor:
        generator = torch.Generator().manual_seed(seed)
        return ours.generate(ids, 10, do_sample=True, generator=generator, **kwargs)

    first = sample(0, temperature=0.8, top_k=20)
    assert torch.equal(first, sample(0, temperature=0.8, top_k=20))
    assert not torch.equal(sample(0, temperature=5.0), sample(1, temperature=5.0))
    assert torch.equal(sample(3, top_k=1), ours.generate(ids, 10))
    assert torch.equal(first[:, :4], ids)


def test_generate_zero_tokens_returns_the_prompt() -> None:
    ours, _ = pair()
    ids = torch.randint(0, SIZES["vocab_size"], (1, 4))
    assert torch.equal(ours.generate(ids, 0), ids)


def test_training_step_reaches_every_parameter() -> None:
    ours, _ = pair(num_key_value_heads=2)
    ours.train()
    ids = torch.randint(0, SIZES["vocab_size"], (2, 9))
    loss = shapesafe.cross_entropy(ours(ids[:, :-1]), ids[:, 1:])
    torch.autograd.backward(loss)
    for name, p in ours.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert float(p.grad.abs().sum()) > 0, name


def test_modules_agree_with_checks_off() -> None:
    ours, _ = pair(num_key_value_heads=2)
    ids = torch.randint(0, SIZES["vocab_size"], (2, 7))
    with torch.no_grad():
        checked = ours(ids)
        with shapesafe.mode("off"):
            unchecked = ours(ids)
            tokens = ours.generate(ids, 5)
    torch.testing.assert_close(checked, unchecked)
    assert torch.equal(tokens, ours.generate(ids, 5))


def test_rms_norm_equals_transformers_and_loads_torchs_state() -> None:
    theirs = transformers.models.llama.modeling_llama.LlamaRMSNorm(16, eps=1e-5)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
    ours = RMSNorm(16, eps=1e-5)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 16)
    torch.testing.assert_close(ours(x), theirs(x))
    assert isinstance(ours, torch.nn.RMSNorm)
    back = torch.nn.RMSNorm(16, eps=1e-5)
    back.load_state_dict(ours.state_dict())
    torch.testing.assert_close(back(x), ours(x))


def test_swiglu_is_down_of_silu_gate_times_up() -> None:
    mlp = SwiGLU(8, 20)
    x = torch.randn(2, 3, 8)
    gate, up, down = mlp.gate_proj.weight, mlp.up_proj.weight, mlp.down_proj.weight
    expected = (torch.nn.functional.silu(x @ gate.T) * (x @ up.T)) @ down.T
    torch.testing.assert_close(mlp(x), expected)
    assert {n for n, _ in mlp.named_parameters()} == {
        "gate_proj.weight",
        "up_proj.weight",
        "down_proj.weight",
    }


def test_rotary_table_equals_transformers() -> None:
    config = transformers.LlamaConfig(**SIZES)
    theirs = transformers.models.llama.modeling_llama.LlamaRotaryEmbedding(config)
    ours = RotaryEmbedding(8, SIZES["rope_theta"])
    positions = torch.arange(3, 10)
    cos, sin = ours(positions, torch.float32)
    want_cos, want_sin = theirs(torch.zeros(1), positions[None])
    torch.testing.assert_close(cos, want_cos[0])
    torch.testing.assert_close(sin, want_sin[0])
    assert list(ours.state_dict()) == []  # the table follows from the config


@pytest.mark.parametrize(
    "module",
    [RMSNorm, SwiGLU, RotaryEmbedding, LlamaAttention, LlamaDecoderLayer, LlamaModel, Llama],
)
def test_every_forward_is_checked_and_exported(module: type[torch.nn.Module]) -> None:
    assert module.__name__ in shapesafe.nn.__all__
    assert hasattr(module.forward, "__shapesafe__")


def test_a_wrong_width_is_named() -> None:
    config = LlamaConfig(**SIZES, num_key_value_heads=2)
    with pytest.raises(
        ShapeError, match=re.escape("SwiGLU.forward(): argument 'x' dim 'hidden' is 16")
    ):
        SwiGLU(32, 48)(torch.randn(2, 5, 16))
    with pytest.raises(
        ShapeError, match=re.escape("RMSNorm.forward(): argument 'x' dim 'features' is 31")
    ):
        RMSNorm(32)(torch.randn(2, 5, 31))
    layer = LlamaDecoderLayer(config)
    cos, sin = RotaryEmbedding(8)(torch.arange(5), torch.float32)
    with pytest.raises(
        ShapeError, match=re.escape("LlamaDecoderLayer.forward(): argument 'x' dim 'hidden' is 24")
    ):
        layer(torch.randn(2, 5, 24), cos, sin)


def test_a_rotary_table_for_other_positions_is_named() -> None:
    attn = LlamaAttention(LlamaConfig(**SIZES))
    cos, sin = RotaryEmbedding(8)(torch.arange(6), torch.float32)
    with pytest.raises(ShapeError) as info:
        attn(torch.randn(2, 5, 32), cos, sin)
    headline = str(info.value).splitlines()[0]
    # x says 5 positions, cos and sin 6: which side is blamed is the odd-one-out rule's call.
    assert headline.startswith("LlamaAttention.forward(): argument ")
    assert info.value.argument in ("x", "cos") and info.value.dim == "seq"
    assert re.search(r"dim 'seq' is (6 at cos|5 at x)\.shape", headline), headline
    cos, sin = RotaryEmbedding(16)(torch.arange(5), torch.float32)
    with pytest.raises(ShapeError, match=re.escape("argument 'cos' dim 'head_dim' is 16")):
        attn(torch.randn(2, 5, 32), cos, sin)


def test_ids_longer_than_max_position_embeddings_are_a_value_error() -> None:
    model = Llama(LlamaConfig(**SIZES))
    ids = torch.randint(0, SIZES["vocab_size"], (1, 41))
    with pytest.raises(
        ValueError,
        match=re.escape("Llama.forward(): seq=41 goes past max_position_embeddings=40"),
    ):
        model(ids)
    cache = model.new_cache()
    model(ids[:, :38], cache)
    with pytest.raises(
        ValueError,
        match=re.escape("seq=3 after the 38 positions in the cache goes past max_position"),
    ):
        model(ids[:, :3], cache)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Llama.generate(): a prompt of 30 tokens and max_new_tokens=11 go past "
            "max_position_embeddings=40"
        ),
    ):
        model.generate(ids[:, :30], 11)


def test_ids_of_the_wrong_rank_or_dtype_are_shape_errors() -> None:
    model = Llama(LlamaConfig(**SIZES))
    ids = torch.randint(0, SIZES["vocab_size"], (2, 5))
    with pytest.raises(
        ShapeError, match=re.escape("Llama.forward(): argument 'input_ids' has 1 dim (5,)")
    ):
        model(ids[0])
    with pytest.raises(
        ShapeError, match=re.escape("Llama.forward(): argument 'input_ids' has dtype float32")
    ):
        model(ids.float())


def test_a_cache_of_another_batch_is_a_shape_error() -> None:
    model = Llama(LlamaConfig(**SIZES, num_key_value_heads=2))
    cache = model.new_cache()
    model(torch.randint(0, SIZES["vocab_size"], (2, 5)), cache)
    with pytest.raises(ShapeError) as info:
        model(torch.randint(0, SIZES["vocab_size"], (3, 1)), cache)
    assert "batch" in str(info.value).splitlines()[0]
    assert "3" in str(info.value).splitlines()[0]


def test_a_module_blames_its_input_for_a_dtype_mix() -> None:
    layer = LlamaDecoderLayer(LlamaConfig(**SIZES)).double()
    cos, sin = RotaryEmbedding(8)(torch.arange(5), torch.float32)
    with pytest.raises(ShapeError) as info:
        layer(torch.randn(2, 5, 32), cos, sin)
    assert str(info.value).startswith(
        "LlamaDecoderLayer.forward(): argument 'x' has dtype float32, expected float64"
    )


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        pytest.param(
            {"num_attention_heads": 4, "num_key_value_heads": 3},
            "num_key_value_heads=3 must divide num_attention_heads=4; try one of [1, 2, 4]",
            id="kv-heads-do-not-divide",
        ),
        pytest.param(
            {"hidden_size": 30, "num_attention_heads": 4},
            "num_attention_heads=4 must divide hidden_size=30",
            id="heads-do-not-divide",
        ),
        pytest.param(
            {"hidden_size": 36, "num_attention_heads": 4},
            "head_dim=9 must be even",
            id="odd-head-dim",
        ),
        pytest.param(
            {"num_key_value_heads": 0}, "num_key_value_heads must be >= 1, got 0", id="zero-kv"
        ),
        pytest.param({"vocab_size": 2.5}, "vocab_size must be an int, got float", id="float-vocab"),
    ],
)
def test_bad_config_is_a_value_error(sizes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        LlamaConfig(**{**SIZES, **sizes})


def test_a_cache_of_another_depth_is_a_value_error() -> None:
    model = Llama(LlamaConfig(**SIZES))
    with pytest.raises(
        ValueError, match=re.escape("the cache holds 3 layers, the model has 2; make one with")
    ):
        model(torch.randint(0, SIZES["vocab_size"], (1, 4)), KVCache(3))


def test_kv_cache_starts_empty() -> None:
    cache = KVCache(3)
    assert cache.seen() == 0
    assert repr(cache) == "KVCache(num_layers=3, seen=0)"


def test_config_from_transformers_reads_the_shared_fields() -> None:
    sizes = {**SIZES, "num_key_value_heads": 2, "tie_word_embeddings": True}
    theirs = transformers.LlamaConfig(**sizes)
    config = LlamaConfig.from_transformers(theirs)
    assert config == LlamaConfig(**sizes, head_dim=8)
    assert config.rope_theta == 500.0
    assert config.kv_heads_or_default() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"rope_scaling": {"rope_type": "linear", "factor": 2.0}},
            "rope_type 'linear' is not supported",
            id="scaled-rope",
        ),
        pytest.param({"hidden_act": "gelu"}, "hidden_act 'gelu' is not supported", id="gelu"),
    ],
)
def test_config_from_transformers_refuses_what_llama_does_not_compute(
    overrides: dict[str, Any], message: str
) -> None:
    theirs = transformers.LlamaConfig(**SIZES, **overrides)
    with pytest.raises(ValueError, match=re.escape(message)):
        LlamaConfig.from_transformers(theirs)


def test_a_child_replaced_by_one_of_another_width_is_a_shape_error() -> None:
    model = Llama(LlamaConfig(**SIZES, num_key_value_heads=2))
    ids = torch.randint(0, SIZES["vocab_size"], (2, 5))
    cache = model.new_cache()
    model(ids, cache)
    layer = model.model.layers[1]
    assert isinstance(layer, LlamaDecoderLayer)
    # Heads of 6 features where the rotary tables have 8: the checked ops say so.
    layer.self_attn.q_proj = torch.nn.Linear(32, 24, bias=False)  # type: ignore[assignment]
    with pytest.raises(ShapeError) as info:
        model(ids[:, :1], cache)
    assert str(info.value).startswith("apply_rope(): argument ")
    # The failed call left layer 1's cache as it was (layer 0 had appended before it).
    assert cache.keys[1] is not None and cache.keys[1].shape[2] == 5
    assert cache.keys[0] is not None and cache.keys[0].shape[2] == 6


class _FirstRow(torch.nn.Module):
    """A projection of the first sequence of the batch alone: (1, seq, out)."""

    def __init__(self, proj: torch.nn.Module) -> None:
        super().__init__()
        self.proj = proj

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.proj(x[:1])
        return out


def test_keys_of_another_batch_from_a_foreign_child_do_not_broadcast() -> None:
    # SDPA would broadcast keys and values of batch 1 over queries of batch 2.
    attention = LlamaAttention(LlamaConfig(**SIZES, num_key_value_heads=2))
    attention.k_proj = _FirstRow(attention.k_proj)  # type: ignore[assignment]
    attention.v_proj = _FirstRow(attention.v_proj)  # type: ignore[assignment]
    cos, sin = RotaryEmbedding(8)(torch.arange(5))
    with pytest.raises(ShapeError) as info:
        attention(torch.randn(2, 5, 32), cos, sin)
    assert str(info.value).startswith("attention(): argument ")


def test_keys_of_another_batch_from_a_cache_subclass_do_not_broadcast() -> None:
    class FirstRowCache(KVCache):
        def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
            return k[:1], v[:1]

    model = Llama(LlamaConfig(**SIZES, num_key_value_heads=2))
    ids = torch.randint(0, SIZES["vocab_size"], (2, 5))
    with pytest.raises(ShapeError) as info:
        model(ids, FirstRowCache(SIZES["num_hidden_layers"]))
    assert str(info.value).startswith("attention(): argument ")


def test_a_residual_branch_of_another_shape_does_not_broadcast() -> None:
    class LostSeq(torch.nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return x.mean(dim=1, keepdim=True)  # (batch, 1, hidden): would broadcast

    layer = LlamaDecoderLayer(LlamaConfig(**SIZES))
    layer.mlp = LostSeq()  # type: ignore[assignment]
    cos, sin = RotaryEmbedding(8)(torch.arange(5))
    with pytest.raises(ShapeError) as info:
        layer(torch.randn(2, 5, 32), cos, sin)
    assert str(info.value).startswith("add(): argument 'b'")


def test_rotary_span_slices_tables_equal_to_forward() -> None:
    rotary = RotaryEmbedding(8, 500.0, max_positions=100)
    cos, sin = rotary.span(3, 5, torch.float32, torch.device("cpu"))
    want_cos, want_sin = rotary(torch.arange(3, 8))
    assert torch.equal(cos, want_cos) and torch.equal(sin, want_sin)
    held = rotary._held[(torch.device("cpu"), torch.float32)][0]
    assert held.shape == (64, 8)
    cos, _ = rotary.span(90, 10, torch.float32, torch.device("cpu"))  # grows, to the limit
    assert rotary._held[(torch.device("cpu"), torch.float32)][0].shape == (100, 8)
    assert torch.equal(cos, rotary(torch.arange(90, 100))[0])
    half, _ = rotary.span(0, 2, torch.float64, torch.device("cpu"))
    assert half.dtype == torch.float64


def test_a_traced_rotary_table_is_not_kept() -> None:
    rotary = RotaryEmbedding(8)

    def tables(positions: Tensor) -> tuple[Tensor, Tensor]:
        return rotary.span(0, positions.shape[0], torch.float32, positions.device)

    make_fx(tables, tracing_mode="symbolic")(torch.arange(5))
    assert rotary._held == {}
    cos, _ = rotary.span(0, 5, torch.float32, torch.device("cpu"))
    assert torch.equal(cos, rotary(torch.arange(5))[0])


@pytest.mark.slow
@pytest.mark.parametrize("strict", [False, True])
def test_export_with_dynamic_batch_and_seq_under_mode_off(strict: bool) -> None:
    # The model's own code keeps sizes symbolic: no int() of a size, no branch on a value.
    model = Llama(LlamaConfig(**SIZES, num_key_value_heads=2)).eval()
    ids = torch.randint(0, SIZES["vocab_size"], (2, 7))
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=40)
    before = shapesafe.get_mode()
    shapesafe.set_mode("off")
    try:
        program = torch.export.export(
            model, (ids,), dynamic_shapes=({0: batch, 1: seq},), strict=strict
        )
    finally:
        shapesafe.set_mode(before)
    other = torch.randint(0, SIZES["vocab_size"], (3, 11))
    torch.testing.assert_close(program.module()(other), model(other))


@st.composite
def llama_cases(draw: st.DrawFn) -> tuple[dict[str, Any], int, int, list[int]]:
    """A small config, a batch size, a sequence length and cut points of that sequence."""
    heads = draw(st.sampled_from([1, 2, 4, 6]))
    kv_heads = draw(st.sampled_from([h for h in range(1, heads + 1) if heads % h == 0]))
    head_dim = draw(st.sampled_from([2, 4, 6, 8]))
    sizes = {
        **SIZES,
        # transformers wants heads to divide hidden_size even where head_dim is given.
        "hidden_size": heads * draw(st.sampled_from([2, 4])),
        "intermediate_size": draw(st.integers(4, 40)),
        "num_hidden_layers": draw(st.integers(1, 2)),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "tie_word_embeddings": draw(st.booleans()),
    }
    batch, seq = draw(st.integers(1, 3)), draw(st.integers(1, 12))
    cuts = sorted(draw(st.sets(st.integers(1, seq - 1), max_size=3))) if seq > 1 else []
    return sizes, batch, seq, cuts


@settings(max_examples=12, deadline=None)
@given(llama_cases())
def test_any_small_config_equals_transformers_and_its_cache_the_full_pass(
    case: tuple[dict[str, Any], int, int, list[int]],
) -> None:
    sizes, batch, seq, cuts = case
    ours, theirs = pair(**sizes)
    ids = torch.randint(0, SIZES["vocab_size"], (batch, seq))
    with torch.no_grad():
        full = ours(ids)
        torch.testing.assert_close(full, theirs(ids).logits)
        cache = ours.new_cache()
        bounds = [0, *cuts, seq]
        parts = [ours(ids[:, a:b], cache) for a, b in itertools.pairwise(bounds)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full)
    assert cache.seen() == seq


def test_a_failed_call_appends_nothing_to_its_layer() -> None:
    model = Llama(LlamaConfig(**{**SIZES, "num_hidden_layers": 1}))
    ids = torch.randint(0, SIZES["vocab_size"], (2, 5))
    cache = model.new_cache()
    model(ids, cache)
    before = cache.keys[0]
    layer = model.model.layers[0]
    assert isinstance(layer, LlamaDecoderLayer)
    layer.self_attn.o_proj = shapesafe.nn.Linear(20, 32, bias=False)  # checked, wrong width
    with pytest.raises(ShapeError, match=re.escape("Linear.forward(): argument 'x' dim")):
        model(ids[:, :1], cache)
    assert cache.keys[0] is before and cache.seen() == 5
