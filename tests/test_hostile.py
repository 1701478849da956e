"""Hostile inputs and environments for `checked` (`_checked`, `_codegen`, `_cache`,
`_beartype_compat`): signal handlers, dataclass defaults, partials and lambdas, recursion."""

import dataclasses
import functools
import itertools
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from beartype import beartype
from jaxtyping import Float, jaxtyped
from torch import Tensor

from shapesafe import ShapeError, checked
from shapesafe._cache import Entry, VerdictCache
from tests.helpers import state_of

# --- signal handlers and finalizers ------------------------------------------------------


def test_a_checked_call_takes_no_beartype_lock() -> None:
    """beartype's `is_bearable` takes a non-reentrant lock on every call; a checked call never
    reaches it, so a call made while that lock is held (by the code a handler interrupted)
    finishes."""
    from beartype.door._func.doorfunc import _func_tester_factory

    @checked
    def f(x: Float[Tensor, "n m"], s: Sequence[int]) -> Float[Tensor, "n m"]:
        return x  # a Sequence hint is never cached: every call takes the full check

    f(torch.zeros(2, 3), [1])
    done: list[BaseException | None] = []

    def call() -> None:
        try:
            f(torch.zeros(4, 5), [2])
            with pytest.raises(ShapeError):
                f(torch.zeros(4, 5), ["a"])  # type: ignore[list-item]
            done.append(None)
        except BaseException as e:  # handed to the main thread
            done.append(e)

    lock = _func_tester_factory._lock
    with lock:
        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(20)
    assert done == [None], "a checked call waited for beartype's lock"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="setitimer is POSIX only")
def test_checked_calls_from_a_signal_handler_do_not_hang() -> None:
    """A timer fires every 5 ms while the main thread makes checked calls in a loop for 5 s;
    the handler makes checked calls too. Before, within a few seconds the handler waited
    forever for a lock the interrupted call held."""
    code = textwrap.dedent(
        """
        import signal, time
        from collections.abc import Sequence
        import torch
        from torch import Tensor
        from jaxtyping import Float
        import shapesafe

        @shapesafe.checked
        def full(x: Float[Tensor, "n m"], s: Sequence[int]) -> Float[Tensor, "n m"]:
            return x + 1  # never cached: each call takes the full check

        @shapesafe.checked
        def cached(x: Float[Tensor, " n"], k: int) -> tuple[int, Float[Tensor, " n"]]:
            return (k, x)  # new sizes: the structure path, and cache stores

        fired = 0
        def handler(signum, frame):
            global fired
            fired += 1
            full(torch.zeros(fired % 7 + 1, 3), [1])
            cached(torch.zeros(fired % 700 + 1), fired)

        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)
        x = torch.zeros(2, 2)
        start = time.monotonic()
        i = 0
        while time.monotonic() - start < 5 or fired < 50:
            i += 1
            full(x, [i])
            cached(torch.zeros(i % 900 + 1), i)
        signal.setitimer(signal.ITIMER_REAL, 0)
        print("done", fired)
        """
    )
    env = dict(os.environ, SHAPESAFE_MODE="check")
    try:
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("a checked call in a signal handler hung the process")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("done ")
    assert result.stderr == ""


def test_the_verdict_cache_takes_no_lock() -> None:
    cache = VerdictCache(maxsize=2)
    locks = (type(threading.Lock()), type(threading.RLock()))
    assert not [v for v in vars(cache).values() if isinstance(v, locks)]
    entry = Entry({}, {}, {}, None)
    for k in range(4):
        cache.put(k, entry)
    assert list(cache.data) == [2, 3]
    assert cache.last == (3, entry)


# --- dataclass defaults ------------------------------------------------------------------


@checked
@dataclasses.dataclass
class _Pair:
    a: Float[Tensor, " n"]
    b: Float[Tensor, " n"] = dataclasses.field(default_factory=lambda: torch.zeros(3))


@checked
@dataclasses.dataclass
class _Listed:
    """A `list[int]` field is never cached: its `__init__` gets the generic wrapper."""

    a: Float[Tensor, " n"]
    b: Float[Tensor, " n"] = torch.zeros(3)  # noqa: RUF009 - a shared default, on purpose
    names: list[int] = dataclasses.field(default_factory=list)


@checked
@dataclasses.dataclass
class _Plain:
    a: Float[Tensor, " n"]
    b: Float[Tensor, " n"] = torch.zeros(3)  # noqa: RUF009 - a shared default, on purpose


@jaxtyped(typechecker=beartype)
@dataclasses.dataclass
class _ReferencePair:
    a: Float[Tensor, " n"]
    b: Float[Tensor, " n"] = dataclasses.field(default_factory=lambda: torch.zeros(3))


