"""Checked `torch.nn` modules for a transformer: every `forward` enforces its shape contract.

`Linear`, `LayerNorm` and `Embedding` subclass their `torch.nn` counterparts and keep their
parameter names and shapes, so state dicts load both ways and `isinstance` checks hold.
`GPT` uses GPT-2's module names, so a nanoGPT-layout state dict of the same config loads.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from ._attention import CausalSelfAttention as CausalSelfAttention
from ._block import MLP as MLP
from ._block import Block as Block
from ._embedding import Embedding as Embedding
from ._gpt import GPT as GPT
from ._gpt import GPTMLP as GPTMLP
from ._gpt import GPTBlock as GPTBlock
from ._gpt import GPTConfig as GPTConfig
from ._linear import Linear as Linear
from ._norm import LayerNorm as LayerNorm

__all__ = [
    "GPT",
    "GPTMLP",
    "MLP",
    "Block",
    "CausalSelfAttention",
    "Embedding",
    "GPTBlock",
    "GPTConfig",
    "LayerNorm",
    "Linear",
]
