"""The static checker on code whose shapes flow through what the code picks at run time: returns
read from bodies, Union alternatives, classes and lambdas chosen by config, properties, and
branches; and `--stats` telling where each unchecked annotated relation lost its shape."""

from pathlib import Path

from shapesafe._static import check_file
from shapesafe._static._report import Stats
from tests.helpers import annotated_relations, static_findings

HEADER = """\
from typing import Optional, Union, cast
import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor, nn
"""


def check(tmp_path: Path, source: str, stats: Stats | None = None) -> list[str]:
    return static_findings(tmp_path, source, HEADER, relative=True, stats=stats)


def test_a_return_without_annotation_is_read_from_the_body(tmp_path: Path) -> None:
    source = (
        "class M(nn.Module):\n"
        "    def __init__(self, d: int) -> None:\n"
        "        super().__init__()\n"
        "        self.lin = nn.Linear(d, d)\n"
        "    def proj(self, x: Float[Tensor, 'b s d']):\n"
        "        return self.lin(x)[:, -1]\n"
        "    def forward(self, x: Float[Tensor, 'b s d']) -> Float[Tensor, 'b s d']:\n"
        "        return x + self.proj(x)\n"
        "def pair(x: Float[Tensor, 'b d']):\n"
        "    return x, x.T\n"
        "def use(y: Float[Tensor, 'n e']) -> Float[Tensor, 'e n']:\n"
        "    a, b = pair(y)\n"
        "    return a\n"
    )
    assert check(tmp_path, source) == [
        '8: x + self.proj(x): x "b s d" and self.proj(x) "b d": s lines up with b (torch '
        "would broadcast silently where one is 1, and fail otherwise)",
        '13: return of use(): dim \'e\' is e in y "n e" but n in a "n e"',
    ]


def test_an_overridden_method_is_not_read(tmp_path: Path) -> None:
    # A subclass may return something else; only the annotated contract binds the caller.
    source = (
        "class Base(nn.Module):\n"
        "    def proj(self, x: Float[Tensor, 'b d']):\n"
        "        return x\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'd b']:\n"
        "        return self.proj(x)\n"
        "class Sub(Base):\n"
        "    def proj(self, x: Float[Tensor, 'b d']):\n"
        "        return x.T\n"
    )
    assert check(tmp_path, source) == []


def test_the_union_alternative_the_argument_fits_decides_the_return(tmp_path: Path) -> None:
    source = (
        "NormInput = Union[Float[Tensor, 'batch pos d'], Float[Tensor, 'batch_pos d']]\n"
        "class Norm(nn.Module):\n"
        "    def forward(self, x: NormInput) -> NormInput:\n"
        "        return x / x.norm(dim=-1, keepdim=True)\n"
        "def flat(n: Norm, x: Float[Tensor, 'b s d']) -> Float[Tensor, 'b d']:\n"
        "    return n(x)\n"
        "def rows(n: Norm, x: Float[Tensor, 'r d']) -> Float[Tensor, 'r d']:\n"
        "    return n(x)\n"
        "def wrong(n: Norm, x: Float[Tensor, 'r d']) -> Float[Tensor, 'd r']:\n"
        "    return n(x)\n"
    )
    assert check(tmp_path, source) == [
        '6: return of flat(): n(x) "b s d" has 3 dims, expected 2 for \'return\' "b d"',
        '10: return of wrong(): dim \'d\' is d in x "r d" but r in n(x) "r d"',
    ]


def test_classes_and_lambdas_picked_at_run_time(tmp_path: Path) -> None:
    # `norm` is one of three; only a mismatch that every one of them makes is certain.
    source = (
        "class Wide(nn.Module):\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b e']: ...\n"
        "class Same(nn.Module):\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']: ...\n"
        "class Block(nn.Module):\n"
        "    def __init__(self, kind: str) -> None:\n"
        "        super().__init__()\n"
        "        if kind == 'wide':\n"
        "            norm = Wide\n"
        "        elif kind == 'same':\n"
        "            norm = Same\n"
        "        else:\n"
        "            norm = lambda: nn.Identity()  # noqa: E731\n"
        "        self.norm = norm()\n"
        "        self.all_wide = Wide() if kind else Wide()\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'd b']:\n"
        "        y = self.norm(x)\n"
        "        z: Float[Tensor, 'b e'] = self.norm(x)\n"
        "        return self.all_wide(x)\n"
    )
    assert check(tmp_path, source) == [
        '19: return of forward(): dim \'d\' is d in x "b d" but b in self.all_wide(x) "b ?e"',
    ]


def test_properties_optional_modules_casts_and_module_lists(tmp_path: Path) -> None:
    source = (
        "class Layer(nn.Module):\n"
        "    def __init__(self, n: int, d: int) -> None:\n"
        "        super().__init__()\n"
        "        self.b = nn.Parameter(torch.zeros(n, d))\n"
        "    @property\n"
        "    def twice(self):\n"
        "        return torch.repeat_interleave(self.b, repeats=2, dim=0)\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']: ...\n"
        "class Layers(nn.ModuleList):\n"
        "    pass\n"
        "class Model(nn.Module):\n"
        "    norm: Optional[Layer]\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.layers = Layers([Layer(3, 4) for _ in range(2)])\n"
        "        self.norm = None\n"
        "    @property\n"
        "    def stacked(self) -> Float[Tensor, 'l n d']:\n"
        "        return torch.stack([cast(Layer, m).b for m in self.layers])\n"
        "    @property\n"
        "    def doubled(self) -> Float[Tensor, 'l n']:\n"
        "        return torch.stack([m.twice for m in self.layers])\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'd b']:\n"
        "        assert self.norm is not None\n"
        "        return self.norm(x)\n"
    )
    assert check(tmp_path, source) == [
        '22: return of doubled(): torch.stack([m.twice for m in self.la... "? ? ?" has '
        "3 dims, expected 2 for 'return' \"l n\" (? is an unknown size)",
        '25: return of forward(): dim \'d\' is d in x "b d" but b in self.norm(x) "b d"',
    ]


def test_paths_that_join(tmp_path: Path) -> None:
    # A name that one branch binds keeps its shape (the other branch can't read it), and
    # two shapes keep what they share: z has b first, d last and at least 2 dims.
    source = (
        "def f(x: Float[Tensor, 'b s d'], w: Float[Tensor, 'e d'], flag: bool) -> None:\n"
        "    if flag:\n"
        "        y = x\n"
        "    z = x if flag else x[:, :, None]\n"
        "    if flag:\n"
        "        z = x[:, None]\n"
        "    u: Float[Tensor, 'b s'] = y @ w.T\n"
        "    v: Float[Tensor, 'c'] = z[0]\n"
        "    t: Float[Tensor, 'b'] = z\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '7: u: y @ w.T "b s e" has 3 dims, expected 2 for \'u\' "b s"',
        '9: t: z "b ... d" has at least 2 dims, expected 1 for \'t\' "b"',
    ]
    assert annotated_relations(stats) == (3, 3)  # z[0] is "... d": no known rank, but its last axis


def test_stats_say_where_unchecked_relations_lost_their_shape(tmp_path: Path) -> None:
    source = (
        "def g(x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']: ...\n"
        "def f(batch: dict[str, Tensor], raw, flag: bool) -> None:\n"
        "    g(batch['image'])\n"
        "    g(torch.from_numpy(np.load('a.npy')))\n"
        "    g(raw)\n"
        "    g(raw.float().detach())\n"
        "    g(torch.fft.rfft(torch.zeros(3, 4)))\n"
        "    h = torch.zeros(2, 3) if flag else torch.zeros(4)\n"
        "    g(h)\n"
        "class Hook(nn.Module):\n"
        "    def forward(self, x: Tensor) -> Tensor:\n"
        "        return x\n"
        "class M(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.hook = Hook()\n"
        "        self.drop = nn.Dropout(0.1)\n"
        "    def forward(self, raw) -> Float[Tensor, 'b d']:\n"
        "        return self.hook(self.drop(raw))\n"
    )
    stats = Stats()
    # Where `flag` is false, h has one dim: that path's finding, though the joined paths
    # give h no shape. Each path's reading checks g(h), so it counts as checked.
    assert check(tmp_path, source, stats) == [
        '9: g(h): h "4" has 1 dims, expected 2 for \'x\' "b d"',
    ]
    # What a hook or a same-shape layer gives back was lost where its input was.
    assert dict(stats.lost) == {
        "a lookup in a dict, list or tuple": 1,
        "numpy or Python data": 1,
        "a parameter without a shape annotation": 3,
        "an op or index without a shape rule for its arguments": 1,
    }
    assert annotated_relations(stats) == (1, 7)


