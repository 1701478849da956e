"""A nanoGPT-style model and a Llama-style one, checked modules against plain torch.

For each model (`--model gpt`, `llama` or `both`), two workloads, each timed for four models
that hold the same weights:

- `plain`: a GPT written in plain torch with nanoGPT's module names and arithmetic
  (`F.scaled_dot_product_attention`, `F.layer_norm`, `x + y`), no checks;
- `checked`: `shapesafe.nn.GPT`, every module's `forward` and every op checked (the model's
  own by its wrapper, the modules inside it by their fast forms, `shapesafe/nn/_fastpath.py`);
- `checked, cold`: the same, with the verdict caches cleared before each timed call, so every
  check is a miss: a known structure with new sizes, decided by the unifier (the structures
  were accepted by the full jaxtyping + beartype check in the warm-up);
- `checked, mode off`: the same `shapesafe.nn.GPT` in a `shapesafe.mode("off")` block, which
  tells the cost of the wrappers' checks apart from the rest (the fast forms don't read the
  mode: they run either way).

`step` is one training step: forward, `cross_entropy`, backward and an AdamW update, at a
fixed `(batch, block)` shape, so after the first call every check is a cache hit.
`generate` samples 64 tokens one at a time from an 8-token prompt, so the sequence length,
and with it every signature, changes at each token: warm, each length was seen in an earlier
round (hits); cold, every token is a miss, as in the first `generate()` of a process after
its first token (which takes the full check once per function).

The Llama row: `plain` is a Llama in plain torch with transformers' module names
(`F.rms_norm`, `F.silu`, SDPA with `enable_gqa`, `torch.cat` onto a KV cache), against
`shapesafe.nn.Llama`; `generate` is greedy with a KV cache (`Llama.generate`), so each token
feeds one position and the cached length grows by one.

Variants run in interleaved rounds (rotating order, so drift in the machine's load hits them
alike); each number is the median over rounds of the CPU time of this thread (torch on one
thread), printed with its ratio to `plain`. Run: `python benchmarks/gpt_step.py [--rounds N]`.
"""

import argparse
import math
import platform
import statistics
import time
from collections.abc import Callable
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import shapesafe
from shapesafe import _cache
from shapesafe.nn import GPT, GPTConfig, Llama, LlamaConfig

CONFIG = GPTConfig(vocab_size=65, block_size=128, embed_dim=128, num_heads=4, num_layers=4)
LLAMA = LlamaConfig(
    vocab_size=65,
    hidden_size=128,
    intermediate_size=344,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
)
BATCH = 8
NEW_TOKENS = 64


