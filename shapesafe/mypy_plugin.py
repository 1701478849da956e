"""A mypy plugin that reports `shapesafe check`'s findings as mypy errors with code `[shape]`.

Enable it in the mypy config::

    [mypy]
    plugins = shapesafe.mypy_plugin

It runs the same checker as `shapesafe check` on each file mypy type-checks, reading the
file and its callees from source: mypy keeps no shape strings for a module loaded from its
cache, so the source is the one place they are always found. Each finding is reported when
mypy checks the call (or `@`) it belongs to, so errors that mypy discards while it tries
overloads come back when it checks the call for real; mypy drops the repeats. The shape
strings a file depends on are hashed into the plugin's cache data, so editing only a shape
string in a callee re-checks its callers.
"""

from collections.abc import Callable
from pathlib import Path

from mypy.errorcodes import ErrorCode
from mypy.nodes import Context
from mypy.options import Options
from mypy.plugin import (
    CheckerPluginInterface,
    FunctionContext,
    MethodContext,
    Plugin,
    ReportConfigContext,
)
from mypy.types import Type

from ._static import Finding, check_file, fingerprint

SHAPE = ErrorCode("shape", "Tensor shapes that cannot match", "shapesafe")


class ShapePlugin(Plugin):
    """Reports static shape findings during type checking."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self._findings: dict[str, list[Finding]] = {}

    def report_config_data(self, ctx: ReportConfigContext) -> str | None:
        if not _is_project_file(ctx.path):
            return None
        return fingerprint(Path(ctx.path))

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        return self._on_function

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        return self._on_method

    def _on_function(self, ctx: FunctionContext) -> Type:
        self._report(ctx.api, ctx.context)
        return ctx.default_return_type

    def _on_method(self, ctx: MethodContext) -> Type:
        self._report(ctx.api, ctx.context)
        return ctx.default_return_type

    def _file_findings(self, path: str) -> list[Finding]:
        found = self._findings.get(path)
        if found is None:
            try:
                found = check_file(Path(path), path) if _is_project_file(path) else []
            except (OSError, SyntaxError, UnicodeDecodeError):
                found = []
            self._findings[path] = found
        return found

    def _report(self, api: CheckerPluginInterface, context: Context) -> None:
        here = (context.line, context.column)
        for finding in self._file_findings(api.path):
            if finding.anchor is None or finding.anchor == here:
                where = Context(line=finding.line, column=finding.col - 1)
                api.fail(finding.message, where, code=SHAPE)


def _is_project_file(path: str) -> bool:
    """Installed packages and stubs are not checked: their calls are not the user's."""
    parts = Path(path).parts
    return path.endswith(".py") and not any(p in _INSTALLED for p in parts)


_INSTALLED = frozenset({"site-packages", "dist-packages", "typeshed"})


def plugin(version: str) -> type[Plugin]:
    """mypy's entry point: the plugin class for this mypy version."""
    return ShapePlugin
