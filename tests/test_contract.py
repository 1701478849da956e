"""The spec parser and the dim unifier in `shapesafe._contract`."""

import pytest
import torch
from jaxtyping import Float
from torch import Tensor

from shapesafe import ShapeError, checked
from shapesafe._contract import (
    Bindings,
    Contract,
    Observed,
    Source,
    TensorParam,
    evaluate_symbolic,
    parse_spec,
    unify,
)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        pytest.param("batch seq embed", ["named"] * 3, id="named"),
        pytest.param(" n", ["named"], id="leading-space"),
        pytest.param("", [], id="scalar"),
        pytest.param("3 n", ["fixed", "named"], id="fixed"),
        pytest.param("*batch m n", ["variadic", "named", "named"], id="variadic"),
        pytest.param("... n", ["anonymous_variadic", "named"], id="ellipsis"),
        pytest.param("_ n", ["anonymous", "named"], id="anonymous"),
        pytest.param("*_ n", ["anonymous_variadic", "named"], id="anonymous-variadic"),
        pytest.param("#n", ["named"], id="broadcastable"),
        pytest.param("heads*head_dim", ["symbolic"], id="symbolic"),
        pytest.param("rows=4", ["fixed"], id="labelled-fixed"),
        pytest.param("in_features={self.n}", ["symbolic"], id="labelled-symbolic"),
    ],
)
def test_parse_kinds(text: str, kinds: list[str]) -> None:
    assert [d.kind for d in parse_spec(text).dims] == kinds


def test_parse_details() -> None:
    spec = parse_spec("*batch #m rows=4 in_features={self.n}")
    batch, m, rows, feat = spec.dims
    assert spec.variadic_index == 0 and spec.min_rank == 3
    assert (batch.name, m.name, m.broadcastable) == ("batch", "m", True)
    assert (rows.size, rows.label, rows.display) == (4, "rows", "rows")
    assert (feat.name, feat.display) == ("{self.n}", "in_features")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("*a *b", id="two-variadics"),
        pytest.param("a,b", id="commas"),
        pytest.param("*3", id="variadic-fixed"),
        pytest.param("_3", id="anonymous-fixed"),
        pytest.param("*n+1", id="variadic-symbolic"),
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_spec(text)


def test_match_binds_and_records_sources() -> None:
    b = Bindings()
    assert b.match("A", parse_spec("*batch m n"), (2, 3, 4, 5)) is None
    assert b.match("x", parse_spec(" n"), (5,)) is None
    assert b.describe() == [
        "m=4 from A.shape[2]",
        "n=5 from A.shape[3]",
        "batch=(2, 3) from A.shape[0:2]",
    ]


def test_match_size_conflict_names_both_sides() -> None:
    b = Bindings()
    b.match("A", parse_spec("m n"), (3, 4))
    c = b.match("x", parse_spec(" n"), (3,))
    assert c is not None
    assert (c.kind, c.argument, c.axis, c.expected, c.actual) == ("size", "x", 0, 4, 3)
    assert c.dim is not None and c.dim.name == "n"
    assert c.source == Source("A", 1)


def test_conflict_rolls_back_partial_bindings() -> None:
    b = Bindings()
    b.match("A", parse_spec("m n"), (3, 4))
    assert b.match("B", parse_spec("p n"), (7, 5)) is not None
    assert "p" not in b.single


def test_rank_conflict() -> None:
    c = Bindings().match("x", parse_spec("*batch m n"), (3,))
    assert c is not None and (c.kind, c.actual) == ("rank", (3,))


def test_variadic_same_rank_points_at_the_differing_axis() -> None:
    b = Bindings()
    b.match("a", parse_spec("*shape"), (2, 3, 4))
    c = b.match("b", parse_spec("*shape"), (2, 3, 5))
    assert c is not None
    assert (c.kind, c.axis, c.expected, c.actual, c.source) == ("size", 2, 4, 5, Source("a", 2))


def test_variadic_rank_conflict() -> None:
    b = Bindings()
    b.match("a", parse_spec("*shape"), (4, 1))
    c = b.match("b", parse_spec("*shape"), (4,))
    assert c is not None and (c.kind, c.expected, c.actual) == ("variadic", (4, 1), (4,))