def test_a_shape_that_says_nothing_is_not_counted_as_checked() -> None:
    from shapesafe._static._unify import Group, anonymous_group, fresh, lit, name
    from shapesafe._static._values import _informative

    assert _informative((fresh(), fresh()))  # the rank is known
    assert _informative((anonymous_group(), lit(3)))
    assert _informative((Group("batch"), fresh()))
    assert not _informative((anonymous_group(), fresh()))
    assert not _informative((anonymous_group(),))
    assert _informative((anonymous_group(), name("d")))


def test_names_from_a_star_import(tmp_path: Path) -> None:
    # `from pkg.typing import *` brings jaxtyping's names, as the package re-exports them.
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "typing.py").write_text(
        "from jaxtyping import Float, Int\nfrom torch import Tensor\n__all__ = ['Float', 'Tensor']\n"
    )
    (pkg / "ops.py").write_text(
        "from pkg.typing import *\n"
        "def rays(c2w: Float[Tensor, '... 4 4']) -> Float[Tensor, '... 3']: ...\n"
        "def user(c2w: Float[Tensor, 'n 3 4']) -> None:\n"
        "    rays(c2w)\n"
        "def hidden(i: Int[Tensor, 'n']) -> Float[Tensor, 'n 2']:\n"
        "    return i\n"
    )
    found = [f"{f.line}: {f.message}" for f in check_file(pkg / "ops.py")]
    # `Int` is not in `__all__`, so the star does not bring it: `hidden` has no contract.
    assert found == ['4: rays(c2w): dim \'4\' is 3 in c2w "n 3 4", expected 4 ("... 4 4")']


def test_a_property_names_its_dims_for_itself(tmp_path: Path) -> None:
    # As a call's return, a property's dim names are its own: "Nv" is not the caller's "N3".
    source = (
        "class Grid(nn.Module):\n"
        "    @property\n"
        "    def vertices(self) -> Float[Tensor, 'Nv 3']: ...\n"
        "    @property\n"
        "    def corners(self) -> Float[Tensor, 'Nc 4']: ...\n"
        "    def forward(self, offsets: Float[Tensor, 'N3 3']) -> Float[Tensor, 'N3 3']:\n"
        "        moved = self.vertices + offsets\n"
        "        return self.corners + offsets\n"
    )
    assert check(tmp_path, source) == [
        '8: self.corners + offsets: self.corners "?Nc 4" and offsets "N3 3": 4 lines up '
        "with 3 (torch would broadcast silently where one is 1, and fail otherwise)",
    ]


def test_a_cached_property_and_a_property_of_a_tuple_give_their_contracts(
    tmp_path: Path,
) -> None:
    source = (
        "import functools\n"
        "class Factors:\n"
        "    @functools.cached_property\n"
        "    def product(self) -> Float[Tensor, 'l r']: ...\n"
        "    @property\n"
        "    def svd(self) -> tuple[Float[Tensor, 'l m'], Float[Tensor, 'm']]: ...\n"
        "def f(fm: Factors) -> None:\n"
        "    p: Float[Tensor, 'l r 1'] = fm.product\n"
        "    u, s = fm.svd\n"
        "    t: Float[Tensor, 'a b'] = s\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '8: p: fm.product "?l ?r" has 2 dims, expected 3 for \'p\' "l r 1"',
        '10: t: s "?m" has 1 dims, expected 2 for \'t\' "a b"',
    ]
    assert annotated_relations(stats) == (2, 2)


def test_a_property_annotated_as_a_bare_tensor_gives_what_its_body_gives(
    tmp_path: Path,
) -> None:
    source = (
        "class Gate(nn.Module):\n"
        "    def __init__(self, d: int) -> None:\n"
        "        super().__init__()\n"
        "        self.log_t = nn.Parameter(torch.zeros(d))\n"
        "    @property\n"
        "    def t(self) -> torch.Tensor:\n"
        "        return torch.exp(self.log_t)\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b']:\n"
        "        return x * self.t\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '9: return of forward(): x * self.t "b d" has 2 dims, expected 1 for \'return\' "b"'
    ]
    assert annotated_relations(stats) == (1, 1)


def test_a_none_in_a_returned_tuple_is_no_relation(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'b d']) -> tuple[Float[Tensor, 'b d'], Float[Tensor, 'b'] | None]:\n"
        "    return x, None\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == []
    assert annotated_relations(stats) == (1, 1)


def test_an_index_the_code_made_from_integers(tmp_path: Path) -> None:
    source = (
        "def pick(W: Float[Tensor, 'v d'], x: Float[Tensor, 'n v']) -> Float[Tensor, 'n d']:\n"
        "    ids = x.argmax(-1)\n"
        "    return W[ids]\n"
        "def wrong(W: Float[Tensor, 'v d'], x: Float[Tensor, 'n v']) -> Float[Tensor, 'd n']:\n"
        "    ids = torch.argmax(x, dim=-1)\n"
        "    return W[ids]\n"
        "def unsure(W: Float[Tensor, 'v d'], x: Float[Tensor, 'n v'], f: bool) -> Float[Tensor, 'd n']:\n"
        "    ids = x.argmax(-1)\n"
        "    if f:\n"
        "        ids = x > 0\n"
        "    return W[ids]\n"
    )
    assert check(tmp_path, source) == [
        '6: return of wrong(): dim \'d\' is d in W "v d" but n in W[ids] "n d"',
    ]


