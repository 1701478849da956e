"""Mutation recall of `shapesafe check` on jaxtyping-annotated torch libraries.

Run: `python benchmarks/mutation.py LIB [LIB ...] [--python PY] [--cap N] [--seed S] [-v]
[--json OUT]`, where each LIB is a checkout of a library (`PATH` or `NAME=PATH`; a git URL,
`URL#COMMIT` for one commit, is cloned into a temporary folder), and PY an interpreter with
torch, jaxtyping, beartype and the libraries' own dependencies. Library code is never copied
into this repository.

Libraries measured so far, none of which the checker was tuned on (repository, commit):
chaidiscovery/chai-lab 66c38d1fe5c6, dcharatan/pixelsplat 32b1b662bbba, jaimec00/ProteinDiff
629170f1b34a, snap-research/MobileR2L 4f8929e8a1dc, and two CS336 assignment-1 solutions,
dilawarm/assignment1-basics c887f06413d6 and kzaher/assignment1-basics 4fae7990c3db.

For each library it:

1. finds the annotated functions whose shapes a reader can know: a jaxtyping annotation on a
   parameter and on the return;
2. proposes one shape bug per copy, of the kinds in `_mutation_ops.KINDS` (matmul transpose or
   operands, cat/stack dim, swapped arguments, reduction dim, einsum/einops pattern, slice or
   index, keepdim and `(b,1)-(b,)` broadcast, reshape/permute/constructor sizes), each an
   AST-based edit of one expression;
3. confirms each mutant at run time where the code can run (`_mutation_run.py`, under
   `--python`): the module-level function is called on random tensors built from its
   annotations under `jaxtyping.jaxtyped(typechecker=beartype.beartype)`. A mutant is
   *confirmed* when the original runs clean and the mutant raises; one whose function can't
   be run is *unconfirmed*; one that runs clean is dropped, since it is no shape bug;
4. picks up to `--cap` mutants per library, deterministically (seeded), spread over the kinds
   and functions, confirmed ones first;
5. runs `shapesafe check` on each mutated file inside a copy of the library, as a user runs it
   on the file being edited, and on every original file (its findings there are the false
   positives). A mutant is caught when the mutated file has a finding the original lacks.

It prints recall by bug kind, over the confirmed mutants and over all of them, and the
findings on the originals; `--verbose` adds a line per missed mutant.
"""

import argparse
import ast
import collections
import dataclasses
import functools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _mutation_ops as ops

from shapesafe._static import _source
from shapesafe._static._run import Run, using

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "_mutation_run.py"
_SKIP_DIRS = frozenset(
    {"tests", "test", "docs", "doc", "build", "dist", "node_modules", "__pycache__"}
)
_FINDING = re.compile(r"^(?P<path>.*?):(?P<line>\d+):(?P<col>\d+): (?P<code>[\w-]+): (?P<msg>.*)$")


@dataclasses.dataclass
class Function:
    file: str  # relative to the library root
    qualname: str
    line: int
    module_level: bool
    mutable: bool  # a jaxtyping parameter and a jaxtyping return


