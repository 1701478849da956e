"""Modules picked at run time, the way interpretability libraries build them: a norm class that
a config picks (a lambda stands for none), attention classes that share a base's forward,
Union inputs whose rank picks the alternative (through an alias), a helper method without a
return annotation, an Optional cache, a ModuleList subclass, and biases stacked through a
property with `cast`.
"""

from collections.abc import Callable
from typing import Optional, Union, cast

import torch
from jaxtyping import Float
from torch import Tensor, nn

NormInput = Union[Float[Tensor, "batch pos d_model"], Float[Tensor, "batch_pos d_model"]]


class Config:
    def __init__(self, norm: str, grouped: bool) -> None:
        self.d_model = 8
        self.n_heads = 2
        self.d_head = 4
        self.n_layers = 2
        self.norm = norm
        self.grouped = grouped


class RMSNorm(nn.Module):
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(cfg.d_model))

    def forward(self, x: NormInput) -> NormInput:
        return x * self.w / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt()


class LayerNorm(nn.Module):
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(cfg.d_model))

    def forward(
        self,
        x: Union[Float[Tensor, "batch pos d_model"], Float[Tensor, "batch pos head d_model"]],
    ) -> Union[Float[Tensor, "batch pos d_model"], Float[Tensor, "batch pos head d_model"]]:
        return (x - x.mean(-1, keepdim=True)) * self.w


class Cache:
    keys: Float[Tensor, "batch past d_model"]

    def __init__(self) -> None:
        self.keys = torch.zeros(2, 0, 8)

    def append(self, new: Float[Tensor, "batch new d_model"]):
        keys: Float[Tensor, "batch total d_model"] = torch.cat([self.keys, new], dim=1)
        self.keys = keys
        return keys


class BaseAttention(nn.Module):
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.W_Q = nn.Parameter(torch.randn(cfg.n_heads, cfg.d_model, cfg.d_head))
        self.W_O = nn.Parameter(torch.randn(cfg.n_heads, cfg.d_head, cfg.d_model))
        self.b_Q = nn.Parameter(torch.zeros(cfg.n_heads, cfg.d_head))

    def project(self, x: Float[Tensor, "batch pos d_model"]):
        return torch.einsum("bpm,hmd->bphd", x, self.W_Q) + self.b_Q

    def forward(
        self, x: Float[Tensor, "batch pos d_model"], cache: Optional[Cache] = None
    ) -> Float[Tensor, "batch pos d_model"]:
        if cache is not None:
            cache.append(x)
        q = self.project(x)
        return torch.einsum("bphd,hdm->bpm", q, self.W_O)


class Attention(BaseAttention):
    pass


class GroupedAttention(BaseAttention):
    pass


class TypedModuleList(nn.ModuleList):
    pass


class Block(nn.Module):
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        norm: Callable[[Config], nn.Module]
        if cfg.norm == "LN":
            norm = LayerNorm
        elif cfg.norm == "RMS":
            norm = RMSNorm
        else:
            norm = lambda cfg: nn.Identity()  # noqa: E731
        self.ln = norm(cfg)
        attention = GroupedAttention if cfg.grouped else Attention
        self.attn = attention(cfg)

    def mix(self, x: Float[Tensor, "batch pos d_model"], cache: Optional[Cache]):
        return self.attn(self.ln(x), cache)

    def forward(
        self, resid: Float[Tensor, "batch pos d_model"], cache: Optional[Cache] = None
    ) -> Float[Tensor, "batch pos d_model"]:
        return resid + self.mix(resid, cache)


class Model(nn.Module):
    def __init__(self, cfg: Config) -> None:
        super().__init__()
        self.blocks = TypedModuleList([Block(cfg) for _ in range(cfg.n_layers)])

    @property
    def b_Q(self) -> Float[Tensor, "n_layers n_heads d_head"]:
        return torch.stack([cast(BaseAttention, block.attn).b_Q for block in self.blocks], dim=0)

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        for block in self.blocks:
            x = block(x, Cache())
        return x


for norm in ("LN", "RMS", "none"):
    model = Model(Config(norm, grouped=norm == "RMS"))
    assert model(torch.randn(2, 5, 8)).shape == (2, 5, 8)
    assert model.b_Q.shape == (2, 2, 4)
