"""Static shape rules of the linear systems torch solves besides `torch.linalg.solve`:
`torch.linalg.lstsq`, `torch.linalg.solve_triangular`, `torch.cholesky_solve`, of
`torch.linalg.inv_ex`, and of `bmm` and `mm`, which take only stacks of matrices of one
batch and matrices: their shapes against torch's own where torch runs them, and the
findings where it can't."""

from pathlib import Path

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_static_rules import agree, check_source, static_shape, torch_shape

_dims = st.lists(st.integers(1, 3), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(a=_dims, b=_dims)
def test_lstsq_agrees_with_torch(a: list[int], b: list[int]) -> None:
    x, y = torch.randn(a), torch.randn(b)
    agree(
        static_shape(a, "torch.linalg.lstsq(x, g).solution", other=b),
        torch_shape(lambda: torch.linalg.lstsq(x, y).solution),
    )


@settings(max_examples=60, deadline=None)
@given(a=_dims, b=_dims, left=st.booleans())
def test_solve_triangular_agrees_with_torch(a: list[int], b: list[int], left: bool) -> None:
    x, y = torch.randn(a), torch.randn(b)
    agree(
        static_shape(a, f"torch.linalg.solve_triangular(x, g, upper=True, left={left})", other=b),
        torch_shape(lambda: torch.linalg.solve_triangular(x, y, upper=True, left=left)),
    )


@settings(max_examples=60, deadline=None)
@given(a=_dims, b=_dims)
def test_cholesky_solve_agrees_with_torch(a: list[int], b: list[int]) -> None:
    x, y = torch.randn(a), torch.randn(b)
    agree(
        static_shape(b, "torch.cholesky_solve(x, g)", other=a),
        torch_shape(lambda: torch.cholesky_solve(y, x)),
    )


def test_linear_system_shapes() -> None:
    assert static_shape([2, 5, 3], "torch.linalg.lstsq(x, g).solution", other=[2, 5, 4]) == (
        "2",
        "3",
        "4",
    )
    assert static_shape([2, 5, 3], "torch.linalg.lstsq(x, g)[0]", other=[2, 5]) == ("2", "3")
    assert static_shape(
        [3, 3], "torch.linalg.solve_triangular(x, g, upper=False)", other=[2, 3, 4]
    ) == (
        "2",
        "3",
        "4",
    )
    assert static_shape([2, 3, 3], "torch.linalg.inv_ex(x).info") == ("2",)
    assert static_shape([2, 3, 3], "torch.linalg.inv_ex(x)[0]") == ("2", "3", "3")


def test_lstsq_rows_must_number_the_matrix_rows(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, 'b m n'], y: Float[Tensor, 'b m k']) -> Float[Tensor, 'b n k']:\n"
        "    return torch.linalg.lstsq(a, y.transpose(1, 2)).solution\n"
    )
    assert check_source(tmp_path, source) == [
        '6: lstsq: a "b m n" is m by n but y.transpose(1, 2) "b k m" has k rows'
    ]
    right = "def f(a: Float[Tensor, 'b m n'], y: Float[Tensor, 'b m k']) -> Float[Tensor, 'b n k']:\n    return torch.linalg.lstsq(a, y).solution\n"
    assert check_source(tmp_path, right) == []


def test_solution_has_the_columns_of_the_matrix(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, 'm n'], y: Float[Tensor, 'm']) -> Float[Tensor, 'm']:\n"
        "    return torch.linalg.lstsq(a, y).solution\n"
    )
    assert check_source(tmp_path, source) == [
        '6: return of f(): dim \'m\' is m in a "m n" but n in torch.linalg.lstsq(a, y).solution "n"'
    ]


def test_triangular_and_cholesky_systems_check_rows(tmp_path: Path) -> None:
    source = (
        "def f(u: Float[Tensor, 'n n'], y: Float[Tensor, 'k n']) -> None:\n"
        "    a = torch.linalg.solve_triangular(u, y, upper=True)\n"
        "    b = torch.linalg.solve_triangular(u, y, upper=True, left=False)\n"
        "    c = torch.cholesky_solve(y, u)\n"
    )
    assert check_source(tmp_path, source) == [
        '6: solve_triangular: u "n n" is n by n but y "k n" has k rows',
        '8: cholesky_solve: u "n n" is n by n but y "k n" has k rows',
    ]


@settings(max_examples=60, deadline=None)
@given(a=_dims, b=_dims, op=st.sampled_from(["bmm", "mm"]))
def test_bmm_and_mm_agree_with_torch(a: list[int], b: list[int], op: str) -> None:
    x, y = torch.randn(a), torch.randn(b)
    agree(
        static_shape(a, f"torch.{op}(x, g)", other=b),
        torch_shape(lambda: getattr(torch, op)(x, y)),
    )


def test_bmm_takes_stacks_of_one_batch(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, 'b n m'], x: Float[Tensor, 'b m p'], w: Float[Tensor, 'm p']) -> None:\n"
        "    y = torch.bmm(a, x)\n"
        "    z = a.bmm(w.unsqueeze(0))\n"
        "    v = torch.bmm(a, w)\n"
        "    u = torch.mm(a, w)\n"
    )
    assert check_source(tmp_path, source) == [
        '7: bmm: the batch is b in a "b n m" but 1 in w.unsqueeze(0) "1 m p" (bmm does not broadcast)',
        '8: bmm: w "m p" has 2 dims, expected 3',
        '9: mm: a "b n m" has 3 dims, expected 2',
    ]


@settings(max_examples=60, deadline=None)
@given(a=_dims, b=_dims)
def test_mv_kron_and_matrix_norm_agree_with_torch(a: list[int], b: list[int]) -> None:
    x, y = torch.randn(a), torch.randn(b)
    agree(static_shape(a, "torch.mv(x, g)", other=b), torch_shape(lambda: torch.mv(x, y)))
    agree(static_shape(a, "torch.kron(x, g)", other=b), torch_shape(lambda: torch.kron(x, y)))
    agree(
        static_shape(a, "torch.linalg.matrix_norm(x)"),
        torch_shape(lambda: torch.linalg.matrix_norm(x)),
    )
    agree(
        static_shape(a, "torch.linalg.matrix_norm(x, keepdim=True)"),
        torch_shape(lambda: torch.linalg.matrix_norm(x, keepdim=True)),
    )


def test_mv_takes_a_matrix_and_a_vector(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, 'n m'], v: Float[Tensor, 'm'], b: Float[Tensor, 'k n m']) -> None:\n"
        "    y = torch.mv(a, v)\n"
        "    z = a.T.mv(v)\n"
        "    w = torch.mv(b, v)\n"
    )
    assert check_source(tmp_path, source) == [
        '7: a.T @ v: inner dim is n in a.T "m n" but m in v "m" '
        "(holds only if n == m, and nothing here says they are equal)",
        '8: mv: b "k n m" has 3 dims, expected 2',
    ]
