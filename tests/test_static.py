"""The static checker: the corpus in tests/static, exact messages, silence on unknowns, the CLI."""

import ast
import math
import re
import runpy
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe import ShapeError
from shapesafe._contract import Bindings, parse_spec
from shapesafe._static import Finding, check_file
from shapesafe._static import _joins as J
from shapesafe._static import _torch as T
from shapesafe._static._report import Stats
from shapesafe._static._rules.linalg import decomposed
from shapesafe._static._unify import Group, Shape, Size, Unifier, lit, run_item
from shapesafe._static._values import ListV, Mismatch, TupV
from shapesafe.check import main

STATIC = Path(__file__).resolve().parent / "static"
# models/: raw torch and nn.Module code, each bug with a correct twin.
MODELS = sorted((STATIC / "models").glob("*.py"))
CORPUS = sorted(STATIC.glob("*.py")) + MODELS
BUGGY = [p for p in CORPUS if "# expect: shape" in p.read_text()]
CLEAN = [p for p in CORPUS if p not in BUGGY]
_RUNTIME = re.compile(r"^# runtime: (\w+)$", re.MULTILINE)


def expected_lines(path: Path) -> list[int]:
    lines = path.read_text().splitlines()
    return [i for i, line in enumerate(lines, 1) if "# expect: shape" in line]


