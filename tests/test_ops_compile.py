"""The transformer ops (activations, RMS norm, RoPE, GQA, KV cache, joins, reductions,
`broadcast_add`) under torch.compile: one graph, eager's values, eager's errors."""

from collections.abc import Callable

import pytest
import torch
from torch import Tensor
from torch.testing import assert_close

import shapesafe as ss

pytestmark = pytest.mark.slow


def _rope() -> Tensor:
    q, k = torch.randn(2, 4, 5, 8), torch.randn(2, 2, 5, 8)
    q, k = ss.apply_rope(q, k, *ss.rope_tables(torch.arange(3, 8), 8))
    return ss.kv_append(ss.repeat_kv(k, 2), q)


CORRECT_CALLS = [
    pytest.param(lambda: ss.rms_norm(torch.randn(2, 3, 8), torch.randn(8)), id="rms_norm"),
    pytest.param(lambda: ss.silu(torch.randn(2, 3)), id="silu"),
    pytest.param(lambda: ss.gelu(torch.randn(2, 3), "tanh"), id="gelu"),
    pytest.param(lambda: ss.dropout(torch.randn(2, 3), 0.1, False), id="dropout"),
    pytest.param(_rope, id="rope-gqa-cache"),
    pytest.param(lambda: ss.cat([torch.randn(2, 3), torch.randn(2, 4)], dim=1), id="cat"),
    pytest.param(lambda: ss.stack([torch.randn(2, 3), torch.randn(2, 3)], dim=1), id="stack"),
    pytest.param(lambda: ss.mean(torch.randn(2, 3, 4), "b s e -> b e"), id="mean"),
    pytest.param(lambda: ss.max(torch.randn(2, 3, 4), (0, 2), keepdim=True), id="max"),
    pytest.param(lambda: ss.argmax(torch.randn(2, 3, 4), -1), id="argmax"),
    pytest.param(lambda: ss.softmax(torch.randn(2, 3, 4), dim=1), id="softmax-dim"),
    pytest.param(
        lambda: ss.broadcast_add(torch.randn(2, 3, 4), torch.randn(3, 4)), id="broadcast_add"
    ),
]


@pytest.mark.parametrize("call", CORRECT_CALLS)
def test_correct_calls_compile_whole(call: Callable[[], Tensor]) -> None:
    torch.manual_seed(1)
    expected = call()
    torch.manual_seed(1)
    got = torch.compile(call, backend="eager", fullgraph=True)()
    assert_close(got, expected)


WRONG_CALLS = [
    pytest.param(
        lambda: ss.apply_rope(
            torch.randn(2, 4, 5, 8), torch.randn(2, 2, 5, 8), torch.randn(9, 8), torch.randn(9, 8)
        ),
        id="rope-tables-too-long",
    ),
    # Found by the ops' bodies rather than by their annotations.
    pytest.param(
        lambda: ss.apply_rope(
            torch.randn(1, 2, 3, 7), torch.randn(1, 2, 3, 7), torch.randn(3, 7), torch.randn(3, 7)
        ),
        id="rope-odd-head-dim",
    ),
    pytest.param(lambda: ss.cat([torch.randn(2, 3), torch.randn(3, 4)], dim=1), id="cat"),
    pytest.param(lambda: ss.mean(torch.randn(2, 3), 2), id="mean-dim"),
    pytest.param(lambda: ss.max(torch.randn(2, 0), 1), id="max-empty"),
    pytest.param(
        lambda: ss.kv_append(torch.randn(2, 2, 5, 8), torch.randn(2, 1, 2, 8)), id="kv-layout"
    ),
    pytest.param(lambda: ss.broadcast_add(torch.randn(4, 1), torch.randn(4)), id="broadcast-grows"),
]


@pytest.mark.parametrize("call", WRONG_CALLS)
def test_wrong_calls_raise_the_eager_error(call: Callable[[], Tensor]) -> None:
    with pytest.raises(ss.ShapeError) as info:
        call()
    eager = info.value
    with pytest.raises(ss.ShapeError) as info:
        torch.compile(call, backend="eager", fullgraph=True)()
    # The compiled error carries the eager message whole (dynamo may append user lines).
    assert str(info.value).startswith(str(eager))
    fields = ("op", "argument", "expected", "actual", "dim", "bindings", "hint")
    assert [getattr(info.value, f) for f in fields] == [getattr(eager, f) for f in fields]
