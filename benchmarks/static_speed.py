"""How long `shapesafe check` takes, wall clock, as a person runs it; and what it imports.

Each measurement is a fresh `python -m shapesafe.check` process (interpreter start, imports,
the check), so it is what a user or a pre-commit hook waits for. The two workloads are timed
in interleaved rounds; each cell is the median. Targets: one file under 0.5 s, 300 files
under 3 s. Run: `python benchmarks/static_speed.py [--rounds N] [--corpus DIR]`.

- one file: `examples/06_linear.py`;
- many files: `--corpus DIR` (every `.py` under it), or by default 300 files copied from
  this repository's examples, static-check corpus and package source into a temporary
  folder, each under its own name.

Then `python -X importtime -m shapesafe.check` on the one file lists the modules it
imports: torch, jaxtyping and beartype must not be among them.

Last, memory as an editor would use the checker: the one file, edited and re-checked 100
times in one process with one `Run`, the memory the checker holds after each check
(tracemalloc, after a collection). Target: flat, the same after the 100th check as after the 10th.
"""

import argparse
import gc
import itertools
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ONE = ROOT / "examples" / "06_linear.py"
HEAVY = ("torch", "jaxtyping", "beartype", "numpy")


def synthetic_corpus(folder: Path, count: int) -> Path:
    sources = sorted(
        [
            *(ROOT / "examples").glob("*.py"),
            *(ROOT / "tests" / "static").glob("*.py"),
            *(ROOT / "shapesafe").rglob("*.py"),
        ]
    )
    for i, source in zip(range(count), itertools.cycle(sources), strict=False):
        shutil.copy(source, folder / f"m{i:03d}_{source.name}")
    return folder


def run(paths: list[Path]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one `shapesafe check` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "shapesafe.check", *map(str, paths)],
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def imported_modules() -> tuple[list[str], float]:
    """Top-level modules `shapesafe check` imports, and its own import time in seconds."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "shapesafe.check", str(ONE)],
        capture_output=True,
        text=True,
        check=False,
    )
    tops, own = set(), 0.0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not cumulative.isdigit():
            continue  # the header line
        tops.add(name.split(".")[0])
        if name == "shapesafe":
            own = int(cumulative) / 1e6
    return sorted(tops), own


def recheck_memory(source: Path, count: int) -> list[int]:
    """Bytes held after each of `count` checks of `source`, edited before each, in one run."""
    from shapesafe._static import check_file
    from shapesafe._static._run import Run

    text = source.read_text()
    run = Run()
    held = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / source.name
        tracemalloc.start()
        try:
            for i in range(count):
                path.write_text(f"{text}\n# edit {i}\n")  # a new version on disk
                check_file(path, run=run)
                gc.collect()  # what is still reachable, not what awaits the collector
                held.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
    return held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--corpus", type=Path, help="a folder of .py files (default: 300 copies)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus or synthetic_corpus(Path(tmp), 300)
        many = sorted(corpus.rglob("*.py"))
        lines = sum(len(p.read_bytes().splitlines()) for p in many)
        timings: dict[str, list[tuple[float, float]]] = {"one": [], "many": []}
        run([ONE])  # warm the file system cache
        for _ in range(args.rounds):
            timings["one"].append(run([ONE]))
            timings["many"].append(run([corpus]))
    print(f"python {sys.version.split()[0]}, {args.rounds} interleaved rounds, medians")
    print("(CPU time is user + system of the process: it is what a loaded machine distorts least)")
    print("| workload | files | lines | wall | CPU | target (wall) |")
    print("| --- | --- | --- | --- | --- | --- |")
    label = "--corpus" if args.corpus else "copies"
    for key, name, files, size, target in [
        ("one", f"one file ({ONE.name})", 1, len(ONE.read_bytes().splitlines()), "< 0.5 s"),
        ("many", label, len(many), lines, "< 3 s"),
    ]:
        wall = statistics.median(t[0] for t in timings[key])
        cpu = statistics.median(t[1] for t in timings[key])
        print(f"| {name} | {files} | {size} | {wall:.2f} s | {cpu:.2f} s | {target} |")
    tops, own = imported_modules()
    heavy = [m for m in HEAVY if m in tops]
    print(f"\n`python -X importtime -m shapesafe.check`: {len(tops)} top-level packages imported,")
    print(f"the shapesafe package {own * 1000:.0f} ms cumulative;", end=" ")
    print(f"heavy ones imported: {heavy or 'none'}")
    print("non-stdlib packages imported:", [m for m in tops if m not in sys.stdlib_module_names])
    held = recheck_memory(ONE, 100)
    print("\n| workload | after check 10 | after check 100 | growth per check | target |")
    print("| --- | --- | --- | --- | --- |")
    growth = (held[-1] - held[9]) / 90
    print(
        f"| {ONE.name} edited and re-checked 100 times in one process | "
        f"{held[9] / 1e6:.2f} MB | {held[-1] / 1e6:.2f} MB | {growth / 1e3:.1f} KB | flat |"
    )


if __name__ == "__main__":
    main()
