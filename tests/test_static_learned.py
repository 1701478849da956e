"""What the static checker learns of a class's sizes: a sym (a config attribute such as
`config.n_embd`, or an expression of them such as `config.n_embd // config.n_head`) is
identified by the first size it must equal, so `nn.Linear(config.n_embd, ...)` applied to
an input of last dim `d_model` is no finding. But a sym is not learned equal to a size that
a tensor of the same relation already carries on another axis: there the code gave the two
different roles, and the relation holds only if they happen to be equal."""

from pathlib import Path

import pytest

from tests.helpers import static_findings

HEADER = """\
import math
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn
"""

ATTENTION = """\
class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.n_head = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.out = nn.Linear(config.n_embd, config.n_embd)

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        v = v.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        att = ({scores}) / math.sqrt(self.head_dim)
        att = F.softmax(att, dim=-1)
        y = {mixed}
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.out(y)
"""

RIGHT = {"scores": "q @ k.transpose(-2, -1)", "mixed": "att @ v"}


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


def test_attention_with_heads_from_the_config_is_no_finding(tmp_path: Path) -> None:
    assert check(tmp_path, ATTENTION.format(**RIGHT)) == []


def test_keys_not_transposed_is_a_finding(tmp_path: Path) -> None:
    source = ATTENTION.format(**{**RIGHT, "scores": "q @ k"})
    assert check(tmp_path, source) == [
        "15: q @ k: inner dim is config.n_embd//config.n_head in q "
        '"batch config.n_head pos config.n_embd//config.n_head" but pos in k '
        '"batch config.n_head pos config.n_embd//config.n_head"; did you mean k.mT?'
    ]


@pytest.mark.parametrize(
    ("mixed", "message"),
    [
        (
            "v @ att",
            '17: v @ att: inner dim is config.n_embd//config.n_head in v "batch config.n_head pos '
            'config.n_embd//config.n_head" but pos in att "batch config.n_head pos pos" (holds only '
            "if config.n_embd//config.n_head == pos, and nothing here says they are equal)",
        ),
        (
            "att @ v.transpose(-1, -2)",
            '17: att @ v.transpose(-1, -2): inner dim is pos in att "batch config.n_head pos '
            'pos" but config.n_embd//config.n_head in v.transpose(-1, -2) "batch config.n_head '
            'config.n_embd//config.n_head pos"; did you mean v.transpose(-1, -2).mT?',
        ),
    ],
    ids=["operands-swapped", "values-transposed"],
)
def test_values_mixed_on_the_wrong_axis_is_a_finding(
    tmp_path: Path, mixed: str, message: str
) -> None:
    assert check(tmp_path, ATTENTION.format(**{**RIGHT, "mixed": mixed})) == [message]


HEADS = """\
class Heads(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: Float[Tensor, "b s d_model"]) -> Float[Tensor, "b h s d_head"]:
        B, S, _ = x.shape
        h = self.proj(x).view(B, S, self.cfg.n_heads, self.cfg.d_model // self.cfg.n_heads)
        return {value}
"""


def test_a_head_size_from_the_config_is_the_annotation_s_head_dim(tmp_path: Path) -> None:
    # `d_model // n_heads` heads: the expression of the config's sizes is identified by the
    # dim the return annotation names in its place.
    assert check(tmp_path, HEADS.format(value="h.transpose(1, 2)")) == []


def test_a_head_size_in_the_place_of_another_dim_is_a_finding(tmp_path: Path) -> None:
    assert check(tmp_path, HEADS.format(value="h.permute(0, 2, 3, 1)")) == [
        "10: return of forward(): dim 's' is s in x \"b s d_model\" but "
        'd_model//cfg.n_heads in h.permute(0, 2, 3, 1) "b cfg.n_heads d_model//cfg.n_heads s"'
    ]


MASK = """\
class Masked(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.table = nn.Parameter(torch.zeros(cfg.n_heads, cfg.n_ctx, cfg.n_ctx))

    def forward(self, scores: Float[Tensor, "b h pos pos"]) -> Float[Tensor, "b h pos pos"]:
        return scores + {bias}
"""


@pytest.mark.parametrize("bias", ["self.table", "self.table.transpose(-1, -2)"])
def test_a_table_the_config_sizes_is_identified_by_the_scores(tmp_path: Path, bias: str) -> None:
    # The table carries n_ctx on two axes, and each must equal a size of the scores: the
    # config sized it for them (the syms are learned, as before).
    assert check(tmp_path, MASK.format(bias=bias)) == []
