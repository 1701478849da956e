"""ShapeError: what every broken shape contract raises."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

from jaxtyping import TypeCheckError


class ShapeError(TypeCheckError):
    """A tensor argument or return value broke its op's shape contract.

    A subclass of `TypeError` (through `jaxtyping.TypeCheckError`), so handlers written for
    jaxtyping keep working. The message never contains tensor values; the structured fields
    carry the same facts for programs:

    - `op`: the checked function, e.g. `"linear"`.
    - `argument`: the parameter name, or `"return"`.
    - `expected`: the spec that was broken, e.g. `"out_features in_features"`.
    - `actual`: what arrived, e.g. `"(16, 32) float32"` or `"list"`.
    - `dim`: the offending dim's name or token, or `None` (rank, dtype and type errors).
    - `bindings`: each dim bound before the failure and where, e.g. `"n=4 from A.shape[1]"`.
    - `hint`: a suggested fix, or `None`.
    """

    def __init__(
        self,
        message: str,
        *,
        op: str = "",
        argument: str = "",
        expected: str = "",
        actual: str = "",
        dim: str | None = None,
        bindings: tuple[str, ...] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.op = op
        self.argument = argument
        self.expected = expected
        self.actual = actual
        self.dim = dim
        self.bindings = bindings
        self.hint = hint


ShapeError.__module__ = "shapesafe"
