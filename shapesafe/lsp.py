"""`shapesafe lsp`: the static checker as a language server, over stdio.

It gives an editor:

- diagnostics on open, change and save: the findings of `shapesafe check`, with the same
  `# shapesafe: ignore` comments and `[tool.shapesafe]` settings (`ignore`, `exclude`);
- hover on a name bound to a tensor: its inferred shape, and which parameter each dim name
  came from; on the function called, or the `@`, of a value assigned to a name, the same;
- inlay hints: the inferred shape after each name an assignment binds to a tensor;
- code actions: the transpose a finding's hint names (`did you mean w.mT?`, `did you mean
  w?` for `w.T`), where only one operand or argument can be meant, and
  `# shapesafe: ignore` on the finding's line.

The server keeps one checker `Run` per workspace. An edit checks the edited file as the
editor holds it (unsaved text included, and a file never saved: `_lsp_server` gives an
untitled buffer a path outside the workspace), and the open files that import it; other
files are read from disk, as `shapesafe check` reads them. It needs pygls (`shapesafe[lsp]`),
and like the checker it never imports torch.
"""

import ast
import dataclasses
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ._static._imported import take_imported_names
from ._static._report import Finding
from ._static._run import Binding, Run, Shapes, check_file, using
from ._static._source import Module, _package_of, _top_level
from .check import Settings, UsageError, code, excluded, find_pyproject, read_settings

_HINT = re.compile(r"; did you mean (.+)\?$")
_WORD = re.compile(r"[A-Za-z_]\w*")


@dataclasses.dataclass(frozen=True)
class Edit:
    """Replace the text between two (line, character) positions, 0-based, UTF-16."""

    start: tuple[int, int]
    end: tuple[int, int]
    text: str


@dataclasses.dataclass(frozen=True)
class Fix:
    title: str
    finding: Finding
    edit: Edit


def utf16(line: str, byte_col: int) -> int:
    """The UTF-16 offset that LSP counts in, for a UTF-8 byte offset (as `ast` gives)."""
    text = line.encode()[:byte_col].decode(errors="replace")
    return len(text.encode("utf-16-le")) // 2


def _hold(run: Run, path: Path, source: str) -> None:
    """Make `run` read `source` as the text of `path` (an editor's unsaved text) until the file
    on disk changes. Raises SyntaxError."""
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    held = run.modules.get(path)
    if held is not None and held[0] == stamp and held[1] is not None and held[1].source == source:
        return
    tree = ast.parse(source, filename=str(path))
    imports, functions, aliases = _top_level(tree)
    module = Module(path, source, tree, imports, functions, aliases, _package_of(path))
    with using(run):
        take_imported_names(module)
    run.modules[path] = (stamp, module)


def _check_unsaved(run: Run, path: Path, source: str) -> list[Finding]:
    """What `check_file` finds in `path`, for a file that is only in the editor (never saved):
    `source`, read as that file, its imports as they are on disk. Raises SyntaxError."""
    from ._static._file import FileChecker  # as check_file does

    tree = ast.parse(source, filename=str(path))
    imports, functions, aliases = _top_level(tree)
    module = Module(path, source, tree, imports, functions, aliases, _package_of(path))
    with using(run):
        take_imported_names(module)
        if run.observer is not None:
            run.observer.start(path)
        return FileChecker(module, str(path)).run()


def _byte_col(line: str, character: int) -> int:
    """The UTF-8 byte offset (as `ast` counts) of a UTF-16 offset (as LSP counts)."""
    units = 0
    for i, ch in enumerate(line):
        if units >= character:
            return len(line[:i].encode())
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line.encode())


def _segment(source: str, node: ast.expr) -> str:
    return " ".join((ast.get_source_segment(source, node) or "").split())


