"""Turn a failed check into a ShapeError a person can read at a glance."""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ._contract import (
    Bindings,
    Conflict,
    Contract,
    Observed,
    Spec,
    TensorParam,
    paren_note,
    unify,
)
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
        return Observed(tuple(example_int(s) for s in value.shape), dtype_name(value.dtype))
    return Observed(None, type_name=type(value).__name__)


def example_int(size: Any) -> int:
    """A size as an int. A traced one (a `SymInt`) is read as its example value, which adds
    no guard: `int(size)` would specialize it to that value for good."""
    if isinstance(size, torch.SymInt):
        from torch.fx.experimental.symbolic_shapes import optimization_hint

        return optimization_hint(size, fallback=_UNKNOWN_SIZE)
    return int(size)


#: What a data-dependent size with no example value reads as in a message.
_UNKNOWN_SIZE = 8192


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
    bindings, conflict = blame_odd_one_out(contract, observed, arguments, bindings, conflict)
    return render(
        contract,
        observed,
        conflict,
        bindings.describe(),
        _hint(contract, observed, conflict, arguments),
    )


Relation = Callable[[Mapping[str, Observed | None]], bool]

#: What an op's body checks beyond its contract (attention's grouped-query heads), by
#: contract: whether the arguments present satisfy it. Blame and hints consult it, so that
#: neither calls an argument the odd one out, nor suggests a fix, that the body rejects.
_RELATIONS: dict[int, tuple[Contract, Relation]] = {}


def add_relation(fn: Any, relation: Relation) -> None:
    """Let blame and hints for the checked op `fn` see `relation` (nothing when unchecked)."""
    state = getattr(fn, "__shapesafe__", None)
    if state is not None:
        _RELATIONS[id(state.contract)] = (state.contract, relation)


def _relation_holds(contract: Contract, observed: Mapping[str, Observed | None]) -> bool:
    entry = _RELATIONS.get(id(contract))
    return entry is None or entry[0] is not contract or entry[1](observed)


def _holds(
    contract: Contract, observed: Mapping[str, Observed | None], arguments: Mapping[str, Any]
) -> bool:
    """Whether a call with these shapes passes the contract and the op's own relation."""
    return unify(contract, observed, arguments)[1] is None and _relation_holds(contract, observed)


def blame_odd_one_out(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    arguments: Mapping[str, Any],
    bindings: Bindings,
    conflict: Conflict,
) -> tuple[Bindings, Conflict]:
    """Blame the argument that disagrees with the others' agreement, not the first-bound one.

    `unify` blames the first argument that contradicts what earlier ones bound. When the
    others agree without the blamed one, it is the odd one out (or, with two arguments, as
    good a culprit as the other) and stays blamed. Otherwise, if leaving out exactly one
    other argument makes the rest agree, that one is blamed instead: its conflict with
    what the rest bound. Either way the call is rejected, as jaxtyping rejects it.
    """
    tensors = [n for n, o in observed.items() if o is not None and o.shape is not None]
    if conflict.argument not in tensors:
        return bindings, conflict

    def without(name: str) -> tuple[Bindings, bool]:
        rest = {k: v for k, v in observed.items() if k != name}
        b, failed = unify(contract, rest, arguments)
        return b, failed is None and _relation_holds(contract, rest)

    if without(conflict.argument)[1]:
        return bindings, conflict
    odd: list[tuple[str, Bindings]] = []
    for name in tensors:
        if name != conflict.argument:
            rest, agree = without(name)
            if agree:
                odd.append((name, rest))
    if len(odd) != 1:
        return bindings, conflict
    name, rest = odd[0]
    _, blamed = unify(contract, {name: observed[name]}, arguments, bindings=rest)
    if blamed is None:
        return bindings, conflict
    return rest, blamed


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


def blamed(argument: str) -> str:
    """How a headline names what it blames: an argument by name, the return value as such."""
    return "the return value" if argument == "return" else f"argument '{argument}'"


