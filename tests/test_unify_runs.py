"""`_unify.match` over shapes that hold runs of unknown length (its `is_run` hook), and the
static checker's size domain on it (`_static._unify.Unifier`)."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe._contract import parse_spec
from shapesafe._static._unify import Group, Size, Unifier, expression, fresh, lit, name, sym
from shapesafe._unify import match, symbolic_value

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


# The static domain -------------------------------------------------------------------------


def test_static_broadcast_dim_judges_only_sizes_known_not_to_be_one() -> None:
    u = Unifier()
    assert u.match("x", parse_spec("#b"), (name("s"),)) is None
    assert "b" not in u.single
    assert u.match("y", parse_spec("b"), (lit(1),)) is None
    # As jaxtyping: `#b` lets a 1 through, not a size that differs from the bound 1.
    conflict = u.match("z", parse_spec("#b"), (lit(3),))
    assert conflict is not None and conflict.kind == "size"
    assert (conflict.expected, conflict.actual) == (lit(1), lit(3))
    assert conflict.source is not None and conflict.source.argument == "y"


def test_static_run_item_conflict_names_the_item() -> None:
    u = Unifier()
    assert u.match("x", parse_spec("*batch d"), (Group("g"), lit(2), lit(5))) is None
    conflict = u.match("y", parse_spec("*batch d"), (Group("g"), lit(3), lit(5)))
    assert conflict is not None and conflict.kind == "size"
    assert conflict.dim is not None and conflict.dim.name == "*batch[-1]"
    assert (conflict.expected, conflict.actual) == (lit(2), lit(3))


def test_static_fresh_size_is_learned_with_where() -> None:
    u = Unifier()
    unknown = fresh("n")
    assert u.match("x", parse_spec("n"), (lit(4),)) is None
    assert u.match("y", parse_spec("n"), (unknown,)) is None
    assert u.learned((unknown,)) == [(unknown, lit(4), "x")]


LEAVES = [lit(4), lit(1), name("heads"), Size("expr", "2*d"), fresh(), sym("config.n", 1)]


@st.composite
def trees(draw: st.DrawFn, depth: int = 2, top: bool = True) -> str:
    """Expressions over `p` and `q` in which no operator has two literal operands (a bare
    name is a named dim, not a symbolic one)."""
    if depth == 0 or (not top and draw(st.booleans())):
        return draw(st.sampled_from(["p", "q", "-p"]))
    left = draw(trees(depth - 1, False))
    right = draw(st.one_of(trees(depth - 1, False), st.sampled_from(["2", "3"])))
    op = draw(st.sampled_from(["+", "-", "*", "//", "/", "%", "**"]))
    a, b = (left, right) if draw(st.booleans()) else (right, left)
    return f"({a}){op}({b})"


@settings(max_examples=150, deadline=None)
@given(text=trees(), p=st.sampled_from(LEAVES), q=st.sampled_from(LEAVES))
def test_symbolic_dims_over_sizes_read_as_expression_does(text: str, p: Size, q: Size) -> None:
    """The matcher's symbolic dims, computed with sizes' arithmetic, are the sizes that the
    static checker's `expression` writes for the same text."""
    from shapesafe._contract import parse_symbolic
    from shapesafe._static._unify import _as_size

    sizes = {"p": p, "q": q}
    value = symbolic_value(parse_symbolic(text), sizes, None)
    got = None if value is None else _as_size(value)
    assert got == expression(text, sizes)
