"""Tracebacks of failing checked calls: they end in the user's code, without shapesafe's frames.

- Plain Python: the machinery between the user's frames is cut (`_traceback.trim`), and a
  ShapeError's traceback ends at the user's line.
- pytest: every shapesafe frame carries `__tracebackhide__`, so a failing test's report shows
  the user's line as the failing one, and no locals of shapesafe's frames: no tensor values.
  These run pytest in a subprocess (slow: an in-process inner pytest drops the modules it
  imported, which torch does not survive).
- The generated wrappers' source is in `linecache`, for tracebacks and pdb.
"""

import importlib
import io
import linecache
import pdb
import pkgutil
import re
import subprocess
import sys
import traceback
import types
from pathlib import Path

import pytest
import torch
from jaxtyping import Float
from torch import Tensor, nn

import shapesafe as ss
from shapesafe import _traceback

MARK = "31337"

INNER = f"""
import torch
from jaxtyping import Float
from torch import Tensor, nn

import shapesafe as ss


class Mine(nn.Module):
    @ss.checked
    def forward(self, x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        return x[:, :1]


def full(*shape):
    return torch.full(shape, {MARK}.0)


@ss.checked
def project(x: Float[Tensor, "b n"], w: Float[Tensor, "n m"]) -> Float[Tensor, "b m"]:
    return x @ w


@ss.checked
def wrong_return(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x[:, :1]


@ss.checked
def total(*xs: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return xs[0]


def test_op():
    ss.matvec(full(3, 4), full(5))  # LINE op


def test_op_after_a_good_call():
    ss.matvec(full(2, 2), full(2))
    ss.matvec(full(3, 4), full(5))  # LINE op_after


def test_checked_function():
    project(full(2, 3), full(4, 5))  # LINE function


def test_checked_function_return():
    wrong_return(full(2, 3))  # LINE return


def test_packed_parameter():
    total(full(2), full(3))  # LINE packed


def test_checked_module():
    ss.nn.Linear(4, 5)(full(2, 3))  # LINE module


def test_users_module():
    Mine()(full(2, 3))  # LINE users_module
"""


def _lines() -> dict[str, int]:
    """The line of each `# LINE name` comment in the inner test file."""
    out = {}
    for number, line in enumerate(INNER.splitlines(), start=1):
        if "# LINE " in line:
            out[line.split("# LINE ")[1].strip()] = number
    return out


def _run_pytest(tmp_path: Path, *options: str) -> str:
    (tmp_path / "test_inner.py").write_text(INNER)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options, "test_inner.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    return out.stdout


def _failures(report: str) -> dict[str, str]:
    """Each failing test's section of the report, by test name."""
    parts = re.split(r"^_{3,} (test_\w+) _{3,}$", report, flags=re.M)
    return {name: body for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def _check_report(report: str) -> None:
    failures = _failures(report)
    lines = _lines()
    assert set(failures) == {
        "test_op",
        "test_op_after_a_good_call",
        "test_checked_function",
        "test_checked_function_return",
        "test_packed_parameter",
        "test_checked_module",
        "test_users_module",
    }
    tests = {
        "test_op": "op",
        "test_op_after_a_good_call": "op_after",
        "test_checked_function": "function",
        "test_checked_function_return": "return",
        "test_packed_parameter": "packed",
        "test_checked_module": "module",
        "test_users_module": "users_module",
    }
    for test, body in failures.items():
        assert MARK not in body, body
        assert "tensor(" not in body, body
        # No frame of shapesafe's is shown, generated or not.
        assert "shapesafe/" not in body and "<shapesafe." not in body, body
        # The failing line is the user's: the last location pytest names.
        where = re.findall(r"^(\S+\.py):(\d+): ", body, flags=re.M)
        assert where, body
        assert where[-1] == ("test_inner.py", str(lines[tests[test]])), body
        assert re.search(r"^E\s+shapesafe\.ShapeError: ", body, flags=re.M), body


@pytest.mark.slow
def test_pytest_report_shows_the_users_line_and_no_tensor_values(tmp_path: Path) -> None:
    """The default traceback style (`auto`), with `--showlocals`."""
    _check_report(_run_pytest(tmp_path, "-l"))


def _hidden(tb: types.TracebackType | None) -> list[bool]:
    """Per frame of a traceback, whether pytest leaves it out (its rule: the frame's locals,
    else its globals, hold a true `__tracebackhide__`)."""
    out = []
    while tb is not None:
        frame = tb.tb_frame
        out.append(
            bool(
                frame.f_locals.get(
                    "__tracebackhide__", frame.f_globals.get("__tracebackhide__", False)
                )
            )
        )
        tb = tb.tb_next
    return out


@pytest.mark.parametrize("bug", ["shape", "torch"])
def test_pytest_hides_every_shapesafe_frame(bug: str) -> None:
    """What the report test checks, in-process: shapesafe's frames are hidden, the user's not."""
    with pytest.raises(Exception) as info:
        Outer(bug)(torch.randn(2, 8))
    frames = _frames(info.value)
    hidden = _hidden(info.value.__traceback__)
    assert any(hidden)
    for frame, hide in zip(frames, hidden, strict=True):
        assert hide == _own(frame), frame
    with pytest.raises(ss.ShapeError) as info:
        ss.matvec(torch.randn(3, 4), torch.randn(5))
    assert _hidden(info.value.__traceback__) == [False, True]


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("--tb=long",), ("--tb=long", "-l"), ("--tb=short",)])
def test_pytest_report_in_other_styles(tmp_path: Path, options: tuple[str, ...]) -> None:
    _check_report(_run_pytest(tmp_path, *options))


