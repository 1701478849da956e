"""A mypy plugin that reports `shapesafe check`'s findings as mypy errors with code `[shape]`.

Enable it in the mypy config::

    [mypy]
    plugins = shapesafe.mypy_plugin

It runs the same checker as `shapesafe check` on each file mypy type-checks, reading the
file and its callees from source: mypy keeps no shape strings for a module loaded from its
cache, so the source is the one place they are always found.

mypy gives plugins no hook per file, so findings are reported from two kinds of hooks:

- each jaxtyping annotation (`Float[Tensor, "b n"]`, which type checkers read as
  `typing.Annotated`) reports every finding of its file while mypy analyses it; the hook
  hands the annotation back to mypy's own analysis, so its type is unchanged. This covers
  returns and annotated assignments in files that call no annotated function;
- each call to a function with a contract, to a torch or einops function, to a `Tensor`
  method and each `@` reports them too, for files without annotations: also the findings on
  calls that get no hook (a module instance's), and errors that mypy discards while it tries
  overloads come back from the next call.

mypy drops the repeats (same line and message). The shape strings a file depends on are
hashed into the plugin's cache data, so editing only a shape string in a callee re-checks
its callers.
"""

import os
from collections.abc import Callable
from pathlib import Path

from mypy.errorcodes import ErrorCode
from mypy.nodes import Context, MypyFile
from mypy.options import Options
from mypy.plugin import (
    AnalyzeTypeContext,
    CheckerPluginInterface,
    FunctionContext,
    MethodContext,
    Plugin,
    ReportConfigContext,
)
from mypy.types import Type

from ._static import Finding, check_file, fingerprint, has_contract
from ._static._source import Lookups
from .check import code, excluded, settings_here

SHAPE = ErrorCode("shape", "Tensor shapes that cannot match", "shapesafe")
_ANNOTATED = frozenset({"typing.Annotated", "typing_extensions.Annotated"})
# Calls the checker has shape rules for, or may: an op without a rule is unknown, never a
# finding, so claiming the hook costs one lookup. mypy's own plugins have no hooks here.
_TORCH_PREFIXES = ("torch.", "einops.")
_TENSOR_METHODS = "torch._tensor.Tensor."


class ShapePlugin(Plugin):
    """Reports static shape findings during type checking."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._findings: dict[str, list[Finding]] = {}
        self._contracts: dict[str, bool] = {}
        self._modules_by_name: dict[str, MypyFile] = {}
        self._lookups: Lookups = {}
        self._analyzing = False
        # `ignore` and `exclude` of [tool.shapesafe], as `shapesafe check` applies them.
        self._settings = settings_here()

    def set_modules(self, modules: dict[str, MypyFile]) -> None:
        # Called once per build: a daemon's next run reads files and looks modules up afresh.
        super().set_modules(modules)
        self._modules_by_name = modules
        self._lookups = {}
        self._findings = {}

    def report_config_data(self, ctx: ReportConfigContext) -> str | None:
        if not _is_project_file(ctx.path):
            return None
        return fingerprint(Path(ctx.path), self._lookups)

    # mypy asks its plugins in order and takes the first hook it gets, ahead of its default
    # plugin, so hooks are only claimed for calls that the checker can have findings on.

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        if fullname.startswith(_TORCH_PREFIXES) or self._has_contract(fullname):
            return self._on_function
        return None

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return self._on_method if fullname.startswith(_TENSOR_METHODS) else None

    def get_type_analyze_hook(self, fullname: str) -> Callable[[AnalyzeTypeContext], Type] | None:
        # While the hook runs, mypy's own analysis of the same annotation gets no hook.
        return self._on_annotation if fullname in _ANNOTATED and not self._analyzing else None

    def _on_annotation(self, ctx: AnalyzeTypeContext) -> Type:
        self._analyzing = True
        try:
            analyzed = ctx.api.analyze_type(ctx.type)
        finally:
            self._analyzing = False
        # The file being analysed; mypy's plugin interface does not name it.
        module = getattr(getattr(ctx.api, "api", None), "cur_mod_node", None)
        path = getattr(module, "path", None)
        if isinstance(path, str) and path:
            for finding in self._file_findings(path):
                where = Context(line=finding.line, column=finding.col - 1)
                ctx.api.fail(finding.message, where, code=SHAPE)
        return analyzed

    def _has_contract(self, fullname: str) -> bool:
        known = self._contracts.get(fullname)
        if known is None:
            module, _, name = fullname.rpartition(".")
            tree = self._modules_by_name.get(module)
            path = tree.path if tree is not None else ""
            top = module.split(".")[0]
            known = bool(path) and (_is_project_file(path) or top == "shapesafe")
            known = known and has_contract(Path(path), name)
            self._contracts[fullname] = known
        return known

    def _on_function(self, ctx: FunctionContext) -> Type:
        self._report(ctx.api, ctx.context)
        return ctx.default_return_type

    def _on_method(self, ctx: MethodContext) -> Type:
        self._report(ctx.api, ctx.context)
        return ctx.default_return_type

    def _file_findings(self, path: str) -> list[Finding]:
        found = self._findings.get(path)
        if found is None:
            file = Path(path)
            try:
                checked = _is_project_file(path) and not excluded(file, self._settings)
                found = check_file(file, path) if checked else []
            except Exception:  # as `shapesafe check`: one file's failure ends nothing
                found = []
            ignore = self._settings.ignore
            found = [f for f in found if code(f) not in ignore]
            self._findings[path] = found
        return found

    def _report(self, api: CheckerPluginInterface, context: Context) -> None:
        # Every finding of the file, not only this call's: a finding on a call that gets no
        # hook (a module instance's `self.down(h)`) comes from any other call. mypy drops
        # the repeats, and one report that an overload trial discards comes back later.
        for finding in self._file_findings(api.path):
            where = Context(line=finding.line, column=finding.col - 1)
            api.fail(finding.message, where, code=SHAPE)


def _is_project_file(path: str) -> bool:
    """Installed packages and stubs are not checked: their calls are not the user's."""
    if not path.endswith(".py"):
        return False
    parts = path.replace(os.sep, "/").split("/")
    return not any(p in _INSTALLED for p in parts)


_INSTALLED = frozenset({"site-packages", "dist-packages", "typeshed"})


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point: the plugin class for this mypy version."""
    return ShapePlugin
