r"""A test suite and a small model three ways: plain, under jaxtyping's hook, under shapesafe's.

    python benchmarks/three_way.py suite CHECKOUT --package NAME [--repeat N] [--chunks N]
        [--keep DIR] [-- PYTEST_ARGS...]
    python benchmarks/three_way.py model [--repeat N]

`suite` runs `python -m pytest` in CHECKOUT (with the Python running this script, so install
the library, its test dependencies and shapesafe there) three ways:

- plain;
- `--jaxtyping-packages=NAME,beartype.beartype` (jaxtyping's own hook, checking with beartype);
- `--shapesafe-packages=NAME`.

The project's own `addopts` are dropped (`-o addopts=`) so that each run gets only its own
hook; give the tests to run, and any other option, after `--` (pytest reads `@FILE` there as
more arguments, one a line: a long `--deselect` list fits in one). Runs are serial.

With `--chunks N`, the tests are collected once (plain) and cut, file by file, into N chunks of
about as many tests each; each chunk runs in the three modes one after the other, the order
turning from chunk to chunk, so that a change in the machine's load hits every mode about
alike. Selection options (paths, `-k`, `-m`, `--deselect`, `--ignore`, `@FILE`) act at that
collection only; every other option goes to each chunk's run.

Prints, per mode, the tests passed, failed (errors included) and skipped; the suite's wall
time and CPU time (user + system of the pytest process and its children, which a busy machine
changes much less than wall time), each the median over `--repeat` rounds of the sum over
chunks, with its ratio to plain; the 1-minute load average around the runs; then every test
whose outcome differs between modes (from the last round).

`model` times a small TransformerLens model (2 layers, d_model 64, `gelu_new`; one torch
thread) in a fresh process per mode, the hook installed before `transformer_lens` is imported:
the import itself (hook and `import transformer_lens`, torch already imported; a pytest
run pays it once per process), a forward pass of a 2 x 16 batch, and greedy generation of 12
tokens from 4 with the KV cache. Each forward and generation time is the best of 5 batches
in a process; the table gives the median over
`--repeat` processes per mode (interleaved), wall and CPU time, as ratios to plain. It also
counts, in one forward, the calls of functions with a jaxtyping annotation and how many of
them went through a hook's check (their caller is the hook's wrapper), and says whether
`torch.save(model)` works.

TransformerLens's offline unit tests, for example (`HF_HUB_OFFLINE=1`; `offline.txt` holds a
`--deselect` line and a test id line for each test that fails plain only because a model or
tokenizer is not in the local cache):

    HF_HUB_OFFLINE=1 python benchmarks/three_way.py suite ../TransformerLens \
        --package transformer_lens --chunks 8 --freeze-gc -- tests/unit \
        --ignore=tests/unit/test_make_docs.py @offline.txt
"""

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MODES = ("plain", "jaxtyping", "shapesafe")
MODES_OUTCOMES = ("passed", "failed", "skipped")
#: Options that select tests, with a value: applied at collection only when chunking.
SELECTING = {"-k", "-m", "--deselect", "--ignore", "--ignore-glob"}


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
    if not report.exists():
        return found
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            found[name] = "failed"
        elif case.find("skipped") is not None:
            found[name] = "skipped"
        else:
            found[name] = "passed"
    return found


