"""What the mypy plugin costs on a warm cache: plain mypy against mypy with the plugin.

One project (this repository's examples and static-check corpus, or `--files DIR`) is
copied to a temporary folder and type-checked with two configs that differ only in
`plugins = shapesafe.mypy_plugin`, each with its own cache. Both caches are filled first
(cold runs, slow: mypy reads torch), then the warm runs alternate, plain and plugin, in
fresh `python -m mypy` processes; each cell is the median. Target: plugin <= 2x plain.

Then one warm plugin run in this process counts the module lookups of the plugin's cache
fingerprint (`find_module` calls). Run: `python benchmarks/mypy_speed.py [--rounds N]`.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = "[mypy]\nshow_column_numbers = True\n"


def project(folder: Path, files: Path | None) -> None:
    sources = (
        sorted(files.rglob("*.py"))
        if files
        else [
            *sorted((ROOT / "examples").glob("*.py")),
            *sorted((ROOT / "tests" / "static").glob("*.py")),
        ]
    )
    for source in sources:
        shutil.copy(source, folder / source.name)
    (folder / "plain.ini").write_text(CONFIG)
    (folder / "plugin.ini").write_text(CONFIG + "plugins = shapesafe.mypy_plugin\n")


def mypy(folder: Path, config: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            config,
            "--cache-dir",
            f"cache_{config}",
            ".",
        ],
        cwd=folder,
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - start


def count_lookups(folder: Path) -> int:
    import mypy.api

    from shapesafe._static import _source

    calls = 0
    real = _source.find_module

    def counting(dotted: str, importer: _source.Module) -> Path | None:
        nonlocal calls
        calls += 1
        return real(dotted, importer)

    _source.find_module = counting
    try:
        args = ["--config-file", str(folder / "plugin.ini"), "--cache-dir"]
        mypy.api.run([*args, str(folder / "cache_plugin.ini"), str(folder)])
    finally:
        _source.find_module = real
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--files", type=Path, help="a folder of .py files to type-check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project(folder, args.files)
        count = len(list(folder.glob("*.py")))
        cold = {c: mypy(folder, c) for c in ("plain.ini", "plugin.ini")}
        warm: dict[str, list[float]] = {"plain.ini": [], "plugin.ini": []}
        for i in range(args.rounds):
            for config in ("plain.ini", "plugin.ini")[:: 1 if i % 2 == 0 else -1]:
                warm[config].append(mypy(folder, config))
        lookups = count_lookups(folder)
    plain, plugin = (statistics.median(warm[c]) for c in ("plain.ini", "plugin.ini"))
    print(f"{count} files, python {sys.version.split()[0]}, {args.rounds} rounds, medians")
    print("| run | plain mypy | with the plugin | ratio |")
    print("| --- | --- | --- | --- |")
    c_plain, c_plugin = cold["plain.ini"], cold["plugin.ini"]
    print(f"| cold (once) | {c_plain:.1f} s | {c_plugin:.1f} s | {c_plugin / c_plain:.2f}x |")
    print(f"| warm | {plain:.2f} s | {plugin:.2f} s | {plugin / plain:.2f}x (target <= 2x) |")
    print(f"module lookups (find_module) in one warm plugin run: {lookups}")


if __name__ == "__main__":
    main()
