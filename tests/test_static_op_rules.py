"""Static shape rules of take_along_dim, of gather and scatter, of stft and istft, of pools whose window is not given as ints, of
`x.expand(*y.shape[:-1], -1)` and of `torch.cat` after runs that differ: their shapes, against torch's own where torch can run them,
and the calls that must not be findings."""

import tempfile
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe.shapes import shapes_of
from tests.helpers import static_findings
from tests.test_static_rules import HEADER, agree, check_source, static_shape, torch_shape


@settings(max_examples=40, deadline=None)
@given(
    dims=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    index=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    dim=st.integers(-3, 2),
    method=st.booleans(),
)
def test_take_along_dim_agrees_with_torch(
    dims: list[int], index: list[int], dim: int, method: bool
) -> None:
    x = torch.randn(dims)
    ids = torch.zeros(index, dtype=torch.long)
    expr = (
        "x.take_along_dim(g.long(), dim={d})"
        if method
        else "torch.take_along_dim(x, g.long(), {d})"
    )
    agree(
        static_shape(dims, expr.format(d=dim), other=index),
        torch_shape(lambda: torch.take_along_dim(x, ids, dim)),
    )


def test_take_along_dim_shapes() -> None:
    assert static_shape(
        [2, 3, 4], "torch.take_along_dim(x, g.long(), dim=-1)", other=[2, 3, 5]
    ) == (
        "2",
        "3",
        "5",
    )
    assert static_shape([2, 1, 4], "torch.take_along_dim(x, g.long(), -1)", other=[2, 3, 5]) == (
        "2",
        "3",
        "5",
    )
    # Without a dim: one value for each index, of the flattened x: a size unknown here.
    assert static_shape([2, 3], "torch.take_along_dim(x, g.long())", other=[4]) is None


def test_take_along_dim_findings(tmp_path: Path) -> None:
    ok = (
        "def f(x: Float[Tensor, 'n k'], ids: Float[Tensor, 'n j'], y: Float[Tensor, 'n 1']):\n"
        "    a = torch.take_along_dim(x, ids.long(), dim=-1)\n"
        "    b = torch.take_along_dim(y, ids.long(), dim=1)\n"
        "    return a + b\n"
    )
    assert check_source(tmp_path, ok) == []
    bad = (
        "def f(x: Float[Tensor, 'n k'], ids: Float[Tensor, 'm j']):\n"
        "    return torch.take_along_dim(x, ids.long(), dim=-1)\n"
    )
    found = check_source(tmp_path, bad)
    assert len(found) == 1
    assert found[0].startswith("6: take_along_dim: ")
    assert "n" in found[0] and "m" in found[0]


@settings(max_examples=40, deadline=None)
@given(
    dims=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    index=st.lists(st.integers(1, 1), min_size=1, max_size=3),
    op=st.sampled_from(["gather", "scatter", "scatter_add"]),
)
def test_gather_and_scatter_agree_with_torch(dims: list[int], index: list[int], op: str) -> None:
    """Where the checker gives a shape, torch does too; where it reports the index's number
    of dims, torch raises."""
    x = torch.randn(dims)
    ids = torch.zeros(index, dtype=torch.long)
    src = "x" if op == "gather" else "g.long().float()"
    expr = f"x.{op}(0, g.long())" if op == "gather" else f"x.{op}(0, g.long(), {src})"
    real = torch_shape(
        lambda: x.gather(0, ids) if op == "gather" else getattr(x, op)(0, ids, ids.float())
    )
    agree(static_shape(dims, expr, other=index), real)
    params = f'x: Float[Tensor, "{" ".join(map(str, dims))}"], '
    params += f'g: Float[Tensor, "{" ".join(map(str, index))}"]'
    with tempfile.TemporaryDirectory() as tmp:
        found = check_source(Path(tmp), f"def f({params}):\n    y = {expr}\n")
    if found:
        assert real is None, found


@settings(max_examples=40, deadline=None)
@given(
    dims=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    call=st.sampled_from(
        [
            "x.view(*x.shape[:-1], -1)",
            "x.view(*x.shape[:-2], -1)",
            "x.reshape((*x.shape[:-2], -1))",
            "x.reshape(*x.shape[:-2], -1, 2)",
            "x.reshape(*x.shape[:1], -1)",
        ]
    ),
)
def test_a_minus_one_after_spliced_sizes_agrees_with_torch(dims: list[int], call: str) -> None:
    x = torch.randn(dims)
    agree(static_shape(dims, call), torch_shape(lambda: eval(call, {"x": x})))


