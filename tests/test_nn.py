"""shapesafe.nn: numerics against torch, state dicts both ways, grads, and config-size errors."""

import math
import re

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

import shapesafe
import shapesafe.nn
from shapesafe import ShapeError
from shapesafe.nn import MLP, Block, CausalSelfAttention, Embedding, LayerNorm, Linear


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batch", [(), (3,), (2, 5), (2, 1, 4)], ids=str)
def test_linear_matches_torch_and_loads_its_state(bias: bool, batch: tuple[int, ...]) -> None:
    ours = Linear(16, 32, bias=bias)
    theirs = torch.nn.Linear(16, 32, bias=bias)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(*batch, 16)
    out = ours(x)
    assert out.shape == (*batch, 32)
    torch.testing.assert_close(out, theirs(x))


def test_torch_linear_loads_our_state() -> None:
    ours = Linear(16, 32)
    theirs = torch.nn.Linear(16, 32)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 16)
    torch.testing.assert_close(theirs(x), ours(x))


def test_linear_parameters_look_like_torch() -> None:
    ours, theirs = Linear(16, 32), torch.nn.Linear(16, 32)
    shapes = {name: p.shape for name, p in ours.named_parameters()}
    assert shapes == {name: p.shape for name, p in theirs.named_parameters()}
    bound = 1 / math.sqrt(16)
    assert ours.bias is not None
    assert float(ours.weight.detach().abs().max()) <= bound
    assert float(ours.bias.detach().abs().max()) <= bound


def test_linear_names_in_features() -> None:
    layer = Linear(16, 32)
    with pytest.raises(
        ShapeError, match=re.escape("dim 'in_features' is 15 at x.shape[1], expected 16")
    ) as info:
        layer(torch.randn(4, 15))
    assert info.value.argument == "x"
    assert info.value.dim == "in_features"
    assert str(info.value).startswith("Linear.forward(): argument 'x'")


def test_linear_rejects_integer_input_with_a_hint() -> None:
    with pytest.raises(ShapeError, match=r"dtype int64, expected Float(.|\n)*embed them first"):
        Linear(16, 32)(torch.arange(16))


def test_linear_checks_its_return() -> None:
    layer = Linear(16, 32)
    layer.out_features = 31  # a config that no longer matches the weight
    with pytest.raises(ShapeError, match=re.escape("the return value dim 'out_features' is 32")):
        layer(torch.randn(4, 16))


@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_matches_torch_both_ways(bias: bool) -> None:
    ours = LayerNorm(8, bias=bias)
    theirs = torch.nn.LayerNorm(8, bias=bias)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        if theirs.bias is not None:
            theirs.bias.uniform_(-1, 1)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 8)
    torch.testing.assert_close(ours(x), theirs(x))
    back = torch.nn.LayerNorm(8, bias=bias)
    back.load_state_dict(ours.state_dict())
    torch.testing.assert_close(back(x), ours(x))


def test_layer_norm_names_features() -> None:
    with pytest.raises(
        ShapeError, match=re.escape("dim 'features' is 4 at x.shape[2], expected 8")
    ):
        LayerNorm(8)(torch.randn(2, 3, 4))


def _reference_attention(attn: CausalSelfAttention, x: Tensor) -> Tensor:
    """Causal multi-head attention written with plain torch ops, from the same weights."""
    b, s, e = x.shape
    h = attn.num_heads
    d = e // h

    def heads(proj: Linear) -> Tensor:
        y = x @ proj.weight.T
        if proj.bias is not None:
            y = y + proj.bias
        return y.view(b, s, h, d).transpose(1, 2)

    q, k, v = heads(attn.q_proj), heads(attn.k_proj), heads(attn.v_proj)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    future = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
    weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
    merged = (weights @ v).transpose(1, 2).reshape(b, s, e)
    out = merged @ attn.out_proj.weight.T
    if attn.out_proj.bias is not None:
        out = out + attn.out_proj.bias
    return out


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_causal_self_attention_matches_plain_torch(heads: int) -> None:
    attn = CausalSelfAttention(16, heads)
    x = torch.randn(3, 7, 16)
    torch.testing.assert_close(attn(x), _reference_attention(attn, x))


