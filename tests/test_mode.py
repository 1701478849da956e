"""`mode()` is scoped to its thread and async context; `set_mode` sets the process default;
the state survives `os.fork`."""

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe
from shapesafe import ShapeError, checked


@checked
def matvec(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
    return A @ x


BAD = (torch.randn(3, 4), torch.randn(5))


def raises_shape_error() -> bool:
    try:
        matvec(*BAD)
    except ShapeError:
        return True
    except RuntimeError:  # torch's own error: nothing was checked
        return False
    raise AssertionError("the bad call passed")


@pytest.fixture(autouse=True)
def default_check() -> Iterator[None]:
    yield
    shapesafe.set_mode("check")


def test_a_mode_block_is_scoped_to_its_thread() -> None:
    inside = threading.Event()
    release = threading.Event()
    seen: list[bool] = []

    def worker() -> None:
        with shapesafe.mode("off"):
            inside.set()
            release.wait(10)
            seen.append(raises_shape_error())

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(10)
    assert shapesafe.get_mode() == "check"
    assert raises_shape_error()  # this thread still checks while the other is "off"
    release.set()
    t.join(10)
    assert seen == [False]


def test_overlapping_blocks_in_two_threads_leave_checks_on() -> None:
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a() -> None:
        with shapesafe.mode("off"):
            a_in.set()
            b_in.wait(10)
        a_out.set()

    def b() -> None:
        a_in.wait(10)
        with shapesafe.mode("off"):
            b_in.set()
            a_out.wait(10)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert shapesafe.get_mode() == "check"
    assert raises_shape_error()


def test_a_mode_block_is_scoped_to_its_async_task() -> None:
    async def off() -> bool:
        with shapesafe.mode("off"):
            await asyncio.sleep(0.01)
            return raises_shape_error()

    async def on() -> bool:
        await asyncio.sleep(0.005)  # runs while `off` is inside its block
        return raises_shape_error()

    async def both() -> list[bool]:
        return list(await asyncio.gather(off(), on()))

    assert asyncio.run(both()) == [False, True]


def test_set_mode_sets_the_default_and_a_block_overrides_it() -> None:
    shapesafe.set_mode("off")
    assert not raises_shape_error()
    seen: list[str] = []
    t = threading.Thread(target=lambda: seen.append(shapesafe.get_mode()))
    t.start()
    t.join(10)
    assert seen == ["off"]  # the default is process-wide
    with shapesafe.mode("check"):
        assert raises_shape_error()
    assert shapesafe.get_mode() == "off"
    shapesafe.set_mode("check")
    assert raises_shape_error()


def test_mode_rejects_unknown_values() -> None:
    with pytest.raises(ValueError, match="mode must be one of"), shapesafe.mode("on"):  # type: ignore[arg-type]
        pass
    assert shapesafe.get_mode() == "check"


def run_python(code: str, env_mode: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SHAPESAFE_MODE=env_mode)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.slow
def test_checks_removed_at_import_cannot_be_turned_back_on() -> None:
    result = run_python(
        """
        import shapesafe
        shapesafe.set_mode("off")
        try:
            shapesafe.set_mode("check")
        except RuntimeError as e:
            print("refused:", e)
        try:
            with shapesafe.mode("check"):
                print("checking")
        except RuntimeError as e:
            print("refused:", e)
        print(shapesafe.get_mode())
        """,
        "off",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("refused: shapesafe cannot check: SHAPESAFE_MODE=off")
    assert lines[1].startswith("refused:")
    assert lines[2] == "off"


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_fork_while_another_thread_holds_the_locks_does_not_deadlock() -> None:
    result = run_python(
        """
        import os, threading, torch
        from jaxtyping import Float
        from torch import Tensor
        import shapesafe
        from shapesafe import _cache, _mode

        @shapesafe.checked
        def f(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
            return x

        cache = f.__shapesafe__.cache
        held, done = threading.Event(), threading.Event()

        def hold():
            with _cache._caches_lock, _mode._lock:
                held.set()
                done.wait(30)

        t = threading.Thread(target=hold)
        t.start()
        held.wait(10)
        pid = os.fork()
        if pid == 0:
            f(torch.randn(3))  # a miss: puts into the cache
            f(torch.randn(4))
            shapesafe.set_mode("off")
            shapesafe.set_mode("check")
            with shapesafe.mode("off"):
                pass
            os._exit(0 if len(cache) == 2 else 3)
        _, status = os.waitpid(pid, 0)
        done.set()
        t.join()
        print(os.waitstatus_to_exitcode(status))
        """,
        "check",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


@pytest.mark.slow
def test_compiled_code_follows_the_process_default() -> None:
    def body(A: Tensor, x: Tensor) -> Tensor:
        return matvec(A, x) * 2

    compiled = torch.compile(body, fullgraph=True, backend="eager")
    A, x = torch.randn(3, 4), torch.randn(4)
    torch.testing.assert_close(compiled(A, x), (A @ x) * 2)
    shapesafe.set_mode("off")
    torch.testing.assert_close(compiled(A, x), (A @ x) * 2)  # retraced with checks off
    with pytest.raises(RuntimeError):  # torch's own error: nothing was checked
        compiled(*BAD)
    shapesafe.set_mode("check")
    with shapesafe.mode("off"):  # a ContextVar, which dynamo can't read: the default holds
        torch.testing.assert_close(compiled(A, x), (A @ x) * 2)
        with pytest.raises(ShapeError):
            compiled(*BAD)


def test_a_bad_mode_does_not_reach_the_static_checker(tmp_path: Path) -> None:
    """`shapesafe check` reads source only: it never reads `SHAPESAFE_MODE`."""
    source = tmp_path / "model.py"
    source.write_text(
        "from jaxtyping import Float\n"
        "from torch import Tensor\n\n\n"
        "def f(x: Float[Tensor, ' n']) -> Float[Tensor, ' n']:\n"
        "    return x\n"
    )
    env = dict(os.environ, SHAPESAFE_MODE="garbage")
    result = subprocess.run(
        [sys.executable, "-m", "shapesafe.check", str(source)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "shapesafe: 0 findings in 1 file\n"


@pytest.mark.slow
def test_an_ops_own_errors_name_it_with_checks_off_at_import() -> None:
    """Errors an op's body finds are built from its contract, read from its annotations
    when checks were off at import."""
    result = run_python(
        """
        import torch
        import shapesafe as ss
        for call in (
            lambda: ss.split_heads(torch.zeros(2, 5, 30), 4),
            lambda: ss.attention(torch.zeros(2, 8, 5, 4), torch.zeros(2, 3, 5, 4),
                                 torch.zeros(2, 3, 5, 4)),
        ):
            try:
                call()
            except ss.ShapeError as e:
                print(e.op, e.argument, e.dim)
        """,
        "off",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["split_heads x embed", "attention q *batch[1]"]