@settings(max_examples=20, deadline=None)
@given(
    dims=st.lists(st.integers(16, 40), min_size=1, max_size=2),
    complex_=st.booleans(),
)
def test_stft_and_istft_agree_with_torch(dims: list[int], complex_: bool) -> None:
    """The ranks, and the sizes given: the batch, the 2 of real parts, istft's length."""
    x = torch.randn(dims)
    window = "window=torch.hann_window(8)"
    made = f"torch.stft(x, 8, hop_length=4, {window}, return_complex={complex_})"
    spec = torch_shape(lambda: eval(made, {"torch": torch, "x": x}))
    rule = _shape_with_unknowns(dims, made)
    assert spec is not None and rule is not None and len(rule) == len(spec)
    assert all(r == s for r, s in zip(rule, spec, strict=True) if not r.startswith("?"))
    if complex_:
        back = f"torch.istft({made}, 8, hop_length=4, {window}, length=x.shape[-1])"
        assert static_shape(dims, back) == torch_shape(lambda: eval(back, {"torch": torch, "x": x}))


def _shape_with_unknowns(dims: list[int], expr: str) -> tuple[str, ...] | None:
    params = f'x: Float[Tensor, "{" ".join(map(str, dims))}"]'
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rule.py"
        path.write_text(f"{HEADER}\n\ndef f({params}):\n    y = {expr}\n")
        found = [b for b in shapes_of(path) if b.name == "y"]
    return found[0].shape if found else None


def test_a_signal_back_from_istft_keeps_its_rank(tmp_path: Path) -> None:
    source = (
        "def f(w: Float[Tensor, ' n']) -> Float[Tensor, ' m']:\n"
        "    s = torch.stft(w, 512, return_complex=True)\n"
        "    back = torch.istft(s, 512, length=w.shape[0])\n"
        "    return torch.cat([back, back], dim={d})\n"
    )
    assert check_source(tmp_path, source.format(d=0)) == []
    assert check_source(tmp_path, source.format(d=1)) == [
        '8: cat: dim 1 is out of range for [back, back] "n", which has 1 dim (torch raises '
        "IndexError)"
    ]


@settings(max_examples=60, deadline=None)
@given(
    dims=st.lists(st.integers(1, 3), min_size=2, max_size=3),
    index=st.lists(st.integers(1, 3), min_size=2, max_size=3),
    dim=st.integers(-1, 1),
)
def test_gather_of_a_longer_index_agrees_with_torch(
    dims: list[int], index: list[int], dim: int
) -> None:
    """A gather the checker reports (an index longer than the input along another dim)
    is one torch raises on."""
    x, ids = torch.randn(dims), torch.zeros(index, dtype=torch.long)
    params = f'x: Float[Tensor, "{" ".join(map(str, dims))}"], '
    params += f'g: Float[Tensor, "{" ".join(map(str, index))}"]'
    with tempfile.TemporaryDirectory() as tmp:
        found = check_source(Path(tmp), f"def f({params}):\n    y = x.gather({dim}, g.long())\n")
    if found:
        assert torch_shape(lambda: x.gather(dim, ids)) is None, found


def test_a_gather_index_longer_than_the_input_is_a_finding(tmp_path: Path) -> None:
    source = (
        "def f(lp: Float[Tensor, 'b p v'], t: Float[Tensor, 'b p']) -> None:\n"
        "    ok = lp[:, :-1].gather(-1, t[:, 1:].long().unsqueeze(-1))\n"
        "    bad = lp[:, :-2].gather(-1, t[:, 1:].long().unsqueeze(-1))\n"
    )
    assert check_source(tmp_path, source) == [
        '7: gather: index t[:, 1:].long().unsqueeze(-1) "b p-1 1" is p-1 long at dim 1 but '
        'lp[:, :-2] "b p-2 v" only p-2 (torch raises RuntimeError: the index may be no longer '
        "than the input but along dim -1)"
    ]


