"""The static shape checker: follow shapes through a file's calls, `@`, returns and assignments.

A value's shape is known when it is a parameter or local with a jaxtyping annotation, a
local assigned once from something whose shape is known, a call to an annotated function,
or `a @ b` on known shapes. Everything else is unknown, and unknown values are never
reported.
"""

import ast
import dataclasses
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .._contract import Conflict, Source, Spec, TensorParam
from ._source import Module, Signature, load, resolve, signature
from ._unify import Group, Shape, Size, Unifier, from_spec, show

_IGNORE = re.compile(r"#\s*shapesafe:\s*ignore\b")
_SAME_SHAPE_METHODS = frozenset(
    """contiguous clone detach float double half bfloat16 to cpu cuda abs neg exp relu
    sigmoid tanh requires_grad_""".split()
)
_Scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_Comprehensions = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One certain shape mismatch. `line` and `col` are 1-based."""

    path: str
    line: int
    col: int
    message: str
    # Where the mypy plugin reports it: the call or `@` it belongs to, or None for a finding
    # on a plain name, which the plugin reports from any call in the file.
    anchor: tuple[int, int] | None = dataclasses.field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: shape: {self.message}"


def _text(module: Module, node: ast.AST, limit: int = 40) -> str:
    text = ast.get_source_segment(module.source, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _own_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node of a scope in source order, without descending into nested scopes."""
    for node in nodes:
        yield node
        if isinstance(node, (*_Scopes, *_Comprehensions)):
            continue
        yield from _own_nodes(ast.iter_child_nodes(node))


def _anchor(node: ast.expr) -> tuple[int, int] | None:
    if isinstance(node, ast.Call) or (
        isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult)
    ):
        return (node.lineno, node.col_offset)
    return None