def test_causal_self_attention_does_not_look_ahead() -> None:
    attn = CausalSelfAttention(16, 4)
    x = torch.randn(1, 6, 16)
    changed = x.clone()
    changed[:, 4:] = torch.randn(1, 2, 16)
    torch.testing.assert_close(attn(x)[:, :4], attn(changed)[:, :4])


def test_causal_self_attention_rejects_a_head_count_that_does_not_divide() -> None:
    with pytest.raises(ValueError, match=re.escape("num_heads=5 must divide embed_dim=64")):
        CausalSelfAttention(64, 5)


def test_causal_self_attention_wants_batch_seq_embed() -> None:
    attn = CausalSelfAttention(16, 4)
    with pytest.raises(ShapeError, match=re.escape("has 2 dims (7, 16), expected 3")):
        attn(torch.randn(7, 16))
    with pytest.raises(ShapeError, match=re.escape("dim 'embed' is 8 at x.shape[2], expected 16")):
        attn(torch.randn(2, 7, 8))


def test_mlp_shapes_and_values() -> None:
    mlp = MLP(8, 20)
    x = torch.randn(2, 3, 8)
    expected = F.linear(
        F.gelu(F.linear(x, mlp.up.weight, mlp.up.bias)), mlp.down.weight, mlp.down.bias
    )
    torch.testing.assert_close(mlp(x), expected)
    assert mlp.up.weight.shape == (20, 8)
    assert MLP(8).hidden_dim == 32


def test_block_grads_flow_with_parameter_shapes() -> None:
    block = Block(16, 4)
    x = torch.randn(2, 5, 16, requires_grad=True)
    out = block(x)
    assert out.shape == (2, 5, 16)
    out.pow(2).mean().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    for name, p in block.named_parameters():
        assert p.grad is not None, name
        assert p.grad.shape == p.shape, name
        assert bool(torch.isfinite(p.grad).all()), name
        assert float(p.grad.abs().sum()) > 0, name


def test_block_is_residual_pre_norm() -> None:
    block = Block(16, 2)
    x = torch.randn(2, 5, 16)
    h = x + block.attn(block.ln1(x))
    torch.testing.assert_close(block(x), h + block.mlp(block.ln2(h)))


def test_block_names_embed_and_modules_agree_with_checks_off() -> None:
    block = Block(16, 2)
    with pytest.raises(
        ShapeError, match=re.escape("Block.forward(): argument 'x' dim 'embed' is 12")
    ):
        block(torch.randn(2, 5, 12))
    x = torch.randn(2, 5, 16)
    with shapesafe.mode("off"):
        unchecked = block(x)
    torch.testing.assert_close(block(x), unchecked)


@pytest.mark.parametrize("module", [Linear, LayerNorm, MLP, CausalSelfAttention, Block])
def test_every_forward_is_checked_and_annotated(module: type[torch.nn.Module]) -> None:
    assert module.__name__ in shapesafe.nn.__all__
    forward = module.forward
    assert hasattr(forward, "__shapesafe__")
    hints = forward.__annotations__
    assert set(hints) == {"x", "return"}
    assert hints["x"].dim_str.split()[-1].startswith(("in_features=", "features=", "embed="))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: Linear(0, 4), "in_features must be >= 1, got 0", id="zero-in"),
        pytest.param(
            lambda: Linear(4, 2.0),  # type: ignore[arg-type]
            "out_features must be an int, got float",
            id="float-out",
        ),
        pytest.param(
            lambda: LayerNorm(True), "features must be an int, got bool", id="bool-features"
        ),
        pytest.param(lambda: MLP(8, -1), "hidden_dim must be >= 1, got -1", id="negative-hidden"),
    ],
)
def test_bad_config_is_a_value_error(make: object, message: str) -> None:
    assert callable(make)
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        pytest.param(Linear, torch.nn.Linear, id="Linear"),
        pytest.param(LayerNorm, torch.nn.LayerNorm, id="LayerNorm"),
        pytest.param(Embedding, torch.nn.Embedding, id="Embedding"),
    ],
)
def test_modules_are_torchs_subclasses(
    ours: type[torch.nn.Module], theirs: type[torch.nn.Module]
) -> None:
    assert issubclass(ours, theirs)
    assert hasattr(ours.forward, "__shapesafe__")