@pytest.mark.parametrize("call", [1, 2], ids=["miss", "hit"])
def test_a_default_factory_field_is_made_and_checked(call: int) -> None:
    _ReferencePair(torch.zeros(3))  # jaxtyping accepts it
    for _ in range(call):
        pair = _Pair(torch.zeros(3))
        torch.testing.assert_close(pair.b, torch.zeros(3))
        passed = _Pair(torch.ones(4), torch.ones(4))
        torch.testing.assert_close(passed.b, torch.ones(4))


def test_a_default_factory_value_that_breaks_the_annotation_is_rejected() -> None:
    for _ in range(2):
        with pytest.raises(ShapeError, match=re.escape("argument 'b' dim 'n' is 3")):
            _Pair(torch.zeros(4))

    @checked
    @dataclasses.dataclass
    class Typed:
        a: Float[Tensor, " n"]
        b: Float[Tensor, " n"] = dataclasses.field(default_factory=lambda: [0.0])  # type: ignore[assignment]

    with pytest.raises(ShapeError, match=re.escape("Typed.__init__(): argument 'b' is list")):
        Typed(torch.zeros(1))


@pytest.mark.parametrize("cls", [_Listed, _Plain], ids=["generic", "generated"])
def test_a_default_that_breaks_the_annotation_is_rejected(cls: type[Any]) -> None:
    assert state_of(cls.__init__).cacheable == (cls is _Plain)
    assert cls(torch.zeros(3)).b.shape == (3,)
    for _ in range(2):
        with pytest.raises(ShapeError, match=re.escape("argument 'b' dim 'n' is 3")):
            cls(torch.zeros(4))


# --- partials and lambdas ----------------------------------------------------------------


def _matvec(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
    return A @ x


@pytest.mark.parametrize(
    "make",
    [
        lambda A: functools.partial(_matvec, A),
        lambda A: functools.partial(_matvec, A=A),
        lambda A: functools.partial(functools.partial(_matvec), A),
    ],
    ids=["positional", "keyword", "nested"],
)
def test_a_partial_is_checked_with_the_arguments_it_holds(make: Any) -> None:
    A = torch.randn(2, 3)
    f = checked(make(A))
    for _ in range(2):
        x = torch.randn(3)
        torch.testing.assert_close(f(x=x), A @ x)
        with pytest.raises(
            ShapeError, match=re.escape("_matvec(): argument 'x' dim 'n' is 4 at x.shape[0]")
        ):
            f(x=torch.randn(4))


def test_a_lambda_is_a_working_wrapper_that_checks_its_annotations() -> None:
    ident = checked(lambda x: x)
    assert ident.__name__ == "<lambda>"
    assert [ident(3), ident(3), ident("a")] == [3, 3, "a"]

    def annotate(fn: Any) -> Any:
        fn.__annotations__ = {"x": Float[Tensor, " n"], "return": Float[Tensor, " n"]}
        return fn

    flip = checked(annotate(lambda x: x.flip(0)))
    torch.testing.assert_close(flip(torch.arange(3.0)), torch.tensor([2.0, 1.0, 0.0]))
    with pytest.raises(
        ShapeError, match=re.escape("<lambda>(): argument 'x' has dtype int64, expected Float")
    ):
        flip(torch.arange(3))


# --- cold recursion ----------------------------------------------------------------------


def _stack_depth() -> int:
    frame, depth = sys._getframe(1), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


def test_a_cold_checked_call_puts_few_frames_between_the_caller_and_the_body() -> None:
    """Each frame counts against the recursion limit of a function that recurses cold (each
    level a miss, since the level above is not accepted yet). A level is the body, the
    wrapper, `call_full` and jaxtyping's two; it was eight, and jaxtyping + beartype's is
    three (jaxtyping's two and the body)."""
    depths: list[int] = []

    @checked
    def rec(x: Float[Tensor, " n"], k: int) -> Float[Tensor, " n"]:
        depths.append(_stack_depth())
        return x if k == 0 else rec(x, k - 1)

    rec(torch.zeros(3), 2)
    assert [b - a for a, b in itertools.pairwise(depths)] == [5, 5]
    hit: list[int] = []

    @checked
    def once(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        hit.append(_stack_depth())
        return x

    for _ in range(2):
        once(torch.zeros(3))
    assert hit[1] - _stack_depth() == 2  # a hit: the body and the wrapper


def test_cold_recursion_reaches_the_depth_a_fresh_process_allows() -> None:
    """With a fresh process's headroom of 1000 frames: 197 levels, against 329 for jaxtyping +
    beartype and 122 before."""

    @checked
    def rec(x: Float[Tensor, " n"], k: int) -> Float[Tensor, " n"]:
        return x if k == 0 else rec(x, k - 1)

    before = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 1000)
    try:
        torch.testing.assert_close(rec(torch.ones(3), 190), torch.ones(3))
    finally:
        sys.setrecursionlimit(before)
