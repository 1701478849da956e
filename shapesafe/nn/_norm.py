"""`LayerNorm` over the last axis, with its size in the contract."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn

from .._activations import rms_norm
from .._attention import layer_norm
from .._checked import checked
from .._errors import ShapeError
from .._masks import check_size
from . import _fastpath
from ._linear import blame_input, checked_error


class LayerNorm(nn.LayerNorm):
    """A checked `torch.nn.LayerNorm(features)` over the last axis, and a subclass of it.

    **Arguments:**

    - `features`: size of the last axis, as `torch.nn.LayerNorm(normalized_shape=features)`.
    - `eps`: added to the variance.
    - `bias`: whether to learn an additive shift.
    - `device`, `dtype`: where and how to create the parameters.

    The parameters are those of `torch.nn.LayerNorm`: `weight` `(features,)` (ones) and
    `bias` `(features,)` (zeros), so state dicts load both ways.
    """

    features: int

    def __init__(
        self,
        features: int,
        eps: float = 1e-5,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_size("LayerNorm", "features", features, minimum=1)
        super().__init__(
            features, eps, elementwise_affine=True, bias=bias, device=device, dtype=dtype
        )
        self.features = features

    @checked
    def forward(
        self, x: Float[Tensor, "*batch features={self.features}"]
    ) -> Float[Tensor, "*batch features={self.features}"]:
        """`(*batch, features)` to `(*batch, features)`: each row to mean 0, variance 1."""
        weight, bias = self.weight, self.bias
        try:
            if torch.compiler.is_compiling():  # compiled, the checks cost nothing at run time
                return layer_norm(x, weight, bias, self.eps)
            # As in Linear: the contract holds x and the output, torch refuses parameters
            # that do not fit (F.layer_norm wants both exactly `(features,)`), and the
            # checked op then says which one is wrong.
            out: Tensor = F.layer_norm(x, self.normalized_shape, weight, bias, self.eps)
            return out
        except RuntimeError as e:
            error = checked_error(e, layer_norm, x, weight, bias, self.eps)
            raise blame_input(self, x, error) from None
        except ShapeError as e:
            raise blame_input(self, x, e) from None

    def extra_repr(self) -> str:
        return f"{self.features}, eps={self.eps}, bias={self.bias is not None}"


class RMSNorm(nn.RMSNorm):
    """A checked `torch.nn.RMSNorm(features)` over the last axis, and a subclass of it.

    **Arguments:**

    - `features`: size of the last axis.
    - `eps`: added to the mean square; `torch.finfo(x.dtype).eps` when None, as in torch.
    - `device`, `dtype`: where and how to create the weight.

    The weight is `torch.nn.RMSNorm`'s, `(features,)` (ones), the layout of Llama's
    `input_layernorm.weight`, so state dicts load both ways.
    """

    features: int

    def __init__(
        self,
        features: int,
        eps: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_size("RMSNorm", "features", features, minimum=1)
        super().__init__(features, eps, elementwise_affine=True, device=device, dtype=dtype)
        self.features = features

    @checked
    def forward(
        self, x: Float[Tensor, "*batch features={self.features}"]
    ) -> Float[Tensor, "*batch features={self.features}"]:
        """`(*batch, features)` to `(*batch, features)`: each row divided by its root mean
        square, then scaled by `weight`."""
        weight = self.weight
        try:
            if torch.compiler.is_compiling():  # compiled, the checks cost nothing at run time
                return rms_norm(x, weight, self._eps_for(x))
            if x.dtype != weight.dtype:
                # F.rms_norm would warn and compute in a promoted dtype; the other modules'
                # kernels refuse such a mix, and so does this one.
                mix = ShapeError(f"RMSNorm.forward(): x is {x.dtype}, weight {weight.dtype}")
                raise blame_input(self, x, mix) from None
            # As in LayerNorm: the contract holds x and the output, torch refuses a weight
            # that does not fit, and the checked op then says what is wrong.
            out: Tensor = F.rms_norm(x, self.normalized_shape, weight, self.eps)
            return out
        except RuntimeError as e:
            error = checked_error(e, rms_norm, x, weight, self._eps_for(x))
            raise blame_input(self, x, error) from None
        except ShapeError as e:
            raise blame_input(self, x, e) from None

    def _eps_for(self, x: Tensor) -> float:
        """`eps`, or torch's default for `x`'s dtype when None."""
        return torch.finfo(x.dtype).eps if self.eps is None else self.eps

    def extra_repr(self) -> str:
        return f"{self.features}, eps={self.eps}"


def _fast_layer_norm(m: LayerNorm, x: Tensor) -> Tensor:
    """`LayerNorm`'s fast form (see `_fastpath`): a float `x` `(*batch, features)` with
    `normalized_shape` `(features,)` and parameters of its dtype (or None) imply the contract,
    as the kernel then returns `x`'s shape and dtype, or raises on a parameter that does not
    fit (its shape must be `normalized_shape`)."""
    f, dtype = m.features, x.dtype
    params = m.__dict__["_parameters"]
    weight, bias = params.get("weight", False), params.get("bias", False)
    if (
        x.__class__ is Tensor
        and dtype in _fastpath.FLOATS
        and f.__class__ is int
        and x.ndim >= 1
        and x.shape[-1] == f
        and m.normalized_shape == (f,)
        and (weight is None or (weight.__class__ is nn.Parameter and weight.dtype is dtype))
        and (bias is None or (bias.__class__ is nn.Parameter and bias.dtype is dtype))
    ):
        try:
            out: Tensor = F.layer_norm(x, m.normalized_shape, weight, bias, m.eps)
            return out
        except Exception:
            pass  # the checked call raises what it raises
    out = m(x)
    return out


def _fast_rms_norm(m: RMSNorm, x: Tensor) -> Tensor:
    """`RMSNorm`'s fast form (see `_fastpath`): a float `x`, `normalized_shape`
    `(features,)` and a weight (not None) of `x`'s dtype imply the contract, as the kernel
    then returns `x`'s shape and dtype, or raises on an `x` that is not `(*batch, features)`
    or a weight that is not `(features,)`."""
    f = m.features
    weight = m.__dict__["_parameters"].get("weight")
    if (
        x.__class__ is Tensor
        and weight.__class__ is nn.Parameter
        and (dtype := x.dtype) is weight.dtype
        and dtype in _fastpath.FLOATS
        and f.__class__ is int
        and m.normalized_shape == (f,)
    ):
        try:
            # `F.rms_norm` without its look for `__torch_function__`: `x` is a Tensor and
            # the weight a Parameter, which has none.
            out: Tensor = torch.rms_norm(x, m.normalized_shape, weight, m.eps)
            return out
        except Exception:
            pass  # the checked call raises what it raises
    out = m(x)
    return out


_fastpath.register(LayerNorm, _fast_layer_norm)
_fastpath.register(RMSNorm, _fast_rms_norm)
