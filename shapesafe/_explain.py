"""Turn a failed check into a ShapeError a person can read at a glance."""

from collections.abc import Mapping
from typing import Any

import torch

from ._contract import Conflict, Contract, Observed, unify
from ._errors import ShapeError

_NOT_GIVEN = object()


def observe(value: Any) -> Observed | None:
    """Shape and dtype of a tensor, or the type name of anything else. Never values."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return Observed(tuple(int(s) for s in value.shape), dtype_name(value.dtype))
    return Observed(None, type_name=type(value).__name__)


def dtype_name(dtype: torch.dtype) -> str:
    # The same spelling jaxtyping compares against: "float32", "int64", "bool".
    return repr(dtype).rsplit(".", 1)[-1]


def observe_all(
    contract: Contract, arguments: Mapping[str, Any], out: Any = _NOT_GIVEN
) -> dict[str, Observed | None]:
    observed = {p.name: observe(arguments[p.name]) for p in contract.params if p.name in arguments}
    if out is not _NOT_GIVEN and contract.ret is not None:
        observed["return"] = observe(out)
    return observed


def explain(
    contract: Contract, arguments: Mapping[str, Any], out: Any = _NOT_GIVEN
) -> ShapeError | None:
    """The ShapeError for this call, or None if the tensor contract holds."""
    observed = observe_all(contract, arguments, out)
    bindings, conflict = unify(contract, observed, arguments)
    if conflict is None:
        return None
    return render(
        contract,
        observed,
        conflict,
        bindings.describe(),
        _hint(contract, observed, conflict, arguments),
    )


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def describe(got: Observed | None) -> str:
    """What arrived, as messages show it: `(2, 5) float32`, `list` or `None`."""
    if got is None:
        return "None"
    if got.shape is None:
        return got.type_name
    return f"{_fmt_shape(got.shape)} {got.dtype}"


def _headline(op: str, c: Conflict) -> tuple[str, str | None]:
    """The first line, and the dim it names."""
    where = f"{op}(): argument '{c.argument}'"
    spec = c.spec.text if c.spec is not None else ""
    if c.kind == "type":
        return f'{where} is {c.actual}, expected a {c.expected} tensor of shape "{spec}"', None
    if c.kind == "dtype":
        return f"{where} has dtype {c.actual}, expected {c.expected}", None
    if c.kind == "rank":
        assert c.spec is not None
        atleast = "at least " if c.spec.variadic_index is not None else ""
        n = c.spec.min_rank
        return (
            f"{where} has {len(c.actual)} dim{'' if len(c.actual) == 1 else 's'} "
            f"{_fmt_shape(c.actual)}, "
            f'expected {atleast}{n} for "{spec}"',
            None,
        )
    assert c.dim is not None and c.axis is not None
    dim = c.dim.display
    if c.kind == "variadic":
        at = f"{c.argument}.shape[{c.axis}:{c.axis + len(c.actual)}]"
        return (
            f"{where} dims '*{dim}' are {_fmt_shape(c.actual)} at {at}, "
            f"expected {_fmt_shape(c.expected)} (bound by {c.source})",
            f"*{dim}",
        )
    at = f"{c.argument}.shape[{c.axis}]"
    if c.note:
        why = c.note
    elif c.kind == "size":
        why = f"bound by {c.source}"
    elif c.kind == "fixed":
        why = "fixed by the spec"
    else:
        why = f"{c.dim.name.replace('{', '').replace('}', '')} = {c.expected}"
    return f"{where} dim '{dim}' is {c.actual} at {at}, expected {c.expected} ({why})", dim


def render(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    conflict: Conflict,
    bindings: list[str],
    hint: str | None,
) -> ShapeError:
    headline, dim = _headline(contract.op, conflict)
    rows: list[tuple[str, str, str]] = []
    caret_row = -1
    caret_span = (0, 0)
    params = list(contract.params) + ([contract.ret] if contract.ret is not None else [])
    for p in params:
        if p.name not in observed:
            continue
        got = observed[p.name]
        if got is None and p.optional and p.name != conflict.argument:
            continue
        shown = describe(got)
        if p.name == conflict.argument:
            caret_row = len(rows)
            if got is not None and got.shape is not None and conflict.axis is not None:
                caret_span = _axis_span(got.shape, conflict.axis, conflict.kind, conflict.actual)
            elif conflict.kind == "dtype":
                caret_span = (len(shown) - len(str(conflict.actual)), len(shown))
            else:
                caret_span = (0, len(shown))
        rows.append((p.name, shown, f'"{p.spec.text}"'))
    name_w = max(len(r[0]) for r in rows)
    shape_w = max(len(r[1]) for r in rows)
    lines = [headline]
    for i, (name, shown, spec) in enumerate(rows):
        lines.append(f"    {name:<{name_w}}  {shown:<{shape_w}}  {spec}")
        if i == caret_row:
            start, stop = caret_span
            lines.append(" " * (6 + name_w + start) + "^" * max(1, stop - start))
    if bindings:
        lines.append("bound: " + ", ".join(bindings))
    if hint:
        lines.append("hint: " + hint)
    return ShapeError(
        "\n".join(lines),
        op=contract.op,
        argument=conflict.argument,
        expected=conflict.spec.text if conflict.spec is not None else "",
        actual=describe(observed.get(conflict.argument)),
        dim=dim,
        bindings=tuple(bindings),
        hint=hint,
    )


def _axis_span(shape: tuple[int, ...], axis: int, kind: str, actual: Any) -> tuple[int, int]:
    """Character span of `shape[axis]` (or of a variadic run) inside `_fmt_shape(shape)`."""
    count = len(actual) if kind == "variadic" else 1
    pos = 1
    start = stop = 1
    for i, size in enumerate(shape):
        text = str(size)
        if i == axis:
            start = pos
        if i == axis + count - 1:
            stop = pos + len(text)
        pos += len(text) + 2
    if count == 0:
        return (start, start + 1)
    return (start, stop)


def _fits(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    arguments: Mapping[str, Any],
    name: str,
    shape: tuple[int, ...],
) -> bool:
    got = observed[name]
    assert got is not None
    trial = dict(observed)
    trial[name] = Observed(shape, got.dtype)
    return unify(contract, trial, arguments)[1] is None


def _hint(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    c: Conflict,
    arguments: Mapping[str, Any],
) -> str | None:
    got = observed.get(c.argument)
    if c.kind == "type":
        if got is not None and got.type_name in ("list", "tuple"):
            return f"convert it first, e.g. torch.tensor({c.argument})"
        return None
    if got is None or got.shape is None:
        return None
    if c.kind == "dtype":
        if c.expected == "Float" and (got.dtype.startswith("int") or got.dtype.startswith("uint")):
            return (
                f"'{c.argument}' holds integers; if they are token ids, embed them first "
                "(nn.Embedding), otherwise cast with .float()"
            )
        if c.expected == "Float" and got.dtype == "bool":
            return f"cast the mask with {c.argument}.float(), or use apply_mask()"
        if c.expected == "Bool":
            return f"build a boolean mask, e.g. {c.argument} != 0"
        return None
    if c.argument == "return":
        return None
    # Try each fix on the culprit, then on the argument that bound the size: in a
    # (b, 1) prediction against a (b,) target, either side may be the one to change.
    names = [c.argument]
    if c.source is not None and c.source.argument not in (c.argument, "return"):
        names.append(c.source.argument)
    shapes = {
        n: o.shape for n in names if (o := observed.get(n)) is not None and o.shape is not None
    }

    def fits(name: str, shape: tuple[int, ...]) -> bool:
        return _fits(contract, observed, arguments, name, shape)

    for name, shape in shapes.items():
        if len(shape) >= 2 and fits(name, (*shape[:-2], shape[-1], shape[-2])):
            t = ".T" if len(shape) == 2 else ".mT"
            return f"'{name}' looks transposed: its last two axes fit swapped, try {name}{t}"
    fixes = []
    for name, shape in shapes.items():
        squeezes = [
            i for i, n in enumerate(shape) if n == 1 and fits(name, shape[:i] + shape[i + 1 :])
        ]
        if squeezes:
            fixes.append(f"{name}.squeeze({squeezes[0]})")
        # Only a single place for the new axis is a real hint; with free dims any place fits.
        unsqueezes = [i for i in range(len(shape) + 1) if fits(name, (*shape[:i], 1, *shape[i:]))]
        if len(unsqueezes) == 1:
            fixes.append(f"{name}.unsqueeze({unsqueezes[0]})")
    if fixes:
        return "a size-1 axis is extra or missing: try " + " or ".join(fixes)
    return _expand_hint(contract, observed, c, arguments)


def _expand_hint(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    c: Conflict,
    arguments: Mapping[str, Any],
) -> str | None:
    """Batch dims never broadcast: suggest expanding the argument that lacks them."""
    if c.spec is None or c.spec.variadic_index is None or c.kind not in ("rank", "variadic"):
        return None
    dim = c.spec.dims[c.spec.variadic_index]
    bindings, _ = unify(contract, {k: v for k, v in observed.items() if k != c.argument}, arguments)
    bound = bindings.variadic.get(dim.name)
    got = observed.get(c.argument)
    if bound is None or got is None or got.shape is None or not bound[0]:
        return None
    batch = bound[0]
    own = got.shape[c.spec.variadic_index :] if c.kind == "variadic" else got.shape
    if not _fits(contract, observed, arguments, c.argument, (*batch, *own)):
        return None
    sizes = ", ".join(str(n) for n in batch) + ", -1" * len(own)
    hint = f"batch dims never broadcast: try {c.argument}.expand({sizes})"
    if contract.op == "matmul":
        hint += ", or linear(x, W.T) for one weight shared across the batch"
    return hint