def _start(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def _end(node: ast.expr) -> tuple[int, int]:
    return node.end_lineno or node.lineno, node.end_col_offset or 0


def _scopes(tree: ast.Module) -> list[tuple[int, int]]:
    """The line spans of each function, innermost last."""
    return [
        (n.lineno, n.end_lineno or n.lineno)
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


class Session:
    """What the server knows of one workspace: its run, and per open file, the text last
    checked, its findings and the shapes it binds."""

    def __init__(self, root: Path | None = None) -> None:
        self.shapes = Shapes()
        self.run = Run(self.shapes)
        self.root = root
        self.settings: Settings = Settings()
        if root is not None:
            try:
                self.settings = read_settings(find_pyproject(root))
            except UsageError as err:  # checked as with no settings; the editor's log says why
                print(err, file=sys.stderr)
        self.texts: dict[Path, str] = {}
        self.findings: dict[Path, list[Finding]] = {}

    def open(self, path: Path, text: str) -> dict[Path, list[Finding]]:
        """Check `path` holding `text`, and the open files that import it: the findings of each."""
        path = path.resolve()
        self.texts[path] = text
        out = {path: self.check(path)}
        for other in list(self.texts):
            if other != path and _imports(self.texts[other], path):
                out[other] = self.check(other)
        return out

    def close(self, path: Path) -> None:
        path = path.resolve()
        self.texts.pop(path, None)
        self.findings.pop(path, None)
        self.shapes.files.pop(path, None)
        self.run.modules.pop(path, None)  # its unsaved text, if any, is gone: read the disk

    def check(self, path: Path) -> list[Finding]:
        text = self.texts[path]
        found: list[Finding] = []
        if not excluded(path, self.settings):
            try:
                if path.exists():
                    _hold(self.run, path, text)
                    found = check_file(path, run=self.run)
                else:
                    found = _check_unsaved(self.run, path, text)
            except (SyntaxError, OSError, ValueError, RecursionError):
                self.shapes.files.pop(path, None)  # being typed: no findings until it parses
            except Exception as err:  # one file's failure must not end the session
                self.shapes.files.pop(path, None)
                print(f"{path}: internal error, please report it: {err!r}", file=sys.stderr)
        ignore = set(self.settings.ignore)
        found = [f for f in found if code(f) not in ignore]
        self.findings[path] = found
        return found

    def finding_range(self, path: Path, f: Finding) -> tuple[tuple[int, int], tuple[int, int]]:
        """Where a finding is, 0-based, UTF-16: the expression it was reported at, else its line."""
        path = path.resolve()
        text = self.texts.get(path, "")
        lines = text.splitlines()
        line = lines[f.line - 1] if 0 < f.line <= len(lines) else ""
        start = (f.line - 1, utf16(line, f.col - 1))
        tree = self.tree(path) or ast.Module([], [])
        ends = [
            (n.end_lineno or 0, n.end_col_offset or 0)
            for n in ast.walk(tree)
            if isinstance(n, (ast.expr, ast.stmt))
            and (n.lineno, n.col_offset + 1) == (f.line, f.col)
        ]
        if not ends or not 0 < max(ends)[0] <= len(lines):
            return start, (f.line - 1, utf16(line, len(line.encode())))
        end_line, end_col = max(ends)
        return start, (end_line - 1, utf16(lines[end_line - 1], end_col))

    def tree(self, path: Path) -> ast.Module | None:
        """The syntax tree of an open file's text (the checker's own, where it read that text)."""
        text = self.texts.get(path, "")
        held = self.run.modules.get(path)
        if held is not None and held[1] is not None and held[1].source == text:
            return held[1].tree
        try:
            return ast.parse(text)
        except SyntaxError:
            return None

    def bindings(self, path: Path) -> list[Binding]:
        return self.shapes.of(path)

    def binding_at(self, path: Path, line: int, character: int) -> Binding | None:
        """The binding that the name at a 0-based position (UTF-16) reads or makes."""
        path = path.resolve()
        lines = self.texts.get(path, "").splitlines()
        if line >= len(lines):
            return None
        text = lines[line]
        word, col = None, 0
        for m in _WORD.finditer(text):
            start = utf16(text, len(text[: m.start()].encode()))
            end = start + len(m.group().encode("utf-16-le")) // 2
            if start <= character <= end:
                word, col = m.group(), len(text[: m.start()].encode())
        if word is None or text[:col].rstrip().endswith("."):
            return None  # no name, or an attribute's (`self.x`), which no binding is of
        tree = self.tree(path)
        if tree is None:
            return None
        here = line + 1
        bindings = [b for b in self.bindings(path) if b.name == word]
        made = [b for b in bindings if (b.line, b.col) == (here, col)]
        if made:
            return made[-1]  # the name an assignment binds, or a parameter
        # A name read: what the statements before this one bound (`x` in `x = f(x)` is the
        # `x` from before).
        statement = max(
            (
                n.lineno
                for n in ast.walk(tree)
                if isinstance(n, ast.stmt) and n.lineno <= here <= (n.end_lineno or n.lineno)
            ),
            default=here,
        )
        spans = [s for s in _scopes(tree) if s[0] <= here <= s[1]]
        first, last = spans[-1] if spans else (1, len(lines))
        inner = [s for s in _scopes(tree) if first < s[0] and s[1] <= last]
        candidates = [
            b
            for b in bindings
            if first <= b.line
            and b.end_line < statement
            and not any(s[0] <= b.line <= s[1] for s in inner)
        ]
        return candidates[-1] if candidates else None

    def hover(self, path: Path, line: int, character: int) -> str | None:
        found = self.binding_at(path, line, character)
        said = None if found is None else found.name
        if found is None:
            assigned = self.value_at(path, line, character)
            if assigned is None:
                return None
            said, found = assigned
        text = f"{said}: {found.text()}"
        where = self.where_bound(path, found)
        return f"{text}\n{where}" if where else text

    def value_at(self, path: Path, line: int, character: int) -> tuple[str, Binding] | None:
        """For a position on the function called (`ss.split_heads`, `x.softmax`) or on the
        `@` of the value that an assignment binds to one name: the value's text and that
        name's binding."""
        path = path.resolve()
        lines = self.texts.get(path, "").splitlines()
        tree = self.tree(path)
        if tree is None or line >= len(lines):
            return None
        here = (line + 1, _byte_col(lines[line], character))
        for stmt in ast.walk(tree):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target: ast.expr = stmt.targets[0]
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                target = stmt.target
            else:
                continue
            value = stmt.value
            if not isinstance(target, ast.Name) or value is None:
                continue
            if isinstance(value, ast.Call):
                own = (_start(value.func), _end(value.func))
            elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
                own = (_end(value.left), _start(value.right))
            else:
                continue
            if not own[0] <= here <= own[1]:
                continue
            made = (target.lineno, target.col_offset)
            for b in self.bindings(path):
                if (b.line, b.col, b.name) == (*made, target.id):
                    source = self.texts[path]
                    text = _segment(source, value)
                    if len(text) > 40:  # long: what is called, or the operator
                        func = value.func if isinstance(value, ast.Call) else None
                        text = "... @ ..." if func is None else _segment(source, func) + "(...)"
                    return text, b
        return None

    def where_bound(self, path: Path, binding: Binding) -> str:
        """`b, s from q "b s d" (line 14)`: the parameter that each dim name of `binding`'s
        shape was first bound by, in its function."""
        if binding.shape is None:
            return ""
        path = path.resolve()
        params = [b for b in self.bindings(path) if b.parameter and b.line <= binding.line]
        tree = self.tree(path)
        if tree is None:
            return ""
        scopes = _scopes(tree)
        spans = [s for s in scopes if s[0] <= binding.line <= s[1]]
        if not spans:
            return ""
        first = spans[-1][0]
        params = [p for p in params if p.line >= first]
        sources: dict[Binding, list[str]] = {}
        for dim in dict.fromkeys(binding.shape):
            if not _WORD.fullmatch(dim):
                continue
            source = next((p for p in params if p.shape and dim in p.shape), None)
            if source is not None and source != binding:
                sources.setdefault(source, []).append(dim)
        return "; ".join(
            f'{", ".join(dims)} from {p.name} "{" ".join(p.shape or ())}" (line {p.line})'
            for p, dims in sources.items()
        )

    def inlay_hints(self, path: Path, first: int, last: int) -> list[tuple[int, int, str]]:
        """(line, character, label), 0-based, for each assignment in lines `first` to `last`
        (0-based, inclusive) that binds a tensor of known shape to a name that no annotation
        already shows."""
        path = path.resolve()
        lines = self.texts.get(path, "").splitlines()
        out = []
        for b in self.bindings(path):
            if b.parameter or b.shape is None or not first <= b.line - 1 <= last:
                continue
            text = lines[b.line - 1] if b.line <= len(lines) else ""
            rest = text.encode()[b.end_col :].decode(errors="replace").lstrip()
            if rest.startswith(":"):
                continue  # `x: Float[Tensor, "..."] = ...` says it already
            out.append((b.line - 1, utf16(text, b.end_col), f": {b.text()}"))
        return out

    def fixes(self, path: Path, first: int, last: int) -> list[Fix]:
        """The code actions for the findings on lines `first` to `last` (0-based)."""
        path = path.resolve()
        lines = self.texts.get(path, "").splitlines()
        tree = self.tree(path)
        out: list[Fix] = []
        for f in self.findings.get(path, []):
            if not (first <= f.line - 1 <= last) or f.line > len(lines):
                continue
            replaced = _hint_fix(tree, lines, f) if tree is not None else None
            if replaced is not None:
                out.append(Fix(f"Replace with {replaced[0]}", f, replaced[1]))
            text = lines[f.line - 1]
            end = utf16(text, len(text.encode()))
            edit = Edit((f.line - 1, end), (f.line - 1, end), "  # shapesafe: ignore")
            out.append(Fix("Ignore shape findings on this line", f, edit))
        return out


_SUFFIXES = (".mT", ".T")
# What `.mT` can follow without parentheses.
_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript)


def _operands(tree: ast.Module, finding: Finding) -> list[ast.expr]:
    """The expressions that a finding's hint can be about: the right operand of an `@`, or
    the arguments of a call, reported at the finding's position."""
    out: list[ast.expr] = []
    for node in ast.walk(tree):
        if (getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1) != (
            finding.line,
            finding.col,
        ):
            continue
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            out.append(node.right)
        elif isinstance(node, ast.Call):
            out += [a for a in node.args if not isinstance(a, ast.Starred)]
            out += [k.value for k in node.keywords if k.arg is not None]
    return out


def _position(lines: list[str], line: int, byte_col: int) -> tuple[int, int]:
    """An `ast` position (1-based line, UTF-8 byte column) as LSP counts it."""
    return line - 1, utf16(lines[line - 1], byte_col)


def _hint_fix(tree: ast.Module, lines: list[str], finding: Finding) -> tuple[str, Edit] | None:
    """The edit that a finding's `did you mean X?` names, with X: `.mT` added to the operand
    or argument that the hint names (`w` -> `w.mT`, `a + b` -> `(a + b).mT`), or the `.T` or
    `.mT` that it ends with taken off (`w.T` -> `w`). None unless exactly one operand or
    argument of the expression reported is the one the hint names."""
    hint = _HINT.search(finding.message)
    if hint is None or "..." in hint[1]:
        return None
    wanted = hint[1]
    found: list[tuple[str, Edit]] = []
    for node in _operands(tree, finding):
        end_line, end_col = node.end_lineno, node.end_col_offset
        if end_line is None or end_col is None or not 0 < end_line <= len(lines):
            continue
        chunk = [line.encode() for line in lines[node.lineno - 1 : end_line]]
        chunk[-1] = chunk[-1][:end_col]
        chunk[0] = chunk[0][node.col_offset :]
        text = b"\n".join(chunk).decode(errors="replace")
        flat = " ".join(text.split())
        start = _position(lines, node.lineno, node.col_offset)
        end = _position(lines, end_line, end_col)
        for suffix in _SUFFIXES:
            if wanted in (flat + suffix, f"({flat}){suffix}"):  # the hint adds the transpose
                new = f"{text}{suffix}" if isinstance(node, _ATOMS) else f"({text}){suffix}"
                found.append((" ".join(new.split()), Edit(start, end, new)))
            elif (
                flat == wanted + suffix
                and isinstance(node, ast.Attribute)
                and text.endswith(suffix)
            ):  # the hint takes it off
                cut = _position(lines, end_line, end_col - len(suffix))
                found.append((wanted, Edit(cut, end, "")))
    return found[0] if len(found) == 1 else None


def _imports(text: str, path: Path) -> bool:
    """Whether source `text` seems to import the module of `path` (by its name)."""
    name = path.stem if path.name != "__init__.py" else path.parent.name
    return re.search(rf"^\s*(from|import)\s[^\n]*\b{re.escape(name)}\b", text, re.M) is not None


def main(argv: Sequence[str] | None = None) -> int:
    """Serve over stdin and stdout until the client says exit."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print("usage: shapesafe lsp\n\nA language server for shape checking, over stdio.")
        return 0
    try:
        from ._lsp_server import serve
    except ImportError as err:
        print(
            f"shapesafe lsp: error: needs pygls ({err}); pip install 'shapesafe[lsp]'",
            file=sys.stderr,
        )
        return 2
    serve()
    return 0
