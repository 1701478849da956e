"""Static shape rules of `torch.linalg.solve`, `torch.searchsorted`, `as_strided` and
TransformerLens's activations; of unpacking a tensor's rows into names (`a, b, c = x`); of a
shape stated by an assert; of an Optional tuple of ints; of a tuple returned where the
annotation is one tensor; of einops's functions from `from einops import *`; and of names
a function imports itself: their shapes against torch's own where torch runs them, and the
findings where it can't."""

import tempfile
from pathlib import Path

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe._static import check_file
from tests.helpers import static_findings
from tests.test_static_rules import HEADER, agree, check_source, static_shape, torch_shape

_dims = st.lists(st.integers(1, 3), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(a=_dims, b=_dims)
def test_solve_agrees_with_torch(a: list[int], b: list[int]) -> None:
    x, y = torch.randn(a), torch.randn(b)
    agree(
        static_shape(a, "torch.linalg.solve(x, g)", other=b),
        torch_shape(lambda: torch.linalg.solve(x, y)),
    )


@settings(max_examples=60, deadline=None)
@given(a=_dims, b=_dims)
def test_searchsorted_agrees_with_torch(a: list[int], b: list[int]) -> None:
    x, y = torch.randn(a).sort(-1).values, torch.randn(b)
    agree(
        static_shape(a, "torch.searchsorted(x, g)", other=b),
        torch_shape(lambda: torch.searchsorted(x, y)),
    )


def test_solve_and_searchsorted_shapes() -> None:
    assert static_shape([2, 3, 3], "torch.linalg.solve(x, g)", other=[2, 3]) == ("2", "3")
    assert static_shape([3, 3], "torch.linalg.solve(x, g)", other=[4, 3, 2]) == ("4", "3", "2")
    assert static_shape([5], "torch.searchsorted(x, g)", other=[2, 7]) == ("2", "7")


def test_as_strided_has_the_sizes_given() -> None:
    assert static_shape([4, 4], "x.as_strided((2, 3), (1, 1))") == ("2", "3")
    assert static_shape([16], "torch.as_strided(x, (2, 8), (8, 1))") == ("2", "8")


def test_unpacked_rows_have_the_rest_of_the_shape(tmp_path: Path) -> None:
    source = (
        "def f(t: Float[Tensor, '3 n d']) -> Float[Tensor, 'n d']:\n"
        "    a, b, c = t\n"
        "    return (b - a).transpose(0, 1)\n"
    )
    assert check_source(tmp_path, source) == [
        '7: return of f(): dim \'n\' is n in t "3 n d" but d in (b - a).transpose(0, 1) "d n"'
    ]
    rows = "def f(t: Float[Tensor, '3 n d']) -> Float[Tensor, 'n d']:\n    a, b, c = t\n    return b - a\n"
    assert check_source(tmp_path, rows) == []


def test_unpacking_more_names_than_rows_is_a_finding(tmp_path: Path) -> None:
    source = "def f(t: Float[Tensor, '2 n']) -> None:\n    a, b, c = t\n"
    assert check_source(tmp_path, source) == [
        "6: unpacking 3 names from a tensor whose first axis has 2 rows (torch raises ValueError)"
    ]


def test_solve_rows_must_number_the_matrix_size(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, 'b n n'], y: Float[Tensor, 'b n 2']) -> Float[Tensor, 'b n 2']:\n"
        "    return torch.linalg.solve(a, y.transpose(1, 2))\n"
    )
    assert check_source(tmp_path, source) == [
        '6: solve: a "b n n" is n by n but y.transpose(1, 2) "b 2 n" has 2 rows'
    ]
    right = (
        "def f(a: Float[Tensor, 'b n n'], y: Float[Tensor, 'b n']) -> Float[Tensor, 'b n']:\n"
        "    return torch.linalg.solve(a, y)\n"
    )
    assert check_source(tmp_path, right) == []


def test_a_stack_of_vectors_of_another_length_is_read_as_matrices(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, 'b n n'], y: Float[Tensor, 'b m']) -> Float[Tensor, 'b n']:\n"
        "    return torch.linalg.solve(a, y)\n"
    )
    assert check_source(tmp_path, source) == [
        '6: solve: a "b n n" is n by n but y "b m" has b rows (torch reads y as matrices, not'
        ' as vectors, since it is not "b n")'
    ]


def test_an_asserted_shape_is_the_shape_of_an_unknown_value(tmp_path: Path) -> None:
    # `w` is not annotated, so `w(x)` has no known shape until the assert states it.
    source = (
        "def f(x: Float[Tensor, 'n d'], w) -> Float[Tensor, 'n d']:\n"
        "    y = w(x)\n"
        "    assert y.shape == (x.shape[0], x.shape[1])\n"
        "    return y.transpose(0, 1)\n"
    )
    assert check_source(tmp_path, source) == [
        '8: return of f(): dim \'n\' is n in x "n d" but d in y.transpose(0, 1) "d n"'
    ]
    sized = (
        "def f(x: Float[Tensor, 'n d'], w) -> Float[Tensor, 'n d']:\n"
        "    y = w(x)\n"
        "    assert y.size() == torch.Size([x.shape[0], x.shape[1]])\n"
        "    return y\n"
    )
    assert check_source(tmp_path, sized) == []


