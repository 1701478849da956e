"""Shapes that fresh code used to lose, so that the relations after them went unchecked: an
index tensor whose kind (int or bool) the code says through rebindings and methods; each
test shows the shape now known and a bug it lets the checker catch."""

from pathlib import Path

from shapesafe._static import check_file
from shapesafe.shapes import shapes_of


def shapes_and_findings(tmp_path: Path, source: str) -> tuple[dict[str, str], list[str]]:
    """What the checker infers for each name `source` binds (the last binding of each), and
    its findings as `"line: message"`."""
    path = tmp_path / "snippet.py"
    path.write_text(source)
    shapes = {b.name: b.text() for b in shapes_of(path)}
    return shapes, [f"{f.line}: {f.message}" for f in check_file(path)]


ROTARY = """\
import torch
from jaxtyping import Float, Int
from torch import Tensor, nn


class Rotary(nn.Module):
    def __init__(self, n_ctx: int, rotary_dim: int) -> None:
        super().__init__()
        self.n_ctx = n_ctx
        self.register_buffer("cos_table", torch.ones(n_ctx, rotary_dim))

    def offsets(self, mask: Int[Tensor, "batch pos"]) -> Int[Tensor, "batch pos"]:
        return mask.cumsum(dim=1) - 1

    def forward(
        self,
        x: Float[Tensor, "batch pos rotary_dim"],
        position_ids: Int[Tensor, "batch pos"] | None = None,
        mask: Int[Tensor, "batch pos"] | None = None,
    ) -> Float[Tensor, "batch pos rotary_dim"]:
        if position_ids is None:
            if mask is not None:
                position_ids = self.offsets(mask)
            else:
                position_ids = torch.arange(x.shape[1]).unsqueeze(0)
        else:
            position_ids = position_ids[:, : x.shape[1]]
        position_ids = position_ids.clamp(max=self.n_ctx - 1)
        cos = self.cos_table[position_ids]
        return x * cos
"""


def test_an_index_rebound_through_branches_and_a_clamp_stays_an_int_index(
    tmp_path: Path,
) -> None:
    # Each binding says int: the parameter's annotation, a method's return annotation,
    # `torch.arange`; a slice and a clamp of the name keep what it held.
    shapes, findings = shapes_and_findings(tmp_path, ROTARY)
    assert shapes["cos"] == "(?, pos, rotary_dim)"
    assert findings == []
    _, findings = shapes_and_findings(tmp_path, ROTARY.replace("x * cos", "x * cos.mT"))
    assert findings == [
        '30: x * cos.mT: x "batch pos rotary_dim" and cos.mT "? rotary_dim pos": rotary_dim '
        "lines up with pos (torch would broadcast silently where one is 1, and fail otherwise) "
        "(? is an unknown size)"
    ]


def test_an_index_a_binding_makes_a_float_is_no_int_index(tmp_path: Path) -> None:
    source = ROTARY.replace(
        "position_ids = torch.arange(x.shape[1]).unsqueeze(0)",
        "position_ids = torch.rand(1, x.shape[1])",
    )
    shapes, _ = shapes_and_findings(tmp_path, source)
    assert "cos" not in shapes or shapes["cos"].startswith("unknown")


LAYERS = """\
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn


class MaskedLinear(nn.Linear):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_buffer("bias_mask", torch.ones_like(self.bias))

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias * self.bias_mask)


class PlainLinear(nn.Linear):
    pass


class Attention(nn.Module):
    def __init__(self, d: int, masked: bool) -> None:
        super().__init__()
        linear_cls = MaskedLinear if masked else nn.Linear
        self.qkv = linear_cls(d, d * 3, bias=True)
        self.masked = MaskedLinear(d, d * 3)
        self.plain = PlainLinear(d, d)

    def forward(self, x: Float[Tensor, "batch n d"]) -> Float[Tensor, "batch n d"]:
        qkv = self.qkv(x)
        masked = self.masked(x)
        plain = self.plain(x)
        q, k, v = qkv.chunk(3, dim=-1)
        return BODY
"""