class PlainAttention(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.heads = c.num_heads
        self.c_attn = nn.Linear(c.embed_dim, 3 * c.embed_dim, bias=c.bias)
        self.c_proj = nn.Linear(c.embed_dim, c.embed_dim, bias=c.bias)

    def forward(self, x: Tensor) -> Tensor:
        b, t, e = x.shape
        q, k, v = self.c_attn(x).split(e, dim=2)
        q = q.view(b, t, self.heads, e // self.heads).transpose(1, 2)
        k = k.view(b, t, self.heads, e // self.heads).transpose(1, 2)
        v = v.view(b, t, self.heads, e // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out: Tensor = self.c_proj(y.transpose(1, 2).reshape(b, t, e))
        return out


class PlainBlock(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.embed_dim, bias=c.bias)
        self.attn = PlainAttention(c)
        self.ln_2 = nn.LayerNorm(c.embed_dim, bias=c.bias)
        self.mlp = nn.ModuleDict(
            {
                "c_fc": nn.Linear(c.embed_dim, 4 * c.embed_dim, bias=c.bias),
                "c_proj": nn.Linear(4 * c.embed_dim, c.embed_dim, bias=c.bias),
            }
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        h = self.mlp["c_proj"](F.gelu(self.mlp["c_fc"](self.ln_2(x))))
        out: Tensor = x + h
        return out


class PlainGPT(nn.Module):
    def __init__(self, c: GPTConfig) -> None:
        super().__init__()
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(c.vocab_size, c.embed_dim),
                "wpe": nn.Embedding(c.block_size, c.embed_dim),
                "h": nn.ModuleList([PlainBlock(c) for _ in range(c.num_layers)]),
                "ln_f": nn.LayerNorm(c.embed_dim, bias=c.bias),
            }
        )
        self.lm_head = nn.Linear(c.embed_dim, c.vocab_size, bias=False)
        self.transformer["wte"].weight = self.lm_head.weight

    def forward(self, idx: Tensor) -> Tensor:
        t = self.transformer
        x = t["wte"](idx) + t["wpe"](torch.arange(idx.shape[1]))
        for block in cast(nn.ModuleList, t["h"]):
            x = block(x)
        logits: Tensor = self.lm_head(t["ln_f"](x))
        return logits


class PlainLlamaAttention(nn.Module):
    """Llama attention as transformers writes it: rotary, grouped-query heads, a KV cache."""

    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.heads, self.kv_heads = c.num_attention_heads, c.kv_heads_or_default()
        self.head_dim = c.head_dim_or_default()
        e, q, kv = c.hidden_size, self.heads * self.head_dim, self.kv_heads * self.head_dim
        self.q_proj = nn.Linear(e, q, bias=False)
        self.k_proj = nn.Linear(e, kv, bias=False)
        self.v_proj = nn.Linear(e, kv, bias=False)
        self.o_proj = nn.Linear(q, e, bias=False)

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | None, cache: list[Tensor] | None
    ) -> Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        if cache is not None:
            if cache:
                k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
            cache[:] = [k, v]
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None, enable_gqa=True
        )
        out: Tensor = self.o_proj(y.transpose(1, 2).reshape(b, t, -1))
        return out


def rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), dim=-1) * sin


class PlainLlamaLayer(nn.Module):
    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.self_attn = PlainLlamaAttention(c)
        self.mlp = nn.ModuleDict(
            {
                name: nn.Linear(*sizes, bias=False)
                for name, sizes in (
                    ("gate_proj", (c.hidden_size, c.intermediate_size)),
                    ("up_proj", (c.hidden_size, c.intermediate_size)),
                    ("down_proj", (c.intermediate_size, c.hidden_size)),
                )
            }
        )
        self.input_layernorm = nn.RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = nn.RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, mask: Tensor | None, cache: list[Tensor] | None
    ) -> Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask, cache)
        h = self.post_attention_layernorm(x)
        m = self.mlp
        out: Tensor = x + m["down_proj"](F.silu(m["gate_proj"](h)) * m["up_proj"](h))
        return out


class PlainLlama(nn.Module):
    """A Llama in plain torch with transformers' module names; `caches` holds one
    `[keys, values]` list per layer (empty at first) when generating."""

    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.model = nn.ModuleDict(
            {
                "embed_tokens": nn.Embedding(c.vocab_size, c.hidden_size),
                "layers": nn.ModuleList([PlainLlamaLayer(c) for _ in range(c.num_hidden_layers)]),
                "norm": nn.RMSNorm(c.hidden_size, c.rms_norm_eps),
            }
        )
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.num_layers = c.num_hidden_layers
        d = c.head_dim_or_default()
        inv_freq = 1.0 / c.rope_theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d)
        self.inv_freq: Tensor
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, idx: Tensor, caches: list[list[Tensor]] | None = None) -> Tensor:
        past = caches[0][0].shape[2] if caches and caches[0] else 0
        t = idx.shape[1]
        positions = torch.arange(past, past + t)
        freqs = positions.float()[:, None] * self.inv_freq[None, :]
        angles = torch.cat((freqs, freqs), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        mask = None if caches is None else torch.arange(past + t)[None, :] <= positions[:, None]
        x = self.model["embed_tokens"](idx)
        for i, layer in enumerate(cast(nn.ModuleList, self.model["layers"])):
            x = layer(x, cos, sin, mask, None if caches is None else caches[i])
        logits: Tensor = self.lm_head(self.model["norm"](x))
        return logits

    @torch.no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int) -> Tensor:
        caches: list[list[Tensor]] = [[] for _ in range(self.num_layers)]
        tokens, step = [idx], idx
        for _ in range(max_new_tokens):
            step = self(step, caches)[:, -1, :].argmax(dim=-1, keepdim=True)
            tokens.append(step)
        return torch.cat(tokens, dim=1)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: Tensor) -> None:
    logits = model(batch[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    torch.autograd.backward(loss)
    optimizer.step()


def checked_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: Tensor) -> None:
    loss = shapesafe.cross_entropy(model(batch[:, :-1]), batch[:, 1:])
    optimizer.zero_grad(set_to_none=True)
    torch.autograd.backward(loss)
    optimizer.step()


@torch.no_grad()
def generate(model: nn.Module, prompt: Tensor, seed: int = 0) -> Tensor:
    """The loop of `GPT.generate`, for any model that maps ids to logits."""
    generator = torch.Generator().manual_seed(seed)
    idx = prompt
    for _ in range(NEW_TOKENS):
        logits = model(idx[:, -CONFIG.block_size :])[:, -1, :]
        nxt = torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)
        idx = torch.cat([idx, nxt], dim=1)
    return idx


