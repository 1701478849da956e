"""numpy where it differs from torch: `a.min(axis=1)` is one array in a function of numpy
arrays alone, and `np.zeros(n)` / `np.full(n, v)` are arrays of n numbers."""

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_source, static_findings

HEADER = "import numpy as np\nfrom jaxtyping import Float\n"
SIGNATURE = (
    "def f(x: Float[np.ndarray, 'n d'], mu: Float[np.ndarray, 'c d']) -> Float[np.ndarray, ' n']:\n"
)


def _run(body: str) -> np.ndarray:
    out = run_source(HEADER + SIGNATURE + body, np.ones((5, 3)), np.ones((7, 3)))  # by numpy
    assert isinstance(out, np.ndarray)
    return out


def test_min_along_an_axis_of_a_numpy_array_is_one_array(tmp_path: Path) -> None:
    right = "    d2 = np.einsum('nd,cd->nc', x, mu)\n    return d2.min(axis=1)\n"
    assert static_findings(tmp_path, SIGNATURE + right, HEADER) == []
    assert _run(right).shape == (5,)
    wrong = "    d2 = np.einsum('nd,cd->cn', x, mu)\n    return d2.max(axis=1)\n"
    assert static_findings(tmp_path, SIGNATURE + wrong, HEADER) == [
        '5: return of f(): dim \'n\' is n in x "n d" but c in d2.max(axis=1) "c"'
    ]
    assert _run(wrong).shape == (7,)


def test_numpy_makers_of_an_int_size(tmp_path: Path) -> None:
    right = "    n = x.shape[0]\n    return np.full(n, 0.0) + np.zeros(n)\n"
    assert static_findings(tmp_path, SIGNATURE + right, HEADER) == []
    assert _run(right).shape == (5,)
    wrong = "    c = mu.shape[0]\n    return np.full(c, 0.0)\n"
    assert static_findings(tmp_path, SIGNATURE + wrong, HEADER) == [
        '5: return of f(): dim \'n\' is n in x "n d" but c in np.full(c, 0.0) "c"'
    ]
    assert _run(wrong).shape == (7,)


def test_a_function_that_names_torch_keeps_torchs_reading(tmp_path: Path) -> None:
    header = HEADER + "import torch\n"
    body = (
        "    t = torch.from_numpy(x)\n    values, ids = t.min(axis=1)\n    return values.numpy()\n"
    )
    assert static_findings(tmp_path, SIGNATURE + body, header) == []


def test_numpy_calls_with_a_size_give_arrays_not_numbers(tmp_path: Path) -> None:
    body = (
        "    dense = np.zeros((4, 6))\n"
        "    picked = np.random.choice(24, size=5, replace=False)\n"
        "    rows, cols = picked // 6, picked % 6\n"
        "    dense[rows, cols] = np.random.randn(5)\n"
        "    return dense.sum(axis=1)[: x.shape[0]]\n"
    )
    assert static_findings(tmp_path, SIGNATURE + body, HEADER) == []
    assert _run(body).shape == (4,)


def test_numpy_ranges_index_as_arrays(tmp_path: Path) -> None:
    body = (
        "    h, w = x.shape\n"
        "    tmp = np.zeros((h, w * 2))\n"
        "    tmp[:, np.arange(w) * 2] = x\n"
        "    return tmp.sum(axis=1)\n"
    )
    assert static_findings(tmp_path, SIGNATURE + body, HEADER) == []
    assert _run(body).shape == (5,)


def test_more_numpy_functions_give_their_shapes(tmp_path: Path) -> None:
    right = (
        "    w = mu[0]\n"
        "    y = np.dot(x, w) + np.zeros_like(x).ravel()[: x.shape[0]]\n"
        "    return y + np.outer(w, w).sum(axis=0)[:1] + np.tile(w, (2, 1))[:1, :1].ravel()\n"
    )
    assert static_findings(tmp_path, SIGNATURE + right, HEADER) == []
    assert _run(right).shape == (5,)
    wrong = "    return np.dot(x, mu)\n"
    assert static_findings(tmp_path, SIGNATURE + wrong, HEADER) == [
        '4: x @ mu: inner dim is d in x "n d" but c in mu "c d"; did you mean mu.mT?'
    ]
    with pytest.raises(ValueError, match="not aligned"):
        _run(wrong)