@dataclasses.dataclass
class Mutant:
    library: str
    file: str
    function: str
    line: int
    kind: str
    note: str
    before: str
    after: str
    source: str = dataclasses.field(repr=False)
    runtime: str = "unconfirmed"  # confirmed | unconfirmed | runs clean
    runtime_detail: str = ""
    end_line: int = 0
    caught: bool = False
    findings: list[str] = dataclasses.field(default_factory=list)
    checked: str = ""  # the file's annotated relations checked, from --stats
    notes: list[str] = dataclasses.field(default_factory=list)  # unchecked, on the mutated lines

    def record(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        del data["source"]
        return data


@dataclasses.dataclass(eq=False)
class Library:
    name: str
    root: Path
    commit: str
    files: list[str] = dataclasses.field(default_factory=list)
    functions: list[Function] = dataclasses.field(default_factory=list)
    candidates: list[Mutant] = dataclasses.field(default_factory=list)
    mutants: list[Mutant] = dataclasses.field(default_factory=list)
    original_findings: list[str] = dataclasses.field(default_factory=list)
    unread: list[str] = dataclasses.field(default_factory=list)
    runtime_counts: dict[str, int] = dataclasses.field(default_factory=dict)


# ---- finding functions and mutants -----------------------------------------------------------


def python_files(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(p.startswith(".") or p in _SKIP_DIRS for p in rel.parts[:-1]):
            continue
        if rel.name.startswith("test_") or rel.name in {"setup.py", "conftest.py"}:
            continue
        found.append(rel.as_posix())
    return found


Def = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(tree: ast.Module) -> Iterator[tuple[str, Def, bool]]:
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt.name, stmt, True
        elif isinstance(stmt, ast.ClassDef):
            for inner in stmt.body:
                if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{stmt.name}.{inner.name}", inner, False


def wrappers(path: Path, tree: ast.Module, run: Run) -> frozenset[str]:
    """The names subscripted by a dim string alone in the file (`Float["b d"]`) that
    `shapesafe check` reads as a project's wrapper of one of jaxtyping's dtypes."""
    named = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    }
    if not named:
        return frozenset()
    with using(run):
        module = _source.load(path)
        if module is None:
            return frozenset()
        return frozenset(
            n for n in named if _source._wrapper_type(module, ast.Name(id=n)) is not None
        )


def discover(library: Library) -> None:
    """The library's files, annotated functions and every proposed mutant, in source order."""
    library.files = python_files(library.root)
    seen: set[str] = set()
    run = Run()
    run.cwd = str(library.root)  # where the checker looks for the library's own imports
    for rel in library.files:
        try:
            source = (library.root / rel).read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        aliases = ops.module_aliases(tree, wrappers(library.root / rel, tree, run))
        for qualname, func, module_level in _functions(tree):
            args = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
            annotated = [a for a in args if ops.jaxtyping_dims(a.annotation, aliases) is not None]
            returns = ops.jaxtyping_dims(func.returns, aliases) is not None
            if not annotated and not returns:
                continue
            mutable = bool(annotated) and returns
            library.functions.append(Function(rel, qualname, func.lineno, module_level, mutable))
            if not mutable:
                continue
            for edit in ops.edits(func, aliases):
                mutated, before, after = ops.apply(source, edit)
                if mutated in seen or mutated == source:
                    continue
                seen.add(mutated)
                library.candidates.append(
                    Mutant(
                        library.name,
                        rel,
                        qualname,
                        edit.node.lineno,
                        edit.kind,
                        edit.note,
                        before,
                        after,
                        mutated,
                        end_line=edit.node.end_lineno or edit.node.lineno,
                    )
                )


# ---- run time --------------------------------------------------------------------------------


def import_root(library: Library, rel: str) -> tuple[Path, str]:
    """The folder to put on `sys.path` and the dotted module name of `rel`."""
    parts = list(Path(rel).with_suffix("").parts)
    base = library.root
    if parts[0] == "src" and len(parts) > 1 and not _imports_src(library):
        base, parts = base / "src", parts[1:]
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return base, ".".join(parts)


@functools.cache
def _imports_src(library: Library) -> bool:
    """Whether the code imports `src.` itself: then `src` is a package, not a src layout."""
    pattern = re.compile(r"^\s*(from|import) src\.", re.MULTILINE)
    return any(
        pattern.search((library.root / rel).read_text(encoding="utf-8", errors="replace"))
        for rel in library.files
    )


def confirm(
    library: Library, python: str, seed: int, timeout: float, stub_missing: bool = False
) -> None:
    """Run each candidate's function, original and mutated, and set `runtime` on each.
    With `stub_missing`, a module that `python` lacks is imported as a stand-in (see
    `_mutation_run.StubFinder`)."""
    originals: dict[tuple[str, str], int] = {}
    jobs: list[dict[str, Any]] = []
    paths: set[str] = set()
    for index, mutant in enumerate(library.candidates):
        base, module = import_root(library, mutant.file)
        paths.add(str(base))
        key = (mutant.file, mutant.function)
        job = {
            "module": module,
            "file": str(library.root / mutant.file),
            "function": mutant.function,
            "seed": seed,
        }
        if key not in originals:
            originals[key] = len(jobs)
            jobs.append({**job, "id": f"o{len(jobs)}"})
        jobs.append({**job, "id": f"m{index}", "source": mutant.source})
    if not jobs:
        return
    request = json.dumps({"paths": sorted(paths), "jobs": jobs, "stub_missing": stub_missing})
    try:
        done = subprocess.run(
            [python, str(RUNNER)],
            input=request,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=library.root,
            check=False,
        )
        lines = done.stdout.splitlines()
    except subprocess.TimeoutExpired as err:
        out = err.stdout or b""
        lines = (out.decode() if isinstance(out, bytes) else out).splitlines()
    results: dict[str, dict[str, Any]] = {}
    for line in lines:
        try:
            result = json.loads(line)
        except json.JSONDecodeError:
            continue
        results[str(result["id"])] = result
    for index, mutant in enumerate(library.candidates):
        original = results.get(f"o{originals[(mutant.file, mutant.function)]}")
        mine = results.get(f"m{index}")
        if original is None or mine is None:
            mutant.runtime_detail = "no result (the run ended early)"
        elif original["status"] == "cannot":
            mutant.runtime_detail = str(original["why"])
        elif original["status"] == "raised":
            mutant.runtime_detail = f"the original raises: {original['error']}"
        elif mine["status"] == "raised":
            mutant.runtime = "confirmed"
            mutant.runtime_detail = str(mine["error"])
        elif mine["status"] == "ok":
            mutant.runtime = "runs clean"
        else:
            mutant.runtime_detail = str(mine.get("why", ""))


def select(library: Library, cap: int, seed: int) -> None:
    """Up to `cap` mutants: kinds in turn, confirmed first, functions used as evenly as can be.

    One function gives at most `_PER_FUNCTION_KIND` mutants of a kind, and never two that
    change the same text the same way, so that one long function can't fill the sample.
    """
    pools: dict[str, list[Mutant]] = {kind: [] for kind in ops.KINDS}
    for mutant in library.candidates:
        library.runtime_counts[mutant.runtime] = library.runtime_counts.get(mutant.runtime, 0) + 1
        if mutant.runtime != "runs clean":
            pools[mutant.kind].append(mutant)
    for kind, pool in pools.items():
        # One stream per kind, so that a change in one kind's candidates leaves the others'.
        random.Random(f"{seed}:{library.name}:{kind}").shuffle(pool)
    uses: collections.Counter[tuple[str, str]] = collections.Counter()
    per_kind: collections.Counter[tuple[str, str, str]] = collections.Counter()
    edits: set[tuple[str, str, str, str]] = set()

    def allowed(m: Mutant) -> bool:
        return (
            per_kind[(m.file, m.function, m.kind)] < _PER_FUNCTION_KIND
            and (m.file, m.function, m.before, m.note) not in edits
        )

    while len(library.mutants) < cap:
        for pool in pools.values():
            pool[:] = [m for m in pool if allowed(m)]
        if not any(pools.values()):
            break
        for kind in ops.KINDS:
            pool = [m for m in pools[kind] if allowed(m)]
            if not pool or len(library.mutants) >= cap:
                continue
            tier = min(0 if m.runtime == "confirmed" else 1 for m in pool)
            choices = [
                (uses[(m.file, m.function)], i)
                for i, m in enumerate(pool)
                if (0 if m.runtime == "confirmed" else 1) == tier
            ]
            _, best = min(choices)
            chosen = pool[best]
            pools[kind].remove(chosen)
            uses[(chosen.file, chosen.function)] += 1
            per_kind[(chosen.file, chosen.function, chosen.kind)] += 1
            edits.add((chosen.file, chosen.function, chosen.before, chosen.note))
            library.mutants.append(chosen)


_PER_FUNCTION_KIND = 2


# ---- the static checker ----------------------------------------------------------------------


def run_checker(copy: Path, files: list[str], explain: bool = False) -> dict[str, list[str]]:
    """`shapesafe check FILES` in the copy: each file's findings, as `line: message`.

    With `explain`, also `--stats` and SHAPESAFE_CHECK_EXPLAIN=1: what was left unchecked
    and why, under `_NOTES` as `path:line: reason`, and the annotated-relations line of the
    stats under `_STATS`.
    """
    command = [sys.executable, "-m", "shapesafe.check", *(["--stats"] if explain else []), *files]
    env = {**os.environ, "SHAPESAFE_CHECK_EXPLAIN": "1"} if explain else None
    done = subprocess.run(command, capture_output=True, text=True, cwd=copy, check=False, env=env)
    found: dict[str, list[str]] = collections.defaultdict(list)
    for line in done.stdout.splitlines():
        match = _FINDING.match(line)
        if match:
            found[match["path"]].append(f"{match['line']}: {match['msg']}")
    for line in done.stderr.splitlines():
        if ": error:" in line:
            found[_UNREAD].append(line)
        elif line.startswith("shapesafe: annotated relations checked"):
            found[_STATS].append(line.removeprefix("shapesafe: "))
        elif _NOTE.match(line):
            found[_NOTES].append(line)
    return found


_UNREAD = "<files the checker could not read>"
_NOTES = "<what was not checked, and why>"
_STATS = "<stats>"
_NOTE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<msg>.*)$")