def test_stats_tell_an_unknown_callee_from_an_unreadable_one(tmp_path: Path) -> None:
    source = (
        "class M(nn.Module):\n"
        "    def __init__(self, encoder) -> None:\n"
        "        super().__init__()\n"
        "        self.encoder = encoder\n"
        "    def helper(self, x):\n"
        "        raise NotImplementedError\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "        return self.encoder(x)\n"
        "    def other(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "        return self.helper(x)\n"
        "    def method_of_it(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "        return self.encoder.encode(x)\n"
        "    def of_an_attribute(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "        return x * self.scale.exp()\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == []
    # A method of an object the checker does not model is lost there, as a call of it is;
    # one of an attribute of `self` that nothing assigns is lost in that attribute.
    assert dict(stats.lost) == {
        "a call of an object the checker does not know (from a library, a callable)": 2,
        "a call of a function or method without a tensor return annotation": 1,
        "an attribute without a known shape": 1,
    }


def test_a_number_as_the_one_size_makes_one_axis(tmp_path: Path) -> None:
    source = (
        "class Sampler:\n"
        "    batch_size: int\n"
        "    def __init__(self) -> None:\n"
        "        self.batch_size = 4\n"
        "    def grow(self) -> None:\n"
        "        self.batch_size += 1\n"
        "    def wrong(self) -> Float[Tensor, 'b 3']:\n"
        "        return torch.rand(self.batch_size)\n"
        "    def right(self, n: int) -> Float[Tensor, 'b']:\n"
        "        return torch.zeros(n)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '8: return of wrong(): torch.rand(self.batch_size) "?" has 1 dims, expected 2 for '
        "'return' \"b 3\" (? is an unknown size)",
    ]
    assert annotated_relations(stats) == (2, 2)


def test_a_shape_kept_in_a_name_before_a_reshape(tmp_path: Path) -> None:
    source = (
        "def encode(x: Float[Tensor, '*bs 3'], w: Float[Tensor, 'e 3']) -> Float[Tensor, '*bs e']:\n"
        "    original_shape = x.shape\n"
        "    x = x.reshape(-1, 3)\n"
        "    return (x @ w.T).view(*original_shape[:-1], -1)\n"
        "def wrong(x: Float[Tensor, '*bs 3'], w: Float[Tensor, 'e 3']) -> Float[Tensor, '*bs e']:\n"
        "    original_shape = x.shape\n"
        "    x = x.reshape(-1, 3)\n"
        "    return (x @ w.T).view(*original_shape, -1)\n"
        "def rebound(x: Float[Tensor, '*bs 3'], y: Float[Tensor, 'n'], f: bool) -> Float[Tensor, 'n e']:\n"
        "    s = x.shape\n"
        "    if f:\n"
        "        s = y.shape\n"
        "    return x.view(*s[:-1], -1)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        "8: return of wrong(): dims '*bs' are (*bs) in x \"*bs 3\" but (*bs 3) in "
        '(x @ w.T).view(*original_shape, -1) "*bs 3 ?" (? is an unknown size)',
    ]
    assert annotated_relations(stats) == (2, 3)  # `s` is bound twice: its shape is not kept


def test_what_a_spliced_view_reshapes_is_still_checked(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, '*bs 3'], w: Float[Tensor, '5 d']) -> Float[Tensor, '*bs d']:\n"
        "    outputs_shape = x.shape[:-1]\n"
        "    return (x @ w).view(*outputs_shape, -1)\n"
    )
    assert check(tmp_path, source) == [
        '3: x @ w: inner dim is 3 in x "*bs 3" but 5 in w "5 d"',
    ]


def test_a_new_shape_built_from_size_keeps_its_run(tmp_path: Path) -> None:
    # `size_out = x.size()[:-1] + (n,)` then `x.view(size_out)`, as GPT-2's Conv1D writes
    # it: the run of x's leading axes goes into the new shape, as it does with `*`.
    source = (
        "def conv1d(x: Float[Tensor, '... i'], w: Float[Tensor, 'i o'], b: Float[Tensor, ' o']"
        ") -> Float[Tensor, '... o']:\n"
        "    size_out = x.size()[:-1] + (w.shape[-1],)\n"
        "    x = torch.addmm(b, x.view(-1, x.size(-1)), w)\n"
        "    return x.view(size_out)\n"
        "def wrong(x: Float[Tensor, '... i'], w: Float[Tensor, 'i o'], b: Float[Tensor, ' o']"
        ") -> Float[Tensor, '... o']:\n"
        "    size_out = x.size()[:-1] + (w.shape[0],)\n"
        "    y = torch.addmm(b, x.view(-1, x.size(-1)), w)\n"
        "    return y.view(size_out)\n"
        "def heads(x: Float[Tensor, '*b s e'], n: int) -> Float[Tensor, '*b n s e/n']:\n"
        "    new_shape = x.shape[:-1] + (n, x.size(-1) // n)\n"
        "    return x.view(*new_shape)\n"
        "def split(x: Float[Tensor, '*b s e'], n: int) -> Float[Tensor, '*b s n e/n']:\n"
        "    new_shape = x.size()[:-1] + (n, x.size(-1) // n)\n"
        "    return x.view(new_shape)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '8: return of wrong(): dim \'o\' is o in w "i o" but i in y.view(size_out) "... i"',
        "11: return of heads(): dim 's' is s in x \"*b s e\" but n in x.view(*new_shape) "
        '"*b s n e//n"',
    ]
    assert annotated_relations(stats) == (4, 4)


def test_tuples_of_sizes_added_are_one_tuple(tmp_path: Path) -> None:
    source = (
        "def f(x: Float[Tensor, 'b s e'], n: int) -> Float[Tensor, 'b s n e/n']:\n"
        "    new_shape = x.size()[:-1] + (n, x.size(-1) // n)\n"
        "    return x.view(new_shape)\n"
        "def g(x: Float[Tensor, 'b s e'], n: int) -> Float[Tensor, 'b n s e/n']:\n"
        "    new_shape = x.shape[:-1] + (n, x.size(-1) // n)\n"
        "    return x.view(new_shape)\n"
    )
    assert check(tmp_path, source) == [
        '6: return of g(): dim \'s\' is s in x "b s e" but n in x.view(new_shape) "b s n e//n"',
    ]


def test_lists_added_where_one_may_be_empty(tmp_path: Path) -> None:
    # `[d, e] + ([g] if use else [])`: two or three tensors of n rows, joined on their last
    # axis, which keeps their two axes.
    source = (
        "def f(d: Float[Tensor, 'n a'], e: Float[Tensor, 'n b'], g: Float[Tensor, 'n c'], "
        "use: bool) -> Float[Tensor, 'n k']:\n"
        "    h = [d, e] + ([g] if use else [])\n"
        "    return torch.cat(h, dim=-1)\n"
        "def wrong(d: Float[Tensor, 'n a'], e: Float[Tensor, 'n b'], g: Float[Tensor, 'n c'], "
        "use: bool) -> Float[Tensor, ' n']:\n"
        "    h = [d, e] + ([g] if use else [])\n"
        "    return torch.cat(h, dim=-1)\n"
        "def tuple_and_list(x: Float[Tensor, 'n a'], use: bool) -> Float[Tensor, 'n a']:\n"
        "    h = (x,) + ([x] if use else [])\n"
        "    return torch.cat(h, dim=-1)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '6: return of wrong(): torch.cat(h, dim=-1) "n ?" has 2 dims, expected 1 for '
        "'return' \" n\" (? is an unknown size)",
    ]
    assert annotated_relations(stats) == (2, 3)


def test_a_return_whose_run_is_anonymous_is_read_through_the_body(tmp_path: Path) -> None:
    # jaxtyping ties no `...` to another: `encode`'s annotation says nothing of the axes
    # before d_sae. Its body gives back x's own `...`, which the call gives as (b,).
    source = (
        "class SAE(nn.Module):\n"
        "    def __init__(self, d_in: int, d_sae: int) -> None:\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(torch.zeros(d_in, d_sae))\n"
        "    def pre(self, x: Float[Tensor, '... d_in']) -> Float[Tensor, '... d_in']:\n"
        "        return x - 1.0\n"
        "    def both(self, x: Float[Tensor, '... d_in']) -> tuple["
        "Float[Tensor, '... d_sae'], Float[Tensor, '... d_sae']]:\n"
        "        h = self.pre(x) @ self.W\n"
        "        return h.relu(), h\n"
        "    def encode(self, x: Float[Tensor, '... d_in']) -> Float[Tensor, '... d_sae']:\n"
        "        acts, _ = self.both(x)\n"
        "        return acts\n"
        "def right(sae: SAE, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b f']:\n"
        "    acts, pre = sae.both(x)\n"
        "    return sae.encode(x) + acts - pre\n"
        "def wrong(sae: SAE, x: Float[Tensor, 'b d']) -> Float[Tensor, ' f']:\n"
        "    return sae.encode(x)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        "17: return of wrong(): sae.encode(x) \"b ?\" has 2 dims, expected 1 for 'return' "
        '" f" (? is an unknown size)',
    ]
    assert annotated_relations(stats) == (11, 11)


