"""Turn a failed check into a ShapeError a person can read at a glance."""

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ._contract import Conflict, Contract, Observed, TensorParam, paren_note, unify
from ._errors import ShapeError

_NOT_GIVEN = object()

#: A hint for one op's classic mistake, registered by the module that defines the op: op
#: name -> a function of what arrived and the conflict, giving the hint or None.
OP_HINTS: dict[str, Callable[[Mapping[str, Observed | None], Conflict], str | None]] = {}


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
    """What `unify` reads: each param, each item of a packed `*xs` (`xs[0]`, ...) or
    `**xs` (`xs['key']`), and the return or each tensor item of a tuple return."""
    observed: dict[str, Observed | None] = {}
    for p in contract.params:
        if p.name not in arguments:
            continue
        value = arguments[p.name]
        if p.packed == "*" and isinstance(value, tuple):
            for i, item in enumerate(value):
                observed[f"{p.name}[{i}]"] = observe(item)
        elif p.packed == "**" and isinstance(value, dict):
            for key, item in value.items():
                observed[f"{p.name}[{key!r}]"] = observe(item)
        else:
            observed[p.name] = observe(value)
    if out is _NOT_GIVEN:
        return observed
    if contract.returns is not None:
        if isinstance(out, tuple) and len(out) == len(contract.returns):
            for item_param, item in zip(contract.returns, out, strict=True):
                if item_param is not None:
                    observed[item_param.name] = observe(item)
    elif contract.ret is not None:
        observed["return"] = observe(out)
    return observed


def _observed_params(
    contract: Contract, observed: Mapping[str, Observed | None]
) -> list[tuple[str, TensorParam]]:
    """Each observed name with its param, in the order `unify` reads them."""
    out: list[tuple[str, TensorParam]] = []
    for p in (*contract.params, *contract.return_params()):
        if p.packed:
            out += [(k, p) for k in observed if k.startswith(p.name + "[")]
        elif p.name in observed:
            out.append((p.name, p))
    return out


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


def article(word: str) -> str:
    """`a` or `an`, for a dtype label: "an Int tensor", "a Float tensor"."""
    return "an" if word[:1].lower() in "aeiou" else "a"


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
        what = f"{article(c.expected)} {c.expected}"
        return f'{where} is {c.actual}, expected {what} tensor of shape "{spec}"', None
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
    for name, p in _observed_params(contract, observed):
        got = observed[name]
        if got is None and p.optional and name != conflict.argument:
            continue
        shown = describe(got)
        if name == conflict.argument:
            caret_row = len(rows)
            if got is not None and got.shape is not None and conflict.axis is not None:
                caret_span = _axis_span(got.shape, conflict.axis, conflict.kind, conflict.actual)
            elif conflict.kind == "dtype":
                caret_span = (len(shown) - len(str(conflict.actual)), len(shown))
            else:
                caret_span = (0, len(shown))
        rows.append((name, shown, f'"{p.spec.text}"'))
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
    """A fix to try, or None. A hint never suggests a change that fixes the shapes but
    changes the meaning: when two arguments could be the one to change, it names both."""
    got = observed.get(c.argument)
    if c.kind == "type":
        if got is not None and got.type_name in ("list", "tuple"):
            return f"convert it first, e.g. torch.tensor({c.argument})"
        return None
    note = paren_note(c.spec)
    if note is not None:
        return note
    op_hint = OP_HINTS.get(contract.op)
    if op_hint is not None and c.argument != "return":
        found = op_hint(observed, c)
        if found is not None:
            return found
    if got is None or got.shape is None:
        return None
    if c.argument == "return":
        return _dtype_hint(c, got) if c.kind == "dtype" else None
    # Exchanged arguments break the structure (a rank, a dtype), not just a size; a swap
    # that only fixes sizes (`matmul(B, A)` for `matmul(A, B)`) would change the meaning.
    if c.kind in ("rank", "dtype"):
        swapped = _swapped_hint(contract, observed, c, arguments)
        if swapped is not None:
            return swapped
    if c.kind == "dtype":
        return _dtype_hint(c, got)

    def fits(name: str, shape: tuple[int, ...]) -> bool:
        return _fits(contract, observed, arguments, name, shape)

    for hint in (
        _heads_hint(observed, c, got.shape),
        _slice_hint(contract, observed, c, arguments, got.shape),
    ):
        if hint is not None:
            return hint
    shape = got.shape
    name = c.argument
    if _transposable(shape) and fits(name, _swapped(shape)):
        return f"'{name}' looks transposed: its last two axes fit swapped, try {name}{_t(shape)}"
    # The argument that bound the size: transposing it is only a candidate next to a
    # wrong size in the blamed one, and never when the blamed one is square or 1-D, whose
    # size is the likelier mistake (`identity(5)` for `identity(4)`, a weight sized for seq).
    other = _source_shape(observed, c)
    if other is not None and _transposable(shape):
        source, src_shape = other
        if _transposable(src_shape) and fits(source, _swapped(src_shape)):
            return (
                f"'{source}' may be transposed: its last two axes fit swapped "
                f"({source}{_t(src_shape)}), unless '{name}' is the one with the wrong size"
            )
    fixes = _squeeze_fixes(contract, name, shape, fits)
    if other is not None and _same_role(contract, name, other[0]):
        fixes += _squeeze_fixes(contract, other[0], other[1], fits)
    if fixes:
        return "a size-1 axis is extra or missing: try " + " or ".join(fixes)
    missing = _missing_batch_hint(c, shape)
    if missing is not None:
        return missing
    return _expand_hint(contract, observed, c, arguments)


