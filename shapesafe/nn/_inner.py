"""The ops a module calls on tensors its own checked contract already holds.

A module's `forward` contract fixes the shapes of its inputs, and each checked child module's
contract fixes the shape of what the child returns. The ops that reshape, combine and attend
over those tensors would check again what is already established, so eagerly a module runs
their bodies (`INNER`); compiled, the checks cost nothing at run time, and it runs the checked
ops (`CHECKED`). Parameters are still checked where they are used (a parameter can be
reassigned): by the child modules that own them. Child modules are called by `call`: eagerly
`_fastpath.call`, which decides a call of one of shapesafe's own modules by its fast form.

A body that fails anyway (a child replaced by a module that returns another shape) raises
torch's error; the module then runs the same code with `CHECKED` to say what is wrong (see
`explain`).
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import torch
from torch import Tensor
from torch.nn.functional import scaled_dot_product_attention as _sdpa

from .._activations import silu
from .._attention import attention
from .._errors import ShapeError
from .._join import kv_append
from .._linalg import add, hadamard
from .._reshape import merge_heads, split_heads, split_qkv
from .._rotary import apply_rope, rope_tables
from . import _fastpath
from ._linear import blame_input

F = TypeVar("F", bound=Callable[..., Any])


def body(op: F) -> F:
    """The function a checked op wraps: its body, with the op's own checks of values (a
    head count that does not divide, say) but not its contract."""
    return cast(F, getattr(op, "__wrapped__", op))


def _same_shape_add(a: Tensor, b: Tensor) -> Tensor:
    """`a + b` where the two have one shape; otherwise the checked `add`, which refuses to
    broadcast (a residual branch that lost an axis must not broadcast back silently)."""
    if a.shape == b.shape:
        return a + b
    return add(a, b)


def _kv_append(cache: Tensor, new: Tensor) -> Tensor:
    """`kv_append`, whose contract holds where the two have one rank (at least 2) and
    `torch.cat` joins them on the next-to-last axis: it refuses any other size that differs
    (the cache is the caller's, so this is checked, in a fast form; what `cat` refuses goes
    to the checked op, which says what is wrong)."""
    if cache.__class__ is Tensor and new.__class__ is Tensor and cache.ndim == new.ndim >= 2:
        try:
            return torch.cat((cache, new), dim=-2)
        except Exception:
            pass  # the checked op raises what it raises
    return kv_append(cache, new)


_attention = body(attention)


def _grouped_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, causal: bool
) -> Tensor:
    """`attention`'s body for `q`, `k` and `v` split from the projections of one input by
    children of shapesafe's own (whose contracts keep the input's batch and seq), the keys
    and values maybe appended to a cache by the checked `kv_append`: their batch dims are
    one but for the heads, and SDPA refuses key/value heads that do not divide the query
    heads, or another `head_dim`; the module then says what is wrong (`explain`)."""
    out: Tensor = _sdpa(q, k, v, attn_mask=mask, is_causal=causal, enable_gqa=True)
    return out


_split_heads = body(split_heads)


def _split_heads_lean(x: Tensor, num_heads: int) -> Tensor:
    """`split_heads`' body, its check of `num_heads` done by comparisons where it passes."""
    if num_heads.__class__ is int and num_heads > 0:
        batch, seq, embed = x.shape
        if embed % num_heads == 0:
            return x.reshape(batch, seq, num_heads, embed // num_heads).transpose(1, 2)
    return _split_heads(x, num_heads)


class Ops(NamedTuple):
    """The ops a module's body calls, checked or not (see the module docstring)."""

    add: Callable[[Tensor, Tensor], Tensor]
    hadamard: Callable[[Tensor, Tensor], Tensor]
    silu: Callable[[Tensor], Tensor]
    split_heads: Callable[[Tensor, int], Tensor]
    split_qkv: Callable[[Tensor, int], tuple[Tensor, Tensor, Tensor]]
    merge_heads: Callable[[Tensor], Tensor]
    attention: Callable[..., Tensor]
    #: `attention(q, k, v, mask=mask, causal=causal)` where the three were split from the
    #: projections of one input by children of shapesafe's own: in `PLAIN`, torch's SDPA
    #: (see `_grouped_attention`).
    grouped_attention: Callable[[Tensor, Tensor, Tensor, Tensor | None, bool], Tensor]
    apply_rope: Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]
    rope_tables: Callable[..., tuple[Tensor, Tensor]]
    kv_append: Callable[[Tensor, Tensor], Tensor]
    #: `call(module, *args)`: a child module's call.
    call: Callable[..., Any]
    #: `call_child(module, name, *args)`: `call(getattr(module, name), *args)`.
    call_child: Callable[..., Any]


