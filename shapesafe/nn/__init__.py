"""Checked `torch.nn` modules for a transformer: every `forward` enforces its shape contract.

`Linear` and `LayerNorm` keep torch's parameter names and shapes, so their state dicts load
into `torch.nn.Linear` / `torch.nn.LayerNorm` and back.
"""

from ._attention import CausalSelfAttention as CausalSelfAttention
from ._block import MLP as MLP
from ._block import Block as Block
from ._linear import Linear as Linear
from ._norm import LayerNorm as LayerNorm

__all__ = ["MLP", "Block", "CausalSelfAttention", "LayerNorm", "Linear"]
