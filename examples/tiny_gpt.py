"""A tiny character-level GPT built from shapesafe.nn, trained on examples/data/tiny.txt.

Run `python examples/tiny_gpt.py` (500 steps: 30 to 40 s on a shared 2-core machine, about
20 s of CPU time), or `--steps 50` for a quick look.
Importing this file trains nothing: `build_model`, `train` and `sample` are for reuse.
"""

import argparse
import math
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from _show import heading, mistake, say, show
from torch import Tensor

import shapesafe as ss
from shapesafe.nn import GPT, GPTConfig

TEXT = Path(__file__).resolve().parent / "data" / "tiny.txt"


def build_model(vocab_size: int, **overrides: Any) -> GPT:
    """A `shapesafe.nn.GPT` with this script's sizes, changed by `overrides` (`num_heads=2`)."""
    sizes: dict[str, Any] = {"block_size": 64, "embed_dim": 64, "num_heads": 4, "num_layers": 2}
    return GPT(GPTConfig(vocab_size, **{**sizes, **overrides}))


class Chars:
    """A character-level tokenizer: one id per distinct character of the text."""

    def __init__(self, text: str) -> None:
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> Tensor:
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.chars[i] for i in ids)


def get_batch(
    data: Tensor, batch_size: int, block_size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Random windows of the text: inputs `(batch, block)` and targets shifted by one."""
    starts = torch.randint(0, data.numel() - block_size - 1, (batch_size,), generator=generator)
    x = torch.stack([data[s : s + block_size] for s in starts.tolist()])
    y = torch.stack([data[s + 1 : s + block_size + 1] for s in starts.tolist()])
    return x, y


def train(
    model: GPT,
    data: Tensor,
    steps: int,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    log_every: int = 0,
) -> list[float]:
    """Train with AdamW; returns the loss of every step. Prints every `log_every` steps."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    block = model.block_size
    losses: list[float] = []
    model.train()
    for step in range(steps):
        x, y = get_batch(data, batch_size, block, generator)
        logits = model(x)
        loss = ss.cross_entropy(logits, y)  # (batch, seq, vocab) against (batch, seq)
        optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        optimizer.step()
        losses.append(loss.item())
        if log_every and (step % log_every == 0 or step == steps - 1):
            recent = losses[-log_every:]
            print(f"  step {step:4d}   loss {sum(recent) / len(recent):.3f}")
    return losses


def sample(model: GPT, chars: Chars, prompt: str, length: int, seed: int = 0) -> str:
    """Continue `prompt` by `length` characters, sampling with temperature 0.8."""
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    ids = chars.encode(prompt).unsqueeze(0)  # (1, seq)
    out = model.generate(ids, length, temperature=0.8, generator=generator)
    return chars.decode(out[0].tolist())


def show_bugs(model: GPT, data: Tensor) -> None:
    """Two shape bugs in model code, caught at a checked boundary with the fix in the hint."""
    x, y = get_batch(data, 4, model.block_size, torch.Generator().manual_seed(1))
    logits = model(x)
    show("x", x, "batch seq")
    show("model(x)", logits, "batch seq vocab")
    show("logits[:, -1]", logits[:, -1], "batch vocab", "the last position only")
    show("y[:, -1:]", y[:, -1:], "batch one", "a slice keeps the axis")
    with mistake("score the last position against y[:, -1:], a (batch, 1) target"):
        ss.cross_entropy(logits[:, -1], y[:, -1:])
    with mistake("sample from a single sequence without its batch axis"):
        model(x[0])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=500, help="training steps (default 500)")
    parser.add_argument("--untied", action="store_true", help="give the head its own weight")
    parser.add_argument("--sample", type=int, default=200, help="characters to sample")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: a model this small gains little from more, "
        "and extra threads slow down badly on a busy machine)",
    )
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    text = TEXT.read_text(encoding="utf-8")
    chars = Chars(text)
    data = chars.encode(text)
    model = build_model(len(chars), tied=not args.untied)
    params = sum(p.numel() for p in model.parameters())
    c = model.config
    say(f"text: {len(text)} characters, vocab {len(chars)}")
    say(
        f"model: {c.num_layers} blocks, embed {c.embed_dim}, {c.num_heads} heads, "
        f"block {c.block_size}, {'tied' if c.tied else 'untied'} head, {params:,} parameters"
    )
    say(f"a uniform guess scores loss ln({len(chars)}) = {math.log(len(chars)):.3f}")
    print()
    start = time.perf_counter()
    losses = train(model, data, args.steps, log_every=max(1, args.steps // 10))
    elapsed = time.perf_counter() - start
    say(f"{args.steps} steps in {elapsed:.1f} s; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    if args.sample > 0:
        print()
        say("sample:")
        for line in sample(model, chars, "The ", args.sample).splitlines():
            for part in textwrap.wrap(line, 76) or [""]:
                say(f"  | {part}")
    print()
    show_bugs(model, data)


if __name__ == "__main__":
    heading(__doc__)
    main()
