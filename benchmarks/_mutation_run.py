"""Run annotated functions of a library on random tensors, for `benchmarks/mutation.py`.

Started as `python _mutation_run.py` by the harness, under the interpreter that has the
library's dependencies; reads jobs as JSON on stdin and writes one JSON result per line.
A job names a module (loaded from its file, or from the mutated source given), a function,
and a seed. The inputs come from the parameter annotations alone: every dim name gets its
own prime size, so that two different names never agree by chance; int parameters named
like a dim get that dim's size. The call runs under `jaxtyping.jaxtyped(typechecker=
beartype.beartype)`, so a wrong return shape fails too. Needs torch, jaxtyping and beartype
only.
"""

import importlib
import importlib.abc
import importlib.machinery
import inspect
import json
import re
import signal
import sys
import types
import typing
from typing import Any

import beartype
import jaxtyping
import torch

PRIMES = (5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")


class CannotDrive(Exception):
    """The function's parameters can't be built from its annotations."""


class Sizes:
    """Sizes for dim names, all different: the primes from 5 to 43, then larger numbers.

    Each `*name` or `...` run is one axis, the same wherever the run appears.
    """

    def __init__(self, scale: int = 1) -> None:
        self.named: dict[str, int] = {}
        self.variadic: dict[str, tuple[int, ...]] = {}
        self.next = 0
        self.scale = scale

    def fresh(self) -> int:
        size = PRIMES[self.next % len(PRIMES)] + 44 * (self.next // len(PRIMES))
        self.next += 1
        return size * self.scale

    def shape(self, dim_str: str) -> tuple[int, ...]:
        shape: list[int] = []
        for raw in dim_str.split():
            token = raw.lstrip("#")
            if token.startswith("*") or token == "...":
                name = token.lstrip("*") or "..."
                if name not in self.variadic:
                    self.variadic[name] = (self.fresh(),)
                shape.extend(self.variadic[name])
            elif token.isdigit():
                shape.append(int(token))
            elif token == "_" or (token.startswith("_") and _IDENT.match(token)):
                shape.append(self.fresh())
            elif _IDENT.match(token):
                if token not in self.named:
                    self.named[token] = self.fresh()
                shape.append(self.named[token])
            else:
                expr = token.strip("{}")
                if "=" in expr:
                    expr = expr.split("=", 1)[1]
                try:
                    value = eval(expr, {"__builtins__": {}}, _Bind(self))
                except Exception as err:
                    raise CannotDrive(f"dim {raw!r} of {dim_str!r}") from err
                shape.append(int(value))
        return tuple(shape)


class _Bind(dict[str, int]):
    """Dim names for a symbolic dim: bound ones keep their size, new ones get a fresh one."""

    def __init__(self, sizes: Sizes) -> None:
        super().__init__(sizes.named)
        self.sizes = sizes

    def __missing__(self, name: str) -> int:
        self.sizes.named[name] = self[name] = self.sizes.fresh()
        return self[name]


def _tensor_type(annotation: Any) -> Any:
    """The jaxtyping array type in `annotation` (itself, or inside Optional/Union); else None."""
    if (
        isinstance(annotation, type)
        and hasattr(annotation, "dim_str")
        and hasattr(annotation, "dtypes")
    ):
        return annotation
    for arg in typing.get_args(annotation):
        found = _tensor_type(arg)
        if found is not None:
            return found
    return None


def _tensor(kind: Any, sizes: Sizes, generator: torch.Generator) -> torch.Tensor:
    shape = sizes.shape(str(kind.dim_str))
    try:
        dtypes = set(kind.dtypes)
    except TypeError:  # Shaped[...]: any dtype
        dtypes = {"float32"}
    if "float32" in dtypes:
        return torch.randn(shape, generator=generator)
    if "int64" in dtypes:
        return torch.randint(0, 2, shape, generator=generator)
    if "bool" in dtypes:
        return torch.rand(shape, generator=generator) > 0.5
    if "uint8" in dtypes:
        return torch.randint(0, 2, shape, generator=generator, dtype=torch.uint8)
    raise CannotDrive(f"dtype of {kind.dim_str!r}")


def build_arguments(func: Any, seed: int, method: bool, scale: int) -> tuple[dict[str, Any], Sizes]:
    """Keyword arguments for `func` from its annotations, every tensor first, then ints.

    The return annotation's dim names get sizes too, so that a constructor can be given them.
    """
    generator = torch.Generator().manual_seed(seed)
    sizes = Sizes(scale)
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as err:
        raise CannotDrive(f"annotations: {type(err).__name__}") from err
    signature = inspect.signature(func)
    kwargs: dict[str, Any] = {}
    later: list[inspect.Parameter] = []
    for name, parameter in list(signature.parameters.items())[1 if method else 0 :]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        kind = _tensor_type(hints.get(name))
        if kind is not None:
            kwargs[name] = _tensor(kind, sizes, generator)
        else:
            later.append(parameter)
    returned = _tensor_type(hints.get("return"))
    if returned is not None:
        try:
            sizes.shape(str(returned.dim_str))
        except CannotDrive:
            pass
    for parameter in later:
        value = _scalar(parameter, hints.get(parameter.name), sizes)
        if value is not _DEFAULT:
            kwargs[parameter.name] = value
    return kwargs, sizes


_DEFAULT = object()


def _scalar(
    parameter: inspect.Parameter, hint: Any, sizes: Sizes, constructor: bool = False
) -> Any:
    """An int named like a dim gets its size; else the default, or a plain value; else fail.

    A constructor's other ints are 1 for a number of heads (it divides every width) and 64
    otherwise (a maximum length or a vocabulary, above every size drawn).
    """
    name = parameter.name
    if name in sizes.named:
        return sizes.named[name]
    if parameter.default is not parameter.empty:
        return _DEFAULT
    if name in {"dim", "axis"}:
        return -1
    if hint is float:
        return 0.5
    if hint is bool:
        return False
    if constructor and hint is int:
        return 1 if "head" in name else 64
    raise CannotDrive(f"parameter {name!r}")


def instance(cls: Any, sizes: Sizes) -> Any:
    """`cls(...)` with its int parameters named like dims of the method; else CannotDrive."""
    try:
        signature = inspect.signature(cls)
        hints = typing.get_type_hints(cls.__init__, include_extras=True)
    except Exception as err:
        raise CannotDrive(f"constructor: {type(err).__name__}") from err
    kwargs: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        value = _scalar(parameter, hints.get(parameter.name), sizes, constructor=True)
        if value is not _DEFAULT:
            kwargs[parameter.name] = value
    try:
        return cls(**kwargs)
    except Exception as err:
        raise CannotDrive(f"constructor raised {type(err).__name__}") from err


def load(module: str, file: str, source: str | None) -> types.ModuleType:
    """The module: imported, or (with `source`) a fresh module run from the mutated text.

    The fresh module stands in `sys.modules` while it runs (dataclasses look it up there);
    `restore` puts the imported one back.
    """
    if source is None:
        return importlib.import_module(module)
    fresh = types.ModuleType(module)
    fresh.__file__ = file
    is_package = file.endswith("__init__.py")
    fresh.__package__ = module if is_package else module.rpartition(".")[0]
    _saved[module] = sys.modules.get(module)
    sys.modules[module] = fresh
    exec(compile(source, file, "exec"), fresh.__dict__)
    return fresh


_saved: dict[str, types.ModuleType | None] = {}


def restore() -> None:
    for name, module in _saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    _saved.clear()


def _alarm(signum: int, frame: Any) -> None:
    raise TimeoutError("took too long")


def attempt(job: dict[str, Any], scale: int) -> dict[str, Any]:
    """`ok`, `raised` (with the error) or `cannot` (with why) for one job, at one size scale."""
    try:
        module = load(job["module"], job["file"], job.get("source"))
        owner_name, _, name = job["function"].rpartition(".")
        owner = getattr(module, owner_name, None) if owner_name else module
        func = getattr(owner, name, None)
        if func is None or not callable(func):
            return {"status": "cannot", "why": "not found"}
        plain = not owner_name or isinstance(
            inspect.getattr_static(owner, name), (staticmethod, classmethod)
        )
        kwargs, sizes = build_arguments(func, job["seed"], method=not plain, scale=scale)
        args: list[Any] = []
        if not plain:
            torch.manual_seed(job["seed"])
            args = [instance(owner, sizes)]
    except CannotDrive as err:
        return {"status": "cannot", "why": f"can't build {err}"}
    except BaseException as err:
        return {"status": "cannot", "why": f"import: {type(err).__name__}: {err}"[:200]}
    checked = jaxtyping.jaxtyped(typechecker=beartype.beartype)(func)
    signal.alarm(20)
    try:
        with torch.no_grad():
            checked(*args, **kwargs)
    except BaseException as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return {"status": "raised", "error": f"{type(err).__name__}: {first}"[:300]}
    finally:
        signal.alarm(0)
        restore()
    return {"status": "ok"}


# The size scale each function's original ran clean at: odd primes first, then twice them
# (for code that needs even widths, such as rotary embeddings).
_scales: dict[tuple[str, str], int] = {}


def run(job: dict[str, Any]) -> dict[str, Any]:
    key = (job["module"], job["function"])
    if job.get("source") is not None:
        return attempt(job, _scales.get(key, 1))
    result: dict[str, Any] = {}
    for scale in (1, 2):
        result = attempt(job, scale)
        if result["status"] == "ok":
            _scales[key] = scale
            break
    return result


class _StubMeta(type):
    """A stand-in class: any attribute, item or call of it is a stand-in too, it can be
    subclassed, and called on one function alone (a decorator) it gives the function back."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return cls

    def __getitem__(cls, item: Any) -> Any:
        return cls

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]
        return super().__call__()

    def __or__(cls, other: Any) -> Any:
        return cls

    def __ror__(cls, other: Any) -> Any:
        return cls


class Stub(metaclass=_StubMeta):
    """What a stand-in module's names are: `from wandb import Run`, `@cache`, `Tokenizer()`.
    An instance is empty where iterated, and any attribute, item or call of it is another."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub()

    def __getitem__(self, item: Any) -> Any:
        return Stub()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return args[0] if len(args) == 1 and not kwargs and callable(args[0]) else Stub()

    def __iter__(self) -> Any:
        return iter(())

    def __contains__(self, item: Any) -> bool:
        return False


class _StubModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name == "__version__":
            return "0"
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on `sys.meta_path`: a module no other finder has (a library's dependency that
    this interpreter lacks: plotting, logging, tokenizers) is imported as a stand-in whose
    names are `Stub`. The functions measured use torch alone, and a mutant counts as
    confirmed only where its original runs clean with the same stand-ins."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in _REAL or _from_installed_code():
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StubModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _from_installed_code() -> bool:
    """Whether the import being found is made by an installed package rather than by the
    library measured: such a package's optional import (scipy's `import cython`) is left to
    fail as it expects, not given a stand-in it would misread."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
        frame = frame.f_back  # type: ignore[assignment]
    return frame is not None and "site-packages" in frame.f_code.co_filename


# Never stood in for: what the measured functions and their checks run on.
_REAL = frozenset(("torch", "jaxtyping", "beartype", "einops", "numpy", "typing_extensions"))


def main() -> None:
    request = json.load(sys.stdin)
    sys.path[:0] = request["paths"]
    if request.get("stub_missing"):
        sys.meta_path.append(StubFinder())
        if not hasattr(typing, "override"):
            typing.override = lambda f: f  # type: ignore[attr-defined]  # Python 3.12's
    signal.signal(signal.SIGALRM, _alarm)
    torch.set_num_threads(1)
    for job in request["jobs"]:
        try:
            result = run(job)
        finally:
            restore()
        result["id"] = job["id"]
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