class _Scope:
    """A module, class body or function: its names, and the shapes they hold."""

    def __init__(
        self,
        file: "_FileChecker",
        body: list[ast.stmt],
        fn: ast.FunctionDef | ast.AsyncFunctionDef | None = None,
    ) -> None:
        self.file = file
        self.module = file.module
        self.fn = fn
        self.is_module = body is file.module.tree.body
        self.body = body
        self.bindings: dict[str, list[ast.AST]] = {}
        if fn is not None:
            a = fn.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
                self.bindings.setdefault(arg.arg, []).append(arg)
            for packed in (a.vararg, a.kwarg):
                # `*xs: Float[...]` makes xs a tuple of tensors, not a tensor.
                if packed is not None:
                    self.bindings.setdefault(packed.arg, []).extend([packed, packed])
        for node in _own_nodes(body):
            for bound in _binds(node):
                self.bindings.setdefault(bound, []).append(node)
        if self.is_module:
            # Names that functions rebind with `global` hold no single known value.
            for node in ast.walk(file.module.tree):
                if isinstance(node, ast.Global):
                    for bound in node.names:
                        self.bindings.setdefault(bound, []).extend([node, node])
        self.names: dict[str, Shape | None] = {}
        self.busy: set[str] = set()
        self.results: dict[int, Shape | None] = {}

    # Shapes of expressions

    def name_shape(self, name: str) -> Shape | None:
        if name in self.names:
            return self.names[name]
        if name in self.busy or len(self.bindings.get(name, ())) != 1:
            return None
        self.busy.add(name)
        try:
            shape = self._binding_shape(self.bindings[name][0])
        finally:
            self.busy.discard(name)
        self.names[name] = shape
        return shape

    def _binding_shape(self, node: ast.AST) -> Shape | None:
        if isinstance(node, ast.arg):
            found = self.module.annotation(node.annotation)
            return None if found is None else from_spec(found.spec)
        if isinstance(node, ast.Name):
            node = self.file.parents.get(id(node), node)
        if isinstance(node, ast.AnnAssign):
            found = self.module.annotation(node.annotation)
            return None if found is None else from_spec(found.spec)
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            if isinstance(node.targets[0], ast.Name):
                return self.shape(node.value)
        return None

    def shape(self, node: ast.expr) -> Shape | None:
        if isinstance(node, ast.Name):
            return self.name_shape(node.id)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return self.matmul(node)
        if isinstance(node, ast.BinOp):
            return self._elementwise(node)
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            return self.shape(node.operand)
        if isinstance(node, ast.IfExp):
            a, b = self.shape(node.body), self.shape(node.orelse)
            return a if a is not None and a == b else None
        if isinstance(node, ast.Attribute) and node.attr in ("mT", "T"):
            inner = self.shape(node.value)
            if inner is None or len(inner) < 2 or any(isinstance(i, Group) for i in inner[-2:]):
                return None
            if node.attr == "T" and (len(inner) != 2 or isinstance(inner[0], Group)):
                return None
            return (*inner[:-2], inner[-1], inner[-2])
        return None

    def _elementwise(self, node: ast.BinOp) -> Shape | None:
        # Torch broadcasts here, so only the cases that keep one side's shape are known.
        def scalar(e: ast.expr) -> bool:
            if isinstance(e, ast.UnaryOp):
                e = e.operand
            return isinstance(e, ast.Constant) and type(e.value) in (int, float)

        if scalar(node.right):
            return self.shape(node.left)
        if scalar(node.left):
            return self.shape(node.right)
        a, b = self.shape(node.left), self.shape(node.right)
        return a if a is not None and a == b else None

    def matmul(self, node: ast.BinOp) -> Shape | None:
        if id(node) in self.results:
            return self.results[id(node)]
        self.results[id(node)] = None
        a, b = self.shape(node.left), self.shape(node.right)
        result = None if a is None or b is None else self._matmul(node, a, b)
        self.results[id(node)] = result
        return result

    def _matmul(self, node: ast.BinOp, a: Shape, b: Shape) -> Shape | None:
        """torch.matmul's rule: `(..., m, n) @ (..., n, p)`, or a vector on either side."""
        if not a or not b or isinstance(a[-1], Group):
            return None
        left, right = a[-1], b[-1] if len(b) == 1 else b[-2]
        if not isinstance(right, Size):
            return None
        unifier = Unifier()
        if unifier.compare(left, right, _source_stub()) == "differ":
            la, lb = _text(self.module, node.left), _text(self.module, node.right)
            message = (
                f'{la} @ {lb}: inner dim is {left} in {la} "{show(a)}" '
                f'but {right} in {lb} "{show(b)}"'
            )
            if (
                len(b) >= 2
                and isinstance(b[-1], Size)
                and unifier.compare(left, b[-1], _source_stub()) == "same"
            ):
                message += f"; did you mean {lb}.mT?"
            self.file.report(node, message, _anchor(node))
            return None
        if len(b) == 1:
            return a[:-1]
        if len(a) == 1:
            return (*b[:-2], b[-1])
        batch_a, batch_b = a[:-2], b[:-2]
        if batch_a == batch_b or not batch_b:
            batch = batch_a
        elif not batch_a:
            batch = batch_b
        else:
            return None
        return (*batch, a[-2], b[-1])

    def call(self, node: ast.Call) -> Shape | None:
        if id(node) in self.results:
            return self.results[id(node)]
        self.results[id(node)] = None
        result = self._call(node)
        self.results[id(node)] = result
        return result

    def _callee(self, func: ast.expr) -> tuple[Module, Signature] | None:
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name):
            return None
        bound = len(self.bindings.get(func.id, ()))
        if bound > 1 or (bound == 1 and not self.is_module):
            return None  # a local name, or one bound twice, is not the module's function
        return resolve(self.module, ".".join([func.id, *reversed(parts)]))

    def _call(self, node: ast.Call) -> Shape | None:
        callee = self._callee(node.func)
        if callee is None:
            return self._method(node)
        _, sig = callee
        given = _bind_arguments(sig, node)
        if given is None:
            return None
        args: list[tuple[TensorParam, str, Shape]] = []
        for param in sig.contract.params:
            expr = given.get(param.name)
            if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
                continue
            shape = self.shape(expr)
            if shape is not None:
                args.append((param, _text(self.module, expr), shape))
        unifier, conflict = _unify_all(args)
        if conflict is None:
            ret = sig.contract.ret
            return None if ret is None else unifier.result(ret.spec)
        shown = {param.name: (text, shape) for param, text, shape in args}
        where = _call_text(self.module, sig.contract.op, node)
        message = _message(where, conflict, shown, unifier)
        culprit = next(a for a in args if a[0].name == conflict.argument)
        if _transpose_fixes(args, conflict, culprit[2]):
            message += f"; did you mean {culprit[1]}.mT?"
        self.file.report(node, message, _anchor(node))
        return None

    def _method(self, node: ast.Call) -> Shape | None:
        func = node.func
        if not isinstance(func, ast.Attribute):
            return None
        inner = self.shape(func.value)
        if inner is None:
            return None
        if func.attr in _SAME_SHAPE_METHODS:
            return inner
        if func.attr == "transpose" and len(node.args) == 2 and not node.keywords:
            return _transposed(inner, _int(node.args[0]), _int(node.args[1]))
        return None

    # Checks

    def check(self) -> None:
        for node in _own_nodes(self.body):
            if isinstance(node, ast.Call):
                self.call(node)
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
                self.matmul(node)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                self._check_declared(node)
            elif isinstance(node, ast.Return) and node.value is not None and self.fn is not None:
                self._check_return(node.value)

    def _check_declared(self, node: ast.AnnAssign) -> None:
        declared = self.module.annotation(node.annotation)
        if declared is None or node.value is None:
            return
        shape = self.shape(node.value)
        if shape is None or (isinstance(node.value, ast.Constant) and node.value.value is None):
            return
        target = _text(self.module, node.target)
        unifier = Unifier()
        unifier.bind_declared(declared.spec, "annotation")
        value = _text(self.module, node.value)
        shown = {"annotation": ("the annotation", from_spec(declared.spec)), target: (value, shape)}
        conflict = unifier.match(target, declared.spec, shape)
        if conflict is not None:
            self.file.report(node.value, _message(target, conflict, shown), _anchor(node.value))

    def _check_return(self, value: ast.expr) -> None:
        assert self.fn is not None
        sig = signature(self.module, self.fn)
        if sig is None or sig.contract.ret is None:
            return
        if isinstance(value, ast.Constant) and value.value is None:
            return
        shape = self.shape(value)
        if shape is None:
            return
        unifier = Unifier()
        shown: dict[str, tuple[str, Shape]] = {}
        for param in sig.contract.params:
            # The runtime binds the parameters' dims before it checks the return.
            unifier.bind_declared(param.spec, param.name)
            shown[param.name] = (param.name, from_spec(param.spec))
        shown["return"] = (_text(self.module, value), shape)
        conflict = unifier.match("return", sig.contract.ret.spec, shape)
        if conflict is not None:
            where = f"return of {self.fn.name}()"
            self.file.report(value, _message(where, conflict, shown), _anchor(value))


