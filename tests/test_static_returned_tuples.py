"""A literal tuple returned where the annotation is a tuple of another length."""

from pathlib import Path

from tests.test_static_rules import check_source


def test_a_tuple_of_three_against_an_annotated_tuple_of_two(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'n 3']) -> tuple[Float[Tensor, 'n 3'], Float[Tensor, 'n']]:\n"
        "    return x, x.sum(-1), x\n"
    )
    assert check_source(tmp_path, source) == [
        "6: return of f(): a tuple of 3 values, but the annotation is a tuple of 2"
    ]


def test_a_tuple_of_the_annotated_length_is_checked_element_by_element(tmp_path: Path) -> None:
    right = (
        "def f(x: Float[Tensor, 'n 3']) -> tuple[Float[Tensor, 'n 3'], Float[Tensor, 'n']]:\n"
        "    return x, x.sum(-1)\n"
    )
    assert check_source(tmp_path, right) == []
    starred = (
        "def f(x: Float[Tensor, 'n 3']) -> tuple[Float[Tensor, 'n 3'], Float[Tensor, 'n']]:\n"
        "    rest = [x.sum(-1)]\n"
        "    return x, *rest, *[]\n"
    )
    assert check_source(tmp_path, starred) == []