def new_findings(original: list[str], mutated: list[str], mutant: Mutant) -> list[str]:
    """The mutated file's findings on lines where the original had fewer findings.

    A finding the original already had stays old even when the mutation changes its text, so
    that a mutant is caught only by a finding a user would see appear. Lines below the mutated
    expression are moved by the lines the edit removed (an expression over several lines is
    replaced by one).
    """
    shift = mutant.after.count("\n") - mutant.before.count("\n")
    old: collections.Counter[int] = collections.Counter()
    for finding in original:
        line = int(finding.split(":", 1)[0])
        old[line + shift if line > mutant.end_line else line] += 1
    seen: collections.Counter[int] = collections.Counter()
    new = []
    for finding in mutated:
        line = int(finding.split(":", 1)[0])
        seen[line] += 1
        if seen[line] > old[line]:
            new.append(finding)
    return new


def _not_source(folder: str, names: list[str]) -> list[str]:
    """What the copy leaves out: `.git` and every file but Python sources and pyproject.toml."""
    keep = (".py", "pyproject.toml")
    return [n for n in names if n == ".git" or ("." in n and not n.endswith(keep))]


def check_statically(library: Library) -> None:
    with tempfile.TemporaryDirectory(prefix=f"mutation-{library.name}-") as tmp:
        copy = Path(tmp) / library.name
        shutil.copytree(library.root, copy, ignore=_not_source)
        before = run_checker(copy, library.files)
        library.original_findings = [
            f"{rel}:{finding}" for rel in library.files for finding in before.get(rel, [])
        ]
        library.unread = before.get(_UNREAD, [])
        for mutant in library.mutants:
            target = copy / mutant.file
            original = target.read_text(encoding="utf-8")
            target.write_text(mutant.source, encoding="utf-8")
            try:
                result = run_checker(copy, [mutant.file], explain=True)
            finally:
                target.write_text(original, encoding="utf-8")
            after = result.get(mutant.file, [])
            mutant.checked = " ".join(result.get(_STATS, []))
            for note in result.get(_NOTES, []):
                match = _NOTE.match(note)
                if match and mutant.line <= int(match["line"]) <= mutant.end_line:
                    mutant.notes.append(f"{match['line']}: {match['msg']}")
            mutant.findings = new_findings(before.get(mutant.file, []), after, mutant)
            mutant.caught = bool(mutant.findings)


