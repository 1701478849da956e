"""Hints that no key captures, against `jaxtyped(typechecker=beartype)`.

A hint without arrays that beartype samples or that reads more than a type (`list[int]`,
`tuple[int, ...]`, `Sequence[int]`, `Callable`, a protocol, `dict[str, Tensor]`, a
validator) is tested by beartype on every call, hit or miss, while the rest of the call is
cached. A list or tuple of tensors of one hint is keyed by its one item key when all its
items agree. A return hint no key captures is checked on every hit. Every call, first or
cached, gets the reference's verdict and the reference's type of error.

The values are drawn so that beartype's sample can't change its verdict: the items of a
container are all good or all bad.
"""

import collections.abc
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

import pytest
import torch
from beartype import beartype
from beartype.vale import Is
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jaxtyping import Float, jaxtyped
from torch import Tensor

from shapesafe import ShapeError, _cache, checked
from shapesafe._array_hints import binds_names
from shapesafe._cache import ALWAYS, ITEMS, NEVER, TESTED
from tests.helpers import count_full_checks, state_of, verdict


@runtime_checkable
class Sized(Protocol):
    def __len__(self) -> int: ...


Small = Annotated[int, Is[lambda n: 0 <= n < 4]]


def with_list(x: Float[Tensor, "r e"], picks: list[int]) -> Float[Tensor, "r e"]:
    return x


def with_sequence(x: Float[Tensor, "r e"], picks: Sequence[int]) -> Float[Tensor, "r e"]:
    return x


def with_tuple(x: Float[Tensor, "r e"], picks: tuple[int, ...]) -> Float[Tensor, "r e"]:
    return x


def with_callable(
    x: Float[Tensor, "r e"], fn: collections.abc.Callable[[Tensor], Tensor]
) -> Float[Tensor, "r e"]:
    return x


def with_protocol(x: Float[Tensor, "r e"], items: Sized) -> Float[Tensor, "r e"]:
    return x


def with_dict(x: Float[Tensor, "r e"], extra: dict[str, Tensor]) -> Float[Tensor, "r e"]:
    return x


def with_validator(x: Float[Tensor, "r e"], k: Small) -> Float[Tensor, "r e"]:
    return x


def with_literal(x: Float[Tensor, "r e"], how: Literal["sum", "mean"]) -> Float[Tensor, "r e"]:
    return x


def with_tensors(xs: list[Float[Tensor, "r e"]], y: Float[Tensor, " e"]) -> Float[Tensor, "r e"]:
    return xs[0] + y if xs else torch.zeros(0, y.shape[0])


def with_tensor_tuple(
    xs: tuple[Float[Tensor, "r e"], ...], y: Float[Tensor, " e"]
) -> Float[Tensor, "r e"]:
    return xs[0] + y if xs else torch.zeros(0, y.shape[0])


def with_tensor_dict(
    xs: dict[str, Float[Tensor, "r e"]], y: Float[Tensor, " e"]
) -> Float[Tensor, "r e"]:
    return next(iter(xs.values())) + y if xs else torch.zeros(0, y.shape[0])


def returns_list(x: Float[Tensor, "r e"], picks: Any) -> list[int]:
    return list(picks)


def returns_tensors(x: Float[Tensor, "r e"], n: int) -> list[Float[Tensor, " e"]]:
    return [x[0]] * n if n >= 0 else [x]


def tensors(min_dims: int = 2, max_dims: int = 2) -> st.SearchStrategy[Tensor]:
    shapes = st.lists(st.integers(1, 3), min_size=min_dims, max_size=max_dims)
    dtypes = st.sampled_from([torch.float32, torch.int64])
    return st.builds(lambda s, d: torch.ones(s, dtype=d), shapes, dtypes)


ints = st.lists(st.integers(-5, 5), max_size=4)
strs = st.lists(st.text(max_size=2), min_size=1, max_size=3)
#: Containers whose items are all good or all bad, and values that are no container.
INT_ITEMS = st.one_of(
    ints,
    strs,
    ints.map(tuple),
    strs.map(tuple),
    st.sampled_from([None, 3, "ab", range(3)]),
)

CASES: dict[Callable[..., Any], st.SearchStrategy[Any]] = {
    with_list: INT_ITEMS,
    with_sequence: INT_ITEMS,
    with_tuple: INT_ITEMS,
    with_callable: st.sampled_from([torch.relu, abs, None, 3, "f"]),
    with_protocol: st.one_of(ints, st.text(max_size=3), st.sampled_from([None, 3, 2.0])),
    with_dict: st.one_of(
        st.dictionaries(st.text(max_size=2), st.just(torch.ones(2)), max_size=3),
        st.dictionaries(st.text(max_size=2), st.just(1), min_size=1, max_size=2),
        st.sampled_from([None, [], {1: torch.ones(1)}]),
    ),
    with_validator: st.one_of(st.integers(-2, 6), st.sampled_from([None, 1.0, "1", True])),
    with_literal: st.sampled_from(["sum", "mean", "max", None, 1]),
    returns_list: INT_ITEMS,
}


def test_the_kinds() -> None:
    for fn in CASES:
        if fn is not returns_list and fn is not with_literal:
            assert TESTED in state_of(checked(fn)).kinds.values(), fn.__name__
    assert state_of(checked(with_tensors)).kinds["xs"] == ITEMS
    assert state_of(checked(with_tensor_tuple)).kinds["xs"] == ITEMS
    assert state_of(checked(with_tensor_dict)).kinds["xs"] == ITEMS
    assert state_of(checked(returns_list)).return_kind == ALWAYS
    assert state_of(checked(returns_tensors)).return_kind == ALWAYS
    more: list[Callable[..., Any]] = [with_tensors, with_tensor_tuple, returns_tensors]
    for each in [*CASES, *more]:
        assert state_of(checked(each)).cacheable, each.__name__

    def nested(xs: dict[str, list[Float[Tensor, " n"]]]) -> None:
        pass

    assert NEVER in state_of(checked(nested)).kinds.values()


