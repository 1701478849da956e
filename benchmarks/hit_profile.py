"""Where the time of a cache hit goes, taken apart step by step on `matvec(A, x)`.

Each step below is a copy of the generated wrapper's hit path, cut off after one more piece
than the step before, so the difference between consecutive medians is that piece's cost.
Every hit pays the steps up to the lookup; a user's `checked` function then also restores
jaxtyping's memo and checks the return. shapesafe's own ops skip those two, and the last line
is the real `shapesafe.matvec`. CPU time of this thread, interleaved rounds, medians, one
torch thread. Run: `python benchmarks/hit_profile.py`."""

import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
from jaxtyping import _storage as jaxtyping_storage
from torch import Tensor

import shapesafe
from shapesafe import _codegen, _jaxtyping_compat

torch.set_num_threads(1)
A, x = torch.randn(64, 32), torch.randn(32)
body: Callable[[Tensor, Tensor], Tensor] = shapesafe.matvec.__wrapped__  # type: ignore[attr-defined]
shapesafe.matvec(A, x)
shapesafe.matvec(A, x)
state = shapesafe.matvec.__shapesafe__  # type: ignore[attr-defined]
cache = state.cache
entry = cache.last[1]
storage: Any = jaxtyping_storage._shape_storage
storage.memo_stack = _jaxtyping_compat.MemoStack()
is_compiling = torch.compiler.is_compiling
MemoStack, PENDING = _jaxtyping_compat.MemoStack, _jaxtyping_compat.PENDING
namespace = _codegen._NAMESPACE


def raw_mv(A: Tensor, x: Tensor) -> Any:
    return torch.mv(A, x)


def op_body(A: Tensor, x: Tensor) -> Any:
    return body(A, x)


def mode_and_compiling(A: Tensor, x: Tensor) -> Any:
    if not namespace["_checking"]:
        return body(A, x)
    if is_compiling():
        return None
    return body(A, x)


def signature(A: Tensor, x: Tensor) -> Any:
    if not namespace["_checking"]:
        return body(A, x)
    if is_compiling():
        return None
    key = (A.__class__, A.shape, A.dtype, x.__class__, x.shape, x.dtype)
    del key
    return body(A, x)


def lookup(A: Tensor, x: Tensor) -> Any:
    if not namespace["_checking"]:
        return body(A, x)
    if is_compiling():
        return None
    key = (A.__class__, A.shape, A.dtype, x.__class__, x.shape, x.dtype)
    last = cache.last
    if key == last[0]:
        e = last[1]
    else:
        e = cache.data[key]
    del e
    return body(A, x)


def memo_push(A: Tensor, x: Tensor) -> Any:
    if not namespace["_checking"]:
        return body(A, x)
    if is_compiling():
        return None
    key = (A.__class__, A.shape, A.dtype, x.__class__, x.shape, x.dtype)
    last = cache.last
    e = last[1] if key == last[0] else cache.data[key]
    stack = storage.memo_stack
    if stack.__class__ is not MemoStack:
        return None
    built = stack.built
    stack.append((PENDING, e, state.names, A, x))
    try:
        out = body(A, x)
        if stack.built != built:
            raise AssertionError("the body read the memo")
    finally:
        del stack[-1]
    return out


def return_check(A: Tensor, x: Tensor) -> Any:
    if not namespace["_checking"]:
        return body(A, x)
    if is_compiling():
        return None
    key = (A.__class__, A.shape, A.dtype, x.__class__, x.shape, x.dtype)
    last = cache.last
    e = last[1] if key == last[0] else cache.data[key]
    stack = storage.memo_stack
    if stack.__class__ is not MemoStack:
        return None
    built = stack.built
    stack.append((PENDING, e, state.names, A, x))
    try:
        out = body(A, x)
        if (
            stack.built != built
            or out.__class__ is not e.rt
            or out.dtype is not e.rd
            or out.shape != e.rs
        ):
            raise AssertionError("the return differs")
    finally:
        del stack[-1]
    return out


def real_op(A: Tensor, x: Tensor) -> Any:
    return shapesafe.matvec(A, x)


STEPS: list[tuple[str, Callable[[Tensor, Tensor], Any]]] = [
    ("torch.mv", raw_mv),
    ("+ the op's body (a Python call around torch.mv)", op_body),
    ("+ mode flag and _is_compiling()", mode_and_compiling),
    ("+ signature tuple (3 reads per tensor)", signature),
    ("+ compare with the last hit", lookup),
    ("+ push and pop jaxtyping's memo (user fns)", memo_push),
    ("+ return class, dtype, shape (user fns)", return_check),
    ("shapesafe.matvec (own op: neither of those)", real_op),
]


def per_call(fn: Callable[[Tensor, Tensor], Any], number: int) -> float:
    start = time.thread_time_ns()
    for _ in range(number):
        fn(A, x)
    return (time.thread_time_ns() - start) / number


def main() -> None:
    assert entry is not None and entry is cache.last[1]
    samples: dict[str, list[float]] = {name: [] for name, _ in STEPS}
    for r in range(60):
        shift = r % len(STEPS)
        for name, fn in STEPS[shift:] + STEPS[:shift]:
            samples[name].append(per_call(fn, 4000))
    previous = None
    print(f"{'step':45s} {'ns/call':>8s} {'piece':>7s}")
    for name, _ in STEPS:
        median = statistics.median(samples[name])
        piece = "" if previous is None else f"{median - previous:+7.0f}"
        print(f"{name:45s} {median:8.0f} {piece:>7s}")
        previous = median


if __name__ == "__main__":
    main()
