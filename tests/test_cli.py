"""`shapesafe check`: exit codes, one file's failure isolated, encodings, settings, pre-commit."""

import ast
import re
import shlex
from pathlib import Path

import pytest

from shapesafe import check as cli
from shapesafe._static import Finding, Stats, _unify, check_file

HEADER = "from jaxtyping import Float\nfrom torch import Tensor\n\n\n"
BUG = HEADER + 'def f(x: Float[Tensor, "a b"]) -> Float[Tensor, "b a"]:\n    return x\n'
BUG_MESSAGE = '6:12: shape: return of f(): dim \'b\' is b in x "a b" but a in x "a b"'
CLEAN = HEADER + 'def g(x: Float[Tensor, "a b"]) -> Float[Tensor, "a b"]:\n    return x\n'
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with one buggy and one clean file, as the working directory."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bug.py").write_text(BUG)
    (tmp_path / "pkg" / "clean.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = cli.main(["check", *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "files, status",
    [
        pytest.param(["pkg/clean.py"], 0, id="clean"),
        pytest.param(["pkg/bug.py"], 1, id="finding"),
        pytest.param(["pkg/missing.py"], 2, id="missing"),
        pytest.param(["pkg/bug.py", "pkg/missing.py"], 2, id="finding-and-missing"),
    ],
)
def test_exit_status(
    project: Path, capsys: pytest.CaptureFixture[str], files: list[str], status: int
) -> None:
    assert run(capsys, *files)[0] == status


def test_usage_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--no-such-option", "x.py"])
    assert info.value.code == 2
    status, _, err = run(capsys)  # no PATH and no settings
    assert status == 2
    assert "no PATH given, and no `paths` in [tool.shapesafe]" in err


def test_one_broken_file_does_not_stop_the_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "a_broken.py").write_text("def f(:\n")
    (project / "pkg" / "a_undecodable.py").write_bytes(b"x = '\xff\xfe'\n")
    status, out, err = run(capsys, "pkg")
    assert status == 2
    assert out == f"pkg/bug.py:{BUG_MESSAGE}\n"
    lines = err.splitlines()
    assert lines[0].startswith("pkg/a_broken.py:1:7: error: ")
    assert lines[1].startswith("pkg/a_undecodable.py:1:") and ": error: " in lines[1]
    assert lines[2] == "shapesafe: 1 finding in 2 files"


