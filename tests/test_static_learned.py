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
        mask = torch.tril(torch.ones(config.block_size, config.block_size))
        self.register_buffer("bias", mask.view(1, 1, config.block_size, config.block_size))

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        k = k.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        v = v.view(B, T, self.n_head, self.head_dim).transpose(1, 2)
        att = ({scores}) / math.sqrt(self.head_dim)
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
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
        "17: q @ k: inner dim is config.n_embd//config.n_head in q "
        '"batch config.n_head pos config.n_embd//config.n_head" but pos in k '
        '"batch config.n_head pos config.n_embd//config.n_head"; did you mean k.mT?'
    ]


@pytest.mark.parametrize(
    ("mixed", "message"),
    [
        (
            "v @ att",
            '20: v @ att: inner dim is config.n_embd//config.n_head in v "batch config.n_head pos '
            'config.n_embd//config.n_head" but pos in att "batch config.n_head pos pos" (holds only '
            "if config.n_embd//config.n_head == pos, and nothing here says they are equal)",
        ),
        (
            "att @ v.transpose(-1, -2)",
            '20: att @ v.transpose(-1, -2): inner dim is pos in att "batch config.n_head pos '
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


ROTATE = """\
def rotate(
    x: Float[Tensor, "... seq d"], positions: Float[Tensor, "... seq"]
) -> Float[Tensor, "... seq d"]:
    return x * positions[..., None]

class Rotated(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_heads = cfg.n_heads

    def forward(self, x: Float[Tensor, "b s d_model"], positions: Float[Tensor, "b s"]):
        B, S, D = x.shape
        h = x.view(B, S, self.n_heads, D // self.n_heads)
        return rotate({heads}, positions)
"""


def test_heads_split_and_rotated_by_position_is_no_finding(tmp_path: Path) -> None:
    assert check(tmp_path, ROTATE.format(heads="h.transpose(1, 2)")) == []


def test_heads_never_transposed_before_a_call_by_position_is_a_finding(tmp_path: Path) -> None:
    # `h` carries both s and cfg.n_heads: the call's `seq` is cfg.n_heads in `h` and s in
    # `positions`, which holds only if the two happen to be equal.
    assert check(tmp_path, ROTATE.format(heads="h")) == [
        "14: rotate(h, positions): dim 'seq' is cfg.n_heads in h "
        '"b s cfg.n_heads d_model//cfg.n_heads" but s in positions "b s" (holds only if '
        "cfg.n_heads == s, and nothing here says they are equal)"
    ]


ENCODING = """\
class Encoding(nn.Module):
    def __init__(self, n_freqs: int):
        super().__init__()
        self.n_freqs = n_freqs

    def forward(self, x: Float[Tensor, "n d"], var: Float[Tensor, "n d"]) -> Float[Tensor, "n e"]:
        freqs = torch.linspace(0.0, 1.0, self.n_freqs)
        scaled = x[..., None] * freqs
        spread = {spread}
        return torch.cat([scaled.reshape(x.shape[0], -1), spread.reshape(x.shape[0], -1)], -1)
"""


def test_a_frequency_axis_beside_the_features_is_no_finding(tmp_path: Path) -> None:
    assert check(tmp_path, ENCODING.format(spread="var[..., None] * freqs**2")) == []


def test_frequencies_on_the_features_axis_is_a_finding(tmp_path: Path) -> None:
    # `scaled` carries d and n_freqs on two axes: the scope gave them different roles, so
    # `var * freqs**2` holds only if they happen to be equal.
    assert check(tmp_path, ENCODING.format(spread="var * freqs**2")) == [
        '9: var * (freqs**2): var "n d" and (freqs**2) "n_freqs": d lines up with n_freqs (torch '
        "would broadcast silently where one is 1, and fail otherwise; holds only if d == "
        "n_freqs, and nothing here says they are equal)"
    ]


EMBED = """\
class Embed(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model))
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)

    def forward(self, x: Float[Tensor, "pos d"]) -> Float[Tensor, "pos d"]:
        h = self.proj(x)
        return h + self.W_pos
"""


def test_config_sizes_beside_other_sizes_are_still_identified(tmp_path: Path) -> None:
    # `h` carries pos beside cfg.d_model, and W_pos cfg.n_ctx beside it: no tensor has
    # cfg.n_ctx beside pos, so n_ctx is learned to be pos, as before.
    assert check(tmp_path, EMBED) == []


def test_a_config_size_beside_the_dim_it_must_equal_is_a_finding(tmp_path: Path) -> None:
    source = EMBED.replace("h + self.W_pos", "h * self.W_pos[0][:, None]")
    assert check(tmp_path, source) == [
        '9: h * self.W_pos[0][:, None]: h "pos cfg.d_model" and self.W_pos[0][:, None] '
        '"cfg.d_model 1": pos lines up with cfg.d_model (torch would broadcast silently where '
        "one is 1, and fail otherwise; holds only if pos == cfg.d_model, and nothing here says "
        "they are equal)"
    ]


def test_a_config_size_learned_equal_to_one_dim_is_not_equal_to_another(tmp_path: Path) -> None:
    # `self.proj(x)` identifies cfg.d_model with d: applied to y, it needs d == e.
    source = EMBED.replace(
        '"pos d"]) -> Float[Tensor, "pos d"]', '"pos d"], y: Float[Tensor, "pos e"])'
    ).replace("h + self.W_pos", "self.proj(y)")
    assert check(tmp_path, source) == [
        '9: self.proj(y): last dim is e in y "pos e" but the layer\'s in_features is '
        "cfg.d_model (holds only if cfg.d_model == e, and nothing here says they are equal)"
    ]


POINTS = """\
class Points(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed = nn.Linear(cfg.in_dim, cfg.width)

    def forward(self, xyz: Float[Tensor, "n 3"]) -> Float[Tensor, "n width"]:
        return self.embed({points})
"""


def test_a_config_size_is_identified_by_a_literal_it_must_equal(tmp_path: Path) -> None:
    assert check(tmp_path, POINTS.format(points="xyz")) == []


def test_heads_on_a_matmul_s_batch_axes_against_positions_is_a_finding(tmp_path: Path) -> None:
    # Neither operand is bound to a name: the matmul's batch axes s and cfg.n_heads line up,
    # while the left operand holds both.
    split = "x.view(B, S, self.n_heads, -1)"
    source = ROTATE.replace("h = x.view(B, S, self.n_heads, D // self.n_heads)", "pass").replace(
        "rotate({heads}, positions)", f"{split} @ {split}.permute(0, 2, 3, 1)"
    )
    assert check(tmp_path, source) == [
        f"14: {split} @ {split}.permut...: {split}'s batch \"b s\" and {split}.permut...'s "
        'batch "b cfg.n_heads": s lines up with cfg.n_heads (torch would broadcast silently '
        "where one is 1, and fail otherwise; holds only if s == cfg.n_heads, and nothing here "
        "says they are equal)"
    ]