def _headline(op: str, c: Conflict) -> tuple[str, str | None]:
    """The first line, and the dim it names."""
    where = f"{op}(): {blamed(c.argument)}"
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
    return _holds(contract, trial, arguments)


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
        return _dtype_hint(contract, c, got) if c.kind == "dtype" else None
    # Exchanged arguments break the structure (a rank, a dtype), not just a size; a swap
    # that only fixes sizes (`matmul(B, A)` for `matmul(A, B)`) would change the meaning.
    if c.kind in ("rank", "dtype"):
        swapped = _swapped_hint(contract, observed, c, arguments)
        if swapped is not None:
            return swapped
    if c.kind == "dtype":
        return _dtype_hint(contract, c, got)

    def fits(name: str, shape: tuple[int, ...]) -> bool:
        return _fits(contract, observed, arguments, name, shape)

    for hint in (
        _heads_hint(observed, c, got.shape),
        _slice_hint(contract, observed, c, arguments, got.shape),
        _padding_hint(c, got.shape, fits),
    ):
        if hint is not None:
            return hint
    shape = got.shape
    name = c.argument
    transposed = _transposed_hint(contract, observed, c, arguments, fits)
    if transposed is not None:
        return transposed
    # The argument that bound the size: transposing it is only a candidate next to a
    # wrong size in the blamed one, and never when the blamed one is square (`identity(5)`
    # for `identity(4)`). Beside a vector, only when the swap keeps to a matrix's own two
    # axes (`matvec`'s `A`, not a batch axis: a weight sized for seq).
    other = _source_shape(observed, c)
    if other is not None and (_transposable(shape) or len(shape) == 1):
        source, src_shape = other
        if _transposable(src_shape) and fits(source, _swapped(src_shape)):
            if len(shape) == 1:
                if not _matrix_axes(contract, source):
                    return None
                return (
                    f"either '{name}' has the wrong length or '{source}' is stored "
                    f"transposed (try {source}{_t(src_shape)})"
                )
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


def _transposed_hint(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    c: Conflict,
    arguments: Mapping[str, Any],
    fits: Any,
) -> str | None:
    """A transpose of the blamed argument that fits, or, where transposing another argument
    fits too, every such transpose with what it would mean."""
    name = c.argument
    got = observed[name]
    assert got is not None and got.shape is not None
    shape = got.shape
    if _transposable(shape) and fits(name, _swapped(shape)):
        others = [
            n
            for n, o in observed.items()
            if n not in (name, "return")
            and o is not None
            and o.shape is not None
            and _transposable(o.shape)
            and fits(n, _swapped(o.shape))
        ]
        if not others:
            if not _matrix_axes(contract, name):
                # The swap would move a batch axis: right for a channels-first input, wrong
                # for a layer sized for seq. Both are named.
                if c.dim is None or not isinstance(c.expected, int):
                    return None
                return (
                    f"'{name}' may be channels-first ({name}{_t(shape)} fits), "
                    f"unless {c.dim.display}={c.expected} is the wrong size"
                )
            return (
                f"'{name}' looks transposed: its last two axes fit swapped, try {name}{_t(shape)}"
            )
        meanings = [_transpose_meaning(contract, observed, n) for n in (name, *others)]
        which = "either transpose fits" if len(meanings) == 2 else "any of these transposes fits"
        return f"{which}, and they mean different things: " + ", or ".join(meanings)
    return _axes_swapped_hint(contract, observed, c, arguments, fits)


def _param_spec(contract: Contract, name: str) -> Spec | None:
    base = name.partition("[")[0]
    for p in (*contract.params, *contract.return_params()):
        if p.name == base or p.name == name:
            return p.spec
    return None


def _matrix_axes(contract: Contract, name: str) -> bool:
    """Whether `name`'s last two axes are two single dims of its spec (a matrix's rows and
    columns), not a batch axis that a transpose would move."""
    spec = _param_spec(contract, name)
    if spec is None or len(spec.dims) < 2:
        return False
    return all(d.kind in ("named", "fixed", "symbolic") for d in spec.dims[-2:])


def _transpose_meaning(
    contract: Contract, observed: Mapping[str, Observed | None], name: str
) -> str:
    """`weight.T if weight is stored as (in_features, out_features)`."""
    got = observed[name]
    assert got is not None and got.shape is not None
    fix = f"{name}{_t(got.shape)}"
    spec = _param_spec(contract, name)
    if spec is None or not spec.dims:
        return f"{fix} if its last two axes are swapped"
    last = spec.dims[-1].display
    if _matrix_axes(contract, name):
        before = spec.dims[-2].display
        more = "..., " if len(got.shape) > 2 else ""
        return f"{fix} if {name} is stored as ({more}{last}, {before})"
    return f"{fix} if {name} is channels-first ({last} on axis -2)"