def test_gather_and_scatter_findings(tmp_path: Path) -> None:
    ok = (
        "def f(logits: Float[Tensor, 'b v'], ids: Float[Tensor, 'b k']):\n"
        "    probs = torch.zeros_like(logits)\n"
        "    probs.scatter_(1, logits.argmax(dim=-1, keepdim=True), 1.0)\n"
        "    return probs + torch.gather(logits, 1, ids.long()).sum(-1, keepdim=True)\n"
    )
    assert check_source(tmp_path, ok) == []
    bad = (
        "def f(logits: Float[Tensor, 'b v']):\n"
        "    probs = torch.zeros_like(logits)\n"
        "    probs.scatter_(1, logits.argmax(dim=-1), 1.0)\n"
        "def g(logits: Float[Tensor, 'b v'], ids: Float[Tensor, 'b']):\n"
        "    return torch.gather(logits, 1, ids.long())\n"
    )
    assert check_source(tmp_path, bad) == [
        '7: scatter_: index logits.argmax(dim=-1) "b" has 1 dims but probs "b v" has 2 (torch '
        "raises RuntimeError: they must have the same number of dims)",
        '9: gather: index ids.long() "b" has 1 dims but logits "b v" has 2 (torch raises '
        "RuntimeError: they must have the same number of dims)",
    ]


@settings(max_examples=30, deadline=None)
@given(
    dims=st.lists(st.integers(2, 6), min_size=2, max_size=2),
    kernel=st.sampled_from([1, 3, 5]),
)
def test_pool_of_a_window_not_given_as_ints(dims: list[int], kernel: int) -> None:
    # `F.max_pool2d(x, k, stride=1, padding=(k - 1) // 2)`: where the rule tells sizes, they
    # are torch's.
    real = torch_shape(
        lambda: F.max_pool2d(torch.empty(2, 3, *dims), kernel, stride=1, padding=(kernel - 1) // 2)
    )
    expr = "F.max_pool2d(x, kernel_size=k, stride=1, padding=(k - 1) // 2)"
    agree(static_shape([2, 3, *dims], expr, "k = len(g)", other=[kernel]), real)
    agree(static_shape([2, 3, *dims], expr, f"k = {kernel}"), real)


def test_pool_of_a_window_not_given_as_ints_keeps_batch_and_channels(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'b c h w'], k: int) -> Float[Tensor, 'b c h2 w2']:\n"
        "    return F.max_pool2d(x, kernel_size=k, stride=1, padding=(k - 1) // 2)\n"
        "def g(x: Float[Tensor, 'b c h w'], k: int) -> Float[Tensor, 'b c']:\n"
        "    return F.max_pool2d(x, kernel_size=k, stride=1, padding=(k - 1) // 2)\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("8: "), found
    # A padding over half the window is still refused by torch: no shape, no finding.
    assert (
        check_source(
            tmp_path,
            "def f(x: Float[Tensor, 'b c h w']) -> Float[Tensor, 'b c']:\n"
            "    return F.max_pool2d(x, 3, stride=1, padding=2)\n",
        )
        == []
    )


def test_expand_keeps_the_axis_of_a_minus_one() -> None:
    assert static_shape([2, 1, 1, 5], "x.expand(*g.shape[:-1], -1)", other=[2, 3, 4, 7]) == (
        "2",
        "3",
        "4",
        "5",
    )
    assert static_shape(
        [2, 1, 1, 5],
        "torch.rand(x.shape[0], 1, 1, 6).expand(*g.shape[:-1], -1)",
        other=[2, 3, 4, 7],
    ) == ("2", "3", "4", "6")
    assert static_shape([2, 1, 1, 5], "x.expand(*g.shape[:-2], -1, -1)", other=[2, 3, 4, 7]) == (
        "2",
        "3",
        "1",
        "5",
    )
    # A -1 before a spliced part: its axis is not known to be x's, a size unknown.
    assert static_shape([2, 1, 1, 5], "x.expand(-1, *g.shape[1:])", other=[2, 3, 4, 5]) is None