def pytest_command(extra: Sequence[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        *extra,
    ]


def run(checkout: Path, command: list[str], log: Path) -> tuple[float, float]:
    """One serial child run, its output written to `log`: wall and CPU time (user + system)."""
    here = str(Path(__file__).parent)
    path = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("w") as out:
        subprocess.run(command, cwd=checkout, env=env, stdout=out, stderr=out, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def split_selection(args: Sequence[str], checkout: Path) -> list[str]:
    """`args` less what selects tests: paths, node ids, `@FILE`s and `SELECTING` options."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in SELECTING:
            skip = True
        elif arg.split("=", 1)[0] in SELECTING or arg.startswith("@"):
            continue
        elif not arg.startswith("-") and (checkout / arg.split("::", 1)[0]).exists():
            continue
        else:
            kept.append(arg)
    return kept


def collect(checkout: Path, args: Sequence[str]) -> list[str]:
    """The node ids the plain run would run, in its order."""
    command = pytest_command(["--collect-only", *args])
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=False)
    ids = [line for line in done.stdout.splitlines() if "::" in line and not line.startswith(" ")]
    if not ids:
        sys.exit(f"collected no tests:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return ids


def chunked(ids: Sequence[str], count: int) -> list[list[str]]:
    """`ids` cut into at most `count` runs of whole files with about as many tests each."""
    files: dict[str, list[str]] = {}
    for node in ids:
        files.setdefault(node.split("::", 1)[0], []).append(node)
    target = len(ids) / count
    chunks: list[list[str]] = [[]]
    for nodes in files.values():
        if chunks[-1] and len(chunks[-1]) + len(nodes) / 2 > target and len(chunks) < count:
            chunks.append([])
        chunks[-1].extend(nodes)
    return chunks


def suite(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="three_way.py suite")
    parser.add_argument("checkout", type=Path, help="the library's checkout")
    parser.add_argument("--package", required=True, help="the package the hooks check")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of runs (default 1)")
    parser.add_argument("--chunks", type=int, default=1, help="chunks per round (default 1)")
    parser.add_argument("--keep", type=Path, help="keep the junit XML reports in this folder")
    parser.add_argument(
        "--freeze-gc",
        action="store_true",
        help="gc.freeze() after collection in every run (see _three_way_gc.py)",
    )
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    pytest_args = argv[cut + 1 :]
    checkout: Path = args.checkout.resolve()
    folder = Path(tempfile.mkdtemp()) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    if args.chunks > 1:
        ids = collect(checkout, pytest_args)
        chunks = chunked(ids, args.chunks)
        rest = split_selection(pytest_args, checkout)
        selections = []
        for number, nodes in enumerate(chunks):
            listed = folder / f"chunk{number}.txt"
            listed.write_text("".join(node + "\n" for node in nodes))
            selections.append([*rest, f"@{listed}"])
        print(f"{len(ids)} tests in {len(chunks)} chunks", flush=True)
    else:
        selections = [pytest_args]
    freeze = ["-p", "_three_way_gc"] if args.freeze_gc else []
    walls: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpus: dict[str, list[float]] = {mode: [] for mode in MODES}
    loads: list[float] = []
    results: dict[str, dict[str, str]] = {}
    for _ in range(args.repeat):
        wall = dict.fromkeys(MODES, 0.0)
        cpu = dict.fromkeys(MODES, 0.0)
        found: dict[str, dict[str, str]] = {mode: {} for mode in MODES}
        for number, selection in enumerate(selections):
            turn = number % len(MODES)
            for mode in MODES[turn:] + MODES[:turn]:
                report = folder / f"{mode}{number}.xml"
                report.unlink(missing_ok=True)
                loads.append(os.getloadavg()[0])
                command = pytest_command(
                    [f"--junitxml={report}", *freeze, *options(mode, args.package), *selection]
                )
                spent = run(checkout, command, report.with_suffix(".log"))
                wall[mode] += spent[0]
                cpu[mode] += spent[1]
                found[mode].update(outcomes(report))
        for mode in MODES:
            walls[mode].append(wall[mode])
            cpus[mode].append(cpu[mode])
        results = found
        print(
            "round: " + ", ".join(f"{m} {wall[m]:.0f} s wall {cpu[m]:.0f} s CPU" for m in MODES),
            flush=True,
        )
    loads.append(os.getloadavg()[0])
    print_suite(results, walls, cpus, loads, args.repeat)


def print_suite(
    results: dict[str, dict[str, str]],
    walls: dict[str, list[float]],
    cpus: dict[str, list[float]],
    loads: list[float],
    repeat: int,
) -> None:
    plain_wall = statistics.median(walls["plain"])
    plain_cpu = statistics.median(cpus["plain"])
    print(
        f"\n| mode | passed | failed | skipped | wall s | vs plain | CPU s | vs plain |"
        f"  (medians of {repeat} rounds)"
    )
    print("|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        counted = [sum(v == kind for v in results[mode].values()) for kind in MODES_OUTCOMES]
        wall = statistics.median(walls[mode])
        cpu = statistics.median(cpus[mode])
        print(
            f"| {mode} | {counted[0]} | {counted[1]} | {counted[2]} | {wall:.0f} | "
            f"{wall / plain_wall:.2f}x | {cpu:.0f} | {cpu / plain_cpu:.2f}x |"
        )
    print(
        f"1-minute load average at the runs' starts: median {statistics.median(loads):.1f}, "
        f"range {min(loads):.1f}-{max(loads):.1f} (2 means two busy cores)"
    )
    names = sorted(set().union(*(results[mode] for mode in MODES)))
    differing = [n for n in names if len({results[m].get(n, "absent") for m in MODES}) > 1]
    verb = "test differs" if len(differing) == 1 else "tests differ"
    print(f"\n{len(differing)} {verb} between modes")
    for name in differing:
        print(f"- {name}: " + ", ".join(f"{m} {results[m].get(name, 'absent')}" for m in MODES))


def model(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="three_way.py model")
    parser.add_argument("--repeat", type=int, default=5, help="processes per mode (default 5)")
    args = parser.parse_args(argv)
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    loads = []
    for number in range(args.repeat):
        turn = number % len(MODES)
        for mode in MODES[turn:] + MODES[:turn]:
            loads.append(os.getloadavg()[0])
            command = [sys.executable, __file__, "_model", mode]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            lines = done.stdout.strip().splitlines()
            if done.returncode or not lines:
                sys.exit(f"{mode} run failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")
            runs[mode].append(json.loads(lines[-1]))
    loads.append(os.getloadavg()[0])
    keys = (
        "import_wall",
        "import_cpu",
        "forward_wall",
        "forward_cpu",
        "generate_wall",
        "generate_cpu",
    )

    def median(mode: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[mode]))

    print(
        "| mode | import wall ms | CPU ms | forward wall ms | CPU ms | generate wall ms | CPU ms |"
        f" checked / annotated calls per forward | torch.save |  (medians of {args.repeat})"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for mode in MODES:
        cells = []
        for key in keys:
            value = median(mode, key)
            cells.append(f"{value * 1e3:.2f} ({value / median('plain', key):.2f}x)")
        last = runs[mode][-1]
        print(
            f"| {mode} | {' | '.join(cells)} | {last['checked']} / {last['annotated']} | "
            f"{last['save']} |"
        )
    print(
        f"1-minute load average at the runs' starts: median {statistics.median(loads):.1f}, "
        f"range {min(loads):.1f}-{max(loads):.1f}. Wall: time.perf_counter; CPU: the process's "
        "time.process_time over the same loops (one torch thread); (x): ratio to plain"
    )


def _model_child(mode: str) -> None:
    """One mode's measurements, printed as a JSON line (run in a fresh process)."""
    import importlib

    import torch

    wall, cpu = time.perf_counter(), time.process_time()
    if mode == "jaxtyping":
        import jaxtyping

        jaxtyping.install_import_hook(["transformer_lens"], "beartype.beartype")
    elif mode == "shapesafe":
        import shapesafe

        shapesafe.install_import_hook("transformer_lens")
    lens = importlib.import_module("transformer_lens")  # the library measured, not a dependency
    found: dict[str, Any] = {
        "import_wall": time.perf_counter() - wall,
        "import_cpu": time.process_time() - cpu,
    }

    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = lens.HookedTransformerConfig(
        n_layers=2, d_model=64, n_ctx=32, d_head=16, n_heads=4, d_mlp=256, d_vocab=100,
        act_fn="gelu_new", normalization_type="LN",
    )  # fmt: skip
    net = lens.HookedTransformer(config)
    net.eval()
    tokens = torch.randint(0, 100, (2, 16))

    def forward() -> None:
        net(tokens)

    def generate() -> None:
        net.generate(
            tokens[:1, :4], max_new_tokens=12, verbose=False, use_past_kv_cache=True,
            do_sample=False, stop_at_eos=False,
        )  # fmt: skip

    with torch.no_grad():
        for name, step, reps in (("forward", forward, 20), ("generate", generate, 2)):
            for _ in range(3):
                step()
            best_wall = best_cpu = float("inf")
            for _ in range(5):
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(reps):
                    step()
                best_wall = min(best_wall, (time.perf_counter() - wall) / reps)
                best_cpu = min(best_cpu, (time.process_time() - cpu) / reps)
            found[f"{name}_wall"], found[f"{name}_cpu"] = best_wall, best_cpu
        found["checked"], found["annotated"] = count_calls(forward)
    buffer = io.BytesIO()
    try:
        torch.save(net, buffer)
        found["save"] = "works"
    except Exception as err:
        found["save"] = type(err).__name__
    print(json.dumps(found))


def count_calls(step: Any) -> tuple[int, int]:
    """In one `step()`: calls of `transformer_lens` functions with a jaxtyping annotation, and
    how many of them a hook's wrapper made (the caller's code is shapesafe's, jaxtyping's or
    beartype's: generated, or in their packages)."""
    import inspect
    import types
    import typing

    import beartype
    import jaxtyping

    import shapesafe
    from shapesafe._array_hints import mentions_array

    machinery = tuple(
        str(Path(str(p.__file__)).parent) + os.sep for p in (shapesafe, jaxtyping, beartype)
    )
    annotated: set[types.CodeType] = set()

    def consider(value: object) -> None:
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property):
            for part in (value.fget, value.fset):
                consider(part)
            return
        if not callable(value):
            return
        inner = inspect.unwrap(value)
        module = getattr(inner, "__module__", None) or ""
        if not isinstance(inner, types.FunctionType) or not module.startswith("transformer_lens"):
            return
        try:
            hints = typing.get_type_hints(inner, include_extras=True)
        except Exception:  # a hint that can't be read mentions no array here
            return
        if any(mentions_array(hint) for hint in hints.values()):
            annotated.add(inner.__code__)

    for name, loaded in list(sys.modules.items()):
        if name.startswith("transformer_lens") and loaded is not None:
            for value in list(vars(loaded).values()):
                if isinstance(value, type) and value.__module__ == name:
                    for member in list(vars(value).values()):
                        consider(member)
                else:
                    consider(value)
    counts = [0, 0]

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code in annotated:
            counts[1] += 1
            caller = frame.f_back.f_code.co_filename if frame.f_back else ""
            if caller.startswith(("<shapesafe", "<@beartype")) or caller.startswith(machinery):
                counts[0] += 1

    sys.setprofile(profile)
    try:
        step()
    finally:
        sys.setprofile(None)
    return counts[0], counts[1]


def main() -> None:
    argv = sys.argv[1:]
    commands = {"suite": suite, "model": model}
    if argv[:1] == ["_model"]:
        _model_child(argv[1])
    elif argv[:1] and argv[0] in commands:
        commands[argv[0]](argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