def test_an_optional_tuple_of_ints_set_on_one_path_stays_numbers(tmp_path: Path) -> None:
    # `buffer` is a parameter's `tuple[int, int]` on one path and `(0, n)` on the other:
    # either way its items are ints, and `x + buffer[0]` keeps x's shape.
    source = (
        "def f(x: Float[Tensor, 'r c'], buffer: tuple[int, int] | None = None)"
        " -> Float[Tensor, 'r c']:\n"
        "    if buffer is None:\n"
        "        buffer = (0, x.size(1))\n"
        "    return (x + buffer[0]).transpose(0, 1)\n"
    )
    assert check_source(tmp_path, source) == [
        '8: return of f(): dim \'r\' is r in x "r c" but c in (x + buffer[0]).transpose(0, 1) "c r"'
    ]


def test_transformer_lens_activations_keep_their_input_shape(tmp_path: Path) -> None:
    source = (
        "from transformer_lens.utils import gelu_new\n\n\n"
        "def mlp(x: Float[Tensor, 'b p d']) -> Float[Tensor, 'b p d']:\n"
        "    return gelu_new(x).transpose(1, 2)\n"
    )
    assert check_source(tmp_path, source) == [
        "9: return of mlp(): dim 'p' is p in x \"b p d\" but d in gelu_new(x).transpose(1, 2)"
        ' "b d p"'
    ]


def test_squeeze_drops_literal_ones_and_a_named_size_leaves_the_rank_unknown() -> None:
    assert static_shape([4, 1, 5], "x.squeeze()") == ("4", "5")
    assert static_shape([4, 1, 5], "x.squeeze(1)") == ("4", "5")
    right = (
        "def f(w: Float[Tensor, 'i h f']) -> Float[Tensor, 'i f']:\n"
        "    return w.norm(dim=1, keepdim=True).squeeze() ** 2\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        assert check_source(Path(tmp), right) == []


def test_bincount_counts_into_one_axis_of_unknown_length(tmp_path: Path) -> None:
    source = (
        "def f(ids: Int[Tensor, ' s'], logits: Float[Tensor, ' v']) -> Float[Tensor, ' v']:\n"
        "    counts = torch.bincount(ids, minlength=logits.size(0))\n"
        "    return logits - 0.5 * counts\n"
    )
    header = HEADER + "from jaxtyping import Int\n"
    assert static_findings(tmp_path, source, header) == []
    rows = "def f(ids: Int[Tensor, 'b s']) -> None:\n    ids.bincount()\n"
    assert static_findings(tmp_path, rows, header) == [
        '7: bincount: ids "b s" has 2 dims, and bincount takes 1'
    ]


def test_a_tuple_returned_where_the_annotation_is_one_tensor(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n    y = x * 2\n    return y, x\n"
    )
    assert check_source(tmp_path, source) == [
        '7: return of f(): a tuple of 2 values, but the annotation is one tensor "b d"'
    ]


def test_einops_functions_from_a_star_import_have_their_rules(tmp_path: Path) -> None:
    source = (
        "from einops import *\n\n\n"
        "def f(z: Float[Tensor, 'b h s d']) -> Float[Tensor, 'b s hd']:\n"
        "    return rearrange(z, 'b h s d -> s b (h d)')\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("9: return of f(): dim 'b' is b in z")


def test_a_function_that_imports_torch_again_keeps_torch_rules(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n d']:\n"
        "    import torch\n\n"
        "    return torch.cat([x, x], dim=0)\n"
    )
    assert check_source(tmp_path, source) == [
        '8: return of f(): dim \'n\' is n in x "n d" but 2*n in torch.cat([x, x], dim=0) "2*n d"'
    ]


def test_a_function_imported_inside_a_function_is_the_files_own(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "layers.py").write_text(
        HEADER + "\n\ndef double(x: Float[Tensor, 'n d']) -> Float[Tensor, '2*n d']:\n"
        "    return torch.cat([x, x])\n"
    )
    source = (
        "def f(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n d']:\n"
        "    from .layers import double\n\n"
        "    return double(x)\n"
    )
    user = pkg / "user.py"
    user.write_text(HEADER + source)
    found = [f.message for f in check_file(user)]
    assert len(found) == 1 and found[0].startswith("return of f(): dim 'n' is n in x")
    # Another function takes the name from elsewhere: it means no one function.
    user.write_text(HEADER + source + "\n\ndef g() -> None:\n    from other import double\n")
    assert [f.message for f in check_file(user)] == []


def test_no_transpose_hint_where_the_swapped_axis_is_unknown(tmp_path: Path) -> None:
    # Swapping "? 5" gives "5 ?": the `?` may be anything, so `.mT` certainly fixes nothing.
    source = (
        "def g(uv: Float[Tensor, 'n 4']) -> None: ...\n\n\n"
        "def f(k) -> None:\n"
        "    g(torch.zeros(k, 5))\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and "expected 4" in found[0] and "did you mean" not in found[0]
