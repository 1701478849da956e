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


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
