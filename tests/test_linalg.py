"""Products, sums, transposes and norms: values, gradients and the errors each catches."""

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

import shapesafe as ss
from tests.helpers import check_grads, expect_shape_error, randn

VALUE_CASES = [
    pytest.param(ss.scale, (2.5, randn(2, 3, 4)), lambda c, x: c * x, id="scale"),
    pytest.param(ss.scale, (3, randn(5)), lambda c, x: c * x, id="scale-int-factor"),
    pytest.param(ss.add, (randn(2, 3, 4), randn(2, 3, 4)), torch.add, id="add"),
    pytest.param(ss.sub, (randn(2, 3), randn(2, 3)), torch.sub, id="sub"),
    pytest.param(ss.hadamard, (randn(2, 3, 4), randn(2, 3, 4)), torch.mul, id="hadamard"),
    pytest.param(ss.dot, (randn(5), randn(5)), torch.dot, id="dot"),
    pytest.param(ss.outer, (randn(3), randn(4)), torch.outer, id="outer"),
    pytest.param(ss.matvec, (randn(3, 4), randn(4)), torch.mv, id="matvec"),
    pytest.param(ss.matmul, (randn(3, 4), randn(4, 5)), torch.matmul, id="matmul-2d"),
    pytest.param(
        ss.matmul, (randn(2, 6, 3, 4), randn(2, 6, 4, 5)), torch.matmul, id="matmul-batched"
    ),
    pytest.param(ss.linear, (randn(2, 7, 16), randn(32, 16), randn(32)), F.linear, id="linear"),
    pytest.param(ss.linear, (randn(16), randn(32, 16)), F.linear, id="linear-unbatched-no-bias"),
    pytest.param(ss.transpose, (randn(2, 3, 4),), lambda a: a.transpose(-2, -1), id="transpose"),
    pytest.param(ss.l1_norm, (randn(2, 3, 4),), lambda x: x.abs().sum(-1), id="l1"),
    pytest.param(ss.l2_norm, (randn(2, 3, 4),), lambda x: x.pow(2).sum(-1).sqrt(), id="l2"),
    pytest.param(
        ss.normalize, (randn(2, 3, 4),), lambda x: x / x.norm(dim=-1, keepdim=True), id="normalize"
    ),
]


@pytest.mark.parametrize(("op", "args", "reference"), VALUE_CASES)
def test_values_match_torch(
    op: Callable[..., Any], args: tuple[Any, ...], reference: Callable[..., Any]
) -> None:
    assert_close(op(*args), reference(*args))


@pytest.mark.parametrize(("op", "args", "reference"), VALUE_CASES)
def test_gradients_reach_every_input(
    op: Callable[..., Any], args: tuple[Any, ...], reference: Callable[..., Any]
) -> None:
    leaves = [
        a.detach().clone().requires_grad_(True) if isinstance(a, torch.Tensor) else a for a in args
    ]
    check_grads(op(*leaves), [a for a in leaves if isinstance(a, torch.Tensor)])


def test_add_works_on_integers() -> None:
    a = torch.arange(6).reshape(2, 3)
    assert_close(ss.add(a, a), a * 2)


