"""The one unifier in `shapesafe._unify`: expression trees, jaxtyping's variadic rules, and
the fast `decide` verdict."""

from typing import Any

import pytest
import torch
from beartype import beartype
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import Float, TypeCheckError, jaxtyped
from torch import Tensor

from shapesafe._contract import (
    Bindings,
    Contract,
    TensorParam,
    decide,
    evaluate_symbolic,
    parse_expr,
    parse_spec,
    parse_symbolic,
)
from shapesafe._unify import symbolic_value


def param(name: str, spec: str, optional: bool = False, packed: str = "") -> TensorParam:
    return TensorParam(name, parse_spec(spec), ("float32",), "Float", optional, packed)


# Expression trees ---------------------------------------------------------------------------

EXPRESSIONS = [
    "n+1",
    "heads*head_dim",
    "embed//heads",
    "n-m",
    "n%m",
    "-n+8",
    "+n",
    "n**2",
    "2**n",
    "n/2",
    "max(n,m)",
    "min(n,2)+1",
    "abs(n-m)",
    "(n+m)*(n-m)",
]


@settings(max_examples=80, deadline=None)
@given(
    expr=st.sampled_from(EXPRESSIONS),
    sizes=st.fixed_dictionaries(
        {k: st.integers(1, 9) for k in ("n", "m", "heads", "head_dim", "embed")}
    ),
)
def test_trees_evaluate_as_python_does(expr: str, sizes: dict[str, int]) -> None:
    expected = eval(expr, dict(sizes))  # the reference: what jaxtyping evaluates
    assert symbolic_value(parse_symbolic(expr), sizes, None) == expected


def test_each_text_is_parsed_once() -> None:
    assert parse_symbolic("n+1") is parse_symbolic("n+1")
    assert parse_spec("a n+1").dims[1].expr is parse_symbolic("n+1")


class Cfg:
    n = 6
    neg = -2
    weight = torch.zeros(5, 3)


@pytest.mark.parametrize(
    ("expr", "sizes", "expected"),
    [
        pytest.param("{self.n}", {}, 6, id="attribute"),
        pytest.param("{self.n}*n", {"n": 2}, 12, id="part-times-dim"),
        pytest.param("{self.weight.shape[0]}", {}, 5, id="tensor-shape"),
        pytest.param("{self.weight.shape[-1]}+n", {"n": 1}, 4, id="negative-index"),
        # A negative part is formatted into the text, as jaxtyping does: "-2**2" is -4.
        pytest.param("{self.neg}**2", {}, -4, id="negative-part-as-text"),
        pytest.param("1{self.n}", {}, 16, id="adjacent-parts-as-text"),
        pytest.param("{self.missing}", {}, None, id="missing-attribute"),
        pytest.param("missing+1", {}, None, id="unbound-name"),
        pytest.param("n//0", {"n": 3}, None, id="division-by-zero"),
        pytest.param("n if n else 2", {"n": 3}, None, id="outside-the-whitelist"),
        pytest.param("len(n)", {"n": 3}, None, id="call-outside-the-whitelist"),
    ],
)
def test_symbolic_values(expr: str, sizes: dict[str, int], expected: int | None) -> None:
    assert evaluate_symbolic(expr, sizes, {"self": Cfg()}) == expected


def test_parts_without_arguments_are_unknown() -> None:
    assert evaluate_symbolic("{self.n}", {}, None) is None


def test_huge_constants_are_parsed_not_evaluated() -> None:
    # Evaluating 9**9**9 would not finish: parsing builds a tree, and `**` is bounded.
    spec = parse_spec("9**9**9 n")
    assert spec.dims[0].kind == "symbolic"
    assert spec.dims[0].expr == parse_symbolic("9**9**9")
    assert symbolic_value(parse_symbolic("9**9**9"), {}, None) is None
    assert symbolic_value(parse_symbolic("n**n**n"), {"n": 9}, None) is None
    assert parse_expr("2**10") == ("op", "**", ("int", 2), ("int", 10))
    assert symbolic_value(parse_symbolic("2**10"), {}, None) == 1024


# jaxtyping's variadic rules, three arguments and more ----------------------------------------


@jaxtyped(typechecker=beartype)
def _three(x: Float[Tensor, "*#b"], y: Float[Tensor, "*b"], z: Float[Tensor, "*#b"]) -> None:
    pass


@jaxtyped(typechecker=beartype)
def _three_bb(x: Float[Tensor, "*#b"], y: Float[Tensor, "*#b"], z: Float[Tensor, "*b"]) -> None:
    pass


