"""Which dtypes each jaxtyping label takes, to tell an argument of one kind (`Bool[...]`) given
to a parameter that takes another (`Int[...]`) from a call that may be right."""

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
