"""`_unify.match` over shapes that hold runs of unknown length (its `is_run` hook)."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe._contract import parse_spec
from shapesafe._unify import match

RUN = "run"


def is_run(item: Any) -> bool:
    return isinstance(item, str)


def test_dims_before_and_after_a_run_are_matched_by_position() -> None:
    single: dict[str, Any] = {}
    assert match(parse_spec("a b c").plan, (7, RUN, 9), single, {}, is_run=is_run) is None
    assert single == {"a": 7, "c": 9}


def test_more_known_axes_than_the_spec_has_is_a_rank_failure() -> None:
    failed = match(parse_spec("a b c").plan, (RUN, 1, 2, 3, 4), {}, {}, is_run=is_run)
    assert failed is not None and failed[0] == "rank"


def test_dims_after_the_variadic_dim_are_matched_right_to_left() -> None:
    failed = match(parse_spec("... a a").plan, (RUN, 3, 4), {}, {}, is_run=is_run)
    assert failed == ("size", 1, 1, 4, 3)


def test_a_run_inside_the_variadic_dim_binds_it() -> None:
    variadic: dict[str, Any] = {}
    assert match(parse_spec("b *v d").plan, (2, RUN, 5), {}, variadic, is_run=is_run) is None
    assert variadic == {"v": (False, (RUN,))}
    # Another run for `*v`: its length is unknown, so only its ends are compared.
    assert match(parse_spec("*v").plan, (3, 4), {}, variadic, is_run=is_run) is None
    variadic["v"] = (False, (2, RUN))
    failed = match(parse_spec("*v").plan, (3, RUN), {}, variadic, is_run=is_run)
    assert failed == ("item", 0, 0, 2, 3)


def test_a_run_outside_the_variadic_dim_leaves_it_unbound() -> None:
    variadic: dict[str, Any] = {}
    assert match(parse_spec("a b *v").plan, (RUN, 2), {}, variadic, is_run=is_run) is None
    assert variadic == {}


SPECS = ["*v", "a *v", "*v a", "a *v b", "*v 3", "#a *v"]
SIZES = st.integers(min_value=1, max_value=3)


@settings(max_examples=150, deadline=None)
@given(
    specs=st.lists(st.sampled_from(SPECS), min_size=1, max_size=3),
    shapes=st.lists(st.lists(SIZES, max_size=4), min_size=3, max_size=3),
)
def test_without_runs_the_hook_changes_no_verdict(
    specs: list[str], shapes: list[list[int]]
) -> None:
    """Over ints, comparing variadic runs by `_differ` (the hook's path) and by `_same`
    agree on every verdict and binding."""
    out = []
    for hook in (None, is_run):
        single: dict[str, Any] = {}
        variadic: dict[str, Any] = {}
        verdicts = [
            match(parse_spec(s).plan, tuple(shape), single, variadic, is_run=hook) is None
            for s, shape in zip(specs, shapes, strict=False)
        ]
        out.append((verdicts, single, variadic))
    assert out[0] == out[1]
