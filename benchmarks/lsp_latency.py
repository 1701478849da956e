"""How long `shapesafe lsp` takes to give fresh diagnostics after an edit, and whether its
memory stays flat over many edits.

The workspace is a temporary folder of 300 files copied from this repository (examples,
static-check corpus, package source) and one file of about 500 lines of annotated model code
(shapesafe ops and raw torch), which imports a helper of the workspace. The server's
session for that workspace (`shapesafe.lsp.Session`, what each didChange runs) takes one
edit after another, each a new text of the 500-line file; five other files are open. The
time is of the check and its findings, in process: the JSON-RPC framing around it is left out.

Targets: median under 100 ms, p95 under 250 ms; the memory the session holds (tracemalloc,
after a collection) the same after the 1000th edit as after the 100th.
Run: `python benchmarks/lsp_latency.py [--edits N]`.
"""

import argparse
import gc
import itertools
import shutil
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from shapesafe.lsp import Session

ROOT = Path(__file__).resolve().parent.parent

HELPER = """\
from jaxtyping import Float
from torch import Tensor


def mix(a: Float[Tensor, "b s d"], w: Float[Tensor, "e d"]) -> Float[Tensor, "b s e"]:
    return a @ w.mT
"""

HEADER = """\
import torch
import torch.nn.functional as F
from jaxtyping import Bool, Float
from torch import Tensor

import shapesafe as ss
from helper import mix
"""

BLOCK = """

def attend_{i}(
    q: Float[Tensor, "b s d"], k: Float[Tensor, "b t d"], v: Float[Tensor, "b t e"]
) -> Float[Tensor, "b s e"]:
    scores = ss.attention_scores(q, k)  # edit {edit}
    weights = ss.softmax(scores)
    return ss.matmul(weights, v)


def project_{i}(x: Float[Tensor, "b s d"], w: Float[Tensor, "e d"]) -> Tensor:
    y = F.linear(x, w)
    z = mix(x, w)
    return y + z


def masked_{i}(s: Float[Tensor, "b q k"], m: Bool[Tensor, "q k"]) -> Float[Tensor, "b q k"]:
    out = s.masked_fill(~m, float("-inf"))
    return torch.softmax(out, dim=-1)
"""


def big_file(edit: int, blocks: int = 26) -> str:
    """About 500 lines; `edit` changes one comment in one block."""
    return HEADER + "".join(
        BLOCK.format(i=i, edit=edit if i == edit % blocks else 0) for i in range(blocks)
    )


def workspace(folder: Path, count: int = 300) -> Path:
    sources = sorted(
        [
            *(ROOT / "examples").glob("*.py"),
            *(ROOT / "tests" / "static").glob("*.py"),
            *(ROOT / "shapesafe").rglob("*.py"),
        ]
    )
    for i, source in zip(range(count - 2), itertools.cycle(sources), strict=False):
        shutil.copy(source, folder / f"m{i:03d}_{source.name}")
    (folder / "helper.py").write_text(HELPER)
    (folder / "model.py").write_text(big_file(0))
    return folder


def held_mb() -> float:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = workspace(Path(tmp))
        model = folder / "model.py"
        session = Session(folder)
        others = sorted(folder.glob("m*.py"))[:5]
        for other in others:
            session.open(other, other.read_text())
        first = session.open(model, big_file(0))
        assert first[model] == [], first[model]
        lines = big_file(0).count("\n")

        times = []
        for edit in range(1, 201):
            start = time.perf_counter()
            session.open(model, big_file(edit))
            times.append(time.perf_counter() - start)
        times.sort()
        median = statistics.median(times) * 1000
        p95 = times[int(len(times) * 0.95)] * 1000

        tracemalloc.start()
        marks = {}
        for edit in range(1, options.edits + 1):
            session.open(model, big_file(edit))
            if edit in (100, options.edits):
                marks[edit] = held_mb()
        tracemalloc.stop()

    print(
        f"| edit of a {lines}-line file, 300-file workspace, 5 more files open |"
        " median | p95 | memory held after 100 edits | after "
        f"{options.edits} |"
    )
    print("|---|---|---|---|---|")
    print(
        f"| fresh diagnostics (in process) | {median:.0f} ms | {p95:.0f} ms | "
        f"{marks[100]:.1f} MB | {marks[options.edits]:.1f} MB |"
    )


if __name__ == "__main__":
    main()
