"""The static checker on `expand`, `expand_as` and `broadcast_to`: an axis keeps its size or,
where it is 1, takes the size given; an axis whose size is a number other than 1 given a
size it certainly is not is a finding, and so are fewer sizes than the tensor has dims (for
`repeat` too, which needs one repeat for each dim)."""

import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_static_rules import agree, check_source, static_shape, torch_shape


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    b=st.lists(st.integers(1, 3), min_size=1, max_size=4),
)
def test_expand_agrees_with_torch(a: list[int], b: list[int]) -> None:
    x = torch.randn(a)
    agree(static_shape(a, f"x.expand({tuple(b)})"), torch_shape(lambda: x.expand(b)))
    agree(
        static_shape(a, "x.expand_as(g)", other=b), torch_shape(lambda: x.expand_as(torch.zeros(b)))
    )


def test_an_axis_of_a_number_expanded_to_another_is_a_finding(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'n 3'], y: Float[Tensor, 'n 2'], z: Float[Tensor, 'n 1']) -> None:\n"
        "    a = x.expand(y.shape)\n"
        "    b = x.expand_as(y)\n"
        "    c = x.broadcast_to(y.shape)\n"
        "    d = z.expand_as(y)\n"
        "    e = x.expand(4, -1, 3)\n"
        "    g = x.expand(*y.shape[:-1], -1)\n"
    )
    message = 'expand: x "n 3" has 3 at dim 1, which cannot become 2 (only an axis of 1 expands)'
    assert check_source(tmp_path, source) == [f"{n}: {message}" for n in (6, 7, 8)]


def test_fewer_sizes_than_dims_is_a_finding(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'n 3'], k: int) -> None:\n"
        "    a = x.expand(3)\n"
        "    b = x.unsqueeze(0).repeat(k, 1)\n"
        "    c = x.repeat(1, k)\n"
        "    d = x.repeat(1, *x.shape[1:])\n"
    )
    assert check_source(tmp_path, source) == [
        '6: expand: x "n 3" has 2 dims, more than the 1 given',
        '7: repeat: x.unsqueeze(0) "1 n 3" has 3 dims but 2 repeats are given (torch raises '
        "RuntimeError: it needs one for each dim)",
    ]


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    b=st.lists(st.integers(1, 3), min_size=1, max_size=4),
)
def test_a_repeat_reported_is_one_torch_raises_on(a: list[int], b: list[int]) -> None:
    x = torch.randn(a)
    params = f'x: Float[Tensor, "{" ".join(map(str, a))}"]'
    with tempfile.TemporaryDirectory() as tmp:
        found = check_source(
            Path(tmp), f"def f({params}):\n    y = x.repeat({', '.join(map(str, b))})\n"
        )
    agree(static_shape(a, f"x.repeat({', '.join(map(str, b))})"), torch_shape(lambda: x.repeat(b)))
    if found:
        assert torch_shape(lambda: x.repeat(b)) is None, found


def test_expand_of_an_indexed_value_to_another_shape_is_a_finding(tmp_path: Path) -> None:
    source = (
        "def f(m: Float[Tensor, 'n 4 4'], d: Float[Tensor, 'n 2']) -> None:\n"
        "    a = m[:, :3, 3].expand(d.shape)\n"
    )
    assert check_source(tmp_path, source) == [
        '6: expand: m[:, :3, 3] "n 3" has 3 at dim 1, which cannot become 2 (only an axis of 1 '
        "expands)"
    ]


def test_expand_of_an_axis_of_one_or_to_its_own_size_is_no_finding(tmp_path: Path) -> None:
    source = (
        "def f(m: Float[Tensor, 'n 1 3'], d: Float[Tensor, 'n 7 3']) -> Float[Tensor, 'n 7 3']:\n"
        "    return m.expand(d.shape)\n"
        "def g(m: Float[Tensor, 'n 3'], k: int) -> Float[Tensor, 'k n 3']:\n"
        "    return m.expand(k, -1, 3)\n"
    )
    assert check_source(tmp_path, source) == []


@pytest.mark.parametrize(("have", "want"), [((3,), (2,)), ((2, 3), (2, 4)), ((4, 1), (4, 2))])
def test_torch_agrees_on_what_expand_refuses(have: tuple[int, ...], want: tuple[int, ...]) -> None:
    refused = any(h not in (1, w) for h, w in zip(have, want, strict=True))
    try:
        torch.zeros(have).expand(want)
    except RuntimeError:
        assert refused
    else:
        assert not refused
