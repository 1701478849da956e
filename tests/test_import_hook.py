"""`install_import_hook`, `check_package` and `SHAPESAFE_PACKAGES` on a made-up package.

The hook rewrites each module as it is imported, so that functions are decorated where
they are defined; the mistakes of each path are named (an unknown package, a module
imported too early).
"""

import ast
import asyncio
import importlib
import inspect
import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from beartype.roar import BeartypeCallHintParamViolation

import shapesafe
from shapesafe import ShapeError
from shapesafe._import_hook import (
    ImportHook,
    _Finder,
    install_from_environment,
    listing,
    rewrite,
)

PKG = "tests.hookpkg"
SELF_PKG = "tests.hookpkg_self"


def _forget(*packages: str) -> None:
    for name in list(sys.modules):
        if any(name == p or name.startswith(p + ".") for p in packages):
            del sys.modules[name]


@pytest.fixture
def fresh() -> Iterator[None]:
    """The made-up packages are imported anew by each test, and hooks don't outlive it."""
    _forget(PKG, SELF_PKG)
    before = list(sys.meta_path)
    yield
    sys.meta_path[:] = before
    _forget(PKG, SELF_PKG)


def _ops() -> types.ModuleType:
    return importlib.import_module(f"{PKG}.ops")


def test_annotated_function_is_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    x, w = torch.randn(3, 4), torch.randn(5, 4)
    torch.testing.assert_close(ops.project(x, w), x @ w.T)
    with pytest.raises(ShapeError, match=re.escape("project(): argument 'w' dim 'n' is 5")):
        ops.project(x, w.T)


def test_return_is_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    with pytest.raises(ShapeError, match="wrong_return"):
        ops.wrong_return(torch.randn(3, 4))
    ops.wrong_return(torch.randn(4, 4))  # square: the transpose fits


def test_without_the_hook_nothing_is_checked(fresh: None) -> None:
    ops = _ops()
    assert not hasattr(ops.project, "__shapesafe__")
    with pytest.raises(RuntimeError):  # torch's own error, not a ShapeError
        ops.project(torch.randn(3, 4), torch.randn(4, 5))


