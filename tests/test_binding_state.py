"""One binding state, `_unify.BindingState`, for the runtime's `Bindings` (ints) and the static
checker's `Unifier` (symbolic sizes): the same spec against the same sizes binds the same
names, from the same sources, and fails with the same conflict, leaving nothing new bound."""

from typing import Any

import pytest

from shapesafe._contract import Conflict, parse_spec
from shapesafe._static import _unify as static
from shapesafe._unify import Bindings, BindingState, Source


def test_both_sides_are_the_one_binding_state() -> None:
    assert issubclass(Bindings, BindingState)
    assert issubclass(static.Unifier, BindingState)


def _both(
    calls: list[tuple[str, str, tuple[int, ...]]],
) -> tuple[tuple[BindingState, Conflict | None], tuple[BindingState, Conflict | None]]:
    """Each (argument, spec, shape) matched in turn on both sides, up to the first conflict."""
    runtime, checker = Bindings(), static.Unifier()
    got: list[Conflict | None] = [None, None]
    for argument, text, shape in calls:
        spec = parse_spec(text)
        got[0] = got[0] or runtime.match(argument, spec, shape)
        got[1] = got[1] or checker.match(argument, spec, tuple(static.lit(n) for n in shape))
    return (runtime, got[0]), (checker, got[1])


def _as_static(value: Any) -> Any:
    if type(value) is int:
        return static.lit(value)
    if isinstance(value, tuple):
        return tuple(static.lit(n) for n in value)
    return value


CASES = [
    # (calls, the conflict's kind, axis, expected, actual, source)
    ([("x", "a b", (2, 3)), ("y", "b a", (3, 4))], "size", 1, 2, 4, Source("x", 0)),
    ([("x", "n", (2,)), ("y", "#n m", (1, 5)), ("z", "n m", (2, 6))], "size", 1, 5, 6, None),
    ([("x", "a 3", (2, 4))], "fixed", 1, 3, 4, None),
    ([("x", "a b", (2, 3)), ("y", "a*b", (5,))], "symbolic", 0, 6, 5, None),
    ([("x", "a b", (2, 3, 4))], "rank", None, 2, (2, 3, 4), None),
    ([("x", "a a", (2, 3))], "size", 1, 2, 3, Source("x", 0)),
]


@pytest.mark.parametrize(("calls", "kind", "axis", "expected", "actual", "source"), CASES)
def test_a_conflict_is_the_same_on_both_sides(
    calls: list[tuple[str, str, tuple[int, ...]]],
    kind: str,
    axis: int | None,
    expected: Any,
    actual: Any,
    source: Source | None,
) -> None:
    (runtime, at_run_time), (checker, statically) = _both(calls)
    assert at_run_time is not None and statically is not None
    argument = calls[-1][0]
    for conflict, ints in ((at_run_time, True), (statically, False)):
        assert (conflict.argument, conflict.kind, conflict.axis) == (argument, kind, axis)
        # The spec's own numbers (a rank, a fixed size) are ints on both sides.
        spec_number = kind in ("rank", "fixed")
        assert conflict.expected == (expected if ints or spec_number else _as_static(expected))
        assert conflict.actual == (actual if ints else _as_static(actual))
        if source is not None:
            assert conflict.source == source
    # What the failing argument bound stays unbound; what came before stays bound.
    assert runtime.sources == checker.sources
    assert runtime.sizes_.keys() == checker.sizes_.keys()
    assert {n for n, _ in runtime.sources.items()} <= {"a", "b", "n", "m"}


def test_names_and_runs_bind_alike() -> None:
    calls = [("x", "*batch n", (2, 3, 4)), ("y", "*batch #n m", (2, 3, 1, 5))]
    (runtime, c1), (checker, c2) = _both(calls)
    assert c1 is None and c2 is None
    assert runtime.sizes_ == {"n": 4, "m": 5}
    assert checker.sizes() == {"n": static.lit(4), "m": static.lit(5)}
    assert runtime.shapes_ == {"batch": (False, (2, 3))}
    assert checker.shapes_ == {"batch": (False, (static.lit(2), static.lit(3)))}
    assert runtime.sources["n"] == checker.sources["n"] == Source("x", 2)
    assert runtime.sources["m"] == checker.sources["m"] == Source("y", 3)
    # Where they differ on purpose: statically a run's source is its first axis only.
    assert runtime.sources["*batch"] == Source("x", 0, 2)
    assert checker.sources["*batch"] == Source("x", 0)
    assert runtime.single["n"] == (4, Source("x", 2))
    assert checker.single["n"] == (static.lit(4), Source("x", 2))
    assert runtime.variadic["batch"] == ((2, 3), Source("x", 0, 2))