def test_a_run_read_through_a_body(tmp_path: Path) -> None:
    # `flat` gives 2 dims whatever its x, and so does `same`, which gives back flat's: a
    # caller that wants x's 3 dims back gets 2, which jaxtyping rejects at run time.
    source = (
        "def flat(x: Float[Tensor, '... d']) -> Float[Tensor, '... d']:\n"
        "    return x.reshape(-1, x.shape[-1])\n"
        "def same(x: Float[Tensor, '... d']) -> Float[Tensor, '... d']:\n"
        "    return flat(x).relu()\n"
        "def caller(x: Float[Tensor, 'a b d']) -> Float[Tensor, 'a b d']:\n"
        "    y: Float[Tensor, 'a b d'] = same(x)\n"
        "    return flat(x)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '6: y: same(x) "? d" has 2 dims, expected 3 for \'y\' "a b d" (? is an unknown size)',
        '7: return of caller(): flat(x) "? d" has 2 dims, expected 3 for \'return\' "a b d" '
        "(? is an unknown size)",
    ]
    assert annotated_relations(stats) == (7, 7)


def test_a_generic_base_class_is_that_class(tmp_path: Path) -> None:
    # `class Base(Generic[C])` used as `Base[Config]`: the subclass still has the base's
    # modules, and a same-file override through the generic base is still seen.
    source = (
        "from typing import Generic, TypeVar\n"
        "C = TypeVar('C')\n"
        "class Base(nn.Module, Generic[C]):\n"
        "    def __init__(self, d: int) -> None:\n"
        "        super().__init__()\n"
        "        self.act = nn.ReLU()\n"
        "    def mix(self, x: Float[Tensor, 'b d']):\n"
        "        return x\n"
        "class Sub(Base[int]):\n"
        "    def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'd b']:\n"
        "        return self.act(x)\n"
        "    def both(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'd b']:\n"
        "        return self.mix(x)\n"
        "class Other(Sub):\n"
        "    def mix(self, x: Float[Tensor, 'b d']):\n"
        "        return x.T\n"
    )
    assert check(tmp_path, source) == [
        '11: return of forward(): dim \'d\' is d in x "b d" but b in self.act(x) "b d"'
    ]


def test_arithmetic_of_numbers_is_a_number(tmp_path: Path) -> None:
    source = (
        "def f(h: Float[Tensor, 'n d'], r: Float[Tensor, 'n d']) -> Float[Tensor, 'd n']:\n"
        "    v = (4 / 15) * h + 2 ** 3 * r - (7 % 3) * h\n"
        "    return -torch.pi * v\n"
    )
    stats = Stats()
    found = check(tmp_path, source, stats)
    assert found == ['3: return of f(): dim \'d\' is d in h "n d" but n in -torch.pi * v "n d"']
    assert annotated_relations(stats) == (1, 1)


def test_a_list_the_code_appends_to(tmp_path: Path) -> None:
    # What `torch.cat` joins is the list as appended to; a list that code the checker does
    # not follow may change (aliased, passed on, changed in a nested function) is unknown.
    source = (
        "def grown(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 5']:\n"
        "    xs = [a]\n"
        "    xs.append(b)\n"
        "    return torch.cat(xs, dim=-1)\n"
        "def extended(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 5']:\n"
        "    xs = [a]\n"
        "    xs.extend([b, b])\n"
        "    return torch.cat(xs, dim=-1)\n"
        "def aliased(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 5']:\n"
        "    xs = [a]\n"
        "    ys = xs\n"
        "    ys.append(b)\n"
        "    return torch.cat(xs, dim=-1)\n"
        "def nested(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 5']:\n"
        "    xs = [a]\n"
        "    def add() -> None:\n"
        "        xs.append(b)\n"
        "    add()\n"
        "    return torch.cat(xs, dim=-1)\n"
        "def passed(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 5']:\n"
        "    xs = [a]\n"
        "    more(xs, b)\n"
        "    return torch.cat(xs, dim=-1)\n"
        "def maybe(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3'], c: bool) -> Float[Tensor, 'n 5']:\n"
        "    xs = [a, b]\n"
        "    if c:\n"
        "        xs.append(b)\n"
        "    return torch.cat(xs, dim=-1)\n"
        "def inner(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 5']:\n"
        "    rows = [[a], [a]]\n"
        "    rows[0].append(b)\n"
        "    return torch.cat(rows[0], dim=-1)\n"
        "def each(a: Float[Tensor, 'n 2'], b: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 5']:\n"
        "    rows = [[a], [a]]\n"
        "    for r in rows:\n"
        "        r.append(b)\n"
        "    return torch.cat(rows[1], dim=-1)\n"
        "def replaced(a: Float[Tensor, 'n 2']) -> None:\n"
        "    parts = []\n"
        "    for i in range(3):\n"
        "        parts.append((a, a))\n"
        "    for i, (x, y) in enumerate(parts):\n"
        "        parts[i] = (x, y, x)\n"
        "    for x, y, z in parts:\n"
        "        pass\n"
        "def more(xs: list[Tensor], b: Tensor) -> None:\n"
        "    xs.append(b)\n"
        "class Cache(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.parts = [torch.zeros(2, 3)]\n"
        "    def add(self, x: Tensor) -> None:\n"
        "        self.parts.append(x)\n"
        "    def forward(self) -> Float[Tensor, '2 5']:\n"
        "        return torch.cat(self.parts, dim=-1)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '8: return of extended(): dim \'5\' is 8 in torch.cat(xs, dim=-1) "n 8", expected 5 ("n 5")'
    ]
    assert annotated_relations(stats) == (3, 9)  # `maybe`'s list holds tensors of shape "n ?"


def test_a_list_a_loop_fills(tmp_path: Path) -> None:
    # Items that all have one shape: joined along an axis whose size the checker leaves
    # open, or stacked along a new one.
    source = (
        "def rows(p: Float[Tensor, 'n 3'], w: Float[Tensor, '3 5']) -> Float[Tensor, 'n 5']:\n"
        "    out = []\n"
        "    for part in torch.split(p, 100, dim=0):\n"
        "        out.append(part @ w)\n"
        "    return torch.cat(out, dim=0)\n"
        "def stacked(p: Float[Tensor, 'n 3']) -> Float[Tensor, '3 n']:\n"
        "    out = []\n"
        "    for _ in range(4):\n"
        "        out.append(p)\n"
        "    return torch.stack(out, dim=-1)\n"
        "def wrong_w(p: Float[Tensor, 'n 3'], w: Float[Tensor, '5 3']) -> Float[Tensor, 'n 5']:\n"
        "    out = []\n"
        "    for part in p.split(100):\n"
        "        out.append(part @ w)\n"
        "    return torch.cat(out)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '10: return of stacked(): torch.stack(out, dim=-1) "n 3 4" has 3 dims, expected 2 '
        "for 'return' \"3 n\"",
        '14: part @ w: inner dim is 3 in part "? 3" but 5 in w "5 3"; did you mean w.mT? '
        "(? is an unknown size)",
    ]
    assert annotated_relations(stats) == (2, 3)


def test_a_list_a_loop_fills_with_items_of_one_rank(tmp_path: Path) -> None:
    # Items whose sizes differ from one pass to the next: a list of tensors of their rank,
    # where the sizes that differ are unknown.
    source = (
        "def pieces(x: Float[Tensor, 'b n'], w: Float[Tensor, 't']) -> Float[Tensor, 'b n']:\n"
        "    out = []\n"
        "    for d in range(3):\n"
        "        out.append(x[:, d : d + 2])\n"
        "    y = torch.cat(out, dim=-1) + x[:, :1]\n"
        "    segments = []\n"
        "    for t in range(4):\n"
        "        segments.append(w[t : t + 4])\n"
        "    torch.cat(segments, dim=1)\n"
        "    return torch.stack(out, dim=0)\n"
    )
    assert check(tmp_path, source) == [
        '9: cat: dim 1 is out of range for segments "?", which has 1 dim (torch raises '
        "IndexError) (? is an unknown size)",
        '10: return of pieces(): torch.stack(out, dim=0) "3 b ?" has 3 dims, expected 2 '
        "for 'return' \"b n\" (? is an unknown size)",
    ]


