"""Reporting: findings, what `--stats` counts, where an unknown shape came from, and the
text of messages."""

import ast
import dataclasses
import functools
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from .._contract import Conflict, Spec, TensorParam, paren_note
from ._modules import (
    ClassModel,
    _external,
)
from ._source import (
    Module,
    _number_annotation,
    _params,
    dotted_name,
    per_node,
)
from ._unify import (
    Group,
    Shape,
    Size,
    Unifier,
    equality_note,
    show,
)
from ._values import (
    IntV,
    LayerV,
    ListV,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
    _callable,
)

if TYPE_CHECKING:
    from ._calls import BodyCall
    from ._file import FileChecker


_EXPLAIN = os.environ.get("SHAPESAFE_CHECK_EXPLAIN", "") not in ("", "0")


# Where the shape of an annotated relation's value was lost (see `_Scope.lost`).
_LOST_LOOKUP = "a lookup in a dict, list or tuple"


_LOST_MERGE = "branches or loop iterations that give different shapes"


_LOST_RULE = "an op or index without a shape rule for its arguments"


_LOST_OTHER = "other"


_LOST_BLANK = "ops whose result has no known rank or size"


_LOST_ATTRIBUTE = "an attribute without a known shape"
_LOST_UNKNOWN_CALLEE = "a call of an object the checker does not know (from a library, a callable)"


_FROM_DATA = frozenset(
    """torch.from_numpy torch.tensor torch.as_tensor torch.Tensor torch.FloatTensor
    torch.LongTensor torch.load""".split()
)


_KEEPS_RECEIVER = frozenset(
    """view reshape permute transpose unsqueeze squeeze flatten expand repeat sum mean max
    min norm softmax log_softmax index_select gather masked_fill mul add sub div matmul
    t mT T type""".split()
)


_CONTAINERS = frozenset("dict mapping list sequence tuple iterable".split())


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One certain shape mismatch. `line` and `col` are 1-based."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: shape: {self.message}"


@dataclasses.dataclass
class Stats:
    """What a run looked at, so that no findings can be told apart from nothing checked."""

    files: int = 0
    functions: int = 0
    calls: int = 0
    calls_known: Counter[str] = dataclasses.field(default_factory=Counter)
    relations: int = 0
    # Relations between an annotation and a value: checked, by kind.
    annotated: Counter[str] = dataclasses.field(default_factory=Counter)
    unknown: Counter[str] = dataclasses.field(default_factory=Counter)
    # Annotated relations not checked, by where their value's shape was lost.
    lost: Counter[str] = dataclasses.field(default_factory=Counter)
    # Relations with an annotation that states no shape (`"..."`): counted apart.
    shapeless: int = 0

    def add(self, other: "Stats") -> None:
        self.files += other.files
        self.functions += other.functions
        self.calls += other.calls
        self.calls_known.update(other.calls_known)
        self.relations += other.relations
        self.annotated.update(other.annotated)
        self.unknown.update(other.unknown)
        self.lost.update(other.lost)
        self.shapeless += other.shapeless

    def lines(self) -> list[str]:
        known = sum(self.calls_known.values())
        out = [
            f"files: {self.files}, functions and scopes: {self.functions}",
            f"calls: {self.calls}, with a shape rule or contract: {known} "
            + "("
            + ", ".join(f"{k} {v}" for k, v in sorted(self.calls_known.items()))
            + ")",
            f"shape relations checked: {self.relations}",
            self._annotated_line(),
        ]
        if self.lost:
            out.append("annotated relations not checked, by where the value's shape was lost:")
            out += [f"  {n:6d}  {why}" for why, n in self.lost.most_common()]
        out.append(f"relations not checked (unknown): {sum(self.unknown.values())}")
        out += [f"  {n:6d}  {why}" for why, n in self.unknown.most_common()]
        return out

    def _annotated_line(self) -> str:
        parts = []
        checked = unknown = 0
        for kind, why in _ANNOTATED.items():
            done, missed = self.annotated[kind], self.unknown[why]
            checked, unknown = checked + done, unknown + missed
            parts.append(f"{kind}s {done}/{done + missed}")
        apart = (
            f"; {self.shapeless} more against annotations of any shape" if self.shapeless else ""
        )
        line = f"annotated relations checked: {checked} of {checked + unknown}"
        return f"{line} ({', '.join(parts)}{apart})"


