"""shapesafe.nn.GPT against a plain-torch GPT with nanoGPT's parameter names and layout."""

import math
import re
from collections.abc import Iterator
from typing import cast

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import shapesafe as ss
from shapesafe.nn import GPT, GPTBlock, GPTConfig
from tests.helpers import one_thread


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with one_thread():
        yield


class PlainAttention(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.heads = c.num_heads
        self.c_attn = nn.Linear(c.embed_dim, 3 * c.embed_dim, bias=c.bias)
        self.c_proj = nn.Linear(c.embed_dim, c.embed_dim, bias=c.bias)

    def forward(self, x: Tensor) -> Tensor:
        b, t, e = x.shape
        d = e // self.heads
        q, k, v = (
            part.reshape(b, t, self.heads, d).transpose(1, 2)
            for part in self.c_attn(x).chunk(3, dim=-1)
        )
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
        y = (weights @ v).transpose(1, 2).reshape(b, t, e)
        out: Tensor = self.c_proj(y)
        return out


class PlainNorm(nn.Module):
    def __init__(self, n: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)
        return out


class PlainMLP(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(c.embed_dim, 4 * c.embed_dim, bias=c.bias)
        self.c_proj = nn.Linear(4 * c.embed_dim, c.embed_dim, bias=c.bias)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.c_proj(F.gelu(self.c_fc(x)))
        return out


class PlainBlock(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = PlainNorm(c.embed_dim, c.bias)
        self.attn = PlainAttention(c)
        self.ln_2 = PlainNorm(c.embed_dim, c.bias)
        self.mlp = PlainMLP(c)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        out: Tensor = x + self.mlp(self.ln_2(x))
        return out


class PlainGPT(nn.Module):
    """nanoGPT's names: transformer.{wte,wpe,h.N.{ln_1,attn.c_attn,...},ln_f}, lm_head."""

    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(c.vocab_size, c.embed_dim),
                "wpe": nn.Embedding(c.block_size, c.embed_dim),
                "drop": nn.Dropout(0.0),
                "h": nn.ModuleList([PlainBlock(c) for _ in range(c.num_layers)]),
                "ln_f": PlainNorm(c.embed_dim, c.bias),
            }
        )
        self.lm_head = nn.Linear(c.embed_dim, c.vocab_size, bias=False)
        if c.tied:
            self.transformer["wte"].weight = self.lm_head.weight
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0.0, 0.1)  # not the default init, so a load that skips a key shows

    def forward(self, idx: Tensor) -> Tensor:
        t = self.transformer
        pos = t["wpe"](torch.arange(idx.shape[1]))
        x = t["drop"](t["wte"](idx) + pos)
        for block in cast(nn.ModuleList, t["h"]):
            x = block(x)
        logits: Tensor = self.lm_head(t["ln_f"](x))
        return logits


CONFIGS = [
    pytest.param(GPTConfig(vocab_size=50, block_size=16, embed_dim=32), id="tied-bias"),
    pytest.param(
        GPTConfig(vocab_size=37, block_size=8, embed_dim=24, num_heads=3, bias=False),
        id="tied-no-bias",
    ),
    pytest.param(
        GPTConfig(vocab_size=20, block_size=8, embed_dim=16, num_heads=2, num_layers=1, tied=False),
        id="untied",
    ),
]


@pytest.mark.parametrize("config", CONFIGS)
def test_nanogpt_layout_state_dict_loads_and_gives_the_same_logits(config: GPTConfig) -> None:
    torch.manual_seed(0)
    theirs = PlainGPT(config)
    ours = GPT(config)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())  # strict: every key matches, none is left over
    idx = torch.randint(0, config.vocab_size, (3, config.block_size))
    torch.testing.assert_close(ours(idx), theirs(idx))
    back = PlainGPT(config)
    back.load_state_dict(ours.state_dict())
    torch.testing.assert_close(back(idx), ours(idx))


def test_tied_head_shares_the_embedding() -> None:
    model = GPT(GPTConfig(vocab_size=20, embed_dim=16))
    assert model.lm_head.weight is model.transformer["wte"].weight


def test_init_is_gpt2s() -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=500, embed_dim=64, num_layers=2))
    stds = {name: float(p.detach().std()) for name, p in model.named_parameters() if p.dim() == 2}
    assert stds["transformer.h.0.attn.c_attn.weight"] == pytest.approx(0.02, rel=0.1)
    assert stds["transformer.h.0.attn.c_proj.weight"] == pytest.approx(0.01, rel=0.1)
    assert stds["transformer.wte.weight"] == pytest.approx(0.02, rel=0.1)


def test_nanogpt_style_init_reaches_every_linear() -> None:
    # Init code that dispatches on torch's classes must see shapesafe's modules.
    model = GPT(GPTConfig(vocab_size=30, embed_dim=16, num_heads=2))

    def init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)
        elif isinstance(m, nn.Embedding):
            nn.init.constant_(m.weight, 0.25)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.weight, 2.0)

    model.apply(init)
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            assert float(p.detach().std()) == 0.0, name


def test_trains_and_generates() -> None:
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=11, block_size=8, embed_dim=16, num_heads=2, num_layers=1))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    idx = torch.randint(0, 11, (4, 9))
    losses = []
    for _ in range(20):
        loss = ss.cross_entropy(model(idx[:, :-1]), idx[:, 1:])
        optimizer.zero_grad()
        torch.autograd.backward(loss)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.7
    out = model.generate(idx[:2, :3], 10, top_k=5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 13) and out.dtype == torch.long
    torch.testing.assert_close(out[:, :3], idx[:2, :3])


def test_too_long_a_sequence_is_a_value_error() -> None:
    model = GPT(GPTConfig(vocab_size=11, block_size=4, embed_dim=8, num_heads=2, num_layers=1))
    with pytest.raises(ValueError, match=re.escape("seq=5 is longer than block_size=4")):
        model(torch.zeros(1, 5, dtype=torch.long))


def test_float_ids_are_a_shape_error_at_the_model() -> None:
    model = GPT(GPTConfig(vocab_size=11, block_size=4, embed_dim=8, num_heads=2, num_layers=1))
    with pytest.raises(ss.ShapeError, match=re.escape("GPT.forward(): argument 'idx' has dtype")):
        model(torch.zeros(1, 3))


def test_a_block_blames_its_own_input_for_a_dtype_mix() -> None:
    block = GPTBlock(GPTConfig(vocab_size=11, embed_dim=8, num_heads=2)).double()
    with pytest.raises(ss.ShapeError) as info:
        block(torch.randn(2, 3, 8))
    assert str(info.value).startswith(
        "GPTBlock.forward(): argument 'x' has dtype float32, expected float64"
    )
    assert info.value.hint == "x.to(torch.float64), or move the module to x's dtype"
