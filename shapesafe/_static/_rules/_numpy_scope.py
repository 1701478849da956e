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
    return not _names(fn, ("torch", "F"))


def names_numpy(reader: Reader) -> bool:
    """Whether the function being read names numpy (`np`, `numpy`) anywhere in it."""
    fn = getattr(reader, "fn", None)
    return isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and _names(fn, ("np", "numpy"))


def _names(fn: ast.FunctionDef | ast.AsyncFunctionDef, names: tuple[str, ...]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in walk(fn))


def _chain_root(node: ast.expr) -> ast.expr:
    """What a chain of methods, attributes and subscripts starts from: the `np.linspace(...)`
    of `np.linspace(...).reshape(1, w)`, the `xs` of `xs.reshape(1, w)[0]`."""
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if _numpy_name(node.func):
                return node
            node = node.func.value
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        else:
            return node


def _numpy_name(node: ast.expr) -> bool:
    return (dotted_name(node) or "").split(".", 1)[0] in ("np", "numpy")


def _numpy_made(node: ast.expr) -> bool:
    root = _chain_root(node)
    return isinstance(root, ast.Call) and _numpy_name(root.func)


def may_be_array(reader: Reader, node: ast.expr) -> bool:
    """Whether `node` may be a numpy array, whose methods of torch's names (`repeat`) mean
    another thing: it is made by a numpy call, or is a name that the function being read
    binds to one, or a parameter annotated as an array."""
    root = _chain_root(node)
    if _numpy_made(node):
        return True
    fn = getattr(reader, "fn", None)
    if not isinstance(root, ast.Name) or not isinstance(
        fn, (ast.FunctionDef, ast.AsyncFunctionDef)
    ):
        return False
    a = fn.args
    for p in [*a.posonlyargs, *a.args, *a.kwonlyargs]:
        if p.arg == root.id and p.annotation is not None:
            if "ndarray" in _array_types(p.annotation) | {
                (dotted_name(p.annotation) or "").rsplit(".", 1)[-1]
            }:
                return True
    return any(
        isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == root.id for t in n.targets)
        and _numpy_made(n.value)
        for n in walk(fn)
    )
