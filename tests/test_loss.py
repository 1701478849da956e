"""cross_entropy and embedding against torch's own, and the errors they exist to catch."""

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn


@pytest.mark.parametrize("batch", [(), (5,), (2, 5), (2, 3, 4)], ids=str)
def test_cross_entropy_equals_torch_over_the_flattened_batch(batch: tuple[int, ...]) -> None:
    logits = randn(*batch, 11)
    targets = torch.randint(0, 11, batch)
    expected = F.cross_entropy(logits.reshape(-1, 11), targets.reshape(-1))
    assert_close(ss.cross_entropy(logits, targets), expected)


def test_cross_entropy_ignore_index() -> None:
    logits, targets = randn(2, 6, 7), torch.randint(0, 7, (2, 6))
    targets[0, :3] = -1
    expected = F.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1), ignore_index=-1)
    assert_close(ss.cross_entropy(logits, targets, ignore_index=-1), expected)


def test_cross_entropy_gradients() -> None:
    logits = randn(2, 3, 5, grad=True)
    check_grads(ss.cross_entropy(logits, torch.randint(0, 5, (2, 3))), [logits])


@pytest.mark.parametrize(
    ("args", "argument", "dim"),
    [
        pytest.param(
            (randn(2, 5, 11), torch.zeros(2, 5, 1, dtype=torch.long)),
            "targets",
            "*batch",
            id="targets-b-t-1",
        ),
        pytest.param((randn(2, 5, 11), randn(2, 5)), "targets", None, id="float-targets"),
        pytest.param(
            (randn(2, 5, 11), torch.zeros(2, 4, dtype=torch.long)),
            "targets",
            "*batch[1]",
            id="targets-shorter",
        ),
        pytest.param(
            (randn(10, 11), torch.zeros(2, 5, dtype=torch.long)),
            "targets",
            "*batch",
            id="flattened-logits-unflattened-targets",
        ),
    ],
)
def test_cross_entropy_errors(args: tuple[Any, ...], argument: str, dim: str | None) -> None:
    expect_shape_error(ss.cross_entropy, args, argument, dim)


@pytest.mark.parametrize("batch", [(), (5,), (2, 5)], ids=str)
def test_embedding_equals_torch(batch: tuple[int, ...]) -> None:
    weight = randn(11, 4)
    ids = torch.randint(0, 11, batch)
    out = ss.embedding(ids, weight)
    assert out.shape == (*batch, 4)
    assert_close(out, F.embedding(ids, weight))


def test_embedding_gradients() -> None:
    weight = randn(11, 4, grad=True)
    check_grads(ss.embedding(torch.randint(0, 11, (2, 3)), weight), [weight])


@pytest.mark.parametrize(
    ("args", "argument"),
    [
        pytest.param((randn(2, 5), randn(11, 4)), "ids", id="float-ids"),
        pytest.param((torch.zeros(2, 5, dtype=torch.long), randn(11)), "weight", id="1d-weight"),
        pytest.param(
            (torch.zeros(2, 5, dtype=torch.long), torch.zeros(11, 4, dtype=torch.long)),
            "weight",
            id="int-weight",
        ),
    ],
)
def test_embedding_errors(args: tuple[Any, ...], argument: str) -> None:
    expect_shape_error(ss.embedding, args, argument)


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@settings(max_examples=40, deadline=None)
@given(logits=shapes, targets=shapes)
def test_cross_entropy_accepts_exactly_matching_batches(
    logits: tuple[int, ...], targets: tuple[int, ...]
) -> None:
    call: Callable[[], Any] = lambda: ss.cross_entropy(  # noqa: E731
        torch.randn(logits), torch.zeros(targets, dtype=torch.long)
    )
    if len(logits) >= 1 and logits[:-1] == targets:
        flat = torch.randn(logits)
        t = torch.zeros(targets, dtype=torch.long)
        expected = F.cross_entropy(flat.reshape(-1, logits[-1]), t.reshape(-1))
        assert_close(ss.cross_entropy(flat, t), expected)
    else:
        with pytest.raises(ss.ShapeError):
            call()
