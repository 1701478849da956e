"""A parameter annotated as a Union of one tensor and types that are not tensors
(`input: Union[str, List[str], Int[Tensor, "batch pos"]]`), where an `isinstance` test
rules the other types out: it holds the tensor there, of its annotation's shape."""

import ast

from ._passed import param_shape
from ._report import Env, _members
from ._source import Module, _params, dotted_name, walk

Fn = ast.FunctionDef | ast.AsyncFunctionDef

# The isinstance types that rule out a member of a Union, by the member's head.
_RULES_OUT = {
    "str": ("str",),
    "bytes": ("bytes",),
    "list": ("list", "List"),
    "tuple": ("tuple", "Tuple"),
    "dict": ("dict", "Dict"),
    "int": ("int",),
    "float": ("float",),
    "bool": ("bool",),
}


def _head(member: ast.expr) -> str:
    node = member.value if isinstance(member, ast.Subscript) else member
    return (dotted_name(node) or "").rsplit(".", 1)[-1]


def _tested(test: ast.expr) -> tuple[str, set[str]] | None:
    """`isinstance(p, str)`, `isinstance(p, (str, list))`, `isinstance(p, str) or
    isinstance(p, list)`: the parameter and the types, or None for any other test."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        parts = [p for v in test.values if (p := _tested(v)) is not None]
        if len(parts) != len(test.values) or len({p[0] for p in parts}) != 1:
            return None
        return parts[0][0], set().union(*(p[1] for p in parts))
    if not (isinstance(test, ast.Call) and dotted_name(test.func) == "isinstance"):
        return None
    if len(test.args) != 2 or test.keywords or not isinstance(test.args[0], ast.Name):
        return None
    kinds = test.args[1].elts if isinstance(test.args[1], ast.Tuple) else [test.args[1]]
    names = {dotted_name(k) or "" for k in kinds}
    return (test.args[0].id, names) if all(n in _RULES_OUT for n in names) else None


def not_instances(module: Module, fn: Fn | None, test: ast.expr, env: Env) -> Env:
    """Where `test` is false: the parameter it asks of, bound to the one tensor member of
    its Union annotation that the types it names leave, if the parameter is still unknown."""
    found = _tested(test) if fn is not None else None
    if found is None or fn is None:
        return {}
    name, kinds = found
    arg = next((a for a in _params(fn) if a.arg == name), None)
    if arg is None or arg.annotation is None or env.get(name, 0) is not None:
        return {}
    if any(
        isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
        for n in walk(fn)
    ):
        return {}  # bound again: it may hold something else by now
    ruled = {h for k in kinds for h in _RULES_OUT[k]}
    left = [m for m in _members(module, arg.annotation) if _head(m) not in ruled]
    if len(left) != 1 or (held := module.annotation(left[0])) is None:
        return {}
    return {name: param_shape(fn, name, held.spec)}