# Plain Python tracebacks ----------------------------------------------------------------


class Inner(nn.Module):
    def __init__(self, bug: str) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 8))
        self.bug = bug

    @ss.checked
    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
        if self.bug == "shape":
            return ss.linear(x, self.w[:, :5])  # INNER-SHAPE
        if self.bug == "torch":
            return x @ self.w[:5]  # INNER-TORCH
        raise KeyError(self.bug)  # INNER-KEY


class Middle(nn.Module):
    def __init__(self, bug: str) -> None:
        super().__init__()
        self.inner = Inner(bug)

    @ss.checked
    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
        return self.inner(x)  # type: ignore[no-any-return]


class Outer(nn.Module):
    def __init__(self, bug: str) -> None:
        super().__init__()
        self.middle = Middle(bug)

    @ss.checked
    def forward(self, x: Float[Tensor, "b d"]) -> Float[Tensor, "b d"]:
        return self.middle(x)  # type: ignore[no-any-return]


def _frames(err: BaseException) -> list[traceback.FrameSummary]:
    return list(traceback.extract_tb(err.__traceback__))


def _own(frame: traceback.FrameSummary) -> bool:
    """A frame of shapesafe's or of the checkers it runs."""
    name = frame.filename
    return name.startswith("<shapesafe.") or any(
        f"{sep}{pkg}{sep}" in name for pkg in ("shapesafe", "jaxtyping", "beartype") for sep in "/"
    )


def _source_line(marker: str) -> int:
    source = Path(__file__).read_text().splitlines()
    return next(i for i, line in enumerate(source, start=1) if line.endswith(f"# {marker}"))


@pytest.mark.parametrize(
    ("bug", "error", "marker"),
    [
        ("shape", ss.ShapeError, "INNER-SHAPE"),
        ("torch", RuntimeError, "INNER-TORCH"),
        ("key", KeyError, "INNER-KEY"),
    ],
)
@pytest.mark.parametrize("calls", [1, 2], ids=["cold", "warm"])
def test_a_bug_three_modules_deep_shows_one_shapesafe_frame(
    bug: str, error: type[Exception], marker: str, calls: int
) -> None:
    """Before, 35 frames, 25 of them shapesafe's or jaxtyping's; now the wrapper called from
    the user's line is the only one, and the last frame is the user's line."""
    model = Outer(bug)
    for _ in range(calls):
        with pytest.raises(error) as info:
            model(torch.randn(2, 8))
    frames = _frames(info.value)
    own = [f for f in frames if _own(f)]
    assert len(own) == 1, [f"{f.filename}:{f.name}" for f in own]
    assert own[0].filename.startswith(_traceback.GENERATED + " Outer.forward#")
    assert (frames[-1].filename, frames[-1].lineno) == (__file__, _source_line(marker))
    user = [f.lineno for f in frames if f.filename == __file__]
    assert len(user) == 4  # this test's call, then each module's forward


def test_an_eager_shape_error_ends_at_the_users_call() -> None:
    with pytest.raises(ss.ShapeError) as info:
        ss.matvec(torch.randn(3, 4), torch.randn(5))
    frames = _frames(info.value)
    # This test's line, then the op's wrapper, which raised it (CPython always records the
    # frame that raises): nothing of the check that found it.
    assert frames[0].filename == __file__
    assert len(frames) == 2 and frames[1].filename.startswith(_traceback.GENERATED + " matvec#")
    assert frames[1].line is not None and "raise" in frames[1].line


