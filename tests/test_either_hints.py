"""A union of tensor hints and hints that name no array nor take a tensor
(`Union[str, List[str], Int[Tensor, "b s"]]`, TransformerLens's `input`), against
`jaxtyped(typechecker=beartype)`: a tensor is keyed by its shape, any other value is tested
against the other hints on every call and keyed by its type. Every call, first or cached,
gets the reference's verdict."""

from collections.abc import Callable, Iterable
from typing import Any

import pytest
import torch
from beartype import beartype
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jaxtyping import Float, Int, TypeCheckError, jaxtyped
from torch import Tensor, nn

from shapesafe import checked
from shapesafe._cache import EITHER, NEVER
from tests.helpers import count_full_checks, state_of, verdict


def text_or_tokens(
    x: str | list[str] | Int[Tensor, "b s"],
    w: Float[Tensor, "s e"],
) -> Float[Tensor, "s e"]:
    return w


def tokens_or_pairs(
    x: Int[Tensor, "b s"] | dict[str, int] | None, w: Float[Tensor, "s e"]
) -> Float[Tensor, "s e"]:
    return w


def iterable_or_tokens(
    x: Iterable[str] | Int[Tensor, "b s"], w: Float[Tensor, "s e"]
) -> Float[Tensor, "s e"]:
    return w


def test_the_kinds() -> None:
    assert state_of(checked(text_or_tokens)).kinds["x"] == EITHER
    assert state_of(checked(tokens_or_pairs)).kinds["x"] == EITHER
    # A tensor is an Iterable: beartype may take it for the other hint, so no key is made.
    assert state_of(checked(iterable_or_tokens)).kinds["x"] == NEVER


VALUES = st.one_of(
    st.builds(
        lambda b, s: torch.zeros(b, s, dtype=torch.int64), st.integers(1, 3), st.integers(1, 3)
    ),
    st.builds(lambda s: torch.zeros(1, s), st.integers(1, 3)),  # a float tensor: rejected
    st.builds(lambda s: nn.Parameter(torch.zeros(1, s)), st.integers(1, 3)),
    st.builds(lambda s: torch.zeros(s, dtype=torch.int64), st.integers(1, 3)),  # one dim
    st.text(max_size=3),
    st.lists(st.text(max_size=2), max_size=3),
    st.lists(st.integers(0, 3), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(0, 3), max_size=2),
    st.dictionaries(st.text(max_size=2), st.text(max_size=1), min_size=1, max_size=2),
    st.sampled_from([None, 3, 2.5, ("a",)]),
)


@pytest.mark.parametrize("fn", [text_or_tokens, tokens_or_pairs], ids=lambda f: f.__name__)
def test_the_verdicts_are_the_references(fn: Callable[..., Any]) -> None:
    ours, reference = checked(fn), jaxtyped(fn, typechecker=beartype)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(x=VALUES, s=st.integers(1, 3))
    def run(x: Any, s: int) -> None:
        w = torch.zeros(s, 2)
        expected = verdict(reference, x, w)
        for _ in range(2):  # a miss, then a hit where the first call was accepted
            assert verdict(ours, x, w) == expected, (type(x), getattr(x, "shape", x))

    run()


def test_a_string_and_a_tensor_are_each_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fn = checked(text_or_tokens)
    calls = count_full_checks(fn, monkeypatch)
    w = torch.zeros(4, 2)
    for _ in range(3):
        fn("some text", w)
        fn(["a", "b"], w)
        fn(torch.zeros(2, 4, dtype=torch.int64), w)
    assert calls == [3]
    ints: Any = [1, 2]
    with pytest.raises(TypeCheckError, match="x"):
        fn(ints, w)  # a list, the type seen, but items the hint rejects
    with pytest.raises(TypeCheckError, match="s"):
        fn(torch.zeros(2, 5, dtype=torch.int64), w)
