"""The one evaluator of symbolic dims, and its one bound, shared by the runtime and the static
checker: the same text gets the same value on both sides, and a power past the bound is
unknown on both."""

import ast

import pytest

from shapesafe import _symbolic
from shapesafe import _unify as runtime
from shapesafe._static import _unify as static
from shapesafe._symbolic import LIMIT, parse_symbolic, symbolic_value

# (text, sizes, the runtime's value): the static checker's is the same where it is an int
# within the bound, else unknown.
TABLE: list[tuple[str, dict[str, int], object]] = [
    ("2**10", {}, 1024),
    ("3*4+1", {}, 13),
    ("-(2)", {}, -2),
    ("7//2", {}, 3),
    ("7%4", {}, 3),
    ("n*m+1", {"n": 3, "m": 4}, 13),
    ("2**64", {}, LIMIT),
    ("-(2**64)", {}, -LIMIT),
    ("(-2)**64", {}, LIMIT),
    ("2**n", {"n": 64}, LIMIT),
    ("1**1000", {}, 1),
    ("0**1000", {}, 0),
    ("(-1)**1001", {}, -1),
    ("16**16", {}, LIMIT),
    # Powers past the bound: unknown on both sides, and decided at once.
    ("2**65", {}, None),
    ("(-2)**65", {}, None),
    ("2**n", {"n": 65}, None),
    ("n**n", {"n": 17}, None),
    ("3**41", {}, None),
    ("9**9**9", {}, None),
    ("n**n**n", {"n": 9}, None),
    ("10**100", {}, None),
    ("2**(2**65)", {}, None),
    # Errors and what isn't an int.
    ("1//0", {}, None),
    ("7%0", {}, None),
    ("n//0", {"n": 3}, None),
    ("missing+1", {}, None),
    ("3/2", {}, 1.5),
    ("2**-1", {}, 0.5),
    ("True+1", {}, None),
    ("2<<3", {}, None),
]


def _static_value(value: object) -> static.Size | None:
    return static.lit(value) if type(value) is int and abs(value) <= LIMIT else None


@pytest.mark.parametrize(("text", "sizes", "expected"), TABLE)
def test_both_sides_compute_a_dim_alike(text: str, sizes: dict[str, int], expected: object) -> None:
    got = symbolic_value(parse_symbolic(text), sizes, None)
    assert got == expected and type(got) is type(expected)
    assert runtime.symbolic_value(parse_symbolic(text), sizes, None) == expected
    want = _static_value(expected)
    # The static checker: a dim written out over its sizes, and a constant folded ...
    static_sizes = {k: static.lit(v) for k, v in sizes.items()}
    assert static.expression(text, static_sizes) == want
    if not sizes and "missing" not in text:
        assert static.simplify(ast.parse(text, mode="eval").body) == want
    # ... and the matcher's value of the dim over the static checker's sizes.
    over_sizes = symbolic_value(parse_symbolic(text), static_sizes, None)
    assert (None if over_sizes is None else static._as_size(over_sizes)) == want


def test_a_constant_past_the_bound_is_unknown_statically() -> None:
    # No power made it: the runtime compares it, as jaxtyping does, and no size equals it.
    assert symbolic_value(parse_symbolic("2**64*2"), {}, None) == 2 * LIMIT
    assert static.simplify(ast.parse("2**64*2", mode="eval").body) is None
    assert static._as_size(2 * LIMIT) is None
    assert static._as_size(LIMIT) == static.lit(LIMIT)


@pytest.mark.parametrize("text", ["max(n,m)-min(n,m)", "abs(n-m)", "min(2,3)"])
def test_calls_are_computed_at_run_time_only(text: str) -> None:
    # Statically a size is an expression, and no order is known between two of them.
    assert symbolic_value(parse_symbolic(text), {"n": 3, "m": 9}, None) in (6, 2)
    assert static.expression(text, {"n": static.lit(3), "m": static.lit(9)}) is None


def test_one_bound_moves_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_symbolic, "LIMIT", 1 << 16)
    for text, expected in [("2**16", 1 << 16), ("2**17", None), ("4**9", None)]:
        assert symbolic_value(parse_symbolic(text), {}, None) == expected
        want = _static_value(expected) if expected is None else static.lit(expected)
        assert static.expression(text, {}) == want
        assert static.simplify(ast.parse(text, mode="eval").body) == want
        n = {"n": static.name("n")}
        over_sizes = symbolic_value(parse_symbolic(f"{text}+n"), n, None)
        assert (None if over_sizes is None else static._as_size(over_sizes)) == (
            None if expected is None else static.Size("expr", f"{expected}+n")
        )


def test_the_runtime_and_the_static_checker_share_the_evaluator() -> None:
    assert runtime.symbolic_value is _symbolic.symbolic_value
    assert runtime.int_atom is _symbolic.int_atom
    assert not hasattr(runtime, "_value") and not hasattr(runtime, "_MAX_BITS")
    assert not hasattr(static, "_LIMIT") and not hasattr(static, "_FOLD")
