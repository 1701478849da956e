"""`Linear`: `x @ weight.T + bias`, with `in_features` and `out_features` in the contract."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from .._checked import checked
from .._errors import ShapeError
from .._linalg import linear
from .._masks import check_size
from . import _fastpath


def checked_error(error: RuntimeError, op: Callable[..., Tensor], *args: Any) -> Exception:
    """The ShapeError the checked `op` raises on the arguments a torch kernel refused, or
    the kernel's own `error` where the op finds nothing wrong with them."""
    try:
        op(*args)
    except ShapeError as e:
        return e
    return error


def blame_input(module: nn.Module, x: Tensor, error: Exception, name: str = "x") -> Exception:
    """What a module raises when something fails inside it: `error`, unless the input's dtype
    or device differs from the module's parameters, and then an error that says so.

    A kernel fails deep inside the module on such a mix, but the fix is on the caller's side:
    the parameters were set up once (`.to(torch.bfloat16)`, `.cuda()`), the input arrives with
    each call. Only called once something failed, so a successful call pays nothing.
    """
    weight = next(module.parameters(), None)
    if weight is None:
        return error
    checks: list[tuple[str, object, object, str]] = [
        ("device", x.device, weight.device, repr(str(weight.device)))
    ]
    if x.is_floating_point():  # token ids are integers by design
        checks.insert(0, ("dtype", x.dtype, weight.dtype, str(weight.dtype)))
    for what, got, want, fix in checks:
        if got != want:
            op = f"{type(module).__name__}.forward"
            shown_got = str(got).removeprefix("torch.")
            shown_want = str(want).removeprefix("torch.")
            hint = f"{name}.to({fix}), or move the module to {name}'s {what}"
            return ShapeError(
                f"{op}(): argument '{name}' has {what} {shown_got}, expected "
                f"{shown_want} like the module's parameters\nhint: {hint}",
                op=op,
                argument=name,
                expected=shown_want,
                actual=shown_got,
                hint=hint,
            )
    return error


class Linear(nn.Linear):
    """A checked `torch.nn.Linear`: a subclass, so `isinstance(m, nn.Linear)` holds.

    **Arguments:**

    - `in_features`: size of the last input axis.
    - `out_features`: size of the last output axis.
    - `bias`: whether to learn an additive bias.
    - `device`, `dtype`: where and how to create the parameters.

    The parameters and their initialization are `torch.nn.Linear`'s: `weight`
    `(out_features, in_features)` and `bias` `(out_features,)`, so state dicts load both ways
    and init code written for `nn.Linear` applies.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_size("Linear", "in_features", in_features, minimum=1)
        check_size("Linear", "out_features", out_features, minimum=1)
        super().__init__(in_features, out_features, bias, device, dtype)

    @checked
    def forward(
        self, x: Float[Tensor, "*batch in_features={self.in_features}"]
    ) -> Float[Tensor, "*batch out_features={self.out_features}"]:
        """`(*batch, in_features)` to `(*batch, out_features)`."""
        weight, bias = self.weight, self.bias
        try:
            # Compiled, the checks cost nothing at run time; and F.linear would broadcast a
            # (1,) bias. Both take the checked op.
            odd_bias = bias is not None and bias.shape != weight.shape[:1]
            if odd_bias or torch.compiler.is_compiling():
                return linear(x, weight, bias)
            # This method's contract holds x and the output to the config sizes; a weight
            # that does not fit makes torch refuse, and the checked op then says which
            # argument is wrong. So a successful eager call is checked once, not twice.
            out: Tensor = F.linear(x, weight, bias)
            return out
        except RuntimeError as e:
            raise blame_input(self, x, checked_error(e, linear, x, weight, bias)) from None
        except ShapeError as e:
            raise blame_input(self, x, e) from None


def _fast_linear(m: Linear, x: Tensor) -> Tensor:
    """`Linear`'s fast form (see `_fastpath`): a float `x` and the parameters
    `(out_features, in_features)` and `(out_features,)` of its dtype imply the contract, as
    `F.linear` then returns `(*batch, out_features)`, or refuses an `x` that is not
    `(*batch, in_features)` (and the checked call then says what is wrong)."""
    if x.__class__ is Tensor:
        params = m.__dict__["_parameters"]
        weight = params.get("weight")
        bias = params.get("bias", False)
        n, o = m.in_features, m.out_features
        if (
            weight.__class__ is nn.Parameter
            and (dtype := weight.dtype) is x.dtype
            and dtype in _fastpath.FLOATS
            and n.__class__ is int
            and o.__class__ is int
            and weight.shape == (o, n)
            and (
                bias is None
                or (bias.__class__ is nn.Parameter and bias.dtype is dtype and bias.shape == (o,))
            )
        ):
            try:
                out: Tensor = F.linear(x, weight, bias)
                return out
            except Exception:
                pass  # the checked call raises what it raises
    out = m(x)
    return out


_fastpath.register(Linear, _fast_linear)
