"""Checked `torch.nn` modules for a transformer: every `forward` enforces its shape contract.

`Linear`, `LayerNorm` and `Embedding` subclass their `torch.nn` counterparts and keep their
parameter names and shapes, so state dicts load both ways and `isinstance` checks hold.
`GPT` uses GPT-2's module names, so a nanoGPT-layout state dict of the same config loads;
`Llama` uses those of transformers' `LlamaForCausalLM`.
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
from ._llama import KVCache as KVCache
from ._llama import Llama as Llama
from ._llama import LlamaAttention as LlamaAttention
from ._llama import LlamaConfig as LlamaConfig
from ._llama import LlamaDecoderLayer as LlamaDecoderLayer
from ._llama import LlamaModel as LlamaModel
from ._llama import RotaryEmbedding as RotaryEmbedding
from ._llama import SwiGLU as SwiGLU
from ._norm import LayerNorm as LayerNorm
from ._norm import RMSNorm as RMSNorm

__all__ = [
    "GPT",
    "GPTMLP",
    "MLP",
    "Block",
    "CausalSelfAttention",
    "Embedding",
    "GPTBlock",
    "GPTConfig",
    "KVCache",
    "LayerNorm",
    "Linear",
    "Llama",
    "LlamaAttention",
    "LlamaConfig",
    "LlamaDecoderLayer",
    "LlamaModel",
    "RMSNorm",
    "RotaryEmbedding",
    "SwiGLU",
]
