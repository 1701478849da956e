"""What the language server knows of a workspace (`shapesafe.lsp.Session`), without the
protocol: unsaved text, the files that import an edited one, settings, hovers and fixes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shapesafe._static import Run, check_file
from shapesafe.lsp import Edit, Session

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LIB = """\
from jaxtyping import Float
from torch import Tensor


def mix(a: Float[Tensor, "b k"], w: Float[Tensor, "k n"]) -> Float[Tensor, "b n"]:
    return a @ w
"""
USER = """\
from jaxtyping import Float
from torch import Tensor

from lib import mix


def f(x: Float[Tensor, "b d"], w: Float[Tensor, "d e"]) -> Float[Tensor, "b e"]:
    y = mix(x, w)
    return y
"""


def workspace(tmp_path: Path) -> Session:
    (tmp_path / "lib.py").write_text(LIB)
    (tmp_path / "user.py").write_text(USER)
    return Session(tmp_path)


def test_an_edit_checks_the_unsaved_text_and_the_open_files_that_import_it(
    tmp_path: Path,
) -> None:
    session = workspace(tmp_path)
    lib, user = tmp_path / "lib.py", tmp_path / "user.py"
    assert session.open(user, USER) == {user: []}
    assert session.open(lib, LIB) == {lib: [], user: []}
    # Unsaved: mix now wants w as "n k"; user.py, open too, is checked against that text.
    edited = LIB.replace('w: Float[Tensor, "k n"]', 'w: Float[Tensor, "n k"]').replace(
        "a @ w", "a @ w.mT"
    )
    found = session.open(lib, edited)
    assert found[lib] == []
    [finding] = found[user]
    assert (finding.line, finding.col) == (8, 9)
    assert finding.message.startswith("mix(x, w): dim 'k' is d in x")
    # Closed without saving: user.py is checked against lib.py as it is on disk.
    session.close(lib)
    assert session.open(user, USER) == {user: []}


def test_a_file_never_saved_is_checked_with_the_files_it_imports_from_disk(
    tmp_path: Path,
) -> None:
    session = workspace(tmp_path)
    new = tmp_path / "new.py"
    bad = USER.replace('"b e"]:', '"e b"]:')
    [finding] = session.open(new, bad)[new]
    assert not new.exists()
    assert (finding.line, finding.col) == (9, 12)
    assert finding.message == 'return of f(): dim \'e\' is e in w "d e" but b in y "b e"'
    (tmp_path / "saved.py").write_text(bad)  # the same text, saved, finds the same
    [on_disk] = check_file(tmp_path / "saved.py", run=Run())
    assert (on_disk.line, on_disk.col, on_disk.message) == (9, 12, finding.message)
    assert session.hover(new, 7, 4) == 'y: (b, e)\nb from x "b d" (line 7); e from w "d e" (line 7)'
    assert session.inlay_hints(new, 0, 20) == [(7, 5, ": (b, e)")]
    # mix is read from lib.py: a call that breaks its contract is found.
    assert len(session.open(new, USER.replace("mix(x, w)", "mix(w, x)"))[new]) == 1
    assert session.open(new, USER) == {new: []}
    assert session.open(new, USER + "def (:\n") == {new: []}


def test_settings_ignore_and_exclude(tmp_path: Path) -> None:
    bad = USER.replace('"b e"]:', '"e b"]:')
    (tmp_path / "user.py").write_text(bad)
    (tmp_path / "lib.py").write_text(LIB)
    assert len(Session(tmp_path).open(tmp_path / "user.py", bad)[tmp_path / "user.py"]) == 1
    for setting in ('ignore = ["shape"]', 'exclude = ["user.py"]'):
        (tmp_path / "pyproject.toml").write_text(f"[tool.shapesafe]\n{setting}\n")
        assert Session(tmp_path).open(tmp_path / "user.py", bad) == {tmp_path / "user.py": []}


def test_a_file_that_does_not_parse_has_no_findings_and_no_shapes(tmp_path: Path) -> None:
    session = workspace(tmp_path)
    user = tmp_path / "user.py"
    session.open(user, USER)
    assert session.hover(user, 7, 4) is not None
    assert session.open(user, USER + "def (:\n") == {user: []}
    assert session.hover(user, 7, 4) is None


def test_hover_on_a_shape_lost_says_where(tmp_path: Path) -> None:
    session = workspace(tmp_path)
    user = tmp_path / "user.py"
    text = USER.replace("y = mix(x, w)", "y = mystery(x)")
    session.open(user, text)
    assert session.hover(user, 7, 4) == (
        "y: unknown (a call of a function or method without a tensor return annotation)"
    )
    assert session.inlay_hints(user, 0, 20) == []


def test_hover_names_the_parameter_each_dim_came_from(tmp_path: Path) -> None:
    session = workspace(tmp_path)
    user = tmp_path / "user.py"
    session.open(user, USER)
    assert (
        session.hover(user, 8, 11) == 'y: (b, e)\nb from x "b d" (line 7); e from w "d e" (line 7)'
    )
    assert session.hover(user, 6, 6) == "x: (b, d)"  # the parameter itself
    assert session.inlay_hints(user, 0, 20) == [(7, 5, ": (b, e)")]


def test_hover_on_a_name_read_gives_what_was_bound_before_its_statement(tmp_path: Path) -> None:
    text = """\
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


