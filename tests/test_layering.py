"""The runtime core's modules import one another without a cycle.

Read from the source, as the imports that run when a module loads (top level or inside a
function); names imported under `if TYPE_CHECKING:` serve annotations only and run never.
The entry points of the CLI and the editor (`check`, `lsp`, `_lsp_server`) and the static
checker (`_static`) are outside the runtime core.
"""

import ast
from pathlib import Path

import shapesafe

PACKAGE = Path(shapesafe.__file__).parent
OUTSIDE_CORE = {"check", "lsp", "_lsp_server"}


def _runtime_imports(tree: ast.AST) -> set[str]:
    """The sibling modules a module imports with `from .x import ...` or `from . import x`."""
    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            if isinstance(child, ast.ImportFrom) and child.level == 1:
                if child.module:
                    found.add(child.module.split(".")[0])
                else:
                    found.update(alias.name for alias in child.names)
            stack.append(child)
    return found


def _core_graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in PACKAGE.glob("*.py") if p.stem not in OUTSIDE_CORE}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported = _runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {m for m in imported if m in modules and m != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found is not None:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            found = visit(name)
            if found is not None:
                return found
    return None


def test_the_runtime_core_imports_without_a_cycle() -> None:
    graph = _core_graph()
    assert {"_contract", "_unify", "_symbolic", "_checked", "_codegen"} <= graph.keys()
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_contract_and_unify_do_not_import_each_other() -> None:
    graph = _core_graph()
    assert "_unify" in graph["_contract"]
    assert "_contract" not in graph["_unify"]


# The whole package -----------------------------------------------------------------------------
#
# Every module, in subpackages too, by its dotted name inside the package (`nn._gpt`), with
# the imports that run when it loads in every spelling: `from .x import`, `from ..x import`,
# `from . import x`, `from shapesafe.x import`, `import shapesafe.x`. A module's own packages
# are left out of its imports: Python has them loaded before it.


def _package_modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    if path.name == "__init__.py":
        package = "" if name == "__init__" else name
    else:
        package = name.rpartition(".")[0]
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)
            targets: list[str] = []
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".") if package else []
                    base = base[: len(base) - (child.level - 1)]
                    module = ".".join([*base, *([child.module] if child.module else [])])
                elif child.module and child.module.split(".")[0] == PACKAGE.name:
                    module = child.module.partition(".")[2]
                else:
                    continue
                subs = [f"{module}.{a.name}".lstrip(".") for a in child.names]
                targets += [s for s in subs if s in modules]
                if len(targets) < len(subs):
                    targets.append(module or "__init__")
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    head, _, rest = alias.name.partition(".")
                    if head == PACKAGE.name:
                        targets.append(rest or "__init__")
            for target in targets:
                if target in modules and target != name:
                    found.add(target)
    ancestors = {"__init__"} | {
        ".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)
    }
    return found - ancestors


def _package_graph() -> dict[str, set[str]]:
    modules = _package_modules()
    return {name: _imports_of(name, path, modules) for name, path in modules.items()}


def _in_core(name: str) -> bool:
    top = name.split(".")[0]
    return top not in OUTSIDE_CORE and top != "_static"


def test_the_runtime_core_and_its_subpackages_import_without_a_cycle() -> None:
    graph = _package_graph()
    core = {n: {m for m in deps if _in_core(m)} for n, deps in graph.items() if _in_core(n)}
    assert {"__init__", "_unify", "_symbolic", "_checked", "nn", "nn._gpt"} <= core.keys()
    assert "_unify" in core["_contract"]  # the graph sees relative imports ...
    assert "_checked" in core["nn._gpt"]  # ... of a parent's module
    assert _cycle(core) is None, " -> ".join(_cycle(core) or [])


def test_the_symbolic_evaluator_and_the_binding_state_stand_below_the_rest() -> None:
    # `_symbolic` (parser and evaluator) imports nothing of the package, and `_unify`
    # (matcher and binding state) only `_symbolic`: the static checker reads both.
    graph = _package_graph()
    assert graph["_symbolic"] == set()
    assert graph["_unify"] == {"_symbolic"}
    assert {"_symbolic", "_unify", "_contract"} <= graph["_static._unify"]


def test_the_graph_reads_every_spelling_of_an_import(tmp_path: Path) -> None:
    modules = {"__init__": tmp_path, "a": tmp_path, "p": tmp_path, "p.b": tmp_path}
    code = "from .a import x\nfrom ..a import y\nfrom . import b\nimport shapesafe.a\n"
    code += "from shapesafe.p import b as c\nif TYPE_CHECKING:\n    from . import nothing\n"
    code += "def f():\n    from shapesafe import a\n"
    source = tmp_path / "c.py"
    source.write_text(code)
    assert _imports_of("p.c", source, modules) == {"a", "p.b"}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
