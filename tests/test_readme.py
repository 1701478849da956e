"""Every code block of README.md is run here, or marked as not run, with a reason.

- A `python` block runs on its own, in a fresh namespace, one statement at a time. A statement
  followed by a `# ShapeError` comment (on its line or the next) must raise `ShapeError`; a
  `# ShapeError: text` comment gives the message's first line.
- A block after `<!-- output -->` is the message of the last `ShapeError` that the block
  before it raised, exactly.
- A `toml` block must parse, and its `[tool.shapesafe]` and `[tool.pytest.ini_options]`
  settings must be ones that shapesafe reads.
- A `console` block starts with `$ shapesafe shapes FILE[:FUNCTION]` (from the repository root);
  the rest of it is that command's output, exactly.
- Any other block is preceded by `<!-- not run: reason -->`.
"""

import ast
import dataclasses
import io
import re
import sys
import tokenize
from pathlib import Path

import pytest

from shapesafe import ShapeError, pytest_plugin
from shapesafe import check as cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

README = Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!-- (output|not run: .+?) -->\n\n?$")


@dataclasses.dataclass
class Block:
    line: int
    language: str
    code: str
    marker: str | None


def blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()]
        marker = _MARKER.search(before[-300:])
        found.append(
            Block(
                line=before.count("\n") + 1,
                language=match[1],
                code=match[2],
                marker=marker[1] if marker else None,
            )
        )
    return found


def _expected_errors(code: str) -> dict[int, str]:
    """The statement line -> expected first message line ("" for any) of `# ShapeError` comments.

    A comment at the end of a line is about that line; a comment alone on its line is about
    the statement that ends on the line above.
    """
    found = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and tok.string.startswith("# ShapeError"):
            rest = tok.string[len("# ShapeError") :]
            alone = tok.line.strip().startswith("#")
            found[tok.start[0] - alone] = rest[1:].strip() if rest.startswith(":") else ""
    return found


def run_python(code: str) -> str | None:
    """Run a block statement by statement; the last ShapeError message it raised."""
    expected = _expected_errors(code)
    namespace: dict[str, object] = {"__name__": "readme"}
    last = None
    for stmt in ast.parse(code).body:
        end = stmt.end_lineno or stmt.lineno
        expect = expected.get(end)
        compiled = compile(ast.Module([stmt], []), str(README), "exec")
        if expect is None:
            exec(compiled, namespace)
            continue
        with pytest.raises(ShapeError) as info:
            exec(compiled, namespace)
        last = str(info.value)
        if expect:
            assert last.splitlines()[0] == expect
    return last


def check_toml(code: str, tmp_path: Path) -> None:
    data = tomllib.loads(code)
    tool = data.get("tool", {})
    assert tool, "a toml block shows a [tool.*] section"
    if "shapesafe" in tool:
        (tmp_path / "pyproject.toml").write_text(code)
        cli.read_settings(tmp_path / "pyproject.toml")  # raises on unknown keys or bad values
    if "pytest" in tool:
        assert set(tool["pytest"]["ini_options"]) <= {pytest_plugin.INI, pytest_plugin.OTHER_INI}


def check_console(code: str) -> None:
    command, _, expected = code.partition("\n")
    words = command.split()
    assert words[:3] == ["$", "shapesafe", "shapes"] and len(words) == 4, command
    target = str(README.parent / words[3])
    out = io.StringIO()
    saved, sys.stdout = sys.stdout, out
    try:
        assert cli.main(["shapes", target]) == 0
    finally:
        sys.stdout = saved
    assert out.getvalue() == expected


ALL = blocks()


def test_blocks_found() -> None:
    assert len(ALL) >= 10
    assert sum(b.marker is None and b.language == "python" for b in ALL) >= 3


@pytest.mark.parametrize("index", range(len(ALL)), ids=[f"line{b.line}" for b in ALL])
def test_block(index: int, tmp_path: Path) -> None:
    block = ALL[index]
    if block.marker is not None and block.marker.startswith("not run: "):
        assert len(block.marker) > len("not run: ") + 5, "give the reason"
        return
    if block.marker == "output":
        previous = ALL[index - 1]
        assert previous.language == "python" and previous.marker is None
        assert run_python(previous.code) == block.code.rstrip("\n")
        return
    if block.language == "python":
        run_python(block.code)
    elif block.language == "toml":
        check_toml(block.code, tmp_path)
    elif block.language == "console":
        check_console(block.code)
    else:
        pytest.fail(
            f"README.md:{block.line}: a ```{block.language} block that is not run "
            "needs <!-- not run: reason --> before it"
        )


def test_the_pre_commit_snippet_is_the_repository_hook() -> None:
    """The README's `repo: local` hook is `.pre-commit-hooks.yaml`'s, written out."""
    (snippet,) = [b for b in ALL if b.language == "yaml" and "shapesafe-check" in b.code]
    hooks = (README.parent / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")

    def fields(text: str) -> dict[str, str]:
        return dict(re.findall(r"^\s*-?\s*(\w+): (.+)$", text, re.MULTILINE))

    local = fields(snippet.code)
    assert local.pop("repo") == "local" and "rev" not in local
    defined = fields(hooks)
    assert {k: v for k, v in local.items() if k != "description"} == {
        k: v for k, v in defined.items() if k != "description"
    }