def _dtype_hint(c: Conflict, got: Observed) -> str | None:
    integer = got.dtype.startswith(("int", "uint"))
    floating = got.dtype.startswith(("float", "bfloat", "complex"))
    if c.expected == "Float" and integer:
        return (
            f"'{c.argument}' holds integers; if they are token ids, embed them first "
            "(nn.Embedding), otherwise cast with .float()"
        )
    if c.expected == "Float" and got.dtype == "bool":
        return f"cast the mask with {c.argument}.float(), or use apply_mask()"
    if c.expected == "Bool":
        return f"build a boolean mask, e.g. {c.argument} != 0"
    if c.expected == "Int" and floating:
        return (
            f"'{c.argument}' holds floats; if they are class or token ids, use {c.argument}.long()"
        )
    if c.expected == "BoolOrFloat" and integer:
        return f"a mask is Bool (True = attend) or float (added): try {c.argument}.bool()"
    return None


def _transposable(shape: tuple[int, ...]) -> bool:
    """Swapping the last two axes changes the shape: at least 2-D and not square."""
    return len(shape) >= 2 and shape[-1] != shape[-2]


def _swapped(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (*shape[:-2], shape[-1], shape[-2])


def _t(shape: tuple[int, ...]) -> str:
    return ".T" if len(shape) == 2 else ".mT"


def _source_shape(
    observed: Mapping[str, Observed | None], c: Conflict
) -> tuple[str, tuple[int, ...]] | None:
    """The other argument the conflicting size was bound by, with its shape."""
    if c.source is None or c.source.argument in (c.argument, "return"):
        return None
    got = observed.get(c.source.argument)
    if got is None or got.shape is None:
        return None
    return c.source.argument, got.shape


def _same_role(contract: Contract, a: str, b: str) -> bool:
    """Two arguments with the same spec (`add(a, b)`): either may be the one to change."""
    specs = {p.name: p.spec.text for p in contract.params}
    return a in specs and specs.get(a) == specs.get(b)


def _squeeze_fixes(
    contract: Contract,
    name: str,
    shape: tuple[int, ...],
    fits: Any,
) -> list[str]:
    fixes = []
    squeezes = [i for i, n in enumerate(shape) if n == 1 and fits(name, shape[:i] + shape[i + 1 :])]
    if squeezes:
        axis = -1 if squeezes[0] == len(shape) - 1 else squeezes[0]
        fixes.append(f"{name}.squeeze({axis})")
    spec = next((p.spec for p in contract.params if p.name == name), None)
    broadcasts = spec is not None and any(d.broadcastable for d in spec.dims)
    if not broadcasts:
        # Only a single place for the new axis is a real hint; with free dims any place fits.
        # An argument that broadcasts never needs one.
        unsqueezes = [i for i in range(len(shape) + 1) if fits(name, (*shape[:i], 1, *shape[i:]))]
        if len(unsqueezes) == 1:
            fixes.append(f"{name}.unsqueeze({unsqueezes[0]})")
    return fixes


def _swapped_hint(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    c: Conflict,
    arguments: Mapping[str, Any],
) -> str | None:
    """`linear(W, x)`: the call fits with two tensor arguments exchanged."""
    names = [
        p.name
        for p in contract.params
        if (o := observed.get(p.name)) is not None and o.shape is not None
    ]
    if c.argument not in names:
        return None
    for other in names:
        if other == c.argument:
            continue
        a, b = observed[c.argument], observed[other]
        assert a is not None and b is not None
        if a.shape == b.shape:
            continue
        trial = dict(observed)
        trial[c.argument], trial[other] = b, a
        if unify(contract, trial, arguments)[1] is None:
            first, second = sorted((c.argument, other), key=names.index)
            return f"'{first}' and '{second}' look swapped: the call fits with them exchanged"
    return None


def _heads_hint(
    observed: Mapping[str, Observed | None], c: Conflict, shape: tuple[int, ...]
) -> str | None:
    """`(b, s, e)` where `(b, h, s, d)` is expected, or the other way round."""
    if c.spec is None:
        return None
    names = [d.display for d in c.spec.dims]
    if c.kind == "rank" and len(shape) == 3 and len(names) == 4 and "heads" in names[1]:
        return (
            f"'{c.argument}' looks like (batch, seq, embed): split_heads({c.argument}, num_heads)"
        )
    if not (
        len(shape) == 4
        and c.axis == len(shape) - 1
        and isinstance(c.expected, int)
        and shape[1] * shape[3] == c.expected
    ):
        return None
    merge = f"merge_heads({c.argument})"
    other = _source_shape(observed, c)
    if other is None:
        return f"'{c.argument}' looks like (batch, heads, seq, head_dim): {merge}"
    source, src_shape = other
    if len(src_shape) != 3:
        return None
    # One side has its heads split and the other not: either may be the one to change.
    return (
        f"'{c.argument}' has its heads split and '{source}' not: "
        f"split_heads({source}, {shape[1]}), or {merge}"
    )


def _slice_hint(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    c: Conflict,
    arguments: Mapping[str, Any],
    shape: tuple[int, ...],
) -> str | None:
    """A mask built for the longest sequence (nanoGPT's `(1, 1, block, block)` buffer)."""
    if "mask" not in c.argument or c.axis is None:
        return None
    trial = list(shape)
    conflict: Conflict | None = c
    got = observed[c.argument]
    assert got is not None
    for _ in range(len(shape)):  # one axis at a time, at most once each
        if conflict is None:
            break
        if conflict.argument != c.argument or conflict.axis is None:
            return None
        if conflict.axis < len(shape) - 2:
            return None  # a batch axis: slicing it would drop examples, not positions
        want = conflict.expected
        if not isinstance(want, int) or not 0 < want < trial[conflict.axis]:
            return None
        trial[conflict.axis] = want
        attempt = dict(observed)
        attempt[c.argument] = Observed(tuple(trial), got.dtype)
        conflict = unify(contract, attempt, arguments)[1]
    if conflict is not None:
        return None
    first = next(i for i in range(len(shape)) if trial[i] != shape[i])
    parts = [f":{n}" if n != m else ":" for n, m in zip(trial[first:], shape[first:], strict=True)]
    while parts and parts[-1] == ":":
        parts.pop()
    index = ", ".join(parts)
    prefix = "..., " if first > 0 else ""
    return f"'{c.argument}' is larger than needed: slice it, {c.argument}[{prefix}{index}]"


def _missing_batch_hint(c: Conflict, shape: tuple[int, ...]) -> str | None:
    """A single example where a batch is expected."""
    if c.kind != "rank" or c.spec is None or c.spec.variadic_index is not None:
        return None
    if len(shape) + 1 != len(c.spec.dims) or c.spec.dims[0].display != "batch":
        return None
    return f"'{c.argument}' has no batch axis: for a single example, try {c.argument}.unsqueeze(0)"


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


def unbraced_hint(contract: Contract, names: Sequence[str]) -> str | None:
    """A symbolic dim that uses an argument without braces, like `"seq+max_new_tokens"`.

    jaxtyping evaluates a bare name as a dim, so it fails on an argument's name; `{name}`
    reads the argument.
    """
    specs = [*contract.params, *([contract.ret] if contract.ret is not None else [])]
    for p in specs:
        for d in p.spec.dims:
            if d.kind != "symbolic" or "{" in d.name:
                continue
            try:
                tree = ast.parse(d.name, mode="eval")
            except SyntaxError:
                continue
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            arguments = [n for n in names if n in used]
            if not arguments:
                continue
            fixed = d.name
            for name in arguments:
                fixed = re.sub(rf"\b{name}\b", "{" + name + "}", fixed)
            which = ", ".join(f"'{n}'" for n in arguments)
            verb = "is an argument" if len(arguments) == 1 else "are arguments"
            return f"{which} {verb}, not a dim: write \"{fixed}\" in the spec of '{p.name}'"
    return None