ERROR_CASES = [
    # Elementwise ops never broadcast.
    pytest.param(ss.sub, (randn(8, 1), randn(8)), "b", None, id="sub-prediction-b1-vs-target-b"),
    pytest.param(ss.add, (randn(2, 3, 4), randn(2, 3, 5)), "b", "*shape[2]", id="add-last-dim"),
    pytest.param(
        ss.hadamard, (randn(3, 4), randn(1, 4)), "b", "*shape[0]", id="hadamard-no-broadcast"
    ),
    pytest.param(
        ss.add, (torch.ones(2, dtype=torch.bool), randn(2)), "a", None, id="add-bool-dtype"
    ),
    pytest.param(ss.scale, (2.0, [1.0, 2.0]), "x", None, id="scale-list"),
    pytest.param(ss.scale, ("2", randn(3)), "c", None, id="scale-string-factor"),
    pytest.param(ss.scale, (2.0, torch.arange(3)), "x", None, id="scale-int-tensor"),
    # Products: inner dims, ranks, dtypes.
    pytest.param(ss.dot, (randn(2, 3), randn(3)), "a", None, id="dot-rank"),
    pytest.param(ss.dot, (randn(3), randn(4)), "b", "n", id="dot-length"),
    pytest.param(
        ss.dot, (randn(3), randn(3, dtype=torch.float64)), "b", None, id="dot-mixed-dtype"
    ),
    pytest.param(ss.dot, (torch.arange(3), torch.arange(3)), "a", None, id="dot-int"),
    pytest.param(ss.outer, (randn(3), randn(3, 1)), "b", None, id="outer-rank"),
    pytest.param(ss.matvec, (randn(3, 4), randn(3)), "x", "n", id="matvec-inner-dim"),
    pytest.param(ss.matvec, (randn(4), randn(4)), "A", None, id="matvec-vector-as-matrix"),
    pytest.param(ss.matvec, (randn(3, 4), randn(4, 1)), "x", None, id="matvec-column-vector"),
    pytest.param(ss.matmul, (randn(2, 3, 4), randn(2, 5, 4)), "B", "n", id="matmul-inner-dim"),
    pytest.param(
        ss.matmul, (randn(2, 3, 4), randn(3, 4, 5)), "B", "*batch[0]", id="matmul-batch-dim"
    ),
    pytest.param(
        ss.matmul, (randn(3, 4), randn(2, 4, 5)), "B", None, id="matmul-no-batch-broadcast"
    ),
    pytest.param(ss.matmul, (randn(4), randn(4, 5)), "A", None, id="matmul-rank"),
    pytest.param(
        ss.linear, (randn(2, 16), randn(16, 32)), "weight", "in_features", id="transposed-weight"
    ),
    pytest.param(
        ss.linear,
        (randn(2, 16), randn(32, 16), randn(16)),
        "bias",
        "out_features",
        id="bias-sized-in",
    ),
    pytest.param(ss.linear, (torch.arange(16), randn(32, 16)), "x", None, id="linear-token-ids"),
    pytest.param(ss.linear, (randn(16), randn(32)), "weight", None, id="linear-weight-rank"),
    pytest.param(
        ss.linear,
        (randn(2, 16), randn(32, 16, dtype=torch.float64)),
        "weight",
        None,
        id="linear-mixed-dtype",
    ),
    pytest.param(ss.transpose, (randn(4),), "A", None, id="transpose-vector"),
    # Norms need an axis to reduce over.
    pytest.param(ss.l1_norm, (torch.tensor(3.0),), "x", None, id="l1-scalar"),
    pytest.param(ss.l2_norm, (torch.arange(4),), "x", None, id="l2-int"),
    pytest.param(ss.normalize, (torch.tensor(1.0),), "x", None, id="normalize-scalar"),
]


@pytest.mark.parametrize(("op", "args", "argument", "dim"), ERROR_CASES)
def test_errors_name_the_argument(
    op: Callable[..., Any], args: tuple[Any, ...], argument: str, dim: str | None
) -> None:
    expect_shape_error(op, args, argument, dim)


def test_shape_error_is_a_type_error_and_a_jaxtyping_error() -> None:
    from jaxtyping import TypeCheckError

    err = expect_shape_error(ss.matvec, (randn(3, 4), randn(3)), "x", "n")
    assert isinstance(err, TypeError) and isinstance(err, TypeCheckError)
    assert (err.op, err.expected, err.actual) == ("matvec", "n", "(3,) float32")
    assert err.bindings == ("m=3 from A.shape[0]", "n=4 from A.shape[1]")


@pytest.mark.parametrize(
    ("op", "args", "argument", "first_line"),
    [
        pytest.param(
            ss.linear,
            (randn(2, 16), randn(32, 16), randn(32, dtype=torch.float64)),
            "bias",
            "linear(): argument 'bias' has dtype float64, expected float32 like 'x'",
            id="bias-dtype",
        ),
        pytest.param(
            ss.dot,
            (randn(3), torch.randn(3, device="meta")),
            "b",
            "dot(): argument 'b' has device meta, expected cpu like 'a'",
            id="device",
        ),
    ],
)
def test_kernel_failures_become_shape_errors(
    op: Callable[..., Any], args: tuple[Any, ...], argument: str, first_line: str
) -> None:
    err = expect_shape_error(op, args, argument)
    assert str(err).splitlines()[0] == first_line
    assert err.__suppress_context__


# --- broadcast_add: the add whose contract says which axes broadcast ----------------------