def test_corpus_has_both_kinds() -> None:
    assert len(BUGGY) >= 10 and len(CLEAN) >= 3


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in CORPUS])
def test_corpus_findings_are_exactly_the_marked_lines(path: Path) -> None:
    findings = check_file(path)
    assert [f.line for f in findings] == expected_lines(path)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_runtime_agrees(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Static and runtime agree: buggy files raise when run, clean files run to the end.
    monkeypatch.syspath_prepend(str(STATIC))
    if path in CLEAN:
        runpy.run_path(str(path), run_name="__main__")
        return
    named = _RUNTIME.search(path.read_text())
    error: type[Exception] = ShapeError
    if named is not None and named.group(1) == "silent":
        # torch broadcasts these without an error; the file asserts the shape it gets.
        runpy.run_path(str(path), run_name="__main__")
        return
    if named is not None:
        error = {"RuntimeError": RuntimeError, "ShapeError": ShapeError}[named.group(1)]
    with pytest.raises(error) as info:
        runpy.run_path(str(path), run_name="__main__")
    assert type(info.value) is error


MESSAGES = [
    pytest.param(
        "linear_transposed_weight",
        "linear(x, w_t): dim 'in_features' is d_in in x \"b s d_in\" but d_out in w_t "
        '"d_in d_out"; did you mean w_t.mT?',
        id="transposed-weight",
    ),
    pytest.param(
        "qk_without_transpose",
        'matmul(q, k): dim \'n\' is d in q "b s d" but t in k "b t d"; did you mean k.mT?',
        id="qk-no-transpose",
    ),
    pytest.param(
        "qk_operator",
        'q @ k: inner dim is d in q "b s d" but t in k "b t d"; did you mean k.mT?',
        id="qk-operator",
    ),
    pytest.param(
        "causal_mask_shape",
        'apply_mask(scores, mask): dim \'k\' is t in scores "b s t" but s in mask "s s"',
        id="causal-mask",
    ),
    pytest.param(
        "causal_mask_from_op",
        'apply_mask(scores, mask): dim \'k\' is t in scores "b s t" but s in mask "s s"',
        id="causal-mask-from-op",
    ),
    pytest.param(
        "bias_sized_in",
        "linear(x, weight, bias): dim 'out_features' is d_out in weight \"d_out d_in\" "
        'but d_in in bias "d_in"',
        id="bias-sized-in",
    ),
    pytest.param(
        "literal_dims",
        'luminance(image): dim \'3\' is 4 in image "n 4", expected 3 ("n 3")',
        id="literal-fixed",
    ),
    pytest.param(
        "literal_dims",
        'linear(tokens, table): dim \'in_features\' is 32 in tokens "b 32" but 16 in table "64 16"',
        id="literal-sizes",
    ),
    pytest.param(
        "batch_mismatch",
        'matmul(a, b): dims \'*batch\' are (b h) in a "b h m n" but (b) in b "b n p"',
        id="batch-rank",
    ),
    pytest.param(
        "batch_mismatch",
        'add(x, y): dim \'*shape[-2]\' is s in x "*batch s d" but t in y "*batch t d"',
        id="batch-inner",
    ),
    pytest.param(
        "wrong_return",
        'return of mixer(): dim \'d\' is d in x "b s d" but e in ss.linear(x, w) "b s e"',
        id="wrong-return",
    ),
    pytest.param(
        "wrong_return",
        'return of heads(): h "b 2 s e//2" has 4 dims, expected 3 for \'return\' "b s e"',
        id="wrong-return-rank",
    ),
    pytest.param(
        "models/fn_paren_groups",
        'return of flatten(): acts.reshape(batch * seq, acts.shape[... "batch*seq d" has 2 dims, '
        "expected 3 for 'return' \"(batch seq) d\" (jaxtyping reads '(batch', 'seq)' as "
        'separate dims: parentheses do not group axes; write "batch*seq d" where those dims '
        'are bound by other arguments, else name the merged axis ("batch_seq d"))',
        id="parentheses",
    ),
    pytest.param(
        "models/mod_picked_at_runtime",
        'resid + self.mix(resid, cache): resid "batch pos d_model" and self.mix(resid, cache) '
        '"batch d_model": pos lines up with batch (torch would broadcast silently where one is '
        "1, and fail otherwise)",
        id="return-read-from-a-body",
    ),
    pytest.param(
        "uses_layers",
        'feed_forward(x, w_out, w_in): dim \'d\' is d in x "b s d" but h in w_out "d h"',
        id="imported-function",
    ),
    # The classics: heads never transposed, a norm's weight of the wrong axis, and a local
    # annotation that misreads ss.split_heads.
    pytest.param(
        "models/raw_heads_local_annotation",
        "att: dim 'seq' is seq in the annotation \"batch heads seq seq\" but n_heads in "
        'q @ q.transpose(-2, -1) "batch seq n_heads n_heads"',
        id="classic-heads-never-transposed",
    ),
    pytest.param(
        "models/raw_layer_norm_weight",
        'F.layer_norm(x, (x.shape[-1],), weight): weight "seq" has seq where normalized_shape '
        '(x.shape[-1],) is "embed"',
        id="classic-layer-norm-weight",
    ),
    pytest.param(
        "models/ss_split_heads_annotation",
        "qh: dim 'seq' is seq in the annotation \"batch seq heads head_dim\" but n_heads in "
        'ss.split_heads(x, n_heads) "batch n_heads seq d_model//n_heads"',
        id="classic-split-heads-annotation",
    ),
]


@pytest.mark.parametrize(("stem", "message"), MESSAGES)
def test_messages(stem: str, message: str) -> None:
    assert message in [f.message for f in check_file(STATIC / f"{stem}.py")]


def check_source(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "snippet.py"
    path.write_text(source)
    return [f"{f.line}: {f.message}" for f in check_file(path)]


HEADER = """\
import torch
from jaxtyping import Float
from torch import Tensor
import shapesafe as ss
"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "def f(x, w: Float[Tensor, 'd e']):\n    return ss.linear(x, w)\n",
            id="unannotated-parameter",
        ),
        pytest.param(
            "def f(m, x: Float[Tensor, 'b d']):\n    return ss.linear(x, m.weight)\n",
            id="attribute",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd e']):\n"
            "    w = w.T\n    return ss.linear(x, w)\n",
            id="reassigned",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd e']):\n"
            "    return torch.nn.functional.unfold(x, w)\n",
            id="unknown-function",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd e']):\n"
            "    ss = torch.nn.functional\n    return ss.linear(x, w)\n",
            id="shadowed-name",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, '_ d']):\n"
            "    return ss.linear(x, w)\n",
            id="anonymous-dim",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, '... d']):\n"
            "    return ss.linear(x, w)\n",
            id="ellipsis",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d']):\n"
            "    return ss.linear(x, w)  # shapesafe: ignore\n"
            "def g(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd e']):\n"
            "    return ss.linear(x, w)  # shapesafe: ignore\n",
            id="ignore-comment",
        ),
        pytest.param(
            "x: Float[Tensor, 'b d'] = torch.zeros(2, 3)\n"
            "w: Float[Tensor, 'd e'] = torch.zeros(3, 4)\n"
            "def reset() -> None:\n    global w\n    w = torch.zeros(4, 3)\n"
            "ss.linear(x, w)\n",
            id="global-rebound",
        ),
        pytest.param(
            "from shapesafe import linear\n"
            "if torch.cuda.is_available():\n    linear = print\n"
            "x: Float[Tensor, 'b d'] = torch.zeros(2, 3)\n"
            "w: Float[Tensor, 'd e'] = torch.zeros(3, 4)\n"
            "linear(x, w)\n",
            id="module-name-rebound",
        ),
        pytest.param(
            "from shapesafe import linear\n"
            "class C:\n"
            "    x: Float[Tensor, 'b d'] = torch.zeros(2, 3)\n"
            "    w: Float[Tensor, 'd e'] = torch.zeros(3, 4)\n"
            "    linear = print\n"
            "    linear(x, w)\n",
            id="class-scope-name",
        ),
    ],
)
def test_unknown_is_silent(tmp_path: Path, body: str) -> None:
    assert check_source(tmp_path, HEADER + body) == []


def test_a_broadcastable_dim_is_its_name_where_it_is_not_1(tmp_path: Path) -> None:
    # `#d` is d or 1: an op right for d is right for 1 too, but d against another size k
    # holds only where they are equal.
    body = (
        "def f(x: Float[Tensor, 'b #d'], w: Float[Tensor, 'e k']):\n"
        "    return ss.linear(x, w)\n"
        "def g(x: Float[Tensor, 'b #d'], y: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "    return x * y\n"
    )
    assert check_source(tmp_path, HEADER + body) == [
        '6: linear(x, w): dim \'in_features\' is d in x "b d" but k in w "e k"'
    ]


def test_module_and_class_scopes_are_checked(tmp_path: Path) -> None:
    source = HEADER + (
        "x: Float[Tensor, 'b d'] = torch.zeros(2, 3)\n"
        "w: Float[Tensor, 'd e'] = torch.zeros(3, 4)\n"
        "ss.linear(x, w)\n"
        "class C:\n"
        "    q: Float[Tensor, 's d'] = torch.zeros(2, 3)\n"
        "    ss.matmul(q, q)\n"
    )
    assert check_source(tmp_path, source) == [
        '7: linear(x, w): dim \'in_features\' is d in x "b d" but e in w "d e"; did you mean w.mT?',
        '10: matmul(q, q): dim \'n\' is d in q "s d" but s in q "s d"; did you mean q.mT?',
    ]


def test_tensor_methods_that_keep_or_swap_axes(tmp_path: Path) -> None:
    source = HEADER + (
        "def f(q: Float[Tensor, 'b s d'], k: Float[Tensor, 'b t d'], v: Float[Tensor, '*n t d']):\n"
        "    ss.matmul(q, k.transpose(-2, -1).contiguous())\n"
        "    ss.matmul(q, k.transpose(1, 2))\n"
        "    ss.matmul(q, k.mT.float())\n"
        "    ss.matmul(q, v.transpose(-1, -2))\n"
        "    ss.matmul(q, v.transpose(0, 1))\n"
        "    ss.matmul(q, k.transpose(0, 1))\n"
    )
    assert check_source(tmp_path, source) == [
        "11: matmul(q, k.transpose(0, 1)): dim 'n' is d in q \"b s d\" but b in "
        'k.transpose(0, 1) "t b d"',
    ]


def test_user_function_literal_and_symbolic_dims(tmp_path: Path) -> None:
    source = HEADER + (
        "def pair(y: Float[Tensor, ' k'], x: Float[Tensor, 'n 2*k']) -> Float[Tensor, ' n']:\n"
        "    return x[:, 0]\n"
        "def use(a: Float[Tensor, 'n 6'], b: Float[Tensor, ' 4'], c: Float[Tensor, 'n 8']):\n"
        "    pair(b, a)\n"
        "    pair(b, c)\n"
        "    pair(3, a)\n"
    )
    assert check_source(tmp_path, source) == [
        '8: pair(b, a): dim \'2*k\' is 6 in a "n 6", expected 8 ("n 2*k")',
    ]


def test_annotated_local_and_nested_calls(tmp_path: Path) -> None:
    source = HEADER + (
        "def f(x: Float[Tensor, 'b s d'], w: Float[Tensor, 'e d']) -> None:\n"
        "    y: Float[Tensor, 'b s d'] = ss.linear(x, w)\n"
        "    z: Float[Tensor, 'b s e'] = ss.softmax(ss.linear(x, w))\n"
        "    ss.add(z, x)\n"
    )
    assert check_source(tmp_path, source) == [
        '6: y: dim \'d\' is d in the annotation "b s d" but e in ss.linear(x, w) "b s e"',
        '8: add(z, x): dim \'*shape[2]\' is e in z "b s e" but d in x "b s d"',
    ]


def test_output_format_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "attn.py"
    path.write_text(
        HEADER + "def f(q: Float[Tensor, 'b s d'], k: Float[Tensor, 'b t e']):\n"
        "    return 1 + ss.matmul(q, k)\n"
    )
    (finding,) = check_file(path, "attn.py")
    assert str(finding) == (
        'attn.py:6:16: shape: matmul(q, k): dim \'n\' is d in q "b s d" but t in k "b t e"'
    )
    assert finding == Finding("attn.py", 6, 16, finding.message)


def test_cli_exit_status_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(STATIC / "bias_sized_in.py")]) == 1
    out, err = capsys.readouterr()
    assert out == (
        f"{STATIC / 'bias_sized_in.py'}:15:12: shape: linear(x, weight, bias): dim "
        '\'out_features\' is d_out in weight "d_out d_in" but d_in in bias "d_in"\n'
    )
    assert err == "shapesafe: 1 finding in 1 file\n"
    assert main([str(p) for p in CLEAN]) == 0
    assert capsys.readouterr().out == ""
    assert main([str(STATIC / "missing.py")]) == 2


def test_cli_reports_syntax_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n")
    assert main([str(tmp_path)]) == 2
    assert "broken.py:1:" in capsys.readouterr().err


def test_console_script_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shapesafe.check", str(STATIC / "qk_without_transpose.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout.endswith(
        "qk_without_transpose.py:11:12: shape: matmul(q, k): dim 'n' is d in q \"b s d\" "
        'but t in k "b t d"; did you mean k.mT?\n'
    )


def test_fast() -> None:
    # CPU time, not wall time: other processes on a loaded machine don't count.
    start = time.process_time()
    for path in CORPUS:
        check_file(path)
    assert time.process_time() - start < 1.0


# The symbolic unifier, given only int sizes, must reach the runtime unifier's verdict.
SPECS = ["n", "m n", "*batch n", "*batch m n", "b 3", "... n", "_ n", "n n", "#n m", "*#b n"]


@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(st.sampled_from(SPECS), min_size=1, max_size=3),
    shapes=st.lists(st.lists(st.integers(1, 3), min_size=0, max_size=4), min_size=3, max_size=3),
)
def test_int_sizes_agree_with_runtime_unifier(specs: list[str], shapes: list[list[int]]) -> None:
    runtime, static = Bindings(), Unifier()
    for i, text in enumerate(specs):
        spec = parse_spec(text)
        want = runtime.match(f"a{i}", spec, shapes[i])
        got = static.match(f"a{i}", spec, tuple(lit(s) for s in shapes[i]))
        if got is not None:
            # A certain static conflict is a runtime conflict too.
            assert want is not None, (specs, shapes)
            return
        if want is not None:
            # The static side may only miss what broadcasting makes uncertain.
            assert "#" in text or (want.kind == "variadic" and "#" in "".join(specs)), (
                specs,
                shapes,
            )
            return


# Shape rules for torch's own ops, modules and annotations, on small snippets.

RAW = """\
import torch
import torch.nn.functional as F
from typing import Optional, Union
from jaxtyping import Float, Int
from torch import Tensor, nn
import shapesafe as ss
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "def f(x: Float[Tensor, 'b s d'], w: Float[Tensor, 'e d']):\n"
            "    y = x.view(-1, x.shape[-1])\n"
            "    return y @ w\n",
            ['9: y @ w: inner dim is d in y "b*s d" but e in w "e d"; did you mean w.mT?'],
            id="view-minus-one",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s h e'], k: Float[Tensor, 'b h t e']):\n"
            "    q = x.permute(0, 2, 3, 1)\n"
            "    return q @ k\n",
            [
                '9: q @ k: inner dim is s in q "b h e s" but t in k "b h t e" (holds only if '
                "s == t, and nothing here says they are equal)"
            ],
            id="permute",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s 3*d'], w: Float[Tensor, 'd e']):\n"
            "    q, k, v = x.chunk(3, dim=-1)\n"
            "    return q @ w.T\n",
            ['9: q @ w.T: inner dim is d in q "b s d" but e in w.T "e d"; did you mean w?'],
            id="chunk-unpack",
        ),
        pytest.param(
            "def f(a: Float[Tensor, 'n d'], b: Float[Tensor, 'n e']):\n"
            "    return torch.cat([a, b], dim=0)\n",
            ['8: torch.cat: axis 1 is d in a "n d" but e in b "n e"'],
            id="cat",
        ),
        pytest.param(
            "def f(a: Float[Tensor, 'n d'], b: Float[Tensor, 'n e']) -> Float[Tensor, '2 n d']:\n"
            "    return torch.stack([a, a], dim=0)\n"
            "def g(a: Float[Tensor, 'n d'], b: Float[Tensor, 'm d']):\n"
            "    return torch.stack([a, b])\n",
            ['10: torch.stack: axis 0 is n in a "n d" but m in b "m d"'],
            id="stack",
        ),
        pytest.param(
            "def f(q: Float[Tensor, 'b s d'], k: Float[Tensor, 'b t e']):\n"
            "    return torch.einsum('bsd,btd->bst', q, k)\n",
            ['8: einsum: \'d\' is d in q "b s d" but e in k "b t e"'],
            id="einsum",
        ),
        pytest.param(
            "from einops import rearrange\n"
            "def f(q: Float[Tensor, 'b s d'], k: Float[Tensor, 'b t d'], h: int):\n"
            "    qh = rearrange(q, 'b s (h e) -> b h s e', h=h)\n"
            "    kh = rearrange(k, 'b t (h e) -> b h t e', h=h)\n"
            "    return qh @ kh\n",
            # e is d//h: right only where t happens to be d//h
            [
                '11: qh @ kh: inner dim is d//h in qh "b h s d//h" but t in kh "b h t d//h"; '
                "did you mean kh.mT?"
            ],
            id="einops-rearrange-unknown-heads",
        ),
        pytest.param(
            "import einops\n"
            "def f(q: Float[Tensor, 'b s h e'], k: Float[Tensor, 'b t h e']):\n"
            "    qh = einops.rearrange(q, 'b s h e -> b h s e')\n"
            "    kh = einops.rearrange(k, 'b t h e -> b h t e')\n"
            "    return qh @ kh\n",
            [
                '11: qh @ kh: inner dim is e in qh "b h s e" but t in kh "b h t e"; did you mean '
                "kh.mT?"
            ],
            id="einops-rearrange",
        ),
        pytest.param(
            "from einops import rearrange, reduce\n"
            "def f(m: Float[Tensor, '1 depth tokens']) -> Float[Tensor, 'depth']:\n"
            "    rearrange(reduce(m, 'b depth t -> b depth', 'sum'), '1 depth -> depth')\n"
            "    return rearrange(reduce(m, 'b depth t -> depth b', 'sum'), '1 depth -> depth')\n",
            [
                "10: einops.rearrange: '1' lines up with depth in \"depth 1\" (holds only if "
                "depth == 1)"
            ],
            id="einops-one-on-the-left",
        ),
        pytest.param(
            "from einops import rearrange\n"
            "def f(x: Float[Tensor, 'b 3 c h w'], net) -> Float[Tensor, 'b 3 c h w']:\n"
            "    return rearrange(net(x), '(b n) c h w -> n b c h w', n=3)\n"
            "def g(x: Float[Tensor, 'b 3 c h w'], net) -> Float[Tensor, 'b 3 c h w']:\n"
            "    return rearrange(net(x), '(b n) c h w -> b n c h w', n=3)\n",
            [
                "9: return of f(): dim 'b' is b in x \"b 3 c h w\" but 3 in "
                'rearrange(net(x), \'(b n) c h w -> n b... "3 ?b ?c ?h ?w" (holds only if '
                "b == 3, and nothing here says they are equal)"
            ],
            id="einops-pattern-of-an-unknown-input",
        ),
        pytest.param(
            "import einops\n"
            "def f(x: Float[Tensor, 'b v d'], net, b: int, v: int) -> Float[Tensor, 'b v d']:\n"
            "    y = einops.rearrange(net(x), '(b v) d -> b v d', b=b, v=v)\n"
            "    z = einops.repeat(net(x), 'n ... -> n k ...', k=2)\n"
            "    w = einops.rearrange(net(x), 'b c -> c b')\n"
            "    u = einops.rearrange(net(x), '(p q) d -> q p d', p=b, q=v)\n"
            "    return einops.rearrange(u, 'q p d -> p q d')\n",
            [],  # the axes not given are fresh: nothing says what they are
            id="einops-pattern-of-an-unknown-input-no-finding",
        ),
        pytest.param(
            "def f(a: Float[Tensor, '... d'], b: Float[Tensor, '... d'], c: Float[Tensor, 'n 1'],\n"
            "      e: Float[Tensor, 'm']) -> Float[Tensor, 'n m']:\n"
            "    a, b = torch.broadcast_tensors(a, b)\n"
            "    s = torch.stack((a, b), dim=-2)\n"
            "    x = s - torch.eye(3)\n"
            "    c, e = torch.broadcast_tensors(c, e)\n"
            "    return e @ c\n",
            [
                '11: s - torch.eye(3): s "... 2 d" and torch.eye(3) "3 3": d lines up with 3 '
                "(torch would broadcast silently where one is 1, and fail otherwise; holds only "
                "if d == 3, and nothing here says they are equal)",
                '13: e @ c: inner dim is m in e "n m" but n in c "n m"; did you mean c.mT?',
            ],
            id="broadcast-tensors",
        ),
        pytest.param(
            "def f(a: Float[Tensor, 'b n'], c: Float[Tensor, 'b 1'], e: Float[Tensor, 'n']):\n"
            "    a, c, e = torch.broadcast_tensors(a, c, e)\n"
            "    return a @ c.mT\n",
            [],  # every one is "b n" now
            id="broadcast-tensors-no-finding",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], y: Float[Tensor, 'n']):\n"
            "    x.sum(dim=1).mean(axis=1)\n"
            "    torch.cat([y, y], dim=-2)\n"
            "    torch.stack([y, y], dim=2)\n"
            "    x.unsqueeze(3)\n"
            "    F.softmax(x, dim=2)\n"
            "    return x.transpose(0, 2)\n",
            [
                '8: mean: dim 1 is out of range for x.sum(dim=1) "b", which has 1 dim (torch '
                "raises IndexError)",
                '9: cat: dim -2 is out of range for [y, y] "n", which has 1 dim (torch raises '
                "IndexError)",
                '10: stack: dim 2 is out of range for [y, y] "n", which has 1 dim (torch raises '
                "IndexError)",
                '11: unsqueeze: dim 3 is out of range for x "b d", which has 2 dims (torch raises '
                "IndexError)",
                '12: softmax: dim 2 is out of range for x "b d", which has 2 dims (torch raises '
                "IndexError)",
                '13: transpose: dim 2 is out of range for x "b d", which has 2 dims (torch raises '
                "IndexError)",
            ],
            id="dim-out-of-range",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], s: Float[Tensor, ''], v: Float[Tensor, '*b d']):\n"
            "    s.sum(0) + s.sum(-1) + s.unsqueeze(-1).sum()\n"
            "    torch.stack([x, x], dim=-3)\n"
            "    x.unsqueeze(2).unsqueeze(-4)\n"
            "    v.sum(-5) + v.unsqueeze(7).sum() + torch.cat([v, v], dim=3).sum()\n"
            "    return x.cumsum(-2).softmax(1)\n",
            [],  # a 0-dim tensor takes dim 0 and -1; a run of unknown length may be long
            id="dim-in-range",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n'], m: Float[Tensor, 'a b']):\n"
            "    x[:, -1]\n"
            "    return m[None, 0, :, 1]\n",
            [
                '8: x[:, -1]: 2 indices for x "n", which has 1 dim (torch raises IndexError)',
                '9: m[None, 0, :, 1]: 3 indices for m "a b", which has 2 dims (torch raises '
                "IndexError)",
            ],
            id="too-many-indices",
        ),
        pytest.param(
            "from torch.utils.checkpoint import checkpoint\n"
            "def block(x: Float[Tensor, 'b s d'], pos: Float[Tensor, 's']) -> Float[Tensor, 'b s d']:\n"
            "    return x\n"
            "def f(x: Float[Tensor, 'b s d'], pos: Float[Tensor, 's']) -> Float[Tensor, 'b s d']:\n"
            "    checkpoint(block, pos, x, use_reentrant=False)\n"
            "    y = torch.utils.checkpoint.checkpoint(block, x, pos, use_reentrant=False)\n"
            "    return checkpoint(block, y, pos)\n",
            ['11: block(pos, x): pos "s" has 1 dims, expected 3 for \'x\' "b s d"'],
            id="checkpoint-calls-its-first",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n'], m: Float[Tensor, 'a b'], v: Float[Tensor, '*b d']):\n"
            "    x[None, :, None] + m[..., 0, None, 1]\n"
            "    m[None, 1, None, :, None, ...]\n"
            "    return v[0, 0, 0, ..., 0] + m[0, 0]\n",
            [],  # None and `...` take no axis; a run of unknown length may be long
            id="indices-within-rank",
        ),
        pytest.param(
            "import numpy as np\n"
            "def f(x: Float[Tensor, 'n']) -> Float[Tensor, 'n']:\n"
            "    s = x[torch.argsort(-x)]\n"
            "    s[:-2] - s[1:]\n"
            "    return np.argsort(x, kind='stable')[None]\n",
            [
                '10: s[:-2] - s[1:]: s[:-2] "n-2" and s[1:] "n-1": n-2 lines up with n-1 (torch '
                "would broadcast silently where one is 1, and fail otherwise)",
                "11: return of f(): np.argsort(x, kind='stable')[None] \"1 n\" has 2 dims, "
                "expected 1 for 'return' \"n\"",
            ],
            id="argsort-keeps-shape",
        ),
        pytest.param(
            "import einops\n"
            "def f(x: Float[Tensor, 'b s d'], w: Float[Tensor, 'd v']):\n"
            "    return einops.einsum(x, w, 'b s d, v d -> b s v')\n",
            ['9: einsum: \'d\' is d in x "b s d" but v in w "d v"'],
            id="einops-einsum",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b 1'], y: Float[Tensor, 'b n'], z: Float[Tensor, 'b e']):\n"
            "    x.mul_(y)\n"
            "    y.add_(z)\n"
            "    return y.sub_(x).sqrt_()\n",
            [
                '8: mul_: n in y "b n" lines up with a 1 in x "b 1", whose shape an in-place op '
                "keeps",
                '9: add_: y "b n" and z "b e": n lines up with e (torch would broadcast silently '
                "where one is 1, and fail otherwise)",
            ],
            id="in-place-methods",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n'], y: Float[Tensor, 'b n']) -> Float[Tensor, 'b n']:\n"
            "    y /= x\n"
            "    x += y\n"
            "    return y\n",
            [
                '9: x += y: y "b n" has more dims than x "n", whose shape an in-place op keeps',
            ],
            id="augmented-assignment-in-place",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b n d']) -> Float[Tensor, 'b n']:\n"
            "    return x.pow_(2).sum(-2).add_(1e-6).sqrt_()\n",
            [
                "8: return of f(): dim 'n' is n in x \"b n d\" but d in "
                'x.pow_(2).sum(-2).add_(1e-6).sqrt_() "b d"'
            ],
            id="in-place-keeps-shape",
        ),
        pytest.param(
            "def f(q: Float[Tensor, 'b h s e'], k: Float[Tensor, 'b h t e'],\n"
            "      v: Float[Tensor, 'b h s f']):\n"
            "    return F.scaled_dot_product_attention(q, k, v)\n",
            [
                '9: scaled_dot_product_attention: sequence dim is t in k "b h t e" but s in v '
                '"b h s f"'
            ],
            id="sdpa",
        ),
        pytest.param(
            "def f(ids: Int[Tensor, 'b s'], table: Float[Tensor, 'v d'],\n"
            "      w: Float[Tensor, 'e v']):\n"
            "    return F.linear(F.embedding(ids, table), w)\n",
            [
                "9: F.linear(F.embedding(ids, table), w): last dim of F.embedding(ids, table) "
                '"b s d" is d but w "e v" takes v (weight is (out_features, in_features))'
            ],
            id="embedding",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s d']) -> Float[Tensor, 'b d']:\n"
            "    B, S, D = x.size()\n"
            "    return x.new_zeros(B, S)\n",
            ['9: return of f(): dim \'d\' is d in x "b s d" but s in x.new_zeros(B, S) "b s"'],
            id="size-unpack",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s d']) -> Float[Tensor, 'b s']:\n"
            "    return x.unsqueeze(1).squeeze(1).amax(dim=1)\n",
            [
                "8: return of f(): dim 's' is s in x \"b s d\" but d in "
                'x.unsqueeze(1).squeeze(1).amax(dim=1) "b d"'
            ],
            id="unsqueeze-squeeze-reduce",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s h e']) -> Float[Tensor, 'b h s e']:\n"
            "    return ss.permute(x, 'b s h e -> b s e h')\n",
            [
                "8: return of f(): dim 'h' is h in x \"b s h e\" but s in "
                "ss.permute(x, 'b s h e -> b s e h') \"b s e h\""
            ],
            id="shapesafe-permute",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b s d'], m: Optional[Float[Tensor, 's s']] = None):\n"
            "    if m is not None:\n"
            "        x = x @ m\n"
            "    return x\n",
            [
                '9: x @ m: inner dim is d in x "b s d" but s in m "s s" (holds only if d == s, '
                "and nothing here says they are equal)"
            ],
            id="optional",
        ),
        pytest.param(
            "def g(x: Union[Float[Tensor, 'b d'], Float[Tensor, 'b h d']]) -> None: ...\n"
            "def f(a: Float[Tensor, 'b d'], c: Float[Tensor, 'b h d'], e: Float[Tensor, 'd']):\n"
            "    g(a)\n"
            "    g(c)\n"
            "    g(e)\n",
            ['11: g(e): e "d" fits none of "b d", "b h d" for \'x\''],
            id="union-alternatives",
        ),
        pytest.param(
            "def g(x: Float[Tensor, 'b d']) -> tuple[Float[Tensor, 'b'], Float[Tensor, 'd']]:\n"
            "    return x.sum(-1), x.sum(0)\n"
            "def h(x: Float[Tensor, 'b d']) -> tuple[Float[Tensor, 'b'], Float[Tensor, 'd']]:\n"
            "    return x.sum(0), x.sum(-1)\n"
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd e']):\n"
            "    rows, cols = g(x)\n"
            "    return cols @ w.T\n",
            [
                '10: return of h(): dim \'b\' is b in x "b d" but d in x.sum(0) "d"',
                '10: return of h(): dim \'d\' is d in x "b d" but b in x.sum(-1) "b"',
                '13: cols @ w.T: inner dim is d in cols "d" but e in w.T "e d"; did you mean w?',
            ],
            id="tuple-returns",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d']):\n"
            "    x = x.to(torch.float16)\n"
            "    x = torch.relu(x)\n"
            "    x = x @ w.T\n"
            "    return x @ w.T\n",
            ['11: x @ w.T: inner dim is e in x "b e" but d in w.T "d e"; did you mean w?'],
            id="rebinding",
        ),
        pytest.param(
            "import dataclasses\n"
            "@dataclasses.dataclass\n"
            "class Rays:\n"
            "    origins: Float[Tensor, 'n 3']\n"
            "    directions: Float[Tensor, 'n 3']\n"
            "def f(rays: Rays, w: Float[Tensor, '4 4']):\n"
            "    return rays.origins @ w\n",
            ['13: rays.origins @ w: inner dim is 3 in rays.origins "n 3" but 4 in w "4 4"'],
            id="parameter-of-an-annotated-class",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b 3*d']):\n    q, k = x.chunk(3, dim=-1)\n",
            ["8: unpacking 3 values into 2 names"],
            id="unpacking-count",
        ),
        pytest.param(
            "class Base(nn.Module):\n"
            "    def scores(self, q: Float[Tensor, 's e'], k: Float[Tensor, 't e']) -> Float[Tensor, 's t']:\n"
            "        return q @ k.T\n"
            "class Child(Base):\n"
            "    def __init__(self) -> None:\n"
            "        super().__init__()\n"
            "        self.blocks = nn.ModuleList([nn.Linear(4, 8) for _ in range(3)])\n"
            "    def scores(self, q: Float[Tensor, 's e'], k: Float[Tensor, 't e']) -> Float[Tensor, 't s']:\n"
            "        return super().scores(q, k)\n"
            "    def stacked(self) -> Float[Tensor, 'n 4 8']:\n"
            "        return torch.stack([b.weight for b in self.blocks])\n",
            [
                '15: return of scores(): dim \'t\' is t in k "t e" but s in super().scores(q, k) "s t"',
                "17: return of stacked(): dim '4' is 8 in torch.stack([b.weight for b in self.b... "
                '"? 8 4", expected 4 ("n 4 8") (? is an unknown size)',
            ],
            id="super-and-stacked-comprehension",
        ),
        pytest.param(
            "from dataclasses import dataclass\n"
            "@dataclass\n"
            "class Frustums:\n"
            "    origins: Float[Tensor, '*bs 3']\n"
            "    starts: Float[Tensor, '*bs 1']\n"
            "@dataclass\n"
            "class Samples:\n"
            "    frustums: Frustums\n"
            "def f(s: Samples) -> Float[Tensor, '*bs 1']:\n"
            "    return s.frustums.origins + s.frustums.starts\n",
            [
                "16: return of f(): dim '1' is 3 in s.frustums.origins + s.frustums.starts "
                '"*bs 3", expected 1 ("*bs 1")'
            ],
            id="field-typed-with-a-class",
        ),
        pytest.param(
            "def f(a, n: int) -> Float[Tensor, 'n']:\n"
            "    return torch.from_numpy(a).reshape(n, 2)\n",
            [
                '8: return of f(): torch.from_numpy(a).reshape(n, 2) "n 2" has 2 dims, '
                "expected 1 for 'return' \"n\""
            ],
            id="reshape-of-unknown-to-sizes",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], keep: Float[Tensor, 'b']):\n"
            "    return torch.where(keep > 0, x, 0.0)\n",
            [
                '8: torch.where: keep > 0 "b" and x "b d": b lines up with d '
                "(torch would broadcast silently where one is 1, and fail otherwise)"
            ],
            id="where-with-a-number",
        ),
        pytest.param(
            "import numpy as np\n"
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d']):\n"
            "    y = 0.5 * x * (1.0 + torch.tanh(np.sqrt(2.0 / np.pi) * torch.pow(x, 3.0)))\n"
            "    return y @ w\n",
            ['10: y @ w: inner dim is d in y "b d" but e in w "e d"; did you mean w.mT?'],
            id="constants-and-pow",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d'], eps: float):\n"
            "    return (x / (torch.linalg.norm(x, dim=-1, keepdim=True) + eps)) @ w\n",
            [
                "8: (x / (torch.linalg.norm(x, dim=-1, kee...) @ w: inner dim is d in "
                '(x / (torch.linalg.norm(x, dim=-1, kee...) "b d" but e in w "e d"; did you mean '
                "w.mT?"
            ],
            id="number-parameter-and-vector-norm",
        ),
        pytest.param(
            "def f(\n"
            "    x: Union[Float[Tensor, 'b p d'], Float[Tensor, 'b p h d']],\n"
            "    w: Float[Tensor, 'v'],\n"
            "    s: Float[Tensor, 'b p 1'],\n"
            "):\n"
            "    y = x - x.mean(-1, keepdim=True)\n"
            "    z = (y / s) * w\n"
            "    return y * w\n",
            [
                '13: (y / s) * w: (y / s) "... b p d" and w "v": d lines up with v '
                "(torch would broadcast silently where one is 1, and fail otherwise)",
                '14: y * w: y "b p ... d" and w "v": d lines up with v '
                "(torch would broadcast silently where one is 1, and fail otherwise)",
            ],
            id="union-parameter-shares-its-ends",
        ),
        pytest.param(
            "def f(x: Float[Tensor, '*bs d'], h) -> Float[Tensor, '*bs 3']:\n"
            "    return h.reshape(*x.shape[:-1], 3, 2)\n",
            [
                "8: return of f(): dim '3' is 2 in h.reshape(*x.shape[:-1], 3, 2) "
                '"*bs 3 2", expected 3 ("*bs 3")'
            ],
            id="reshape-to-a-spliced-shape",
        ),
        pytest.param(
            "def f(pose: Float[Tensor, '*batch 3 4']) -> Float[Tensor, '*batch 4 4']:\n"
            "    constants = torch.zeros_like(pose[..., :1, :])\n"
            "    return torch.cat([pose, constants], dim=-1)\n"
            "def g(pose: Float[Tensor, '*batch 3 4']) -> Float[Tensor, '*batch 4 4']:\n"
            "    constants = torch.zeros_like(pose[..., :1, :])\n"
            "    return torch.cat([pose, constants], dim=-2)\n",
            ['9: torch.cat: axis -2 is 3 in pose "*batch 3 4" but 1 in constants "*batch 1 4"'],
            id="cat-after-a-shared-run",
        ),
        pytest.param(
            "def f(c) -> Float[Tensor, 'n 3']:\n"
            "    axis = torch.tensor([1, 0, 0])\n"
            "    offsets = axis.repeat(c.shape[1], 1)\n"
            "    return offsets.unsqueeze(0).repeat(c.shape[0], 1, 1)\n",
            [
                "10: return of f(): offsets.unsqueeze(0).repeat(c.shape[0... "
                '"? ? 3" has 3 dims, expected 2 for \'return\' "n 3" (? is an unknown size)'
            ],
            id="repeat-with-unknown-counts-keeps-the-rank",
        ),
    ],
)
def test_torch_rules(tmp_path: Path, body: str, expected: list[str]) -> None:
    assert check_source(tmp_path, RAW + body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            "def f(x: Float[Tensor, 'b s d'], w: Float[Tensor, 'e d']):\n"
            "    y = torch.fft.rfft(x)\n    return y @ w\n",
            id="op-without-rule",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d'], flag: bool):\n"
            "    if flag:\n        x = x @ w.T\n    return x @ w.T\n",
            id="branches-disagree",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'd d'], n: int):\n"
            "    for _ in range(n):\n        x = x[:, :1]\n    return x @ w\n",
            id="loop-changes-shape",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], shape: tuple[int, int]):\n"
            "    y = torch.zeros(shape)\n    return x @ y\n",
            id="constructor-with-a-shape-argument",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'n 1'], y: Float[Tensor, ' m']):\n    return x - y\n",
            id="outer-difference-of-two-names",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], k: int):\n    return x.view(k, -1) @ x.view(-1, k)\n",
            id="view-with-unknown-sizes",
        ),
        pytest.param(
            "def g(x: Union[Float[Tensor, 'b d'], Float[Tensor, 'b h d']]) -> None: ...\n"
            "def f(a: Float[Tensor, '... d']):\n    g(a)\n",
            id="union-unknown-rank",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'b e']):\n"
            "    x.t_()\n    return x @ w\n",
            id="changed-in-place",
        ),
        pytest.param(
            "class Base(nn.Module):\n"
            "    def __init__(self) -> None:\n"
            "        super().__init__()\n"
            "        self.W = nn.Parameter(torch.empty(4, 4))\n"
            "    def f(self, x: Float[Tensor, 'b 8']) -> Tensor:\n"
            "        return x @ self.W\n"
            "class Wide(Base):\n"
            "    def __init__(self) -> None:\n"
            "        super().__init__()\n"
            "        self.W = nn.Parameter(torch.empty(8, 8))\n",
            id="attribute-a-subclass-assigns",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d']):\n"
            "    found = []\n"
            "    found.append(x)\n"
            "    (y,) = found\n"
            "    return y\n",
            id="list-filled-before-unpacking",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d'], shape):\n"
            "    return x.view(shape) @ w\n",
            id="view-to-one-unknown-argument",
        ),
        pytest.param(
            "def f(a, w: Float[Tensor, '3 d']):\n"
            "    return torch.from_numpy(a).reshape(-1, 3) @ w\n",
            id="reshape-of-unknown-with-minus-one",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d']):\n"
            "    return torch.linalg.norm(x, 2, -1, True) @ w\n",
            id="norm-with-keepdim-by-position",
        ),
        pytest.param(
            # Two axes into the run: code may mean a run of one axis, and index `d`.
            "def f(x: Float[Tensor, '*b d'], w: Float[Tensor, 'e d']):\n    return x[0, 0] @ w\n",
            id="index-into-a-run",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], p, w: Float[Tensor, 'e d']):\n"
            "    return x.pow(p) @ w\n",
            id="pow-with-an-unknown-exponent",
        ),
        pytest.param(
            "def f(x: Float[Tensor, '*bs d'], h, w: Float[Tensor, 'e d']):\n"
            "    return h.reshape(*x.shape[1:], 3) @ w\n",
            id="splice-that-cuts-into-a-run",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b d'], reps, w: Float[Tensor, 'e d']):\n"
            "    return x.repeat(reps) @ w\n",
            id="repeat-by-one-unknown-argument",
        ),
    ],
)
def test_rules_stay_silent_when_unsure(tmp_path: Path, body: str) -> None:
    assert check_source(tmp_path, RAW + body) == []


