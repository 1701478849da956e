"""Random shape pairs: every call either equals torch's result or raises ShapeError.

Each op's acceptance rule is written out here by hand, independently of the library, so the
test also proves the contract accepts exactly the shapes it should: never a torch
RuntimeError, never a silently broadcast result.
"""

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

import shapesafe as ss

Shape = tuple[int, ...]
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)
# Pairs that often agree, so that both verdicts get exercised.
related = st.tuples(shapes, shapes, st.booleans()).map(lambda t: (t[0], t[0] if t[2] else t[1]))


def _same(a: Shape, b: Shape) -> bool:
    return a == b


def _dot(a: Shape, b: Shape) -> bool:
    return len(a) == 1 and a == b


def _outer(a: Shape, b: Shape) -> bool:
    return len(a) == 1 and len(b) == 1


def _matvec(a: Shape, b: Shape) -> bool:
    return len(a) == 2 and len(b) == 1 and a[1] == b[0]


def _matmul(a: Shape, b: Shape) -> bool:
    return len(a) >= 2 and len(a) == len(b) and a[:-2] == b[:-2] and a[-1] == b[-2]


def _linear(x: Shape, w: Shape) -> bool:
    return len(x) >= 1 and len(w) == 2 and x[-1] == w[1]


def _scores(q: Shape, k: Shape) -> bool:
    return len(q) >= 2 and len(q) == len(k) and q[:-2] == k[:-2] and q[-1] == k[-1]


def _mask(s: Shape, m: Shape) -> bool:
    """A mask broadcasts to the scores, except along the keys: `(*#batch, #q, k)`."""
    if len(s) < 2 or len(m) < 2 or len(m) > len(s) or m[-1] != s[-1] or m[-2] not in (1, s[-2]):
        return False
    return all(a in (1, b) for a, b in zip(reversed(m[:-2]), reversed(s[:-2]), strict=False))


def _layer_norm(x: Shape, w: Shape) -> bool:
    return len(x) >= 1 and len(w) == 1 and x[-1] == w[0]


PAIR_OPS: list[Any] = [
    pytest.param(ss.add, torch.add, _same, id="add"),
    pytest.param(ss.sub, torch.sub, _same, id="sub"),
    pytest.param(ss.hadamard, torch.mul, _same, id="hadamard"),
    pytest.param(ss.dot, torch.dot, _dot, id="dot"),
    pytest.param(ss.outer, torch.outer, _outer, id="outer"),
    pytest.param(ss.matvec, torch.mv, _matvec, id="matvec"),
    pytest.param(ss.matmul, torch.matmul, _matmul, id="matmul"),
    pytest.param(ss.linear, F.linear, _linear, id="linear"),
    pytest.param(
        ss.attention_scores, lambda q, k: q @ k.mT / q.shape[-1] ** 0.5, _scores, id="scores"
    ),
    pytest.param(
        ss.layer_norm, lambda x, w: F.layer_norm(x, w.shape, w), _layer_norm, id="layer_norm"
    ),
]


def _verdict(
    op: Callable[..., Any], reference: Callable[..., Any], ok: bool, *tensors: torch.Tensor
) -> None:
    if ok:
        assert_close(op(*tensors), reference(*tensors))
    else:
        with pytest.raises(ss.ShapeError):
            op(*tensors)


@pytest.mark.parametrize(("op", "reference", "accepts"), PAIR_OPS)
@settings(max_examples=60, deadline=None)
@given(pair=st.one_of(related, st.tuples(shapes, shapes)))
def test_pairs(
    op: Callable[..., Any],
    reference: Callable[..., Any],
    accepts: Callable[[Shape, Shape], bool],
    pair: tuple[Shape, Shape],
) -> None:
    a, b = pair
    _verdict(op, reference, accepts(a, b), torch.randn(a), torch.randn(b))


@settings(max_examples=60, deadline=None)
@given(pair=st.one_of(related, st.tuples(shapes, shapes)))
def test_apply_mask_pairs(pair: tuple[Shape, Shape]) -> None:
    s, m = pair
    mask = torch.rand(m) > 0.5
    _verdict(
        ss.apply_mask,
        lambda x, y: x.masked_fill(~y, float("-inf")),
        _mask(s, m),
        torch.randn(s),
        mask,
    )


@pytest.mark.parametrize(
    ("op", "reference", "min_rank"),
    [
        pytest.param(ss.transpose, lambda a: a.transpose(-2, -1), 2, id="transpose"),
        pytest.param(ss.l1_norm, lambda x: x.abs().sum(-1), 1, id="l1"),
        pytest.param(ss.l2_norm, lambda x: x.pow(2).sum(-1).sqrt(), 1, id="l2"),
        pytest.param(ss.softmax, lambda x: x.softmax(-1), 1, id="softmax"),
        pytest.param(ss.tril, torch.tril, 2, id="tril"),
        pytest.param(ss.diag, torch.diag, 1, id="diag"),
    ],
)
@settings(max_examples=40, deadline=None)
@given(shape=shapes)
def test_single_argument_ranks(
    op: Callable[..., Any], reference: Callable[..., Any], min_rank: int, shape: Shape
) -> None:
    ok = len(shape) >= min_rank and (op is not ss.diag or len(shape) == 1)
    _verdict(op, reference, ok, torch.randn(shape))


@settings(max_examples=60, deadline=None)
@given(q=shapes, k=shapes, v=shapes)
def test_attention_triples(q: Shape, k: Shape, v: Shape) -> None:
    # k and v share their batch dims: q's, or with fewer heads (grouped-query attention).
    same = q[:-2] == k[:-2]
    grouped = len(q) >= 3 and len(q) == len(k) and q[:-3] == k[:-3] and q[-3] % k[-3] == 0
    ok = (
        len(q) >= 2
        and len(k) >= 2
        and len(v) >= 2
        and (same or grouped)
        and k[:-2] == v[:-2]
        and q[-1] == k[-1]
        and k[-2] == v[-2]
    )
    _verdict(
        ss.attention,
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=not same),
        ok,
        torch.randn(q),
        torch.randn(k),
        torch.randn(v),
    )


def _mask_fits_attention(batch: Shape, s: int, t: int, mask: Shape) -> bool:
    """`(*#batch, #s, t)`: broadcastable to the scores, except along the keys."""
    if len(mask) < 2 or len(mask) > len(batch) + 2 or mask[-1] != t or mask[-2] not in (1, s):
        return False
    return all(m in (1, b) for m, b in zip(reversed(mask[:-2]), reversed(batch), strict=False))


@settings(max_examples=60, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple),
    s=st.integers(1, 4),
    t=st.integers(1, 4),
    mask=shapes,
    boolean=st.booleans(),
)
def test_attention_masks(batch: Shape, s: int, t: int, mask: Shape, boolean: bool) -> None:
    q, k, v = torch.randn(*batch, s, 4), torch.randn(*batch, t, 4), torch.randn(*batch, t, 2)
    m = torch.rand(mask) > 0.3 if boolean else torch.randn(mask)
    if boolean and len(mask) >= 1:
        m[..., 0] = True  # no fully masked row: SDPA would give NaN there
    _verdict(
        (lambda q, k, v, m: ss.attention(q, k, v, mask=m))
        if boolean
        else (lambda q, k, v, m: ss.attention(q, k, v, attn_bias=m)),
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        _mask_fits_attention(batch, s, t, mask),
        q,
        k,
        v,
        m,
    )