def test_broadcast_add_a_bias_and_position_embeddings() -> None:
    x = randn(2, 5, 8)
    bias, pos = randn(8), randn(5, 8)
    assert_close(ss.broadcast_add(x, bias), x + bias)
    assert_close(ss.broadcast_add(x, pos), x + pos)
    assert_close(ss.broadcast_add(x, pos[None]), x + pos)
    ids = torch.arange(6).reshape(2, 3)
    assert_close(ss.broadcast_add(ids, torch.arange(3)), ids + torch.arange(3))


def test_broadcast_add_gradients() -> None:
    x, pos = randn(2, 5, 8, grad=True), randn(5, 8, grad=True)
    check_grads(ss.broadcast_add(x, pos), [x, pos])


def test_broadcast_add_never_grows_the_result() -> None:
    # (b, 1) + (b,) is (b, b) in torch: the classic broadcasting bug, caught either way round.
    err = expect_shape_error(ss.broadcast_add, (randn(8, 1), randn(8)), "y", "e")
    assert str(err).splitlines()[0] == (
        "broadcast_add(): argument 'y' dim 'e' is 8 at y.shape[0], expected 1 (bound by x.shape[1])"
    )
    expect_shape_error(ss.broadcast_add, (randn(8), randn(8, 1)), "y")
    # A position table for another length, a bias for another axis.
    expect_shape_error(ss.broadcast_add, (randn(2, 5, 8), randn(7, 8)), "y")
    expect_shape_error(ss.broadcast_add, (randn(2, 5, 8), randn(5)), "y", "e")


def test_add_points_a_bias_to_broadcast_add() -> None:
    err = expect_shape_error(ss.add, (randn(2, 5, 8), randn(8)), "b")
    assert str(err).splitlines()[-1] == (
        "hint: add never broadcasts; if 'b' is shared across the leading axes of 'a' "
        "(a bias, a position embedding), use broadcast_add(a, b)"
    )
    err = expect_shape_error(ss.add, (randn(5, 8), randn(2, 5, 8)), "b")
    assert str(err).splitlines()[-1].endswith("use broadcast_add(b, a)")


def test_add_gives_no_bias_hint_for_the_classic_bug() -> None:
    err = expect_shape_error(ss.add, (randn(8, 1), randn(8)), "b")
    assert "broadcast_add" not in str(err)


def _broadcast_add_fits(x: tuple[int, ...], y: tuple[int, ...]) -> bool:
    if not x or not y or len(y) > len(x) or x[-1] != y[-1]:
        return False
    return all(b in (1, a) for a, b in zip(reversed(x), reversed(y), strict=False))


@settings(max_examples=80, deadline=None)
@given(
    x=st.lists(st.integers(1, 3), max_size=4).map(tuple),
    y=st.lists(st.integers(1, 3), max_size=4).map(tuple),
    suffix=st.booleans(),
)
def test_broadcast_add_shapes(x: tuple[int, ...], y: tuple[int, ...], suffix: bool) -> None:
    if suffix and x:
        y = x[len(x) - min(len(y), len(x)) :]  # often a trailing part of x
    a, b = torch.randn(x), torch.randn(y)
    if _broadcast_add_fits(x, y):
        assert_close(ss.broadcast_add(a, b), a + b)
    else:
        with pytest.raises(ss.ShapeError):
            ss.broadcast_add(a, b)


def test_matmul_batch_axes_of_size_one_get_an_expand_hint() -> None:
    # Attention weights for 4 heads against values with one head: torch broadcasts it.
    weights, v = randn(2, 4, 3, 3), randn(2, 1, 3, 8)
    err = expect_shape_error(ss.matmul, (weights, v), "B", "*batch[1]")
    hint = str(err).splitlines()[-1]
    assert hint == (
        "hint: batch dims never broadcast here: B.expand(2, 4, -1, -1) repeats its size-1 "
        "batch axes without a copy, as torch's @ would"
    )
    assert_close(ss.matmul(weights, v.expand(2, 4, -1, -1)), weights @ v)


def test_matmul_gives_no_expand_hint_where_batches_grow_past_both() -> None:
    err = expect_shape_error(ss.matmul, (randn(2, 1, 3, 3), randn(1, 4, 3, 8)), "B")
    assert "expand" not in str(err)