def test_modules_attributes_methods_and_submodules(tmp_path: Path) -> None:
    source = RAW + (
        "class Proj(nn.Module):\n"
        "    W: Float[Tensor, 'd_in d_out']\n"
        "    def __init__(self, d_in: int, d_out: int) -> None:\n"
        "        super().__init__()\n"
        "        self.W = nn.Parameter(torch.empty(d_in, d_out))\n"
        "        self.ln = nn.LayerNorm(d_out)\n"
        "        self.emb = nn.Embedding(100, d_in)\n"
        "    def forward(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b d_out']:\n"
        "        return self.ln(x @ self.W)\n"
        "    def wrong(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b d_out']:\n"
        "        return self.ln(x @ self.W.T)\n"
        "    def twice(self, x: Float[Tensor, 'b d_in']) -> Float[Tensor, 'b d_out']:\n"
        "        return self.forward(x.T)\n"
        "    def tokens(self, ids: Int[Tensor, 'b s']) -> Tensor:\n"
        "        return self.ln(self.emb(ids))\n"
        "class User(nn.Module):\n"
        "    def __init__(self) -> None:\n"
        "        super().__init__()\n"
        "        self.proj = Proj(4, 8)\n"
        "    def forward(self, x: Float[Tensor, 'b d_out']) -> Tensor:\n"
        "        y = self.proj(x)\n"
        "        return x @ self.proj.W\n"
    )
    assert check_source(tmp_path, source) == [
        '17: x @ self.W.T: inner dim is d_in in x "b d_in" but d_out in self.W.T '
        '"d_out d_in"; did you mean self.W?',
        "19: return of twice(): dim 'b' is b in x \"b d_in\" but d_in in self.forward(x.T) "
        '"d_in ?d_out"',
        '21: self.ln(self.emb(ids)): last dim is d_in in self.emb(ids) "b s d_in" but the '
        "layer's normalized_shape is d_out (holds only if d_out == d_in, and nothing here says "
        "they are equal)",
        '28: x @ self.proj.W: inner dim is d_out in x "b d_out" but d_in in self.proj.W '
        '"d_in d_out"; did you mean self.proj.W.mT?',
    ]