def test_loops_over_tensors_enumerate_zip_and_registered_parameters(tmp_path: Path) -> None:
    source = (
        "class Var(nn.Module):\n"
        "    def __init__(self, init: float) -> None:\n"
        "        super().__init__()\n"
        "        self.register_parameter('v', nn.Parameter(init * torch.ones(1)))\n"
        "        self.register_buffer('table', torch.zeros(4, 3))\n"
        "    def forward(self, x: Float[Tensor, 'n 1']) -> Float[Tensor, 'n']:\n"
        "        return x * torch.exp(self.v * 10.0)\n"
        "    def rows(self) -> Float[Tensor, '4']:\n"
        "        for row in self.table:\n"
        "            return row\n"
        "        return self.table[:, 0]\n"
        "def pairs(a: Float[Tensor, 'n 3'], b: Float[Tensor, 'n 2']) -> Float[Tensor, 'n 5']:\n"
        "    out = []\n"
        "    for i, (x, y) in enumerate(zip(a.split(2), b.split(2))):\n"
        "        out.append(torch.cat([x, y], dim=-1))\n"
        "    return torch.cat(out)\n"
        "def grads(y: Float[Tensor, ''], p: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 4']:\n"
        "    (g,) = torch.autograd.grad(y, p)\n"
        "    return g\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '7: return of forward(): x * torch.exp(self.v * 10.0) "n 1" has 2 dims, expected 1 '
        "for 'return' \"n\"",
        '10: return of rows(): dim \'4\' is 3 in row "3", expected 4 ("4")',
        '19: return of grads(): dim \'4\' is 3 in g "n 3", expected 4 ("n 4")',
    ]
    assert annotated_relations(stats) == (5, 5)


def test_repeated_lists_uneven_chunks_and_cross(tmp_path: Path) -> None:
    # Classifier-free guidance doubles a batch with `[x] * 2`; `chunk(2)` of a size that may
    # be odd gives at most two pieces, so unpacking fewer is no finding.
    source = (
        "def guided(x: Float[Tensor, 'b c h w'], s: Float[Tensor, 'c']) -> Float[Tensor, 'b c h w']:\n"
        "    both = torch.cat([x] * 2, dim=0)\n"
        "    cond, uncond = both.chunk(2)\n"
        "    return uncond + s * (cond - uncond)\n"
        "def halves(x: Float[Tensor, 'n d']) -> Float[Tensor, 'k d']:\n"
        "    (only,) = x.chunk(2)\n"
        "    return only\n"
        "def frame(a: Float[Tensor, 'n 3'], up: Float[Tensor, '3']) -> Float[Tensor, 'n 3']:\n"
        "    return torch.cross(a, up, dim=-1)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '4: s * (cond - uncond): s "c" and (cond - uncond) "b c h w": c lines up with w '
        "(torch would broadcast silently where one is 1, and fail otherwise)",
        '9: cross: a "n 3" and up "3" differ in rank; torch.cross needs the same number of dims',
    ]


def test_a_local_declared_before_it_is_assigned(tmp_path: Path) -> None:
    # `samples: Samples` then `samples, w = sampler(...)`: the declaration says what the
    # unknown value is, as a parameter's annotation would. (`sampler` gives what a library
    # gives: a body that returns its argument would be read.)
    source = (
        "class Samples:\n"
        "    deltas: Float[Tensor, 'n s 1']\n"
        "def sampler(x):\n"
        "    return library.sample(x)\n"
        "def render(x: Float[Tensor, 'n d']) -> Float[Tensor, 'n s']:\n"
        "    samples: Samples\n"
        "    samples, w = sampler(x)\n"
        "    h: Float[Tensor, 'n s']\n"
        "    h = w\n"
        "    return samples.deltas + h\n"
    )
    assert check(tmp_path, source) == [
        '10: samples.deltas + h: samples.deltas "n s 1" and h "n ?s": s lines up with n '
        "(torch would broadcast silently where one is 1, and fail otherwise)"
    ]


def test_a_local_annotation_on_a_reshape_of_itself_says_nothing_of_its_old_value(
    tmp_path: Path,
) -> None:
    # `x: "t b c h w" = rearrange(x, "(b t) c h w -> ...")`: the annotation is the new
    # shape, so the unknown value x held before is not taken to have it.
    source = (
        "from einops import rearrange\n"
        "def split(imgs, b: int, t: int) -> Float[Tensor, 't b 3 h w']:\n"
        "    out = library.render(imgs)\n"
        "    out: Float[Tensor, 't b 3 h w'] = rearrange(out, '(b t) c h w -> t b c h w', b=b, t=t)\n"
        "    return out\n"
        "def wrong(imgs: Float[Tensor, 'n 3 h w'], b: int, t: int) -> Float[Tensor, 't b 3 h w']:\n"
        "    out = imgs[:4]\n"
        "    out: Float[Tensor, 't b 3 h w'] = rearrange(out, '(b t) c -> t b c', b=b, t=t)\n"
        "    return out\n"
    )
    assert check(tmp_path, source) == [
        '8: einops.rearrange: "4 3 h w" has 4 dims but "(b t) c" names 2',
    ]


def test_a_function_defined_twice_is_called_as_its_last_definition(tmp_path: Path) -> None:
    # A body runs once the module is read, when the last `def` is the one bound; a name
    # that anything else binds as well stays unknown.
    source = (
        "def scale(d: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 3']:\n"
        "    return d * 2\n"
        "def g(x: Float[Tensor, 'n 3']) -> Float[Tensor, 'n']:\n"
        "    return scale(x)\n"
        "def scale(d: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 3']:\n"
        "    return d * 3\n"
        "def shift(d: Float[Tensor, 'n 3']) -> Float[Tensor, 'n 3']:\n"
        "    return d + 1\n"
        "def h(x: Float[Tensor, 'n 3']) -> Float[Tensor, 'n']:\n"
        "    return shift(x)\n"
        "shift = library.wrap(shift)\n"
    )
    assert check(tmp_path, source) == [
        '4: return of g(): scale(x) "n 3" has 2 dims, expected 1 for \'return\' "n"'
    ]


def test_matrix_decompositions(tmp_path: Path) -> None:
    source = (
        "def rebuilt(a: Float[Tensor, 'm n']) -> Float[Tensor, 'm n']:\n"
        "    u, s, vh = torch.linalg.svd(a, full_matrices=False)\n"
        "    return (u * s) @ vh\n"
        "def whitened(x: Float[Tensor, 'b 3'], cov: Float[Tensor, '4 3']) -> Float[Tensor, 'b 3']:\n"
        "    return x @ torch.linalg.inv(cov)\n"
        "def basis(a: Float[Tensor, 'm n']) -> Float[Tensor, 'n m']:\n"
        "    q, r = torch.linalg.qr(a)\n"
        "    return q\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '5: torch.linalg.inv(cov): needs square matrices, and "4 3" is 4 by 3',
        '8: return of basis(): dim \'n\' is n in a "m n" but m in q "m ?" (? is an unknown size)',
    ]
    assert annotated_relations(stats) == (2, 3)


def test_a_local_annotation_names_its_own_dims(tmp_path: Path) -> None:
    # At run time a local annotation binds no name of the call: `NR` below is whatever size
    # the value has (here nrays). Names of the function's own contract keep their meaning.
    source = (
        "def hits(rays: Float[Tensor, 'nrays 2 3']) -> Float[Tensor, 'nrays']:\n"
        "    o: Float[Tensor, 'NR 3'] = rays[:, 0]\n"
        "    later: Float[Tensor, 'NR 3']\n"
        "    later = torch.from_numpy(np.zeros((4, 3)))\n"
        "    return o.sum(-1)\n"
        "def wrong(rays: Float[Tensor, 'nrays 2 3']) -> Float[Tensor, 'nrays']:\n"
        "    o: Float[Tensor, 'NR 3'] = rays[:, 0]\n"
        "    return o\n"
        "def named(rays: Float[Tensor, 'nrays 2 3'], d: Float[Tensor, 'dims']) -> None:\n"
        "    o: Float[Tensor, 'dims 3'] = rays[:, 0]\n"
    )
    assert check(tmp_path, source) == [
        '8: return of wrong(): o "nrays 3" has 2 dims, expected 1 for \'return\' "nrays"',
        '10: o: dim \'dims\' is dims in the annotation "dims 3" but nrays in rays[:, 0] "nrays 3"',
    ]


