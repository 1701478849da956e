"""Whether the function being read works on numpy arrays alone, where numpy's and torch's
spellings of one method differ in what they give: `a.min(axis=1)` is one array in numpy
and (values, indices) in torch, which takes `axis=` as another name of `dim=`."""

import ast

from .._source import dotted_name, walk
from ._registry import Reader


def _array_types(node: ast.expr | None) -> set[str]:
    """The array types that jaxtyping annotations within `node` name: `ndarray`, `Tensor`."""
    found: set[str] = set()
    for sub in walk(node) if node is not None else ():
        if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Tuple) and sub.slice.elts:
            found.add((dotted_name(sub.slice.elts[0]) or "").rsplit(".", 1)[-1])
    return found


def numpy_only(reader: Reader) -> bool:
    """The function's annotations name numpy arrays and never a tensor, and its body
    names no torch module."""
    fn = getattr(reader, "fn", None)
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    types: set[str] = set()
    for node in [p.annotation for p in params] + [fn.returns]:
        types |= _array_types(node)
    if "ndarray" not in types or "Tensor" in types:
        return False
    return not any(isinstance(n, ast.Name) and n.id in ("torch", "F") for n in walk(fn))