def _axes_swapped_hint(
    contract: Contract,
    observed: Mapping[str, Observed | None],
    c: Conflict,
    arguments: Mapping[str, Any],
    fits: Any,
) -> str | None:
    """Two axes other than the last two swapped (`view` without its `transpose(1, 2)`):
    the only pair whose swap fits; the other arguments of its rank are named too when
    swapping theirs instead fits as well."""
    name = c.argument
    got = observed[name]
    assert got is not None and got.shape is not None
    shape = got.shape
    pairs = [
        (i, j)
        for i in range(len(shape))
        for j in range(i + 1, len(shape))
        if shape[i] != shape[j] and (i, j) != (len(shape) - 2, len(shape) - 1)
    ]

    def swap(s: tuple[int, ...], i: int, j: int) -> tuple[int, ...]:
        out = list(s)
        out[i], out[j] = out[j], out[i]
        return tuple(out)

    found = [(i, j) for i, j in pairs if fits(name, swap(shape, i, j))]
    if len(found) != 1:
        return None
    i, j = found[0]
    spec = _param_spec(contract, name)
    dims = ""
    if spec is not None and spec.variadic_index is None and len(spec.dims) == len(shape):
        dims = f" ('{spec.dims[i].display}' and '{spec.dims[j].display}')"
    hint = (
        f"'{name}' looks like it has axes {i} and {j}{dims} swapped: try {name}.transpose({i}, {j})"
    )
    # The others swapped instead: every other tensor of this rank whose shape the swap changes.
    alike = [
        n
        for n, o in observed.items()
        if n not in (name, "return")
        and o is not None
        and o.shape is not None
        and len(o.shape) == len(shape)
        and o.shape[i] != o.shape[j]
    ]
    if alike:
        trial = dict(observed)
        for n in alike:
            o = observed[n]
            assert o is not None and o.shape is not None
            trial[n] = Observed(swap(o.shape, i, j), o.dtype)
        if _holds(contract, trial, arguments):
            both = " and ".join(f"'{n}'" for n in alike)
            hint += f", unless {both} {'is the one' if len(alike) == 1 else 'are the ones'} swapped"
    return hint


def _sibling(contract: Contract, name: str, label: str) -> str | None:
    """Another param with the same spec whose dtype is `label`: `attention`'s `attn_bias`
    beside its Bool `mask`, and the other way round."""
    spec = _param_spec(contract, name)
    for p in contract.params:
        if p.name != name and p.dtype_label == label and spec is not None and p.spec == spec:
            return p.name
    return None


def _dtype_hint(contract: Contract, c: Conflict, got: Observed) -> str | None:
    integer = got.dtype.startswith(("int", "uint"))
    floating = got.dtype.startswith(("float", "bfloat", "complex"))
    name = c.argument
    if c.expected == "Bool" and floating and (bias := _sibling(contract, name, "Float")):
        return (
            f"{name} must be Bool (True = attend); for an additive float bias use "
            f"{bias}={name}; a float 0/1 mask (such as nanoGPT's bias buffer) is {name}.bool()"
        )
    if c.expected == "Float" and got.dtype == "bool" and (mask := _sibling(contract, name, "Bool")):
        return f"{name} is added to the scores; a Bool mask goes in {mask}={name}"
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
        if _holds(contract, trial, arguments):
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
    other = _source_shape(observed, c)
    if len(shape) == 3 and other is not None and c.axis == 2 and c.kind == "size":
        # The blamed one is not split; the argument that bound the size is.
        source, src_shape = other
        if len(src_shape) == 4 and src_shape[1] * src_shape[3] == shape[2]:
            return (
                f"'{source}' has its heads split and '{c.argument}' not: "
                f"split_heads({c.argument}, {src_shape[1]}), or merge_heads({source})"
            )
    if not (
        len(shape) == 4
        and c.axis == len(shape) - 1
        and isinstance(c.expected, int)
        and shape[1] * shape[3] == c.expected
    ):
        return None
    merge = f"merge_heads({c.argument})"
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


def _padding_hint(c: Conflict, shape: tuple[int, ...], fits: Any) -> str | None:
    """A `(batch, keys)` padding mask where `(batch, 1, 1, keys)` is meant."""
    if "mask" not in c.argument or len(shape) != 2 or c.kind not in ("size", "variadic"):
        return None
    name = c.argument
    for n, over in ((1, "queries"), (2, "heads and queries")):
        if fits(name, (shape[0], *(1,) * n, shape[1])):
            nones = "None, " * n
            return (
                f"'{name}' looks like a (batch, keys) padding mask: "
                f"try {name}[:, {nones}:] to broadcast over {over}"
            )
    return None


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
