"""Small shared helpers for the op tests."""

from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch

from shapesafe import ShapeError


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