@pytest.mark.parametrize("fn", list(CASES), ids=lambda f: f.__name__)
def test_the_verdicts_are_the_references(fn: Callable[..., Any]) -> None:
    ours, reference = checked(fn), jaxtyped(fn, typechecker=beartype)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(x=st.one_of(tensors(), tensors(1, 1)), value=CASES[fn])
    def run(x: Tensor, value: Any) -> None:
        expected = verdict(reference, x, value)
        for _ in range(2):  # a miss or a hit: the cache holds the signatures seen so far
            assert verdict(ours, x, value) == expected, (x.shape, x.dtype, value)

    run()


@pytest.mark.parametrize(
    "fn", [with_tensors, with_tensor_tuple, with_tensor_dict], ids=lambda f: f.__name__
)
def test_lists_of_tensors_get_the_references_verdicts(fn: Callable[..., Any]) -> None:
    ours, reference = checked(fn), jaxtyped(fn, typechecker=beartype)
    container: Any = {with_tensors: list, with_tensor_tuple: tuple}.get(fn, _as_dict)

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        item=st.one_of(tensors(), tensors(1, 3)),
        n=st.integers(0, 3),
        y=tensors(1, 1),
        other=st.sampled_from(["tuple", "list", "int", "mixed"]),
    )
    def run(item: Tensor, n: int, y: Tensor, other: str) -> None:
        xs: Any = container([item] * n)
        if other == "int":
            xs = container([1] * n)
        elif other == "mixed" and n:
            # Items that differ, but not in what the hint reads: any sample, one verdict.
            twin = item.to(torch.float64 if item.is_floating_point() else torch.int32)
            xs = container([item, twin, item][:n])
        elif other != container.__name__:
            xs = list(xs) if other == "list" else tuple(xs)
        expected = verdict(reference, xs, y)
        for _ in range(2):
            assert verdict(ours, xs, y) == expected, (item.shape, n, y.shape, other)

    run()


def _as_dict(items: list[Any]) -> dict[Any, Any]:
    """A dict of the items, by str keys; by int keys where the items are ints."""
    return {(i if isinstance(v, int) else str(i)): v for i, v in enumerate(items)}


def test_a_list_of_tensors_of_one_shape_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    f = checked(with_tensors)
    calls = count_full_checks(f, monkeypatch)
    x = torch.randn(4, 3)
    for _ in range(3):
        torch.testing.assert_close(f([x, x], torch.ones(3)), x + 1)
    assert calls[0] == 1
    # Items that differ (here in dtype): beartype samples one, so each call is the full check.
    f([x, x.double()], torch.ones(3))
    f([x, x.double()], torch.ones(3))
    assert calls[0] == 3
    with pytest.raises(ShapeError, match=re.escape("with_tensors(): argument 'y'")):
        f([x, x], torch.ones(2))


def test_a_tested_argument_is_tested_on_a_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    f = checked(with_callable)
    calls = count_full_checks(f, monkeypatch)
    x = torch.ones(2, 2)
    f(x, torch.relu)
    f(x, abs)
    assert calls[0] == 1
    with pytest.raises(
        ShapeError,
        match=re.escape(
            "with_callable(): argument 'fn' is int, expected Callable[[Tensor], Tensor]"
        ),
    ):
        f(x, 3)  # type: ignore[arg-type]


def test_a_return_no_key_captures_is_checked_on_every_hit() -> None:
    f = checked(returns_list)
    x = torch.ones(2, 2)
    assert f(x, [1, 2]) == [1, 2]
    assert f(x, [3]) == [3]
    for _ in range(2):
        with pytest.raises(ShapeError, match=re.escape("returns_list(): the return value is list")):
            f(x, ["a", "b"])


def test_a_list_of_tensors_returned_is_checked_against_the_dims_on_every_hit() -> None:
    f = checked(returns_tensors)
    x = torch.ones(2, 3)
    assert len(f(x, 2)) == 2
    assert len(f(x, 1)) == 1
    with pytest.raises(ShapeError, match=re.escape("returns_tensors(): the return value is list")):
        f(x, -1)  # a (2, 3) item where each is " e"


def test_a_pytree_structure_name_is_never_tested_apart_from_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `PyTree[Any, " T"]` binds T on the call's memo, for the return to read: a hint tested
    # apart from the call (TESTED, or the other side of an EITHER union) would leave T out,
    # and jaxtyping's return check then fails with an AnnotationError. jaxtyping's PyTree
    # needs jax; a class of a metaclass from a module of that name stands in for it here.
    import sys
    import types

    module = types.ModuleType("jaxtyping._pytree_type")

    class _MetaPyTree(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return True

    _MetaPyTree.__module__ = module.__name__
    tree = _MetaPyTree("PyTree[Any, 'T']", (), {"structure": "T"})
    plain_tree = _MetaPyTree("PyTree[Any]", (), {"structure": None})
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert binds_names(tree) and binds_names(list[tree])  # type: ignore[valid-type]
    assert not binds_names(plain_tree)
    assert _cache.param_kind(tree) == NEVER
    assert _cache.param_kind(plain_tree) == TESTED
    assert _cache.either_part(Float[Tensor, "n"] | tree) is None