def test_a_module_made_with_literal_sizes_is_checked_with_them(tmp_path: Path) -> None:
    source = """
class Scale(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: Float[Tensor, "b n={self.n}"]) -> Float[Tensor, "b n={self.n}"]:
        return x


def f(flag: bool, k: int) -> None:
    four = Scale(4)
    four(torch.zeros(2, 4))
    four(torch.zeros(2, 5))
    either = Scale(4) if flag else Scale(5)
    either(torch.zeros(2, 5))
    some = Scale(k)
    some(torch.zeros(2, 5))
"""
    # `either` is wrong where flag is true: a path the reading of each path sees.
    assert check(tmp_path, source) == [
        "14: forward(torch.zeros(2, 5)): dim 'n' is 5 in torch.zeros(2, 5) \"2 5\", "
        'expected 4 ("b n={self.n}")',
        "16: forward(torch.zeros(2, 5)): dim 'n' is 5 in torch.zeros(2, 5) \"2 5\", "
        'expected 4 ("b n={self.n}")',
    ]


def test_modules_built_in_a_method_that_init_calls(tmp_path: Path) -> None:
    # threestudio's BaseModule.__init__ calls self.configure(), which a subclass defines;
    # nerfstudio's FieldComponent subclasses call self.build_nn_modules() from __init__.
    source = (
        "class Base(nn.Module):\n"
        "    def __init__(self, cfg=None) -> None:\n"
        "        super().__init__()\n"
        "        self.configure()\n"
        "    def configure(self) -> None:\n"
        "        pass\n"
        "class Net(Base):\n"
        "    def configure(self) -> None:\n"
        "        self.up = nn.Linear(3, 64)\n"
        "    def forward(self, x: Float[Tensor, 'b 3']) -> Float[Tensor, 'b 3']:\n"
        "        return self.up(x)\n"
        "class Own(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.build()\n"
        "    def build(self) -> None:\n"
        "        self.proj = nn.Linear(4, 5)\n"
        "    def forward(self, x: Float[Tensor, 'b 5']) -> Float[Tensor, 'b 5']:\n"
        "        return self.proj(x)\n"
        "class Again(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.reset()\n"
        "    def reset(self) -> None:\n"
        "        self.proj = nn.Linear(4, 5)\n"
        "    def grow(self) -> None:\n"
        "        self.reset()\n"
        "    def forward(self, x: Float[Tensor, 'b 5']) -> Float[Tensor, 'b 5']:\n"
        "        return self.proj(x)\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '11: return of forward(): dim \'3\' is 64 in self.up(x) "b 64", expected 3 ("b 3")',
        '19: self.proj(x): last dim is 5 in x "b 5" but the layer\'s in_features is 4',
    ]
    # `Again.reset` runs again later (`grow`): what it builds is not known at `forward`,
    # and neither is what `Own.forward` returns once its call failed.
    assert annotated_relations(stats) == (1, 3)


def test_each_path_of_a_branch_is_checked_against_the_return(tmp_path: Path) -> None:
    source = (
        "def both(x: Float[Tensor, 'b d'], flag: bool) -> Float[Tensor, 'b d']:\n"
        "    if flag:\n"
        "        out = x\n"
        "    else:\n"
        "        out = x.T\n"
        "    return out\n"
        "def picked(x: Float[Tensor, 'b d'], flag: bool) -> Float[Tensor, 'b d']:\n"
        "    out = x.T if flag else x\n"
        "    return out\n"
        "def returned(x: Float[Tensor, 'b d'], flag: bool) -> Float[Tensor, 'b d']:\n"
        "    return x if flag else x.T\n"
        # Which path runs may depend on the sizes: not read one by one.
        "def square(x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "    return x.T if x.shape[0] == x.shape[1] else x\n"
        # Paths that a later test of the same flag rules out: not read one by one.
        "def undone(x: Float[Tensor, 'b d'], flag: bool) -> Float[Tensor, 'b d']:\n"
        "    if flag:\n"
        "        out = x.T\n"
        "    else:\n"
        "        out = x\n"
        "    if flag:\n"
        "        out = out.T\n"
        "    return out\n"
        # A path that leaves k as it was is often one that a config rules out.
        "def grouped(q: Float[Tensor, 'b h d'], k: Float[Tensor, 'b g d'], n: int, "
        "ungrouped: bool) -> Float[Tensor, 'b h d']:\n"
        "    if not ungrouped:\n"
        "        k = torch.repeat_interleave(k, dim=1, repeats=n)\n"
        "    return q + k\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '6: return of both(): dim \'b\' is b in x "b d" but d in out "d b"',
        '9: return of picked(): dim \'b\' is b in x "b d" but d in out "d b"',
        '11: return of returned(): dim \'b\' is b in x "b d" but d in x.T "d b"',
    ]
    # Each return counts once, from what the paths share.
    assert annotated_relations(stats) == (6, 6)


def test_a_tuple_of_numbers_parameter_holds_numbers(tmp_path: Path) -> None:
    source = (
        "from typing import Tuple\n"
        "def shift(x: Float[Tensor, 'b d'], s: Tuple[float, float]) -> Float[Tensor, 'b']:\n"
        "    return x * s[0] + s[1]\n"
        "def scale(x: Float[Tensor, 'b d'], s: tuple[float, ...]) -> Float[Tensor, 'b d']:\n"
        "    return x * s[-1]\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '3: return of shift(): x * s[0] + s[1] "b d" has 2 dims, expected 1 for \'return\' "b"',
    ]
    assert annotated_relations(stats) == (2, 2)


def test_lists_grown_in_loops_and_list_parameters_keep_their_items(tmp_path: Path) -> None:
    source = (
        "def grown(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd e'], n: int) "
        "-> Float[Tensor, 'b']:\n"
        "    outs = []\n"
        "    for i in range(n):\n"
        "        outs += [x @ w]\n"
        "    return torch.cat(outs, 0)\n"
        "def each(xs: list[Float[Tensor, 'b d']], w: Float[Tensor, 'd e']) "
        "-> Float[Tensor, 'b e']:\n"
        "    outs = []\n"
        "    for x in xs:\n"
        "        outs.append(x @ w)\n"
        "    return torch.stack(outs, dim=-1)\n"
        "def chunked(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd e'], n: int) "
        "-> Float[Tensor, 'b e']:\n"
        "    outs = []\n"
        "    for part in torch.chunk(x, n, dim=0):\n"
        "        outs.append(part @ w)\n"
        "    return torch.stack(outs, 1)\n"
        "def pair(xy: tuple[Float[Tensor, 'b d'], Float[Tensor, 'b e']]) -> Float[Tensor, 'b d']:\n"
        "    x, y = xy\n"
        "    return x + y\n"
    )
    assert check(tmp_path, source) == [
        '5: return of grown(): torch.cat(outs, 0) "? e" has 2 dims, expected 1 for '
        "'return' \"b\" (? is an unknown size)",
        '10: return of each(): torch.stack(outs, dim=-1) "b e ?" has 3 dims, expected 2 for '
        "'return' \"b e\" (? is an unknown size)",
        '15: return of chunked(): torch.stack(outs, 1) "? ? e" has 3 dims, expected 2 for '
        "'return' \"b e\" (? is an unknown size)",
        '18: x + y: x "b d" and y "b e": d lines up with e (torch would broadcast silently '
        "where one is 1, and fail otherwise)",
    ]


