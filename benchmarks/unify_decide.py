"""What the unifier's size verdict (`_unify.decide`) costs next to the op it would guard.

On a verdict-cache miss whose structure beartype already accepted, `decide` alone judges the
sizes. This prints, for the small `linear` and `matvec` of the overhead table, the raw torch
call, `decide` on the op's own contract (arguments and return), and their ratio: the part of
the miss-path budget (1.5x raw in total) that the unifier takes. Timing as in
`benchmarks/overhead.py`: CPU time of this thread, medians of interleaved rounds.
Run: `python benchmarks/unify_decide.py [--rounds N]`.
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

import shapesafe
from shapesafe._contract import Contract, decide


def per_call(fn: Callable[[], object], number: int) -> float:
    start = time.thread_time_ns()
    for _ in range(number):
        fn()
    return (time.thread_time_ns() - start) / number / 1e9


def contract_of(op: Callable[..., object]) -> Contract:
    contract: Contract = op.__shapesafe__.contract  # type: ignore[attr-defined]
    return contract


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)

    x, w, b = torch.randn(8, 16, 32), torch.randn(64, 32), torch.randn(64)
    lin = contract_of(shapesafe.linear)
    lin_shapes = (x.shape, w.shape, b.shape, torch.Size((8, 16, 64)))
    A, v = torch.randn(64, 32), torch.randn(32)
    mv = contract_of(shapesafe.matvec)
    mv_shapes = (A.shape, v.shape, torch.Size((64,)))
    assert decide(lin, lin_shapes) is True and decide(mv, mv_shapes) is True

    rows: dict[str, dict[str, Callable[[], object]]] = {
        "linear (8,16,32), (64,32) weight, bias": {
            "raw": lambda: F.linear(x, w, b),
            "decide": lambda: decide(lin, lin_shapes),
        },
        "matvec (64,32) @ (32,)": {
            "raw": lambda: torch.mv(A, v),
            "decide": lambda: decide(mv, mv_shapes),
        },
    }
    for name, variants in rows.items():
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for r in range(args.rounds):
            order = list(variants) if r % 2 == 0 else list(reversed(variants))
            for k in order:
                samples[k].append(per_call(variants[k], 2000))
        raw = statistics.median(samples["raw"])
        cost = statistics.median(samples["decide"])
        print(
            f"{name:40s} raw {raw * 1e6:6.2f} us   decide {cost * 1e6:5.2f} us"
            f"   = {cost / raw:.2f}x raw"
        )


if __name__ == "__main__":
    main()
