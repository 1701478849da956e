"""Shape arithmetic of ops that take a pattern: einsum's equations and einops' patterns,
over the static checker's symbolic sizes. Like `_torch`, each function returns the result's
shape or None when it cannot tell, and raises `Mismatch` where the shapes certainly clash."""

from collections.abc import Sequence
from typing import cast

from ._torch import broadcast, divide, floordiv, is_one, product, rank
from ._unify import Group, Item, Shape, Size, anonymous_group, fresh, lit, needs, show
from ._values import Mismatch


def parse_side(text: str) -> list[str | list[str]] | None:
    """An einops side, `b s (h d)`, as items: a name, `...`, `1`, or a group of names."""
    out: list[str | list[str]] = []
    group: list[str] | None = None
    for token in text.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if group is not None:
                return None
            group = []
        elif token == ")":
            if group is None:
                return None
            out.append(group)
            group = None
        elif group is not None:
            group.append(token)
        else:
            out.append(token)
    return None if group is not None else out


def einsum_letters(equation: str) -> tuple[list[list[str]], list[str]] | None:
    """torch.einsum's `"bhqd,bhkd->bhqk"`, as one letter list per operand and the output;
    `...` is one item of its own."""
    text = equation.replace(" ", "")
    if text.count("->") != 1:
        return None
    left, right = text.split("->")
    sides = [*left.split(","), right]
    if any("." in p.replace("...", "") for p in sides):
        return None
    return [_letters(p) for p in sides[:-1]], _letters(right)


def _letters(part: str) -> list[str]:
    pieces = part.split("...")
    out: list[str] = list(pieces[0])
    for piece in pieces[1:]:
        out += ["...", *piece]
    return out


def einops_einsum(pattern: str) -> tuple[list[list[str]], list[str]] | None:
    if pattern.count("->") != 1 or "(" in pattern:
        return None
    left, right = pattern.split("->")
    sides = [p.split() for p in left.split(",")] + [right.split()]
    if any("." in n and n != "..." for side in sides for n in side):
        return None
    return sides[:-1], sides[-1]


def einsum(
    operands: Sequence[Shape | None], letters: list[list[str]], out: list[str], texts: Sequence[str]
) -> Shape | None:
    """einsum's output; letters bind sizes across operands, and `...` the operands' leading
    (or middle) axes, which broadcast as torch's do."""
    if len(operands) != len(letters) or any(names.count("...") > 1 for names in [*letters, out]):
        return None
    bound: dict[str, tuple[Size, str, Shape]] = {}
    runs: list[tuple[Shape, str] | None] = []
    for shape, names, text in zip(operands, letters, texts, strict=True):
        read = None if shape is None else _einsum_operand(shape, names, text)
        if "..." in names:
            runs.append(None if read is None or read[1] is None else (read[1], text))
        if shape is None or read is None:
            continue
        for letter, item in read[0]:
            assert isinstance(letter, str) and isinstance(item, Size)
            seen = bound.get(letter)
            if seen is None:
                bound[letter] = (item, text, shape)
            elif not is_one(seen[0]) and not is_one(item) and needs(seen[0], item) == "differ":
                raise Mismatch(
                    f"einsum: '{letter}' is {seen[0]} in {seen[1]} \"{show(seen[2])}\" "
                    f'but {item} in {text} "{show(shape)}"'
                )
    missing = any(s is None for s in operands)
    if missing and all(s is None for s in operands):
        return None
    if not missing and any(letter not in bound for letter in out if letter != "..."):
        return None
    result: list[Item] = []
    for letter in out:
        if letter != "...":
            # An operand of unknown shape: its letters are fresh, and a 1 may broadcast.
            seen = bound.get(letter)
            result.append(fresh(letter) if seen is None or is_one(seen[0]) else seen[0])
            continue
        run = _einsum_run(runs) if not missing else None
        if run is None and not missing:
            return None
        result.extend(run if run is not None else (anonymous_group(),))
    return tuple(result)


def _einsum_operand(
    shape: Shape, names: list[str], text: str
) -> tuple[list[tuple[str | list[str], Item]], Shape | None] | None:
    """The letters of one einsum operand with their axes, and the axes its `...` takes."""
    if rank(shape) is not None and "..." not in names and len(shape) != len(names):
        raise Mismatch(
            f'einsum: {text} "{show(shape)}" has {len(shape)} dims '
            f"but its pattern names {len(names)}"
        )
    side: _Side = list(names)
    try:
        return _left_side(shape, side, text, "einsum")
    except Mismatch:
        raise Mismatch(
            f'einsum: {text} "{show(shape)}" has fewer dims than its pattern '
            f'"{" ".join(names)}" names'
        ) from None


def _einsum_run(runs: list[tuple[Shape, str] | None]) -> Shape | None:
    """The axes `...` stands for in the output: the operands' runs, broadcast together."""
    if not runs or any(r is None for r in runs):
        return None
    known = cast(list[tuple[Shape, str]], runs)
    out: Shape | None = known[0][0]
    for run, text in known[1:]:
        if out is None:
            return None
        try:
            out = broadcast(out, run, known[0][1], text)
        except Mismatch as err:
            raise Mismatch(f"einsum: the axes '...' stands for: {err}") from None
    return out