class Heads:
    def f(self, x: Float[Tensor, "b s e"], heads: int) -> Tensor:
        x = ss.split_heads(x, heads)
        self.x = x
        return x
"""
    path = tmp_path / "heads.py"
    path.write_text(text)
    session = Session(tmp_path)
    assert session.open(path, text) == {path: []}
    split = 'x: (b, heads, s, e//heads)\nb, s from x "b s e" (line 8)'
    assert session.hover(path, 8, 8) == split  # the x that the assignment binds
    assert session.hover(path, 8, 27) == "x: (b, s, e)"  # the x it reads: the parameter
    assert session.hover(path, 9, 17) == split
    assert session.hover(path, 10, 15) == split
    assert session.hover(path, 9, 13) is None  # self.x: an attribute, not the name x


def test_hover_on_the_function_called_or_the_at_sign_gives_the_value_assigned(
    tmp_path: Path,
) -> None:
    text = """\
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def f(x: Float[Tensor, "b s e"], w: Float[Tensor, "e e"], heads: int) -> Tensor:
    q = ss.split_heads(ss.linear(x, w), heads)
    scores = q @ q.mT
    weights = scores.softmax(dim=-1)
    return weights
"""
    path = tmp_path / "calls.py"
    path.write_text(text)
    session = Session(tmp_path)
    assert session.open(path, text) == {path: []}
    where = '\nb, s from x "b s e" (line 7)'
    split = "ss.split_heads(ss.linear(x, w), heads): (b, heads, s, e//heads)" + where
    assert session.hover(path, 7, 14) == split  # on split_heads
    assert session.hover(path, 7, 27) is None  # on linear: a call inside, not the value
    assert session.hover(path, 7, 6) is None  # on =
    assert session.hover(path, 8, 15) == "q @ q.mT: (b, heads, s, s)" + where
    assert session.hover(path, 8, 17) == "q: (b, heads, s, e//heads)" + where
    assert session.hover(path, 9, 24) == "scores.softmax(dim=-1): (b, heads, s, s)" + where
    assert session.hover(path, 9, 29) is None  # on dim=


def test_transpose_fix_for_an_attribute(tmp_path: Path) -> None:
    text = """\
import torch
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


class Head(torch.nn.Module):
    def __init__(self, w: Float[Tensor, "v d"]) -> None:
        super().__init__()
        self.w: Float[Tensor, "v d"] = w

    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b v"]:
        return ss.matmul(x, self.w)
"""
    path = tmp_path / "head.py"
    path.write_text(text)
    session = Session(tmp_path)
    [finding] = session.open(path, text)[path]
    assert finding.message.endswith("; did you mean self.w.mT?")
    fix, ignore = session.fixes(path, 13, 13)
    assert fix.title == "Replace with self.w.mT"
    assert fix.edit == Edit((13, 28), (13, 34), "self.w.mT")
    fixed = text.replace("ss.matmul(x, self.w)", "ss.matmul(x, self.w.mT)")
    assert session.open(path, fixed) == {path: []}
    assert session.fixes(path, 0, 20) == []
    assert ignore.edit == Edit((13, 35), (13, 35), "  # shapesafe: ignore")


TRANSPOSES = """\
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

import shapesafe as ss


