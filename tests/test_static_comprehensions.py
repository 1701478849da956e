"""Static checking of comprehensions that torch.stack/torch.cat read: over a literal list of
ints or of index tensors of different shapes, and index tensors whose kind (int) the code
shows through shape-only methods."""

from pathlib import Path

from tests.helpers import static_findings

HEADER = """\
import torch
from jaxtyping import Float, Int
from torch import Tensor
"""


def check_source(tmp_path: Path, source: str) -> list[str]:
    return static_findings(tmp_path, source, HEADER)


PICK = """
def pick(x: Int[Tensor, "b n"], a: int, b: int, c: int) -> Int[Tensor, "b 3"]:
    return torch.stack([x[:, i] for i in [a, b, c]], dim={dim})
"""


def test_a_comprehension_over_ints_stacks_its_items(tmp_path: Path) -> None:
    assert check_source(tmp_path, PICK.format(dim=-1)) == []
    found = check_source(tmp_path, PICK.format(dim=0))
    assert len(found) == 1
    assert "return of pick(): dim 'b' is b in x \"b n\" but 3 in torch.stack(" in found[0]
    assert '"3 b" (holds only if b == 3' in found[0]


GATHER = """
def gather(
    x: Int[Tensor, "b n"], d: Float[Tensor, "b n n"], a: Int[Tensor, "b n"], c: Int[Tensor, "b n"]
) -> Int[Tensor, "b n 3"]:
    B, tokens = d.shape[:2]
    mid = torch.arange(tokens).unsqueeze(0)
    rows = torch.arange(B)[..., None]
    return torch.stack([x[rows, i] for i in [a, mid, c]], dim={dim})
"""


def test_a_comprehension_over_index_tensors_of_different_shapes(tmp_path: Path) -> None:
    # a, c are "b n" and mid "1 n": each x[rows, i] is "b n", read one item at a time.
    assert check_source(tmp_path, GATHER.format(dim=-1)) == []
    found = check_source(tmp_path, GATHER.format(dim=-2))
    assert len(found) == 1
    assert "return of gather(): dim 'n' is n in x \"b n\" but 3 in torch.stack(" in found[0]
    assert '"b 3 n" (holds only if n == 3' in found[0]


def test_an_index_stays_int_through_shape_only_methods(tmp_path: Path) -> None:
    source = """
def take(x: Float[Tensor, "b n"], d: Float[Tensor, "b n"]) -> Float[Tensor, "b"]:
    B, n = d.shape
    cols = torch.arange(n).unsqueeze(0)
    rows = torch.arange(B).unsqueeze(-1)
    return x[rows, cols]
"""
    found = check_source(tmp_path, source)
    assert found == [
        '9: return of take(): x[rows, cols] "b n" has 2 dims, expected 1 for \'return\' "b"'
    ]


def test_an_index_stays_int_through_arithmetic(tmp_path: Path) -> None:
    # `ids * 2 + 1` is an int tensor still; `m * 1` of a mask is ints too, but nothing here
    # says whether m holds booleans or ints, so it is no index the checker reads.
    source = """
def pairs(x: Float[Tensor, "n d"], ids: Int[Tensor, " k"]) -> Float[Tensor, "k d"]:
    return x[ids * 2] + x[ids * 2 + 1]
def wrong(x: Float[Tensor, "n d"], ids: Int[Tensor, " k"]) -> Float[Tensor, "n d"]:
    return x[ids * 2 + 1]
def unknown(x: Float[Tensor, "n d"], m: Tensor) -> Float[Tensor, "n d"]:
    return x[m * 1]
"""
    assert check_source(tmp_path, source) == [
        '8: return of wrong(): dim \'n\' is n in x "n d" but k in x[ids * 2 + 1] "k d"'
    ]


def test_a_comprehension_over_a_list_variable_is_not_unrolled(tmp_path: Path) -> None:
    # A list that code may grow is read as one item, not item by item.
    source = """
def grow(x: Float[Tensor, "b n"], ys: list[Float[Tensor, "b n"]]) -> Float[Tensor, "b n"]:
    return torch.cat([y for y in ys], dim=0)
"""
    assert check_source(tmp_path, source) == []


MASKED = """
from einops import repeat
from jaxtyping import Bool


def fill(idx: Int[Tensor, "b n 3"], m: Bool[Tensor, "b n"], other: Bool[Tensor, "b n"]):
    mask = repeat(m, "{pattern}")
    idx[mask] = 0
    keep = ~m & other
    return idx[keep]
"""


