"""Hostile inputs and environments for `checked` (`_checked`, `_codegen`, `_cache`,
`_beartype_compat`): signal handlers, dataclass defaults, partials and lambdas, recursion."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence

import pytest
import torch
from jaxtyping import Float
from torch import Tensor

from shapesafe import ShapeError, checked
from shapesafe._cache import Entry, VerdictCache

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
