"""Softmax, scaled dot-product attention and layer norm."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

from ._checked import checked_op, contract_of, raise_error
from ._contract import Conflict, Contract, Dim, Observed, Source, unify
from ._errors import ShapeError
from ._explain import add_relation, dtype_name, observe, render
from ._linalg import kernel_error
from ._reduce import check_dim


@checked_op
def softmax(x: Float[Tensor, "*batch n"], dim: int = -1) -> Float[Tensor, "*batch n"]:
    """Softmax over axis `dim`, the last by default: the values along it become weights that
    sum to 1."""
    check_dim(softmax, x, dim)
    return torch.softmax(x, dim=dim)


@checked_op
def attention_scores(
    q: Float[Tensor, "*batch s d"], k: Float[Tensor, "*batch t d"]
) -> Float[Tensor, "*batch s t"]:
    """`q @ k.T / sqrt(d)`: how much each of `s` queries matches each of `t` keys."""
    try:
        return torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])
    except RuntimeError as e:
        raise kernel_error(e, "attention_scores", q=q, k=k) from None


def _kv_error(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, attn_bias: Tensor | None = None
) -> ShapeError:
    """`k`'s batch dims must equal `q`'s, except the heads axis, which may divide `q`'s.

    `k` and `v` agree on their batch dims (their contract says so), so `q` is the odd one
    out, unless a mask or bias with its own batch dims sides with `q`: then `k` is blamed,
    as the first argument that disagrees.
    """
    contract = contract_of(attention)
    tensors = {"q": q, "k": k, "v": v, "mask": mask, "attn_bias": attn_bias}
    observed = {n: observe(t) for n, t in tensors.items() if t is not None}
    want, got = tuple(q.shape[:-2]), tuple(k.shape[:-2])
    sides = [tuple(m.shape[:-2]) for m in (mask, attn_bias) if m is not None]
    hint = None
    if len(want) != len(got):
        blame_q = all(len(b) != len(want) for b in sides)
        i = None
    else:
        i = next(a for a in range(len(want)) if want[a] != got[a])
        j = i - len(want)
        blame_q = all(len(b) + j < 0 or b[j] == 1 for b in sides)
    blamed, other = ("q", "k") if blame_q else ("k", "q")
    spec = contract.params[0 if blame_q else 1].spec
    batch = spec.dims[0]
    wrong, right = (want, got) if blame_q else (got, want)
    if i is None:
        conflict = Conflict(
            blamed, "variadic", spec, 0, batch, right, wrong, Source(other, 0, len(right))
        )
    else:
        one = Dim(f"{batch.token}[{i}]", "named", name=f"{batch.token}[{i}]")
        source = Source(other, i)
        if i < len(want) - 1:
            conflict = Conflict(blamed, "size", spec, i, one, right[i], wrong[i], source)
        elif blame_q:
            note = f"k and v have {got[i]} heads"
            conflict = Conflict(
                "q", "size", spec, i, one, f"a multiple of {got[i]}", want[i], note=note
            )
            hint = _swapped_heads_hint(q, k, v, mask, attn_bias, want[i], got[i])
        else:
            note = f"k's heads must divide q's {want[i]} heads"
            conflict = Conflict("k", "size", spec, i, one, want[i], got[i], note=note)
            hint = _swapped_heads_hint(q, k, v, mask, attn_bias, want[i], got[i])
    return render(contract, observed, conflict, [], hint)


def _swapped_heads_hint(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | None,
    attn_bias: Tensor | None,
    q_heads: int,
    kv_heads: int,
) -> str:
    """Heads and seq swapped on one side (a `view` without its `transpose(1, 2)`), naming
    every side whose swap fits; otherwise grouped-query attention's two ways to fit."""

    def swap(t: Tensor) -> tuple[int, ...]:
        s = tuple(t.shape)
        return (*s[:-3], s[-2], s[-3], s[-1])

    tensors = (("q", q), ("k", k), ("v", v), ("mask", mask), ("attn_bias", attn_bias))
    shapes = {n: tuple(t.shape) for n, t in tensors if t is not None}
    dtypes = {n: dtype_name(t.dtype) for n, t in tensors if t is not None}
    contract = contract_of(attention)

    def fits(trial: dict[str, tuple[int, ...]]) -> bool:
        # Grouped-query heads may fit a swap by chance (6 seq over 3 kv heads): the swap
        # must also give equal heads, or equal query and key lengths.
        tq, tk = trial["q"], trial["k"]
        alike = tq[-3] == tk[-3] or tq[-2] == tk[-2]
        return alike and _attention_fits(contract, {**shapes, **trial}, dtypes)

    a, b = q.dim() - 3, q.dim() - 2
    # Without a batch axis before the heads, axis 0 is no heads axis to swap.
    heads = q.dim() >= 4
    q_fits = heads and fits({"q": swap(q), "k": shapes["k"]})
    kv_fits = heads and fits({"q": shapes["q"], "k": swap(k), "v": swap(v)})
    if q_fits:
        hint = f"'q' looks like it has heads and seq swapped: try q.transpose({a}, {b})"
        return hint + (", unless 'k' and 'v' both have them swapped" if kv_fits else "")
    if kv_fits:
        c, d = k.dim() - 3, k.dim() - 2
        return (
            "'k' and 'v' look like they have heads and seq swapped: "
            f"try k.transpose({c}, {d}) and v.transpose({c}, {d})"
        )
    divisors = [h for h in range(1, min(q_heads, 64) + 1) if q_heads % h == 0]
    return (
        f"grouped-query attention needs q's heads to be a multiple of k and v's {kv_heads}, "
        f"or k/v heads that divide {q_heads}: one of {divisors}"
    )


