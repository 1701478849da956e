"""A default its hint rejects (`alpha: float = None`): as under `jaxtyped(typechecker=beartype)`,
a call that leaves it out is accepted, and the same value passed explicitly is rejected."""

# ruff: noqa: RUF013 - the implicit Optional of `alpha: float = None` is the subject here

import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import torch
from beartype import beartype
from jaxtyping import Float, jaxtyped
from torch import Tensor

from shapesafe import ShapeError, checked
from tests.helpers import state_of, verdict


def positional(x: Float[Tensor, " n"], alpha: float = None) -> Float[Tensor, " n"]:  # type: ignore[assignment]
    return x if alpha is None else x * alpha


def keyword_only(x: Float[Tensor, " n"], *, alpha: float = None) -> Float[Tensor, " n"]:  # type: ignore[assignment]
    return x if alpha is None else x * alpha


def packed(x: Float[Tensor, " n"], alpha: float = None, **extra: int) -> Float[Tensor, " n"]:  # type: ignore[assignment]
    return x if alpha is None else x * alpha


def then_more(
    x: Float[Tensor, " n"],
    alpha: float = None,  # type: ignore[assignment]
    beta: int = 1,
) -> Float[Tensor, " n"]:
    return x * beta if alpha is None else x * alpha * beta


def positional_only(
    x: Float[Tensor, " n"],
    alpha: float = None,  # type: ignore[assignment]
    /,
) -> Float[Tensor, " n"]:
    return x if alpha is None else x * alpha


def then_packed(
    x: Float[Tensor, " n"],
    alpha: float = None,  # type: ignore[assignment]
    *rest: int,
) -> Float[Tensor, " n"]:
    return x if alpha is None else x * alpha * sum(rest, 1)


def bad_default(x: Float[Tensor, " n"], tag: int = "x") -> Float[Tensor, " n"]:  # type: ignore[assignment]
    return x


FUNCTIONS = [positional, keyword_only, packed, then_more]
#: A parameter that a call can't leave out of the call the reference checks.
KEPT = [positional_only, then_packed]


CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((), {"alpha": None}),
    ((), {"alpha": 2.0}),
    ((), {"alpha": 2}),
    ((), {"alpha": "2"}),
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_the_verdicts_are_the_references(fn: Callable[..., Any]) -> None:
    ours, reference = checked(fn), jaxtyped(fn, typechecker=beartype)
    # The full check, then the cache; then new sizes (the structure path), then a bad rank.
    for x in [torch.randn(3), torch.randn(3), torch.randn(5), torch.randn(2, 2)]:
        for args, kwargs in CALLS:
            expected = verdict(reference, x, *args, **kwargs)
            assert verdict(ours, x, *args, **kwargs) == expected, (x.shape, args, kwargs)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_an_explicit_none_is_rejected_after_the_default_was_accepted(
    fn: Callable[..., Any],
) -> None:
    f = checked(fn)
    x = torch.randn(3)
    for _ in range(2):
        torch.testing.assert_close(f(x), x)
        with pytest.raises(ShapeError, match=re.escape("argument 'alpha' is None, expected float")):
            f(x, alpha=None)
    assert len(state_of(f).cache) == 1


def test_a_positional_none_is_rejected() -> None:
    f = checked(positional)
    x = torch.randn(3)
    torch.testing.assert_close(f(x), x)
    with pytest.raises(ShapeError, match=re.escape("positional(): argument 'alpha' is None")):
        f(x, None)  # type: ignore[arg-type]


def test_the_arguments_after_a_left_out_one_still_count() -> None:
    f = checked(then_more)
    x = torch.randn(3)
    torch.testing.assert_close(f(x, beta=3), x * 3)
    torch.testing.assert_close(f(x, beta=3), x * 3)
    with pytest.raises(ShapeError, match=re.escape("then_more(): argument 'beta' is str")):
        f(x, beta="3")  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match=re.escape("then_more(): argument 'x' has 2 dims (3, 2)")):
        f(torch.randn(3, 2), beta=3)


def test_a_left_out_default_is_not_checked_as_under_the_reference() -> None:
    x = torch.randn(3)
    assert verdict(jaxtyped(bad_default, typechecker=beartype), x) == "ok"
    f = checked(bad_default)
    for _ in range(2):
        torch.testing.assert_close(f(x), x)
        with pytest.raises(ShapeError, match=re.escape("argument 'tag' is str, expected int")):
            f(x, "x")  # type: ignore[arg-type]


def sampled(
    x: Float[Tensor, " n"],
    picks: Sequence[int] = None,  # type: ignore[assignment]
    *,
    k: list[int] = None,  # type: ignore[assignment]
) -> Float[Tensor, " n"]:
    return x


def sampled_packed(
    x: Float[Tensor, " n"],
    picks: Sequence[int] = None,  # type: ignore[assignment]
    **extra: int,
) -> Float[Tensor, " n"]:
    return x


@pytest.mark.parametrize("fn", [sampled, sampled_packed], ids=lambda f: f.__name__)
def test_a_hint_tested_on_every_call_with_a_default_it_rejects(fn: Callable[..., Any]) -> None:
    ours, reference = checked(fn), jaxtyped(fn, typechecker=beartype)
    last = {"k": [1]} if fn is sampled else {"zz": 1}
    bad = {"k": None} if fn is sampled else {"zz": None}
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
        ((), {}),
        ((None,), {}),
        (([1],), {}),
        ((["a"],), {}),
        ((), bad),
        ((), last),
    ]
    for x in [torch.randn(3), torch.randn(3), torch.randn(4)]:
        for args, kwargs in calls:
            expected = verdict(reference, x, *args, **kwargs)
            assert verdict(ours, x, *args, **kwargs) == expected, (x.shape, args, kwargs)


@pytest.mark.parametrize("fn", KEPT, ids=lambda f: f.__name__)
def test_a_default_that_stays_in_the_call_gets_the_references_verdicts(
    fn: Callable[..., Any],
) -> None:
    ours, reference = checked(fn), jaxtyped(fn, typechecker=beartype)
    calls: list[tuple[Any, ...]] = [(), (None,), (2.0,), ("2",)]
    if fn is then_packed:
        calls += [(2.0, 3), (None, 3), (2.0, "3")]
    for x in [torch.randn(3), torch.randn(3), torch.randn(5), torch.randn(2, 2)]:
        for args in calls:
            expected = verdict(reference, x, *args)
            assert verdict(ours, x, *args) == expected, (fn.__name__, x.shape, args)
    x = torch.randn(3)
    torch.testing.assert_close(ours(x), x)
    torch.testing.assert_close(ours(x, 2.0), 2 * x)
    with pytest.raises(ShapeError, match=re.escape("argument 'alpha' is None, expected float")):
        ours(x, None)