def test_a_layer_subclass_and_a_layer_class_picked_at_run_time_keep_their_sizes(
    tmp_path: Path,
) -> None:
    # `MaskedLinear` hands its arguments on to `nn.Linear` and reads its weights in its own
    # forward; `PlainLinear` keeps nn.Linear's forward; `linear_cls` is one class or the
    # other, each made with the same sizes.
    shapes, findings = shapes_and_findings(tmp_path, LAYERS.replace("BODY", "q + plain"))
    assert shapes["qkv"] == "(batch, n, 3*d)"
    assert shapes["masked"] == "(batch, n, 3*d)"
    assert shapes["plain"] == "(batch, n, d)"
    assert findings == []
    _, findings = shapes_and_findings(tmp_path, LAYERS.replace("BODY", "q.transpose(0, 1)"))
    assert findings == [
        "33: return of forward(): dim 'batch' is batch in x \"batch n d\" but n in "
        'q.transpose(0, 1) "n batch d"'
    ]
    _, findings = shapes_and_findings(tmp_path, LAYERS.replace("BODY", "plain.transpose(0, 1)"))
    assert findings == [
        "33: return of forward(): dim 'batch' is batch in x \"batch n d\" but n in "
        'plain.transpose(0, 1) "n batch d"'
    ]


def test_a_scatter_into_a_tensor_keeps_its_shape(tmp_path: Path) -> None:
    source = """\
import torch
from jaxtyping import Float
from torch import Tensor


def top_k(x: Float[Tensor, "batch d_sae"], ids) -> Float[Tensor, "batch d_sae"]:
    mask = torch.zeros_like(x).scatter(-1, ids, 1.0)
    return torch.mul(mask, x).T
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert shapes["mask"] == "(batch, d_sae)"
    assert findings == [
        "8: return of top_k(): dim 'batch' is batch in x \"batch d_sae\" but d_sae in "
        'torch.mul(mask, x).T "d_sae batch"'
    ]


def test_a_union_of_tensors_of_any_shape_is_a_tensor_of_any_shape(tmp_path: Path) -> None:
    source = """\
import torch
from jaxtyping import Float, Int
from torch import Tensor


def loss(
    batch: Int[Tensor, "..."] | Float[Tensor, "..."], target: Float[Tensor, "... vocab"]
) -> Float[Tensor, "..."]:
    return batch
"""
    path = tmp_path / "snippet.py"
    path.write_text(source)
    assert [b.text() for b in shapes_of(path) if b.name == "batch"] == ["(...)"]


def test_a_torch_function_picked_at_run_time_is_called_by_its_rule(tmp_path: Path) -> None:
    source = """\
import einops
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor


def labels(
    batch: Float[Tensor, "batch n"], coeffs: Float[Tensor, "n"], relu: bool
) -> Float[Tensor, "batch n"]:
    weighted = einops.einsum(batch, coeffs, "batch n, n -> n batch")
    act_fn = F.relu if relu else F.gelu
    out = act_fn(weighted) + batch
    return out
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert shapes["weighted"] == "(n, batch)"
    assert findings == [
        '12: act_fn(weighted) + batch: act_fn(weighted) "n batch" and batch "batch n": batch '
        "lines up with n (torch would broadcast silently where one is 1, and fail otherwise)"
    ]


def test_a_tensor_or_a_number_on_two_paths_is_read_as_the_tensor(tmp_path: Path) -> None:
    # Where it is a number it broadcasts with anything, so what follows must hold for the
    # tensor; and a new tensor of `()` has no dims.
    source = """\
import torch
from jaxtyping import Float
from torch import Tensor


class Norm(torch.nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))
        self.std: float | None = None

    def forward(self, x: Float[Tensor, "batch d"]) -> Float[Tensor, "batch d"]:
        if self.std is None:
            std = x.std(dim=-1, keepdim=True)
        else:
            std = self.std
        y = x / std
        zero = x.new_zeros(())
        return (y * self.weight + zero).T
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert (shapes["y"], shapes["zero"]) == ("(batch, d)", "()")
    assert findings == [
        "19: return of forward(): dim 'batch' is batch in x \"batch d\" but d in "
        '(y * self.weight + zero).T "d batch"'
    ]


def test_a_plain_list_of_modules_made_in_a_comprehension_holds_modules(tmp_path: Path) -> None:
    source = """\
from jaxtyping import Float
from torch import Tensor, nn


class Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.up = nn.Linear(d, d)

    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
        return self.up(x)


