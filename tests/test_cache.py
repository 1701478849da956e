"""Regressions: the verdict cache never accepts a call that a fresh check rejects.

Each test first lets a call be accepted (and cached, where it may be), then changes what the
reference check reads without changing what an unsafe key would hold, and asserts that the
next call gets the reference's verdict. `reference` below is the same body under
`jaxtyping.jaxtyped(typechecker=beartype)`.
"""

import abc
import gc
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, cast, runtime_checkable

import pytest
import torch
from beartype import beartype
from jaxtyping import Float, Int, TypeCheckError, jaxtyped
from torch import Tensor

from shapesafe import ShapeError, checked
from shapesafe._cache import ITEMS, NEVER, TESTED, VALUE, param_kind, value_key
from tests.helpers import count_full_checks, state_of


def reference_accepts(fn: Callable[..., Any], *args: Any) -> bool:
    try:
        jaxtyped(fn, typechecker=beartype)(*args)
    except TypeCheckError:
        return False
    return True


def checked_accepts(fn: Callable[..., Any], *args: Any) -> bool:
    try:
        fn(*args)
    except ShapeError:
        return False
    return True


# --- a return dim `{self.n}` that the body changes ---------------------------------------


class Grows:
    def __init__(self) -> None:
        self.n = 3

    def step(self, x: Float[Tensor, " n"]) -> Float[Tensor, " {self.n}"]:
        self.n += 1  # the return is checked against the new value
        return torch.zeros(4)


def test_a_return_dim_the_body_changes_is_read_after_the_body() -> None:
    step = checked(Grows.step)
    g = Grows()
    step(g, torch.randn(2))  # n: 3 -> 4, returns 4: accepted
    assert reference_accepts(Grows.step, Grows(), torch.randn(2))
    g.n = 3
    step(g, torch.randn(2))  # the same key as the first call, and still right
    g.n = 4  # n: 4 -> 5, the return (4,) is now wrong
    assert not reference_accepts(Grows.step, _with_n(4), torch.randn(2))
    with pytest.raises(ShapeError, match="return"):
        step(g, torch.randn(2))


def _with_n(n: int) -> Grows:
    g = Grows()
    g.n = n
    return g


# --- NamedTuple and tuple-subclass arguments and returns ---------------------------------


class Pair(NamedTuple):
    a: Tensor
    b: Tensor


def pair_arg(
    p: tuple[Float[Tensor, " n"], Float[Tensor, " n"]], x: Float[Tensor, " n"]
) -> Float[Tensor, " n"]:
    return x


def test_a_namedtuple_argument_is_never_keyed_by_its_contents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    f = checked(pair_arg)
    p = Pair(torch.zeros(3), torch.zeros(3))
    calls = count_full_checks(f, monkeypatch)
    f(p, torch.randn(3))
    p.b.resize_(5)
    assert not reference_accepts(pair_arg, p, torch.randn(3))
    with pytest.raises(ShapeError):
        f(p, torch.randn(3))
    assert calls == [2]


class Twice(tuple):  # type: ignore[type-arg]
    pass


def twice(x: Float[Tensor, " n"]) -> tuple[Float[Tensor, " n"], Float[Tensor, " n"]]:
    out: tuple[Tensor, Tensor] = RETURNS.pop(0)
    return out


RETURNS: list[Any] = []


def test_a_tuple_subclass_return_is_checked_every_time() -> None:
    f = checked(twice)
    RETURNS[:] = [Twice((torch.zeros(3), torch.zeros(3))), Twice((torch.zeros(3), torch.zeros(5)))]
    f(torch.randn(3))
    RETURNS.append(Twice((torch.zeros(3), torch.zeros(5))))
    assert not reference_accepts(twice, torch.randn(3))
    with pytest.raises(ShapeError, match="return"):
        f(torch.randn(3))


# --- values that compare equal but have other types -------------------------------------


def exact_int(x: Float[Tensor, " n"], k: int) -> Float[Tensor, " n"]:
    return x


@pytest.mark.parametrize(("good", "bad"), [(1, True), (1, 1.0)], ids=["True==1", "1.0==1"])
def test_equal_values_of_other_types_get_their_own_verdict(good: Any, bad: Any) -> None:
    f = checked(exact_int)
    # `bool` is an `int`, so beartype accepts True for `int`; 1.0 it rejects.
    f(torch.randn(3), good)
    assert checked_accepts(f, torch.randn(3), bad) == reference_accepts(
        exact_int, torch.randn(3), bad
    )
    assert value_key(True) != value_key(1)
    assert value_key(1.0) != value_key(1)


def sized_by(x: Float[Tensor, " {k}"], k: Any) -> Float[Tensor, " {k}"]:
    return x


def test_expr_values_are_keyed_with_their_type() -> None:
    f = checked(sized_by)
    f(torch.randn(1), 1)
    # jaxtyping formats the value into the dim: "True" evaluates to True, which equals 1.
    for k in (True, 1.0, 2):
        x = torch.randn(1)
        assert checked_accepts(f, x, k) == reference_accepts(sized_by, x, k)


# --- objects checked against a protocol, ABC or Sequence[int], then mutated -------------


@runtime_checkable
class HasShape(Protocol):
    shape: Any


class Box:
    def __init__(self) -> None:
        self.shape = (1,)