# Each kind of annotated relation, and the reason counted when its value's shape is unknown.
Env = dict[str, Value]

_ANNOTATED = {
    "argument": "argument of unknown shape",
    "return": "return value of unknown shape",
    "annotated assignment": "annotated assignment of unknown shape",
}


def _text(module: Module, node: ast.AST, limit: int = 40) -> str:
    """The source text of `node`, on one line and cut to `limit` characters."""
    text = _segment(module, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _segment(module: Module, node: ast.AST) -> str | None:
    # ast.get_source_segment splits the whole source on each call; split it once per file.
    lines: list[bytes] = per_node(
        module,
        "lines",
        module.tree,
        lambda: [line.encode() for line in module.source.splitlines(True)],
    )
    try:
        first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined]
        start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
    except AttributeError:
        return None
    if end is None or last is None or last >= len(lines):
        return None
    if first == last:
        return str(lines[first][start:end].decode(errors="replace"))
    parts = [lines[first][start:], *lines[first + 1 : last], lines[last][:end]]
    return b"".join(parts).decode(errors="replace")


_SAME_SHAPE_METHODS = frozenset(
    """contiguous clone detach float double half bfloat16 to cpu cuda abs neg exp log relu
    sigmoid tanh requires_grad_ sqrt rsqrt type_as long int bool byte sin cos square
    clamp clamp_ clip fill_ zero_ normal_ uniform_ detach_ nan_to_num round sign floor ceil
    triu tril cumsum cumprod softmax log_softmax exp_ reciprocal
    log1p expm1 erf gelu silu sigmoid_ relu_ tanh_ masked_fill_ logical_not
    isnan isinf isfinite pin_memory share_memory_ flip roll astype""".split()
) | frozenset(
    """acos asin atan tan sinh cosh asinh acosh atanh deg2rad rad2deg exp2 log2 log10 trunc
    frac logit erfinv sgn signbit cuda_ cpu_ abs_ neg_ clip_ nan_to_num_ sqrt_ rsqrt_ log_
    log1p_ expm1_ reciprocal_ square_ sin_ cos_ floor_ ceil_ round_ trunc_ frac_ sign_ erf_
    exponential_ bernoulli_ clamp_min_ clamp_max_""".split()
)
# In-place methods with a second operand: the result keeps the receiver's shape.
IN_PLACE_BINARY = frozenset(
    """add_ sub_ mul_ div_ pow_ fmod_ remainder_ atan2_ hypot_ copysign_ floor_divide_
    true_divide_ multiply_ subtract_ divide_ maximum_ minimum_ fmax_ fmin_ lerp_ xlogy_
    logical_and_ logical_or_ logical_xor_ bitwise_and_ bitwise_or_ bitwise_xor_ eq_ ne_ lt_
    le_ gt_ ge_ copy_ addcmul_ addcdiv_""".split()
)

# In-place methods that keep the receiver's shape and write values at an index tensor's places.
SCATTERS_IN_PLACE = frozenset(("scatter_", "scatter_add_", "scatter_reduce_"))

# The in-place methods that move, add or drop axes of their tensor. Every other in-place
# method of a tensor (`scatter_`, `index_add_`, `masked_scatter_`...) keeps its shape.
MOVES_AXES_IN_PLACE = frozenset(
    """unsqueeze_ squeeze_ t_ transpose_ swapdims_ swapaxes_ resize_ resize_as_ set_
    as_strided_""".split()
)
# In-place methods without a rule of their own, which give back their tensor, of its shape
# (the scatters have theirs, which compare the index's rank).
KEEPS_SHAPE_IN_PLACE = frozenset(
    """index_add_ index_copy_ index_fill_ index_put_
    index_reduce_ masked_scatter_ put_ fill_diagonal_ random_ cauchy_ geometric_
    log_normal_""".split()
)

# Methods whose unknown result `--stats` traces back to their receiver (`_Scope.lost_call`).
_FOLLOWS_RECEIVER = (
    _SAME_SHAPE_METHODS
    | IN_PLACE_BINARY
    | KEEPS_SHAPE_IN_PLACE
    | SCATTERS_IN_PLACE
    | _KEEPS_RECEIVER
)


