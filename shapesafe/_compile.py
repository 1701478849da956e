"""The contract check under torch.compile: plain-Python arithmetic on sizes.

beartype's checks cannot be traced by dynamo, so while compiling, `checked` runs the same
parsed contract through `_contract.unify` instead. With static shapes every size is a
Python int and the check happens once, at trace time.
"""

from typing import TYPE_CHECKING, Any

from ._explain import explain

if TYPE_CHECKING:
    from ._checked import _Checked


def call_traced(state: "_Checked", args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    arguments = state.arguments(args, kwargs)
    err = explain(state.contract, arguments)
    if err is not None:
        raise err
    out = state.fn(*args, **kwargs)
    err = explain(state.contract, arguments, out)
    if err is not None:
        raise err
    return out