@ss.checked
def _packed(*xs: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    return xs[0]


def test_the_generic_wrapper_is_cut_as_well() -> None:
    with pytest.raises(ss.ShapeError) as info:
        _packed(torch.randn(2), torch.randn(3))
    frames = _frames(info.value)
    assert len(frames) == 2 and frames[0].filename == __file__
    assert frames[1].filename.endswith("_codegen.py")


def test_an_error_inside_shapesafe_keeps_its_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the call machinery between the user's frames goes: shapesafe's own bug shows
    where it is."""
    import operator

    import shapesafe._checked as checked_module

    # A builtin, so that the error is raised in shapesafe's own frame (`shape_error`).
    monkeypatch.setattr(checked_module, "_explained", operator.itemgetter(0))
    with pytest.raises(TypeError) as info:
        ss.matvec(torch.randn(3, 4), torch.randn(7))
    names = [f.name for f in _frames(info.value)]
    assert names[-2:] == ["call_full", "shape_error"]


def test_cause_and_context_are_kept() -> None:
    @ss.checked
    def reraise(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        try:
            raise KeyError("first")
        except KeyError as e:
            raise ValueError("second") from e

    @ss.checked
    def during(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second")  # noqa: B904 - the implicit context is the point

    with pytest.raises(ValueError) as info:
        reraise(torch.randn(3))
    assert isinstance(info.value.__cause__, KeyError)
    assert info.value.__suppress_context__
    with pytest.raises(ValueError) as info:
        during(torch.randn(3))
    assert info.value.__cause__ is None and isinstance(info.value.__context__, KeyError)
    assert not info.value.__suppress_context__


def test_every_runtime_module_hides_its_frames_from_pytest() -> None:
    tools = {"shapesafe.check", "shapesafe.mypy_plugin", "shapesafe.pytest_plugin"}
    tools |= {
        "shapesafe._import_hook",
        "shapesafe.shapes",
        "shapesafe.lsp",
        "shapesafe._lsp_server",
    }
    names = [
        m.name
        for m in pkgutil.walk_packages(ss.__path__, "shapesafe.")
        if m.name not in tools and not m.name.startswith("shapesafe._static")
    ]
    assert "shapesafe.nn._gpt" in names and "shapesafe._checked" in names
    for name in names:
        if name == "shapesafe":
            continue
        module = importlib.import_module(name)
        assert getattr(module, "__tracebackhide__", False) is True, name


# The generated source -------------------------------------------------------------------


def test_generated_wrappers_have_their_source_in_linecache() -> None:
    code = ss.matvec.__code__
    assert code.co_filename.startswith(_traceback.GENERATED + " matvec#")
    source = "".join(linecache.getlines(code.co_filename))
    assert "def _ss_wrapper(" in source and "raise _trim(" in source
    assert ss.matvec.__globals__ is vars(sys.modules["shapesafe._generated"])
    assert ss.matvec.__globals__["__name__"] == "shapesafe._generated"
    # A traceback through it shows its lines.
    with pytest.raises(ss.ShapeError) as info:
        ss.matvec(torch.randn(3, 4), torch.randn(5))
    assert "raise _trim(" in "".join(traceback.format_tb(info.value.__traceback__))


def test_pdb_lists_the_generated_source() -> None:
    with pytest.raises(ss.ShapeError) as info:
        ss.matvec(torch.randn(3, 4), torch.randn(5))
    out = io.StringIO()
    debugger = pdb.Pdb(stdin=io.StringIO("list\nquit\n"), stdout=out)
    debugger.reset()
    debugger.interaction(None, info.value.__traceback__)
    assert "raise _trim(_ss_error)" in out.getvalue()
    assert "_ss_wrapper()" in out.getvalue()


def test_a_generated_source_is_forgotten_with_its_function() -> None:
    @ss.checked
    def short_lived(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return x

    filename = short_lived.__code__.co_filename
    assert linecache.getlines(filename)
    del short_lived
    import gc

    gc.collect()
    assert filename not in linecache.cache


def test_the_generated_source_can_be_dumped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHAPESAFE_DUMP_GENERATED", str(tmp_path / "generated"))

    @ss.checked
    def dumped(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return x

    (path,) = (tmp_path / "generated").iterdir()
    assert path.name.startswith("test_the_generated_source_can_be_dumped.dumped.")
    text = path.read_text()
    assert text.splitlines()[0] == f"# {dumped.__code__.co_filename}"
    assert text.split("\n", 1)[1] == "".join(linecache.getlines(dumped.__code__.co_filename))
    compile(text, str(path), "exec")