def f(
    x: Float[Tensor, "b k"], w: Float[Tensor, "n k"], v: Float[Tensor, "k n"],
    s: Float[Tensor, "a c"], u: Float[Tensor, "n k"],
) -> Tensor:
"""


def apply(text: str, edit: Edit) -> str:
    """`text` with `edit` made (positions in UTF-16 units, as LSP counts them)."""
    lines = text.splitlines(keepends=True)

    def offset(line: int, character: int) -> int:
        units = lines[line].encode("utf-16-le")[: 2 * character].decode("utf-16-le")
        return sum(len(x) for x in lines[:line]) + len(units)

    return text[: offset(*edit.start)] + edit.text + text[offset(*edit.end) :]


@pytest.mark.parametrize(
    "body, title, fixed",
    [
        pytest.param("return x @ w", "w.mT", "return x @ w.mT", id="add-mT-to-matmul-operand"),
        pytest.param("return x @ v.T", "v", "return x @ v", id="drop-T"),
        pytest.param("return ss.matmul(x, v.mT)", "v", "return ss.matmul(x, v)", id="drop-mT"),
        pytest.param("return F.linear(x, v)", "v.T", "return F.linear(x, v.T)", id="linear-T"),
        pytest.param(
            "return ss.linear(x, weight=v)",
            "v.mT",
            "return ss.linear(x, weight=v.mT)",
            id="keyword-argument",
        ),
        pytest.param(
            "return x @ (w + u)", "(w + u).mT", "return x @ ((w + u).mT)", id="parenthesized"
        ),
        pytest.param(
            "return ss.matmul(x, w + u)",
            "(w + u).mT",
            "return ss.matmul(x, (w + u).mT)",
            id="sum-gets-parentheses",
        ),
        pytest.param(
            "return ss.matmul(\n        x,\n        w,\n    )",
            "w.mT",
            "return ss.matmul(\n        x,\n        w.mT,\n    )",
            id="call-over-lines",
        ),
        pytest.param("return s @ s", "s.mT", "return s @ s.mT", id="right-operand-not-left"),
        pytest.param(
            'print("é😀"); return x @ w', "w.mT", 'print("é😀"); return x @ w.mT', id="utf16"
        ),
    ],
)
def test_each_transpose_fix_makes_its_finding_go_away(
    tmp_path: Path, body: str, title: str, fixed: str
) -> None:
    path = tmp_path / "m.py"
    text = f"{TRANSPOSES}    {body}\n"
    path.write_text(text)
    session = Session(tmp_path)
    [finding] = session.open(path, text)[path]
    assert "; did you mean " in finding.message
    fix, ignore = session.fixes(path, 0, 40)
    assert fix.title == f"Replace with {title}"
    assert ignore.title == "Ignore shape findings on this line"
    assert apply(text, fix.edit) == f"{TRANSPOSES}    {fixed}\n"
    assert session.open(path, apply(text, fix.edit)) == {path: []}


@pytest.mark.parametrize("body", ["return ss.matmul(s, s)", "return torch.mm(s, s)"])
def test_no_transpose_fix_where_the_hint_could_mean_either_argument(
    tmp_path: Path, body: str
) -> None:
    path = tmp_path / "m.py"
    text = f"{TRANSPOSES}    {body}\n"
    path.write_text(text)
    session = Session(tmp_path)
    [finding] = session.open(path, text)[path]
    assert finding.message.endswith("; did you mean s.mT?")
    [ignore] = session.fixes(path, 0, 40)
    assert ignore.edit.text == "  # shapesafe: ignore"
    assert session.open(path, apply(text, ignore.edit)) == {path: []}


def test_readme_editor_setup_parses_and_starts_this_server() -> None:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [block] = [b for b in text.split("```toml\n")[1:] if "[language-server.shapesafe]" in b]
    config = tomllib.loads(block.split("```")[0])
    server = config["language-server"]["shapesafe"]
    assert [server["command"], *server["args"]] == ["shapesafe", "lsp"]
    [python] = config["language"]
    assert python["name"] == "python" and "shapesafe" in python["language-servers"]
    [lua] = [b.split("```")[0] for b in text.split("```lua\n")[1:]]
    assert 'cmd = { "shapesafe", "lsp" }' in lua
    assert lua.count("(") == lua.count(")") and lua.count("{") == lua.count("}")


def test_readme_vs_code_settings_parse_and_start_this_server() -> None:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [block] = [b.split("```")[0] for b in text.split("```json\n")[1:] if "glspc." in b]
    settings = json.loads(block)
    # The keys that the "Generic LSP Client (v2)" extension (zsol.vscode-glspc) reads.
    assert settings == {
        "glspc.server.command": "shapesafe",
        "glspc.server.commandArguments": ["lsp"],
        "glspc.server.languageId": ["python"],
    }


def test_a_bad_settings_section_checks_as_with_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.shapesafe]\nignore = "shape"\n')
    bad = USER.replace('"b e"]:', '"e b"]:')
    (tmp_path / "user.py").write_text(bad)
    (tmp_path / "lib.py").write_text(LIB)
    session = Session(tmp_path)
    assert "ignore must be a list of codes" in capsys.readouterr().err
    assert len(session.open(tmp_path / "user.py", bad)[tmp_path / "user.py"]) == 1


def test_building_the_server_imports_no_torch() -> None:
    code = (
        "import sys; from shapesafe._lsp_server import build; build(); "
        "print(sorted(m for m in ('torch', 'jaxtyping', 'beartype') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out == "[]\n"


def test_positions_count_utf16_units_past_non_ascii_text(tmp_path: Path) -> None:
    session = workspace(tmp_path)
    user = tmp_path / "user.py"
    text = USER.replace("    y = mix(x, w)", '    print("é😀"); y = mix(x, w)')
    session.open(user, text)
    # `    print("é😀"); ` is 18 UTF-16 units (the emoji takes two): y is at 18.
    assert session.inlay_hints(user, 7, 7) == [(7, 19, ": (b, e)")]
    assert (
        session.hover(user, 7, 18) == 'y: (b, e)\nb from x "b d" (line 7); e from w "d e" (line 7)'
    )
    assert session.hover(user, 7, 16) is None  # `;`
