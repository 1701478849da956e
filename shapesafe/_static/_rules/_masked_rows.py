"""`x[mask] = v`: the rows a boolean mask picks, on both sides of one assignment.

Each pick by a mask has a size of its own that the mask's values decide. Within one
statement the mask is one value, so its picks of tensors whose leading axes are the mask's
shape all have as many rows: `norm[m] = pos[m].norm(dim=1, keepdim=True)` copies one row
into each row it picks."""

import ast

from .._report import _text
from .._source import walk
from .._unify import Shape, Size, show
from ._registry import Reader


def _mask(reader: Reader, target: ast.Subscript, part: Shape) -> Size | None:
    """The size of the rows `x[mask]` picks, where the target is a boolean mask's pick."""
    mask = target.slice
    if isinstance(mask, (ast.Tuple, ast.Slice)) or not part:
        return None
    kind = getattr(reader, "index_kind", None)  # the scope's, as subscripts read it
    if not isinstance(reader.seen.get(id(mask)), tuple) or kind is None or kind(mask) != "bool":
        return None
    rows = part[0]
    return rows if isinstance(rows, Size) and rows.kind == "fresh" else None


def same_rows(
    reader: Reader, target: ast.Subscript, source: ast.expr, part: Shape, v: Shape
) -> Shape:
    """`v` with the rows of each pick by the target's mask within `source` (`pos[m]`) read
    as the rows the target picks; a message where `v` has a literal number of rows other
    than 1 lined up with them, which holds only if the mask holds true that many times."""
    rows = _mask(reader, target, part)
    if rows is None:
        return v
    text = ast.unparse(target.slice)
    same: set[Size] = set()
    for node in walk(source):
        if isinstance(node, ast.Subscript) and ast.unparse(node.slice) == text:
            picked = reader.seen.get(id(node))
            if isinstance(picked, tuple) and picked and isinstance(picked[0], Size):
                if picked[0].kind == "fresh":
                    same.add(picked[0])
    v = tuple(rows if isinstance(i, Size) and i in same else i for i in v)
    lead = v[0] if len(v) == len(part) else None
    if isinstance(lead, Size) and lead.kind == "int" and lead.value != 1:
        tx, tv = _text(reader.module, target), _text(reader.module, source)
        reader.file.report(
            target,
            f'{tx} = {tv}: {tv} "{show(v)}" has {lead} rows, but {tx} has as many rows as '
            f"{text} holds True (holds only if it holds True {lead} times)",
        )
        return part
    return v