def _unify_all(args: list[tuple[TensorParam, str, Shape]]) -> tuple[Unifier, Conflict | None]:
    """Match each argument against its parameter's spec in order, as the runtime does."""
    unifier = Unifier()
    for param, _, shape in args:
        conflict = unifier.match(param.name, param.spec, shape)
        if conflict is not None:
            return unifier, conflict
    return unifier, None


def _transpose_fixes(
    args: list[tuple[TensorParam, str, Shape]], conflict: Conflict, shape: Shape
) -> bool:
    """Whether swapping the culprit's last two axes certainly fixes the conflicting dim."""
    if len(shape) < 2 or not all(isinstance(i, Size) for i in shape[-2:]):
        return False
    if conflict.kind not in ("size", "fixed") or conflict.axis is None or conflict.dim is None:
        return False
    if conflict.axis < len(shape) - 2 or any(isinstance(i, Group) for i in shape):
        return False
    swapped = (*shape[:-2], shape[-1], shape[-2])
    retry = [(p, t, swapped if p.name == conflict.argument else s) for p, t, s in args]
    unifier, again = _unify_all(retry)
    if again is not None:
        return False
    got = swapped[conflict.axis]
    assert isinstance(got, Size)
    if conflict.kind == "fixed":
        want: Size | None = Size("int", conflict.dim.size)
    else:
        bound = unifier.single.get(conflict.dim.name)
        want = None if bound is None else bound[0]
    return want is not None and unifier.compare(want, got, _source_stub()) == "same"


def _source_stub() -> Source:
    return Source("", 0)


def _transposed(shape: Shape, i: int | None, j: int | None) -> Shape | None:
    """`x.transpose(i, j)` for literal axes that certainly exist and hold single dims."""
    if i is None or j is None:
        return None
    n = len(shape)
    if any(isinstance(item, Group) for item in shape):
        # Past a run of unknown length, only axes counted from the end are certain.
        tail = 0
        while tail < n and isinstance(shape[n - 1 - tail], Size):
            tail += 1
        if not (-tail <= i < 0 and -tail <= j < 0):
            return None
    elif not (-n <= i < n and -n <= j < n):
        return None
    out = list(shape)
    out[i], out[j] = out[j], out[i]
    return tuple(out)


