"""The static checker on slices whose bounds are sizes, not literals (`x[..., :k]`,
`x[..., k:]`): `x[:k]` along an axis of size n is min(k, n) long. It is n where the scope
knows `n <= k` (the `else` of `if k < n:`, an assert) and k where nothing says which is
less, which the scope then takes as `k <= n`; so a rotary slice put back together
(`x[..., :r]` then `cat` with `x[..., r:]` where `r < n`, or kept whole where not) is no
finding, and a slice of the wrong length still is."""

from pathlib import Path

import pytest

from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn
"""


def check(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True)


ROPE = """\
class Cfg:
    d_model: int
    n_heads: int
    rotary_dim: int


class Attn(nn.Module):
    def __init__(self, cfg: Cfg):
        super().__init__()
        self.head_dim = cfg.d_model // cfg.n_heads
        self.rotary_dim = {rotary}

    def rope(
        self, q: Float[Tensor, "b s head_dim"], cos: Float[Tensor, "s rotary_dim"]
    ) -> Float[Tensor, "b s head_dim"]:
        q_rot = q[..., : self.rotary_dim]
        q_rotated = q_rot * cos
        if self.rotary_dim < self.head_dim:
            out = torch.cat((q_rotated, q[..., {rest}]), dim=-1)
        else:
            out = q_rotated
        return out
"""


@pytest.mark.parametrize(
    "rotary", ["cfg.rotary_dim", "self.head_dim"], ids=["own-size", "the-head-size"]
)
def test_a_rotary_slice_put_back_together_is_no_finding(tmp_path: Path, rotary: str) -> None:
    # Where `rotary_dim < head_dim`, the rest is put back; where not, the slice is all of
    # q's last axis, as long as the head: each path returns "b s head_dim".
    assert check(tmp_path, ROPE.format(rotary=rotary, rest="self.rotary_dim :")) == []


ROPE_FN = """\
def rope(
    q: Float[Tensor, "b s h"], cos: Float[Tensor, "s r"], r: int, h: int
) -> Float[Tensor, "b s h"]:
    q_rot = q[..., :r]
    q_rotated = q_rot * cos
    if {test}:
        out = torch.cat((q_rotated, q[..., {rest}]), dim=-1)
    else:
        out = q_rotated
    return out
