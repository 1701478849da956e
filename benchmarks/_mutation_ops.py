"""The mutation operators of `benchmarks/mutation.py`: where a shape bug can be injected.

Each operator looks at one expression node of an annotated function's body and proposes
replacement expressions, each a single shape bug of one kind. A mutant is a precise
source-span edit: the node's text is replaced by `ast.unparse` of the replacement, so the
rest of the file is byte for byte the original. Everything here is pure and deterministic.
"""

import ast
import copy
import dataclasses
import re
from collections.abc import Callable, Iterator

# The bug kinds, in the order reports list them.
KINDS = (
    "matmul",
    "cat_stack",
    "argument",
    "reduction",
    "einsum",
    "index",
    "broadcast",
    "reshape",
)
KIND_TITLES = {
    "matmul": "matmul (transpose, operands)",
    "cat_stack": "cat/stack dim",
    "argument": "wrong or swapped argument",
    "reduction": "reduction dim",
    "einsum": "einsum/einops pattern",
    "index": "slice or index",
    "broadcast": "keepdim, (b,1)-(b,) broadcast",
    "reshape": "reshape, permute or constructor",
}

JAXTYPING_DTYPES = frozenset(
    {
        "Float",
        "Float16",
        "Float32",
        "Float64",
        "BFloat16",
        "Int",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt",
        "UInt8",
        "Integer",
        "Bool",
        "Num",
        "Shaped",
        "Real",
        "Inexact",
        "Complex",
    }
)
_TORCH_ROOTS = frozenset({"torch", "F", "einops", "nn", "th", "t"})
_MATMUL_CALLS = frozenset({"matmul", "bmm", "mm"})
_CAT_CALLS = frozenset({"cat", "concat", "concatenate", "stack"})
_REDUCTIONS = frozenset(
    {
        "sum",
        "mean",
        "max",
        "min",
        "amax",
        "amin",
        "argmax",
        "argmin",
        "prod",
        "std",
        "var",
        "norm",
        "logsumexp",
        "any",
        "all",
        "median",
        "nansum",
        "nanmean",
        "count_nonzero",
    }
)
_RESHAPES = frozenset({"view", "reshape", "expand", "repeat", "permute", "new_zeros", "new_ones"})
_CONSTRUCTORS = frozenset({"zeros", "ones", "empty", "randn", "rand", "full"})
_EINOPS = frozenset({"rearrange", "reduce", "repeat"})
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclasses.dataclass(frozen=True)
class Edit:
    """One proposed bug: replace `node` (an expression of the function) by `new`."""

    kind: str
    node: ast.expr
    new: ast.expr
    note: str


