"""A function without a tensor return annotation whose body gives nothing under its own
annotations is read again with every shape its call gives, annotated parameters too
(`scale_tensor(dat: "... D", inp_scale: ValidScale, ...)`), with the tuples of numbers the
call gives, and with `p is None` decided for a parameter that holds the caller's tensor;
`Fn.apply(...)` of a `torch.autograd.Function` is its static `forward(ctx, ...)`."""

from pathlib import Path

from shapesafe._static import Run, check_file
from shapesafe.shapes import shapes_of

SOURCE = """\
from typing import Tuple, Union

import torch
from jaxtyping import Float
from torch import Tensor

Scale = Union[Tuple[float, float], Float[Tensor, "2 D"]]


def rescale(dat: Float[Tensor, "... D"], inp: Scale, tgt: Scale):
    if inp is None:
        inp = (0, 1)
    if tgt is None:
        tgt = (0, 1)
    dat = (dat - inp[0]) / (inp[1] - inp[0])
    return dat * (tgt[1] - tgt[0]) + tgt[0]


def project(x: Float[Tensor, "n d"], w):
    return x @ w


class Step(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, threshold):
        ctx.save_for_backward(x, threshold)
        return (x > threshold).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def bad_rescale(x: Float[Tensor, "n 3"], box: Float[Tensor, "2 3"]) -> Float[Tensor, "n"]:
    return rescale(x, box, (0, 1))


def bad_project(x: Float[Tensor, "n d"], w: Float[Tensor, "d e"]) -> Float[Tensor, "n d"]:
    return project(x, w)


def bad_step(x: Float[Tensor, "b d"], t: Float[Tensor, "d"]) -> Float[Tensor, "b"]:
    return Step.apply(x, t)


def good(
    x: Float[Tensor, "n 3"],
    box: Float[Tensor, "2 3"],
    w: Float[Tensor, "3 e"],
    t: Float[Tensor, "3"],
) -> Float[Tensor, "n e"]:
    y = rescale(x, box, (0, 1)) + Step.apply(x, t)
    z = project(y, w)
    return z
"""


def test_bodies_read_with_every_shape_the_call_gives(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (
            35,
            """return of bad_rescale(): rescale(x, box, (0, 1)) "n 3" has 2 dims, """
            """expected 1 for 'return' "n\"""",
        ),
        (39, """return of bad_project(): dim 'd' is d in x "n d" but e in project(x, w) "n e\""""),
        (
            43,
            """return of bad_step(): Step.apply(x, t) "b d" has 2 dims, """
            """expected 1 for 'return' "b\"""",
        ),
    ]


def test_right_code_takes_the_shapes_read(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(SOURCE)
    shapes = {b.name: b.shape for b in shapes_of(path)}
    assert (shapes["y"], shapes["z"]) == (("n", "3"), ("n", "e"))


UNION = """\
from typing import Union

import numpy as np
import torch
from jaxtyping import Float
from numpy import ndarray
from torch import Tensor


def normalize(v: Union[Float[ndarray, "..."], Float[Tensor, "..."]]):
    if isinstance(v, torch.Tensor):
        return v / (torch.norm(v, dim=-1, keepdim=True) + 1e-10)
    return v / (np.linalg.norm(v, axis=-1, keepdims=True) + 1e-10)


def look_at(center: Float[Tensor, "1 3"], gl: bool) -> Float[Tensor, "3 4"]:
    up = torch.FloatTensor([0, 0, -1]).unsqueeze(0)
    if gl:
        forward = normalize(center)
        right = normalize(torch.cross(forward, up, dim=-1))
    else:
        forward = -normalize(center)
        right = normalize(torch.cross(up, forward, dim=-1))
    pose = torch.zeros((3, 4))
    pose[:3, :3] = torch.stack((right, up, forward), dim=-1)
    return pose


def wrong(center: Float[Tensor, "1 3"]) -> Float[Tensor, "3"]:
    return normalize(center)
"""


def test_a_tensor_given_decides_isinstance_and_ones_merge(tmp_path: Path) -> None:
    # The caller gives a tensor: the numpy path never runs. A literal 1 on one path and a
    # 1 an op made on the other are one size where the paths join.
    path = tmp_path / "m.py"
    path.write_text(UNION)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (
            30,
            """return of wrong(): normalize(center) "1 3" has 2 dims, """
            """expected 1 for 'return' "3\"""",
        )
    ]


UNION_INT = """\
import torch
from jaxtyping import Float
from torch import Tensor


def total(value: Tensor, dim: int | tuple[int, ...]) -> Tensor:
    return value.sum(dim=dim)


def bad(x: Float[Tensor, "b n d"]) -> Float[Tensor, "b n"]:
    return total(x, dim=(1,))


def good(x: Float[Tensor, "b n d"]) -> Float[Tensor, "b n"]:
    return total(x, -1)
"""


def test_an_int_or_tuple_parameter_takes_the_callers_dims(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(UNION_INT)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (11, """return of bad(): dim 'n' is n in x "b n d" but d in total(x, dim=(1,)) "b d\"""")
    ]


UNKNOWN_DIM = """\
import torch
from jaxtyping import Float
from torch import Tensor


def by(x: Float[Tensor, "b n"], d) -> Float[Tensor, "b"]:
    return x.sum(dim=d) + torch.sum(x, d)


def every(x: Float[Tensor, "b n"]) -> Float[Tensor, "b"]:
    return x.sum(dim=None)
"""


