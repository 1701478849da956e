"""shapesafe: checked tensor ops for LLM code, with shape errors a person can read."""

import importlib.metadata

from jaxtyping import Bool as Bool
from jaxtyping import Float as Float
from jaxtyping import Int as Int
from jaxtyping import Shaped as Shaped
from torch import Tensor as Tensor

from ._attention import attention as attention
from ._attention import attention_scores as attention_scores
from ._attention import layer_norm as layer_norm
from ._attention import softmax as softmax
from ._checked import checked as checked
from ._checked import get_mode as get_mode
from ._checked import mode as mode
from ._checked import set_mode as set_mode
from ._errors import ShapeError as ShapeError
from ._linalg import add as add
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
from ._masks import apply_mask as apply_mask
from ._masks import causal_mask as causal_mask
from ._masks import diag as diag
from ._masks import identity as identity
from ._masks import tril as tril
from ._masks import triu as triu
from ._reshape import merge_heads as merge_heads
from ._reshape import permute as permute
from ._reshape import split_heads as split_heads

__version__ = importlib.metadata.version("shapesafe")

__all__ = [
    "Bool",
    "Float",
    "Int",
    "ShapeError",
    "Shaped",
    "Tensor",
    "__version__",
    "add",
    "apply_mask",
    "attention",
    "attention_scores",
    "causal_mask",
    "checked",
    "diag",
    "dot",
    "get_mode",
    "hadamard",
    "identity",
    "l1_norm",
    "l2_norm",
    "layer_norm",
    "linear",
    "matmul",
    "matvec",
    "merge_heads",
    "mode",
    "normalize",
    "outer",
    "permute",
    "scale",
    "set_mode",
    "softmax",
    "split_heads",
    "sub",
    "transpose",
    "tril",
    "triu",
]
