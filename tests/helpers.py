"""Small shared helpers for the op tests."""

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import torch
from jaxtyping import TypeCheckError

from shapesafe import ShapeError
from shapesafe._checked import _Checked
from shapesafe._static import check_file
from shapesafe._static._report import _ANNOTATED, Stats


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run on one thread: models this small gain nothing from more, and lose a lot on a busy
    machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def randn(*shape: int, dtype: torch.dtype = torch.float32, grad: bool = False) -> torch.Tensor:
    return torch.randn(*shape, dtype=dtype, requires_grad=grad)


def expect_shape_error(
    fn: Callable[..., Any], args: Sequence[Any], argument: str, dim: str | None = None
) -> ShapeError:
    """Call `fn(*args)`, require a ShapeError that names `argument` (and `dim`) on line one."""
    with pytest.raises(ShapeError) as info:
        fn(*args)
    err = info.value
    headline = str(err).splitlines()[0]
    named = err.argument == argument or f"{argument}.shape" in headline
    assert named, f"{argument!r} not named in: {headline}"
    if dim is not None:
        assert err.dim == dim, f"dim {err.dim!r} != {dim!r} in: {headline}"
        assert f"'{dim}'" in headline
    return err


def check_grads(out: torch.Tensor, inputs: Sequence[torch.Tensor]) -> None:
    """Gradients reach every input, with the input's own shape."""
    out.float().sum().backward()  # type: ignore[no-untyped-call]
    for t in inputs:
        assert t.grad is not None
        assert t.grad.shape == t.shape


def state_of(fn: Callable[..., Any]) -> _Checked:
    """What `checked` built for `fn`."""
    state = getattr(fn, "__shapesafe__", None)
    assert isinstance(state, _Checked)
    return state


def count_full_checks(fn: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the calls that go through the reference check (the misses)."""
    state = state_of(fn)
    calls = [0]
    reference = state.reference

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return reference(*args, **kwargs)

    monkeypatch.setattr(state, "reference", counted)
    return calls


def verdict(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """'ok', 'rejected' (a jaxtyping `TypeCheckError`: a ShapeError is one), or the name of
    another error's type: what a differential test compares with the reference's."""
    try:
        fn(*args, **kwargs)
    except TypeCheckError:
        return "rejected"
    except Exception as e:
        return type(e).__name__
    return "ok"


def static_findings(
    tmp_path: Path,
    source: str,
    header: str = "",
    relative: bool = False,
    stats: Stats | None = None,
) -> list[str]:
    """`shapesafe check` of `header + source` as a snippet file, each finding as
    `"line: message"`; with `relative`, lines are counted from `source`'s first."""
    path = tmp_path / "snippet.py"
    path.write_text(header + source)
    offset = header.count("\n") if relative else 0
    return [f"{f.line - offset}: {f.message}" for f in check_file(path, stats=stats)]


def run_source(source: str, *args: object) -> object:
    """Run the `f` that `source` defines (the source a static test checks) on `args`."""
    scope: dict[str, object] = {}
    exec(source, scope)
    f = scope["f"]
    assert callable(f)
    return f(*args)


def annotated_relations(stats: Stats) -> tuple[int, int]:
    """(checked, all) annotated relations of a static check's `--stats`."""
    checked = sum(stats.annotated.values())
    unknown = sum(stats.unknown[why] for why in _ANNOTATED.values())
    return checked, checked + unknown