"""


def test_a_rotary_slice_of_a_function_put_back_together_is_no_finding(tmp_path: Path) -> None:
    assert check(tmp_path, ROPE_FN.format(test="r < h", rest="r:")) == []


@pytest.mark.parametrize(
    ("test", "rest", "size"),
    [("r < h", ":r", "2*r"), ("r > h", "r:", "r")],
    ids=["the-wrong-part", "the-wrong-guard"],
)
def test_a_rotary_slice_put_back_wrongly_is_a_finding(
    tmp_path: Path, test: str, rest: str, size: str
) -> None:
    # `r > h`: where r < h, the slice is kept as it is, r long.
    assert check(tmp_path, ROPE_FN.format(test=test, rest=rest)) == [
        f'10: return of rope(): dim \'h\' is h in q "b s h" but {size} in out "b s {size}"'
    ]


def test_a_rotary_slice_never_put_back_is_a_finding(tmp_path: Path) -> None:
    source = ROPE.format(rotary="cfg.rotary_dim", rest="self.rotary_dim :").replace(
        "if self.rotary_dim < self.head_dim:", "if self.rotary_dim < 0:"
    )
    # Where rotary_dim < head_dim, `q[..., :rotary_dim]` is not all of the head.
    assert check(tmp_path, source) == [
        "22: return of rope(): dim 'head_dim' is head_dim in q \"b s head_dim\" but "
        'rotary_dim in out "b s rotary_dim"'
    ]


@pytest.mark.parametrize(
    ("body", "ret"),
    [
        ("return torch.cat((x[:, :k], x[:, k:]), dim=1)", "b n"),
        ("return x[:, :seq]", "b seq"),
        ("return x[:, : x.shape[1] + 1]", "b n"),
        ("return x[:, : x.shape[1] - 1]", "b n-1"),
        ("assert seq >= x.shape[1]\n    return x[:, :seq]", "b n"),
        ("if x.shape[1] > seq:\n        raise ValueError\n    return x[:, :seq]", "b n"),
    ],
    ids=["both-halves", "to-a-size", "past-the-end", "one-short", "asserted", "guarded"],
)
def test_slices_of_the_length_they_have_are_no_finding(tmp_path: Path, body: str, ret: str) -> None:
    source = (
        f"def f(x: Float[Tensor, 'b n'], k: int, seq: int) -> Float[Tensor, '{ret}']:\n    {body}\n"
    )
    assert check(tmp_path, source) == []


@pytest.mark.parametrize(
    ("body", "ret", "found"),
    [
        (
            "return torch.cat((x[:, :k], x[:, :k]), dim=1)",
            "b n",
            "2: return of f(): dim 'n' is n in x \"b n\" but 2*k in "
            'torch.cat((x[:, :k], x[:, :k]), dim=1) "b 2*k"',
        ),
        (
            "return x[:, :seq]",
            "b n",
            '2: return of f(): dim \'n\' is n in x "b n" but seq in x[:, :seq] "b seq"',
        ),
        (
            "return x[:, k:]",
            "b n",
            '2: return of f(): dim \'n\' is n in x "b n" but -k+n in x[:, k:] "b -k+n"',
        ),
    ],
    ids=["a-half-twice", "to-a-size-that-may-be-less", "the-rest"],
)
def test_slices_of_another_length_are_a_finding(
    tmp_path: Path, body: str, ret: str, found: str
) -> None:
    source = (
        f"def f(x: Float[Tensor, 'b n'], k: int, seq: int) -> Float[Tensor, '{ret}']:\n    {body}\n"
    )
    assert check(tmp_path, source) == [found]


HALVES = """\
def f(x: Float[Tensor, "b d"], cos: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
    n = x.shape[-1] // 2
{body}
"""


@pytest.mark.parametrize(
    "body",
    [
        "    return torch.cat((-x[..., n:], x[..., :n]), dim=-1)",
        "    out = x.clone()\n    out[..., :n] = -x[..., n:]\n    out[..., n:] = x[..., :n]\n"
        "    return out",
        "    return torch.cat((x[..., :n] * x[..., n:], x[..., n:]), dim=-1)",
    ],
    ids=["rotate-half", "rotate-half-in-place", "halves-together"],
)
def test_the_halves_of_an_axis_split_at_its_middle_are_as_long(tmp_path: Path, body: str) -> None:
    # Code that splits an axis at `d // 2` means it to be even: the halves are as long,
    # and put back together they are the axis again.
    assert check(tmp_path, HALVES.format(body=body)) == []


def test_a_half_of_an_axis_where_the_whole_is_meant_is_a_finding(tmp_path: Path) -> None:
    assert check(tmp_path, HALVES.format(body="    return x[..., n:] * cos")) == [
        '3: x[..., n:] * cos: x[..., n:] "b d//2" and cos "b d": d//2 lines up with d '
        "(torch would broadcast silently where one is 1, and fail otherwise)"
    ]


POSITIONS = """\
class Positions(nn.Module):
    def __init__(self, max_len: int, d: int):
        super().__init__()
        self.register_buffer("pe", torch.zeros(1, max_len, d))

    def forward(self, x: Float[Tensor, "b s d"]) -> Float[Tensor, "b s d"]:
        return x + self.pe[:, : x.size({axis})]
"""


def test_a_table_sliced_to_the_length_of_the_input_is_no_finding(tmp_path: Path) -> None:
    assert check(tmp_path, POSITIONS.format(axis=1)) == []


def test_a_table_sliced_to_the_length_of_another_axis_is_a_finding(tmp_path: Path) -> None:
    assert check(tmp_path, POSITIONS.format(axis=0)) == [
        '7: x + self.pe[:, : x.size(0)]: x "b s d" and self.pe[:, : x.size(0)] "1 b d": '
        "s lines up with b (torch would broadcast silently where one is 1, and fail "
        "otherwise)"
    ]


def test_a_literal_slice_of_a_named_axis_takes_that_many(tmp_path: Path) -> None:
    """`x[..., :3]` of an axis "d" is 3 long, as code that slices to 3 means to take 3: a
    product with it then needs 3 rows, and `x[..., 1:3]` is 2 long."""
    right = (
        "def f(x: Float[Tensor, 'n d'], w: Float[Tensor, '3 k']) -> Float[Tensor, 'n 2']:\n"
        "    y = x[..., :3] @ w\n"
        "    return x[:, 1:3]\n"
    )
    assert check(tmp_path, right) == []
    wrong = (
        "def f(x: Float[Tensor, 'n d'], v: Float[Tensor, 'd q']) -> Float[Tensor, 'n 3']:\n"
        "    return x @ v[..., :3].transpose(0, 1)\n"
    )
    assert check(tmp_path, wrong) == [
        '2: x @ v[..., :3].transpose(0, 1): inner dim is d in x "n d" but 3 in '
        'v[..., :3].transpose(0, 1) "3 d"; did you mean v[..., :3].transpose(0, 1).mT?'
    ]


def test_a_literal_slice_of_an_axis_known_shorter_is_left_unknown(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'n d'], w: Float[Tensor, 'd k']) -> None:\n"
        "    assert x.shape[1] <= 3\n"
        "    y = x[..., :3] @ w\n"
    )
    assert check(tmp_path, source) == []


def test_the_count_of_a_vector_is_its_length(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'n'], y: Float[Tensor, 'm']) -> Float[Tensor, 'm']:\n"
        "    k = x.numel()\n"
        "    return y.new_zeros(k)\n"
    )
    assert check(tmp_path, source) == [
        '3: return of f(): dim \'m\' is m in y "m" but n in y.new_zeros(k) "n"'
    ]


def test_a_literal_slice_of_one_element_is_one_long(tmp_path: Path) -> None:
    right = "def f(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n 1']:\n    return x[:, 3:4]\n"
    assert check(tmp_path, right) == []
    wrong = "def f(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n 2']:\n    return x[:, 3:4]\n"
    assert check(tmp_path, wrong) == [
        '2: return of f(): dim \'2\' is 1 in x[:, 3:4] "n 1", expected 2 ("n 2")'
    ]
