"""The static checker on a class's sizes named like a method's dims (`_facts.named_like_dims`):
the size of `self.n_classes = n_classes` (or of `cfg.n_classes` in a layer the class builds)
and the dim `n_classes` are one size, so that swapping two of them is a finding; a size of the
class named like no dim is identified as before, by the first size it must equal."""

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


PROBE = """\
class Probe(nn.Module):
    def __init__(self, n_latents: int, n_classes: int, hidden: int):
        super().__init__()
        self.n_latents = n_latents
        self.n_classes = n_classes
        self.fc = nn.Linear(hidden, n_classes)

    def loss(
        self, x: Float[Tensor, "n n_latents"], y: Float[Tensor, "n n_classes"]
    ) -> Float[Tensor, "n_latents n_classes"]:
        return torch.zeros(({first}, {second}))
"""


def test_two_sizes_of_the_class_swapped_is_a_finding(tmp_path: Path) -> None:
    source = PROBE.format(first="self.n_classes", second="self.n_latents")
    assert check(tmp_path, source) == [
        "11: return of loss(): dim 'n_latents' is n_latents in x \"n n_latents\" but n_classes "
        'in torch.zeros((self.n_classes, self.n_l... "n_classes n_latents"'
    ]


def test_the_sizes_of_the_class_in_their_places_are_no_finding(tmp_path: Path) -> None:
    assert check(tmp_path, PROBE.format(first="self.n_latents", second="self.n_classes")) == []


@pytest.mark.parametrize(
    "body",
    [
        # `hidden` is named like no dim: the first size it must equal identifies it.
        "def forward(self, x: Float[Tensor, 'b d']) -> Float[Tensor, 'b n_classes']:\n"
        "        return self.fc(x)\n",
        # A dim named like no parameter of `__init__` says nothing of the class's sizes.
        "def forward(self, x: Float[Tensor, 'b hidden_size']) -> Float[Tensor, 'b k']:\n"
        "        return self.fc(x)\n",
    ],
    ids=["size-named-like-no-dim", "dim-named-like-no-size"],
)
def test_sizes_not_named_alike_are_identified_as_before(tmp_path: Path, body: str) -> None:
    source = PROBE.format(first="self.n_latents", second="self.n_classes") + "    " + body
    assert check(tmp_path, source) == []


UNEMBED = """\
from dataclasses import dataclass
@dataclass
class Cfg:
    d_model: int
    d_vocab: int
    n_ctx: int
class Unembed(nn.Module):
    def __init__(self, cfg: Cfg):
        super().__init__()
        self.cfg = cfg
        self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.d_vocab))
    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_vocab"]:
        return x @ self.W_U
    def bias(self, x: Float[Tensor, "pos d_model"]) -> Float[Tensor, "{dims}"]:
        return torch.zeros({sizes})
"""


def test_config_fields_the_class_holds_are_the_dims_of_their_name(tmp_path: Path) -> None:
    source = UNEMBED.format(dims="d_model d_vocab", sizes="self.cfg.d_vocab, self.cfg.d_model")
    assert check(tmp_path, source) == [
        "15: return of bias(): dim 'd_model' is d_model in x \"pos d_model\" but d_vocab in "
        'torch.zeros(self.cfg.d_vocab, self.cf... "d_vocab d_model"'
    ]


@pytest.mark.parametrize(
    ("dims", "sizes"),
    [
        ("d_model d_vocab", "self.cfg.d_model, self.cfg.d_vocab"),
        # n_ctx sizes nothing the class holds: the first size it must equal identifies it.
        ("pos", "self.cfg.n_ctx"),
    ],
    ids=["fields-in-their-places", "field-the-class-holds-no-size-of"],
)
def test_config_fields_in_their_places_are_no_finding(
    tmp_path: Path, dims: str, sizes: str
) -> None:
    assert check(tmp_path, UNEMBED.format(dims=dims, sizes=sizes)) == []


HARVESTER = """\
class Harvester(nn.Module):
    def __init__(self, n_layers: int, vocab_size: int):
        super().__init__()
        n_components = 4 * n_layers
        self.mass: Float[Tensor, "n_components vocab"] = torch.zeros(n_components, vocab_size)

    def add(
        self,
        probs: Float[Tensor, "pos vocab"],
        firing: Float[Tensor, "pos n_comp"],
        other: Float[Tensor, "pos n_other"],
    ) -> None:
        self.mass += {update}
"""


def test_an_attribute_annotated_in_init_has_sizes_of_the_instance(tmp_path: Path) -> None:
    # `n_components` is a name of `__init__`'s, a size the instance has: a method that
    # calls it `n_comp` is no finding.
    assert check(tmp_path, HARVESTER.format(update="firing.T @ probs")) == []


@pytest.mark.parametrize(
    ("update", "found"),
    [
        (
            "probs.T @ firing",
            '13: self.mass += (probs.T @ firing): self.mass "n_components vocab" and '
            '(probs.T @ firing) "vocab n_comp": vocab lines up with n_comp (torch would '
            "broadcast silently where one is 1, and fail otherwise)",
        ),
        (
            "firing.T @ probs\n        self.mass += other.T @ probs",
            '14: self.mass += (other.T @ probs): self.mass "n_components vocab" and '
            '(other.T @ probs) "n_other vocab": n_components lines up with n_other (torch '
            "would broadcast silently where one is 1, and fail otherwise; holds only if "
            "n_components == n_other, and nothing here says they are equal)",
        ),
    ],
    ids=["a-dim-of-the-method-swapped", "two-sizes-for-one"],
)
def test_an_attribute_annotated_in_init_used_with_two_sizes_is_a_finding(
    tmp_path: Path, update: str, found: str
) -> None:
    assert check(tmp_path, HARVESTER.format(update=update)) == [found]


HEADS = """\
class Attn(nn.Module):
    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.head_dim = d_model // n_heads

    def zeros(
        self, q: Float[Tensor, "b s head_dim"], v: Float[Tensor, "b s d"]
    ) -> Float[Tensor, "b s {ret}"]:
        return torch.zeros(q.shape[0], q.shape[1], self.head_dim)
"""


def test_a_size_the_class_computes_is_the_dim_of_its_name(tmp_path: Path) -> None:
    # `self.head_dim = d_model // n_heads` and a method's dim `head_dim` are one size.
    assert check(tmp_path, HEADS.format(ret="head_dim")) == []
    assert check(tmp_path, HEADS.format(ret="d")) == [
        "9: return of zeros(): dim 'd' is d in v \"b s d\" but d_model//n_heads in "
        'torch.zeros(q.shape[0], q.shape[1], s... "b s d_model//n_heads"'
    ]
