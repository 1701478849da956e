"""Does having shapesafe installed slow pytest down for people who don't use its option?

pytest loads every installed `pytest11` plugin at start, so shapesafe's is loaded whether
or not `--shapesafe-packages` is given. This times `python -m pytest` on a folder with one
trivial test, with the plugin (as installed) and without it (`-p no:shapesafe`), in fresh
processes, interleaved rounds, medians of wall and of CPU time (user + system, which a loaded
machine distorts less). The other installed plugins are turned off in both (jaxtyping's
imports jax or torch at start, which would drown the difference). It also lists what the
plugin imports.
Run: `python benchmarks/pytest_startup.py [--rounds N]`.
"""

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OTHERS = ("-p", "no:jaxtyping", "-p", "no:hypothesispytest")


def pytest_run(folder: Path, *extra: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *OTHERS,
            *extra,
            str(folder),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(done.stdout + done.stderr)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    variants = {"without the plugin": ("-p", "no:shapesafe"), "with the plugin": ()}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        pytest_run(folder)  # warm the file system cache
        for i in range(args.rounds):
            order = list(variants.items())[:: 1 if i % 2 == 0 else -1]
            for name, extra in order:
                times[name].append(pytest_run(folder, *extra))
    base = [statistics.median(t[k] for t in times["without the plugin"]) for k in (0, 1)]
    print(f"python {sys.version.split()[0]}, {args.rounds} interleaved rounds, medians")
    print("| pytest start + 1 test | wall | ratio | CPU | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for name, values in times.items():
        wall, cpu = (statistics.median(t[k] for t in values) for k in (0, 1))
        print(
            f"| {name} | {wall * 1000:.0f} ms | {wall / base[0]:.3f}x "
            f"| {cpu * 1000:.0f} ms | {cpu / base[1]:.3f}x |"
        )
    code = (
        "import sys; before = set(sys.modules); import shapesafe.pytest_plugin; "
        "print(sorted(m for m in set(sys.modules) - before if '.' not in m))"
    )
    new = subprocess.run(
        [sys.executable, "-c", f"import pytest; {code}"], capture_output=True, text=True, check=True
    )
    print("top-level modules the plugin adds to a pytest process:", new.stdout.strip())


if __name__ == "__main__":
    main()
