"""What a shape check costs next to the op it guards, measured in one process.

Every workload is one row; every way of running it is one column. All the variants of a
row are timed in interleaved rounds (a few milliseconds each, in a rotating order), so
drift in the machine's load hits them alike, and each cell is the median over the rounds,
printed as a ratio to raw torch. Run: `python benchmarks/overhead.py [--rounds N]`.

Columns:

- `raw`: the torch call alone (its absolute time is printed too).
- `asserts`: hand-written `if ...: raise` checks, then the torch call.
- `jaxtyped`: the op's body under `jaxtyping.jaxtyped(typechecker=beartype)`.
- `check`: shapesafe in check mode, every call after the first a cache hit; in the `new ...`
  rows every call has a shape not in the cache (600 shapes in turn, the cache holds 512), in a
  structure the full check accepted once, so the unifier decides it.
- `off(env)`: what `checked` returns when `SHAPESAFE_MODE=off` is set at import: the
  undecorated function, which is `op.__wrapped__`; timed here, in the same process.
- `off(set_mode)`: the checked function after `shapesafe.set_mode("off")`.

The `plain Tensor` rows call a user function whose `bias: Tensor` and `mask: Tensor | None`
hints are plain torch classes (keyed by class). The `sig:` rows call a user function with one
tensor and one parameter (or return) of each kind of hint that a key can't capture, or that is
keyed another way: hints beartype samples (`Sequence[int]`, `list[int]`, `tuple[int, ...]`)
or that read more than a type (`Callable`, a protocol, `dict[str, Tensor]`) are tested by
beartype on each call while the rest is cached; a `list` of jaxtyping tensors is keyed by its
one item key when its items agree, as is a `dict` of them (`mixed`: they don't, and each call
is the full check); a `list[int]` return is checked on each call; a left-out
`alpha: float = None` is keyed apart from an explicit value. `--only sig:` times them alone.
`--only TEXT` times the rows whose name holds TEXT.

To add a row, append a `Row` to the list that `rows()` returns; a row may leave any column
out (it prints as `-`).

The `compiled` row is a `shapesafe.nn.Block` under `torch.compile(fullgraph=True)` (inductor)
in the `check` and `off(set_mode)` columns (the latter compiles once more, for mode off),
against its `torch.nn` twin (same parameters, same arithmetic) compiled the same way, in
the `raw` column. Compiling takes a while on first use.
"""

import argparse
import collections.abc
import dataclasses
import itertools
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from beartype import beartype
from jaxtyping import Float, jaxtyped
from torch import Tensor, nn

import shapesafe
import shapesafe.nn
from shapesafe import checked

COLUMNS = ("raw", "asserts", "jaxtyped", "check", "off(env)", "off(set_mode)")
# The off(set_mode) column switches the global mode for its turn and back afterwards.
GLOBAL_OFF = "off(set_mode)"


@dataclasses.dataclass
class Row:
    """One workload: a zero-argument callable per column."""

    name: str
    variants: dict[str, Callable[[], object]]