def _scalar(node: ast.expr, v: Value) -> bool:
    if isinstance(v, (IntV, SymV, NumV)):
        return True
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _identity(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The parameter a method returns unchanged, when that is all its body does."""
    body = [
        s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    params = [a.arg for a in fn.args.args[1:]]
    if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Name):
        if params and body[0].value.id == params[0]:
            return params[0]
    return None


def _alternatives(module: Module, node: ast.expr | None) -> list[TensorParam] | None:
    """A Union of two or more tensor annotations (None aside), as its alternatives."""
    if node is None:
        return None
    members = _members(module, node)
    if len(members) < 2:
        return None
    found = [module.annotation(m) for m in members]
    if any(f is None for f in found):
        return None
    return [f for f in found if f is not None]


def tensor_or_number(module: Module, node: ast.expr | None) -> TensorParam | None:
    """`Int[Tensor, ""] | int`: the one tensor annotation of a Union whose other members
    are Python numbers (None aside)."""
    if node is None:
        return None
    members = _members(module, node)
    tensors = [m for m in members if not _number_annotation(m)]
    if len(tensors) != 1 or len(members) < 2:
        return None
    return module.annotation(tensors[0])


def _members(module: Module, node: ast.expr) -> list[ast.expr]:
    """The members of a Union annotation, through aliases, None left out."""
    members: list[ast.expr] = []
    todo = [node]
    followed: set[str] = set()
    while todo:
        part = todo.pop()
        if isinstance(part, ast.Name) and part.id in module.aliases and part.id not in followed:
            # `RMSNormInput = Union[Float[...], Float[...]]`
            followed.add(part.id)
            todo.append(module.aliases[part.id])
            continue
        if isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr):
            todo += [part.right, part.left]
        elif (
            isinstance(part, ast.Subscript)
            and (dotted_name(part.value) or "").rsplit(".", 1)[-1] == "Union"
        ):
            elts = list(part.slice.elts) if isinstance(part.slice, ast.Tuple) else [part.slice]
            todo += reversed(elts)
        else:
            members.append(part)
    return [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]


def _call_text(module: Module, op: str, node: ast.Call) -> str:
    parts = [_text(module, a, 24) for a in node.args]
    parts += [f"{k.arg}={_text(module, k.value, 24)}" if k.arg else "**..." for k in node.keywords]
    return f"{op}({', '.join(parts)})"


def _message(
    where: str, c: Conflict, shown: dict[str, tuple[str, Shape]], unifier: Unifier | None = None
) -> str:
    text = _headline(where, c, shown)
    notes = []
    for name in dict.fromkeys([c.argument, c.source.argument if c.source else c.argument]):
        shape = shown.get(name, ("", ()))[1]
        for item, size, source in unifier.learned(shape) if unifier else []:
            # Only a note that tells which axis became what: `?seq is s`, not `? is ?`.
            if _unnamed(size) or (_unnamed(item) and sum(map(_unnamed, shape)) > 1):
                continue
            notes.append(f"{item} is {size} from {shown.get(source, (source,))[0]}")
    if c.kind in ("fixed", "size", "symbolic"):
        needed = equality_note(c.expected, c.actual)
        if needed:
            notes.append(needed)
    note = paren_note(c.spec)
    if note is not None:
        notes.append(note)
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _headline(where: str, c: Conflict, shown: dict[str, tuple[str, Shape]]) -> str:
    text, shape = shown.get(c.argument, (c.argument, ()))
    here = f'{text} "{show(shape)}"'
    spec: Spec | None = c.spec
    spec_text = spec.text if spec is not None else ""
    if c.kind == "rank":
        assert spec is not None
        n = sum(1 for i in shape if isinstance(i, Size))
        has = f"at least {n}" if any(isinstance(i, Group) for i in shape) else str(n)
        atleast = "at least " if spec.variadic_index is not None else ""
        runs = [i for i in shape if isinstance(i, Group)]
        if spec.variadic_index is not None and len(runs) == 1 and runs[0].cut + runs[0].end:
            # what is left of the run bound to the spec's variadic dim (`*b[1:]`, `*b[:-1]`)
            run = runs[0]
            ends = [
                k if e == 1 else f"{k} {e}" for k, e in (("first", run.cut), ("last", run.end)) if e
            ]
            axes = "axis" if run.cut + run.end == 1 else "axes"
            return (
                f"{where}: {here} has {n - run.cut - run.end} dims besides *{run.name} ({run} "
                f"is *{run.name} without its {' and '.join(ends)} {axes}), expected "
                f"{spec.min_rank} for '{c.argument}' \"{spec_text}\""
            )
        if spec.variadic_index is not None and len(runs) == 1:
            # the run bound to the spec's variadic dim, with other axes around it
            return (
                f"{where}: {here} has {n} dims besides {runs[0]}, expected {spec.min_rank} "
                f"for '{c.argument}' \"{spec_text}\""
            )
        return (
            f"{where}: {here} has {has} dims, expected {atleast}{spec.min_rank} "
            f"for '{c.argument}' \"{spec_text}\""
        )
    assert c.dim is not None
    dim = c.dim.display
    if c.kind == "fixed":
        return (
            f"{where}: dim '{dim}' is {c.actual} in {here}, expected {c.expected} (\"{spec_text}\")"
        )
    if c.kind == "symbolic":
        return (
            f"{where}: dim '{dim}' is {c.actual} in {here}, expected {c.expected} (\"{spec_text}\")"
        )
    src = c.source.argument if c.source is not None else c.argument
    src_text, src_shape = shown.get(src, (src, ()))
    there = f'{src_text} "{show(src_shape)}"'
    if c.kind == "variadic":
        if all(map(_unnamed, (*c.expected, *c.actual))):
            # Nothing to tell apart but how many axes the run takes.
            return (
                f"{where}: '*{dim}' is {_dims(c.expected)} in {there} "
                f"but {_dims(c.actual)} in {here}"
            )
        return (
            f"{where}: dims '*{dim}' are ({show(c.expected)}) in {there} "
            f"but ({show(c.actual)}) in {here}"
        )
    return f"{where}: dim '{dim}' is {c.expected} in {there} but {c.actual} in {here}"


def _unnamed(item: object) -> bool:
    """Whether a size prints as a bare `?`: unknown, and nothing names it."""
    return isinstance(item, Size) and item.kind == "fresh" and not item.value


def _dims(run: Sequence[object]) -> str:
    return f"{len(run)} dim" + ("" if len(run) == 1 else "s")


# A bare `?` in a message: an axis whose size is unknown (`?seq` and `w.mT?` are not).
_BARE_UNKNOWN = re.compile(r"(?<![\w?.)\]])\?(?![\w?])")
_UNKNOWN_NOTE = " (? is an unknown size)"


def with_legend(message: str) -> str:
    """`message`, saying what `?` stands for where a shape in it has an unknown size."""
    return message + _UNKNOWN_NOTE if _BARE_UNKNOWN.search(message) else message


class Reporter:
    """Where a file's check sends what it finds and what it looks at.

    Findings are kept unless the reading is `silent` (another file's class read for what it
    builds). Each event of `--stats` (a call, a call with a rule, a relation checked, a
    relation left unknown and why) is counted unless the reading is `quiet` (a loop body's
    first pass) or silent; with SHAPESAFE_CHECK_EXPLAIN=1, unknown ones are also printed
    with their place.
    """

    def __init__(self, module: Module, display: str, stats: Stats | None = None) -> None:
        self.module = module
        self.display = display
        self.findings: set[Finding] = set()
        self.stats = stats if stats is not None else Stats()
        self.quiet = 0  # no stats: a loop body's first reading
        self.silent = 0  # neither findings nor stats: reading another class's __init__
        # The annotated relations (by node) that a reading of one path into them checked
        # (`_Scope.on_each_path`): checked, where the paths' join leaves the value unknown.
        self.on_path = 0
        self.path_known: set[int] = set()
        self.misses: dict[str, object] = {}  # lookups that found nothing, for this file

    def report(self, node: ast.AST, message: str) -> None:
        if self.silent:
            return
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        self.findings.add(Finding(self.display, line, col, with_legend(message)))

    def _counting(self) -> bool:
        return not (self.quiet or self.silent)

    def stats_call(self) -> None:
        if self._counting():
            self.stats.calls += 1

    def stats_known(self, kind: str) -> None:
        if self._counting():
            self.stats.calls_known[kind] += 1

    def stats_relation(self, kind: str = "") -> None:
        if self._counting():
            self.stats.relations += 1
            if kind:
                self.stats.annotated[kind] += 1

    def stats_shapeless(self) -> None:
        if self._counting():
            self.stats.shapeless += 1

    def stats_unknown(self, why: str, node: ast.AST | None = None, lost: str = "") -> None:
        if self._counting():
            self.stats.unknown[why] += 1
            if lost:
                self.stats.lost[lost] += 1
            if _EXPLAIN and node is not None:
                # SHAPESAFE_CHECK_EXPLAIN=1: where each annotated relation went unchecked.
                line = getattr(node, "lineno", 0)
                text = _text(self.module, node, 100)
                from_ = f" (from {lost})" if lost else ""
                print(f"{self.display}:{line}: {why}: {text}{from_}", file=sys.stderr)


class _Explaining:
    """The part of a scope that explains where an unknown shape came from.

    A scope (`_flow._Scope`) is one class built in layers, one a file: this one, then calls
    of contracts and modules (`_calls._Calls`), attribute reads and subscripts
    (`_access._Access`), expressions (`_expr._Expressions`) and statements (`_flow._Scope`).
    The attributes below are the scope's state; a layer declares, for type checking only, the
    methods of the layers above it that it calls.
    """

    # Set by `_Scope.__init__`.
    file: "FileChecker"
    module: Module
    fn: ast.FunctionDef | ast.AsyncFunctionDef | None
    cls: ClassModel | None
    body: list[ast.stmt]
    is_module: bool
    local: set[str]
    rebound_globals: set[str]
    exits: "list[list[Env]]"
    key: int
    keep_returns: bool
    returned: "list[Env]"
    vals: dict[int, Value]
    seen: dict[int, Value]
    results: list[Value] | None
    chosen: dict[str, int]
    flags: dict[str, object]
    new_attrs: frozenset[str] | None
    origins: dict[str, list[tuple[tuple[int, int], ast.expr, bool]]]
    shapes_named: dict[str, Shape]
    called: "list[BodyCall] | None"  # the calls of read bodies a call statement makes

    if TYPE_CHECKING:

        def obj_attribute(self, obj: ObjV, attr: str) -> Value: ...

        def origin(self, node: ast.Name) -> tuple[ast.expr, bool] | None: ...

        def qualified(self, func: ast.expr) -> str | None: ...

    def lost(self, node: ast.expr, depth: int = 0) -> str:
        """Why the value of `node`, whose shape is unknown, has no shape: where it came from.

        It follows the expression back through the ops that would have kept a shape, to the
        first value the checker could not know.
        """
        if depth > 20:
            return _LOST_OTHER
        again = functools.partial(self.lost, depth=depth + 1)
        if isinstance(node, ast.Name):
            found = self.origin(node)
            if found is not None:
                source, known = found
                return _LOST_MERGE if known else again(source)
            fn = self.fn
            for arg in _params(fn) if fn is not None else ():
                if arg.arg == node.id:
                    if _alternatives(self.module, arg.annotation):
                        return "a Union of tensors of different ranks"
                    return "a parameter without a shape annotation"
            return _LOST_MERGE if node.id in self.local else _LOST_OTHER
        if isinstance(node, ast.Subscript):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                return _LOST_LOOKUP
            base = self.seen.get(id(node.value))
            if isinstance(base, tuple):
                return _LOST_RULE
            if isinstance(base, (TupV, ListV)) or self._container(node.value):
                return _LOST_LOOKUP
            return again(node.value)
        if isinstance(node, ast.Attribute):
            base = self.seen.get(id(node.value))
            if isinstance(base, tuple):
                return _LOST_RULE
            if isinstance(base, (ObjV, SymV)) or (
                isinstance(node.value, ast.Name) and node.value.id == "self"
            ):
                return _LOST_ATTRIBUTE
            return again(node.value)
        parts: list[ast.expr] = []
        if isinstance(node, ast.BinOp):
            parts = [node.left, node.right]
        elif isinstance(node, ast.IfExp):
            parts = [node.body, node.orelse]
        elif isinstance(node, ast.UnaryOp):
            parts = [node.operand]
        if parts:
            for part in parts:
                if self.seen.get(id(part)) is None and not _scalar(part, None):
                    return again(part)
            return _LOST_MERGE if isinstance(node, ast.IfExp) else _LOST_RULE
        if isinstance(node, ast.Call):
            return self.lost_call(node, again)
        return _LOST_OTHER

    def lost_call(self, node: ast.Call, again: Callable[[ast.expr], str]) -> str:
        func = node.func
        qual = self.qualified(func)
        root = (qual or "").split(".")[0]
        if root in ("numpy", "np") or qual in _FROM_DATA:
            return "numpy or Python data"
        if isinstance(func, ast.Attribute) and qual is None:
            receiver = self.seen.get(id(func.value))
            if receiver is None and func.attr in _FOLLOWS_RECEIVER:
                return again(func.value)
            if isinstance(receiver, SymV) and receiver.text.startswith("self."):
                return _LOST_ATTRIBUTE  # `self.r_mag.exp()` of an attribute nothing assigns
            if isinstance(receiver, SymV):
                return _LOST_UNKNOWN_CALLEE  # a method of an object the checker does not model
            if isinstance(receiver, tuple):
                return self._lost_inputs(node, again)
        if root in ("torch", "einops", "fancy_einsum"):
            return self._lost_inputs(node, again)
        if self.passes_through(func) and node.args:
            return again(node.args[0])  # `self.hook(x)` gives x back: x is where it was lost
        written = dotted_name(func)
        if qual is not None and written is not None and _external(self.module, written):
            return "a call into code outside the checked files"
        if self.unknown_callee(func):
            return _LOST_UNKNOWN_CALLEE
        return "a call of a function or method without a tensor return annotation"

    def passes_through(self, func: ast.expr) -> bool:
        """Whether the module called gives its input's shape back: a hook whose forward
        returns its argument, a layer such as `nn.Dropout` or `nn.ReLU`."""
        if not isinstance(func, ast.Attribute):
            return False
        receiver = self.seen.get(id(func.value))
        if not isinstance(receiver, ObjV):
            return False
        held = self.obj_attribute(receiver, func.attr)
        if isinstance(held, LayerV):
            return held.kind == "same"
        if isinstance(held, ObjV):
            forward = cast(ClassModel, held.cls).method("forward")
            return forward is not None and _identity(forward[1]) is not None
        return False

    def unknown_callee(self, func: ast.expr) -> bool:
        """Whether what is called is an object the checker does not know: `self.encoder(x)`
        where `encoder` came from a library, a callable attribute, a local holding one."""
        if isinstance(func, ast.Name):
            return func.id in self.local and self.seen.get(id(func)) is None
        if not isinstance(func, ast.Attribute):
            return False
        receiver = self.seen.get(id(func.value))
        if not isinstance(receiver, ObjV):
            return False
        if cast(ClassModel, receiver.cls).method(func.attr) is not None:
            return False
        return not _callable(self.obj_attribute(receiver, func.attr))

    def _lost_inputs(self, node: ast.Call, again: Callable[[ast.expr], str]) -> str:
        """An op with a shape rule whose input is unknown, or an op without a rule."""
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            arg = arg.value if isinstance(arg, ast.Starred) else arg
            if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mult):
                arg = arg.left  # `torch.cat([x] * 2)`: where x's shape was lost
            if isinstance(arg, (ast.List, ast.Tuple)):
                for e in arg.elts:
                    if self.seen.get(id(e)) is None and not _scalar(e, None):
                        return again(e)
            elif isinstance(arg, (ast.ListComp, ast.GeneratorExp)):
                return again(arg.elt) if len(arg.generators) == 1 else _LOST_OTHER
        for arg in node.args[:1]:
            # The tensor an op works on comes first: `torch.exp(x)`, `x.sum(0)`'s receiver.
            if self.seen.get(id(arg)) is None and not isinstance(arg, (ast.Constant, ast.Starred)):
                return again(arg)
        return _LOST_RULE

    def _container(self, node: ast.expr) -> bool:
        """A parameter annotated as a dict, list or other container of tensors."""
        if not isinstance(node, ast.Name) or node.id in self.origins or self.fn is None:
            return False
        for arg in _params(self.fn):
            if arg.arg == node.id and isinstance(arg.annotation, ast.Subscript):
                head = dotted_name(arg.annotation.value) or ""
                return head.rsplit(".", 1)[-1].lower() in _CONTAINERS
        return False
