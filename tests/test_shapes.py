"""`shapesafe shapes FILE[:FUNCTION]` and the run's shape observer behind it."""

from pathlib import Path

import pytest

from shapesafe import check as cli
from shapesafe._static import Run, check_file
from shapesafe._static._run import Binding, Shapes

STATIC = Path(__file__).resolve().parent / "static"


def shapes(capsys: pytest.CaptureFixture[str], target: str) -> tuple[int, str, str]:
    status = cli.main(["shapes", target])
    out, err = capsys.readouterr()
    return status, out, err


def test_listing_of_a_shapesafe_op_function(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = shapes(capsys, f"{STATIC / 'attention_ok.py'}:heads")
    assert (status, err) == (0, "")
    assert out == (
        'def heads(x: Float[Tensor, "b s e"], n_heads: int) -> Float[Tensor, "b s e"]:\n'
        "    # x: (b, s, e)\n"
        "    h = ss.split_heads(x, n_heads)\n"
        "    # h: (b, n_heads, s, e//n_heads)\n"
        "    out = ss.attention(h, h, h, causal=True)\n"
        "    # out: (b, n_heads, s, e//n_heads)\n"
        "    return ss.merge_heads(out)  # shapesafe: ignore (h*d is e, which no checker can prove)\n"
    )


def test_listing_of_raw_torch_with_parameters_on_their_own_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = shapes(capsys, f"{STATIC / 'models' / 'raw_heads_ok.py'}:split_scores")
    assert status == 0
    assert out == (
        "def split_scores(\n"
        '    q: Float[Tensor, "b s h e"], k: Float[Tensor, "b s h e"]\n'
        "    # q: (b, s, h, e)\n"
        "    # k: (b, s, h, e)\n"
        ') -> Float[Tensor, "b h s s"]:\n'
        "    return q.transpose(1, 2) @ k.permute(0, 2, 3, 1)\n"
    )


def test_listing_of_a_method_says_why_a_shape_is_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = f"{STATIC / 'models' / 'gpt_ss_ok.py'}:Attention.forward"
    status, out, _ = shapes(capsys, target)
    assert status == 0
    lines = out.splitlines()
    assert lines[:6] == [
        '    def forward(self, x: Float[Tensor, "b t d"]) -> Float[Tensor, "b t d"]:',
        "        # x: (b, t, d)",
        "        q, k, v = self.c_attn(x).split(x.size(-1), dim=2)",
        "        # q: unknown (an op or index without a shape rule for its arguments)",
        "        # k: unknown (an op or index without a shape rule for its arguments)",
        "        # v: unknown (an op or index without a shape rule for its arguments)",
    ]
    assert "        # y: (?batch, ?seq, ?heads*head_dim)" in lines


def test_listing_of_a_loop_gives_what_every_iteration_binds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = shapes(capsys, f"{STATIC / 'models' / 'gpt_ss_ok.py'}:GPT.forward")
    assert status == 0
    assert out.splitlines()[-6:] == [
        "        for block in self.transformer.h:",
        "            x = block(x)",
        "            # x: (b, t, config.n_embd)",
        "        x = self.transformer.ln_f(x)",
        "        # x: (b, t, config.n_embd)",
        "        return ss.linear(x, self.transformer.wte.weight)",
    ]


def test_listing_of_a_whole_file_keeps_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = STATIC / "attention_ok.py"
    status, out, _ = shapes(capsys, str(path))
    assert status == 0
    source = path.read_text().splitlines()
    assert [line for line in out.splitlines() if not line.lstrip().startswith("# ")] == [
        line for line in source if not line.lstrip().startswith("# ")
    ]
    assert "# q: (2, 3, 8)" in out.splitlines()


@pytest.mark.parametrize(
    "target, message",
    [
        pytest.param("missing.py", "missing.py: error: no such file", id="no-file"),
        pytest.param(
            f"{STATIC / 'attention_ok.py'}:nothing",
            f"{STATIC / 'attention_ok.py'}: error: no function or class 'nothing' at its top level",
            id="no-function",
        ),
    ],
)
def test_listing_errors(capsys: pytest.CaptureFixture[str], target: str, message: str) -> None:
    status, out, err = shapes(capsys, target)
    assert (status, out, err) == (2, "", message + "\n")


def test_observer_records_positions_and_a_run_without_one_records_nothing() -> None:
    path = STATIC / "attention_ok.py"
    seen = Shapes()
    assert check_file(path, run=Run(seen)) == []
    found = {(b.line, b.name): b for b in seen.of(path)}
    assert found[16, "weights"] == Binding(16, 4, 11, "weights", 16, ("b", "s", "t"))
    assert found[14, "k"] == Binding(14, 31, 32, "k", 14, ("b", "t", "d"), parameter=True)
    plain = Run()
    assert plain.observer is None
    assert check_file(path, run=plain) == []
    assert seen.of(path) == sorted(found.values())  # another run tells this observer nothing


@pytest.mark.parametrize(
    "path", sorted(STATIC.rglob("*.py")), ids=lambda p: str(p.relative_to(STATIC))
)
def test_an_observer_changes_no_finding(path: Path) -> None:
    seen = Shapes()
    assert check_file(path, run=Run(seen)) == check_file(path, run=Run())
    assert seen.of(path) or "def " not in path.read_text()