def test_a_reduction_over_an_unknown_dim_is_not_over_every_dim(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(UNKNOWN_DIM)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (
            11,
            """return of every(): x.sum(dim=None) "" has 0 dims, expected 1 for 'return' "b\"""",
        )
    ]


METHODS = """\
import torch
from jaxtyping import Float
from torch import Tensor


class Enc(torch.nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.lin = torch.nn.Linear(d, 2 * d)

    def encode(self, x):
        return self.lin(x)


def bad(enc: Enc, x: Float[Tensor, "b d"]) -> Float[Tensor, "b"]:
    return enc.encode(x)


def good(enc: Enc, x: Float[Tensor, "b d"]) -> Float[Tensor, "b e"]:
    return enc.encode(x)


def h1(x):
    return h2(x) * 2


def h2(x):
    return h3(x) + 1


def h3(x):
    return h4(x)


def h4(x):
    return h5(x)


def h5(x):
    return h6(x)


def h6(x):
    return x.sum(-1)


def deep(x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
    return h1(x)
"""


def test_a_method_reached_through_a_typed_parameter_and_a_chain_of_helpers(
    tmp_path: Path,
) -> None:
    # Under its own annotations `encode` gives `... 2*d` (x is unannotated): read again with
    # the call's `b d`, its rank is known. Six unannotated helpers deep, the body is read.
    path = tmp_path / "m.py"
    path.write_text(METHODS)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (
            16,
            """return of bad(): enc.encode(x) "b ?" has 2 dims, expected 1 for 'return' "b" """
            "(? is an unknown size)",
        ),
        (48, """return of deep(): h1(x) "b" has 1 dims, expected 2 for 'return' "b d\""""),
    ]


KEEPDIM = """\
import torch
from jaxtyping import Bool, Float
from torch import Tensor


def masked_mean(mask: Bool[Tensor, "..."], value: Tensor, dim: int, keepdim=False) -> Tensor:
    mask = mask.expand(*value.shape)
    num = torch.sum(mask * value, dim=dim, keepdim=keepdim)
    return num / torch.sum(mask, dim=dim, keepdim=keepdim).clamp(min=1)


def bad(x: Float[Tensor, "b n"], m: Bool[Tensor, "b n"]) -> Float[Tensor, "b"]:
    return masked_mean(m, x, dim=-1, keepdim=True)


def good(x: Float[Tensor, "b n"], m: Bool[Tensor, "b n"]) -> Float[Tensor, "b"]:
    return masked_mean(m, x, -1)
"""


def test_a_constant_the_call_gives_is_read_where_the_body_passes_it_on(tmp_path: Path) -> None:
    # `keepdim=keepdim`: the call's True (or the default False), never rebound, read as
    # written where a rule reads it.
    path = tmp_path / "m.py"
    path.write_text(KEEPDIM)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (
            13,
            """return of bad(): masked_mean(m, x, dim=-1, keepdim=True) "b 1" has 2 dims, """
            """expected 1 for 'return' "b\"""",
        )
    ]


NESTED = """\
import torch
from jaxtyping import Float
from torch import Tensor


def bad(x: Float[Tensor, "b 3"]) -> Float[Tensor, "b"]:
    def contract(v):
        mag = v.norm(dim=-1, keepdim=True)
        return torch.where(mag < 1, v, (2 - (1 / mag)) * (v / mag))

    return contract(x)


def good(x: Float[Tensor, "b 3"]) -> Float[Tensor, "b 3"]:
    def contract(v):
        mag = v.norm(dim=-1, keepdim=True)
        return torch.where(mag < 1, v, (2 - (1 / mag)) * (v / mag))

    return contract(x)


def rebound(x: Float[Tensor, "b 3"], c: bool) -> Float[Tensor, "b"]:
    def f(v):
        return v

    if c:
        f = torch.sum
    return f(x)
"""


def test_a_call_of_a_nested_function_reads_its_body(tmp_path: Path) -> None:
    # A name that the body binds again may hold something else: its calls stay unknown.
    path = tmp_path / "m.py"
    path.write_text(NESTED)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (11, """return of bad(): contract(x) "b 3" has 2 dims, expected 1 for 'return' "b\"""")
    ]


SETUP_CONTEXT = """\
from typing import Any

import torch
from jaxtyping import Float
from torch import Tensor


class Gate(torch.autograd.Function):
    @staticmethod
    def forward(x: Tensor, threshold: Tensor) -> Tensor:
        return x * (x > threshold)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Tensor, Tensor], output: Tensor) -> None:
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


def gated(x: Float[Tensor, "b d"], t: Float[Tensor, "d"]) -> Float[Tensor, "b"]:
    return Gate.apply(x, t)
"""


def test_a_function_with_setup_context_takes_no_ctx_in_forward(tmp_path: Path) -> None:
    # With `setup_context`, `Gate.apply(x, t)` runs `Gate.forward(x, t)`: no ctx first.
    path = tmp_path / "m.py"
    path.write_text(SETUP_CONTEXT)
    found = [(f.line, f.message) for f in check_file(path, run=Run())]
    assert found == [
        (
            23,
            """return of gated(): Gate.apply(x, t) "b d" has 2 dims, """
            """expected 1 for 'return' "b\"""",
        )
    ]
