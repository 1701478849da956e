"""`shapesafe/__init__.py` names each public name twice: in `_EXPORTS`, which imports it lazily
at run time, and under `if TYPE_CHECKING:`, which is what mypy and editors read. The two lists
must say the same thing, or a name works at run time and is an error for mypy (or the other
way round)."""

import ast
import importlib
import pathlib

import shapesafe


def _init() -> ast.Module:
    return ast.parse(pathlib.Path(shapesafe.__file__).read_text())


def _exports() -> dict[str, str]:
    for node in _init().body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "_EXPORTS":
            assert node.value is not None
            value = ast.literal_eval(node.value)
            assert isinstance(value, dict)
            return {str(k): str(v) for k, v in value.items()}
    raise AssertionError("no _EXPORTS in shapesafe/__init__.py")


def _type_checking_imports() -> dict[str, str]:
    out: dict[str, str] = {}
    for node in _init().body:
        if not (isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"):
            continue
        for child in node.body:
            if isinstance(child, ast.ImportFrom):
                module = "." * child.level + (child.module or "")
                for alias in child.names:
                    # `from m import x as x` re-exports x; anything else would not.
                    assert alias.asname == alias.name, ast.unparse(child)
                    out[alias.name] = module
    return out


def test_exports_and_type_checking_imports_agree() -> None:
    exports = _exports()
    typed = _type_checking_imports()
    typed.pop("nn", None)  # the subpackage, imported as an attribute on first use
    assert exports == typed


def test_every_export_comes_from_the_module_it_names() -> None:
    for name, module in _exports().items():
        assert getattr(importlib.import_module(module, "shapesafe"), name) is getattr(
            shapesafe, name
        ), name


def test_nn_is_an_attribute_without_importing_it() -> None:
    import subprocess
    import sys

    code = (
        "import sys, shapesafe as ss; print('shapesafe.nn' in sys.modules); "
        "print(ss.nn.Linear.__module__, 'nn' in dir(ss))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["False", "shapesafe.nn._linear True"]