# ---- libraries and the report ----------------------------------------------------------------


def open_library(spec: str, workdir: Path) -> Library:
    """`PATH`, `NAME=PATH`, or a git URL (`URL#COMMIT` checks out that commit), cloned here."""
    name, _, where = spec.rpartition("=")
    if where.startswith(("https://", "git@", "ssh://", "file://")):
        url, _, commit = where.partition("#")
        root = workdir / (name or Path(url).stem)
        depth = [] if commit else ["--depth", "1"]
        subprocess.run(["git", "clone", "-q", *depth, url, str(root)], check=True)
        if commit:
            subprocess.run(["git", "-C", str(root), "checkout", "-q", commit], check=True)
    else:
        root = Path(where).resolve()
    name = name or root.name
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return Library(name, root, head or "?")


def _ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "0/0"


def report(libraries: list[Library], verbose: bool) -> str:
    lines = ["", "Libraries"]
    header = f"{'library':<18} {'commit':<12} {'files':>5} {'annotated':>9} {'mutable':>7} "
    header += f"{'candidates':>10} {'runs clean':>10} {'mutants':>7} {'confirmed':>9} "
    header += f"{'caught (confirmed)':>18} {'findings':>8}"
    lines += [header, "-" * len(header)]
    for lib in libraries:
        mutable = sum(f.mutable for f in lib.functions)
        sure = [m for m in lib.mutants if m.runtime == "confirmed"]
        caught = f"{sum(m.caught for m in lib.mutants)} ({sum(m.caught for m in sure)})"
        lines.append(
            f"{lib.name:<18} {lib.commit:<12} {len(lib.files):>5} {len(lib.functions):>9} "
            f"{mutable:>7} {len(lib.candidates):>10} {lib.runtime_counts.get('runs clean', 0):>10} "
            f"{len(lib.mutants):>7} {len(sure):>9} {caught:>18} {len(lib.original_findings):>8}"
        )
    lines += [
        "(annotated: functions with a jaxtyping annotation; mutable: on a parameter and the "
        "return; findings: on the originals)"
    ]
    everything = [m for lib in libraries for m in lib.mutants]
    lines += ["", "Recall by kind (caught by `shapesafe check`)"]
    header = f"{'kind':<32} {'confirmed':>16} {'all':>16}"
    lines += [header, "-" * len(header)]
    for kind in ops.KINDS:
        mine = [m for m in everything if m.kind == kind]
        sure = [m for m in mine if m.runtime == "confirmed"]
        lines.append(
            f"{ops.KIND_TITLES[kind]:<32} {_ratio(sum(m.caught for m in sure), len(sure)):>16} "
            f"{_ratio(sum(m.caught for m in mine), len(mine)):>16}"
        )
    sure = [m for m in everything if m.runtime == "confirmed"]
    lines.append(
        f"{'total':<32} {_ratio(sum(m.caught for m in sure), len(sure)):>16} "
        f"{_ratio(sum(m.caught for m in everything), len(everything)):>16}"
    )
    fps = [f"{lib.name}/{f}" for lib in libraries for f in lib.original_findings]
    lines += ["", f"Findings on the originals (false positives unless shown true): {len(fps)}"]
    lines += [f"  {f}" for f in fps]
    unread = [f"{lib.name}: {line}" for lib in libraries for line in lib.unread]
    if unread:
        lines += ["", f"Files the checker could not read (not counted): {len(unread)}"]
        lines += [f"  {line}" for line in unread]
    if verbose:
        lines += ["", "Missed mutants"]
        for m in everything:
            if not m.caught:
                lines.append(
                    f"  [{m.runtime}] {m.library}/{m.file}:{m.line} {m.function} {m.kind} "
                    f"({m.note}): {m.before!r} -> {m.after!r}"
                )
                if m.runtime_detail:
                    lines.append(f"      run: {m.runtime_detail}")
                lines.append(f"      check: {m.checked}")
                lines += [f"      unchecked: {note}" for note in m.notes]
        lines += ["", "Caught mutants"]
        for m in everything:
            if m.caught:
                lines.append(
                    f"  [{m.runtime}] {m.library}/{m.file}:{m.line} {m.function} {m.kind}: "
                    f"{m.before!r} -> {m.after!r}"
                )
                lines += [f"      {f}" for f in m.findings[:2]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("libraries", nargs="+", metavar="LIB", help="PATH, NAME=PATH or a git URL")
    parser.add_argument("--cap", type=int, default=25, help="mutants per library (default 25)")
    parser.add_argument(
        "--seed", type=int, default=0, help="picks the mutants and the random inputs (default 0)"
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter with torch, jaxtyping, beartype and the libraries' dependencies",
    )
    parser.add_argument("--no-run", action="store_true", help="don't confirm at run time")
    parser.add_argument(
        "--stub-missing",
        action="store_true",
        help="import a module the interpreter lacks as a stand-in, so that more functions run",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="run-time seconds per library")
    parser.add_argument("--verbose", "-v", action="store_true", help="list missed mutants")
    parser.add_argument("--json", metavar="OUT", help="also write every mutant as JSON")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    libraries = []
    with tempfile.TemporaryDirectory(prefix="mutation-libs-") as workdir:
        for spec in options.libraries:
            library = open_library(spec, Path(workdir))
            discover(library)
            if not options.no_run:
                confirm(
                    library, options.python, options.seed, options.timeout, options.stub_missing
                )
            select(library, options.cap, options.seed)
            check_statically(library)
            libraries.append(library)
            print(
                f"{library.name}: {len(library.mutants)} mutants, "
                f"{time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
    print(report(libraries, options.verbose))
    if options.json:
        data = {
            "libraries": [
                {
                    "name": lib.name,
                    "root": str(lib.root),
                    "commit": lib.commit,
                    "files": len(lib.files),
                    "annotated_functions": len(lib.functions),
                    "mutable_functions": sum(f.mutable for f in lib.functions),
                    "candidates": len(lib.candidates),
                    "runtime_counts": lib.runtime_counts,
                    "original_findings": lib.original_findings,
                    "unread": lib.unread,
                    "mutants": [m.record() for m in lib.mutants],
                }
                for lib in libraries
            ]
        }
        Path(options.json).write_text(json.dumps(data, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
