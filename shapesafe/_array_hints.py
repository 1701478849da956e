"""What a type hint says about arrays, read in one place: the decorator, the cache, the
structure path and the import hook all ask here.

Nothing is imported: a hint can hold jaxtyping's array types, or torch's `Tensor`, only once
their modules are imported, so the import hook asks before either is.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import sys
import typing
from typing import Any

#: Hints nested deeper than this are not searched for arrays.
MAX_DEPTH = 10


def is_array_hint(hint: Any) -> bool:
    """Whether `hint` is a jaxtyping array type (`Float[Tensor, "b n"]`, `Int[np.ndarray, ...]`)."""
    if not isinstance(hint, type):
        return False
    jaxtyping = sys.modules.get("jaxtyping")
    return jaxtyping is not None and issubclass(hint, jaxtyping.AbstractArray)


def is_torch_array_hint(hint: Any) -> bool:
    """Whether `hint` is a jaxtyping array type of torch tensors."""
    if not is_array_hint(hint):
        return False
    torch = sys.modules.get("torch")
    array_type = getattr(hint, "array_type", None)
    if torch is None or not isinstance(array_type, type):
        return False
    return issubclass(array_type, torch.Tensor)


def mentions_array(hint: Any, depth: int = 0) -> bool:
    """Whether `hint` is, or holds anywhere in its arguments, a jaxtyping array type
    (`tuple[Float[Tensor, "n"], int]`, `list[Float[Tensor, "n"]] | None`)."""
    if depth > MAX_DEPTH:
        return False
    if is_array_hint(hint):
        return True
    return any(mentions_array(arg, depth + 1) for arg in typing.get_args(hint))


def binds_names(hint: Any, depth: int = 0) -> bool:
    """Whether checking a value against `hint` reads or binds names on jaxtyping's memo: an
    array type's dims (`mentions_array`), or a `PyTree[..., "T"]` structure name. A hint for
    which this is False can be checked apart from the call's memo."""
    if depth > MAX_DEPTH:
        return False
    if is_array_hint(hint) or (getattr(hint, "structure", None) is not None and _is_pytree(hint)):
        return True
    return any(binds_names(arg, depth + 1) for arg in typing.get_args(hint))


def _is_pytree(hint: Any) -> bool:
    pytree = sys.modules.get("jaxtyping._pytree_type")
    return (
        pytree is not None and isinstance(hint, type) and type(hint).__module__ == pytree.__name__
    )
