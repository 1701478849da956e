"""Which dtypes each jaxtyping label takes, to tell an argument of one kind (`Bool[...]`) given
to a parameter that takes another (`Int[...]`) from a call that may be right."""

import ast

# The kinds of dtype each label admits; a label not here admits any (`Shaped`, `Key`).
KINDS: dict[str, frozenset[str]] = {
    "Bool": frozenset({"bool"}),
    "Int": frozenset({"int"}),
    "UInt": frozenset({"uint"}),
    "Integer": frozenset({"int", "uint"}),
    "Float": frozenset({"float"}),
    "Complex": frozenset({"complex"}),
    "Inexact": frozenset({"float", "complex"}),
    "Real": frozenset({"int", "uint", "float"}),
    "Num": frozenset({"int", "uint", "float", "complex"}),
}


def clash(given: str, wanted: str) -> bool:
    """Whether no dtype that `given` admits is one that `wanted` admits."""
    a, b = KINDS.get(given), KINDS.get(wanted)
    return a is not None and b is not None and not a & b


def message(where: str, text: str, given: str, name: str, wanted: str) -> str:
    return f"{where}: {text} is {given}[...] but parameter '{name}' takes {wanted}[...]"


def tested(fn: ast.AST, name: str) -> bool:
    """Whether `fn` asks what dtype `name` holds: `name.dtype`, `is_floating_point(name)`."""
    asks = ("dtype", "is_floating_point", "is_complex")
    for n in ast.walk(fn):
        if isinstance(n, ast.Attribute) and n.attr in asks:
            if isinstance(n.value, ast.Name) and n.value.id == name:
                return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in asks:
            if any(isinstance(a, ast.Name) and a.id == name for a in n.args):
                return True
    return False
