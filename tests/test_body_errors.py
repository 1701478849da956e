"""Errors an op's body finds beyond what its annotation checks (an axis `dim` that `x`
lacks, an empty axis to take the max over, an odd `head_dim`, tensors that `cat` can't
join) are built from the op's own contract: they read the same with checks off at import,
where the op is the plain function and its contract comes from its annotations."""

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
import torch

import shapesafe as ss
from shapesafe._checked import contract_of
from tests.helpers import state_of

#: Each call, with the op, argument and dim its ShapeError names.
CALLS: dict[str, tuple[str, tuple[str, str, str | None]]] = {
    "sum-dim": ("ss.sum(torch.zeros(2, 3, 4), 3)", ("sum", "x", None)),
    "mean-dim-tuple": ("ss.mean(torch.zeros(2, 3), (0, -3))", ("mean", "x", None)),
    "mean-pattern": ('ss.mean(torch.zeros(2, 3), "b s e -> b e")', ("mean", "x", None)),
    "max-scalar": ("ss.max(torch.zeros(()), 0)", ("max", "x", None)),
    "max-empty": ("ss.max(torch.zeros(2, 0, 4), 1)", ("max", "x", "reduced")),
    "argmax-empty": (
        'ss.argmax(torch.zeros(2, 0, 4), "b s v -> b v")',
        ("argmax", "x", "s"),
    ),
    "softmax-dim": ("ss.softmax(torch.zeros(2, 3), -3)", ("softmax", "x", None)),
    "rotate_half-odd": ("ss.rotate_half(torch.zeros(2, 5))", ("rotate_half", "x", "head_dim")),
    "apply_rope-odd": (
        "ss.apply_rope(torch.zeros(1, 2, 4, 5), torch.zeros(1, 1, 4, 5), "
        "torch.zeros(4, 5), torch.zeros(4, 5))",
        ("apply_rope", "q", "head_dim"),
    ),
    "cat-rank": ("ss.cat([torch.zeros(2, 3), torch.zeros(2, 3, 4)])", ("cat", "tensors[1]", None)),
    "cat-size": (
        "ss.cat([torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(5, 1)], dim=1)",
        ("cat", "tensors[2]", "d0"),
    ),
    "stack-shape": (
        "ss.stack([torch.zeros(2, 3), torch.zeros(3, 2)])",
        ("stack", "tensors[1]", "*shape[0]"),
    ),
}

_REPORT = """
import json
import torch
import shapesafe as ss

def report(call):
    try:
        eval(call)
    except ss.ShapeError as e:
        return [str(e), e.op, e.argument, e.dim, e.expected, e.actual, list(e.bindings), e.hint]
    return None

calls = json.loads({calls!r})
print(json.dumps({{name: report(call) for name, call in calls.items()}}))
"""


def _report(calls: dict[str, str], env_mode: str) -> dict[str, Any]:
    env = dict(os.environ, SHAPESAFE_MODE=env_mode)
    code = textwrap.dedent(_REPORT).format(calls=json.dumps(calls))
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    reports: dict[str, Any] = json.loads(result.stdout)
    return reports


@pytest.mark.parametrize("name", list(CALLS))
def test_a_body_error_names_the_op_the_argument_and_the_dim(name: str) -> None:
    call, (op, argument, dim) = CALLS[name]
    with pytest.raises(ss.ShapeError) as info:
        eval(call, {"ss": ss, "torch": torch})
    assert (info.value.op, info.value.argument, info.value.dim) == (op, argument, dim)
    assert str(info.value).startswith(f"{op}(): argument '{argument}'")


@pytest.mark.slow
def test_body_errors_read_the_same_with_checks_off_at_import() -> None:
    calls = {name: call for name, (call, _) in CALLS.items()}
    on, off = _report(calls, "check"), _report(calls, "off")
    assert all(on[name] is not None for name in calls)
    assert off == on


@pytest.mark.slow
def test_with_checks_off_a_body_error_names_what_the_body_found() -> None:
    """An int tensor given to `mean` with checks off: the body finds the bad dim, and its
    error names that, not the dtype the check would have named first."""
    call = "ss.mean(torch.zeros(2, 3, dtype=torch.int64), 2)"
    on, off = _report({"c": call}, "check")["c"], _report({"c": call}, "off")["c"]
    assert on[0].startswith("mean(): argument 'x' has dtype int64, expected Float")
    assert off[0].startswith(
        "mean(): argument 'x' has 2 dims (2, 3), expected at least 3 for \"_ _ dim ...\""
    )


@pytest.mark.parametrize(
    "op",
    [ss.sum, ss.mean, ss.max, ss.argmax, ss.softmax, ss.rotate_half, ss.apply_rope, ss.cat],
    ids=lambda op: op.__name__,
)
def test_the_ops_contract_is_its_checks_and_its_annotations(op: Callable[..., Any]) -> None:
    assert contract_of(op) is state_of(op).contract
    plain = op.__wrapped__  # type: ignore[attr-defined]
    assert contract_of(plain) == contract_of(op)
