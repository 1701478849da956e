"""The static checker reads a project's wrapper of jaxtyping's dtypes: `Float = Wrap(Float)`,
where `Wrap(d)["b d"]` is `d[Tensor, "b d"]`, so that `Float["b d"]` is read as the
`Float[Tensor, "b d"]` it evaluates to."""

from pathlib import Path

import pytest

from shapesafe._static import check_file
from tests.helpers import static_findings

WRAPPER = '''\
from torch import Tensor
{imports}


class TensorTyping:
    """Annotations without the `Tensor`."""

    def __init__(self, dtype):
        self.dtype = dtype

    def __getitem__(self, shapes: str):
        return self.dtype[Tensor, shapes]


{bindings}
'''
REBOUND = (
    "from jaxtyping import Float, Int",
    "Float = TensorTyping(Float)\nInt = TensorTyping(Int)",
)
MODULE = ("import jaxtyping", "Float = TensorTyping(jaxtyping.Float)")
RENAMED = ("from jaxtyping import Float as F", "Float = TensorTyping(F)")

USER = """\
{imports}


def f(x: Float["b d"]) -> Float[{ret}]:
    return x.sum(-1)
"""
# The return drops the last dim: a finding wherever both annotations are read.
WRONG = ['return of f(): x.sum(-1) "b" has 1 dims, expected 2 for \'return\' "b d"']


def package(tmp_path: Path, wrapper: str, user: str) -> Path:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "typing.py").write_text(wrapper)
    path = pkg / "user.py"
    path.write_text(user)
    return path


def check(path: Path) -> list[str]:
    return [f.message for f in check_file(path)]


@pytest.mark.parametrize(
    "binding",
    [
        pytest.param(REBOUND, id="rebound"),
        pytest.param(MODULE, id="module-attribute"),
        pytest.param(RENAMED, id="renamed"),
    ],
)
@pytest.mark.parametrize("imports", ["from pkg.typing import Float", "from .typing import Float"])
def test_a_wrapped_dtype_taken_from_the_projects_module(
    tmp_path: Path, binding: tuple[str, str], imports: str
) -> None:
    wrapper = WRAPPER.format(imports=binding[0], bindings=binding[1])
    wrong = package(tmp_path, wrapper, USER.format(imports=imports, ret='"b d"'))
    assert check(wrong) == WRONG
    wrong.write_text(USER.format(imports=imports, ret='"b"'))
    assert check(wrong) == []


def test_a_wrapper_in_the_file_that_uses_it(tmp_path: Path) -> None:
    wrapper = WRAPPER.format(imports=REBOUND[0], bindings=REBOUND[1])
    source = wrapper + '\n\ndef g(x: Int["n"], y: Float["b d"] | None = None) -> Int[""]:\n'
    found = static_findings(tmp_path, source + "    return x\n")
    assert found == ['20: return of g(): x "n" has 1 dims, expected 0 for \'return\' ""']
    assert static_findings(tmp_path, source + "    return x.sum()\n") == []


@pytest.mark.parametrize(
    "wrapper",
    [
        # `__getitem__` does not give `d[Tensor, shapes]`
        WRAPPER.replace("self.dtype[Tensor, shapes]", "self.dtype[shapes]"),
        WRAPPER.replace("self.dtype[Tensor, shapes]", 'self.dtype[Tensor, "b d"]'),
        # the constructor keeps something else than its argument
        WRAPPER.replace("self.dtype = dtype", "self.dtype = dict"),
    ],
    ids=["no-tensor", "fixed-shape", "not-the-argument"],
)
def test_a_class_that_is_not_such_a_wrapper_is_not_read(tmp_path: Path, wrapper: str) -> None:
    text = wrapper.format(imports=REBOUND[0], bindings=REBOUND[1])
    path = package(tmp_path, text, USER.format(imports="from .typing import Float", ret='"b d"'))
    assert check(path) == []


def test_a_wrapper_of_something_else_than_a_dtype_is_not_read(tmp_path: Path) -> None:
    text = WRAPPER.format(imports="from typing import Dict", bindings="Float = TensorTyping(Dict)")
    path = package(tmp_path, text, USER.format(imports="from .typing import Float", ret='"b d"'))
    assert check(path) == []


def test_a_later_binding_of_the_name_replaces_the_wrapper(tmp_path: Path) -> None:
    bindings = REBOUND[1] + "\nFloat = None"
    text = WRAPPER.format(imports=REBOUND[0], bindings=bindings)
    path = package(tmp_path, text, USER.format(imports="from .typing import Float", ret='"b d"'))
    assert check(path) == []


def test_a_wrapped_dtype_that_the_project_itself_imports(tmp_path: Path) -> None:
    # The wrapper's argument is jaxtyping's `Float`, re-exported by another module.
    text = WRAPPER.format(
        imports="from .inner import Float", bindings="Float = TensorTyping(Float)"
    )
    path = package(tmp_path, text, USER.format(imports="from .typing import Float", ret='"b d"'))
    (path.parent / "inner.py").write_text("from jaxtyping import Float\n")
    assert check(path) == WRONG


def test_an_attribute_set_to_a_wrapper_binds_no_name(tmp_path: Path) -> None:
    bindings = "class Types:\n    pass\n\n\nTypes.Float = TensorTyping(Float)"
    text = WRAPPER.format(imports="from jaxtyping import Float", bindings=bindings)
    user = 'from .typing import Types\n\n\ndef f(x: Types["b d"]) -> Types["b d"]:\n    return x.sum(-1)\n'
    assert check(package(tmp_path, text, user)) == []
