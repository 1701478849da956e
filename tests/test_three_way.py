"""The helpers of `benchmarks/three_way.py`: chunking a suite, the options each chunk keeps,
and reading outcomes from a junit report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import three_way

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
<testcase classname="tests.test_a.TestA" name="test_ok" time="0.1"/>
<testcase classname="tests.test_a.TestA" name="test_bad" time="0.1">
<failure message="AssertionError">boom</failure></testcase>
<testcase classname="tests.test_b" name="test_setup[x]" time="0.1">
<error message="failed on setup">fixture</error></testcase>
<testcase classname="tests.test_b" name="test_skip" time="0.0">
<skipped message="no gpu"/></testcase>
</testsuite></testsuites>
"""


def test_outcomes_reads_passed_failed_errors_and_skips(tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    report.write_text(REPORT)
    assert three_way.outcomes(report) == {
        "tests.test_a.TestA::test_ok": "passed",
        "tests.test_a.TestA::test_bad": "failed",
        "tests.test_b::test_setup[x]": "failed",
        "tests.test_b::test_skip": "skipped",
    }


def test_outcomes_of_a_run_that_wrote_no_report_is_empty(tmp_path: Path) -> None:
    assert three_way.outcomes(tmp_path / "missing.xml") == {}


def test_chunks_keep_each_file_whole_and_the_order() -> None:
    ids = [f"t/a.py::t{i}" for i in range(4)] + ["t/b.py::x", "t/b.py::y"]
    ids += [f"t/c.py::t{i}" for i in range(4)] + ["t/d.py::z"]
    chunks = three_way.chunked(ids, 3)
    assert [node for chunk in chunks for node in chunk] == ids
    files = [{node.split("::")[0] for node in chunk} for chunk in chunks]
    assert all(not (a & b) for i, a in enumerate(files) for b in files[i + 1 :])
    assert files == [{"t/a.py"}, {"t/b.py"}, {"t/c.py", "t/d.py"}]


def test_one_chunk_holds_every_test() -> None:
    ids = ["t/a.py::x", "t/b.py::y", "t/b.py::z"]
    assert three_way.chunked(ids, 1) == [ids]


def test_chunks_get_the_options_but_not_the_selection(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    args = [
        "tests",
        "tests/test_a.py::test_x",
        "--ignore=tests/test_b.py",
        "--deselect",
        "tests/test_a.py::test_y",
        "-k",
        "not slow",
        "-m",
        "fast",
        "@deselect.txt",
        "-W",
        "ignore::DeprecationWarning",
        "-x",
        "--tb=short",
    ]
    kept = three_way.split_selection(args, tmp_path)
    assert kept == ["-W", "ignore::DeprecationWarning", "-x", "--tb=short"]


def test_each_mode_turns_on_only_its_own_hook() -> None:
    assert three_way.options("plain", "pkg") == []
    assert three_way.options("jaxtyping", "pkg") == ["--jaxtyping-packages=pkg,beartype.beartype"]
    assert three_way.options("shapesafe", "pkg") == ["--shapesafe-packages=pkg"]
