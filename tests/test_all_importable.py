"""Every public name imports, and the package ships its type information."""

import importlib
import pathlib

import shapesafe


def test_every_public_name_resolves() -> None:
    for name in shapesafe.__all__:
        assert getattr(shapesafe, name) is not None, name


def test_private_modules_import() -> None:
    root = pathlib.Path(shapesafe.__file__).parent
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        if parts[-1] == "__main__":
            continue
        importlib.import_module(".".join(parts))


def test_py_typed_and_version() -> None:
    assert (pathlib.Path(shapesafe.__file__).parent / "py.typed").exists()
    assert shapesafe.__version__ == "0.1.0"


def test_import_leaves_dynamo_for_when_something_compiles() -> None:
    # dynamo doubles the time `import shapesafe` takes; only compiling needs it.
    import subprocess
    import sys

    code = "import sys, shapesafe, shapesafe.nn; print('torch._dynamo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_static_checker_and_mypy_plugin_never_import_torch() -> None:
    # They only read source; importing torch was most of `shapesafe check`'s start-up.
    import subprocess
    import sys

    code = (
        "import sys, shapesafe, shapesafe.check, shapesafe.mypy_plugin; "
        "print(sorted(m for m in ('torch', 'jaxtyping', 'beartype') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
