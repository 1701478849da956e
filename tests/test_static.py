"""The static checker: the corpus in tests/static, exact messages, silence on unknowns, the CLI."""

import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shapesafe import ShapeError
from shapesafe._contract import Bindings, parse_spec
from shapesafe._static import Finding, check_file
from shapesafe._static._unify import Unifier, lit
from shapesafe.check import main

STATIC = Path(__file__).resolve().parent / "static"
CORPUS = sorted(STATIC.glob("*.py"))
BUGGY = [p for p in CORPUS if "# expect: shape" in p.read_text()]
CLEAN = [p for p in CORPUS if p not in BUGGY]
_RUNTIME = re.compile(r"^# runtime: (\w+)$", re.MULTILINE)


def expected_lines(path: Path) -> list[int]:
    lines = path.read_text().splitlines()
    return [i for i, line in enumerate(lines, 1) if "# expect: shape" in line]


def test_corpus_has_both_kinds() -> None:
    assert len(BUGGY) >= 10 and len(CLEAN) >= 3


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
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
    if named is not None:
        error = {"RuntimeError": RuntimeError}[named.group(1)]
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
        "matmul(q, k): dim 'n' is d in q \"b s d\" but t in k \"b t d\"; did you mean k.mT?",
        id="qk-no-transpose",
    ),
    pytest.param(
        "qk_operator",
        'q @ k: inner dim is d in q "b s d" but t in k "b t d"; did you mean k.mT?',
        id="qk-operator",
    ),
    pytest.param(
        "causal_mask_shape",
        "apply_mask(scores, mask): dim 'k' is t in scores \"b s t\" but s in mask \"s s\"",
        id="causal-mask",
    ),
    pytest.param(
        "causal_mask_from_op",
        "apply_mask(scores, mask): dim 'k' is t in scores \"b s t\" but s in mask "
        '"?seq ?seq" (?seq is s from scores)',
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
        "luminance(image): dim '3' is 4 in image \"n 4\", expected 3 (\"n 3\")",
        id="literal-fixed",
    ),
    pytest.param(
        "literal_dims",
        "linear(tokens, table): dim 'in_features' is 32 in tokens \"b 32\" but 16 in table "
        '"64 16"',
        id="literal-sizes",
    ),
    pytest.param(
        "batch_mismatch",
        "matmul(a, b): dims '*batch' are (b h) in a \"b h m n\" but (b) in b \"b n p\"",
        id="batch-rank",
    ),
    pytest.param(
        "batch_mismatch",
        "add(x, y): dim '*shape[-2]' is s in x \"*batch s d\" but t in y \"*batch t d\"",
        id="batch-inner",
    ),
    pytest.param(
        "wrong_return",
        "return of mixer(): dim 'd' is d in x \"b s d\" but e in ss.linear(x, w) \"b s e\"",
        id="wrong-return",
    ),
    pytest.param(
        "wrong_return",
        "return of heads(): h \"b ?heads s ?head_dim\" has 4 dims, expected 3 for 'return' "
        '"b s e"',
        id="wrong-return-rank",
    ),
    pytest.param(
        "uses_layers",
        "feed_forward(x, w_out, w_in): dim 'd' is d in x \"b s d\" but h in w_out \"d h\"",
        id="imported-function",
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
            "    return torch.nn.functional.linear(x, w)\n",
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
            "def f(x: Float[Tensor, 'b h*d'], w: Float[Tensor, 'e k']):\n"
            "    return ss.linear(x, w)\n",
            id="expression-vs-name",
        ),
        pytest.param(
            "def f(x: Float[Tensor, 'b #d'], w: Float[Tensor, 'e k']):\n"
            "    return ss.linear(x, w)\n",
            id="broadcastable",
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
        "7: linear(x, w): dim 'in_features' is d in x \"b d\" but e in w \"d e\"; "
        "did you mean w.mT?",
        "10: matmul(q, q): dim 'n' is d in q \"s d\" but s in q \"s d\"; did you mean q.mT?",
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
        "8: pair(b, a): dim '2*k' is 6 in a \"n 6\", expected 8 (\"n 2*k\")",
    ]


def test_annotated_local_and_nested_calls(tmp_path: Path) -> None:
    source = HEADER + (
        "def f(x: Float[Tensor, 'b s d'], w: Float[Tensor, 'e d']) -> None:\n"
        "    y: Float[Tensor, 'b s d'] = ss.linear(x, w)\n"
        "    z: Float[Tensor, 'b s e'] = ss.softmax(ss.linear(x, w))\n"
        "    ss.add(z, x)\n"
    )
    assert check_source(tmp_path, source) == [
        "6: y: dim 'd' is d in the annotation \"b s d\" but e in ss.linear(x, w) \"b s e\"",
        "8: add(z, x): dim '*shape[2]' is e in z \"b s e\" but d in x \"b s d\"",
    ]


def test_output_format_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "attn.py"
    path.write_text(
        HEADER + "def f(q: Float[Tensor, 'b s d'], k: Float[Tensor, 'b t e']):\n"
        "    return 1 + ss.matmul(q, k)\n"
    )
    (finding,) = check_file(path, "attn.py")
    assert str(finding) == (
        "attn.py:6:16: shape: matmul(q, k): dim 'n' is d in q \"b s d\" but t in k \"b t e\""
    )
    assert finding == Finding("attn.py", 6, 16, finding.message)


def test_cli_exit_status_and_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(STATIC / "bias_sized_in.py")]) == 1
    out, err = capsys.readouterr()
    assert out == (
        f"{STATIC / 'bias_sized_in.py'}:15:12: shape: linear(x, weight, bias): dim "
        "'out_features' is d_out in weight \"d_out d_in\" but d_in in bias \"d_in\"\n"
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
    start = time.perf_counter()
    for path in CORPUS:
        check_file(path)
    assert time.perf_counter() - start < 1.0


# The symbolic unifier, given only int sizes, must reach the runtime unifier's verdict.
SPECS = ["n", "m n", "*batch n", "*batch m n", "b 3", "... n", "_ n", "n n", "#n m", "*#b n"]


@settings(max_examples=300, deadline=None)
@given(
    specs=st.lists(st.sampled_from(SPECS), min_size=1, max_size=3),
    shapes=st.lists(
        st.lists(st.integers(1, 3), min_size=0, max_size=4), min_size=3, max_size=3
    ),
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
            assert "#" in text or (want.kind == "variadic" and "#" in "".join(specs)), (specs, shapes)
            return
