"""pytest fixtures as the values of a test's parameters: a test function that takes
`logits`, where its file defines `@pytest.fixture def logits(): return torch.randn(4, 8)`,
gets what that fixture returns, as pytest passes it.
"""

import ast

from ._modules import ClassModel
from ._source import Module, walk

Fn = ast.FunctionDef | ast.AsyncFunctionDef


def fixture_for(module: Module, test: Fn, cls: ClassModel | None, name: str) -> Fn | None:
    """The fixture of `module` that pytest passes as parameter `name` of `test`, a test of
    class `cls` (or of the file): one that takes no fixtures and yields nothing, so that its
    value is what its body returns. None where the test's class defines a fixture of that
    name, a parametrize mark (or the file's `pytest_generate_tests`) may give the parameter
    its values, or there is no fixture."""
    fixture = module.functions.get(name)
    if not test.name.startswith("test") or fixture is None:
        return None
    if "pytest_generate_tests" in module.functions:
        return None  # a hook of the file may give the parameter its values
    marks = [*test.decorator_list, *(cls.node.decorator_list if cls is not None else ())]
    if (
        not any(_fixture_mark(d) for d in fixture.decorator_list)
        or fixture.args.args
        or fixture.args.posonlyargs
        or any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in walk(fixture))
        or (cls is not None and name in cls.methods)
        or any(_parametrizes(d, name) for d in marks)
    ):
        return None
    return fixture


def _fixture_mark(d: ast.expr) -> bool:
    """`@pytest.fixture`, or `@pytest.fixture(scope=...)` without `params`."""
    if isinstance(d, ast.Call):
        if any(k.arg == "params" for k in d.keywords):
            return False
        d = d.func
    return (isinstance(d, ast.Attribute) and d.attr == "fixture") or (
        isinstance(d, ast.Name) and d.id == "fixture"
    )


def _parametrizes(d: ast.expr, name: str) -> bool:
    """Whether `d` is a `@pytest.mark.parametrize` mark that may give `name` its values."""
    if not (isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)):
        return False
    if d.func.attr != "parametrize" or not d.args:
        return False
    names = d.args[0]
    if isinstance(names, ast.Constant) and isinstance(names.value, str):
        return name in [n.strip() for n in names.value.split(",")]
    return True  # names given some other way: it may be this one
