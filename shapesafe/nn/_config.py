"""Validation of module config sizes, shared by the modules' constructors."""


def positive_int(module: str, name: str, value: object) -> int:
    """A config size must be an int >= 1; anything else is a ValueError at construction."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{module}(): {name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{module}(): {name} must be >= 1, got {value}")
    return value