def reference(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """`fn` (a checked op's body) under the standard jaxtyping + beartype stack."""
    return jaxtyped(fn, typechecker=beartype)


def unchecked(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """What `checked` hands back under SHAPESAFE_MODE=off: the function it wrapped."""
    inner: Callable[..., Tensor] = getattr(fn, "__wrapped__")  # noqa: B009
    return inner


def matvec_asserts(A: Tensor, x: Tensor) -> Tensor:
    if A.ndim != 2 or x.ndim != 1:
        raise ValueError(f"matvec: expected (m, n) and (n,), got {A.shape} and {x.shape}")
    if A.shape[1] != x.shape[0]:
        raise ValueError(f"matvec: inner dims differ, {A.shape} and {x.shape}")
    if not A.is_floating_point() or A.dtype != x.dtype:
        raise ValueError(f"matvec: dtypes {A.dtype} and {x.dtype}")
    return torch.mv(A, x)


def linear_asserts(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    if x.ndim < 1 or weight.ndim != 2 or bias.ndim != 1:
        raise ValueError(f"linear: ranks {x.ndim}, {weight.ndim}, {bias.ndim}")
    if x.shape[-1] != weight.shape[1] or bias.shape[0] != weight.shape[0]:
        raise ValueError(f"linear: shapes {x.shape}, {weight.shape}, {bias.shape}")
    if not x.is_floating_point() or x.dtype != weight.dtype or x.dtype != bias.dtype:
        raise ValueError(f"linear: dtypes {x.dtype}, {weight.dtype}, {bias.dtype}")
    return F.linear(x, weight, bias)


def scores_asserts(q: Tensor, k: Tensor) -> Tensor:
    if q.ndim < 2 or k.ndim != q.ndim:
        raise ValueError(f"attention_scores: ranks {q.ndim} and {k.ndim}")
    if q.shape[:-2] != k.shape[:-2] or q.shape[-1] != k.shape[-1]:
        raise ValueError(f"attention_scores: shapes {q.shape} and {k.shape}")
    if not q.is_floating_point() or q.dtype != k.dtype:
        raise ValueError(f"attention_scores: dtypes {q.dtype} and {k.dtype}")
    return torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])


def scores_raw(q: Tensor, k: Tensor) -> Tensor:
    return torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])


@checked
def gated_mlp(
    x: Float[Tensor, "batch embed"],
    w_gate: Float[Tensor, "hidden embed"],
    w_up: Float[Tensor, "hidden embed"],
    w_down: Float[Tensor, "embed hidden"],
) -> Float[Tensor, "batch embed"]:
    """A user function with four tensor arguments: a gated MLP."""
    return (F.silu(x @ w_gate.mT) * (x @ w_up.mT)) @ w_down.mT


def gated_mlp_asserts(x: Tensor, w_gate: Tensor, w_up: Tensor, w_down: Tensor) -> Tensor:
    if x.ndim != 2 or w_gate.ndim != 2 or w_up.ndim != 2 or w_down.ndim != 2:
        raise ValueError("gated_mlp: every argument must be a matrix")
    if w_gate.shape != w_up.shape or w_gate.shape[1] != x.shape[1]:
        raise ValueError(f"gated_mlp: shapes {x.shape}, {w_gate.shape}, {w_up.shape}")
    if w_down.shape != (x.shape[1], w_gate.shape[0]):
        raise ValueError(f"gated_mlp: w_down is {w_down.shape}")
    dtypes = {x.dtype, w_gate.dtype, w_up.dtype, w_down.dtype}
    if len(dtypes) != 1 or not x.is_floating_point():
        raise ValueError(f"gated_mlp: dtypes {dtypes}")
    return unchecked(gated_mlp)(x, w_gate, w_up, w_down)


@checked
def masked_scores(
    q: Float[Tensor, "b h s d"],
    k: Float[Tensor, "b h t d"],
    bias: Tensor,
    mask: Tensor | None = None,
) -> Float[Tensor, "b h s t"]:
    """A user function with plain `Tensor` hints, as attention code writes a mask."""
    scores = q @ k.mT + bias
    return scores if mask is None else scores.masked_fill(mask, float("-inf"))


@checked
def picked_rows(x: Float[Tensor, "rows e"], picks: Sequence[int]) -> Float[Tensor, "rows e"]:
    """A user function with a hint beartype samples (`Sequence[int]`): tested on every call."""
    return x


@runtime_checkable
class Sized(Protocol):
    def __len__(self) -> int: ...


class Settings:
    """A plain user class: keyed by its type."""


@checked
def with_list(x: Float[Tensor, "rows e"], picks: list[int]) -> Float[Tensor, "rows e"]:
    return x


@checked
def with_tuple(x: Float[Tensor, "rows e"], picks: tuple[int, ...]) -> Float[Tensor, "rows e"]:
    return x


@checked
def with_callable(
    x: Float[Tensor, "rows e"], fn: collections.abc.Callable[[Tensor], Tensor]
) -> Float[Tensor, "rows e"]:
    return x