def test_a_tuple_of_numbers_attribute_holds_numbers(tmp_path: Path) -> None:
    source = (
        "from typing import Tuple\n"
        "class Config:\n"
        "    fovy_range: Tuple[float, float] = (40, 70)\n"
        "class Cameras:\n"
        "    cfg: Config\n"
        "    def __init__(self, cfg: dict) -> None:\n"
        "        self.cfg = parse(Config, cfg)\n"
        "        self.fovy_range = self.cfg.fovy_range\n"
        "    def sample(self, n: int) -> Float[Tensor, 'n 1']:\n"
        "        lo, hi = self.fovy_range\n"
        "        return torch.rand(n) * (hi - lo) + lo\n"
        "    def direct(self, x: Float[Tensor, 'n']) -> Float[Tensor, 'n 1']:\n"
        "        return x * self.cfg.fovy_range[1]\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '11: return of sample(): torch.rand(n) * (hi - lo) + lo "n" has 1 dims, expected 2 '
        "for 'return' \"n 1\"",
        '13: return of direct(): x * self.cfg.fovy_range[1] "n" has 1 dims, expected 2 '
        "for 'return' \"n 1\"",
    ]


def test_a_nested_function_reads_what_it_closes_over(tmp_path: Path) -> None:
    source = (
        "def outer(scale: Float[Tensor, '3'], n: int):\n"
        "    size = scale * 2\n"
        "    def func(p: Float[Tensor, 'N 3']) -> Float[Tensor, 'N 1']:\n"
        "        return ((p / size) ** 2).sum(dim=-1)\n"
        # Bound twice, or in a loop: which value the nested function sees is not known.
        "    twice = scale\n"
        "    twice = twice[:1]\n"
        "    def again(p: Float[Tensor, 'N 3']) -> Float[Tensor, 'N']:\n"
        "        return p * twice\n"
        "    for i in range(n):\n"
        "        k = scale[None]\n"
        "        def looped(p: Float[Tensor, 'N 3']) -> Float[Tensor, 'N']:\n"
        "            return p * k\n"
        "    return func\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '4: return of func(): ((p / size) ** 2).sum(dim=-1) "N" has 1 dims, expected 2 for '
        "'return' \"N 1\"",
    ]
    assert annotated_relations(stats) == (1, 3)


def test_a_branch_that_a_known_rank_rules_out_is_not_read(tmp_path: Path) -> None:
    # `x` is "b n": the bodies under `x.ndim == 3` and `not x.dim() <= 2` never run, nor does
    # the `else` of `len(x.shape) == 2`; what follows the `if` reads `x` as before.
    source = (
        "def f(x: Float[Tensor, 'b n'], y: Float[Tensor, 'n']) -> Float[Tensor, 'b']:\n"
        "    if x.ndim == 3:\n"
        "        x = x.mean(dim=2)\n"
        "    if 1 < x.ndim and not x.dim() <= 2:\n"
        "        x = x[:, :, 0]\n"
        "    if len(x.shape) == 2:\n"
        "        pass\n"
        "    else:\n"
        "        x = x.sum(-3)\n"
        "    return x @ y.unsqueeze(0)\n"
        "def g(x: Float[Tensor, 'b n']) -> Float[Tensor, 'b n']:\n"
        "    if x.ndim == 2 or x.ndim == 3:\n"
        "        x = x.sum(dim=2)\n"  # the branch may run: `x.ndim == 2` may be true
        "    return x\n"
    )
    assert check(tmp_path, source) == [
        '10: x @ y.unsqueeze(0): inner dim is n in x "b n" but 1 in y.unsqueeze(0) "1 n"; did '
        "you mean y.unsqueeze(0).mT?",
        '13: sum: dim 2 is out of range for x "b n", which has 2 dims (torch raises IndexError)',
    ]


def test_a_branch_that_a_known_literal_size_rules_out_is_not_read(tmp_path: Path) -> None:
    # On the loop's first pass `idx` is "0": its `else` runs only from the second pass on, when
    # `idx` has grown, so indexing from its end is no finding; `y` is always "0", and its body
    # never runs. Where nothing rules the branch out, the empty tensor's index is one.
    source = (
        "def keep(steps: list[int]) -> Float[Tensor, ' n']:\n"
        "    idx = torch.zeros(0)\n"
        "    for s in steps:\n"
        "        if idx.size(0) == 0:\n"
        "            start = 0.0\n"
        "        else:\n"
        "            start = float(idx[-1]) + float(idx[-1] - idx[-2])\n"
        "        idx = torch.cat((idx, torch.arange(s) + start))\n"
        "    y = torch.zeros(0)\n"
        "    if y.shape[0] > 0 or len(y) != 0:\n"
        "        print(y[0])\n"
        "    if y.shape[-1] >= 0:\n"
        "        print(y[0])\n"
        "    return idx\n"
    )
    assert check(tmp_path, source) == [
        '13: y[0]: index 0 is out of range for an axis of size 0 in y "0"',
    ]


def test_a_call_with_a_finding_still_binds_its_union_parameters(tmp_path: Path) -> None:
    # The mask does not fit; the query, a Union parameter, still says what the call gives,
    # so that the next finding is not hidden behind the first.
    source = (
        "def attend(\n"
        "    q: Union[Float[Tensor, 'b p d'], Float[Tensor, 'b p h d']],\n"
        "    mask: Float[Tensor, 'b 1 1 p'],\n"
        ") -> Float[Tensor, 'b p d']: ...\n"
        "def f(x: Float[Tensor, 'b p d'], m: Float[Tensor, 'b 1 p 1']) -> Float[Tensor, 'b d']:\n"
        "    out = attend(x, m)\n"
        "    return out\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '6: attend(x, m): dim \'1\' is p in m "b 1 p 1", expected 1 ("b 1 1 p");'
        " did you mean m.mT?",
        '7: return of f(): out "b p d" has 3 dims, expected 2 for \'return\' "b d"',
    ]
    assert annotated_relations(stats) == (3, 3)


def test_an_op_with_a_value_picked_by_a_condition_is_checked_on_each(tmp_path: Path) -> None:
    # `x + (0.0 if pos is None else pos)`: x itself, or x and pos broadcast together.
    source = (
        "def g(q: Float[Tensor, 'b p d']) -> Float[Tensor, 'b p d']: ...\n"
        "def f(x: Float[Tensor, 'b p d'], pos: Optional[Float[Tensor, 'b p d']],\n"
        "      bad: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "    y = g(x + (0.0 if pos is None else pos))\n"
        "    z = x + (0.0 if pos is None else bad)\n"
        "    return y\n"
    )
    stats = Stats()
    assert check(tmp_path, source, stats) == [
        '5: x + (0.0 if pos is None else bad): x "b p d" and (0.0 if pos is None else bad) "b d":'
        " p lines up with b (torch would broadcast silently where one is 1, and fail otherwise)",
        '6: return of f(): y "b p d" has 3 dims, expected 2 for \'return\' "b d"',
    ]
    assert annotated_relations(stats) == (2, 2)


def test_a_branch_that_a_tuples_known_count_rules_out_is_not_read(tmp_path: Path) -> None:
    # `picked` holds 2 values by the annotation of the method called: the body under
    # `len(picked) == 3` never runs where that holds (and where a subclass returns 3 values,
    # the guard is what keeps the unpacking right). Unpacking where the guard lets 2 values
    # through is still a finding.
    source = (
        "class Sampler:\n"
        "    def sample(self, x: Float[Tensor, 'v 4']) -> tuple[Float[Tensor, 'c'], Float[Tensor, 't']]:\n"
        "        raise NotImplementedError\n"
        "class Data:\n"
        "    sampler: Sampler\n"
        "    def get(self, x: Float[Tensor, 'v 4']) -> Float[Tensor, 'c']:\n"
        "        picked = self.sampler.sample(x)\n"
        "        if len(picked) == 2:\n"
        "            context, target = picked\n"
        "        if len(picked) == 3:\n"
        "            context, target, extra = picked\n"
        "        return context\n"
        "def f(x: Float[Tensor, 'b n']) -> Float[Tensor, 'b']:\n"
        "    pair = x.max(dim=-1)\n"
        "    if len(pair) != 3:\n"
        "        a, b, c = pair\n"
        "    return x.sum(-1)\n"
    )
    assert check(tmp_path, source) == ["16: unpacking 2 values into 3 names"]