def cpu_seconds(fn: Callable[[], object]) -> float:
    start = time.thread_time_ns()
    fn()
    return (time.thread_time_ns() - start) / 1e9


def clear_caches() -> None:
    """Empty every verdict cache: the next call of each signature is a miss. The structures
    the full check accepted stay, as after the first call of each function in a process."""
    _cache.clear_all()


def measure(variants: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median CPU seconds of each variant over interleaved rounds.

    `checked` runs with the verdict caches filled by earlier calls (every check a hit, as in
    a long run); `checked, cold` clears them first (every check a miss, as in the first call
    with each shape); `mode off` runs in a `mode("off")` block. The warm variant runs again,
    untimed, after each of the other two: it refills what they cleared or skipped.
    """
    names = list(variants)
    for fn in variants.values():
        fn()  # warm up: first-call checks, allocator, AdamW state
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = variants[name]
            if name.endswith("mode off"):
                with shapesafe.mode("off"):
                    samples[name].append(cpu_seconds(fn))
                variants["checked"]()  # refill the caches, untimed
            elif name.endswith("cold"):
                clear_caches()
                samples[name].append(cpu_seconds(fn))
                variants["checked"]()
            else:
                samples[name].append(cpu_seconds(fn))
    return {n: statistics.median(s) for n, s in samples.items()}


def table(step: dict[str, float], gen: dict[str, float]) -> None:
    """One row per workload: `plain`'s time, then each variant's with its ratio to it."""
    print(f"| workload | {' | '.join(step)} |")
    print("| --- |" + " --- |" * len(step))
    for label, result in (("train step", step), (f"generate({NEW_TOKENS})", gen)):
        base = result["plain"]
        cells = [f"{base * 1e3:.1f} ms"] + [
            f"{result[n] * 1e3:.1f} ms ({result[n] / base:.3f}x)" for n in list(result)[1:]
        ]
        print(f"| {label} | {' | '.join(cells)} |")
    hit = (gen["checked"] - gen["checked, mode off"]) / NEW_TOKENS
    miss = (gen["checked, cold"] - gen["checked, mode off"]) / NEW_TOKENS
    print()
    print(
        f"checks per generated token: {hit * 1e6:.0f} µs with warm caches, "
        f"{miss * 1e6:.0f} µs when every sequence length is new (cold)"
    )
    assert math.isfinite(hit) and math.isfinite(miss)


def run_gpt(rounds: int) -> None:
    torch.manual_seed(0)
    plain = PlainGPT(CONFIG)
    ours = GPT(CONFIG)
    ours.load_state_dict(plain.state_dict())
    cold = GPT(CONFIG)
    cold.load_state_dict(plain.state_dict())
    off = GPT(CONFIG)
    off.load_state_dict(plain.state_dict())
    batch = torch.randint(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size + 1))
    prompt = torch.randint(0, CONFIG.vocab_size, (1, 8))

    with torch.no_grad():
        x = batch[:, :-1]
        diff = float((ours(x) - plain(x)).abs().max())
    same_tokens = bool(torch.equal(generate(ours, prompt), generate(plain, prompt)))

    optimizers = {
        name: torch.optim.AdamW(m.parameters(), lr=1e-4)
        for name, m in (("plain", plain), ("checked", ours), ("cold", cold), ("off", off))
    }
    step = measure(
        {
            "plain": lambda: train_step(plain, optimizers["plain"], batch),
            "checked": lambda: checked_step(ours, optimizers["checked"], batch),
            "checked, cold": lambda: checked_step(cold, optimizers["cold"], batch),
            "checked, mode off": lambda: checked_step(off, optimizers["off"], batch),
        },
        rounds,
    )
    gen = measure(
        {
            "plain": lambda: generate(plain, prompt),
            "checked": lambda: generate(ours, prompt),
            "checked, cold": lambda: generate(cold, prompt),
            "checked, mode off": lambda: generate(off, prompt),
        },
        rounds,
    )
    c = CONFIG
    print(
        f"GPT: {c.num_layers} layers, embed {c.embed_dim}, {c.num_heads} heads, "
        f"vocab {c.vocab_size}; step at ({BATCH}, {c.block_size}); generate {NEW_TOKENS} "
        "tokens from 8, sampled, each step feeding the whole sequence"
    )
    print(f"same weights: max |logits difference| {diff:.1e}; same sampled tokens: {same_tokens}")
    print()
    table(step, gen)


def run_llama(rounds: int) -> None:
    torch.manual_seed(0)
    plain = PlainLlama(LLAMA)
    models = {name: Llama(LLAMA) for name in ("checked", "cold", "off")}
    for m in models.values():
        m.load_state_dict(plain.state_dict())
    ours = models["checked"]
    batch = torch.randint(0, LLAMA.vocab_size, (BATCH, 128 + 1))
    prompt = torch.randint(0, LLAMA.vocab_size, (1, 8))

    with torch.no_grad():
        x = batch[:, :-1]
        diff = float((ours(x) - plain(x)).abs().max())
    same_tokens = bool(
        torch.equal(ours.generate(prompt, NEW_TOKENS), plain.generate(prompt, NEW_TOKENS))
    )
    optimizers = {
        name: torch.optim.AdamW(m.parameters(), lr=1e-4)
        for name, m in (("plain", plain), *models.items())
    }
    step = measure(
        {
            "plain": lambda: train_step(plain, optimizers["plain"], batch),
            "checked": lambda: checked_step(ours, optimizers["checked"], batch),
            "checked, cold": lambda: checked_step(models["cold"], optimizers["cold"], batch),
            "checked, mode off": lambda: checked_step(models["off"], optimizers["off"], batch),
        },
        rounds,
    )
    gen = measure(
        {
            "plain": lambda: plain.generate(prompt, NEW_TOKENS),
            "checked": lambda: ours.generate(prompt, NEW_TOKENS),
            "checked, cold": lambda: models["cold"].generate(prompt, NEW_TOKENS),
            "checked, mode off": lambda: models["off"].generate(prompt, NEW_TOKENS),
        },
        rounds,
    )
    c = LLAMA
    print(
        f"Llama: {c.num_hidden_layers} layers, hidden {c.hidden_size}, "
        f"{c.num_attention_heads} heads, {c.kv_heads_or_default()} key/value heads, "
        f"intermediate {c.intermediate_size}, vocab {c.vocab_size}; step at ({BATCH}, 128); "
        f"generate {NEW_TOKENS} tokens from 8, greedy, with a KV cache"
    )
    print(f"same weights: max |logits difference| {diff:.1e}; same greedy tokens: {same_tokens}")
    print()
    table(step, gen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--model", choices=("gpt", "llama", "both"), default="both", help="which model (both)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{args.threads} thread(s), {args.rounds} rounds, CPU time of this thread"
    )
    if args.model in ("gpt", "both"):
        print()
        run_gpt(args.rounds)
    if args.model in ("llama", "both"):
        print()
        run_llama(args.rounds)


if __name__ == "__main__":
    main()