def test_functions_without_array_hints_are_not_checked_by_shapesafe(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    # REGISTRY holds the objects the module body created.
    assert ops.plain is ops.REGISTRY["plain"]
    assert ops.count is ops.REGISTRY["count"]
    assert not hasattr(ops.unannotated, "__shapesafe__")
    assert ops.unannotated(2, 3) == 5
    assert "untyped" in vars(ops.Scale) and not hasattr(ops.Scale.untyped, "__shapesafe__")
    assert not hasattr(ops.Scale.__init__, "__shapesafe__")
    # `checked` would take the coroutine for the return value.
    assert ops.later is ops.REGISTRY["later"]
    x = torch.randn(2, 3)
    assert asyncio.run(ops.later(x)) is x


def test_other_hints_get_beartype(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    assert ops.count(2) == 3
    with pytest.raises(BeartypeCallHintParamViolation, match=re.escape("count() parameter n='2'")):
        ops.count("2")
    assert ops.unannotated is ops.REGISTRY.get("unannotated", ops.unannotated)
    assert not hasattr(ops.unannotated, "__wrapped__")  # no hints: left alone


def test_other_hints_can_be_left_alone(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG, other_hints=False):
        ops = _ops()
    assert not hasattr(ops.count, "__wrapped__")
    assert ops.count(2) == 3
    with pytest.raises(TypeError, match="can only concatenate str"):
        ops.count("2")
    with pytest.raises(ShapeError):
        ops.project(torch.randn(3, 4), torch.randn(4, 5))


def test_module_level_aliases_share_one_checked_function(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    assert hasattr(ops.project, "__shapesafe__")
    assert ops.project_alias is ops.project
    # Decorated at definition: a reference kept inside a container is the checked function.
    assert ops.REGISTRY["project"] is ops.project


def test_references_taken_at_import_are_the_checked_function(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        acts = importlib.import_module(f"{PKG}.acts")
    assert acts.ACTS["gelu"] is acts.gelu and acts.REGISTERED == [acts.gelu]
    assert hasattr(acts.gelu, "__shapesafe__")
    assert inspect.signature(acts.apply).parameters["act"].default is acts.gelu
    mlp = acts.MLP(4)
    assert mlp.act_fn == acts.gelu
    x = torch.randn(2, 4)
    torch.testing.assert_close(mlp(x), torch.nn.functional.gelu(mlp.linear(x)))
    with pytest.raises(ShapeError, match=re.escape("gelu(): argument 'x'")):
        acts.apply(torch.randn(4))  # through the default argument
    with pytest.raises(ShapeError, match=re.escape("gelu(): argument 'x'")):
        acts.ACTS["gelu"](torch.randn(4))  # through the table
    assert acts.WARMED == (2, 3)  # a checked call while the module ran


def test_an_object_that_holds_a_checked_function_pickles(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        acts = importlib.import_module(f"{PKG}.acts")
    mlp = acts.MLP(4, act="relu")
    back = pickle.loads(pickle.dumps(mlp))
    assert back.act_fn is acts.relu
    x = torch.randn(3, 4)
    torch.testing.assert_close(back(x), mlp(x))
    assert pickle.loads(pickle.dumps(acts.gelu)) is acts.gelu


def test_hints_that_name_a_class_defined_later_are_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        forward = importlib.import_module(f"{PKG}.forward")
    op = forward.Op(torch.ones(3))
    torch.testing.assert_close(op.plus(torch.ones(3)).t, torch.full((3,), 2.0))
    # Decorated at the first call, when `Op` is defined: the contract is the annotation's.
    with pytest.raises(ShapeError, match=re.escape("Op.plus(): argument 'x' has 2 dims (3, 3)")):
        op.plus(torch.ones(3, 3))
    assert hasattr(forward.Op.plus, "__shapesafe__")
    assert forward.OPS["plus"] is forward.Op.plus  # one function, from definition on
    with pytest.raises(BeartypeCallHintParamViolation, match=re.escape("parameter k='2'")):
        op.scaled("2")
    assert isinstance(op.later(), forward.Later)
    assert pickle.loads(pickle.dumps(forward.Op.plus)) is forward.Op.plus


def test_a_metaclass_that_forbids_setattr(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        acts = importlib.import_module(f"{PKG}.acts")
    with pytest.raises(AttributeError, match="Constants is frozen"):
        acts.Constants.other = 1
    x = torch.randn(3)
    torch.testing.assert_close(acts.Constants().scale(x), 2 * x)
    with pytest.raises(ShapeError, match=re.escape("Constants.scale(): argument 'x'")):
        acts.Constants().scale(torch.randn(3, 2))


def test_a_frozen_dataclass_is_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        acts = importlib.import_module(f"{PKG}.acts")
    span = acts.Span(torch.zeros(3), torch.ones(3))
    assert span.stop.shape == (3,)
    with pytest.raises(ShapeError, match=re.escape("argument 'stop' dim 'n' is 2")):
        acts.Span(torch.zeros(3), torch.ones(2))


def test_a_nested_function_with_array_hints_is_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        acts = importlib.import_module(f"{PKG}.acts")
    hook = acts.make_hook(2.0)
    x = torch.randn(2, 3)
    torch.testing.assert_close(hook(x), 2 * x)
    with pytest.raises(ShapeError, match=re.escape("make_hook.hook(): argument 'x'")):
        hook(torch.randn(3))
    untyped = acts.make_hook(0.0)  # only other hints: left alone, inside a function
    assert not hasattr(untyped, "__wrapped__") and untyped("a") == "a"


def test_literal_hints_are_checked_by_beartype(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        acts = importlib.import_module(f"{PKG}.acts")
    assert acts.pick("relu") == "relu"
    with pytest.raises(BeartypeCallHintParamViolation, match=re.escape("pick() parameter")):
        acts.pick("tanh")


def test_methods_and_static_methods_are_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    layer = ops.Scale(4)
    x = torch.randn(2, 4)
    torch.testing.assert_close(layer(x), x * layer.weight)
    with pytest.raises(ShapeError, match=re.escape("Scale.forward(): argument 'x'")):
        layer(torch.randn(2, 4, 1))
    a = torch.randn(4)
    torch.testing.assert_close(ops.Scale.pair(a, a), a + a)
    with pytest.raises(ShapeError, match=re.escape("Scale.pair(): argument 'b' dim 'n' is 3")):
        ops.Scale.pair(a, torch.randn(3))


def test_dataclass_fields_are_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        ops = _ops()
    keys, values = torch.randn(6, 4), torch.randn(6, 2)
    pair = ops.Pair(keys, values)
    assert pair.keys is keys and pair.values is values
    with pytest.raises(ShapeError, match=re.escape("argument 'values' dim 's' is 5")):
        ops.Pair(keys, torch.randn(5, 2))


def test_modules_imported_after_the_block_are_not_checked(fresh: None) -> None:
    with shapesafe.install_import_hook(SELF_PKG) as hook:
        assert isinstance(hook, ImportHook)
        assert hook._finder in sys.meta_path
    assert hook._finder not in sys.meta_path
    ops = _ops()
    assert not hasattr(ops.project, "__shapesafe__")


def test_check_package_from_its_own_init(fresh: None) -> None:
    pkg = importlib.import_module(SELF_PKG)
    x, w = torch.randn(3, 4), torch.randn(4, 2)
    torch.testing.assert_close(pkg.head(x, w), x @ w)
    with pytest.raises(ShapeError, match=re.escape("head(): argument 'w' dim 'd' is 2")):
        pkg.head(x, w.T)
    assert any(isinstance(f, _Finder) and f.packages == (SELF_PKG,) for f in sys.meta_path)


def test_environment_variable(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAPESAFE_PACKAGES", f" {PKG} , {SELF_PKG}")
    hook = install_from_environment()
    assert hook is not None and hook.packages == (PKG, SELF_PKG)
    ops = _ops()
    with pytest.raises(ShapeError):
        ops.project(torch.randn(3, 4), torch.randn(4, 5))


def test_environment_variable_warns_when_too_late(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ops()
    monkeypatch.setenv("SHAPESAFE_PACKAGES", PKG)
    with pytest.warns(RuntimeWarning) as caught:
        install_from_environment()
    assert str(caught[0].message) == (
        f"SHAPESAFE_PACKAGES: {PKG} and {PKG}.ops were imported before shapesafe's import "
        "hook was installed, so they are not checked. Import shapesafe before them."
    )


def test_environment_variable_warns_about_an_unknown_package(
    fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHAPESAFE_PACKAGES", "tests.hookpgk,a-b")
    with pytest.warns(RuntimeWarning) as caught:
        assert install_from_environment() is None
    assert [str(w.message) for w in caught] == [
        "SHAPESAFE_PACKAGES: not a package name: 'a-b'; it is left out",
        "SHAPESAFE_PACKAGES: no module named 'tests.hookpgk' (did you mean 'tests.hookpkg'?), "
        "so nothing of it would be checked",
    ]


def test_a_long_list_of_modules_is_cut_short(fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    names = ["bigpkg", *(f"bigpkg.m{i:03}" for i in range(2000))]
    for name in names:
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setenv("SHAPESAFE_PACKAGES", "bigpkg")
    with pytest.warns(RuntimeWarning) as caught:
        install_from_environment()
    message = str(caught[0].message)
    assert message.startswith(
        "SHAPESAFE_PACKAGES: bigpkg, bigpkg.m000, bigpkg.m001, bigpkg.m002, bigpkg.m003 and "
        "1996 more were imported before"
    )
    assert len(message) < 300


def test_listing() -> None:
    assert listing(["a"]) == "a"
    assert listing(["a", "b"]) == "a and b"
    assert listing(list("abcde")) == "a, b, c, d and e"
    assert listing(list("abcdefgh")) == "a, b, c, d, e and 3 more"


@pytest.mark.parametrize(
    "name, close",
    [
        ("tests.hookpgk", "tests.hookpkg"),
        ("tests.hookpkg.opz", "tests.hookpkg.ops"),
        ("shapesaf", "shapesafe"),
        ("tests.hookpgk.ops", "tests.hookpkg"),
    ],
)
def test_an_unknown_package_is_an_error(fresh: None, name: str, close: str) -> None:
    before = list(sys.meta_path)
    with pytest.raises(ModuleNotFoundError) as info:
        shapesafe.install_import_hook(PKG, name)
    missing = name if close.count(".") == name.count(".") else name.rpartition(".")[0]
    assert str(info.value) == (
        f"shapesafe.install_import_hook: no module named {name!r} (did you mean {close!r}?), "
        "so nothing of it would be checked"
    )
    assert info.value.name == name and missing
    assert sys.meta_path == before  # nothing installed
    with pytest.raises(ModuleNotFoundError, match=re.escape(f"(did you mean {close!r}?)")):
        shapesafe.check_package(name)


def test_an_unknown_package_without_a_close_match(fresh: None) -> None:
    with pytest.raises(ModuleNotFoundError) as info:
        shapesafe.install_import_hook("qqqqqqqqqqqqqq")
    assert str(info.value) == (
        "shapesafe.install_import_hook: no module named 'qqqqqqqqqqqqqq', so nothing of it "
        "would be checked"
    )


def test_install_import_hook_after_the_import_is_an_error(fresh: None) -> None:
    _ops()
    before = list(sys.meta_path)
    with pytest.raises(RuntimeError) as info:
        shapesafe.install_import_hook(PKG)
    assert str(info.value) == (
        f"shapesafe.install_import_hook: {PKG} and {PKG}.ops were imported before shapesafe's "
        "import hook was installed, so they are not checked. Install the hook before anything "
        "imports them."
    )
    assert sys.meta_path == before


def test_a_module_the_hook_checked_is_not_too_early(fresh: None) -> None:
    with shapesafe.install_import_hook(PKG):
        _ops()
    with shapesafe.install_import_hook(PKG):  # a notebook cell run again
        ops = _ops()
    assert hasattr(ops.project, "__shapesafe__")


def test_check_package_after_the_import_warns(fresh: None) -> None:
    _ops()
    with pytest.warns(RuntimeWarning) as caught:
        hook = shapesafe.check_package(PKG)
    hook.uninstall()
    assert str(caught[0].message) == (
        f"shapesafe.check_package('{PKG}'): {PKG} and {PKG}.ops were imported before "
        "shapesafe's import hook was installed, so they are not checked. Call check_package "
        f"before the imports in {PKG}/__init__.py."
    )


@pytest.mark.parametrize("path", ["hook", "check_package", "environment"])
def test_each_path_logs_the_packages_it_checks(
    fresh: None, path: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="shapesafe")
    if path == "hook":
        shapesafe.install_import_hook(PKG, "tests.hookpkg_self").uninstall()
        expected = "install_import_hook checks tests.hookpkg, tests.hookpkg_self"
    elif path == "check_package":
        shapesafe.check_package(PKG, other_hints=False).uninstall()
        expected = "check_package checks tests.hookpkg (array hints only)"
    else:
        monkeypatch.setenv("SHAPESAFE_PACKAGES", PKG)
        monkeypatch.setenv("SHAPESAFE_OTHER_HINTS", "off")
        hook = install_from_environment()
        assert hook is not None and not hook.other_hints
        hook.uninstall()
        expected = "SHAPESAFE_PACKAGES checks tests.hookpkg (array hints only)"
    assert [r.name for r in caplog.records] == ["shapesafe"]
    assert expected in caplog.records[0].getMessage()


def test_environment_variable_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHAPESAFE_PACKAGES", raising=False)
    assert install_from_environment() is None


@pytest.mark.parametrize("bad", ["", " , ", "a-b", "pkg..sub"])
def test_bad_package_names(bad: str) -> None:
    with pytest.raises(ValueError):
        shapesafe.install_import_hook(bad)


REWRITTEN = """\
\"\"\"Doc.\"\"\"
from __future__ import annotations
import typing


@decorator
def f(x):
    def inner(y):
        return y

    def shaped(y: Float[Tensor, " n"]):
        return y

    def quoted(y: "Float[Tensor, ' n']"):
        return y

    return inner


@typing.overload
def g(x: int) -> int: ...


@typechecked
@decorator
def t(x):
    return x


class C:
    @staticmethod
    def m(x):
        return x

    if True:
        def n(self):
            pass


@typing.no_type_check
class D:
    def m(self):
        pass


async def h():
    pass
"""


def test_the_rewrite_adds_the_decorators() -> None:
    tree = rewrite(ast.parse(REWRITTEN))
    assert ast.unparse(tree).splitlines()[:3] == [
        '"""Doc."""',
        "from __future__ import annotations",
        "from shapesafe._import_hook import _check_all as __shapesafe_check__, _class_all as "
        "__shapesafe_check_class__",
    ]
    body = ast.unparse(tree)
    # innermost on functions (nested ones only with array-like hints), outermost on classes.
    assert "@decorator\n@__shapesafe_check__\ndef f(x):\n\n    def inner" in body
    assert "@__shapesafe_check__\n    def shaped" in body
    assert "@__shapesafe_check__\n    def quoted" in body
    assert "@typing.overload\ndef g" in body
    assert "@__shapesafe_check__\n@typechecked\n@decorator\ndef t" in body
    assert "@__shapesafe_check_class__\nclass C:" in body
    assert "@staticmethod\n    @__shapesafe_check__\n    def m" in body
    assert "if True:\n\n        @__shapesafe_check__\n        def n" in body
    assert "@typing.no_type_check\nclass D:\n\n    def m" in body
    assert "\nasync def h" in body
    arrays_only = ast.unparse(rewrite(ast.parse("x = 1"), other_hints=False))
    assert "_check_arrays as __shapesafe_check__, _class_arrays" in arrays_only


def test_the_rewritten_module_has_its_own_bytecode_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(
        Path(__file__).parent / "hookpkg",
        tmp_path / "cachedpkg",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    before = list(sys.meta_path)
    try:
        for hooked in (True, False, True, False):
            _forget("cachedpkg")
            if hooked:
                with shapesafe.install_import_hook("cachedpkg"):
                    ops = importlib.import_module("cachedpkg.ops")
            else:
                ops = importlib.import_module("cachedpkg.ops")
            assert hasattr(ops.project, "__shapesafe__") is hooked
            assert ("opt-shapesafe" in ops.__cached__) is hooked
    finally:
        sys.meta_path[:] = before
        _forget("cachedpkg")
    cached = sorted(p.name for p in (tmp_path / "cachedpkg" / "__pycache__").glob("ops.*"))
    tag = sys.implementation.cache_tag
    assert cached == [f"ops.{tag}.opt-shapesafe1a{sys.flags.optimize}.pyc", f"ops.{tag}.pyc"]


@pytest.mark.slow
def test_environment_variable_at_import_of_shapesafe() -> None:
    code = (
        "import shapesafe, torch\n"
        "from tests.hookpkg import ops\n"
        "try:\n"
        "    ops.project(torch.randn(3, 4), torch.randn(4, 5))\n"
        "except shapesafe.ShapeError as err:\n"
        "    print(type(err).__name__, err.argument)\n"
    )
    env = {**os.environ, "SHAPESAFE_PACKAGES": PKG}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ShapeError w"