@checked
def with_literal(
    x: Float[Tensor, "rows e"], how: Literal["sum", "mean"]
) -> Float[Tensor, "rows e"]:
    return x


@checked
def with_class(x: Float[Tensor, "rows e"], settings: Settings) -> Float[Tensor, "rows e"]:
    return x


@checked
def with_protocol(x: Float[Tensor, "rows e"], items: Sized) -> Float[Tensor, "rows e"]:
    return x


@checked
def with_dict(x: Float[Tensor, "rows e"], extra: dict[str, Tensor]) -> Float[Tensor, "rows e"]:
    return x


@checked
def with_tensor_list(xs: list[Float[Tensor, "rows e"]]) -> Float[Tensor, "rows e"]:
    return xs[0]


@checked
def with_tensor_dict(xs: dict[str, Float[Tensor, "rows e"]]) -> Float[Tensor, "rows e"]:
    return xs["a"]


@checked
def returns_list(x: Float[Tensor, "rows e"]) -> list[int]:
    return [0, 1]


@checked
def with_none_default(
    x: Float[Tensor, "rows e"],
    alpha: float = None,  # type: ignore[assignment]  # noqa: RUF013 - the implicit Optional
) -> Float[Tensor, "rows e"]:
    return x


def bound(fn: Callable[..., object], args: tuple[object, ...]) -> Callable[[], object]:
    return lambda: fn(*args)


def signature_rows() -> list[Row]:
    """One row per kind of hint (see the module's docstring): raw, jaxtyped, check."""
    x = torch.randn(8, 16)
    calls: list[tuple[str, Callable[..., object], tuple[object, ...]]] = [
        ("sig: list[int]", with_list, (x, [0, 3, 5])),
        ("sig: tuple[int, ...]", with_tuple, (x, (0, 3, 5))),
        ("sig: Callable", with_callable, (x, torch.relu)),
        ("sig: Literal", with_literal, (x, "sum")),
        ("sig: user class", with_class, (x, Settings())),
        ("sig: Protocol", with_protocol, (x, [1, 2])),
        ("sig: dict[str, Tensor]", with_dict, (x, {"a": x, "b": x})),
        ("sig: list[Float[Tensor]]", with_tensor_list, ([x, x, x],)),
        ("sig: list[Float[Tensor]], mixed", with_tensor_list, ([x, x.double(), x],)),
        ("sig: dict[str, Float[Tensor]]", with_tensor_dict, ({"a": x, "b": x},)),
        ("sig: dict[str, Float], mixed", with_tensor_dict, ({"a": x, "b": x.double()},)),
        ("sig: -> list[int]", returns_list, (x,)),
        ("sig: alpha: float = None", with_none_default, (x,)),
    ]
    out = []
    for name, fn, args in calls:
        ref, off = reference(unchecked(fn)), unchecked(fn)  # type: ignore[arg-type]
        out.append(Row(name, {"raw": bound(off, args), "jaxtyped": bound(ref, args)}))
        out[-1].variants["check"] = bound(fn, args)
    return out


