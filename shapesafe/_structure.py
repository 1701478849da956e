"""The structure path: a new shape in a known structure, decided by the unifier alone.

A call's *structure* is what beartype judges beyond sizes: each tensor argument's class and
dtype, the type of each argument whose hint reads types, the value of each argument whose
hint reads values. Once the full check (jaxtyping + beartype) accepted a structure, a later
call with the same structure and new sizes is decided by `_unify`: its verdict on sizes is
exactly the reference's, and the rest of the reference's verdict is the structure's.

- A new structure takes the full check, which remembers it once accepted (`remember`).
- A rejection found here is handed to the full check, which rejects it as well and writes
  the message; an undecidable dim (`decide` returns None) also goes to the full check.
- shapesafe's own ops need no more, and their new signatures are not stored as verdicts:
  deciding a known structure costs them what a hit does. A user function gets the dims
  bound for its body (on jaxtyping's memo stack, as on a hit), and its return is decided
  the same way when its structure is the one accepted with the arguments' structure and
  the body bound no new dims; otherwise beartype checks it.
- Both are generated into each function's wrapper (`_codegen`): an op's sizes are compared
  inline (`_unify.inline_decider`); a user function's arguments bind their dims with
  `Contract.binder` (jaxtyping's memo format) and its return is decided by
  `Contract.return_decider` (`return_fits` here, for returns other than one tensor).

Never decided here, always the full check (see `decidable`): functions with packed
`*args`/`**kwargs`, with a hint that is a union of tensors and other types, with tensors
inside a tuple hint, with hints whose verdict the cache can't key (those are not cached at
all), with a return hint the key can't capture (`ALWAYS`), and generators and coroutines.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from typing import TYPE_CHECKING, Any

import torch

from ._array_hints import mentions_array
from ._cache import ALWAYS, OPTIONAL_TENSOR, SKIP, TENSOR, TESTED, TYPE, VALUE

if TYPE_CHECKING:
    from ._checked import _Checked

#: At most this many structures are remembered per function; then they start over.
MAX_STRUCTURES = 256


def decidable(state: "_Checked") -> bool:
    """True if a call of `state.fn` may take the structure path: each contract param is a
    tensor argument (keyed by its shape) and the other hints read types or plain values, or
    are tested on every call; and the return's structure is its verdict, with its sizes."""
    if state.packed or state.return_kind == ALWAYS:
        return False
    tensors = 0
    for name, kind in state.kinds.items():
        if kind in (TENSOR, OPTIONAL_TENSOR):
            tensors += 1
        elif kind in (SKIP, TYPE, TESTED):
            continue
        elif kind != VALUE or mentions_array(state.hints.get(name)):
            return False
    return tensors == len(state.contract.params)


def return_structure(value: Any) -> Any:
    """The structure of a return value; a fresh object (equal to nothing) where it has none."""
    if isinstance(value, torch.Tensor):
        return (value.__class__, value.dtype)
    if type(value) is tuple:
        return (tuple, tuple([return_structure(v) for v in value]))
    if isinstance(value, tuple):
        return object()
    return value.__class__


def _return_shapes(state: "_Checked", out: Any) -> list[Any] | None:
    contract = state.contract
    if contract.returns is not None:
        if type(out) is not tuple or len(out) != len(contract.returns):
            return None
        return [
            None if item is None else item.shape
            for p, item in zip(contract.returns, out, strict=True)
            if p is not None
        ]
    if contract.ret is not None:
        return [None if out is None else out.shape]
    return []


def remember(state: "_Checked", key: Any, out: Any) -> None:
    """The full check accepted the call with signature `key` (cached), returning `out`:
    remember its structure, with the return structure accepted with it (the first one)."""
    structure = tuple([key[i] for i in state.structure_index])
    structures = state.structures
    if structure in structures:
        return
    if len(structures) >= MAX_STRUCTURES:
        structures.clear()
    structures[structure] = return_structure(out)


class Bound:
    """The dims a structure-path call's arguments bound (`Contract.binder`), as the entry of
    its memo on jaxtyping's stack (see `MemoStack`, which copies them when read)."""

    __slots__ = ("pytree", "single", "variadic")

    def __init__(self, bound: tuple[dict[str, Any], dict[str, Any]]) -> None:
        self.single, self.variadic = bound
        self.pytree = _NO_PYTREE


_NO_PYTREE: dict[str, Any] = {}


def return_fits(
    state: "_Checked",
    accepted: Any,
    bound: tuple[dict[str, Any], dict[str, Any]],
    arguments: dict[str, Any],
    out: Any,
    body_bound: bool,
) -> bool:
    """True when the unifier alone can accept the return, matched against the dims the
    arguments bound; False means "ask beartype"."""
    if body_bound or return_structure(out) != accepted:
        return False
    if state.contract.ret is None and state.contract.returns is None:
        return True  # no tensor in the return hint: its structure is the verdict
    returned = _return_shapes(state, out)
    if returned is None:
        return False
    return state.contract.return_decider(bound[0], bound[1], returned, arguments) is True