@jaxtyped(typechecker=beartype)
def _three_plain_first(
    x: Float[Tensor, "*b"], y: Float[Tensor, "*#b"], z: Float[Tensor, "*#b"]
) -> None:
    pass


CASES = [
    ((3, 1), (3, 4), (1, 4)),
    ((1, 4), (3, 4), (3, 1)),
    ((1,), (3, 4), (2, 1)),
    ((3, 4), (1, 4), ()),
    ((3, 1), (1, 4), (3, 4)),
    ((2, 1), (1, 3), (2, 3)),
    ((1, 3), (2, 1), (2, 3)),
    ((), (2, 3), (4, 2, 3)),
    ((4, 1, 3), (2, 3), (1,)),
    ((0,), (1,), (0,)),
    ((1,), (0,), (1,)),
    ((2,), (2,), (3,)),
]


def _reference(fn: Any, shapes: tuple[tuple[int, ...], ...]) -> bool:
    try:
        fn(*(torch.zeros(s) for s in shapes))
    except TypeCheckError:
        return False
    return True


@pytest.mark.parametrize("shapes", CASES, ids=[str(c) for c in CASES])
@pytest.mark.parametrize(
    ("fn", "specs"),
    [
        (_three, ("*#b", "*b", "*#b")),
        (_three_bb, ("*#b", "*#b", "*b")),
        (_three_plain_first, ("*b", "*#b", "*#b")),
    ],
    ids=["bc-plain-bc", "bc-bc-plain", "plain-bc-bc"],
)
def test_broadcast_variadics_follow_jaxtyping(
    fn: Any, specs: tuple[str, str, str], shapes: tuple[tuple[int, ...], ...]
) -> None:
    contract = Contract("f", tuple(param(n, s) for n, s in zip("xyz", specs, strict=True)), None)
    expected = _reference(fn, shapes)
    assert decide(contract, shapes) == expected
    b = Bindings()
    conflicts = [
        b.match(n, p.spec, s) for n, p, s in zip("xyz", contract.params, shapes, strict=True)
    ]
    assert all(c is None for c in conflicts) == expected


# decide ------------------------------------------------------------------------------------

LINEAR = Contract(
    "linear",
    (param("x", "*batch in_f"), param("W", "out_f in_f"), param("b", " out_f", optional=True)),
    param("return", "*batch out_f"),
)


@pytest.mark.parametrize(
    ("shapes", "expected"),
    [
        pytest.param(((4, 10, 16), (32, 16), None, (4, 10, 32)), True, id="fits"),
        pytest.param(((4, 10, 16), (32, 16), (32,)), True, id="arguments-only"),
        pytest.param(((4, 10, 16), (16, 32), None), False, id="transposed-weight"),
        pytest.param(((16,), (32, 16), (31,)), False, id="bias"),
        pytest.param(((2, 16), (32, 16), None, (3, 32)), False, id="return-batch"),
        pytest.param((torch.Size([2, 16]), torch.Size([3, 16]), None), True, id="torch-size"),
    ],
)
def test_decide(shapes: tuple[Any, ...], expected: bool) -> None:
    assert decide(LINEAR, shapes) is expected


def test_decide_packed_items() -> None:
    contract = Contract("cat", (param("xs", "n d", packed="*"),), param("return", "m d"))
    assert decide(contract, [[(2, 3), (2, 3)], (4, 3)]) is True
    assert decide(contract, [[(2, 3), (2, 4)]]) is False
    assert decide(contract, [[]]) is True


def test_decide_symbolic_and_undecidable() -> None:
    contract = Contract("f", (param("x", "n"),), param("return", "{self.n}*n"))
    assert decide(contract, [(2,), (12,)], {"self": Cfg()}) is True
    assert decide(contract, [(2,), (11,)], {"self": Cfg()}) is False
    assert decide(contract, [(2,), (12,)]) is None  # `{...}` needs the arguments
    unbound = Contract("g", (param("x", "m+1"),), None)
    assert decide(unbound, [(3,)]) is None  # jaxtyping raises an AnnotationError there


def test_decide_plans_once() -> None:
    assert LINEAR.plan is LINEAR.plan


def test_decide_a_name_first_bound_by_an_optional_param() -> None:
    contract = Contract(
        "f",
        (param("x", "a"), param("y", "b", optional=True), param("xs", "b", packed="*")),
        None,
    )
    assert decide(contract, [(2,), None, [(5,)]]) is True  # y is None: b is still free
    assert decide(contract, [(2,), (4,), [(5,)]]) is False
    assert decide(contract, [(2,), (5,), [(5,), (5,)]]) is True