def test_long_chains_read_without_recursion(tmp_path: Path) -> None:
    lines = ["def f(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d']):", "    y0 = x"]
    lines += [f"    y{i} = y{i - 1}.float()" for i in range(1, 400)]
    lines += ["    return y399 @ w"]
    nested = " + ".join(["x"] * 300)
    lines += [
        "def g(x: Float[Tensor, 'b d'], w: Float[Tensor, 'e d']):",
        f"    return ({nested}) @ w",
    ]
    found = check_source(tmp_path, RAW + "\n".join(lines) + "\n")
    assert found == [
        '408: y399 @ w: inner dim is d in y399 "b d" but e in w "e d"; did you mean w.mT?',
        f'410: ({nested[:37]}...) @ w: inner dim is d in ({nested[:37]}...) "b d" but e in w '
        '"e d"; did you mean w.mT?',
    ]


def test_cli_stats(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stats", str(STATIC / "models" / "mod_ok.py")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "shapesafe: 0 findings in 1 file"
    assert err[1].startswith("shapesafe: files: 1, functions and scopes: ")
    assert re.match(r"shapesafe: calls: \d+, with a shape rule or contract: \d+ \(", err[2])
    relations = re.fullmatch(r"shapesafe: shape relations checked: (\d+)", err[3])
    assert relations is not None and int(relations.group(1)) >= 5
    assert re.fullmatch(
        r"shapesafe: annotated relations checked: \d+ of \d+ \(arguments \d+/\d+, "
        r"returns \d+/\d+, annotated assignments \d+/\d+\)",
        err[4],
    )
    assert re.fullmatch(r"shapesafe: relations not checked \(unknown\): \d+", err[5])
    assert any("call without a shape rule or contract" in line for line in err[6:])


# The torch shape rules, given literal sizes, must agree with torch itself (on meta tensors).

_dims = st.lists(st.integers(1, 3), min_size=0, max_size=4)


def _torch_shape(fn: Callable[[], torch.Tensor]) -> tuple[int, ...] | None:
    try:
        return tuple(fn().shape)
    except (RuntimeError, IndexError, ValueError):
        return None


def _rule_shape(fn: Callable[[], Shape | None]) -> tuple[int, ...] | str | None:
    """The rule's shape as ints, "mismatch" when it reports one, None when it cannot tell."""
    try:
        out = fn()
    except Mismatch:
        return "mismatch"
    if out is None:
        return None
    assert all(isinstance(i, Size) and i.kind == "int" for i in out), out
    return tuple(int(i.value) for i in out if isinstance(i, Size))


def _agree(rule: tuple[int, ...] | str | None, real: tuple[int, ...] | None) -> None:
    if rule == "mismatch":
        assert real is None
    elif rule is not None:
        assert rule == real


def _lits(shape: list[int]) -> Shape:
    return tuple(lit(n) for n in shape)


def _meta(shape: list[int]) -> torch.Tensor:
    return torch.empty(shape, device="meta")


@settings(max_examples=200, deadline=None)
@given(a=_dims, b=_dims)
def test_broadcast_and_matmul_agree_with_torch(a: list[int], b: list[int]) -> None:
    _agree(
        _rule_shape(lambda: T.broadcast(_lits(a), _lits(b), "a", "b")),
        _torch_shape(lambda: _meta(a) + _meta(b)),
    )
    _agree(
        _rule_shape(lambda: T.matmul(_lits(a), _lits(b), "a", "b")),
        _torch_shape(lambda: _meta(a) @ _meta(b)),
    )


@settings(max_examples=200, deadline=None)
@given(
    run=_dims,
    a=st.lists(st.integers(1, 3), min_size=0, max_size=3),
    b=st.lists(st.integers(1, 3), min_size=0, max_size=3),
)
def test_broadcast_over_a_shared_run_agrees_with_torch(
    run: list[int], a: list[int], b: list[int]
) -> None:
    # "*batch a" against "*batch b": whatever `*batch` holds, the rule's tail is torch's.
    group = Group("batch")
    rule = _rule_shape_run(lambda: T.broadcast((group, *_lits(a)), (group, *_lits(b)), "a", "b"))
    real = _torch_shape(lambda: _meta(run + a) + _meta(run + b))
    # With tails of different lengths, the run's last axes line up with the longer tail's
    # first ones: where one of those is not 1, torch fails for some run (of other sizes).
    longer = a if len(a) > len(b) else b
    extra = longer[: len(longer) - min(len(a), len(b))]
    if rule == "mismatch":
        other = [5, 7, 11]
        fails = _torch_shape(lambda: _meta(other + a) + _meta(other + b)) is None
        assert real is None or (set(extra) - {1} and fails)
    elif len(a) != len(b):
        assert rule is None and set(extra) == {1}
    else:
        assert rule is not None and real is not None
        assert real == (*run, *rule)


_RUN_INDEXES = [
    "[..., 0]",
    "[..., 0, :]",
    "[None, ..., 0]",
    "[..., None]",
    "[0, ..., 0]",
    "[:, ...]",
    "[0]",
    "[:, None]",
    "[None]",
    "[0, ..., None]",
]


def _run_sizes(out: Shape, run: list[int]) -> tuple[int, ...] | None:
    """The sizes `out`, over the run `*batch`, stands for where the run is `run`: its items
    `?batch[i]` and `*batch[c:]` read in it; None where the run is too short for them (an
    op that took an axis out of it reads a run that has one)."""
    group = Group("batch")
    got: list[int] = []
    for item in out:
        if isinstance(item, Group):
            if item.cut + item.end > len(run):
                return None
            got += run[item.cut : len(run) - item.end]
        elif item.kind == "int":
            got.append(int(item.value))
        else:
            i = next(k for k in range(-3, 3) if item == run_item(group, k))
            if not -len(run) <= i < len(run):
                return None
            got.append(run[i])
    return tuple(got)


@settings(max_examples=200, deadline=None)
@given(
    head=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    run=_dims,
    tail=st.lists(st.integers(1, 3), min_size=0, max_size=3),
    which=st.sampled_from(_RUN_INDEXES),
)
def test_index_around_a_run_agrees_with_torch(
    head: list[int], run: list[int], tail: list[int], which: str
) -> None:
    # Indexing "h.. *batch t.." on both sides of `...`: the run stays whole, in place.
    parts_node = ast.parse(f"x{which}").body[0]
    assert isinstance(parts_node, ast.Expr) and isinstance(parts_node.value, ast.Subscript)
    sl = parts_node.value.slice
    parts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
    out = T.index((*_lits(head), Group("batch"), *_lits(tail)), parts)
    real = _torch_shape(lambda: eval(f"x{which}", {"x": _meta(head + run + tail)}))
    if out is None:
        return
    got = _run_sizes(out, run)
    if got is None:
        return
    assert real is not None
    assert got == real


def _rule_shape_run(fn: Callable[[], Shape | None]) -> tuple[int | str, ...] | str | None:
    """Like _rule_shape, for a shape that starts with the run `*batch`: the sizes after it.
    Where the op reached before the run's last axis and took it out of the run
    (`*batch[:-1] 2 ?batch[-1] 3`): "last", then the sizes after the run, "?" for that axis
    (or for what torch.cat made of it)."""
    try:
        out = fn()
    except Mismatch:
        return "mismatch"
    if out is None:
        return None
    if out[0] == Group("batch", end=1):
        return ("last", *("?" if _fresh(i) else _int_size(i) for i in out[1:]))
    assert out[0] == Group("batch"), out
    return tuple(_int_size(i) for i in out[1:])


def _fresh(item: object) -> bool:
    return isinstance(item, Size) and item.kind == "fresh"


def _int_size(item: object) -> int:
    assert isinstance(item, Size) and item.kind == "int", item
    return int(item.value)


@settings(max_examples=200, deadline=None)
@given(
    a=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    i=st.integers(-4, 3),
    j=st.integers(-4, 3),
    keep=st.booleans(),
)
def test_axis_rules_agree_with_torch(a: list[int], i: int, j: int, keep: bool) -> None:
    x = _lits(a)
    _agree(
        _rule_shape(lambda: T.transpose(x, i, j)), _torch_shape(lambda: _meta(a).transpose(i, j))
    )
    _agree(
        _rule_shape(lambda: T.reduce(x, [i], keep)),
        _torch_shape(lambda: _meta(a).sum(dim=i, keepdim=keep)),
    )
    _agree(_rule_shape(lambda: T.unsqueeze(x, i)), _torch_shape(lambda: _meta(a).unsqueeze(i)))
    _agree(_rule_shape(lambda: T.squeeze(x, [i])), _torch_shape(lambda: _meta(a).squeeze(i)))
    _agree(
        _rule_shape(lambda: T.view(x, [lit(-1), lit(a[-1])], 0)),
        _torch_shape(lambda: _meta(a).view(-1, a[-1])),
    )
    split = J.split(x, lit(2), i) if -len(a) <= i < len(a) else None
    pieces = torch.split(_meta(a), 2, dim=i) if split is not None else ()
    if isinstance(split, ListV):
        # A number of pieces the rule cannot count: each is x but along dim i.
        assert isinstance(split.item, tuple)
        for want in pieces:
            kept = [cast(Size, s).value for k, s in enumerate(split.item) if k != i % len(a)]
            assert kept == [n for k, n in enumerate(want.shape) if k != i % len(a)]
    elif split is not None:
        assert len(split.items) == len(pieces)
        for got, want in zip(split.items, pieces, strict=True):
            assert isinstance(got, tuple)
            assert tuple(int(s.value) for s in got if isinstance(s, Size)) == tuple(want.shape)
    perm = list(range(len(a)))[::-1]
    _agree(_rule_shape(lambda: T.permute(x, perm)), _torch_shape(lambda: _meta(a).permute(perm)))


_LINALG_CALLS: dict[str, Callable[[torch.Tensor], object]] = {
    "svd": lambda a: torch.linalg.svd(a),
    "svd_reduced": lambda a: torch.linalg.svd(a, full_matrices=False),
    "svd_old": lambda a: torch.svd(a),
    "qr": lambda a: torch.linalg.qr(a),
    "qr_complete": lambda a: torch.linalg.qr(a, mode="complete"),
    "eigh": lambda a: torch.linalg.eigh(a),
    "eigvalsh": lambda a: torch.linalg.eigvalsh(a),
    "svdvals": lambda a: torch.linalg.svdvals(a),
    "inv": lambda a: torch.linalg.inv(a),
    "det": lambda a: torch.linalg.det(a),
    "slogdet": lambda a: torch.linalg.slogdet(a),
    "pinv": lambda a: torch.linalg.pinv(a),
    "matrix_exp": lambda a: torch.linalg.matrix_exp(a),
}


@settings(max_examples=200, deadline=None)
@given(
    dims=st.lists(st.integers(1, 4), min_size=0, max_size=4),
    name=st.sampled_from(sorted(_LINALG_CALLS)),
)
def test_matrix_rules_agree_with_torch(dims: list[int], name: str) -> None:
    # Each piece the rule gives has the shape torch gives; where torch refuses the input,
    # the rule reports a mismatch or cannot tell.
    op = name.split("_")[0] if name != "svd_old" and name != "matrix_exp" else name
    full = name in ("svd", "qr_complete")
    a = torch.eye(max(dims[-2:], default=1))[: dims[-2], : dims[-1]] if len(dims) >= 2 else None
    if a is not None:
        a = a.expand(*dims[:-2], *a.shape).clone()
    try:
        real = _LINALG_CALLS[name](a if a is not None else torch.ones(dims))
    except (RuntimeError, IndexError, ValueError):
        real = None
    try:
        rule = decomposed(op, _lits(dims), full, "a")
    except Mismatch:
        assert real is None
        return
    if rule is None or real is None:
        assert rule is None
        return
    pieces = list(rule.items) if isinstance(rule, TupV) else [rule]
    wanted = list(real) if isinstance(real, tuple) else [real]
    assert len(pieces) == len(wanted)
    for got, want in zip(pieces, wanted, strict=True):
        assert isinstance(got, tuple) and isinstance(want, torch.Tensor)
        assert tuple(cast(Size, i).value for i in got) == tuple(want.shape)


_BUILT = [
    "torch.linspace(0, 1, 5)",
    "torch.logspace(0, 1, steps=3)",
    "torch.eye(3)",
    "torch.eye(3, 4)",
    'torch.meshgrid(torch.arange(3), torch.arange(4), indexing="xy")[0]',
    'torch.meshgrid([torch.arange(3), torch.arange(4), torch.arange(2)], indexing="ij")[2]',
    'torch.stack(torch.meshgrid(torch.linspace(0, 1, 3), torch.linspace(0, 1, 4), indexing="xy"), -1)',
    "torch.tensor([[1, 2, 3], [4, 5, 6]])",
    "torch.Tensor([1.0, 2.0 * math.pi])",
    "torch.from_numpy(np.zeros(6)).reshape(2, 3)",
    "torch.where(torch.arange(3) > 1, torch.ones(2, 3), 0.0)",
    "torch.ones(4, 3)[..., 0:1]",
    "torch.eye(4)[None, :3, :4].tile(5, 1, 1)",
    "torch.ones(2, 3).tile(2)",
    "torch.ones(2, 3).tile(2, 1, 2)",
    "torch.ones(2, 3).repeat(2, 1, 2)",
    "torch.tile(torch.ones(3), (2, 2))",
    "torch.normal(mean=0.0, std=1.0, size=(3, 5))",
    "torch.ones(2, 3).type(torch.int32)",
    "torch.ones(5, 3)[::2, -2:]",
    "torch.ones(2, 6, 3)[None, 0, 1:5:3, ...]",
    "torch.sort(torch.ones(2, 5), 1).values",
    "torch.ones(2, 5).sort(dim=0)[1]",
    "torch.ones(2, 5).argsort(-1)",
    "torch.ones(4, 6).topk(3, dim=1).indices",
    "torch.topk(torch.ones(4, 6), 2, 0)[0]",
    "torch.gather(torch.ones(4, 6), dim=1, index=torch.zeros(4, 2, dtype=torch.long))",
    "torch.ones(4, 6).gather(0, torch.zeros(3, 6, dtype=torch.long))",
    "torch.dot(torch.ones(3), torch.ones(3))",
    "torch.moveaxis(torch.ones(2, 3, 4), 0, -1)",
    "torch.ones(2, 3, 4).movedim(2, 0)",
    "torch.ones(2, 3, 4).movedim(-1, 1)",
    "torch.repeat_interleave(torch.ones(2, 3), repeats=2, dim=0)",
    "torch.ones(2, 3).repeat_interleave(3, dim=-1)",
    "torch.acos(torch.zeros(2, 3)).deg2rad()",
    "torch.ones(7, 5)[torch.zeros(2, 3).long()]",
    "torch.ones(7, 5)[torch.zeros(2, 3).long(), :]",
    "torch.ones(2, 4, 5)[:, torch.arange(3)]",
    "torch.ones(4, 5)[torch.arange(2), ...]",
    "torch.ones(7, 5)[torch.ones(7) > 0]",
    "torch.ones(3, 7, 5)[torch.ones(3, 7).bool()]",
    "torch.from_numpy(np.zeros(6)).view(-1, 2)",
    "torch.from_numpy(np.zeros((2, 3))).reshape(-1)",
    "torch.tensor(0.5)",
    "torch.as_tensor(3) * torch.ones(2, 4)",
    "torch.max(torch.ones(2, 1), torch.ones(3))",
    "torch.logical_and(torch.ones(2, 1) > 0, torch.ones(4) > 0)",
    "torch.atan2(torch.ones(3, 1), torch.ones(2))",
    "torch.ones(3).eq(torch.ones(2, 1))",
    "torch.bitwise_xor(torch.ones(5, 1).long(), torch.ones(3).long())",
    "torch.searchsorted(torch.arange(5), torch.ones(2, 3))",
    "torch.argwhere(torch.ones(3, 4))",
    "torch.nonzero(torch.ones(2, 3, 4))",
    "torch.nn.functional.interpolate(torch.ones(1, 3, 8, 8), size=(4, 6))",
    "torch.nn.functional.interpolate(torch.ones(1, 3, 8), 5)",
    "torch.nn.functional.interpolate(torch.ones(2, 3, 8, 8), scale_factor=2)",
    "torch.cross(torch.ones(4, 3), torch.ones(1, 3), dim=-1)",
    "torch.linalg.cross(torch.ones(2, 1, 3), torch.ones(1, 5, 3))",
    "torch.cosine_similarity(torch.ones(4, 3), torch.ones(2, 1, 3), dim=-1)",
    "torch.nn.functional.cosine_similarity(torch.ones(4, 6), torch.ones(4, 6))",
    "torch.cat([torch.ones(2, 3)] * 2)",
    "torch.stack((torch.ones(2, 3),) * 3, dim=1)",
    "torch.ones(5, 6).chunk(4, dim=1)[2]",
    "torch.ones(7, 2).chunk(3)[-1]",
    "torch.linalg.svd(torch.ones(2, 5, 3))[0]",
    "torch.linalg.svd(torch.ones(5, 3), full_matrices=False).Vh",
    "torch.linalg.svd(torch.ones(3, 5), full_matrices=False)[1]",
    "torch.svd(torch.ones(4, 6, 2))[2]",
    "torch.ones(5, 3).svd().U",
    "torch.linalg.qr(torch.ones(6, 4)).R",
    "torch.linalg.qr(torch.ones(6, 4), mode='complete')[0]",
    "torch.linalg.eigh(torch.ones(2, 4, 4)).eigenvectors",
    "torch.linalg.eig(torch.ones(3, 3))[0]",
    "torch.linalg.inv(torch.eye(3)[None].repeat(2, 1, 1))",
    "torch.eye(4).inverse()",
    "torch.linalg.det(torch.ones(5, 2, 2))",
    "torch.ones(2, 3, 3).logdet()",
    "torch.linalg.slogdet(torch.ones(4, 3, 3))[1]",
    "torch.linalg.pinv(torch.ones(2, 5, 3))",
    "torch.zeros(*torch.ones(2, 3, 4).shape[:-1], 6)",
    "torch.ones(0, *torch.ones(5, 2).shape)",
]


@pytest.mark.parametrize("expr", _BUILT)
def test_built_tensors_have_torchs_shape(tmp_path: Path, expr: str) -> None:
    # The rule's shape, written as the return annotation, holds; one more axis is a finding.
    env = {"torch": torch, "math": math, "np": np}
    real = tuple(eval(expr, env).shape)
    head = "import math\nimport numpy as np\nimport torch\nfrom jaxtyping import Float\n"
    head += "from torch import Tensor\n"
    for dims, found in ((real, 0), ((*real, 7), 1)):
        spec = " ".join(str(n) for n in dims)
        path = tmp_path / "built.py"
        path.write_text(f'{head}def f() -> Float[Tensor, "{spec}"]:\n    return {expr}\n')
        stats = Stats()
        assert len(check_file(path, stats=stats)) == found
        assert stats.annotated["return"] == 1


_bound = st.one_of(st.none(), st.integers(-7, 7))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 6), lo=_bound, hi=_bound, step=st.one_of(st.none(), st.integers(1, 3)))
def test_literal_slices_agree_with_torch(
    n: int, lo: int | None, hi: int | None, step: int | None
) -> None:
    text = f"x[{'' if lo is None else lo}:{'' if hi is None else hi}"
    text += f"{'' if step is None else f':{step}'}, 0:1]"
    node = ast.parse(text).body[0]
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Subscript)
    assert isinstance(node.value.slice, ast.Tuple)
    out = T.index(_lits([n, 2]), node.value.slice.elts)
    real = eval(text, {"x": _meta([n, 2])}).shape
    assert _rule_shape(lambda: out) == tuple(real)