def rearrange(shape: Shape, pattern: str, given: dict[str, Size | None], op: str) -> Shape | None:
    """einops.rearrange/reduce/repeat on a literal pattern."""
    if pattern.count("->") != 1:
        return None
    left_text, right_text = pattern.split("->")
    left, right = parse_side(left_text), parse_side(right_text)
    if left is None or right is None:
        return None
    read = _left_side(shape, left, left_text.strip(), op)
    if read is None:
        return None
    pairs, ellipsis = read
    sizes: dict[str, Size | None] = dict(given)
    for item, size in pairs:
        assert isinstance(size, Size)
        _bind_axis(sizes, item, size, shape, op)
    return _right_side(right, sizes, ellipsis, op)


def from_pattern(pattern: str, given: dict[str, Size | None], op: str) -> Shape | None:
    """einops on an input whose shape is not known: the output that the pattern and the
    sizes given by keyword fix (einops checks those at run time); its other axes are fresh."""
    if pattern.count("->") != 1:
        return None
    left = parse_side(pattern.split("->")[0])
    if left is None or left.count("...") > 1:
        return None
    named: dict[str, Size] = {}

    def size(name: str) -> Size:
        if name.isdigit():
            return lit(int(name))
        return given.get(name) or named.setdefault(name, fresh(name))

    shape: list[Item] = []
    for item in left:
        if item == "...":
            shape.append(anonymous_group())
        else:
            shape.append(product([size(n) for n in item]) if isinstance(item, list) else size(item))
    try:
        return rearrange(tuple(shape), pattern, given, op)
    except Mismatch:
        return None  # a pattern that einops rejects whatever the input


_Side = list[str | list[str]]


def _left_side(
    shape: Shape, left: _Side, text: str, op: str
) -> tuple[list[tuple[str | list[str], Item]], Shape | None] | None:
    """Each item of a pattern's left side with the axis it names, and the axes `...` takes;
    None when a run of unknown length leaves that unclear."""
    groups = [i for i, item in enumerate(shape) if isinstance(item, Group)]
    if "..." not in left:
        if groups:
            return None
        if len(left) != len(shape):
            raise Mismatch(
                f'{op}: "{show(shape)}" has {len(shape)} dims but "{text}" names {len(left)}'
            )
        return list(zip(left, shape, strict=True)), None
    at = left.index("...")
    before, after = left[:at], left[at + 1 :]
    if groups and (len(before) > groups[0] or len(after) > len(shape) - groups[-1] - 1):
        return None
    if not groups and len(before) + len(after) > len(shape):
        raise Mismatch(f'{op}: "{show(shape)}" has fewer dims than "{text}" names')
    ellipsis = shape[len(before) : len(shape) - len(after)]
    pairs = list(zip(before, shape[: len(before)], strict=True))
    pairs += list(zip(after, shape[len(shape) - len(after) :], strict=True))
    return pairs, ellipsis


def _bind_axis(
    sizes: dict[str, Size | None], item: str | list[str], size: Size, shape: Shape, op: str
) -> None:
    """Learn the sizes that one item of a pattern's left side names from its axis's size."""
    names = item if isinstance(item, list) else [item]
    if names == ["1"]:
        if not isinstance(item, list) and not is_one(size) and size.kind in ("int", "name"):
            only = f" (holds only if {size} == 1)" if size.kind == "name" else ""
            raise Mismatch(f"{op}: '1' lines up with {size} in \"{show(shape)}\"{only}")
        return
    if len(names) == 1 and not isinstance(item, list):
        name = names[0]
        seen = sizes.get(name)
        if seen is not None and needs(seen, size) == "differ":
            raise Mismatch(f"{op}: '{name}' is {seen} but the axis is {size} in \"{show(shape)}\"")
        sizes[name] = size
        return
    unknown = [n for n in names if sizes.get(n) is None and n != "1"]
    known = [sizes[n] for n in names if sizes.get(n) is not None and n != "1"]
    if len(unknown) == 1:
        whole = product([k for k in known if k is not None])
        rest = divide(size, whole)
        if rest is None and size.kind != "fresh" and whole.kind != "fresh":
            rest = floordiv(size, whole)  # einops fails unless the axis splits evenly
        sizes[unknown[0]] = rest if rest is not None and rest.kind != "fresh" else fresh(unknown[0])
    elif not unknown:
        got = product([k for k in known if k is not None])
        if needs(got, size) == "differ":
            raise Mismatch(
                f'{op}: ({" ".join(names)}) is {got} but the axis is {size} in "{show(shape)}"'
            )
    else:
        for n in unknown:
            sizes[n] = fresh(n)


def _right_side(
    right: _Side, sizes: dict[str, Size | None], ellipsis: Shape | None, op: str
) -> Shape | None:
    """The output of a pattern's right side, from the sizes its left side named."""
    out: list[Item] = []
    for item in right:
        if item == "...":
            if ellipsis is None:
                return None
            out.extend(ellipsis)
            continue
        names = item if isinstance(item, list) else [item]
        parts: list[Size] = []
        for n in names:
            if n == "1" or n.isdigit():
                parts.append(lit(int(n)))
                continue
            s = sizes.get(n)
            if s is None:
                if op != "einops.repeat":
                    return None
                s = fresh(n)
            parts.append(s)
        out.append(product(parts) if isinstance(item, list) else parts[0])
    return tuple(out)