def test_broadcastable_dims() -> None:
    b = Bindings()
    assert b.match("a", parse_spec("#n"), (1,)) is None
    assert b.match("b", parse_spec("#n"), (5,)) is None
    assert b.match("c", parse_spec("#n"), (5,)) is None
    assert b.match("d", parse_spec("#n"), (4,)) is not None


def test_fixed_and_symbolic() -> None:
    b = Bindings()
    assert b.match("x", parse_spec("h d 3"), (2, 4, 3)) is None
    assert b.match("y", parse_spec("h*d"), (8,)) is None
    c = b.match("z", parse_spec("h*d"), (9,))
    assert c is not None and (c.kind, c.expected, c.actual) == ("symbolic", 8, 9)
    fixed = b.match("w", parse_spec("3"), (4,))
    assert fixed is not None and fixed.kind == "fixed"


def test_symbolic_reads_arguments() -> None:
    class Cfg:
        n = 6

    assert evaluate_symbolic("{self.n}", {}, {"self": Cfg()}) == 6
    assert evaluate_symbolic("{self.n}", {}, None) is None
    assert evaluate_symbolic("missing+1", {}) is None


def _contract() -> Contract:
    return Contract(
        "op",
        (
            TensorParam("a", parse_spec("m n"), ("float32",), "Float"),
            TensorParam("b", parse_spec(" n"), ("float32",), "Float", optional=True),
        ),
        TensorParam("return", parse_spec(" m"), ("float32",), "Float"),
    )


def test_unify_whole_call() -> None:
    ok = {
        "a": Observed((3, 4), "float32"),
        "b": Observed((4,), "float32"),
        "return": Observed((3,), "float32"),
    }
    assert unify(_contract(), ok)[1] is None
    bad_ret = dict(ok, **{"return": Observed((4,), "float32")})
    conflict = unify(_contract(), bad_ret)[1]
    assert conflict is not None and conflict.argument == "return"


def test_unify_types_dtypes_and_optional() -> None:
    c = _contract()
    assert unify(c, {"a": Observed((3, 4), "float32"), "b": None})[1] is None
    missing = unify(c, {"a": None})[1]
    assert missing is not None and (missing.kind, missing.actual) == ("type", "None")
    listed = unify(c, {"a": Observed(None, type_name="list")})[1]
    assert listed is not None and (listed.kind, listed.actual) == ("type", "list")
    ints = unify(c, {"a": Observed((3, 4), "int64")})[1]
    assert ints is not None and (ints.kind, ints.expected, ints.actual) == (
        "dtype",
        "Float",
        "int64",
    )


# Packed `*args` items and tuple returns are unified item by item.


def test_packed_items_are_named_in_the_error() -> None:
    @checked
    def cat(*xs: Float[Tensor, "n d"]) -> Float[Tensor, "m d"]:
        return torch.cat(xs)

    with pytest.raises(ShapeError) as info:
        cat(torch.zeros(2, 3), torch.zeros(2, 4))
    assert (info.value.argument, info.value.dim) == ("xs[1]", "d")
    first = str(info.value).splitlines()[0]
    assert first.endswith(
        "cat(): argument 'xs[1]' dim 'd' is 4 at xs[1].shape[1], expected 3 (bound by xs[0].shape[1])"
    )


def test_tuple_return_items_are_named_in_the_error() -> None:
    @checked
    def halves(x: Float[Tensor, "n d"]) -> tuple[Float[Tensor, "n d"], Float[Tensor, " n"]]:
        return x, x[0]

    with pytest.raises(ShapeError) as info:
        halves(torch.zeros(2, 3))
    assert (info.value.argument, info.value.dim) == ("return[1]", "n")
    assert "return[1]  (3,) float32" in str(info.value)


def test_contract_records_packing_and_tuple_returns() -> None:
    @checked
    def f(
        x: Float[Tensor, " n"], *xs: Float[Tensor, " n"]
    ) -> tuple[Float[Tensor, " n"], int, Float[Tensor, ""]]:
        return x, 1, x.sum()

    contract = f.__shapesafe__.contract  # type: ignore[attr-defined]
    assert [p.packed for p in contract.params] == ["", "*"]
    assert contract.returns is not None
    assert [None if p is None else p.name for p in contract.returns] == [
        "return[0]",
        None,
        "return[2]",
    ]