def _int(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _binds(node: ast.AST) -> list[str]:
    """The names a node binds in its own scope."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [node.id]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return [*node.names, *node.names]  # bound elsewhere: never a single known binding
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _bind_arguments(sig: Signature, node: ast.Call) -> dict[str, ast.expr] | None:
    """Which argument expression each parameter gets; None if the call cannot be mapped."""
    given: dict[str, ast.expr] = {}
    for i, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            break
        if i < len(sig.positional):
            given[sig.positional[i]] = arg
        elif not sig.has_varargs:
            return None
    for kw in node.keywords:
        if kw.arg is not None:
            if kw.arg in given:
                return None
            given[kw.arg] = kw.value
    return given


def _call_text(module: Module, op: str, node: ast.Call) -> str:
    parts = [_text(module, a, 24) for a in node.args]
    parts += [f"{k.arg}={_text(module, k.value, 24)}" if k.arg else "**..." for k in node.keywords]
    return f"{op}({', '.join(parts)})"


def _message(
    where: str, c: Conflict, shown: dict[str, tuple[str, Shape]], unifier: Unifier | None = None
) -> str:
    text = _headline(where, c, shown)
    notes = []
    for name in dict.fromkeys([c.argument, c.source.argument if c.source else c.argument]):
        for item, size, source in unifier.learned(shown.get(name, ("", ()))[1]) if unifier else []:
            notes.append(
                f"{item} is {size} from {shown.get(source.argument, (source.argument,))[0]}"
            )
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _headline(where: str, c: Conflict, shown: dict[str, tuple[str, Shape]]) -> str:
    text, shape = shown.get(c.argument, (c.argument, ()))
    here = f'{text} "{show(shape)}"'
    spec: Spec | None = c.spec
    spec_text = spec.text if spec is not None else ""
    if c.kind == "rank":
        assert spec is not None
        n = sum(1 for i in shape if isinstance(i, Size))
        has = f"at least {n}" if any(isinstance(i, Group) for i in shape) else str(n)
        atleast = "at least " if spec.variadic_index is not None else ""
        return (
            f"{where}: {here} has {has} dims, expected {atleast}{spec.min_rank} "
            f"for '{c.argument}' \"{spec_text}\""
        )
    assert c.dim is not None
    dim = c.dim.display
    if c.kind == "fixed":
        return (
            f"{where}: dim '{dim}' is {c.actual} in {here}, expected {c.expected} (\"{spec_text}\")"
        )
    if c.kind == "symbolic":
        return (
            f"{where}: dim '{dim}' is {c.actual} in {here}, expected {c.expected} (\"{spec_text}\")"
        )
    src = c.source.argument if c.source is not None else c.argument
    src_text, src_shape = shown.get(src, (src, ()))
    there = f'{src_text} "{show(src_shape)}"'
    if c.kind == "variadic":
        return (
            f"{where}: dims '*{dim}' are ({show(c.expected)}) in {there} "
            f"but ({show(c.actual)}) in {here}"
        )
    return f"{where}: dim '{dim}' is {c.expected} in {there} but {c.actual} in {here}"


class _FileChecker:
    def __init__(self, module: Module, display: str) -> None:
        self.module = module
        self.display = display
        self.findings: list[Finding] = []
        self.parents: dict[int, ast.AST] = {}
        for parent in ast.walk(module.tree):
            if isinstance(parent, (ast.Assign, ast.AnnAssign)):
                targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        self.parents[id(t)] = parent

    def report(self, node: ast.AST, message: str, anchor: tuple[int, int] | None) -> None:
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        self.findings.append(Finding(self.display, line, col, message, anchor))

    def run(self) -> list[Finding]:
        todo: list[_Scope] = [_Scope(self, self.module.tree.body)]
        while todo:
            scope = todo.pop()
            scope.check()
            for node in _own_nodes(scope.body):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    todo.append(_Scope(self, node.body, node))
                elif isinstance(node, ast.ClassDef):
                    todo.append(_Scope(self, node.body))
        lines = self.module.source.splitlines()
        kept = {
            f
            for f in self.findings
            if not (0 < f.line <= len(lines) and _IGNORE.search(lines[f.line - 1]))
        }
        return sorted(kept)


def check_file(path: Path, display: str | None = None) -> list[Finding]:
    """Every certain shape mismatch in one file. Raises SyntaxError for a file that won't parse."""
    module = load(path)
    if module is None:
        source = path.read_bytes()  # compile() decodes as Python does (PEP 263)
        compile(source, str(path), "exec", dont_inherit=True)  # raises the SyntaxError
        return []
    return _FileChecker(module, display or str(path)).run()