class Model(nn.Module):
    def __init__(self, d: int, n: int) -> None:
        super().__init__()
        self.blocks: list[Block] = [Block(d) for _ in range(n)]
        self.layers = [nn.Linear(d, d) for _ in range(n)]

    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
        for layer in self.layers:
            y = layer(x)
        for block in self.blocks:
            z = block(x)
        return z.T
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert (shapes["y"], shapes["z"]) == ("(b, d)", "(b, d)")
    assert findings == ['25: return of forward(): dim \'b\' is b in x "b d" but d in z.T "d b"']


def test_small_rules_that_keep_shapes_known(tmp_path: Path) -> None:
    # A mask made with `dtype=torch.bool`, an index cast with `.to(torch.long)`, a tensor
    # of `()`, `nonzero` as a method, `bincount`.
    source = """\
import torch
from jaxtyping import Float, Int
from torch import Tensor


def f(
    costs: Float[Tensor, "k k"], ids: Int[Tensor, "n"], x: Float[Tensor, "a b"],
    p: Float[Tensor, "m"],
) -> Float[Tensor, "a m"]:
    off_diagonal = costs[~torch.eye(costs.shape[0], dtype=torch.bool)]
    zero = torch.zeros((), device=costs.device)
    hits = (ids == 3).nonzero(as_tuple=False).squeeze(-1)
    counts = torch.bincount(ids, minlength=5)
    picked = x[:, p.to(torch.long)] + zero
    return picked.T
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert [shapes[n] for n in ("off_diagonal", "zero", "hits", "counts", "picked")] == [
        "(?)",
        "()",
        "(?)",
        "(?)",
        "(a, m)",
    ]
    assert findings == ['15: return of f(): dim \'a\' is a in x "a b" but m in picked.T "m a"']


def test_a_scatter_in_place_keeps_the_shape_and_checks_its_index(tmp_path: Path) -> None:
    source = """\
import torch
from jaxtyping import Float
from torch import Tensor


def sample(logits: Float[Tensor, "b v"], greedy: bool) -> Float[Tensor, "b 1"]:
    probs = torch.zeros_like(logits)
    probs.scatter_(1, logits.argmax(dim=-1, keepdim=KEEP), 1.0)
    return torch.multinomial(probs, num_samples=1)
"""
    shapes, findings = shapes_and_findings(tmp_path, source.replace("KEEP", "True"))
    assert shapes["probs"] == "(b, v)"
    assert findings == []
    _, findings = shapes_and_findings(tmp_path, source.replace("KEEP", "False"))
    assert findings == [
        '8: scatter_: index logits.argmax(dim=-1, keepdim=False) "b" has 1 dims but probs "b v" '
        "has 2 (torch raises RuntimeError: they must have the same number of dims)"
    ]


def test_a_method_read_from_its_body_takes_the_sizes_its_instance_was_made_with(
    tmp_path: Path,
) -> None:
    source = """\
import torch
from jaxtyping import Float
from torch import Tensor, nn


class Encoder(nn.Module):
    def __init__(self, d_in: int, d_sae: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.zeros(d_in, d_sae))

    def encode(self, x):
        return x @ self.W