class TorchAttention(nn.Module):
    """`shapesafe.nn.CausalSelfAttention` in plain torch, with the same parameter names."""

    def __init__(self, embed: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj = nn.Linear(embed, embed), nn.Linear(embed, embed)
        self.v_proj, self.out_proj = nn.Linear(embed, embed), nn.Linear(embed, embed)

    def forward(self, x: Tensor) -> Tensor:
        batch, seq, embed = x.shape
        head_dim = embed // self.heads

        def split(t: Tensor) -> Tensor:
            return t.reshape(batch, seq, self.heads, head_dim).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        scores = torch.matmul(q, k.mT) / math.sqrt(head_dim)
        allowed = torch.ones(seq, seq, dtype=torch.bool, device=x.device).tril()
        scores = scores.masked_fill(~allowed, float("-inf"))
        mixed = torch.matmul(torch.softmax(scores, dim=-1), v)
        out: Tensor = self.out_proj(mixed.transpose(1, 2).reshape(batch, seq, embed))
        return out


class TorchMLP(nn.Module):
    def __init__(self, embed: int) -> None:
        super().__init__()
        self.up, self.down = nn.Linear(embed, 4 * embed), nn.Linear(4 * embed, embed)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.down(F.gelu(self.up(x)))
        return out


class TorchBlock(nn.Module):
    """`shapesafe.nn.Block` in plain torch.nn: same parameters, same arithmetic."""

    def __init__(self, embed: int, heads: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(embed), nn.LayerNorm(embed)
        self.attn, self.mlp = TorchAttention(embed, heads), TorchMLP(embed)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln1(x))
        out: Tensor = x + self.mlp(self.ln2(x))
        return out


def compiled_row() -> Row:
    """A `shapesafe.nn.Block` and its `torch.nn` twin, each compiled whole with inductor."""
    block = shapesafe.nn.Block(32, 4).eval()
    twin = TorchBlock(32, 4).eval()
    twin.load_state_dict(block.state_dict())
    x = torch.randn(2, 16, 32)
    checked_block = torch.compile(block, fullgraph=True)
    raw_block = torch.compile(twin, fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(raw_block(x), block(x))
        torch.testing.assert_close(checked_block(x), block(x))

    def run(fn: Callable[[Tensor], Tensor]) -> Callable[[], object]:
        def call() -> object:
            with torch.no_grad():
                return fn(x)

        return call

    return Row(
        "compiled: nn.Block (2,16,32)",
        {"raw": run(raw_block), "check": run(checked_block), GLOBAL_OFF: run(checked_block)},
    )


#: More distinct shapes than a verdict cache holds (512), cycled: every checked call is a miss.
NEW_SHAPES = 600


def cycling(fn: Callable[..., object], calls: Sequence[tuple[Tensor, ...]]) -> Callable[[], object]:
    """`fn` on the next argument tuple of `calls`, round and round."""
    it = itertools.cycle(calls)
    return lambda: fn(*next(it))


def new_shape_rows() -> list[Row]:
    """A new shape on every call: a sequence that grows, a batch whose row count changes."""
    torch.manual_seed(0)
    v = torch.randn(32)
    mats = [(torch.randn(m, 32), v) for m in range(1, NEW_SHAPES + 1)]
    w, b = torch.randn(16, 16), torch.randn(16)
    seqs = [(torch.randn(1, s, 16), w, b) for s in range(1, NEW_SHAPES + 1)]
    ops = shapesafe
    ref_matvec, ref_linear = reference(unchecked(ops.matvec)), reference(unchecked(ops.linear))
    off_matvec, off_linear = unchecked(ops.matvec), unchecked(ops.linear)
    return [
        Row(
            "new m: matvec (m,32) @ (32,)",
            {
                "raw": cycling(torch.mv, mats),
                "asserts": cycling(matvec_asserts, mats),
                "jaxtyped": cycling(ref_matvec, mats),
                "check": cycling(ops.matvec, mats),
                "off(env)": cycling(off_matvec, mats),
                GLOBAL_OFF: cycling(ops.matvec, mats),
            },
        ),
        Row(
            "new seq: linear (1,seq,16) +bias",
            {
                "raw": cycling(F.linear, seqs),
                "asserts": cycling(linear_asserts, seqs),
                "jaxtyped": cycling(ref_linear, seqs),
                "check": cycling(ops.linear, seqs),
                "off(env)": cycling(off_linear, seqs),
                GLOBAL_OFF: cycling(ops.linear, seqs),
            },
        ),
    ]


def rows(only: str = "") -> list[Row]:
    """The rows, those whose name holds `only` (the compiled one is built only if named)."""
    torch.manual_seed(0)
    A, v = torch.randn(64, 32), torch.randn(32)
    x, w, b = torch.randn(8, 16, 32), torch.randn(64, 32), torch.randn(64)
    q, k = torch.randn(2, 4, 16, 8), torch.randn(2, 4, 16, 8)
    g = (torch.randn(8, 32), torch.randn(64, 32), torch.randn(64, 32), torch.randn(32, 64))
    ops = shapesafe
    ref_matvec = reference(unchecked(ops.matvec))
    ref_linear = reference(unchecked(ops.linear))
    ref_scores = reference(unchecked(ops.attention_scores))
    ref_gated = reference(unchecked(gated_mlp))
    ref_masked = reference(unchecked(masked_scores))
    off_matvec, off_linear = unchecked(ops.matvec), unchecked(ops.linear)
    off_scores, off_gated = unchecked(ops.attention_scores), unchecked(gated_mlp)
    off_masked = unchecked(masked_scores)
    ref_picked, off_picked = reference(unchecked(picked_rows)), unchecked(picked_rows)
    picks = [0, 3, 5]
    mask, bias = torch.ones(16, 16, dtype=torch.bool).triu(1), torch.zeros(16, 16)
    every = [
        Row(
            "matvec (64,32) @ (32,)",
            {
                "raw": lambda: torch.mv(A, v),
                "asserts": lambda: matvec_asserts(A, v),
                "jaxtyped": lambda: ref_matvec(A, v),
                "check": lambda: ops.matvec(A, v),
                "off(env)": lambda: off_matvec(A, v),
                GLOBAL_OFF: lambda: ops.matvec(A, v),
            },
        ),
        Row(
            "linear (8,16,32) (64,32) +bias",
            {
                "raw": lambda: F.linear(x, w, b),
                "asserts": lambda: linear_asserts(x, w, b),
                "jaxtyped": lambda: ref_linear(x, w, b),
                "check": lambda: ops.linear(x, w, b),
                "off(env)": lambda: off_linear(x, w, b),
                GLOBAL_OFF: lambda: ops.linear(x, w, b),
            },
        ),
        Row(
            "attention_scores (2,4,16,8)",
            {
                "raw": lambda: scores_raw(q, k),
                "asserts": lambda: scores_asserts(q, k),
                "jaxtyped": lambda: ref_scores(q, k),
                "check": lambda: ops.attention_scores(q, k),
                "off(env)": lambda: off_scores(q, k),
                GLOBAL_OFF: lambda: ops.attention_scores(q, k),
            },
        ),
        Row(
            "user fn, 4 tensor args",
            {
                "raw": lambda: off_gated(*g),
                "asserts": lambda: gated_mlp_asserts(*g),
                "jaxtyped": lambda: ref_gated(*g),
                "check": lambda: gated_mlp(*g),
                "off(env)": lambda: off_gated(*g),
                GLOBAL_OFF: lambda: gated_mlp(*g),
            },
        ),
        Row(
            "user fn, plain Tensor + mask",
            {
                "raw": lambda: off_masked(q, k, bias, mask),
                "jaxtyped": lambda: ref_masked(q, k, bias, mask),
                "check": lambda: masked_scores(q, k, bias, mask),
                "off(env)": lambda: off_masked(q, k, bias, mask),
                GLOBAL_OFF: lambda: masked_scores(q, k, bias, mask),
            },
        ),
        Row(
            "user fn, plain Tensor, mask None",
            {
                "raw": lambda: off_masked(q, k, bias),
                "jaxtyped": lambda: ref_masked(q, k, bias),
                "check": lambda: masked_scores(q, k, bias),
                "off(env)": lambda: off_masked(q, k, bias),
                GLOBAL_OFF: lambda: masked_scores(q, k, bias),
            },
        ),
        Row(
            "user fn, Sequence[int]: tested",
            {
                "raw": lambda: off_picked(x[0], picks),
                "jaxtyped": lambda: ref_picked(x[0], picks),
                "check": lambda: picked_rows(x[0], picks),
                "off(env)": lambda: off_picked(x[0], picks),
                GLOBAL_OFF: lambda: picked_rows(x[0], picks),
            },
        ),
        *new_shape_rows(),
        *signature_rows(),
    ]
    if only in "compiled":
        every.append(compiled_row())
    return [row for row in every if only in row.name]


def per_call(fn: Callable[[], object], number: int) -> float:
    """CPU seconds of this thread per call, over `number` back-to-back calls.

    CPU time rather than wall time: on a shared machine a sample then does not count the
    time this process spent waiting for a core. torch runs its kernels on this thread
    with the default `--threads 1`.
    """
    start = time.thread_time_ns()
    for _ in range(number):
        fn()
    return (time.thread_time_ns() - start) / number / 1e9


def calibrate(fn: Callable[[], object], budget: float) -> int:
    """How many calls take about `budget` seconds."""
    for _ in range(3):
        fn()
    number = 1
    while True:
        elapsed = per_call(fn, number) * number
        if elapsed >= budget / 4:
            return max(1, int(number * budget / elapsed))
        number *= 4


def measure(row: Row, rounds: int, budget: float) -> dict[str, float]:
    """Median seconds per call of each variant, over interleaved rounds."""
    names = list(row.variants)
    numbers = {n: calibrate(row.variants[n], budget) for n in names}
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = row.variants[name]
            if name == GLOBAL_OFF:
                shapesafe.set_mode("off")
                try:
                    samples[name].append(per_call(fn, numbers[name]))
                finally:
                    shapesafe.set_mode("check")
            else:
                samples[name].append(per_call(fn, numbers[name]))
    return {n: statistics.median(s) for n, s in samples.items()}


def rejected_call_times(calls: int = 200) -> tuple[float, float]:
    """Median seconds of a rejected `matvec` call: shapesafe's ShapeError, and the same body's
    rejection by jaxtyping + beartype (whose message renders the tensors)."""
    A, v = torch.randn(64, 32), torch.randn(31)
    ref = reference(unchecked(shapesafe.matvec))

    def once(fn: Callable[[Tensor, Tensor], object]) -> float:
        start = time.thread_time_ns()
        try:
            fn(A, v)
        except TypeError:
            pass
        return (time.thread_time_ns() - start) / 1e9

    ours = [once(shapesafe.matvec) for _ in range(calls)]
    theirs = [once(ref) for _ in range(calls)]
    return statistics.median(ours), statistics.median(theirs)


def check_off_column() -> str:
    """Confirm in a fresh process that SHAPESAFE_MODE=off hands back `op.__wrapped__`."""
    code = (
        "import shapesafe\n"
        "f = shapesafe.matvec\n"
        "print(hasattr(f, '__shapesafe__'), f.__code__.co_filename, f.__code__.co_firstlineno)"
    )
    env = dict(os.environ, SHAPESAFE_MODE="off")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    here = unchecked(shapesafe.matvec).__code__
    same = out == ["False", here.co_filename, str(here.co_firstlineno)]
    return "the same function" if same else f"NOT the same function: {out}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=101, help="interleaved rounds per row")
    parser.add_argument("--budget-ms", type=float, default=2.0, help="time per sample")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)"
    )
    parser.add_argument("--only", default="", help="time only the rows whose name has this")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, shapesafe {shapesafe.__version__}, "
        f"mode {shapesafe.get_mode()}; {args.rounds} rounds, medians"
    )
    print(f"off(env): SHAPESAFE_MODE=off in a fresh process gives {check_off_column()}")
    header = f"{'workload':32s} {'raw µs':>7s}" + "".join(f" {c:>13s}" for c in COLUMNS)
    header += "  check/jaxtyped"
    print(header)
    print("-" * len(header))
    for row in rows(args.only):
        times = measure(row, args.rounds, args.budget_ms / 1000)
        raw = times["raw"]
        cells = "".join(
            f" {times[c] / raw:12.2f}x" if c in times else f" {'-':>13s}" for c in COLUMNS
        )
        versus = times["check"] / times["jaxtyped"] if "jaxtyped" in times else None
        cells += f" {versus:15.2f}x" if versus is not None else f" {'-':>16s}"
        print(f"{row.name:32s} {raw * 1e6:7.2f}{cells}", flush=True)
    ours, theirs = rejected_call_times()
    print(
        f"a rejected matvec call: shapesafe {ours * 1e6:.0f} µs, "
        f"jaxtyped(typechecker=beartype) {theirs * 1e6:.0f} µs (medians of 200)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