def test_isinstance_init_reaches_linear() -> None:
    # The init pattern of GPT-2 codebases: dispatch on torch's classes.
    model = torch.nn.Sequential(Linear(64, 64), LayerNorm(64), Linear(64, 64))

    def init(m: torch.nn.Module) -> None:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)

    torch.manual_seed(0)
    model.apply(init)
    for i in (0, 2):
        layer = model[i]
        assert isinstance(layer, Linear)
        assert float(layer.weight.detach().std()) == pytest.approx(0.02, rel=0.1)


def test_embedding_matches_torch_and_loads_its_state() -> None:
    ours, theirs = Embedding(11, 4), torch.nn.Embedding(11, 4)
    ours.load_state_dict(theirs.state_dict())
    ids = torch.randint(0, 11, (2, 5))
    torch.testing.assert_close(ours(ids), theirs(ids))
    with pytest.raises(
        ShapeError, match=re.escape("Embedding.forward(): argument 'ids' has dtype")
    ):
        ours(ids.float())


@pytest.mark.parametrize("heads", [1, 2, 4])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_attention_loads_the_unfused_weights_and_agrees(heads: int, bias: bool) -> None:
    split = CausalSelfAttention(16, heads, bias)
    fused = CausalSelfAttention(16, heads, bias, fused=True)
    assert {n for n, _ in fused.named_parameters()} == (
        {"c_attn.weight", "c_proj.weight"} | ({"c_attn.bias", "c_proj.bias"} if bias else set())
    )
    with torch.no_grad():
        fused.c_attn.weight.copy_(
            torch.cat([split.q_proj.weight, split.k_proj.weight, split.v_proj.weight])
        )
        fused.c_proj.weight.copy_(split.out_proj.weight)
        if bias:
            assert fused.c_attn.bias is not None and fused.c_proj.bias is not None
            assert split.q_proj.bias is not None and split.k_proj.bias is not None
            assert split.v_proj.bias is not None and split.out_proj.bias is not None
            fused.c_attn.bias.copy_(
                torch.cat([split.q_proj.bias, split.k_proj.bias, split.v_proj.bias])
            )
            fused.c_proj.bias.copy_(split.out_proj.bias)
    x = torch.randn(3, 7, 16)
    torch.testing.assert_close(fused(x), split(x))
    torch.testing.assert_close(split(x), _reference_attention(split, x))


def test_attention_dropout_only_in_training() -> None:
    attn = CausalSelfAttention(16, 2, dropout=0.5)
    x = torch.randn(2, 5, 16)
    attn.eval()
    torch.testing.assert_close(attn(x), attn(x))
    attn.train()
    assert not torch.equal(attn(x), attn(x))


@pytest.mark.parametrize(
    ("module", "x"),
    [
        pytest.param(Linear(4, 3).to(torch.bfloat16), torch.randn(2, 4), id="linear-bf16"),
        pytest.param(LayerNorm(4).double(), torch.randn(2, 4), id="layer-norm-f64"),
        pytest.param(MLP(4).double(), torch.randn(2, 4), id="mlp-f64"),
        pytest.param(
            CausalSelfAttention(4, 2).to(torch.bfloat16), torch.randn(2, 3, 4), id="attention-bf16"
        ),
        pytest.param(Block(4, 2).double(), torch.randn(2, 3, 4), id="block-f64"),
    ],
)
def test_a_module_blames_its_input_for_a_dtype_mix(module: torch.nn.Module, x: Tensor) -> None:
    with pytest.raises(ShapeError) as info:
        module(x)
    err = info.value
    assert err.argument == "x" and err.actual == "float32"
    assert str(err).startswith(f"{type(module).__name__}.forward(): argument 'x' has dtype float32")
    assert err.hint is not None and err.hint.startswith("x.to(torch.")


def test_a_module_blames_its_input_for_a_device_mix() -> None:
    # "meta" stands in for a second device on a CPU-only machine.
    with pytest.raises(ShapeError) as info:
        Linear(4, 3, device="meta")(torch.randn(2, 4))
    err = info.value
    assert err.argument == "x" and err.actual == "cpu" and err.expected == "meta"
    assert err.hint == "x.to('meta'), or move the module to x's device"