def test_a_mask_stays_a_mask_through_einops_invert_and_and(tmp_path: Path) -> None:
    assert check_source(tmp_path, MASKED.format(pattern="b n -> b n 3")) == []
    found = check_source(tmp_path, MASKED.format(pattern="b n -> n b 3"))
    assert found == [
        '11: idx[mask]: mask mask "n b 3" has n at its axis 0 but the axis of idx it picks from is b'
    ]


NEAREST = """
def nearest(x: Int[Tensor, "b n"], d: Float[Tensor, "b n n"]) -> Int[Tensor, "b n 3"]:
    B, tokens = d.shape[:2]
    _, ids = torch.topk(d, 2, dim=-1, largest=False)
    a, c = ids.unbind(-1)
    mid = torch.arange(tokens).unsqueeze(0)
    rows = torch.arange(B)[..., None]
    return torch.stack([x[rows, i] for i in [a, mid, c]], dim={dim})
"""


def test_the_indices_of_topk_index_as_ints_after_unbind(tmp_path: Path) -> None:
    # `ids` is the second of topk's (values, indices); `x.unbind(-1)` splits its last axis.
    assert check_source(tmp_path, NEAREST.format(dim=-1)) == []
    found = check_source(tmp_path, NEAREST.format(dim=-2))
    assert len(found) == 1
    assert "return of nearest(): dim 'n' is n in x \"b n\" but 3 in torch.stack(" in found[0]


def test_the_values_of_topk_are_not_an_index(tmp_path: Path) -> None:
    source = """
def pick(x: Float[Tensor, "b n"], d: Float[Tensor, "b n"]) -> Float[Tensor, "b 2"]:
    vals, _ = torch.topk(d, 2, dim=-1)
    return x[vals]
"""
    assert check_source(tmp_path, source) == []


FRAMES = """
from einops import repeat
from jaxtyping import Bool


def frames(x: Float[Tensor, "b n"]) -> tuple[Int[Tensor, "b n 3"], Bool[Tensor, "b n"]]:
    return torch.zeros_like(x).long()[..., None].expand(-1, -1, 3), x > 0


def merged(x: Float[Tensor, "b n"], ids: Int[Tensor, "b n 3"]) -> Int[Tensor, "b n 3"]:
    idces, ok = frames(x)
    mask = repeat(ok, "{pattern}")
    ids[mask] = idces[mask]
    return ids
"""


def test_a_mask_returned_by_an_annotated_function_is_a_mask(tmp_path: Path) -> None:
    # `ok` is the `Bool[...]` item of `frames`' annotated return.
    assert check_source(tmp_path, FRAMES.format(pattern="b n -> b n 3")) == []
    found = check_source(tmp_path, FRAMES.format(pattern="b n -> n b 3"))
    assert found == [
        '16: ids[mask]: mask mask "n b 3" has n at its axis 0 but the axis of ids it picks from is b',
        '16: idces[mask]: mask mask "n b 3" has n at its axis 0 but the axis of idces it picks from is b',
    ]


def test_a_comprehension_over_a_range_stacks_that_many_items(tmp_path: Path) -> None:
    source = """
def columns(x: Float[Tensor, "n d"]) -> Float[Tensor, "n 3"]:
    return torch.stack([x[:, i] for i in range(3)], dim={dim})
"""
    assert check_source(tmp_path, source.format(dim=-1)) == []
    found = check_source(tmp_path, source.format(dim=0))
    assert len(found) == 1
    assert "return of columns(): dim 'n' is n in x \"n d\" but 3 in torch.stack(" in found[0]


def test_a_stack_of_items_whose_leading_runs_differ(tmp_path: Path) -> None:
    # `x[rows, a]` is "... ? n" (a's "..." is a run of its own), `x[rows, mid]` is "? ?":
    # torch takes only equal shapes, so the stack's last axes are known all the same.
    source = """
def triple(x: Int[Tensor, "b n"], a: Int[Tensor, "... n"]) -> Int[Tensor, "b n 3"]:
    B, tokens = x.shape
    mid = torch.arange(tokens).unsqueeze(0)
    rows = torch.arange(B)[..., None]
    return torch.stack([x[rows, i] for i in [a, mid, a]], dim={dim})
"""
    assert check_source(tmp_path, source.format(dim=-1)) == []
    found = check_source(tmp_path, source.format(dim=-2))
    assert len(found) == 1
    assert "return of triple(): dim '3' is n in torch.stack(" in found[0]
    assert '"... b 3 n", expected 3 ("b n 3")' in found[0]