def test_expand_of_a_minus_one_is_no_finding(tmp_path: Path) -> None:
    source = (
        "def f(d: Float[Tensor, 'b h w 3'], q: Float[Tensor, 'b 1 1 n']) -> Float[Tensor, 'b h w n']:\n"
        "    return q.expand(*d.shape[:-1], -1)\n"
        "def g(d: Float[Tensor, 'b h w 3'], q: Float[Tensor, 'b 1 1 n']) -> Float[Tensor, 'b h w 3']:\n"
        "    return q.expand(*d.shape[:-1], -1)\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("8: "), found
    real = torch.empty(2, 1, 1, 5).expand(*torch.empty(2, 3, 4, 3).shape[:-1], -1)
    assert tuple(real.shape) == (2, 3, 4, 5)


def static_shapes(params: str, body: str) -> dict[str, tuple[str, ...] | None]:
    """The shapes the checker gives the names bound in `body`, a function of `params`."""
    source = f"{HEADER}\n\ndef f({params}):\n" + "".join(
        f"    {line}\n" for line in body.splitlines()
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rule.py"
        path.write_text(source)
        return {b.name: b.shape for b in shapes_of(path)}


def test_cat_along_an_axis_after_runs_that_differ() -> None:
    params = (
        "a: Float[Tensor, '... 3'], b: Float[Tensor, '... 4'], c: Float[Tensor, '*bs 5'], "
        "d: Float[Tensor, 'n 6'], e: Float[Tensor, '*bs k 7'], g: Float[Tensor, '... k 2'], "
        "h: Float[Tensor, '... j 2']"
    )
    body = (
        "x1 = torch.cat([a, b], dim=-1)\n"
        "x2 = torch.cat([a, b, c, d], dim=-1)\n"
        "x3 = torch.cat([e, g], -1)\n"
        "x4 = torch.cat([e, a], dim=-2)\n"
        "x5 = torch.cat([g, h], dim=-2)\n"
        "x6 = torch.cat([c, e], dim=-1)\n"
    )
    got = static_shapes(params, body)
    assert got["x1"] == ("...", "7")
    assert got["x2"] == ("...", "18")
    assert got["x3"] == ("...", "k", "9")
    assert got["x4"] is None  # a's axis -2 is in its run
    assert got["x5"] == ("...", "j+k", "2")
    assert got["x6"] is None  # one run *bs and ranks that differ: torch refuses


@settings(max_examples=40, deadline=None)
@given(
    lead=st.lists(st.lists(st.integers(1, 2), max_size=2), min_size=2, max_size=3),
    last=st.lists(st.integers(1, 3), min_size=3, max_size=3),
)
def test_cat_after_runs_agrees_with_torch(lead: list[list[int]], last: list[int]) -> None:
    # Each tensor's leading axes are a run the checker can't size: where it gives a shape,
    # torch's cat gives the same axes after the run, and fails where the checker reports.
    n = len(lead)
    params = ", ".join(f"t{i}: Float[Tensor, '*r{i} {last[i]}']" for i in range(n))
    body = f"y = torch.cat([{', '.join(f't{i}' for i in range(n))}], dim=-1)\n"
    got = static_shapes(params, body)["y"]
    assert got is not None
    assert got[0] == "..." and len(got) == 2
    try:
        real = torch.cat([torch.empty(*lead[i], last[i]) for i in range(n)], dim=-1)
    except RuntimeError:
        return  # leading axes that differ: torch refuses
    assert got[1] == str(real.shape[-1])


def test_cat_after_runs_is_no_finding(tmp_path: Path) -> None:
    source = (
        "def f(a: Float[Tensor, '*bs 3'], b: Float[Tensor, '... 4']) -> Float[Tensor, '*bs 7']:\n"
        "    return torch.cat([a, b], dim=-1)\n"
        "def g(a: Float[Tensor, '*bs 3'], b: Float[Tensor, '... 4']) -> Float[Tensor, '*bs 8']:\n"
        "    return torch.cat([a, b], dim=-1)\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("8: "), found


LISTED = """\
def rays(h: int, w: int) -> Float[Tensor, "h w 3"]:
    return torch.zeros(h, w, 3)

def f(heights: list[int], widths: list[int], b: int) -> Float[Tensor, "b h w {last}"]:
    focals = [rays(h, w) for h, w in zip(heights, widths)]
    one = focals[0]
    return one[None].repeat(b, 1, 1, 1)
"""


def test_a_list_comprehension_holds_items_of_one_shape(tmp_path: Path) -> None:
    from shapesafe._static._report import Stats
    from tests.helpers import annotated_relations
    from tests.test_static_attributes import check

    stats = Stats()
    assert check(tmp_path, LISTED.format(last="3"), stats) == []
    # rays' return and f's: both checked (what the comprehension calls is read uncounted).
    assert annotated_relations(stats) == (2, 2)
    found = check(tmp_path, LISTED.format(last="4"))
    assert found == [
        "7: return of f(): dim '4' is 3 in one[None].repeat(b, 1, 1, 1) \"b ?h ?w 3\", "
        'expected 4 ("b h w 4")'
    ]
    real = [torch.zeros(h, w, 3) for h, w in zip([2, 3], [4, 5], strict=True)]
    assert real[0][None].repeat(2, 1, 1, 1).shape == (2, 2, 4, 3)


def test_where_the_shape_of_a_repeated_list_was_lost(tmp_path: Path) -> None:
    # `torch.cat([x] * 2)` has a rule: where x's shape is unknown, that is where it was lost.
    from shapesafe._static._report import Stats
    from tests.test_static_attributes import check

    source = (
        "def g(x: Float[Tensor, 'b c']) -> Float[Tensor, 'b c']:\n"
        "    return x\n"
        "def f(x, y: Float[Tensor, 'b c']):\n"
        "    g(torch.cat([x] * 2, dim=0))\n"
        "    g(torch.cat([y] * 2, dim=0))\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == []
    assert dict(stats.lost) == {"a parameter without a shape annotation": 1}


def test_sizes_given_as_a_size_keyword() -> None:
    # `u.expand(size=(*x.shape[:-1], n))`, `torch.zeros(size=(...))`: the sizes given.
    assert static_shape([2, 3, 4], "torch.zeros(3).expand(size=(*x.shape[:-1], 3))") == (
        "2",
        "3",
        "3",
    )
    assert static_shape([2, 3, 4], "torch.zeros(size=(*x.shape[:-1], 5))") == ("2", "3", "5")
    real = torch.zeros(3).expand(size=(*torch.empty(2, 3, 4).shape[:-1], 3))
    assert tuple(real.shape) == (2, 3, 3)
    assert tuple(torch.zeros(size=(*torch.empty(2, 3, 4).shape[:-1], 5)).shape) == (2, 3, 5)


def test_sizes_given_as_a_size_keyword_are_checked(tmp_path: Path) -> None:
    source = (
        "def f(cdf: Float[Tensor, '*b n'], m: int) -> Float[Tensor, '*b m']:\n"
        "    u = torch.linspace(0.0, 1.0, steps=m)\n"
        "    u = u.expand(size=(*cdf.shape[:-1], m))\n"
        "    below = torch.searchsorted(cdf, u, side='right').clamp(0, cdf.shape[-1] - 1)\n"
        "    return torch.gather(cdf, -1, below)\n"
        "def g(cdf: Float[Tensor, '*b n'], m: int) -> Float[Tensor, '*b n']:\n"
        "    u = torch.linspace(0.0, 1.0, steps=m).expand(size=(*cdf.shape[:-1], m))\n"
        "    return torch.gather(cdf, -1, torch.searchsorted(cdf, u))\n"
    )
    assert check_source(tmp_path, source) == [
        "12: return of g(): dim 'n' is n in cdf \"*b n\" but m in "
        'torch.gather(cdf, -1, torch.searchsor... "*b m"'
    ]


def test_paths_that_join_axis_by_axis() -> None:
    # Shapes of one rank, with the same run: each axis where they agree, a size unknown
    # where they differ; after runs that differ, the last axes, a size unknown where the
    # sizes differ.
    params = "x: Float[Tensor, '*b n'], y: Float[Tensor, '*c m'], flag: bool, k: int"
    body = (
        "a = x[..., :1] if flag else x\n"
        "b = torch.cat([x, y], dim=-1) if flag else x\n"
        "c = x if flag else torch.zeros(2, 3)\n"
        "d = torch.zeros(2, 3) if flag else torch.zeros(4)\n"
    )
    got = static_shapes(params, body)
    assert got["a"] == ("*b", "?")
    assert got["b"] == ("...", "?")
    assert got["c"] is None  # a run in one only: nothing is said
    assert got["d"] is None  # no run in either: ranks that differ say nothing


def test_either_of_two_numbers_is_a_number() -> None:
    # `n = n or self.n`: a number, so `x / (n + 1)` keeps x's shape.
    setup = "n = len(g) or 3"
    assert static_shape([2, 3], "x / (n + 1)", setup, other=[4]) == ("2", "3")
    assert static_shape([2, 3], "x * (1.0 / (2 * (n or 5)))", setup, other=[4]) == ("2", "3")
    # Where one operand may be a tensor, nothing is known of the result.
    assert static_shape([2, 3], "x / (g or 2)", other=[4]) is None


@settings(max_examples=30, deadline=None)
@given(dims=st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_where_of_a_mask_alone_agrees_with_torch(dims: list[int]) -> None:
    # `torch.where(mask)`: one index tensor per axis of the mask, all of one length.
    params = f"x: Float[Tensor, '{' '.join(map(str, dims))}'], g: Float[Tensor, 'n d']"
    got = static_shapes(params, "ids = torch.where(x > 0)\nfirst = ids[0]\nrows = g[ids[-1]]\n")
    real = torch.where(torch.randn(dims) > 0)
    assert len(real) == len(dims)
    assert all(r.ndim == 1 and r.shape == real[0].shape for r in real)
    assert got["first"] == ("?",)
    assert got["rows"] == ("?", "d")


def test_rows_picked_by_where_are_checked(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'n d'], m: Float[Tensor, 'e n']) -> Float[Tensor, 'k d']:\n"
        "    idx, top = torch.where(m > 0)\n"
        "    return x[top]\n"
        "def g(x: Float[Tensor, 'n d'], m: Float[Tensor, 'e n']) -> Float[Tensor, 'k']:\n"
        "    idx, top = torch.where(m > 0)\n"
        "    return x[top]\n"
    )
    found = check_source(tmp_path, source)
    assert len(found) == 1 and found[0].startswith("10: "), found


def test_topk_of_a_number_read_from_an_int() -> None:
    # `torch.topk(x, self.k)` with `self.k: int` set from a config: the k axis, a size unknown.
    params = "x: Float[Tensor, 'b e'], g: Float[Tensor, 'n']"
    body = "k = int(g.sum())\nvals, ids = torch.topk(x, k, dim=-1)\n"
    got = static_shapes(params, body)
    assert got["vals"] == ("b", "?")
    assert got["ids"] == ("b", "?")
    real = torch.topk(torch.randn(2, 5), int(torch.ones(3).sum()), dim=-1)
    assert tuple(real.values.shape) == (2, 3)


@settings(max_examples=40, deadline=None)
@given(
    dims=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    sizes=st.lists(st.sampled_from([-1, 1, 2, 3, 4]), min_size=1, max_size=3),
    as_list=st.booleans(),
)
def test_torch_reshape_agrees_with_torch(dims: list[int], sizes: list[int], as_list: bool) -> None:
    # `torch.reshape(x, (3, -1))` reads as `x.reshape((3, -1))`.
    given_sizes = str(sizes) if as_list else f"({', '.join(map(str, sizes))},)"
    agree(
        static_shape(dims, f"torch.reshape(x, {given_sizes})"),
        torch_shape(lambda: torch.reshape(torch.empty(dims), sizes)),
    )


def test_torch_reshape_shapes() -> None:
    assert static_shape([2, 6], "torch.reshape(x, (3, 4))") == ("3", "4")
    assert static_shape([2, 6], "torch.reshape(x, [4, -1])") == ("4", "3")


SIZES = """\
import torch
from jaxtyping import Float
from torch import Tensor


def f(x: Float[Tensor, "b m d"]) -> None: ...


def g(lens: Float[Tensor, "b n"]) -> None:
    x = torch.randn(2, lens.sum(-1).amax(), 77)
    f(x)
    f(x[0])
"""


def test_a_size_given_as_a_tensor_of_no_dims(tmp_path: Path) -> None:
    # `torch.randn(2, n, 77)` with `n` a tensor of no dims: three dims, the middle unknown
    found = static_findings(tmp_path, SIZES)
    assert found == [
        '12: f(x[0]): x[0] "? 77" has 2 dims, expected 3 for \'x\' "b m d" (? is an unknown size)'
    ]
    # as torch reads it
    n: Any = torch.tensor([[3, 5]]).sum(-1).amax()
    assert torch.randn(2, n, 7).shape == (2, 8, 7)
