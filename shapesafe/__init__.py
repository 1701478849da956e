"""shapesafe: checked tensor ops for LLM code, with shape errors a person can read.

The runtime half (torch, jaxtyping, beartype) is imported on first use of one of its names,
so `shapesafe check` and the mypy plugin, which only read source, never import torch.
`SHAPESAFE_MODE` is read (and a bad value refused) with the runtime, not here: pytest loads
the plugin, and with it this module, in projects that don't use shapesafe at all.
"""

import importlib
import os
from typing import TYPE_CHECKING, Any

# Public name -> the private module that defines it (the annotation aliases come from
# jaxtyping and torch themselves).
_EXPORTS: dict[str, str] = {
    "Bool": "jaxtyping",
    "Float": "jaxtyping",
    "Int": "jaxtyping",
    "Shaped": "jaxtyping",
    "Tensor": "torch",
    "dropout": "._activations",
    "gelu": "._activations",
    "relu": "._activations",
    "rms_norm": "._activations",
    "silu": "._activations",
    "attention": "._attention",
    "attention_scores": "._attention",
    "layer_norm": "._attention",
    "softmax": "._attention",
    "checked": "._checked",
    "get_mode": "._checked",
    "mode": "._checked",
    "set_mode": "._checked",
    "check_package": "._import_hook",
    "install_import_hook": "._import_hook",
    "ShapeError": "._errors",
    "cat": "._join",
    "kv_append": "._join",
    "stack": "._join",
    "add": "._linalg",
    "broadcast_add": "._linalg",
    "dot": "._linalg",
    "hadamard": "._linalg",
    "l1_norm": "._linalg",
    "l2_norm": "._linalg",
    "linear": "._linalg",
    "matmul": "._linalg",
    "matvec": "._linalg",
    "normalize": "._linalg",
    "outer": "._linalg",
    "scale": "._linalg",
    "sub": "._linalg",
    "transpose": "._linalg",
    "cross_entropy": "._loss",
    "embedding": "._loss",
    "apply_mask": "._masks",
    "causal_mask": "._masks",
    "diag": "._masks",
    "identity": "._masks",
    "tril": "._masks",
    "triu": "._masks",
    "merge_heads": "._reshape",
    "permute": "._reshape",
    "repeat_kv": "._reshape",
    "split_heads": "._reshape",
    "split_qkv": "._reshape",
    "argmax": "._reduce",
    "max": "._reduce",
    "mean": "._reduce",
    "sum": "._reduce",
    "apply_rope": "._rotary",
    "rope_tables": "._rotary",
    "rotate_half": "._rotary",
}

if TYPE_CHECKING:
    __version__: str

    from jaxtyping import Bool as Bool
    from jaxtyping import Float as Float
    from jaxtyping import Int as Int
    from jaxtyping import Shaped as Shaped
    from torch import Tensor as Tensor

    from . import nn as nn
    from ._activations import dropout as dropout
    from ._activations import gelu as gelu
    from ._activations import relu as relu
    from ._activations import rms_norm as rms_norm
    from ._activations import silu as silu
    from ._attention import attention as attention
    from ._attention import attention_scores as attention_scores
    from ._attention import layer_norm as layer_norm
    from ._attention import softmax as softmax
    from ._checked import checked as checked
    from ._checked import get_mode as get_mode
    from ._checked import mode as mode
    from ._checked import set_mode as set_mode
    from ._errors import ShapeError as ShapeError
    from ._import_hook import check_package as check_package
    from ._import_hook import install_import_hook as install_import_hook
    from ._join import cat as cat
    from ._join import kv_append as kv_append
    from ._join import stack as stack
    from ._linalg import add as add
    from ._linalg import broadcast_add as broadcast_add
    from ._linalg import dot as dot
    from ._linalg import hadamard as hadamard
    from ._linalg import l1_norm as l1_norm
    from ._linalg import l2_norm as l2_norm
    from ._linalg import linear as linear
    from ._linalg import matmul as matmul
    from ._linalg import matvec as matvec
    from ._linalg import normalize as normalize
    from ._linalg import outer as outer
    from ._linalg import scale as scale
    from ._linalg import sub as sub
    from ._linalg import transpose as transpose
    from ._loss import cross_entropy as cross_entropy
    from ._loss import embedding as embedding
    from ._masks import apply_mask as apply_mask
    from ._masks import causal_mask as causal_mask
    from ._masks import diag as diag
    from ._masks import identity as identity
    from ._masks import tril as tril
    from ._masks import triu as triu
    from ._reduce import argmax as argmax
    from ._reduce import max as max
    from ._reduce import mean as mean
    from ._reduce import sum as sum
    from ._reshape import merge_heads as merge_heads
    from ._reshape import permute as permute
    from ._reshape import repeat_kv as repeat_kv
    from ._reshape import split_heads as split_heads
    from ._reshape import split_qkv as split_qkv
    from ._rotary import apply_rope as apply_rope
    from ._rotary import rope_tables as rope_tables
    from ._rotary import rotate_half as rotate_half


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # Read on first use: reading the installed metadata (and importing the module that
        # reads it) costs some ms, which pytest and `shapesafe check` would pay at every start.
        from importlib import metadata

        globals()[name] = version = metadata.version("shapesafe")
        return version
    if name == "nn":
        # The checked modules: `ss.nn.Linear` works without `import shapesafe.nn`.
        return importlib.import_module(".nn", __name__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shapesafe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, "__version__", "nn"})


if os.environ.get("SHAPESAFE_PACKAGES"):
    from ._import_hook import install_from_environment as _install_from_environment

    _install_from_environment()

__all__ = ["__version__", *sorted(_EXPORTS)]
