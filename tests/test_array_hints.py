"""`_array_hints`: the one reader of whether a type hint is, or holds, a jaxtyping array."""

import subprocess
import sys
from typing import Literal, Optional

import numpy as np
import pytest
import torch
from jaxtyping import Float, Int
from torch import Tensor

from shapesafe._array_hints import MAX_DEPTH, is_array_hint, is_torch_array_hint, mentions_array

T = Float[Tensor, "n"]
N = Int[np.ndarray, "n"]


@pytest.mark.parametrize(
    ("hint", "array", "torch_array", "mentions"),
    [
        (T, True, True, True),
        (N, True, False, True),
        (Tensor, False, False, False),
        (int, False, False, False),
        (None, False, False, False),
        (Optional[T], False, False, True),  # noqa: UP045 (the spelling under test)
        (T | None, False, False, True),
        (tuple[T, int], False, False, True),
        (list[N], False, False, True),
        (dict[str, list[tuple[int, T]]], False, False, True),
        (tuple[int, str], False, False, False),
        (Literal["a", "b"], False, False, False),
    ],
)
def test_what_a_hint_says_about_arrays(
    hint: object, array: bool, torch_array: bool, mentions: bool
) -> None:
    assert is_array_hint(hint) is array
    assert is_torch_array_hint(hint) is torch_array
    assert mentions_array(hint) is mentions


def test_an_array_nested_too_deep_is_not_searched_for() -> None:
    hint: object = T
    for _ in range(MAX_DEPTH):
        hint = list[hint]  # type: ignore[valid-type]
    assert mentions_array(hint)
    assert not mentions_array(list[hint])  # type: ignore[valid-type]


@pytest.mark.slow
def test_reading_a_hint_imports_neither_torch_nor_jaxtyping() -> None:
    code = (
        "import sys\n"
        "from shapesafe._array_hints import mentions_array, is_torch_array_hint\n"
        "assert not mentions_array(list[int]) and not is_torch_array_hint(int)\n"
        "print('torch' in sys.modules, 'jaxtyping' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "False"]


def test_a_torch_array_type_is_one() -> None:
    assert is_torch_array_hint(Float[torch.Tensor, "a b"])