def _attention_fits(
    contract: Contract, shapes: dict[str, tuple[int, ...]], dtypes: dict[str, str]
) -> bool:
    """Whether `attention` accepts tensors of these shapes and dtypes: its contract, then
    grouped-query heads."""
    observed = {n: Observed(s, dtypes[n]) for n, s in shapes.items()}
    return unify(contract, observed)[1] is None and _kv_fits(shapes["q"], shapes["k"])


def _kv_fits(q: Sequence[int], k: Sequence[int]) -> bool:
    """Whether `k`'s batch dims fit `q`'s: equal, or with fewer heads that divide `q`'s."""
    qb, kb = q[:-2], k[:-2]
    if qb == kb:
        return True
    return len(qb) == len(kb) and qb[:-1] == kb[:-1] and kb[-1] > 0 and qb[-1] % kb[-1] == 0


@checked_op
def attention(
    q: Float[Tensor, "*batch s d"],
    k: Float[Tensor, "*kv_batch t d"],
    v: Float[Tensor, "*kv_batch t e"],
    mask: Bool[Tensor, "*#batch #s t"] | None = None,
    causal: bool = False,
    dropout_p: float = 0.0,
    scale: float | None = None,
    *,
    attn_bias: Float[Tensor, "*#batch #s t"] | None = None,
) -> Float[Tensor, "*batch s e"]:
    """Scaled dot-product attention, `softmax(q @ k.T * scale + attn_bias) @ v` where `mask`
    allows, on torch's SDPA.

    **Arguments:**

    - `q`: queries, `(*batch, s, d)`; the last batch axis is the heads axis.
    - `k`: keys, `(*batch, t, d)`. With fewer heads than `q` (grouped-query attention),
      `(..., kv_heads, t, d)` where `kv_heads` divides `q`'s heads.
    - `v`: values, `(*batch, t, e)`, with `k`'s batch dims.
    - `mask`: Bool, True where attention is allowed; broadcastable to `(*batch, s, t)`,
      e.g. `(s, t)`, `(b, 1, 1, t)` or `(b, 1, s, t)`. A float 0/1 mask, such as nanoGPT's
      `bias` buffer, is `mask.bool()`; a float mask is refused, as it would be added to
      the scores and block nothing.
    - `causal`: also mask keys after each query (`j > i`), as in a decoder.
    - `dropout_p`: dropout probability on the attention weights; pass 0.0 when evaluating.
    - `scale`: multiplies the scores; `1/sqrt(d)` when None.
    - `attn_bias`: floating, added to the scores (0 to attend, -inf to block, or a position
      bias such as ALiBi), of the shapes `mask` takes. Keyword only.

    **Returns:**

    `(*batch, s, e)`.
    """
    gqa = k.shape[:-2] != q.shape[:-2]
    if gqa and not _kv_fits(q.shape, k.shape):
        raise_error(_kv_error, q, k, v, mask, attn_bias)
    try:
        allowed = mask
        if causal and (mask is not None or attn_bias is not None):
            tril = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
            allowed = tril if mask is None else mask & tril
            causal = False
        attn_mask = allowed
        if attn_bias is not None:
            attn_mask = attn_bias
            if allowed is not None:
                attn_mask = torch.where(allowed, attn_bias, float("-inf"))
        return F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=dropout_p,
            is_causal=causal,
            scale=scale,
            enable_gqa=gqa,
        )
    except RuntimeError as e:
        err = kernel_error(e, "attention", q=q, k=k, v=v, attn_bias=attn_bias)
        if err is e and mask is not None:
            # A Bool mask's dtype differs by design: it takes part for its device alone.
            device = torch.empty(0, dtype=q.dtype, device=mask.device)
            err = kernel_error(e, "attention", q=q, k=k, v=v, attn_bias=attn_bias, mask=device)
        raise err from None


def _heads_relation(observed: Mapping[str, Observed | None]) -> bool:
    """`k` and `v` have `q`'s batch dims, or fewer heads that divide `q`'s."""
    q = observed.get("q")
    for name in ("k", "v"):
        o = observed.get(name)
        if q is not None and o is not None and q.shape is not None and o.shape is not None:
            if not _kv_fits(q.shape, o.shape):
                return False
    return True


add_relation(attention, _heads_relation)


@checked_op
def layer_norm(
    x: Float[Tensor, "*batch e"],
    weight: Float[Tensor, " e"],
    bias: Float[Tensor, " e"] | None = None,
    eps: float = 1e-5,
) -> Float[Tensor, "*batch e"]:
    """Normalize each row over its last axis to mean 0, variance 1, then scale and shift.

    **Arguments:**

    - `x`: `(*batch, e)`.
    - `weight`: `(e,)`, the learned scale.
    - `bias`: `(e,)` or None, the learned shift.
    - `eps`: added to the variance.

    **Returns:**

    `(*batch, e)`.
    """
    try:
        return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)
    except RuntimeError as e:
        raise kernel_error(e, "layer_norm", x=x, weight=weight, bias=bias) from None
