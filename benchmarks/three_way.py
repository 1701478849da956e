"""A library's own test suite three ways: plain, under jaxtyping's hook, under shapesafe's.

    python benchmarks/three_way.py CHECKOUT --package NAME [--repeat N] [-- PYTEST_ARGS...]

Runs `python -m pytest` in CHECKOUT (with the Python running this script, so install the
library, its test dependencies and shapesafe there) three ways:

- plain;
- `--jaxtyping-packages=NAME,beartype.beartype` (jaxtyping's own hook, checking with beartype);
- `--shapesafe-packages=NAME`.

The project's own `addopts` are dropped (`-o addopts=`) so that each run gets only its own
hook; give the tests to run, and any other option, after `--`. Prints, per mode, the tests
passed, failed (errors included) and skipped, and the wall time with its ratio to plain (the
median of `--repeat` runs), then every test whose outcome differs between modes.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

MODES = ("plain", "jaxtyping", "shapesafe")


def options(mode: str, package: str) -> list[str]:
    """The pytest options that turn a mode's hook on."""
    if mode == "jaxtyping":
        return [f"--jaxtyping-packages={package},beartype.beartype"]
    if mode == "shapesafe":
        return [f"--shapesafe-packages={package}"]
    return []


def outcomes(report: Path) -> dict[str, str]:
    """Test id -> passed, failed or skipped, from a junit XML report."""
    found: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            found[name] = "failed"
        elif case.find("skipped") is not None:
            found[name] = "skipped"
        else:
            found[name] = "passed"
    return found


def run(checkout: Path, mode: str, package: str, extra: list[str], report: Path) -> float:
    """One pytest run; its wall time in seconds."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        f"--junitxml={report}",
        *options(mode, package),
        *extra,
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=checkout, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="the library's checkout")
    parser.add_argument("--package", required=True, help="the package the hooks check")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode (default 1)")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.pytest_args = argv[cut + 1 :]
    times: dict[str, list[float]] = {mode: [] for mode in MODES}
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            for mode in MODES:  # interleaved, so that a change in load hits every mode
                report = Path(folder) / f"{mode}.xml"
                times[mode].append(run(args.checkout, mode, args.package, args.pytest_args, report))
                results[mode] = outcomes(report)
    plain = statistics.median(times["plain"])
    print(f"| mode | passed | failed | skipped | wall s (median of {args.repeat}) | vs plain |")
    print("|---|---|---|---|---|---|")
    for mode in MODES:
        counts = [sum(v == kind for v in results[mode].values()) for kind in ("passed", "failed")]
        skipped = sum(v == "skipped" for v in results[mode].values())
        wall = statistics.median(times[mode])
        print(
            f"| {mode} | {counts[0]} | {counts[1]} | {skipped} | {wall:.1f} | {wall / plain:.2f}x |"
        )
    names = sorted(set().union(*(results[mode] for mode in MODES)))
    differing = [n for n in names if len({results[m].get(n, "absent") for m in MODES}) > 1]
    verb = "test differs" if len(differing) == 1 else "tests differ"
    print(f"\n{len(differing)} {verb} between modes")
    for name in differing:
        print(f"- {name}: " + ", ".join(f"{m} {results[m].get(name, 'absent')}" for m in MODES))


if __name__ == "__main__":
    main()