class Model(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.enc = Encoder(d, 16)

    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b 8"]:
        y = self.enc.encode(x)
        return y
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert shapes["y"] == "(b, 16)"
    assert findings == ['22: return of forward(): dim \'8\' is 16 in y "b 16", expected 8 ("b 8")']


def test_a_parameter_that_is_a_tensor_or_a_number_is_read_as_the_tensor(tmp_path: Path) -> None:
    source = """\
from jaxtyping import Float, Int
from torch import Tensor


def mean_loss(
    sum_loss: Float[Tensor, "batch"], n_examples: Int[Tensor, "n"] | int
) -> Float[Tensor, "batch"]:
    loss = sum_loss / n_examples
    return loss
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert shapes["n_examples"] == "(n)"
    assert findings == [
        '8: sum_loss / n_examples: sum_loss "batch" and n_examples "n": batch lines up with n '
        "(torch would broadcast silently where one is 1, and fail otherwise)"
    ]


def test_a_layer_subclass_with_its_own_init_keeps_the_sizes_it_gives_the_layer(
    tmp_path: Path,
) -> None:
    # `ZeroLinear` keeps nn.Linear's forward; `CastedLinear` reads the weight in its own.
    source = """\
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor, nn


class ZeroLinear(nn.Linear):
    def __init__(self, i: int, o: int) -> None:
        super().__init__(i, o, bias=False)
        nn.init.zeros_(self.weight)


class CastedLinear(nn.Linear):
    def __init__(self, in_f: int, out_f: int) -> None:
        super().__init__(in_f, out_f, bias=False)

    def forward(self, x):
        return F.linear(x, self.weight.type_as(x))


class Model(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.zero = ZeroLinear(d, 16)
        self.casted = CastedLinear(d, 8)

    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b 16"]:
        z = self.zero(x)
        c = self.casted(x)
        return c
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert (shapes["z"], shapes["c"]) == ("(b, 16)", "(b, 8)")
    assert findings == ['29: return of forward(): dim \'16\' is 8 in c "b 8", expected 16 ("b 16")']


def test_unpacking_the_shape_of_a_run_gives_it_that_many_axes(tmp_path: Path) -> None:
    # `b, n, d = x.shape` fails unless x has three axes: past it, x has them.
    source = """\
from jaxtyping import Float
from torch import Tensor


def heads(x: Float[Tensor, "*batch d"], h: int) -> Float[Tensor, "*batch d"]:
    b, n, d = x.shape
    y = x.reshape(b, n, h, d // h)
    return y
"""
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert shapes["y"] == "(?batch[0], ?batch[1], h, d//h)"
    assert findings == [
        "8: return of heads(): dim 'd' is d in x \"*batch d\" but d//h in y "
        '"?batch[0] ?batch[1] h d//h"'
    ]


def test_the_weights_of_two_instances_of_one_layer_subclass_are_their_own(tmp_path: Path) -> None:
    # Each instance's weight is in the sizes its constructor call gave, not the class's
    # own `d_out d_in`, which both instances would otherwise share.
    source = (
        "import torch\nfrom einops import einsum\nfrom torch import Tensor, nn\n\n\n"
        "class Linear(nn.Linear):\n"
        "    def __init__(self, d_in: int, d_out: int) -> None:\n"
        "        super().__init__(d_in, d_out, bias=False)\n\n\n"
        "class Model(nn.Module):\n"
        "    def __init__(self, d_input: int, d_hidden: int, d_output: int) -> None:\n"
        "        super().__init__()\n"
        "        self.embed = Linear(d_input, d_hidden)\n"
        "        self.head = Linear(d_hidden, d_output)\n\n"
        "    def decompose(self) -> Tensor:\n"
        "        w_u, w_e = self.head.weight, self.embed.weight\n"
        "        return einsum(w_u, w_e, 'cls emb, emb inp -> cls inp')\n"
    )
    assert shapes_and_findings(tmp_path, source)[1] == []
    wrong = source.replace("'cls emb, emb inp", "'cls emb, inp emb")
    found = shapes_and_findings(tmp_path, wrong)[1]
    assert len(found) == 1 and "d_hidden" in found[0] and "d_input" in found[0]


def test_a_weight_sized_by_a_product_of_the_constructors_sizes(tmp_path: Path) -> None:
    # `Bilinear(d, d)` holds a weight of `2*d_out` rows in its class's sizes: in the caller's,
    # `2*d_hidden`, so its halves are `d_hidden` by `d_hidden`.
    source = (
        "import torch\nfrom einops import rearrange\nfrom torch import Tensor, nn\n\n\n"
        "class Bilinear(nn.Linear):\n"
        "    def __init__(self, d_in: int, d_out: int) -> None:\n"
        "        super().__init__(d_in, 2 * d_out, bias=False)\n\n\n"
        "class Model(nn.Module):\n"
        "    def __init__(self, d_hidden: int, d_output: int) -> None:\n"
        "        super().__init__()\n"
        "        self.block = Bilinear(d_hidden, d_hidden)\n"
        "        self.head = nn.Linear(d_hidden, d_output)\n\n"
        "    def decompose(self) -> Tensor:\n"
        "        l, r = rearrange(self.block.weight, '(s o) h -> s o h', s=2)\n"
        "        return self.head.weight @ l @ r\n"
    )
    shapes, findings = shapes_and_findings(tmp_path, source)
    assert findings == []
    assert shapes["l"] == "(d_hidden, d_hidden)"
