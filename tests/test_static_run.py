"""One checker run and what it remembers: an edited file is read again, and what was worked
out about its old version goes with it; op rules are one registered function each."""

import gc
import os
from pathlib import Path

from shapesafe._static import Run, check_file
from shapesafe._static._rules import FUNCTIONS, PASS, Call
from shapesafe._static._rules._registry import function
from shapesafe._static._values import Value

LIB = """\
from jaxtyping import Float
from torch import Tensor


def mix(a: Float[Tensor, "b {size}"], w: Float[Tensor, "{size} k"]) -> Float[Tensor, "b k"]:
    return a @ w
"""
USER = """\
import torch
from lib import mix


def f() -> None:
    mix(torch.zeros(2, 3), torch.zeros(3, 5))
"""


def write(path: Path, text: str, stamp: int) -> None:
    """Write `text` and give the file its own modified time, as an editor's save does."""
    path.write_text(text)
    os.utime(path, ns=(stamp, stamp))


def test_an_edited_callee_is_read_again_in_the_same_run(tmp_path: Path) -> None:
    run = Run()
    lib, user = tmp_path / "lib.py", tmp_path / "user.py"
    write(lib, LIB.format(size="n"), 10**18)
    write(user, USER, 10**18)
    assert check_file(user, run=run) == []
    write(lib, LIB.format(size="3"), 2 * 10**18)  # a contract of the callee changes
    assert check_file(user, run=run) == []
    write(lib, LIB.format(size="4"), 3 * 10**18)
    found = [f.message for f in check_file(user, run=run)]
    assert found == [
        "mix(torch.zeros(2, 3), torch.zeros(3, 5)): "
        """dim '4' is 3 in torch.zeros(2, 3) "2 3", expected 4 ("b 4")"""
    ]
    # One version of each file is held.
    assert sorted(p.name for p in run.modules) == ["lib.py", "user.py"]


def test_re_checking_an_edited_file_keeps_one_version_of_it(tmp_path: Path) -> None:
    run = Run()
    path = tmp_path / "edited.py"
    versions = []
    for i in range(5):
        write(path, USER.replace("f()", f"f{i}()"), (i + 1) * 10**18)
        check_file(path, run=run)
        versions.append(run.modules[path.resolve()][1])
    assert len({id(v) for v in versions}) == 5  # each edit parsed anew
    assert list(run.modules) == [path.resolve()]
    gc.collect()
    assert versions[-1] is run.modules[path.resolve()][1]


def test_adding_an_op_is_one_registered_function(tmp_path: Path) -> None:
    calls = []

    @function("torch.made_up_op")
    def made_up(c: Call) -> Value:
        calls.append(c.name)
        x = c.x
        return (*x[:-1],) if isinstance(x, tuple) and x else PASS  # type: ignore[return-value]

    try:
        path = tmp_path / "uses.py"
        path.write_text(
            "import torch\nfrom jaxtyping import Float\nfrom torch import Tensor\n\n\n"
            'def f(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:\n'
            "    return torch.made_up_op(x)\n"
        )
        found = [f.message for f in check_file(path)]
        assert calls == ["made_up_op"]
        assert len(found) == 1
        assert "has 1 dim" in found[0], found[0]
    finally:
        del FUNCTIONS["torch.made_up_op"]


INNER = """\
from jaxtyping import Float
from torch import Tensor


def inner(a: Float[Tensor, "b n"]) -> Float[Tensor, "b {size}"]:
    return a[:, :1]
"""
OUTER = """\
from jaxtyping import Float
from torch import Tensor

from inner import inner


def outer(a: Float[Tensor, "b n"]):
    return inner(a)
"""
CALLER = """\
import torch
from jaxtyping import Float
from torch import Tensor

from outer import outer


def {name}() -> Float[Tensor, "2 1"]:
    return outer(torch.zeros(2, 3))
"""


def test_a_body_read_for_one_file_is_read_again_when_a_file_it_reads_changes(
    tmp_path: Path,
) -> None:
    # `outer` gives what its body gives, read once for both callers; editing `inner`, a
    # file that reading went through, makes the run read it again.
    run = Run()
    write(tmp_path / "inner.py", INNER.format(size="1"), 10**18)
    write(tmp_path / "outer.py", OUTER, 10**18)
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    write(first, CALLER.format(name="first"), 10**18)
    write(second, CALLER.format(name="second"), 10**18)
    assert check_file(first, run=run) == []
    assert check_file(second, run=run) == []
    write(tmp_path / "inner.py", INNER.format(size="4"), 2 * 10**18)
    found = [f.message for f in check_file(second, run=run)]
    assert found == [
        """return of second(): dim '1' is 4 in outer(torch.zeros(2, 3)) "2 4", expected 1 ("2 1")"""
    ]