class Aliases(dict[str, str]):
    """A file's names for jaxtyping annotations: aliases (`Points = Float[Tensor, "n 3"]`) to
    their dim strings, and `wrappers`, a project's own wrappers of jaxtyping's dtypes that
    take the dim string alone (`Float["b d"]`, for `Float = TorchTyping(jaxtyping.Float)`)."""

    def __init__(self, wrappers: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.wrappers = wrappers


def jaxtyping_dims(annotation: ast.expr | None, aliases: dict[str, str]) -> str | None:
    """The dim string of a `Float[Tensor, "..."]` annotation (or an alias of one, or a
    wrapper's `Float["..."]`); else None.

    `Optional[...]`, `X | None` and tuples of annotations give the first dim string inside.
    """
    if annotation is None:
        return None
    if isinstance(annotation, ast.Name) and annotation.id in aliases:
        return aliases[annotation.id]
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            return jaxtyping_dims(ast.parse(annotation.value, mode="eval").body, aliases)
        except SyntaxError:
            return None
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return jaxtyping_dims(annotation.left, aliases) or jaxtyping_dims(annotation.right, aliases)
    if not isinstance(annotation, ast.Subscript):
        return None
    head = annotation.value
    name = head.attr if isinstance(head, ast.Attribute) else getattr(head, "id", "")
    inner = annotation.slice
    if isinstance(head, ast.Name) and head.id in getattr(aliases, "wrappers", ()):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
            return inner.value
        return None
    if name in JAXTYPING_DTYPES and isinstance(inner, ast.Tuple) and len(inner.elts) == 2:
        dims = inner.elts[1]
        if isinstance(dims, ast.Constant) and isinstance(dims.value, str):
            return dims.value
        return None
    parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
    for part in parts:
        found = jaxtyping_dims(part, aliases)
        if found is not None:
            return found
    return None


def module_aliases(tree: ast.Module, wrappers: frozenset[str] = frozenset()) -> Aliases:
    """Module-level names bound to a jaxtyping annotation (`Points = Float[Tensor, "n 3"]`),
    with the file's `wrappers` of jaxtyping's dtypes."""
    aliases = Aliases(wrappers)
    for stmt in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        if isinstance(target, ast.Name) and value is not None:
            dims = jaxtyping_dims(value, aliases)
            if dims is not None:
                aliases[target.id] = dims
    return aliases


def _root(node: ast.expr) -> str:
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _is_function_call(node: ast.Call) -> bool:
    """`torch.cat(...)`, `F.softmax(...)`, `cat(...)`: a function, not a tensor's method."""
    func = node.func
    if isinstance(func, ast.Name):
        return True
    return isinstance(func, ast.Attribute) and _root(func.value) in _TORCH_ROOTS


def _int(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return -node.operand.value
    return None


def _const(value: int) -> ast.expr:
    if value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


def _other_dim(dim: int) -> int:
    """A neighbouring dim: -1 -> -2, -2 -> -1, 0 -> 1, k -> k - 1."""
    if dim == -1:
        return -2
    if dim < 0:
        return dim + 1
    return 1 if dim == 0 else dim - 1


def tensor_names(func: ast.FunctionDef | ast.AsyncFunctionDef, aliases: dict[str, str]) -> set[str]:
    """Names in `func` that hold tensors, as far as a quick read can tell.

    Parameters and locals with a jaxtyping annotation, and locals assigned from a torch call
    or from an expression on a name already known to hold a tensor.
    """
    args = [*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs]
    names = {a.arg for a in args if jaxtyping_dims(a.annotation, aliases) is not None}
    for _ in range(3):
        for node in ast.walk(func):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if jaxtyping_dims(node.annotation, aliases) is not None:
                    names.add(node.target.id)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and _tensor_valued(node.value, names):
                    names.add(target.id)
    return names


def _tensor_valued(value: ast.expr, names: set[str]) -> bool:
    if isinstance(value, ast.Attribute) and value.attr in {"shape", "ndim", "dtype", "device"}:
        return False
    if isinstance(value, ast.Call) and _call_name(value) in {"size", "dim", "item", "tolist"}:
        return False
    if isinstance(value, (ast.Call, ast.Subscript, ast.Attribute)):
        root = _root(value)
        return root in names or root in _TORCH_ROOTS
    if isinstance(value, ast.BinOp):
        return _tensor_valued(value.left, names) or _tensor_valued(value.right, names)
    if isinstance(value, ast.Name):
        return value.id in names
    return False


def _is_tensor(node: ast.expr, names: set[str]) -> bool:
    return _tensor_valued(node, names)


# ---- the operators: (node, tensor names) -> edits -------------------------------------------

Operator = Callable[[ast.expr, set[str]], Iterator[Edit]]


def _untransposed(node: ast.expr) -> ast.expr | None:
    """`x` for `x.T`, `x.mT`, `x.t()`, `x.transpose(-1, -2)` (any two dims); else None."""
    if isinstance(node, ast.Attribute) and node.attr in {"T", "mT"}:
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "t" and not node.args:
            return node.func.value
        if node.func.attr in {"transpose", "swapaxes"} and len(node.args) == 2:
            return node.func.value
    return None


def _transposed(node: ast.expr) -> ast.expr:
    args: list[ast.expr] = [_const(-1), _const(-2)]
    return ast.Call(func=ast.Attribute(value=node, attr="transpose"), args=args, keywords=[])


def op_matmul(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    pair: tuple[ast.expr, ast.expr] | None = None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        pair = (node.left, node.right)
    elif (
        isinstance(node, ast.Call)
        and _call_name(node) in _MATMUL_CALLS
        and not node.keywords
        and (len(node.args) == 2 or (len(node.args) == 1 and not _is_function_call(node)))
    ):
        if len(node.args) == 2:
            pair = (node.args[0], node.args[1])
        elif isinstance(node.func, ast.Attribute):
            pair = (node.func.value, node.args[0])
    if pair is None:
        return
    left, right = pair

    def rebuild(a: ast.expr, b: ast.expr) -> ast.expr:
        new = copy.deepcopy(node)
        if isinstance(new, ast.BinOp):
            new.left, new.right = a, b
        elif isinstance(new, ast.Call) and len(new.args) == 2:
            new.args = [a, b]
        elif isinstance(new, ast.Call) and isinstance(new.func, ast.Attribute):
            new.func.value, new.args = a, [b]
        return new

    plain = _untransposed(right)
    if plain is not None:
        yield Edit("matmul", node, rebuild(left, plain), "transpose of the right operand dropped")
    else:
        yield Edit("matmul", node, rebuild(left, _transposed(right)), "extra transpose")
    yield Edit("matmul", node, rebuild(right, left), "operands swapped")


def op_cat_stack(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    if not (isinstance(node, ast.Call) and _call_name(node) in _CAT_CALLS):
        return
    if not _is_function_call(node) or not node.args:
        return
    if _dim_given(node, 1):
        yield from _moved_dim("cat_stack", node, 1)
        return
    new = copy.deepcopy(node)
    new.keywords.append(ast.keyword(arg="dim", value=_const(1)))
    yield Edit("cat_stack", node, new, "dim 0 -> 1")


def _dim_given(node: ast.Call, position: int) -> bool:
    """Whether the call names its dim: a `dim`/`axis` keyword, or an argument at `position`."""
    return len(node.args) > position or any(kw.arg in {"dim", "axis"} for kw in node.keywords)


def _moved_dim(kind: str, node: ast.Call, position: int) -> Iterator[Edit]:
    """The call with its dim (the `dim`/`axis` keyword, else the argument at `position`) moved
    to another axis; nothing where that dim is not a literal int."""
    new = copy.deepcopy(node)
    keyword = next((kw for kw in new.keywords if kw.arg in {"dim", "axis"}), None)
    if keyword is not None:
        given: ast.expr | None = keyword.value
    else:
        given = new.args[position] if len(new.args) > position else None
    dim = None if given is None else _int(given)
    if dim is None:
        return
    if keyword is not None:
        keyword.value = _const(_other_dim(dim))
    else:
        new.args[position] = _const(_other_dim(dim))
    yield Edit(kind, node, new, f"dim {dim} -> {_other_dim(dim)}")


# Elementwise ops of two operands: their result has the broadcast shape of both in either
# order, so swapping the operands changes values, never a shape.
_ELEMENTWISE_PAIRS = frozenset(
    {
        "add",
        "sub",
        "subtract",
        "mul",
        "multiply",
        "div",
        "divide",
        "true_divide",
        "floor_divide",
        "maximum",
        "minimum",
        "fmax",
        "fmin",
        "pow",
        "atan2",
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "logical_and",
        "logical_or",
        "logical_xor",
        "hypot",
    }
)


def op_argument(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    if not isinstance(node, ast.Call):
        return
    called = _call_name(node)
    if called in _MATMUL_CALLS | _CAT_CALLS | {"einsum", "where"} | _EINOPS | _ELEMENTWISE_PAIRS:
        return
    positions = [i for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id in names]
    distinct: dict[str, int] = {}
    for i in positions:
        arg = node.args[i]
        assert isinstance(arg, ast.Name)
        distinct.setdefault(arg.id, i)
    if len(distinct) < 2:
        return
    (i, j) = sorted(distinct.values())[:2]
    new = copy.deepcopy(node)
    new.args[i], new.args[j] = new.args[j], new.args[i]
    first, second = ast.unparse(node.args[i]), ast.unparse(node.args[j])
    yield Edit("argument", node, new, f"arguments {first} and {second} swapped")


def op_reduction(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    if not (isinstance(node, ast.Call) and _call_name(node) in _REDUCTIONS):
        return
    if _is_function_call(node):
        if not node.args or not _is_tensor(node.args[0], names):
            return
        first = 1
    else:
        assert isinstance(node.func, ast.Attribute)
        if not _is_tensor(node.func.value, names):
            return
        first = 0
    yield from _moved_dim("reduction", node, first)


def _swap_tokens(text: str, single_letters: bool) -> str | None:
    """`text` with its first two distinct dim names swapped; None when it has fewer than two.
    Two names inside one einops group `(b n)` are never the pair: swapping them keeps every
    size, so it is no shape bug."""
    pattern = re.compile(r"[A-Za-z]") if single_letters else _NAME
    found = [
        (m.start(), m.end(), m.group(), _group_at(text, m.start())) for m in pattern.finditer(text)
    ]
    for i, (s1, e1, a, group) in enumerate(found):
        for s2, e2, b, other in found[i + 1 :]:
            if b != a and (group is None or group != other):
                return text[:s1] + b + text[e1:s2] + a + text[e2:]
    return None


def _group_at(text: str, at: int) -> int | None:
    """The offset of the `(` of the einops group that `at` lies in, or None outside groups."""
    opened = text.rfind("(", 0, at)
    return opened if opened > text.rfind(")", 0, at) else None


def _swap_pattern(pattern: str, single_letters: bool) -> tuple[str, str] | None:
    if "->" not in pattern:
        return None
    lhs, rhs = pattern.split("->", 1)
    swapped = _swap_tokens(rhs, single_letters)
    if swapped is not None:
        return lhs + "->" + swapped, "two output dims swapped"
    inputs = lhs.split(",")
    swapped = _swap_tokens(inputs[0], single_letters)
    if swapped is None:
        return None
    return ",".join([swapped, *inputs[1:]]) + "->" + rhs, "two dims of the first input swapped"


def op_einsum(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    if not isinstance(node, ast.Call):
        return
    called = _call_name(node)
    index: int | None = None
    single = False
    if called == "einsum" and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            index = 0  # torch.einsum("ij,jk->ik", a, b)
            single = " " not in first.value.strip() or _root(node.func) in {"torch", "th"}
        else:
            index = len(node.args) - 1  # einops.einsum(a, b, "i j, j k -> i k")
    elif called in _EINOPS and len(node.args) >= 2 and _is_function_call(node):
        index = 1
    if index is None:
        return
    arg = node.args[index]
    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
        return
    swapped = _swap_pattern(arg.value, single)
    if swapped is None:
        return
    new = copy.deepcopy(node)
    new.args[index] = ast.Constant(swapped[0])
    yield Edit("einsum", node, new, swapped[1])


def _slice_elements(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]


def _with_elements(node: ast.Subscript, elements: list[ast.expr]) -> ast.Subscript:
    new = copy.deepcopy(node)
    new.slice = ast.Tuple(elts=elements, ctx=ast.Load()) if len(elements) != 1 else elements[0]
    return new


def _is_full(node: ast.expr) -> bool:
    return isinstance(node, ast.Slice) and node.lower is node.upper is node.step is None


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def op_index(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)):
        return
    if not (isinstance(node.value, ast.Name) and node.value.id in names):
        return
    elements = _slice_elements(node)
    if any(isinstance(e, ast.Constant) and e.value is None for e in elements):
        return  # adding axes: the broadcast operator's business
    for i, element in enumerate(elements):
        if isinstance(element, ast.Slice) and element.step is None:
            upper, lower = _int(element.upper), _int(element.lower)
            moved = copy.deepcopy(element)
            if upper is not None and upper != 0:
                moved.upper = _const(upper - 1)
                note = f"slice end {upper} -> {upper - 1}"
            elif lower is not None and element.upper is None and lower != -1:
                moved.lower = _const(lower + 1)
                note = f"slice start {lower} -> {lower + 1}"
            else:
                continue
            changed = [*elements[:i], moved, *elements[i + 1 :]]
            yield Edit("index", node, _with_elements(node, changed), note)
            return
    for i, element in enumerate(elements):
        if _int(element) is None:
            continue
        # An integer index moved one axis: x[..., 0] -> x[..., 0, :]; x[:, 0] -> x[0, :].
        full: ast.expr = ast.Slice(lower=None, upper=None, step=None)
        if i > 0 and _is_full(elements[i - 1]):
            shifted = [*elements[: i - 1], element, elements[i - 1], *elements[i + 1 :]]
            note = "index moved one axis left"
        elif i > 0 and _is_ellipsis(elements[i - 1]):
            shifted = [*elements[: i + 1], full, *elements[i + 1 :]]
            note = "index moved one axis left"
        else:
            shifted = [*elements[:i], full, *elements[i:]]
            note = "index moved one axis right"
        yield Edit("index", node, _with_elements(node, shifted), note)
        return


def _keepdim_dropped(node: ast.expr) -> ast.expr | None:
    if not isinstance(node, ast.Call):
        return None
    keep = [k for k in node.keywords if k.arg in {"keepdim", "keepdims"}]
    if not keep or not (isinstance(keep[0].value, ast.Constant) and keep[0].value.value is True):
        return None
    new = copy.deepcopy(node)
    new.keywords = [k for k in new.keywords if k.arg not in {"keepdim", "keepdims"}]
    return new


def _unsqueeze_dropped(node: ast.expr) -> ast.expr | None:
    """`x` for `x[..., None]`, `x[:, None]`, `x.unsqueeze(-1)`; else None."""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        elements = _slice_elements(node)
        nones = [e for e in elements if isinstance(e, ast.Constant) and e.value is None]
        if nones and all(e in nones or _is_full(e) or _is_ellipsis(e) for e in elements):
            return node.value
    if (
        isinstance(node, ast.Call)
        and _call_name(node) == "unsqueeze"
        and not _is_function_call(node)
    ):
        assert isinstance(node.func, ast.Attribute)
        return node.func.value
    return None


def op_broadcast(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    dropped = _keepdim_dropped(node)
    if dropped is not None:
        yield Edit("broadcast", node, dropped, "keepdim=True dropped")
        return
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        for side in ("left", "right"):
            operand: ast.expr = getattr(node, side)
            plain = _unsqueeze_dropped(operand)
            if plain is not None and _is_tensor(plain, names):
                new = copy.deepcopy(node)
                setattr(new, side, plain)
                yield Edit("broadcast", node, new, "new axis before broadcasting dropped")
                return


def _swap_first_distinct(args: list[ast.expr]) -> list[ast.expr] | None:
    texts = [ast.unparse(a) for a in args]
    for i in range(len(args)):
        for j in range(i + 1, len(args)):
            if texts[i] != texts[j] and "-1" not in (texts[i], texts[j]):
                swapped = list(args)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                return swapped
    return None


def op_reshape(node: ast.expr, names: set[str]) -> Iterator[Edit]:
    if not isinstance(node, ast.Call) or (node.keywords and _call_name(node) not in _CONSTRUCTORS):
        return
    called = _call_name(node)
    is_function = _is_function_call(node)
    if called in _RESHAPES and not is_function:
        assert isinstance(node.func, ast.Attribute)
        if not _is_tensor(node.func.value, names):
            return
        args = list(node.args)
        packed = len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List))
        if packed:
            first = args[0]
            assert isinstance(first, (ast.Tuple, ast.List))
            args = list(first.elts)
        if any(isinstance(a, ast.Starred) for a in args):
            return
        swapped = _swap_first_distinct(args)
        if swapped is None:
            return
        new = copy.deepcopy(node)
        if packed:
            inner = new.args[0]
            assert isinstance(inner, (ast.Tuple, ast.List))
            inner.elts = swapped
        else:
            new.args = swapped
        yield Edit("reshape", node, new, f"{called} sizes swapped")
        return
    if called in _CONSTRUCTORS and is_function and _root(node.func) in {"torch", "th"}:
        sizes = list(node.args[:-1] if called == "full" else node.args)
        packed = len(sizes) == 1 and isinstance(sizes[0], (ast.Tuple, ast.List))
        if packed:
            first = sizes[0]
            assert isinstance(first, (ast.Tuple, ast.List))
            sizes = list(first.elts)
        if not sizes or any(isinstance(a, ast.Starred) for a in sizes):
            return
        swapped = _swap_first_distinct(sizes)
        note = f"torch.{called} sizes swapped"
        if swapped is None and len(sizes) == 1 and not packed and isinstance(sizes[0], ast.Name):
            return  # `torch.ones(shape)`: the name may hold a whole shape, not one size
        if swapped is None:
            swapped = [*sizes[:-1], ast.BinOp(left=sizes[-1], op=ast.Add(), right=ast.Constant(1))]
            note = f"torch.{called} last size + 1"
        new = copy.deepcopy(node)
        if packed:
            inner = new.args[0]
            assert isinstance(inner, (ast.Tuple, ast.List))
            inner.elts = swapped
        else:
            new.args = [*swapped, *new.args[len(sizes) :]]
        yield Edit("reshape", node, new, note)


OPERATORS: tuple[Operator, ...] = (
    op_matmul,
    op_cat_stack,
    op_argument,
    op_reduction,
    op_einsum,
    op_index,
    op_broadcast,
    op_reshape,
)


def function_body_nodes(func: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.expr]:
    """The expressions of `func`'s body, nested functions and classes left out, in order."""
    stack: list[ast.AST] = list(reversed(func.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.expr):
            yield node
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def edits(func: ast.FunctionDef | ast.AsyncFunctionDef, aliases: dict[str, str]) -> list[Edit]:
    """Every bug the operators propose in `func`, in source order."""
    names = tensor_names(func, aliases)
    found: list[Edit] = []
    for node in function_body_nodes(func):
        if isinstance(getattr(node, "ctx", None), (ast.Store, ast.Del)):
            continue
        for operator in OPERATORS:
            found.extend(operator(node, names))
    return found


def apply(source: str, edit: Edit) -> tuple[str, str, str]:
    """The mutated source, the node's text before and its text after."""
    raw = source.encode()
    starts = [0]
    for line in raw.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    node = edit.node
    assert node.end_lineno is not None and node.end_col_offset is not None
    begin = starts[node.lineno - 1] + node.col_offset
    end = starts[node.end_lineno - 1] + node.end_col_offset
    after = ast.unparse(edit.new)
    if type(edit.new) is not type(node) and not isinstance(
        edit.new, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)
    ):
        after = f"({after})"
    before = raw[begin:end].decode()
    mutated = (raw[:begin] + after.encode() + raw[end:]).decode()
    return mutated, before, after