def _call(module: torch.nn.Module, *args: Any) -> Any:
    return module(*args)


def _call_child(module: torch.nn.Module, name: str, *args: Any) -> Any:
    return getattr(module, name)(*args)


def _fast_call_child(module: torch.nn.Module, name: str, *args: Any) -> Any:
    return _fastpath.call(getattr(module, name), *args)


CHECKED = Ops(
    add=add,
    hadamard=hadamard,
    silu=silu,
    split_heads=split_heads,
    split_qkv=split_qkv,
    merge_heads=merge_heads,
    attention=attention,
    grouped_attention=attention,
    apply_rope=apply_rope,
    rope_tables=rope_tables,
    kv_append=kv_append,
    call=_call,
    call_child=_call_child,
)

INNER = Ops(
    add=_same_shape_add,
    hadamard=lambda a, b: a * b if a.shape == b.shape else hadamard(a, b),
    silu=body(silu),
    split_heads=_split_heads_lean,
    split_qkv=body(split_qkv),
    merge_heads=body(merge_heads),
    attention=_attention,
    grouped_attention=_attention,
    apply_rope=body(apply_rope),
    rope_tables=body(rope_tables),
    kv_append=_kv_append,
    call=_fastpath.call,
    call_child=_fast_call_child,
)

#: `INNER` for the body of a module whose fast form has just found its children plain
#: (`_fastpath.children_plain`): its calls don't look at a child's hooks again, and its
#: grouped attention is SDPA's.
PLAIN = INNER._replace(
    call=_fastpath.call_plain,
    call_child=_fastpath.call_child,
    grouped_attention=_grouped_attention,
)

_is_compiling = torch.compiler.is_compiling


def ops() -> Ops:
    """`INNER` in eager mode, `CHECKED` while compiling."""
    return CHECKED if _is_compiling() else INNER


def plain_ops() -> Ops:
    """`PLAIN` in eager mode, `CHECKED` while compiling: the ops of a body called by its
    module's fast form, once `_fastpath.children_plain` holds."""
    return CHECKED if _is_compiling() else PLAIN


def explain(error: RuntimeError, run: Callable[[Ops], object]) -> Exception:
    """The ShapeError that `run` raises with the checked ops, or `error` where they find
    nothing wrong (then the failure was not about shapes)."""
    try:
        run(CHECKED)
    except ShapeError as e:
        return e
    except RuntimeError:
        pass
    return error


def run(
    module: torch.nn.Module,
    x: Tensor,
    body: Callable[[Tensor, Ops], Tensor],
    name: str = "x",
    o: Ops | None = None,
) -> Tensor:
    """`body(x, o)`, a module's forward on its one input `x` (named `name`), with the ops `o`
    (`ops()` when None).

    What fails inside is raised as the module says it: a RuntimeError is explained by running
    `body` again with the checked ops, and either error blames the input's dtype or device
    where it differs from the module's parameters (`blame_input`).
    """
    try:
        return body(x, ops() if o is None else o)
    except RuntimeError as e:
        raise blame_input(module, x, explain(e, lambda o: body(x, o)), name) from None
    except ShapeError as e:
        raise blame_input(module, x, e, name) from None