def test_explain_lists_unchecked_annotated_relations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shapesafe._static import _report

    monkeypatch.setattr(_report, "_EXPLAIN", True)
    path = tmp_path / "unexplained.py"
    path.write_text(
        "import torch\nfrom jaxtyping import Float\nfrom torch import Tensor\n"
        "def f(x: Float[Tensor, 'b d']) -> Float[Tensor, 'b d']:\n"
        "    return torch.fft.rfft(x)\n"
    )
    assert check_file(path, stats=Stats()) == []
    err = capsys.readouterr().err.splitlines()
    assert f"{path}:5: torch op without a shape rule: torch.fft.rfft" in err
    assert (
        f"{path}:5: return value of unknown shape: torch.fft.rfft(x) "
        "(from an op or index without a shape rule for its arguments)"
    ) in err


@settings(max_examples=200, deadline=None)
@given(
    run=_dims,
    a=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    b=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    dim=st.integers(-4, -1),
)
def test_cat_and_stack_over_a_shared_run_agree_with_torch(
    run: list[int], a: list[int], b: list[int], dim: int
) -> None:
    group = Group("batch")
    sa, sb = (group, *_lits(a)), (group, *_lits(b))
    ma, mb = _meta(run + a), _meta(run + b)
    for rule, real in (
        (lambda: J.concat([sa, sb], dim, ["a", "b"]), lambda: torch.cat([ma, mb], dim)),
        (lambda: J.stack([sa, sb], dim, ["a", "b"]), lambda: torch.stack([ma, mb], dim)),
    ):
        got = _rule_shape_run(rule)
        want = _torch_shape(real)
        if got == "mismatch":
            assert want is None
        elif isinstance(got, tuple) and got[:1] == ("last",):
            if run:  # the rule took the run's last axis out of it
                assert want is not None and len(want) == len(run) - 1 + len(got) - 1
                tail = want[len(run) - 1 :]
                assert all(g in ("?", w) for g, w in zip(got[1:], tail, strict=True)), (want, got)
        elif got is not None:
            assert want == (*run, *got)


def test_stats_tell_an_op_with_a_rule_from_one_without(tmp_path: Path) -> None:
    # `torch.norm(x, dim=-1)` of an x of unknown shape has a rule; its input is what is
    # unknown. `torch.fft.rfft` has none.
    path = tmp_path / "inputs.py"
    path.write_text(
        "import torch\nfrom torch import Tensor\n"
        "def f(x: Tensor, y: Tensor):\n"
        "    return torch.norm(x, dim=-1), torch.any(x > 0, dim=1), torch.sum(y), "
        "torch.fft.rfft(x)\n"
    )
    stats = Stats()
    assert check_file(path, stats=stats) == []
    assert stats.unknown["op input of unknown shape"] == 3
    assert stats.unknown["torch op without a shape rule"] == 1
