"""The lessons, tour.py and tiny_gpt.py run as scripts, and print the errors they promise."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
LESSONS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))

sys.path.insert(0, str(EXAMPLES))
import tiny_gpt  # noqa: E402

from shapesafe import ShapeError  # noqa: E402
from tests.helpers import one_thread  # noqa: E402

# The first ShapeError line each lesson promises, as printed.
PROMISED = {
    "01": "ShapeError: softmax(): argument 'x' has dtype int64, expected Float",
    "02": "ShapeError: hadamard(): argument 'b' dims '*shape' are (4,) at b.shape[0:1]",
    "03": "ShapeError: add(): argument 'b' dim '*shape[2]' is 32 at b.shape[2], expected 8",
    "04": "ShapeError: matvec(): argument 'x' dim 'n' is 3 at x.shape[0], expected 4",
    "05": "ShapeError: matmul(): argument 'B' dim 'n' is 6 at B.shape[0], expected 4",
    "06": "ShapeError: linear(): argument 'weight' dim 'in_features' is 32 at weight.shape[1]",
    "07": "ShapeError: matmul(): argument 'B' dim 'n' is 4 at B.shape[0], expected 2",
    "08": "ShapeError: apply_mask(): argument 'mask' dim 'q' is 8 at mask.shape[0], expected 5",
    "09": "ShapeError: matmul(): argument 'B' dim 'n' is 5 at B.shape[0], expected 4",
    "10": "ShapeError: sub(): argument 'b' dims '*shape' are (2, 3) at b.shape[0:2]",
    "11": "ShapeError: split_heads(): argument 'x' dim 'embed' is 8 at x.shape[2]",
    "12": "ShapeError: matmul(): argument 'B' dim 'n' is 5 at B.shape[2], expected 4",
    # Which of q and k/v is blamed for a head count that does not divide is up to the
    # odd-one-out rule; the lesson promises the op.
    "13": "ShapeError: attention(): argument '",
    "14": "ShapeError: self_attention(): argument 'w_qkv' dim '3*embed' is 8 at w_qkv.shape[0]",
}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SHAPESAFE_MODE"}
    # One thread each: on a busy machine, torch's threads would spin against each other.
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def tour() -> subprocess.CompletedProcess[str]:
    return run_script(str(EXAMPLES / "tour.py"))


# The tour runs every lesson's main(); these also run alone, as `python examples/NN_name.py`.
STANDALONE = ["01", "06", "08", "12", "13", "14"]


@pytest.fixture(scope="module")
def standalone() -> dict[str, subprocess.CompletedProcess[str]]:
    paths = [p for p in LESSONS if p.stem[:2] in STANDALONE]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(lambda p: run_script(str(p.relative_to(ROOT))), paths)
        return {p.stem[:2]: result for p, result in zip(paths, done, strict=True)}


def sections(stdout: str) -> dict[str, str]:
    """The tour's output, cut at each lesson's `== NN  title` heading."""
    lessons, _, _ = stdout.partition("\n== all ")
    parts = re.split(r"^== (\d\d)  .*$", lessons, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_there_are_fourteen_numbered_lessons_each_runnable_alone() -> None:
    assert [p.stem[:2] for p in LESSONS] == sorted(PROMISED)
    for path in LESSONS:
        source = path.read_text(encoding="utf-8")
        assert 'if __name__ == "__main__":\n    heading(__doc__)\n    main()\n' in source, path.name


def test_tour_runs_every_lesson_in_order(tour: subprocess.CompletedProcess[str]) -> None:
    assert tour.returncode == 0, tour.stderr
    assert "Traceback" not in tour.stderr
    headings = re.findall(r"^== (\d\d)  ", tour.stdout, flags=re.MULTILINE)
    assert headings == sorted(PROMISED)
    caught = tour.stdout.count("\n  ShapeError: ")
    assert f"== all 14 lessons ran; {caught} mistakes caught as ShapeErrors" in tour.stdout
    assert caught >= 2 * len(PROMISED)


@pytest.mark.parametrize("number", sorted(PROMISED))
def test_tour_lesson_prints_its_caught_mistakes(
    tour: subprocess.CompletedProcess[str], number: str
) -> None:
    body = sections(tour.stdout)[number]
    errors = re.findall(r"^  ShapeError: .*$", body, flags=re.MULTILINE)
    assert errors, body
    assert errors[0].strip().startswith(PROMISED[number])
    # Every announced mistake is followed by its error.
    assert body.count("\n  mistake: ") == len(errors)


@pytest.mark.parametrize("number", STANDALONE)
def test_lesson_runs_alone_and_prints_what_the_tour_prints(
    standalone: dict[str, subprocess.CompletedProcess[str]],
    tour: subprocess.CompletedProcess[str],
    number: str,
) -> None:
    result = standalone[number]
    assert result.returncode == 0, result.stderr
    first, _, body = result.stdout.partition("\n")
    assert first.startswith("== ")
    assert PROMISED[number] in body
    assert body.strip() == sections(tour.stdout)[number].strip()


def test_reading_lesson_prints_the_listing_of_shapesafe_shapes(
    tour: subprocess.CompletedProcess[str],
) -> None:
    body = sections(tour.stdout)["14"]
    assert "  $ shapesafe shapes examples/14_reading_shapes.py:self_attention\n" in body
    listing = [line[4:] for line in body.splitlines() if line.startswith("    ")]
    assert listing[:2] == ["@ss.checked", "def self_attention("]
    for line in (
        "    # w_qkv: (3*embed, embed)",
        "    # qkv: (batch, seq, 3*embed)",
        "    # q: (batch, ?heads, seq, ?head_dim)",
        "    # scores: (batch, ?, seq, seq)",
    ):
        assert line in listing


def test_lessons_print_shapes_not_values(tour: subprocess.CompletedProcess[str]) -> None:
    assert "tensor(" not in tour.stdout
    assert "[[" not in tour.stdout


def test_tiny_gpt_script_trains_samples_and_shows_its_bugs() -> None:
    result = run_script(str(EXAMPLES / "tiny_gpt.py"), "--steps", "30", "--sample", "40")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "30 steps in" in out
    assert "sample:" in out
    assert (
        "ShapeError: cross_entropy(): argument 'targets' dims '*batch' are (4, 1) "
        "at targets.shape[0:2], expected (4,)"
    ) in out
    assert "hint: a size-1 axis is extra or missing: try targets.squeeze(-1)" in out
    assert "ShapeError: GPT.forward(): argument 'idx' has 1 dim (64,)" in out
    assert "hint: 'idx' has no batch axis: for a single example, try idx.unsqueeze(0)" in out


@pytest.fixture
def single_thread() -> Iterator[None]:
    with one_thread():
        yield


@pytest.fixture(scope="module")
def corpus() -> tuple[tiny_gpt.Chars, torch.Tensor]:
    text = tiny_gpt.TEXT.read_text(encoding="utf-8")
    chars = tiny_gpt.Chars(text)
    return chars, chars.encode(text)


def test_tiny_gpt_loss_decreases(
    corpus: tuple[tiny_gpt.Chars, torch.Tensor], single_thread: None
) -> None:
    chars, data = corpus
    torch.manual_seed(0)
    model = tiny_gpt.build_model(len(chars), block_size=32)
    losses = tiny_gpt.train(model, data, steps=40, batch_size=16)
    assert len(losses) == 40
    start = sum(losses[:3]) / 3
    end = sum(losses[-5:]) / 5
    assert start == pytest.approx(torch.tensor(len(chars)).float().log().item(), abs=0.3)
    assert end < start - 0.4


def test_tiny_gpt_model_contract(corpus: tuple[tiny_gpt.Chars, torch.Tensor]) -> None:
    chars, data = corpus
    torch.manual_seed(0)
    model = tiny_gpt.build_model(len(chars), block_size=16, num_heads=2)
    assert model.lm_head.weight is model.transformer["wte"].weight
    x = data[:32].reshape(2, 16)
    assert model(x).shape == (2, 16, len(chars))
    with pytest.raises(
        ShapeError, match=re.escape("GPT.forward(): argument 'idx' has dtype float32")
    ):
        model(x.float())
    with pytest.raises(ValueError, match=re.escape("seq=17 is longer than block_size=16")):
        model(data[:34].reshape(2, 17))
    untied = tiny_gpt.build_model(len(chars), tied=False)
    assert untied.lm_head.weight is not untied.transformer["wte"].weight


def test_tiny_gpt_sample_continues_the_prompt(
    corpus: tuple[tiny_gpt.Chars, torch.Tensor],
) -> None:
    chars, _ = corpus
    model = tiny_gpt.build_model(len(chars), block_size=8)
    text = tiny_gpt.sample(model, chars, "The ", 20)
    assert text.startswith("The ")
    assert len(text) == 24
    assert set(text) <= set(chars.chars)