def test_linear_parameters_that_do_not_fit_are_shape_errors() -> None:
    layer = Linear(16, 32)
    layer.weight = torch.nn.Parameter(torch.randn(32, 12))
    with pytest.raises(ShapeError) as info:
        layer(torch.randn(4, 16))
    assert info.value.op == "linear" and info.value.argument == "weight"
    assert info.value.dim == "in_features"
    layer = Linear(16, 32)
    layer.bias = torch.nn.Parameter(torch.randn(1))  # F.linear alone would broadcast it
    with pytest.raises(ShapeError) as info:
        layer(torch.randn(4, 16))
    assert info.value.op == "linear" and info.value.argument == "bias"
    layer = Linear(16, 32)
    layer.weight = torch.nn.Parameter(torch.randn(32, 16).double())
    with pytest.raises(ShapeError) as info:
        layer(torch.randn(4, 16))
    assert info.value.argument == "x" and info.value.expected == "float64"


def test_layer_norm_and_embedding_parameters_that_do_not_fit_are_shape_errors() -> None:
    norm = LayerNorm(8)
    norm.weight = torch.nn.Parameter(torch.ones(5))
    with pytest.raises(ShapeError) as info:
        norm(torch.randn(2, 8))
    assert info.value.op == "layer_norm" and info.value.argument == "weight"
    emb = Embedding(11, 4)
    emb.weight = torch.nn.Parameter(torch.randn(11))
    with pytest.raises(ShapeError) as info:
        emb(torch.zeros(2, 3, dtype=torch.long))
    assert info.value.op == "embedding" and info.value.argument == "weight"
    emb = Embedding(11, 4)
    emb.weight = torch.nn.Parameter(torch.randn(11, 6))  # runs, but the output breaks the contract
    with pytest.raises(ShapeError, match=re.escape("the return value dim 'embed' is 6")):
        emb(torch.zeros(2, 3, dtype=torch.long))


def test_inner_ops_equal_the_checked_ones() -> None:
    from shapesafe.nn import _inner

    x = torch.randn(2, 5, 24)
    qkv = _inner.INNER.split_qkv(x, 2)
    for ours, checked in zip(qkv, _inner.CHECKED.split_qkv(x, 2), strict=True):
        torch.testing.assert_close(ours, checked)
    q = _inner.INNER.split_heads(x, 4)
    torch.testing.assert_close(q, _inner.CHECKED.split_heads(x, 4))
    torch.testing.assert_close(_inner.INNER.merge_heads(q), _inner.CHECKED.merge_heads(q))
    out = _inner.INNER.attention(q, q, q, causal=True)
    torch.testing.assert_close(out, _inner.CHECKED.attention(q, q, q, causal=True))
    torch.testing.assert_close(_inner.INNER.add(x, x), _inner.CHECKED.add(x, x))
    torch.testing.assert_close(_inner.INNER.silu(x), _inner.CHECKED.silu(x))
    torch.testing.assert_close(_inner.INNER.hadamard(x, x), _inner.CHECKED.hadamard(x, x))
    # The inner ops are the checked ops' bodies, not copies of them.
    assert _inner.INNER.split_qkv is shapesafe.split_qkv.__wrapped__  # type: ignore[attr-defined]
    assert not hasattr(_inner.INNER.attention, "__shapesafe__")
    with pytest.raises(ShapeError, match=re.escape("add(): argument 'b'")):
        _inner.INNER.add(x, x[:, :1])


def test_a_child_that_returns_another_width_is_a_shape_error() -> None:
    attn = CausalSelfAttention(16, 4, fused=True)
    attn.c_attn = torch.nn.Linear(16, 40)  # type: ignore[assignment]
    with pytest.raises(ShapeError, match=re.escape("split_qkv(): argument 'x'")):
        attn(torch.randn(2, 5, 16))
    block = Block(16, 4)
    block.attn = torch.nn.Linear(16, 16)  # type: ignore[assignment]
    block.mlp = torch.nn.Linear(16, 1)  # type: ignore[assignment]
    with pytest.raises(ShapeError, match=re.escape("add(): argument 'b'")):
        block(torch.randn(2, 5, 16))
