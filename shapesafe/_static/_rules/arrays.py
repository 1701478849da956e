"""Rules of numpy's functions, where an array annotated `Float[np.ndarray, "n d"]` meets
them: each reads as the torch op or tensor method of the same meaning, with numpy's
keywords (`axis`, `keepdims`) in torch's words (`dim`, `keepdim`)."""

import ast

from .. import _torch as T
from .._unify import Group
from .._values import IntV, Value
from ._registry import FUNCTIONS, METHODS, PASS, Call, _Pass, apply, function, method

# numpy function -> the torch function whose rule gives its shape.
AS_FUNCTION = {
    "concatenate": "torch.cat",
    "stack": "torch.stack",
    "matmul": "torch.matmul",
    "einsum": "torch.einsum",
    "where": "torch.where",
    "zeros": "torch.zeros",
    "ones": "torch.ones",
    "empty": "torch.empty",
    "full": "torch.full",
    "eye": "torch.eye",
    "random.rand": "torch.rand",
    "random.randn": "torch.randn",
    "linalg.norm": "torch.linalg.norm",
    "linalg.inv": "torch.linalg.inv",
    "linalg.cholesky": "torch.linalg.cholesky",
    "linalg.det": "torch.linalg.det",
    "linalg.svd": "torch.linalg.svd",
    "linalg.eigh": "torch.linalg.eigh",
    "cov": "torch.cov",
    "corrcoef": "torch.corrcoef",
    "diag": "torch.diag",
    "pad": "",  # numpy's pad widths are per axis, not torch's reversed pairs
    "outer": "torch.outer",
    **{f"{n}_like": f"torch.{n}_like" for n in ("zeros", "ones", "empty", "full")},
}
# numpy function -> the tensor method, on its first argument, whose rule gives its shape.
AS_METHOD = {
    **{
        n: n
        for n in """exp log sqrt abs sin cos tan tanh sign floor ceil clip square log1p expm1
        arcsin arccos arctan negative reciprocal tile
        sum mean prod std var any all argmax argmin cumsum cumprod maximum minimum add
        subtract multiply divide power squeeze reshape moveaxis swapaxes argsort
        """.split()
    },
    "max": "amax",  # an array, not torch's (values, indices)
    "min": "amin",
    "amax": "amax",
    "amin": "amin",
    "expand_dims": "unsqueeze",
    "ravel": "flatten",
    "copy": "clone",
    "asarray": "clone",
    "array": "clone",
}
_KEYWORDS = {"axis": "dim", "keepdims": "keepdim"}


def _renamed(c: Call, name: str, x: Value, drop_first: bool, qual: str | None = None) -> Call:
    """The call as torch spells it, named `name` (`qual` for a function); without its first
    argument for a method."""
    node = c.node
    keywords = [
        ast.keyword(arg=_KEYWORDS.get(k.arg, k.arg) if k.arg else None, value=k.value)
        for k in node.keywords
    ]
    args = node.args[1:] if drop_first else node.args
    spelled = ast.Call(func=node.func, args=list(args), keywords=keywords)
    ast.copy_location(spelled, node)
    kwargs = {_KEYWORDS.get(k, k): v for k, v in c.kwargs.items()}
    values = c.args[1:] if drop_first else c.args
    return Call(c.reader, spelled, name, values, kwargs, list(args), x, qual)


@function(*(f"numpy.{n}" for n in AS_FUNCTION))
def as_function(c: Call) -> Value | _Pass:
    assert c.qual is not None
    torch_name = AS_FUNCTION[c.qual.removeprefix("numpy.")]
    if not torch_name:
        return None
    if torch_name == "torch.full" and c.args and isinstance(c.args[0], IntV):
        size = c.reader.size_of(c.args[0])  # `np.full(n, 0.0)`: n numbers
        return None if size is None else (size,)
    last = torch_name.rsplit(".", 1)[-1]
    return apply(FUNCTIONS, torch_name, _renamed(c, last, c.x, False, torch_name))


@function(*(f"numpy.{n}" for n in AS_METHOD))
def as_method(c: Call) -> Value | _Pass:
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    assert c.qual is not None
    name = AS_METHOD[c.qual.removeprefix("numpy.")]
    return apply(METHODS, name, _renamed(c, name, x, True))


@function("numpy.transpose")
def transpose(c: Call) -> Value | _Pass:
    """`np.transpose(a)` reverses the axes; `np.transpose(a, axes)` permutes them."""
    x = c.x
    if not isinstance(x, tuple):
        return PASS
    if len(c.args) == 1 and not c.kwargs:
        return x[::-1] if not any(isinstance(i, Group) for i in x) else None
    return apply(METHODS, "permute", _renamed(c, "permute", x, True))


@method("ravel")
def ravel(c: Call) -> Value | _Pass:
    """`a.ravel()`, numpy's and torch's: the array flattened."""
    return apply(METHODS, "flatten", Call(c.reader, c.node, "flatten", [], {}, [], c.x))


@function("numpy.dot")
def dot(c: Call) -> Value | _Pass:
    """`np.dot(a, b)` of vectors and matrices is their product, as `a @ b`; of arrays of
    more axes it sums over other axes than matmul does."""
    ranks = [T.rank(v) if isinstance(v, tuple) else None for v in c.args[:2]]
    if len(ranks) != 2 or c.kwargs or any(r is None or not 1 <= r <= 2 for r in ranks):
        return None
    return apply(FUNCTIONS, "torch.matmul", _renamed(c, "matmul", c.x, False, "torch.matmul"))
