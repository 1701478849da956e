"""How long the first compiled training step takes with checks, against checks off.

The model is `examples/tiny_gpt.py`'s GPT (shapesafe.nn and checked ops). Each round resets
dynamo, compiles the model afresh, and times its first forward and backward step, once in
mode "check" and once in mode "off" (where every checked function calls its body directly,
so dynamo traces the same torch code without the checks), in alternating order. The medians
are printed with their ratio. Run: `python benchmarks/compile_trace.py [--rounds N]
[--backend eager|aot_eager|inductor] [--dynamic]`.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

import shapesafe
from shapesafe._mode import Mode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import tiny_gpt


def first_step(mode: Mode, backend: str, dynamic: bool | None) -> float:
    """Seconds for a fresh compile's first forward and backward step, in `mode`."""
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = tiny_gpt.build_model(65, num_layers=2, embed_dim=64, num_heads=4)
    idx = torch.randint(0, 65, (4, 32))
    with shapesafe.mode(mode):
        compiled = torch.compile(model, backend=backend, fullgraph=True, dynamic=dynamic)
        start = time.perf_counter()
        logits = compiled(idx)
        logits.square().mean().backward()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", default="aot_eager")
    parser.add_argument("--dynamic", action="store_true")
    args = parser.parse_args()
    dynamic = True if args.dynamic else None
    first_step("check", args.backend, dynamic)  # warm up imports and torch's own caches
    first_step("off", args.backend, dynamic)
    times: dict[Mode, list[float]] = {"check": [], "off": []}
    for i in range(args.rounds):
        order: tuple[Mode, Mode] = ("check", "off") if i % 2 == 0 else ("off", "check")
        for mode in order:
            times[mode].append(first_step(mode, args.backend, dynamic))
    check = statistics.median(times["check"])
    off = statistics.median(times["off"])
    print(f"first compiled step, tiny GPT, backend={args.backend}, dynamic={dynamic}")
    print(f"  checks off  {off:7.3f} s")
    print(f"  checks on   {check:7.3f} s   ratio {check / off:.2f}x")


if __name__ == "__main__":
    main()