def test_an_internal_error_is_reported_per_file(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = check_file

    def flaky(path: Path, display: str | None = None, stats: Stats | None = None) -> list[Finding]:
        if path.name == "bug.py":
            raise RecursionError("maximum recursion depth exceeded")
        if path.name == "clean.py":
            raise KeyError("x")
        return real(path, display, stats)

    monkeypatch.setattr(cli, "check_file", flaky)
    (project / "pkg" / "other.py").write_text(BUG)
    status, out, err = run(capsys, "pkg")
    assert status == 2
    assert out == f"pkg/other.py:{BUG_MESSAGE}\n"
    assert err.splitlines() == [
        "pkg/bug.py: error: too deeply nested for the checker",
        "pkg/clean.py: error: internal error, please report it: KeyError: 'x'",
        "shapesafe: 1 finding in 1 file",
    ]


def test_pep_263_latin_1_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    latin = b"# -*- coding: latin-1 -*-\n# caf\xe9\n" + BUG.encode()
    (project / "pkg" / "latin.py").write_bytes(latin)
    status, out, _ = run(capsys, "pkg/latin.py")
    assert status == 1
    assert out == f"pkg/latin.py:8{BUG_MESSAGE[1:]}\n"


def test_utf8_bom_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pkg" / "bom.py").write_bytes(b"\xef\xbb\xbf" + BUG.encode())
    assert run(capsys, "pkg/bom.py")[:2] == (1, f"pkg/bom.py:{BUG_MESSAGE}\n")


def test_a_latin_1_file_that_does_not_parse(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pkg" / "bad.py").write_bytes(b"# coding: latin-1\n# caf\xe9\ndef f(:\n")
    status, _, err = run(capsys, "pkg/bad.py", "pkg/bug.py")
    assert status == 2
    assert err.startswith("pkg/bad.py:3:7: error: ")


@pytest.mark.parametrize("dim", ["9**9**9", "10**100", "2**-1", "1//0", "7%0", "(-2)**99"])
def test_constant_dims_are_parsed_not_evaluated(
    project: Path, capsys: pytest.CaptureFixture[str], dim: str
) -> None:
    # A huge or invalid constant is an unknown size: no finding, and no time spent on it.
    source = (
        HEADER + f'def f(x: Float[Tensor, "n {dim}"]) -> Float[Tensor, "n {dim}"]:\n    return x\n'
    )
    (project / "pkg" / "big.py").write_text(source)
    assert run(capsys, "pkg/big.py")[:2] == (0, "")


@pytest.mark.parametrize(
    "text, value",
    [("2**10", 1024), ("3*4+1", 13), ("-(2)", -2), ("7//2", 3), ("7%4", 3)],
)
def test_small_constant_dims_fold(text: str, value: int) -> None:
    assert _unify.simplify(_parse(text)) == _unify.lit(value)


@pytest.mark.parametrize("text", ["9**9**9", "2**65", "1//0", "3/2", "True+1", "2<<3"])
def test_other_constant_dims_are_unknown(text: str) -> None:
    assert _unify.simplify(_parse(text)) is None


def _parse(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _settings(project: Path, body: str) -> None:
    (project / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.shapesafe]\n{body}")


def test_settings_paths_exclude_and_ignore(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "other").mkdir()
    (project / "other" / "bug.py").write_text(BUG)
    (project / "pkg" / "gen").mkdir()
    (project / "pkg" / "gen" / "bug.py").write_text(BUG)
    _settings(project, 'paths = ["pkg"]\nexclude = ["pkg/gen"]\n')
    status, out, err = run(capsys)
    assert status == 1
    assert out == f"{project / 'pkg' / 'bug.py'}:{BUG_MESSAGE}\n"
    assert err == "shapesafe: 1 finding in 2 files\n"
    # Settings are found from a subfolder too, with paths relative to pyproject.toml.
    _settings(project, 'paths = ["pkg"]\nexclude = ["bug.py"]\n')
    assert run(capsys)[0] == 0
    # A file named on the command line is checked unless --force-exclude says otherwise.
    assert run(capsys, "pkg/bug.py")[0] == 1
    assert run(capsys, "--force-exclude", "pkg/bug.py")[:2] == (0, "")
    _settings(project, 'paths = ["pkg", "other"]\nignore = ["shape"]\n')
    assert run(capsys)[:2] == (0, "")


def test_settings_from_a_subfolder(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _settings(project, 'paths = ["pkg"]\n')
    monkeypatch.chdir(project / "pkg")
    status, out, _ = run(capsys)
    assert status == 1 and out.endswith(f"bug.py:{BUG_MESSAGE}\n")


def test_config_option(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "elsewhere.toml").write_text('[tool.shapesafe]\npaths = ["pkg/clean.py"]\n')
    assert run(capsys, "--config", "elsewhere.toml")[:2] == (0, "")
    status, _, err = run(capsys, "--config", "nowhere.toml")
    assert status == 2 and err.startswith("nowhere.toml: error: ")


@pytest.mark.parametrize(
    "body, message",
    [
        ('path = ["pkg"]\n', "unknown key 'path'; known: paths, exclude, ignore"),
        ('paths = "pkg"\n', "paths must be a list of paths (strings)"),
        ("ignore = [1]\n", "ignore must be a list of codes (strings)"),
        ("paths = [\n", "pyproject.toml: error: "),
    ],
)
def test_bad_settings_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    _settings(project, body)
    status, _, err = run(capsys, "pkg")
    assert status == 2
    assert message in err


def test_pre_commit_hook_runs_the_cli(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    fields = dict(re.findall(r"^\s*-?\s*(\w+): (.+)$", text, re.MULTILINE))
    assert fields["id"] == "shapesafe-check"
    assert fields["types"] == "[python]"
    command = shlex.split(fields["entry"])
    assert command[0] == "shapesafe"  # the console script of [project.scripts]
    # pre-commit appends the staged files it selected.
    assert cli.main([*command[1:], "pkg/bug.py", "pkg/clean.py"]) == 1
    assert cli.main([*command[1:], "pkg/clean.py"]) == 0
    _settings(project, 'exclude = ["pkg/bug.py"]\n')
    capsys.readouterr()
    assert cli.main([*command[1:], "pkg/bug.py", "pkg/clean.py"]) == 0


def test_the_project_settings_check_clean() -> None:
    settings = cli.read_settings(ROOT / "pyproject.toml")
    assert settings.paths == ["shapesafe", "examples", "benchmarks"]


def test_worker_processes_give_the_same_output(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    many = project / "many"
    many.mkdir()
    for i in range(70):
        (many / f"m{i:02d}.py").write_text(BUG if i % 3 == 0 else CLEAN)
    (many / "m05.py").write_text("def f(:\n")
    one = run(capsys, "--jobs", "1", "many")
    two = run(capsys, "--jobs", "2", "many")
    auto = run(capsys, "many")
    assert one == two == auto
    assert one[0] == 2 and one[1].count("\n") == 24
    assert one[2].endswith("shapesafe: 24 findings in 69 files\n")


def test_the_mypy_plugin_applies_the_same_settings(project: Path) -> None:
    from mypy.options import Options

    from shapesafe.mypy_plugin import ShapePlugin

    bug = str(project / "pkg" / "bug.py")
    assert [f.message for f in ShapePlugin(Options())._file_findings(bug)] == [
        BUG_MESSAGE.split("shape: ", 1)[1]
    ]
    _settings(project, 'exclude = ["pkg/bug.py"]\n')
    assert ShapePlugin(Options())._file_findings(bug) == []
    _settings(project, 'ignore = ["shape"]\n')
    assert ShapePlugin(Options())._file_findings(bug) == []


def test_the_projects_own_paths_are_clean(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What .ci/run checks: the lessons' deliberate mistakes each carry `# shapesafe: ignore`.
    monkeypatch.chdir(ROOT)
    status, out, err = run(capsys)
    assert (status, out) == (0, "")
    assert err.startswith("shapesafe: 0 findings in ")