def protocol_arg(b: HasShape, x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return x


class Ints(Sequence[int]):
    """A hashable sequence whose items change."""

    def __init__(self) -> None:
        self.items: list[Any] = [1, 2]

    def __getitem__(self, i: Any) -> Any:
        return self.items[i]

    def __len__(self) -> int:
        return len(self.items)

    def __hash__(self) -> int:
        return id(self)


def sequence_arg(s: Sequence[int], x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return x


def test_an_object_checked_against_a_protocol_is_checked_again_after_a_change() -> None:
    f = checked(protocol_arg)
    b = Box()
    f(b, torch.randn(2))
    del b.shape
    assert not reference_accepts(protocol_arg, b, torch.randn(2))
    with pytest.raises(ShapeError, match="'b'"):
        f(b, torch.randn(2))


def test_a_sequence_of_ints_is_checked_again_after_a_change() -> None:
    f = checked(sequence_arg)
    s = Ints()
    f(s, torch.randn(2))
    s.items = ["a"]
    assert not reference_accepts(sequence_arg, s, torch.randn(2))
    with pytest.raises(ShapeError, match="'s'"):
        f(s, torch.randn(2))


class Base(abc.ABC):
    @abc.abstractmethod
    def go(self) -> None: ...


class Impl(Base):
    def go(self) -> None:
        pass


def abc_arg(b: Base, x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return x


def test_an_abc_hint_is_keyed_by_type_and_a_sequence_hint_tested() -> None:
    # isinstance against an ABC reads the class only; a parametrized Sequence reads items.
    assert param_kind(Base) != NEVER and param_kind(Base) != VALUE
    assert param_kind(Sequence[int]) == TESTED
    assert param_kind(Sequence[Float[Tensor, " n"]]) == ITEMS
    assert param_kind(dict[str, Float[Tensor, " n"]]) == ITEMS
    assert param_kind(dict[str, list[Float[Tensor, " n"]]]) == NEVER
    f = checked(abc_arg)
    f(Impl(), torch.randn(2))
    with pytest.raises(ShapeError, match="'b'"):
        f(cast(Any, object()), torch.randn(2))


# --- tensors in containers, resized in place --------------------------------------------


def holder_arg(h: tuple[Float[Tensor, " n"], int], x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return x


def test_a_tensor_in_a_tuple_is_keyed_by_its_shape_and_resized_in_place() -> None:
    f = checked(holder_arg)
    t = torch.zeros(3)
    h = (t, 1)
    f(h, torch.randn(3))
    t.resize_(4)
    assert not reference_accepts(holder_arg, h, torch.randn(3))
    with pytest.raises(ShapeError):
        f(h, torch.randn(3))


# --- the "same as last call" shortcut never compares tensor values ----------------------


class Scaled:
    def __init__(self) -> None:
        self.n = torch.tensor(3)

    def f(self, x: Float[Tensor, " {self.n}"]) -> Float[Tensor, " {self.n}"]:
        return x


def test_an_expr_that_is_a_tensor_is_never_keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    f = checked(Scaled.f)
    s = Scaled()
    calls = count_full_checks(f, monkeypatch)
    f(s, torch.randn(3))
    s.n.fill_(4)  # the same object, another value: jaxtyping formats the value
    assert not reference_accepts(Scaled.f, s, torch.randn(3))
    with pytest.raises(ShapeError):
        f(s, torch.randn(3))
    assert calls == [2]


# --- beartype's sampling of `tuple[int, ...]` -------------------------------------------


def many(xs: tuple[int, ...], x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return x


def test_a_sampled_hint_is_tested_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    f = checked(many)
    calls = count_full_checks(f, monkeypatch)
    xs = (*range(30), "a")
    rejected = 0
    for _ in range(400):
        rejected += not checked_accepts(f, xs, torch.randn(2))
    # beartype checks one random item per call, on every call, hit or miss: some calls meet
    # the str. Those go to the full check; the others are hits.
    assert 0 < rejected < 400
    assert rejected <= calls[0] < 200


# --- keys hold no strong references they don't need ------------------------------------


class Model:
    @checked
    def run(self, *xs: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return xs[0]


def test_the_cache_does_not_keep_self_alive() -> None:
    m = Model()
    m.run(torch.randn(2), torch.randn(2))
    m.run(torch.randn(2), torch.randn(2))
    assert len(state_of(Model.run).cache) == 1
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def test_value_keys_hold_only_immutable_values() -> None:
    assert value_key((1, "a", None, torch.float32)) == value_key((1, "a", None, torch.float32))
    for unsafe in (Box(), Pair(torch.zeros(1), torch.zeros(1)), frozenset({1}), [1]):
        with pytest.raises(TypeError):
            value_key(unsafe)


# --- int tensors where int hints are read by value ---------------------------------------


def counted_ids(ids: Int[Tensor, " n"], k: int) -> Int[Tensor, " n"]:
    return ids


def test_an_int_argument_keyed_by_value_still_hits(monkeypatch: pytest.MonkeyPatch) -> None:
    f = checked(counted_ids)
    calls = count_full_checks(f, monkeypatch)
    f(torch.arange(3), 2)
    f(torch.arange(3), 2)
    assert calls == [1]


# --- an `{expr}` dim inside a tuple return ------------------------------------------------


def pair_of(x: Float[Tensor, " n"], k: int) -> tuple[Float[Tensor, " n"], Float[Tensor, " {k}"]]:
    return x, torch.zeros(1)


def test_an_expr_dim_in_a_tuple_return_is_part_of_the_signature() -> None:
    f = checked(pair_of)
    f(torch.randn(2), 1)
    assert not reference_accepts(pair_of, torch.randn(2), 2)
    with pytest.raises(ShapeError, match="return"):
        f(torch.randn(2), 2)
