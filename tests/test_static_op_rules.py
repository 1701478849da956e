"""Static shape rules of take_along_dim, of pools whose window is not given as ints, and of
`x.expand(*y.shape[:-1], -1)`: their shapes, against torch's own where torch can run them,
and the calls that must not be findings."""

from pathlib import Path

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_static_rules import agree, check_source, static_shape, torch_shape


@settings(max_examples=40, deadline=None)
@given(
    dims=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    index=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    dim=st.integers(-3, 2),
    method=st.booleans(),
)
def test_take_along_dim_agrees_with_torch(
    dims: list[int], index: list[int], dim: int, method: bool
) -> None:
    x = torch.randn(dims)
    ids = torch.zeros(index, dtype=torch.long)
    expr = (
        "x.take_along_dim(g.long(), dim={d})"
        if method
        else "torch.take_along_dim(x, g.long(), {d})"
    )
    agree(
        static_shape(dims, expr.format(d=dim), other=index),
        torch_shape(lambda: torch.take_along_dim(x, ids, dim)),
    )


def test_take_along_dim_shapes() -> None:
    assert static_shape(
        [2, 3, 4], "torch.take_along_dim(x, g.long(), dim=-1)", other=[2, 3, 5]
    ) == (
        "2",
        "3",
        "5",
    )
    assert static_shape([2, 1, 4], "torch.take_along_dim(x, g.long(), -1)", other=[2, 3, 5]) == (
        "2",
        "3",
        "5",
    )
    # Without a dim: one value for each index, of the flattened x: a size unknown here.
    assert static_shape([2, 3], "torch.take_along_dim(x, g.long())", other=[4]) is None


def test_take_along_dim_findings(tmp_path: Path) -> None:
    ok = (
        "def f(x: Float[Tensor, 'n k'], ids: Float[Tensor, 'n j'], y: Float[Tensor, 'n 1']):\n"
        "    a = torch.take_along_dim(x, ids.long(), dim=-1)\n"
        "    b = torch.take_along_dim(y, ids.long(), dim=1)\n"
        "    return a + b\n"
    )
    assert check_source(tmp_path, ok) == []
    bad = (
        "def f(x: Float[Tensor, 'n k'], ids: Float[Tensor, 'm j']):\n"
        "    return torch.take_along_dim(x, ids.long(), dim=-1)\n"
    )
    found = check_source(tmp_path, bad)
    assert len(found) == 1
    assert found[0].startswith("6: take_along_dim: ")
    assert "n" in found[0] and "m" in found[0]


@settings(max_examples=30, deadline=None)
@given(
    dims=st.lists(st.integers(2, 6), min_size=2, max_size=2),
    kernel=st.sampled_from([1, 3, 5]),
)
def test_pool_of_a_window_not_given_as_ints(dims: list[int], kernel: int) -> None:
    # `F.max_pool2d(x, k, stride=1, padding=(k - 1) // 2)`: where the rule tells sizes, they
    # are torch's.
    real = torch_shape(
        lambda: F.max_pool2d(torch.empty(2, 3, *dims), kernel, stride=1, padding=(kernel - 1) // 2)
    )
    expr = "F.max_pool2d(x, kernel_size=k, stride=1, padding=(k - 1) // 2)"
    agree(static_shape([2, 3, *dims], expr, "k = len(g)", other=[kernel]), real)
    agree(static_shape([2, 3, *dims], expr, f"k = {kernel}"), real)


def test_pool_of_a_window_not_given_as_ints_keeps_batch_and_channels(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'b c h w'], k: int) -> Float[Tensor, 'b c h2 w2']:\n"
        "    return F.max_pool2d(x, kernel_size=k, stride=1, padding=(k - 1) // 2)\n"
        "def g(x: Float[Tensor, 'b c h w'], k: int) -> Float[Tensor, 'b c']:\n"
        "    return F.max_pool2d(x, kernel_size=k, stride=1, padding=(k - 1) // 2)\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("8: "), found
    # A padding over half the window is still refused by torch: no shape, no finding.
    assert (
        check_source(
            tmp_path,
            "def f(x: Float[Tensor, 'b c h w']) -> Float[Tensor, 'b c']:\n"
            "    return F.max_pool2d(x, 3, stride=1, padding=2)\n",
        )
        == []
    )


def test_expand_keeps_the_axis_of_a_minus_one() -> None:
    assert static_shape([2, 1, 1, 5], "x.expand(*g.shape[:-1], -1)", other=[2, 3, 4, 7]) == (
        "2",
        "3",
        "4",
        "5",
    )
    assert static_shape(
        [2, 1, 1, 5],
        "torch.rand(x.shape[0], 1, 1, 6).expand(*g.shape[:-1], -1)",
        other=[2, 3, 4, 7],
    ) == ("2", "3", "4", "6")
    assert static_shape([2, 1, 1, 5], "x.expand(*g.shape[:-2], -1, -1)", other=[2, 3, 4, 7]) == (
        "2",
        "3",
        "1",
        "5",
    )
    # A -1 before a spliced part: its axis is not known to be x's, a size unknown.
    assert static_shape([2, 1, 1, 5], "x.expand(-1, *g.shape[1:])", other=[2, 3, 4, 5]) is None


def test_expand_of_a_minus_one_is_no_finding(tmp_path: Path) -> None:
    source = (
        "def f(d: Float[Tensor, 'b h w 3'], q: Float[Tensor, 'b 1 1 n']) -> Float[Tensor, 'b h w n']:\n"
        "    return q.expand(*d.shape[:-1], -1)\n"
        "def g(d: Float[Tensor, 'b h w 3'], q: Float[Tensor, 'b 1 1 n']) -> Float[Tensor, 'b h w 3']:\n"
        "    return q.expand(*d.shape[:-1], -1)\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("8: "), found
    real = torch.empty(2, 1, 1, 5).expand(*torch.empty(2, 3, 4, 3).shape[:-1], -1)
    assert tuple(real.shape) == (2, 3, 4, 5)