def test_a_branch_that_a_local_constant_rules_out_is_not_read(tmp_path: Path) -> None:
    # `separate = False`, the one binding of the name in the function (in a loop too: a
    # read before it fails), holds wherever it is read: the body under `separate and ...`
    # never runs, and the other path of `not separate` never does. A name bound again
    # (under `if flip:`) decides nothing.
    source = (
        "def g(acts: Float[Tensor, 'p p n']) -> Float[Tensor, 'n']:\n"
        "    return acts.sum((0, 1))\n"
        "def f(act: Float[Tensor, 'p p n'], names: list[str]) -> None:\n"
        "    for name in names:\n"
        "        separate = False\n"
        "        if separate and name == 'embedding':\n"
        "            g(act[0])\n"
        "        g(act)\n"
        "def h(act: Float[Tensor, 'p p n']) -> Float[Tensor, 'n']:\n"
        "    separate = False\n"
        "    if not separate:\n"
        "        return g(act[0])\n"
        "    return g(act)\n"
        "def k(act: Float[Tensor, 'p p n'], flip: bool) -> Float[Tensor, 'n']:\n"
        "    separate = False\n"
        "    if flip:\n"
        "        separate = True\n"
        "    if separate:\n"
        "        return g(act[0])\n"
        "    return g(act)\n"
    )
    assert check(tmp_path, source) == [
        '12: g(act[0]): act[0] "p n" has 2 dims, expected 3 for \'acts\' "p p n"',
        '19: g(act[0]): act[0] "p n" has 2 dims, expected 3 for \'acts\' "p p n"',
    ]


def test_a_branch_under_a_rank_flag_the_annotation_rules_out_is_not_read(tmp_path: Path) -> None:
    # `one = faces.ndim == 2` with faces annotated "b nf 3": the branch never runs.
    source = (
        "def f(faces: Float[Tensor, 'b nf 3']) -> Float[Tensor, 'b nf 3']:\n"
        "    one, n = faces.ndim == 2, faces.shape[0]\n"
        "    if one:\n"
        "        faces = faces[None, :, :]\n"
        "    return faces\n"
    )
    assert check(tmp_path, source) == []
    # Where the flag may hold, the branch is read: its unsqueeze breaks the return.
    maybe = source.replace("faces.ndim == 2", "faces.ndim == 3")
    assert len(check(tmp_path, maybe)) == 1


def test_a_parameter_with_a_float_or_bool_default_is_a_number(tmp_path: Path) -> None:
    # `scale=0.0` with no annotation is read as `scale: float`: it broadcasts with anything,
    # so a tensor scaled by it keeps its shape on the path that scales it.
    source = (
        "def f(x: Float[Tensor, 'n 3'], scale=0.0, flip=False) -> Float[Tensor, 'n 6']:\n"
        "    if scale > 0:\n"
        "        x = x + torch.randn(3) * scale\n"
        "    if flip:\n"
        "        x = -x\n"
        "    return torch.cat([x, x], dim=0)\n"
        "def g(x: Float[Tensor, 'n 3'], scale=-1.5) -> Float[Tensor, 'n 3']:\n"
        "    return x * scale\n"
    )
    assert check(tmp_path, source) == [
        '6: return of f(): dim \'n\' is n in x "n 3" but 2*n in torch.cat([x, x], dim=0) "2*n 3"',
    ]


def test_a_call_of_a_nested_function_reads_its_closure(tmp_path: Path) -> None:
    # `pick` takes no tensor: what it gives comes of `inv`, a name of the enclosing body,
    # in that body's sizes. A name bound twice there is not read.
    source = (
        "def outer(m: Float[Tensor, 'b 3 3'], v: Float[Tensor, 'b 3']) -> Float[Tensor, 'b 2']:\n"
        "    inv = m.inverse()\n"
        "    def pick(vec):\n"
        "        out = inv[:, :, 0] * 2.0 if vec else inv[:, :, 1]\n"
        "        return out.sum(dim=-1)\n"
        "    left = pick(0.5)\n"
        "    twice = v\n"
        "    twice = twice[:, :2]\n"
        "    def same(k):\n"
        "        return twice * k\n"
        "    right = pick(1.0)\n"
        "    both = same(2.0)\n"
        "    return torch.stack((left, right), dim=0)\n"
    )
    assert check(tmp_path, source) == [
        "13: return of outer(): dim 'b' is b in m \"b 3 3\" but 2 in "
        'torch.stack((left, right), dim=0) "2 b" (holds only if b == 2, and nothing here '
        "says they are equal)",
    ]


def test_a_helper_read_with_the_call_s_shapes_takes_the_numbers_it_is_given(
    tmp_path: Path,
) -> None:
    # `lo` and `hi` are floats where `rescale` is called: its body, read with the call's
    # tensor, gives that tensor's shape; given a tensor in their place, nothing is known.
    source = (
        "def rescale(d, lo, hi):\n"
        "    return d * (hi - lo) + lo\n"
        "def f(x: Float[Tensor, 'n 1 h w'], lo: float, hi: float) -> Float[Tensor, 'n h w']:\n"
        "    return rescale(x, lo, hi)\n"
        "def g(x: Float[Tensor, 'n 1 h w'], t) -> Float[Tensor, 'n h w']:\n"
        "    return rescale(x, t, 2.0)\n"
    )
    assert check(tmp_path, source) == [
        "4: return of f(): rescale(x, lo, hi) \"n 1 h w\" has 4 dims, expected 3 for 'return' "
        '"n h w"',
    ]


def test_a_helper_given_only_sizes_is_read_with_them(tmp_path: Path) -> None:
    # `grid(h, w)` takes no tensor: read with the caller's sizes, it gives "3 h w" in them.
    source = (
        "def grid(height, width, scale):\n"
        "    ys = torch.linspace(-1, 1, height) * scale\n"
        "    xs = torch.linspace(-1, 1, width)\n"
        "    y, x = torch.meshgrid(ys, xs, indexing='ij')\n"
        "    return torch.stack([x, y, torch.ones_like(x)])\n"
        "def f(img: Float[Tensor, 'b 1 h w']) -> Float[Tensor, 'b 3 h w']:\n"
        "    b, _, h, w = img.shape\n"
        "    return grid(h, w, 0.5)[None] * img\n"
        "def g(img: Float[Tensor, 'b 1 h w']) -> Float[Tensor, 'b 3 h w']:\n"
        "    b, _, h, w = img.shape\n"
        "    return grid(w, h, 0.5)[None] * img\n"
    )
    assert check(tmp_path, source) == [
        '11: grid(w, h, 0.5)[None] * img: grid(w, h, 0.5)[None] "1 3 w h" and img '
        '"b 1 h w": h lines up with w (torch would broadcast silently where one is 1, and '
        "fail otherwise)",
    ]


def test_a_nested_function_given_a_tensor_reads_its_closure_too(tmp_path: Path) -> None:
    # `rotate(v)` is given a tensor and reads `inv`, a name of the enclosing body: what it
    # gives is in that body's sizes.
    source = (
        "def outer(m: Float[Tensor, 'b 3 3'], v: Float[Tensor, 'b 3']) -> Float[Tensor, 'b 3']:\n"
        "    inv = m.inverse()\n"
        "    def rotate(vec):\n"
        "        return (inv @ vec[..., None])[..., 0]\n"
        "    return torch.cat([rotate(v), rotate(v)], dim=-1)\n"
    )
    assert check(tmp_path, source) == [
        "5: return of outer(): dim '3' is 6 in torch.cat([rotate(v), rotate(v)], dim... "
        '"b 6", expected 3 ("b 3")',
    ]
