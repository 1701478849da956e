"""The static shape checker: follow shapes through a file's code, statement by statement.

A function's parameters and annotated locals get the shapes their jaxtyping annotations
state. From there, each statement is read in order: assignments rebind names, branches
and loops merge what they bind (a name that differs between branches becomes unknown),
and every expression gets a shape from a rule: a call to an annotated function or method
(its contract), a torch op (`_torch`'s rules), a layer built in `__init__` (`_modules`).
Everything else is unknown, and unknown values are never reported.
"""

import ast
import dataclasses
import functools
import gc
import itertools
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal, TypeVar, cast

from .._contract import OPERATORS, Conflict, Contract, Spec, TensorParam, paren_note
from . import _torch as T
from ._modules import (
    LIST_CHANGES,
    REGISTERS,
    ClassModel,
    find_class,
    model,
    registered,
    unsubscripted,
)
from ._source import (
    Module,
    Signature,
    dotted_name,
    find_module,
    load,
    load_found,
    resolve,
    signature,
)
from ._torch import (
    AnyOfV,
    ClsV,
    IntV,
    LamV,
    LayerV,
    ListV,
    Mismatch,
    NumV,
    ObjV,
    SymV,
    TupV,
    Value,
)
from ._unify import (
    Group,
    Item,
    Shape,
    Size,
    Unifier,
    anonymous_group,
    certain,
    fresh,
    from_spec,
    lit,
    show,
    sym,
)

_EXPLAIN = os.environ.get("SHAPESAFE_CHECK_EXPLAIN", "") not in ("", "0")
_IGNORE = re.compile(r"#\s*shapesafe:\s*ignore\b")
_Scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_Comprehensions = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

# Where the shape of an annotated relation's value was lost (see `_Scope.lost`).
_LOST_LOOKUP = "a lookup in a dict, list or tuple"
_LOST_MERGE = "branches or loop iterations that give different shapes"
_LOST_RULE = "an op or index without a shape rule for its arguments"
_LOST_OTHER = "other"
_LOST_BLANK = "ops whose result has no known rank or size"
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
_INT_LABELS = frozenset(
    "Int Integer UInt Int8 Int16 Int32 Int64 UInt8 UInt16 UInt32 UInt64".split()
)
_INT_MAKERS = frozenset(
    """torch.arange torch.randint torch.argmax torch.argmin torch.argsort
    torch.randperm""".split()
)


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

    def add(self, other: "Stats") -> None:
        self.files += other.files
        self.functions += other.functions
        self.calls += other.calls
        self.calls_known.update(other.calls_known)
        self.relations += other.relations
        self.annotated.update(other.annotated)
        self.unknown.update(other.unknown)
        self.lost.update(other.lost)

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
        return f"annotated relations checked: {checked} of {checked + unknown} ({', '.join(parts)})"


# Each kind of annotated relation, and the reason counted when its value's shape is unknown.
_ANNOTATED = {
    "argument": "argument of unknown shape",
    "return": "return value of unknown shape",
    "annotated assignment": "annotated assignment of unknown shape",
}


_lines_cache: dict[int, tuple[str, list[bytes]]] = {}


def _text(module: Module, node: ast.AST, limit: int = 40) -> str:
    """The source text of `node`, on one line and cut to `limit` characters."""
    text = _segment(module, node) or ast.unparse(node)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _segment(module: Module, node: ast.AST) -> str | None:
    # ast.get_source_segment splits the whole source on each call; split it once per file.
    cached = _lines_cache.get(id(module.tree))
    if cached is None or cached[0] is not module.source:
        cached = (module.source, [line.encode() for line in module.source.splitlines(True)])
        _lines_cache[id(module.tree)] = cached
    lines = cached[1]
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


def _own_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every node of a scope in source order, without descending into nested scopes."""
    stack = list(nodes)[::-1]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (*_Scopes, *_Comprehensions)):
            continue
        stack.extend(list(ast.iter_child_nodes(node))[::-1])


Env = dict[str, Value]

_SAME_SHAPE_METHODS = frozenset(
    """contiguous clone detach float double half bfloat16 to cpu cuda abs neg exp log relu
    sigmoid tanh requires_grad_ sqrt rsqrt type_as long int bool byte sin cos square
    clamp clamp_ clip fill_ zero_ normal_ uniform_ detach_ nan_to_num round sign floor ceil
    triu tril cumsum cumprod softmax log_softmax exp_ mul_ div_ add_ sub_ reciprocal
    log1p expm1 erf gelu silu sigmoid_ relu_ tanh_ masked_fill_ logical_not
    isnan isinf isfinite pin_memory share_memory_ flip roll""".split()
) | frozenset(
    """acos asin atan tan sinh cosh asinh acosh atanh deg2rad rad2deg exp2 log2 log10 trunc
    frac logit erfinv sgn signbit cuda_ cpu_ abs_ neg_ clip_ nan_to_num_""".split()
)
# Methods whose unknown result `--stats` traces back to their receiver (`_Scope.lost_call`).
_FOLLOWS_RECEIVER = _SAME_SHAPE_METHODS | _KEEPS_RECEIVER
_SAME_SHAPE_FUNCS = frozenset(
    """exp log sqrt rsqrt abs sin cos tanh sigmoid relu sign floor ceil round clamp clip
    square log1p expm1 erf tril triu cumsum softmax log_softmax zeros_like ones_like
    empty_like rand_like randn_like full_like nan_to_num logical_not isnan isinf isfinite
    sigmoid_ flip roll""".split()
) | frozenset(
    """acos asin atan tan sinh cosh asinh acosh atanh deg2rad rad2deg exp2 log2 log10
    reciprocal neg negative trunc frac logit erfinv cumprod sgn signbit""".split()
)
_F_SAME = frozenset(
    """relu gelu silu mish elu leaky_relu tanh sigmoid softplus dropout softmax log_softmax
    normalize layer_norm rms_norm group_norm hardtanh relu6 celu selu glu_ logsigmoid
    softsign tanhshrink""".split()
)
_REDUCTIONS = frozenset(
    """mean sum prod std var amax amin logsumexp norm all any argmax argmin count_nonzero
    nansum nanmean""".split()
)
_BROADCAST_METHODS = frozenset(
    """add sub mul div maximum minimum pow float_power multiply subtract divide true_divide
    floor_divide fmod remainder atan2 arctan2 hypot fmax fmin copysign xlogy logical_and
    logical_or logical_xor bitwise_and bitwise_or bitwise_xor eq ne lt le gt ge greater less
    greater_equal less_equal not_equal""".split()
)
_CONSTANTS = frozenset(
    f"{m}.{c}" for m in ("math", "numpy", "torch") for c in ("pi", "e", "tau", "inf", "nan")
)
_CONSTRUCTORS = frozenset("zeros ones randn rand empty".split())
_SPLICED_MAKERS = frozenset(f"torch.{c}" for c in _CONSTRUCTORS)
# Matrix decompositions and functions: the `_torch.linalg` rule for each.
_LINALG = {
    **{
        f"torch.linalg.{n}": n
        for n in (
            "svd qr eig eigh eigvals eigvalsh svdvals inv cholesky matrix_exp det slogdet pinv"
        ).split()
    },
    "torch.svd": "svd_old",
    "torch.inverse": "inv",
    "torch.det": "det",
    "torch.logdet": "logdet",
    "torch.slogdet": "slogdet",
    "torch.pinverse": "pinv",
    "torch.matrix_exp": "matrix_exp",
    "torch.qr": "qr",
    "torch.cholesky": "cholesky",
}
_SAME_LAYERS = frozenset(
    """Dropout GELU ReLU SiLU Tanh Sigmoid Identity Softplus LeakyReLU ELU Mish Hardtanh
    Softmax LogSoftmax Dropout1d Dropout2d""".split()
)
# How a broadcasting-mismatch message writes the operator: the arithmetic of symbolic dims,
# and the bitwise operators.
_OPS: dict[type[ast.AST], str] = {op: sign for op, sign in OPERATORS.items()}
_OPS.update({ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"})


class _Jump(Exception):
    pass


class _Scope:
    """A module, class body or function, read statement by statement."""

    def __init__(
        self,
        file: "_FileChecker",
        body: list[ast.stmt],
        fn: ast.FunctionDef | ast.AsyncFunctionDef | None = None,
        cls: ClassModel | None = None,
    ) -> None:
        self.file = file
        self.module = file.module
        self.fn = fn
        self.cls = cls
        self.body = body
        self.is_module = body is file.module.tree.body
        self.local: set[str] = set()
        self.rebound_globals: set[str] = set()
        if fn is not None:
            a = fn.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                if arg is not None:
                    self.local.add(arg.arg)
        index = _index(file.module.tree)
        self.local.update(index.locals.get(id(body), ()))
        if self.is_module:
            self.rebound_globals = set(index.globals)
        self.exits: list[list[Env]] = []
        self.key = cls.key if cls is not None else 0
        self.keep_returns = False
        self.returned: list[Env] = []
        self.vals: dict[int, Value] = {}
        # For telling where an unknown shape came from: each expression's last value, and
        # the expression each local name was last bound from.
        self.seen: dict[int, Value] = {}
        self.results: list[Value] | None = None  # what each `return` gives, when inferring
        self.chosen: dict[str, int] = {}  # Union parameter -> the alternative it takes
        # In `__init__`: the attributes that nothing gave a value before it runs.
        self.new_attrs: frozenset[str] | None = None
        self.origins: dict[str, list[tuple[tuple[int, int], ast.expr, bool]]] = {}
        self.shapes_named: dict[str, Shape] = {}  # see `name_shape`

    # Statements

    def merge(self, a: Env | None, b: Env | None) -> Env | None:
        return _merge(a, b, self.new_attrs)

    def initial(self) -> Env:
        env: Env = {}
        fn = self.fn
        if fn is None:
            return env
        a = fn.args
        params = [*a.posonlyargs, *a.args]
        is_method = self.cls is not None and not _decorated(fn, "staticmethod")
        for i, arg in enumerate([*params, *a.kwonlyargs]):
            if i == 0 and is_method and arg in params:
                if self.cls is not None and not _decorated(fn, "classmethod"):
                    env[arg.arg] = ObjV(self.cls, exact=False)
                continue
            found = self.module.annotation(arg.annotation)
            if found is not None:
                env[arg.arg] = from_spec(found.spec)
            elif (
                (named := _class_named(arg.annotation)) is not None
                and (held := _find_class(self.module, named, self.file.misses))
                and (
                    not (self.cls is not None and fn.name == "__init__")
                    or held.method("forward") is not None
                )
            ):
                # `rays: RayBundle`: its annotated attributes have shapes. In `__init__`, a
                # module passed in (`encoding: Encoding`) is one; a config is a sym.
                env[arg.arg] = ObjV(held, exact=False)
            elif (
                self.cls is not None
                and fn.name == "__init__"
                and not _alternatives(self.module, arg.annotation)
            ):
                env[arg.arg] = SymV(arg.arg)
            elif (alts := _alternatives(self.module, arg.annotation)) and not (
                self.cls is not None and fn.name == "__init__"
            ):
                pick = self.chosen.get(arg.arg)
                shapes = [from_spec(a.spec) for a in alts]
                env[arg.arg] = shapes[pick] if pick is not None else _common_shape(shapes)
            elif _number_annotation(arg.annotation):
                # `eps: float`: a Python number, which broadcasts with any tensor.
                env[arg.arg] = NumV()
            else:
                env[arg.arg] = None
        for packed in (a.vararg, a.kwarg):
            if packed is not None:
                env[packed.arg] = None
        return env

    def run(self) -> Env | None:
        try:
            return self.block(self.body, self.initial())
        except RecursionError:
            return None

    def block(self, stmts: list[ast.stmt], env: Env | None) -> Env | None:
        for stmt in stmts:
            if env is None:
                return None
            env = self.stmt(stmt, env)
        return env

    def stmt(self, stmt: ast.stmt, env: Env) -> Env | None:
        if isinstance(stmt, ast.Expr):
            self.value(stmt.value, env)
        elif isinstance(stmt, ast.Assign):
            v = self.value(stmt.value, env)
            for target in stmt.targets:
                self.bind(target, v, env)
                self.remember(target, stmt.value, env, stmt)
            self.name_shape(stmt, env)
        elif isinstance(stmt, ast.AnnAssign):
            self.ann_assign(stmt, env)
        elif isinstance(stmt, ast.AugAssign):
            current = self.value(_as_load(stmt.target), env)
            other = self.value(stmt.value, env)
            v = self.binop(stmt, current, other, stmt.op, stmt.target, stmt.value)
            self.bind(stmt.target, v, env)
            if v is None and isinstance(current, tuple):
                self.remember(stmt.target, stmt.value, {}, stmt)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                v = self.value(stmt.value, env)
                if self.fn is not None:
                    self.check_return(stmt.value, v)
                none = isinstance(stmt.value, ast.Constant) and stmt.value.value is None
                if self.results is not None and not none:
                    self.results.append(v)
            if self.keep_returns:
                self.returned.append(dict(env))
            return None
        elif isinstance(stmt, ast.Raise):
            for part in (stmt.exc, stmt.cause):
                if part is not None:
                    self.value(part, env)
            return None
        elif isinstance(stmt, (ast.Break, ast.Continue)):
            if self.exits:
                self.exits[-1].append(dict(env))
            return None
        elif isinstance(stmt, ast.If):
            self.value(stmt.test, env)
            a = self.block(stmt.body, dict(env))
            b = self.block(stmt.orelse, dict(env))
            return self.merge(a, b)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            iterated = self.value(stmt.iter, env)
            self.remember(stmt.target, stmt.iter, {}, stmt.iter)
            return self.loop(stmt.body, stmt.orelse, env, stmt.target, _item_of(iterated))
        elif isinstance(stmt, ast.While):
            self.value(stmt.test, env)
            return self.loop(stmt.body, stmt.orelse, env, None)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                self.value(item.context_expr, env)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, None, env)
                    self.remember(item.optional_vars, item.context_expr, {}, item.context_expr)
            return self.block(stmt.body, env)
        elif isinstance(stmt, (ast.Try, ast.TryStar)):
            body = self.block(stmt.body, dict(env))
            start = self.merge(env, body)
            # Anything the body bound may or may not have happened in a handler.
            for name in _assigned(stmt.body):
                if start is not None:
                    start[name] = None
            ends = [self.block(stmt.orelse, dict(body)) if body is not None else None]
            for handler in stmt.handlers:
                h_env = dict(start) if start is not None else {}
                if handler.name:
                    h_env[handler.name] = None
                ends.append(self.block(handler.body, h_env))
            out: Env | None = None
            for end in ends:
                out = self.merge(out, end) if out is not None else end
            if stmt.finalbody:
                return self.block(stmt.finalbody, out if out is not None else dict(start or env))
            return out
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not self.is_module:
                env[stmt.name] = None
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            # The module's own imports are read by _source; a function's shadow names.
            if not self.is_module:
                for alias in stmt.names:
                    env[(alias.asname or alias.name).split(".")[0]] = None
        elif isinstance(stmt, (ast.Global, ast.Nonlocal)):
            for n in stmt.names:
                env[n] = None
        elif isinstance(stmt, ast.Delete):
            for t in stmt.targets:
                self.bind(t, None, env)
        elif isinstance(stmt, ast.Match):
            self.value(stmt.subject, env)
            out2: Env | None = dict(env)
            for case in stmt.cases:
                c_env = dict(env)
                for node in ast.walk(case.pattern):
                    for n in _binds(node):
                        c_env[n] = None
                out2 = self.merge(out2, self.block(case.body, c_env))
            return out2
        elif isinstance(stmt, ast.Assert):
            self.value(stmt.test, env)
        else:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self.value(child, env)
        return env

    def loop(
        self,
        body: list[ast.stmt],
        orelse: list[ast.stmt],
        env: Env,
        target: ast.expr | None,
        item: Value = None,
    ) -> Env | None:
        def once(start: Env) -> Env | None:
            run = dict(start)
            if target is not None:
                self.bind(target, item, run)
            self.exits.append([])
            end = self.block(body, run)
            for extra in self.exits.pop():
                end = self.merge(end, extra) if end is not None else extra
            return end

        self.file.quiet += 1
        try:
            first = once(env)
        finally:
            self.file.quiet -= 1
        head = self.merge(env, first) or env
        # The body runs again from what every iteration may have left behind.
        second = once(head)
        out = self.merge(head, second) or head
        return self.block(orelse, out) if orelse else out

    def bind(self, target: ast.expr, v: Value, env: Env) -> None:
        if isinstance(target, ast.Name):
            if self.is_module and target.id in self.rebound_globals:
                v = None
            if isinstance(v, ListV) or (isinstance(v, TupV) and v.mutable):
                if target.id in _shared_lists(self.module, self.body):
                    v = None  # code this reading does not follow may change the list
            if v is None and not self.is_module:
                v = self.declared_local(target.id)
            env[target.id] = v
        elif isinstance(target, (ast.Tuple, ast.List)):
            elts = target.elts
            starred = [i for i, e in enumerate(elts) if isinstance(e, ast.Starred)]
            items: tuple[Value, ...] | None = None
            if isinstance(v, TupV) and not starred and len(v.items) == len(elts):
                items = v.items  # a list is as the reading followed it (`_shared_lists`)
            elif isinstance(v, TupV) and not starred and not (v.mutable or v.uncertain):
                self.file.report(
                    target,
                    f"unpacking {len(v.items)} values into {len(elts)} names",
                )
            for i, e in enumerate(elts):
                if isinstance(e, ast.Starred):
                    self.bind(e.value, None, env)
                else:
                    self.bind(e, items[i] if items is not None else None, env)
        elif isinstance(target, ast.Attribute):
            base = self.dotted_target(target)
            if base is not None:
                env[base] = v
            else:
                self.value(target.value, env)
        elif isinstance(target, ast.Subscript):
            self.value(target.value, env)
            name = self.dotted_target(target.value)
            held = env.get(name) if name is not None else None
            if isinstance(held, ListV) and v == held.item:
                pass  # a list whose items all have one value, given one more of it
            elif name is not None and name in env and not isinstance(held, (TupV, ListV)):
                pass  # item assignment keeps a tensor's shape
            elif isinstance(target.value, ast.Name):
                env[target.value.id] = None
        elif isinstance(target, ast.Starred):
            self.bind(target.value, None, env)

    def declared_local(self, name: str) -> Value:
        """What a local's annotation says it holds, where a value assigned to it has no
        shape the checker knows: `ray_samples: RaySamples` before `ray_samples, w = f(...)`."""
        annotation = _local_annotations(self.body).get(name)
        if annotation is None:
            return None
        declared = self.module.annotation(annotation)
        if declared is not None:
            return self.local_shape(declared, None)
        named = _class_named(annotation)
        held = None if named is None else _find_class(self.module, named, self.file.misses)
        return None if held is None else ObjV(held, exact=False)

    def name_shape(self, stmt: ast.Assign, env: Env) -> None:
        """`original_shape = x.shape` (or `x.shape[:-1]`) where x has a run of unknown
        length, which a tuple of sizes can't hold: the shape, for `*original_shape[:-1]` in a
        later `view`. A name bound more than once in the scope is left out."""
        value = stmt.value
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
            return
        name = stmt.targets[0].id
        if len(self.origins.get(name, ())) != 1:
            return
        shape_expr = value.value if isinstance(value, ast.Subscript) else value
        if isinstance(shape_expr, ast.Attribute) and shape_expr.attr == "shape":
            part = self.shape_slice(value, None, env)
            if part is not None and any(isinstance(i, Group) for i in part):
                self.shapes_named[name] = part

    def remember(self, target: ast.expr, source: ast.expr, env: Env, at: ast.AST) -> None:
        """Which expression each name in `target` holds from the end of `at` on, and whether
        its shape is known."""
        if isinstance(target, ast.Name):
            end = (getattr(at, "end_lineno", 0) or 0, getattr(at, "end_col_offset", 0) or 0)
            known = env.get(target.id) is not None
            self.origins.setdefault(target.id, []).append((end, source, known))
            if len(self.origins[target.id]) > 1:
                self.shapes_named.pop(target.id, None)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for e in target.elts:
                self.remember(e.value if isinstance(e, ast.Starred) else e, source, env, at)

    def origin(self, node: ast.Name) -> tuple[ast.expr, bool] | None:
        """The binding of `node`'s name that its use most likely reads: the last one before."""
        found = self.origins.get(node.id)
        if not found:
            return None
        here = (node.lineno, node.col_offset)
        before = [f for f in found if f[0] <= here]
        _end, source, known = (before or found)[-1]
        return source, known

    def dotted_target(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            return f"self.{node.attr}"
        return None

    def ann_assign(self, stmt: ast.AnnAssign, env: Env) -> None:
        declared = self.module.annotation(stmt.annotation)
        v = self.value(stmt.value, env) if stmt.value is not None else None
        unifier = None
        if declared is not None and stmt.value is not None:
            unifier = self.check_declared(stmt, declared, v)
        if declared is not None and isinstance(stmt.target, ast.Name) and self.fn is not None:
            bound: Value = self.local_shape(declared, unifier)
        elif declared is not None:
            bound = from_spec(declared.spec)
        else:
            bound = v
        if stmt.value is not None or declared is not None:
            self.bind(stmt.target, bound, env)

    # Expressions

    def value(self, node: ast.expr | None, env: Env) -> Value:
        v = self._value(node, env)
        if node is not None:
            self.seen[id(node)] = v
        return v

    def _value(self, node: ast.expr | None, env: Env) -> Value:
        if node is None:
            return None
        if isinstance(node, ast.Constant):
            if type(node.value) is int:
                return IntV(lit(node.value))
            return NumV() if type(node.value) is float else None
        if isinstance(node, ast.Name):
            if node.id not in env and node.id not in self.local:
                held = _find_class(self.module, node, self.file.misses)
                return ClsV(held) if held is not None else _module_number(self.module, node.id)
            return env.get(node.id)
        if isinstance(node, ast.Call):
            return self.call(node, env)
        if isinstance(node, ast.Attribute):
            return self.attribute(node, env)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, env)
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left, env), self.value(node.right, env)
            return self.binop(node, left, right, node.op, node.left, node.right)
        if isinstance(node, ast.UnaryOp):
            inner = self.value(node.operand, env)
            if isinstance(node.op, ast.USub) and isinstance(inner, IntV):
                if inner.size.kind == "int":
                    assert isinstance(inner.size.value, int)
                    return IntV(lit(-inner.size.value))
                return NumV()
            if isinstance(node.op, ast.Not):
                return None
            if isinstance(inner, (NumV, SymV)) and isinstance(node.op, (ast.USub, ast.UAdd)):
                return NumV()
            return inner if isinstance(inner, tuple) else None
        if isinstance(node, ast.Compare):
            left = self.value(node.left, env)
            rights = [self.value(c, env) for c in node.comparators]
            if len(rights) == 1 and not isinstance(
                node.ops[0], (ast.Is, ast.IsNot, ast.In, ast.NotIn)
            ):
                return self.binop(node, left, rights[0], ast.Eq(), node.left, node.comparators[0])
            return None
        if isinstance(node, ast.IfExp):
            self.value(node.test, env)
            a, b = self.value(node.body, env), self.value(node.orelse, env)
            if isinstance(a, (IntV, NumV, SymV)) and isinstance(b, (IntV, NumV, SymV)) and a != b:
                return NumV()  # a number either way
            return _one_of([a, b])
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [_held(self.value(e, env)) for e in node.elts]
            if any(isinstance(e, ast.Starred) for e in node.elts):
                return None
            return TupV(tuple(items), mutable=isinstance(node, ast.List))
        if isinstance(node, ast.Lambda):
            return LamV(node, dict(env))
        if isinstance(node, _Comprehensions):
            return None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.value(child, env)
        return None

    def size_of(self, v: Value) -> Size | None:
        if isinstance(v, IntV):
            return v.size
        if isinstance(v, SymV) and self.key:
            return sym(v.text, self.key)
        return None

    def binop(
        self,
        node: ast.AST,
        left: Value,
        right: Value,
        op: ast.AST,
        lnode: ast.expr,
        rnode: ast.expr,
    ) -> Value:
        if isinstance(op, ast.MatMult):
            if isinstance(left, tuple) and isinstance(right, tuple):
                self.file.stats_relation()
                ta, tb = _operand(self.module, lnode), _operand(self.module, rnode)
                try:
                    return T.matmul(left, right, ta, tb)
                except Mismatch as err:
                    self.file.report(node, str(err))
                    return None
            self.file.stats_unknown("`@` with an operand of unknown shape")
            return None
        if isinstance(op, ast.Mult) and (isinstance(left, TupV) or isinstance(right, TupV)):
            return _repeated(left, right)
        a, b = self.size_of(left), self.size_of(right)
        numbers = (IntV, NumV, SymV)
        if isinstance(left, numbers) and isinstance(right, numbers) and NumV() in (left, right):
            return NumV()
        if a is not None and b is not None:
            if isinstance(op, ast.Mult):
                return IntV(T.mul(a, b))
            if isinstance(op, ast.FloorDiv):
                return IntV(T.floordiv(a, b))
            if isinstance(op, ast.Add):
                return IntV(T.add(a, b))
            if isinstance(op, ast.Sub):
                return IntV(T.add(a, b, -1))
            return NumV() if isinstance(op, (ast.Div, ast.Mod, ast.Pow)) else None
        if isinstance(left, tuple) and isinstance(right, tuple):
            self.file.stats_relation()
            ta, tb = _operand(self.module, lnode), _operand(self.module, rnode)
            try:
                return T.broadcast(left, right, ta, tb)
            except Mismatch as err:
                sign = "compared with" if isinstance(node, ast.Compare) else _OPS.get(type(op), "?")
                self.file.report(node, f"{ta} {sign} {tb}: {err}")
                return None
        if isinstance(left, tuple) and _scalar(rnode, right):
            return left
        if isinstance(right, tuple) and _scalar(lnode, left):
            return right
        if isinstance(left, tuple) or isinstance(right, tuple):
            self.file.stats_unknown("elementwise op with an operand of unknown shape")
        return None

    def attribute(self, node: ast.Attribute, env: Env) -> Value:
        dotted = self.dotted_target(node)
        if dotted is not None and dotted in env:
            return env[dotted]
        base = self.value(node.value, env)
        attr = node.attr
        if base is None and attr in ("pi", "e", "tau", "inf", "nan"):
            if self.qualified(node) in _CONSTANTS:
                return NumV()
        if isinstance(base, tuple):
            if attr == "shape":
                return _shape_tuple(base)
            if attr in ("mT", "T"):
                if (attr == "T" and T.rank(base) not in (None, 2)) or len(base) < 2:
                    return None
                if attr == "T" and T.rank(base) is None:
                    return None
                return T.transpose(base, -2, -1)
            if attr == "ndim":
                n = T.rank(base)
                return None if n is None else IntV(lit(n))
            if attr in ("data", "grad", "real", "imag"):
                return base
            return None
        if isinstance(base, TupV):
            return base.field(attr)
        if isinstance(base, ObjV):
            return self.obj_attribute(base, attr)
        if isinstance(base, AnyOfV):
            return self.each(
                base, lambda o: self.obj_attribute(o, attr) if isinstance(o, ObjV) else None
            )
        if isinstance(base, SymV):
            return SymV(f"{base.text}.{attr}")
        if isinstance(base, LayerV):
            if attr == "weight":
                return base.weight
            if attr == "bias":
                return base.bias
        return None

    def obj_attribute(self, obj: ObjV, attr: str) -> Value:
        cls = obj.cls
        assert isinstance(cls, ClassModel)
        found = cls.annotation(attr)
        if found is not None:
            owner = found[0].module
            ann = owner.annotation(found[1])
            if ann is not None:
                return from_spec(ann.spec)
            if _number_annotation(found[1]):
                return NumV()  # `batch_size: int`: a number, if not which one
            named = _class_named(found[1])
            if named is not None:
                # `frustums: Frustums`: an instance of a class the checker reads.
                misses = self.file.misses if owner is self.module else {}
                held = _find_class(owner, named, misses)
                if held is not None:
                    return ObjV(held, exact=False)
        method = cls.method(attr)
        getter_of = _getter(method, attr) if method is not None else None
        if getter_of is not None:
            # `@property def W_pos(self) -> Float[Tensor, "n_ctx d_model"]`: its contract;
            # without one, what its body gives (unless a subclass may override it).
            # Its dim names are its own, as a call's are: fresh sizes here.
            owner_cls, getter = getter_of
            ret = owner_cls.module.annotation(getter.returns)
            if ret is not None:
                return Unifier().result(ret.spec)
            if getter.returns is None and (obj.exact or not _overridden(cls, attr)):
                got = self.file.infer(owner_cls.module, getter, owner_cls)
                on_self = self.cls is not None and self.cls is cls
                return _substituted(got, Unifier(), on_self) if isinstance(got, tuple) else None
            return None
        if cls.is_rebound(attr) or method is not None:
            return None
        # A subclass's __init__ may assign the attribute differently.
        attrs = self.file.build(cls) if obj.exact or not _overridden(cls, "__init__") else {}
        v = attrs.get(attr)
        if v is None and self.cls is cls:
            return SymV(f"self.{attr}")
        return v

    def subscript(self, node: ast.Subscript, env: Env) -> Value:
        base = self.value(node.value, env)
        sl = node.slice
        parts = list(sl.elts) if isinstance(sl, ast.Tuple) else [sl]
        for p in parts:
            if not isinstance(p, ast.Slice):
                self.value(p, env)
        if isinstance(base, TupV):
            i = _int(sl)
            if i is not None:
                if -len(base.items) <= i < len(base.items):
                    return base.items[i]
                return None
            if isinstance(sl, ast.Slice) and sl.step is None:
                lo, hi = _int(sl.lower) if sl.lower else 0, _int(sl.upper) if sl.upper else None
                if lo is None or (sl.upper is not None and hi is None):
                    return None
                return TupV(base.items[lo:hi])
            return None
        if isinstance(base, tuple):
            tensors = [p for p in parts if isinstance(self.seen.get(id(p)), tuple)]
            if len(tensors) == 1:
                return self.advanced_index(base, parts, tensors[0])
            return T.index(base, parts)
        if isinstance(base, ListV) and not isinstance(sl, ast.Slice):
            return base.item
        return None

    def advanced_index(self, base: Shape, parts: list[ast.expr], index: ast.expr) -> Value:
        """`x[ids]`, `x[:, ids]`, `x[mask]`: one tensor index among full slices. Integer
        indices put their own shape in place of the axis; a mask takes as many axes as it
        has and leaves one of unknown size."""
        idx = self.seen.get(id(index))
        assert isinstance(idx, tuple)
        at = parts.index(index)
        full = all(
            isinstance(p, ast.Slice) and p.lower is None and p.upper is None and p.step is None
            for p in parts[:at]
        )
        after = parts[at + 1 :]
        rest_ok = all(
            (isinstance(p, ast.Slice) and p.lower is None and p.upper is None and p.step is None)
            or (isinstance(p, ast.Constant) and p.value is Ellipsis)
            for p in after
        )
        kind = self.index_kind(index)
        if not (full and rest_ok) or kind is None:
            return None
        took = 1 if kind == "int" else T.rank(idx)
        if took is None or any(isinstance(i, Group) for i in base[: at + took]):
            return None
        if len(base) < at + took:
            return None
        middle = idx if kind == "int" else (fresh(),)
        return (*base[:at], *middle, *base[at + took :])

    def index_kind(self, node: ast.expr, depth: int = 0) -> Literal["int", "bool"] | None:
        """Whether a tensor used as an index holds integers or booleans, where the code
        says so: an `Int[...]`/`Bool[...]` parameter it never rebinds, `.long()`,
        `torch.arange`, a comparison."""
        if isinstance(node, ast.Compare):
            return "bool"
        if isinstance(node, ast.Name) and node.id in self.origins and depth < 4:
            _end, source, _known = self.origins[node.id][-1]
            return self.index_kind(source, depth + 1) if len(self.origins[node.id]) == 1 else None
        if isinstance(node, ast.Name) and self.fn is not None and node.id not in self.origins:
            for arg in _params(self.fn):
                if arg.arg == node.id:
                    found = self.module.annotation(arg.annotation)
                    label = found.dtype_label if found is not None else ""
                    if label in _INT_LABELS:
                        return "int"
                    return "bool" if label == "Bool" else None
            return None
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("long", "int", "argmax", "argmin"):
                return "int"
            if isinstance(func, ast.Attribute) and func.attr == "bool":
                return "bool"
            if self.qualified(func) in _INT_MAKERS:
                return "int"
        return None

    # Calls

    def qualified(self, func: ast.expr) -> str | None:
        """The dotted name a call's target denotes through the module's imports."""
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or self.shadowed(func.id):
            return None
        origin = self.module.imports.get(func.id)
        if origin is None:
            return None
        head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
        return ".".join([head, *reversed(parts)])

    def shadowed(self, name: str) -> bool:
        return (name in self.local and not self.is_module) or (
            self.is_module and name in self.rebound_globals
        )

    def _callee(self, func: ast.expr) -> tuple[Module, Signature] | None:
        parts: list[str] = []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or self.shadowed(func.id):
            return None
        if self.is_module and func.id in self.local and func.id not in self.module.functions:
            if func.id not in self.module.imports:
                return None
        return _resolve(self.module, ".".join([func.id, *reversed(parts)]), self.file.misses)

    def call(self, node: ast.Call, env: Env) -> Value:
        func = node.func
        args = [self.value(a.value if isinstance(a, ast.Starred) else a, env) for a in node.args]
        kwargs: dict[str, Value] = {
            k.arg: self.value(k.value, env) for k in node.keywords if k.arg is not None
        }
        for k in node.keywords:
            if k.arg is None:
                self.value(k.value, env)
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        if isinstance(func, ast.Attribute) and func.attr.endswith("_"):
            if func.attr not in _SAME_SHAPE_METHODS and not func.attr.startswith("_"):
                # `x.unsqueeze_(0)` changes x in place.
                changed = self.dotted_target(func.value)
                if changed is not None:
                    env[changed] = None
        if isinstance(func, ast.Attribute) and func.attr in LIST_CHANGES:
            self.list_changed(func, args, env)
        vals: dict[int, Value] = {id(a): v for a, v in zip(node.args, args, strict=True)}
        vals.update({id(k.value): kwargs[k.arg] for k in node.keywords if k.arg is not None})
        self.vals = vals
        self.file.stats_call()
        # `super().method(...)`: the method of a base class, with its contract.
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
            and not func.value.args
            and self.cls is not None
        ):
            for parent in self.cls.bases:
                if parent.method(func.attr) is not None:
                    return self.obj_call(
                        node, ObjV(parent, exact=False), func.attr, args, kwargs, env
                    )
        if (
            starred
            and isinstance(func, ast.Attribute)
            and func.attr in ("view", "reshape")
            and not node.keywords
        ):
            spliced = self.spliced_sizes(node.args, env)
            if spliced is not None:
                self.value(func.value, env)  # what is reshaped is read, for its own checks
                self.file.stats_known("reshape to given sizes")
                return spliced
        if starred and self.qualified(func) in _SPLICED_MAKERS:
            # `torch.zeros(*x.shape[:-1], n)`: a new tensor of the sizes given.
            made = self.spliced_sizes(node.args, env)
            if made is not None:
                self.file.stats_known("torch")
                return made
        # A method of a value the checker knows: a tensor, a module instance, a layer.
        if isinstance(func, ast.Attribute):
            dotted = self.dotted_target(func)
            holder = env.get(dotted) if dotted is not None and dotted in env else None
            if holder is None:
                base = self.value(func.value, env)
                if isinstance(base, tuple):
                    self.file.stats_known("tensor method")
                    return self.tensor_method(node, func.attr, base, args, kwargs, starred)
                if isinstance(base, ObjV):
                    return self.obj_call(node, base, func.attr, args, kwargs, env)
                if isinstance(base, ClsV):
                    # `Attention.create_alibi_slope(n)`: a static or class method.
                    meth = cast(ClassModel, base.cls).method(func.attr)
                    if meth is not None and (
                        _decorated(meth[1], "staticmethod") or _decorated(meth[1], "classmethod")
                    ):
                        return self.obj_call(
                            node, ObjV(base.cls, base.exact), func.attr, args, kwargs, env
                        )
                if (
                    (base is None or isinstance(base, SymV))
                    and func.attr in ("view", "reshape")
                    and not starred
                ):
                    # Whatever was reshaped, the result has the sizes asked for.
                    return self.reshaped(args)
                if isinstance(base, AnyOfV):
                    return self.each(
                        base, lambda o: self.call_of(node, o, func.attr, args, kwargs, env)
                    )
                if isinstance(base, TupV):
                    field = base.field(func.attr)
                    if _callable(field):
                        return self.invoke(node, field, args, kwargs)
                    self.file.stats_unknown("call without a shape rule or contract")
                    return None
        elif isinstance(func, ast.Name) and func.id in env:
            held = env[func.id]
            if _callable(held):
                return self.invoke(node, held, args, kwargs)
            if self.shadowed(func.id) or self.is_module:
                self.file.stats_unknown("call of a local value")
                return None
        if isinstance(func, ast.Attribute):
            dotted = self.dotted_target(func)
            if dotted is not None and dotted in env and _callable(env[dotted]):
                return self.invoke(node, env[dotted], args, kwargs)
        qual = self.qualified(func)
        if qual is not None and _numeric(qual, args):
            return NumV()
        if qual in ("typing.cast", "typing_extensions.cast") and len(args) == 2:
            return self.cast(node.args[0], args[1])
        stacked = self.stack_of_comprehension(node, qual, env)
        if stacked is not _NO:
            return stacked  # type: ignore[return-value]
        if qual in ("torch.nn.ModuleList", "torch.nn.ModuleDict") and node.args:
            self.file.stats_known("torch")
            return self.container(node.args[0], args[0], env)
        if qual is not None:
            done, result = self.library_call(node, qual, args, kwargs, starred)
            if done:
                return result
        if isinstance(func, ast.Name) and not self.shadowed(func.id):
            builtin = self.builtin_call(func.id, node, args)
            if not isinstance(builtin, _NoValue):
                return builtin
        callee = self._callee(func)
        if callee is not None:
            self.file.stats_known("annotated function")
            target = callee[0].functions.get(callee[1].contract.op)
            return self.contract_call(node, callee[0], callee[1], vals, 0, target)
        if isinstance(func, ast.Name) and not self.shadowed(func.id):
            fn = self.module.functions.get(func.id)
            if fn is not None and (
                _tuple_returns(self.module, fn) is not None
                or any(_alternatives(self.module, a.annotation) for a in _params(fn))
            ):
                self.file.stats_known("annotated function")
                return self.contract_call(node, self.module, None, vals, 0, fn)
            if fn is not None:
                found = self.contract_call(node, self.module, None, vals, 0, fn)
                if found is not None:
                    return found
        cls = (
            _find_class(self.module, func, self.file.misses)
            if not (isinstance(func, ast.Name) and self.shadowed(func.id))
            else None
        )
        if cls is not None:
            self.file.stats_known("constructor")
            if node.args and _module_list(cls):
                # `TypedModuleList([Block(c) for _ in range(n)])`: a ModuleList as it is.
                return self.container(node.args[0], args[0], env)
            return ObjV(cls)
        self.file.stats_unknown("call without a shape rule or contract")
        return None

    def spliced_sizes(self, nodes: list[ast.expr], env: Env) -> Shape | None:
        """`t.view(*x.shape[:-1], -1)`: the sizes asked for, with `*x.shape[...]` spliced in
        when the part of x's shape it takes is certain; a -1 becomes a fresh size."""
        out: list[Item] = []
        for n in nodes:
            if isinstance(n, ast.Starred):
                part = self.shape_slice(n.value, self.vals.get(id(n)), env)
                if part is None:
                    return None
                out.extend(part)
                continue
            v = self.vals.get(id(n))
            if isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)):
                return None
            size = self.size_of(v)
            minus = size is not None and size.kind == "int" and size.value == -1
            out.append(fresh() if size is None or minus else size)
        return tuple(out)

    def shape_slice(self, node: ast.expr, v: Value, env: Env) -> Shape | None:
        """The items of `x.shape`, `x.shape[:-k]` or `x.shape[k:]` for a tensor x, where
        the axes cut off are single axes, not runs; or of a known tuple of sizes `v`."""
        if isinstance(v, TupV) and not v.mutable:
            if any(isinstance(i, (tuple, TupV, ListV, LayerV, ObjV)) for i in v.items):
                return None
            return tuple(self.size_of(i) or fresh() for i in v.items)
        sl: ast.expr | None = None
        if isinstance(node, ast.Subscript):
            sl = node.slice
            node = node.value
        x: Value
        if isinstance(node, ast.Name) and node.id in self.shapes_named:
            # `original_shape = x.shape`, read when it was bound: x may be reshaped since.
            x = self.shapes_named[node.id]
        else:
            if not (isinstance(node, ast.Attribute) and node.attr == "shape"):
                return None
            if any(isinstance(n, ast.Call) for n in ast.walk(node.value)):
                return None  # read once already; calls are not read twice
            known = id(node.value) in self.seen
            x = self.seen[id(node.value)] if known else self.value(node.value, env)
        if not isinstance(x, tuple):
            return None
        if sl is None:
            return x
        if not isinstance(sl, ast.Slice) or sl.step is not None:
            return None
        lo = T.int_value(sl.lower) if sl.lower is not None else 0
        hi = T.int_value(sl.upper) if sl.upper is not None else None
        if lo is None or (sl.upper is not None and hi is None):
            return None
        if lo < 0 or (hi is not None and hi > 0) or (hi == 0):
            return None  # keep to dropping a head (lo >= 0) and a tail (hi < 0)
        cut = list(x[:lo]) + (list(x[len(x) + hi :]) if hi is not None else [])
        if len(x) < lo - (hi or 0) or any(isinstance(i, Group) for i in cut):
            return None
        return tuple(x[lo : len(x) + hi if hi is not None else None])

    def reshaped(self, args: list[Value]) -> Value:
        """`t.view(sizes)` / `t.reshape(sizes)` of a tensor of unknown shape: the sizes, when
        each argument is certainly one size; a -1 (one at most) is a size of its own."""
        vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
        if not vals or (len(args) == 1 and not isinstance(args[0], (IntV, SymV, NumV, TupV))):
            self.file.stats_unknown("call without a shape rule or contract")
            return None
        if any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in vals):
            return None
        sizes = [self.size_of(v) for v in vals]
        minus = [s for s in sizes if s is not None and s.kind == "int" and s.value == -1]
        if len(minus) > 1:
            return None
        self.file.stats_known("reshape to given sizes")
        return tuple(s if s is not None and s not in minus else fresh() for s in sizes)

    def meshgrid(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        """`torch.meshgrid(a, b, indexing=...)` of 1-D tensors: one grid per input."""
        vecs = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
        indexing = _str(_kw(node, "indexing"))
        if (
            indexing not in ("ij", "xy")
            or not vecs
            or any(isinstance(a, ast.Starred) for a in node.args)
        ):
            return None  # without `indexing`, torch warns and uses "ij"; keep to the explicit
        sizes: list[Size] = []
        for v in vecs:
            if not isinstance(v, tuple) or len(v) != 1 or not isinstance(v[0], Size):
                return None
            sizes.append(v[0])
        if indexing == "xy" and len(sizes) >= 2:
            sizes[0], sizes[1] = sizes[1], sizes[0]
        grid = tuple(sizes)
        return TupV(tuple(grid for _ in vecs))

    def element(self, node: ast.ListComp | ast.GeneratorExp, env: Env) -> Value:
        """The value of every item of a one-loop comprehension over a known list."""
        if len(node.generators) != 1 or node.generators[0].ifs:
            return None
        gen = node.generators[0]
        inner = dict(env)
        iterated = self.value(gen.iter, env)
        self.remember(gen.target, gen.iter, {}, gen.iter)
        self.bind(gen.target, iterated.item if isinstance(iterated, ListV) else None, inner)
        return self.value(node.elt, inner)

    def stack_of_comprehension(self, node: ast.Call, qual: str | None, env: Env) -> object:
        """`torch.stack([f(b) for b in blocks], dim=0)`: the items all have one shape."""
        if qual not in ("torch.stack", "torch.cat") or not node.args:
            return _NO
        seq = node.args[0]
        if not isinstance(seq, (ast.ListComp, ast.GeneratorExp)):
            return _NO
        self.file.stats_known("torch")
        item = self.element(seq, env)
        dim_node = node.args[1] if len(node.args) > 1 else _kw(node, "dim")
        d = 0 if dim_node is None else _int(dim_node)
        if not isinstance(item, tuple) or d is None:
            self.file.stats_unknown("op input of unknown shape")
            return None
        self.file.stats_relation()
        if qual == "torch.stack":
            n = T.rank(item)
            if n is None or not -n - 1 <= d <= n:
                return None
            at = d + n + 1 if d < 0 else d
            return (*item[:at], fresh(), *item[at:])
        at2 = T.axis(item, d)
        return (
            None if at2 is None else tuple(fresh() if i == at2 else s for i, s in enumerate(item))
        )

    def container(self, node: ast.expr, v: Value, env: Env) -> Value:
        """`nn.ModuleList([Block(c) for _ in range(n)])`, `nn.ModuleDict(dict(wte=...))`."""
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
            return ListV(self.element(node, env))
        if isinstance(v, TupV) and v.fields:
            return v
        if isinstance(v, TupV) and v.items and all(i == v.items[0] for i in v.items):
            return ListV(v.items[0])
        return None

    def cast(self, target: ast.expr, v: Value) -> Value:
        """`cast(T, x)` is x; where x is an object the checker does not know, an instance of
        the class (or one of the classes) T names."""
        if v is not None:
            return v
        members = [target]
        if isinstance(target, ast.Subscript) and dotted_name(target.value) in (
            "Union",
            "typing.Union",
        ):
            s = target.slice
            members = list(s.elts) if isinstance(s, ast.Tuple) else [s]
        found = [_find_class(self.module, m, self.file.misses) for m in members]
        if not found or any(c is None for c in found):
            return None
        return _one_of([ObjV(c, exact=False) for c in found])

    def list_changed(self, func: ast.Attribute, args: list[Value], env: Env) -> None:
        """`xs.append(v)` and the other methods that change a list in place: what the list
        holds afterwards, where the checker can follow it; otherwise it is unknown."""
        inner = func.value
        while isinstance(inner, ast.Subscript):
            inner = inner.value  # `xs[0].append(v)` changes what xs holds
        if inner is not func.value:
            root = self.dotted_target(inner)
            if root is not None and isinstance(env.get(root), (TupV, ListV)):
                env[root] = None
            return
        name = self.dotted_target(func.value)
        if name is None or name not in env:
            return
        held, how = env[name], func.attr
        if isinstance(held, TupV) and held.mutable:
            more = args[0] if len(args) == 1 else None
            if how == "append" and len(args) == 1:
                env[name] = TupV((*held.items, _held(more)), mutable=True)
            elif how == "extend" and isinstance(more, TupV) and not more.fields:
                env[name] = TupV((*held.items, *map(_held, more.items)), mutable=True)
            else:
                env[name] = None
        elif isinstance(held, ListV):
            added = args[-1] if how in ("append", "insert") and args else held.item
            if how == "extend" or added != held.item:
                env[name] = None

    def builtin_call(self, name: str, node: ast.Call, args: list[Value]) -> "Value | _NoValue":
        if name == "len" and len(args) == 1 and isinstance(args[0], tuple) and args[0]:
            first = args[0][0]
            return IntV(first) if isinstance(first, Size) else None
        if name == "len" and len(args) == 1 and isinstance(args[0], TupV):
            return IntV(lit(len(args[0].items)))
        if name == "int" and len(args) == 1 and isinstance(args[0], IntV):
            return args[0]
        if name in ("float", "int", "abs", "min", "max", "round") and args:
            if all(isinstance(a, (IntV, NumV)) for a in args):
                return NumV()
        if name in ("float", "int") and len(args) == 1 and isinstance(args[0], tuple):
            return NumV()  # a one-element tensor as a Python number
        if name in ("tuple", "list") and len(args) == 1 and isinstance(args[0], TupV):
            return args[0]
        if name == "dict" and not args and node.keywords:
            if all(k.arg is not None for k in node.keywords):
                fields = tuple(str(k.arg) for k in node.keywords)
                return TupV(tuple(self.vals.get(id(k.value)) for k in node.keywords), fields)
        spread = any(isinstance(a, ast.Starred) for a in node.args) or node.keywords
        if name == "enumerate" and len(args) == 1 and not spread:
            return ListV(TupV((None, _item_of(args[0]))))
        if name == "zip" and args and not spread:
            return ListV(TupV(tuple(_item_of(a) for a in args)))
        if name in (
            "super",
            "range",
            "print",
            "isinstance",
            "getattr",
            "hasattr",
            "setattr",
            "enumerate",
            "zip",
        ):
            return None
        return _NO

    def obj_call(
        self,
        node: ast.Call,
        obj: ObjV,
        attr: str,
        args: list[Value],
        kwargs: dict[str, Value],
        env: Env,
    ) -> Value:
        cls = obj.cls
        assert isinstance(cls, ClassModel)
        if attr in REGISTERS and isinstance(node.func, ast.Attribute):
            named = registered(node)
            if named is not None and len(args) > 1:
                env[f"self.{named}"] = args[1]
            return None
        method = cls.method(attr)
        if method is not None:
            owner, fn = method
            sig = signature(owner.module, fn)
            shift = 0 if _decorated(fn, "staticmethod") else 1
            seen = obj.exact or not _overridden(cls, attr)
            if sig is not None:
                self.file.stats_known("method contract")
                return self.contract_call(
                    node, owner.module, sig, self.vals, shift, fn, owner, _on_self(node), seen
                )
            tup = _tuple_returns(owner.module, fn)
            if tup is not None:
                self.file.stats_known("method contract")
                return self.contract_call(node, owner.module, None, self.vals, shift, fn)
            ident = _identity(fn)
            if ident is not None and len(args) == 1:
                self.file.stats_known("identity method")
                return args[0]
            if seen:
                # A subclass in another file may override it; one in this file is seen.
                found = self.contract_call(
                    node, owner.module, None, self.vals, shift, fn, owner, _on_self(node)
                )
                if found is not None:
                    return found
            self.file.stats_unknown("method without a tensor contract")
            return None
        found = self.obj_attribute(obj, attr)
        if _callable(found):
            return self.invoke(node, found, args, kwargs)
        if isinstance(found, tuple) or found is None:
            self.file.stats_unknown("call of an attribute that is not a known module")
        return None

    def invoke(
        self, node: ast.Call, held: Value, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        """Calling a value: a layer or module applies its rule or forward, a class makes an
        instance, a lambda gives what its body does, one of several gives what all give."""
        if isinstance(held, (LayerV, ObjV)):
            return self.apply_module(node, held, args, kwargs)
        if isinstance(held, ClsV):
            self.file.stats_known("constructor")
            return ObjV(held.cls, held.exact)
        if isinstance(held, LamV):
            a = held.node.args
            names = [p.arg for p in [*a.posonlyargs, *a.args]]
            if a.vararg or a.kwarg or a.kwonlyargs or len(args) > len(names) or kwargs:
                return None
            inner = dict(held.env)
            inner.update({n: (args[i] if i < len(args) else None) for i, n in enumerate(names)})
            return self.value(held.node.body, inner)
        if isinstance(held, AnyOfV):
            return self.each(held, lambda o: self.invoke(node, o, args, kwargs))
        return None

    def each(self, held: AnyOfV, apply: Callable[[Value], Value]) -> Value:
        """What every option of `held` gives. Which one runs is not known, so only a finding
        that every option makes is certain; the first option's relations are counted."""
        file = self.file
        before = set(file.findings)
        made: list[set[Finding]] = []
        results = []
        for i, option in enumerate(held.options):
            file.quiet += i > 0
            try:
                results.append(apply(option))
            finally:
                file.quiet -= i > 0
            made.append(file.findings - before)
            file.findings = set(before)
        file.findings |= set.intersection(*made)
        return _one_of(results)

    def call_of(
        self,
        node: ast.Call,
        held: Value,
        attr: str,
        args: list[Value],
        kwargs: dict[str, Value],
        env: Env,
    ) -> Value:
        """`held.attr(...)` for one option of an `AnyOfV`."""
        if isinstance(held, ObjV):
            return self.obj_call(node, held, attr, args, kwargs, env)
        if isinstance(held, LayerV) and attr == "forward":
            return self.apply_module(node, held, args, kwargs)
        return None

    def apply_module(
        self, node: ast.Call, layer: "LayerV | ObjV", args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        """Calling a layer or a module instance: its rule, or its forward's contract."""
        if isinstance(layer, ObjV):
            cls = layer.cls
            assert isinstance(cls, ClassModel)
            found = cls.method("forward") or cls.method("__call__")
            if found is None:
                self.file.stats_unknown("module without a forward")
                return None
            owner, fn = found
            sig = signature(owner.module, fn)
            seen = layer.exact or not _overridden(cls, fn.name)
            if sig is not None or _tuple_returns(owner.module, fn) is not None:
                self.file.stats_known("forward contract")
                return self.contract_call(
                    node, owner.module, sig, self.vals, 1, fn, owner, False, seen
                )
            if _identity(fn) is not None and len(args) == 1:
                self.file.stats_known("identity forward")
                return args[0]
            if seen:
                found_v = self.contract_call(node, owner.module, None, self.vals, 1, fn, owner)
                if found_v is not None:
                    return found_v
            self.file.stats_unknown("forward without a tensor contract")
            return None
        self.file.stats_known("layer")
        x = args[0] if args else None
        if not isinstance(x, tuple):
            if layer.kind == "Linear" and layer.sizes[1] is not None:
                self.file.stats_unknown("layer input of unknown shape")
                return (anonymous_group(), layer.sizes[1])
            if layer.kind == "Embedding" and layer.sizes[1] is not None:
                return (anonymous_group(), layer.sizes[1])
            self.file.stats_unknown("layer input of unknown shape")
            return None
        self.file.stats_relation()
        text = _text(self.module, node.args[0]) if node.args else "input"
        what = _text(self.module, node.func)
        if layer.kind in ("Linear", "LayerNorm", "Embed"):
            want = layer.sizes[0]
            got = T.size_at(x, -1)
            if want is not None and got is not None and certain(want, got) == "differ":
                label = {"Linear": "in_features", "LayerNorm": "normalized_shape"}.get(
                    layer.kind, "embed_dim"
                )
                self.file.report(
                    node,
                    f'{what}({text}): last dim is {got} in {text} "{show(x)}" but the layer\'s '
                    f"{label} is {want}",
                )
                return None
            if layer.kind in ("LayerNorm", "Embed"):
                return x
            out = layer.sizes[1]
            return (*x[:-1], out if out is not None else fresh()) if x else None
        if layer.kind == "Embedding":
            return (*x, layer.sizes[1] if layer.sizes[1] is not None else fresh())
        if layer.kind == "same":
            return x
        return None

    def contract_call(
        self,
        node: ast.Call,
        module: Module,
        sig: Signature | None,
        values: dict[int, Value],
        shift: int,
        fn: ast.FunctionDef | ast.AsyncFunctionDef | None = None,
        owner: ClassModel | None = None,
        on_self: bool = False,
        infer: bool = True,
    ) -> Value:
        """A call of an annotated function, checked against its contract.

        Without a return contract, the return is what the callee's body gives under its own
        annotations (`_FileChecker.infer`), in the caller's sizes, unless not `infer` (a
        subclass may override it). `owner` is the class whose method `fn` is, and `on_self`
        whether the call is on the caller's `self`.
        """
        if sig is None:
            assert fn is not None
            sig = Signature(
                _empty_contract(fn.name),
                tuple(a.arg for a in [*fn.args.posonlyargs, *fn.args.args]),
                tuple(a.arg for a in fn.args.kwonlyargs),
                fn.args.vararg is not None,
            )
        if shift:
            sig = dataclasses.replace(sig, positional=sig.positional[shift:])
        given = _bind_arguments(sig, node)
        if given is None:
            self.file.stats_unknown("call that cannot be mapped to parameters")
            return None

        def shape_of(expr: ast.expr) -> Value:
            return values.get(id(expr))

        args: list[tuple[TensorParam, str, Shape]] = []
        for param in sig.contract.params:
            expr = given.get(param.name)
            if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
                continue
            shape = shape_of(expr)
            self.counted("argument", expr, shape)
            if isinstance(shape, tuple):
                args.append((param, _text(self.module, expr), shape))
        unifier, conflict = _unify_all(args)
        chosen: dict[str, list[int]] | None = {}
        if conflict is None and fn is not None:
            chosen = self.check_unions(node, module, sig, fn, given, unifier, shape_of)
        if conflict is None:
            if fn is not None:
                tup = _tuple_returns(module, fn)
                if tup is not None:
                    return TupV(tuple(None if p is None else unifier.result(p.spec) for p in tup))
            ret = sig.contract.ret
            if ret is None:
                if fn is None or module.annotation(fn.returns) is not None:
                    return None
                inferred: Value = None
                if chosen is not None and infer:
                    # The body under each alternative that the Union arguments may take.
                    names = sorted(chosen)
                    ways = list(itertools.product(*[chosen[n] for n in names]))
                    if len(ways) <= 4:
                        found = [
                            self.file.infer(module, fn, owner, tuple(zip(names, w, strict=True)))
                            for w in ways
                        ]
                        inferred = _one_of(found) if found else None
                if inferred is not None:
                    self.file.stats_known("return read from the body")
                    inferred = _substituted(inferred, unifier, on_self)
                return self.declared_union(module, fn, unifier, inferred)
            return unifier.result(ret.spec)
        shown = {param.name: (text, shape) for param, text, shape in args}
        where = _call_text(self.module, sig.contract.op, node)
        message = _message(where, conflict, shown, unifier)
        culprit = next(a for a in args if a[0].name == conflict.argument)
        if _transpose_fixes(args, conflict, culprit[2]):
            message += f"; did you mean {T.swapped_text(culprit[1])}?"
        self.file.report(node, message)
        # Go on with what the call returns when the arguments before the culprit decide it,
        # so that one finding does not hide the next.
        ret = sig.contract.ret
        if ret is None:
            return None
        for dim in ret.spec.dims:
            if dim.kind == "named" and dim.name not in unifier.single:
                return None
            if dim.kind == "variadic" and dim.name not in unifier.variadic:
                return None
            if dim.kind == "symbolic":
                return None
        return unifier.result(ret.spec)

    def declared_union(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        unifier: Unifier,
        inferred: Value,
    ) -> Value:
        """A return annotated with a Union of tensors: the alternatives that what the body
        gives (`inferred`, if known) fits, in the sizes the call bound."""
        alts = _alternatives(module, fn.returns)
        if not alts:
            return inferred
        if inferred is not None and not isinstance(inferred, tuple):
            return None
        results: list[Value] = []
        for alt in alts:
            trial = unifier.copy()
            if inferred is None or trial.match("return", alt.spec, inferred) is None:
                results.append(trial.result(alt.spec))
        return _one_of(results) if results else inferred

    def check_unions(
        self,
        node: ast.Call,
        module: Module,
        sig: Signature,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        given: dict[str, ast.expr],
        unifier: Unifier,
        shape_of: Callable[[ast.expr], Value],
    ) -> dict[str, list[int]] | None:
        """Parameters annotated with a Union of tensors: a finding only when no alternative fits.

        Where exactly one alternative fits, the call takes it, and its dims bind; where
        several do, only the dims that all of them bind alike. The alternatives that may
        fit each Union parameter, or None where an argument's shape is unknown.
        """
        chosen: dict[str, list[int]] | None = {}
        for arg in _params(fn):
            alts = _alternatives(module, arg.annotation)
            if not alts or arg.arg not in given:
                continue
            expr = given[arg.arg]
            shape = shape_of(expr)
            if not (isinstance(expr, ast.Constant) and expr.value is None):
                self.counted("argument", expr, shape)
            if not isinstance(shape, tuple):
                chosen = None
                continue
            fits: list[tuple[int, Unifier]] = []
            failures = []
            for i, alt in enumerate(alts):
                trial = unifier.copy()
                conflict = trial.match(arg.arg, alt.spec, shape)
                if conflict is None:
                    fits.append((i, trial))
                else:
                    failures.append(alt.spec.text)
            if len(fits) == 1:
                unifier.adopt(fits[0][1])
            elif fits:
                unifier.adopt_common([trial for _, trial in fits])
            if chosen is not None and fits:
                chosen[arg.arg] = [i for i, _ in fits]
            if not fits:
                text = _text(self.module, expr)
                self.file.report(
                    node,
                    f"{_call_text(self.module, sig.contract.op, node)}: "
                    f'{text} "{show(shape)}" fits none of '
                    + ", ".join(f'"{t}"' for t in failures)
                    + f" for '{arg.arg}'",
                )
        return chosen

    # torch, torch.nn.functional, einops

    def library_call(
        self, node: ast.Call, qual: str, args: list[Value], kwargs: dict[str, Value], starred: bool
    ) -> tuple[bool, Value]:
        root = qual.split(".")[0]
        if root not in ("torch", "einops", "fancy_einsum", "shapesafe"):
            return False, None
        last = qual.rsplit(".", 1)[-1]
        if root == "shapesafe":
            if qual in ("shapesafe.nn.Linear", "shapesafe.nn._linear.Linear"):
                return True, self.layer("Linear", args, kwargs, ("in_features", "out_features"))
            if qual in ("shapesafe.nn.LayerNorm", "shapesafe.nn._norm.LayerNorm"):
                return True, self.layer("LayerNorm", args, kwargs, ("features",))
            if qual.startswith("shapesafe.nn.") and last in ("MLP", "Block", "CausalSelfAttention"):
                return True, self.layer("Embed", args, kwargs, ("embed_dim",))
            first = args[0] if args else None
            if last == "permute" and len(args) == 2 and isinstance(first, tuple):
                pattern = _str(node.args[1])
                self.file.stats_known("shapesafe.permute")
                if pattern is None:
                    return True, None
                shape = first
                return True, self.rule(
                    node, lambda: T.rearrange(shape, pattern, {}, "permute"), [shape]
                )
            return False, None
        if starred:
            self.file.stats_unknown("call with *args")
            return True, None
        self.file.stats_known(root if root != "fancy_einsum" else "einops")
        x = args[0] if args else kwargs.get("input")
        torchf = qual.startswith("torch.") and qual.count(".") == 1
        func = qual.startswith("torch.nn.functional.")
        nn = qual.startswith("torch.nn.") and not func and qual.count(".") == 2
        if nn:
            if last == "Linear":
                return True, self.layer("Linear", args, kwargs, ("in_features", "out_features"))
            if last == "Embedding":
                return True, self.layer(
                    "Embedding", args, kwargs, ("num_embeddings", "embedding_dim")
                )
            if last in ("LayerNorm", "RMSNorm"):
                return True, self.layer("LayerNorm", args, kwargs, ("normalized_shape",))
            if last in _SAME_LAYERS:
                return True, LayerV("same", ())
            if last in ("Parameter", "Buffer"):
                return True, x if isinstance(x, tuple) else None
            self.file.calls_known_undo(root)
            self.file.stats_unknown("torch.nn class without a shape rule")
            return True, None
        if (torchf and last in _CONSTRUCTORS) or (torchf and last in ("full", "randint")):
            sizes: list[Value] = [a for a in args if not isinstance(a, tuple)]
            if last == "full":
                sizes = args[:1]
                if not isinstance(args[0] if args else None, TupV):
                    return True, None
            if last == "randint":
                sizes = [a for a in args if isinstance(a, TupV)][:1]  # type: ignore[assignment]
            if len(sizes) == 1 and isinstance(sizes[0], TupV):
                sizes = list(sizes[0].items)
            if not sizes:
                sv = kwargs.get("size")
                sizes = list(sv.items) if isinstance(sv, TupV) else []
                if not sizes:
                    return True, None
            if len(sizes) == 1 and not isinstance(sizes[0], (IntV, SymV, NumV)):
                return True, None  # one argument that may be a whole shape: rank unknown
            if any(isinstance(v, (tuple, TupV, LayerV, ObjV)) for v in sizes):
                return True, None
            out = [self.size_of(s) for s in sizes]
            return True, tuple(s if s is not None else fresh() for s in out)
        if torchf and last == "normal" and isinstance(kwargs.get("size"), TupV):
            size_v = kwargs["size"]
            assert isinstance(size_v, TupV)
            if any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in size_v.items):
                return True, None
            return True, tuple(self.size_of(v) or fresh() for v in size_v.items)
        if torchf and last in ("linspace", "logspace") and not starred:
            # `steps` is an int, even where the checker can't tell which: the result is 1-D.
            given_steps = len(node.args) > 2 or _kw(node, "steps") is not None
            steps = args[2] if len(args) > 2 else kwargs.get("steps")
            if not given_steps or isinstance(steps, (tuple, TupV, ListV, LayerV, ObjV)):
                return True, None
            s = self.size_of(steps)
            return True, (s if s is not None else fresh(),)
        if torchf and last == "eye" and args and len(args) <= 2:
            if any(isinstance(a, (tuple, TupV, ListV, LayerV, ObjV)) for a in args):
                return True, None
            n = self.size_of(args[0]) or fresh()
            m = (self.size_of(args[1]) or fresh()) if len(args) == 2 else n
            return True, (n, m)
        if torchf and last == "meshgrid":
            return True, self.meshgrid(node, args, kwargs)
        if torchf and last in ("tensor", "Tensor", "as_tensor", "FloatTensor", "LongTensor"):
            if len(node.args) == 1 and isinstance(args[0], TupV):
                return True, _literal_shape(node.args[0], args[0], self.seen)
            if len(node.args) == 1 and isinstance(args[0], (IntV, NumV)) and last != "Tensor":
                return True, ()  # `torch.tensor(0.5)`: one number, no axes
            return True, None
        if torchf and last == "arange":
            ints = [a for a in args]
            if len(ints) == 1:
                s = self.size_of(ints[0])
                return True, (s if s is not None else fresh(),)
            if len(ints) == 2:
                a, b = self.size_of(ints[0]), self.size_of(ints[1])
                return True, ((T.add(b, a, -1) if a is not None and b is not None else fresh()),)
            return True, (fresh(),)
        if torchf and last == "where" and len(args) == 3:
            # A number in place of a tensor broadcasts with anything; the condition is a tensor.
            shapes = [a for a in args if isinstance(a, tuple)]
            texts = [
                _text(self.module, n)
                for n, a in zip(node.args, args, strict=True)
                if isinstance(a, tuple)
            ]
            scalars = all(
                isinstance(a, tuple) or _scalar(n, a) for n, a in zip(node.args, args, strict=True)
            )
            if isinstance(args[0], tuple) and scalars:
                return True, self.rule(
                    node, lambda: _bcast_all(shapes, texts, "torch.where"), shapes
                )
            self.file.stats_unknown("op input of unknown shape")
            return True, None
        if (
            ((torchf or func) and last in ("softmax", "log_softmax"))
            or (torchf and last in _SAME_SHAPE_FUNCS)
            or (func and last in _F_SAME)
        ):
            return True, x if isinstance(x, tuple) else None
        if torchf and last in ("addmm", "baddbmm") and len(args) == 3:
            c, m1, m2 = args
            if isinstance(c, tuple) and isinstance(m1, tuple) and isinstance(m2, tuple):
                ta, tb = _text(self.module, node.args[1]), _text(self.module, node.args[2])
                tc = _text(self.module, node.args[0])
                sc, sa, sb = c, m1, m2

                def addmm() -> Shape | None:
                    product = T.matmul(sa, sb, ta, tb)
                    return None if product is None else T.broadcast(sc, product, tc, "the product")

                return True, self.rule(node, addmm, [sc, sa, sb])
            self.file.stats_unknown("op input of unknown shape")
            return True, None
        if torchf and last in ("matmul", "bmm", "mm"):
            if len(args) == 2 and isinstance(args[0], tuple) and isinstance(args[1], tuple):
                sa, sb = args[0], args[1]
                ta, tb = _text(self.module, node.args[0]), _text(self.module, node.args[1])
                return True, self.rule(node, lambda: T.matmul(sa, sb, ta, tb), [sa, sb])
            self.file.stats_unknown("op input of unknown shape")
            return True, None
        if func and last == "linear":
            return True, self.f_linear(node, args, kwargs)
        if (func and last == "cosine_similarity") or qual == "torch.linalg.cross":
            if isinstance(x, tuple):
                rest = node.args[1:]
                return True, self.tensor_method(node, last, x, args[1:], kwargs, False, rest)
            return True, None
        if func and last == "interpolate" and isinstance(x, tuple):
            return True, self.interpolated(x, args[1] if len(args) > 1 else kwargs.get("size"))
        if qual == "torch.autograd.grad":
            # One gradient for each input, of that input's shape.
            inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
            if isinstance(inputs, tuple):
                return True, TupV((inputs,))
            if isinstance(inputs, TupV) and not inputs.fields:
                return True, TupV(inputs.items)
            return True, None
        if torchf and last == "searchsorted" and len(args) >= 2 and isinstance(args[1], tuple):
            return True, args[1]  # an index for each value looked up
        if torchf and last in ("argwhere", "nonzero") and isinstance(x, tuple):
            if last == "nonzero" and "as_tuple" in kwargs:
                return True, None
            count = T.rank(x)
            return True, None if count is None else (fresh(), lit(count))
        if func and last == "embedding" and len(args) >= 2:
            idx, w = args[0], args[1]
            if isinstance(idx, tuple) and isinstance(w, tuple) and len(w) == 2:
                return True, (*idx, w[1])
            return True, None
        if func and last == "scaled_dot_product_attention":
            return True, self.sdpa(node, args, kwargs)
        if func and last in ("cross_entropy", "nll_loss"):
            return True, self.cross_entropy(node, args, kwargs)
        if func and last in (
            "mse_loss",
            "l1_loss",
            "binary_cross_entropy",
            "binary_cross_entropy_with_logits",
            "smooth_l1_loss",
            "huber_loss",
        ):
            if len(args) >= 2 and isinstance(args[0], tuple) and isinstance(args[1], tuple):
                sa, sb = args[0], args[1]
                ta, tb = _text(self.module, node.args[0]), _text(self.module, node.args[1])
                self.rule(node, lambda: _same_shape(sa, sb, ta, tb, last), [sa, sb])
            return True, () if _str(_kw(node, "reduction")) in (None, "mean", "sum") else None
        if torchf and last in ("cat", "concat", "concatenate", "stack"):
            seq = args[0] if args else kwargs.get("tensors")
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(0)))
            d = _lit_int(dim_v)
            if isinstance(seq, ListV) and isinstance(seq.item, tuple) and d is not None:
                return True, T.join_many(seq.item, d, last == "stack")
            if not isinstance(seq, TupV) or d is None or not seq.items:
                return True, None
            shapes = [s for s in seq.items if isinstance(s, tuple)]
            if len(shapes) != len(seq.items):
                self.file.stats_unknown("op input of unknown shape")
                return True, None
            seq_node = node.args[0] if node.args else None
            texts = (
                [_text(self.module, e) for e in seq_node.elts]
                if isinstance(seq_node, (ast.Tuple, ast.List))
                else ["tensor"] * len(shapes)
            )
            if last == "stack":
                return True, self.rule(node, lambda: T.stack(shapes, d, texts), shapes)
            return True, self.rule(node, lambda: T.concat(shapes, d, texts), shapes)
        if torchf and last == "einsum":
            eq = _str(node.args[0]) if node.args else None
            parsed = None if eq is None else T.einsum_letters(eq)
            if parsed is None:
                return True, None
            ops = args[1:]
            if len(ops) == 1 and isinstance(ops[0], TupV):
                ops = list(ops[0].items)
            texts = [_text(self.module, a) for a in node.args[1:]]
            shapes_e = [o if isinstance(o, tuple) else None for o in ops]
            return True, self.rule(
                node,
                lambda: T.einsum(
                    shapes_e, parsed[0], parsed[1], texts * (len(shapes_e) // max(1, len(texts)))
                ),
                [s for s in shapes_e if s is not None],
            )
        if root in ("einops", "fancy_einsum") and last == "einsum":
            if root == "einops":
                pattern = _str(node.args[-1]) if node.args else None
                ops, onodes = args[:-1], node.args[:-1]
            else:
                pattern = _str(node.args[0]) if node.args else None
                ops, onodes = args[1:], node.args[1:]
            parsed2 = None if pattern is None else T.einops_einsum(pattern)
            if parsed2 is None:
                return True, None
            texts2 = [_text(self.module, a) for a in onodes]
            shapes2 = [o if isinstance(o, tuple) else None for o in ops]
            return True, self.rule(
                node,
                lambda: T.einsum(shapes2, parsed2[0], parsed2[1], texts2),
                [s for s in shapes2 if s is not None],
            )
        if root == "einops" and last in ("rearrange", "reduce", "repeat"):
            pattern = _str(node.args[1]) if len(node.args) > 1 else None
            if pattern is None or not isinstance(x, tuple):
                if pattern is not None:
                    self.file.stats_unknown("op input of unknown shape")
                return True, None
            given = {k: self.size_of(v) for k, v in kwargs.items() if k is not None}
            shape_x = x
            return True, self.rule(
                node, lambda: T.rearrange(shape_x, pattern, given, f"einops.{last}"), [shape_x]
            )
        if torchf and last in ("transpose", "swapaxes") and len(args) == 3 and isinstance(x, tuple):
            i, j = _lit_int(args[1]), _lit_int(args[2])
            return True, None if i is None or j is None else T.transpose(x, i, j)
        op = _LINALG.get(qual)
        if op is not None:
            if not isinstance(x, tuple):
                self.file.stats_unknown("op input of unknown shape")
                return True, None
            mode = _str(_kw(node, "mode")) or "reduced"
            full_node = _kw(node, "full_matrices")
            some_node = _kw(node, "some")
            if op == "svd":
                full = not (isinstance(full_node, ast.Constant) and full_node.value is False)
                if full_node is not None and not isinstance(full_node, ast.Constant):
                    return True, None
            elif op == "svd_old":
                full = False
                if some_node is not None and not (
                    isinstance(some_node, ast.Constant) and some_node.value is True
                ):
                    return True, None
            else:
                full = mode == "complete"
                if op == "qr" and (mode not in ("reduced", "complete") or some_node is not None):
                    return True, None
            if len(args) > 1:
                return True, None  # options given by position
            shape_x = x
            what = _text(self.module, node)
            return True, self.rule(node, lambda: T.linalg(op, shape_x, full, what), [shape_x])
        if qual in ("torch.linalg.norm", "torch.linalg.vector_norm") and isinstance(x, tuple):
            if len(args) > 1 or "ord" in kwargs:
                return True, None  # an order may make a matrix norm of the last two dims
            return True, self.tensor_method(node, "norm", x, [], kwargs, False, [])
        if torchf and isinstance(x, tuple):
            rest_nodes = node.args[1:]
            return True, self.tensor_method(node, last, x, args[1:], kwargs, False, rest_nodes)
        if torchf and last in (
            "tensor",
            "as_tensor",
            "manual_seed",
            "no_grad",
            "device",
            "is_tensor",
            "finfo",
            "iinfo",
        ):
            return True, None
        self.file.calls_known_undo(root)
        self.file.stats_unknown(f"{root} op without a shape rule", node.func)
        return True, None

    def layer(
        self, kind: str, args: list[Value], kwargs: dict[str, Value], names: tuple[str, ...]
    ) -> Value:
        sizes: list[Size | None] = []
        for i, n in enumerate(names):
            v = args[i] if i < len(args) else kwargs.get(n)
            if isinstance(v, TupV) and len(v.items) == 1:
                v = v.items[0]
            sizes.append(self.size_of(v))
        if kind == "Linear":
            weight = (sizes[1] or fresh(), sizes[0] or fresh())
            bias: Value = (sizes[1] or fresh(),)
            return LayerV(kind, tuple(sizes), weight, bias)
        if kind == "Embedding":
            return LayerV(kind, tuple(sizes), (sizes[0] or fresh(), sizes[1] or fresh()))
        if kind == "LayerNorm":
            return LayerV(kind, tuple(sizes), (sizes[0] or fresh(),), (sizes[0] or fresh(),))
        return LayerV(kind, tuple(sizes))

    def rule(self, node: ast.Call, fn: "object", inputs: list[Shape]) -> Value:
        """Apply a shape rule, reporting a certain mismatch at the call."""
        assert callable(fn)
        self.file.stats_relation()
        try:
            out = fn()
        except Mismatch as err:
            self.file.report(node, str(err))
            return None
        return out  # type: ignore[no-any-return]

    def f_linear(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        x = args[0] if args else kwargs.get("input")
        w = args[1] if len(args) > 1 else kwargs.get("weight")
        b = args[2] if len(args) > 2 else kwargs.get("bias")
        if not isinstance(x, tuple) or not isinstance(w, tuple):
            self.file.stats_unknown("op input of unknown shape")
            return None
        tx = _text(self.module, node.args[0]) if node.args else "input"
        tw = _text(self.module, node.args[1]) if len(node.args) > 1 else "weight"
        self.file.stats_relation()
        if len(w) != 2 or any(isinstance(i, Group) for i in w):
            if T.rank(w) is not None:
                self.file.report(
                    node,
                    f'F.linear({tx}, {tw}): weight {tw} "{show(w)}" must have 2 dims',
                )
            return None
        got = T.size_at(x, -1)
        out_f, in_f = w
        assert isinstance(out_f, Size) and isinstance(in_f, Size)
        if got is not None and certain(got, in_f) == "differ":
            message = (
                f'F.linear({tx}, {tw}): last dim of {tx} "{show(x)}" is {got} but {tw} "{show(w)}" '
                f"takes {in_f} (weight is (out_features, in_features))"
            )
            if certain(got, out_f) == "same":
                message += f"; did you mean {tw}.T?"
            self.file.report(node, message)
            return None
        if isinstance(b, tuple) and len(b) == 1 and isinstance(b[0], Size):
            if certain(b[0], out_f) == "differ" and not T.is_one(b[0]):
                tb = _text(self.module, node.args[2]) if len(node.args) > 2 else "bias"
                self.file.report(
                    node,
                    f'F.linear({tx}, {tw}, {tb}): bias {tb} "{show(b)}" has {b[0]} '
                    f'but {tw} "{show(w)}" '
                    f"has out_features {out_f}",
                )
                return None
        if not x:
            return None
        return (*x[:-1], out_f)

    def sdpa(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        names = ("query", "key", "value")
        q, k, v = (args[i] if i < len(args) else kwargs.get(n) for i, n in enumerate(names))
        if not (isinstance(q, tuple) and isinstance(k, tuple) and isinstance(v, tuple)):
            self.file.stats_unknown("op input of unknown shape")
            return None
        texts = [_text(self.module, a) for a in node.args[:3]] + list(names[len(node.args) :])
        self.file.stats_relation()
        for (a, ta, ia), (b, tb, ib), what in (
            ((q, texts[0], -1), (k, texts[1], -1), "embedding"),
            ((k, texts[1], -2), (v, texts[2], -2), "sequence"),
        ):
            x, y = T.size_at(a, ia), T.size_at(b, ib)
            if x is not None and y is not None and certain(x, y) == "differ":
                self.file.report(
                    node,
                    f"scaled_dot_product_attention: {what} dim is "
                    f'{x} in {ta} "{show(a)}" but {y} in {tb} "{show(b)}"',
                )
                return None
        mask = args[3] if len(args) > 3 else kwargs.get("attn_mask")
        if isinstance(mask, tuple) and q and k:
            sq, sk = T.size_at(q, -2), T.size_at(k, -2)
            if sq is not None and sk is not None:
                scores: Shape = (
                    (*q[:-2], sq, sk) if T.rank(q) is not None else (anonymous_group(), sq, sk)
                )
                tm = _text(self.module, node.args[3]) if len(node.args) > 3 else "attn_mask"
                try:
                    T.broadcast(scores, mask, "the scores", tm)
                except Mismatch as err:
                    self.file.report(
                        node,
                        f"scaled_dot_product_attention: attn_mask {tm} does not fit {err}",
                    )
                    return None
        lv = T.size_at(v, -1)
        if not q:
            return None
        return (*q[:-1], lv if lv is not None else fresh())

    def cross_entropy(self, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        x = args[0] if args else kwargs.get("input")
        t = args[1] if len(args) > 1 else kwargs.get("target")
        reduction = _str(_kw(node, "reduction"))
        if (
            isinstance(x, tuple)
            and isinstance(t, tuple)
            and T.rank(x) is not None
            and T.rank(t) is not None
        ):
            self.file.stats_relation()
            tx = _text(self.module, node.args[0]) if node.args else "input"
            tt = _text(self.module, node.args[1]) if len(node.args) > 1 else "target"
            if len(t) == len(x) - 1:
                want = (x[0], *x[2:]) if len(x) > 1 else ()
                for p, (a, b) in enumerate(zip(want, t, strict=True)):
                    assert isinstance(a, Size) and isinstance(b, Size)
                    if certain(a, b) == "differ":
                        self.file.report(
                            node,
                            f'cross_entropy: target {tt} "{show(t)}" has {b} at axis {p} '
                            f'but {tx} "{show(x)}" has {a} '
                            "(input is (N, C, ...), target (N, ...))",
                        )
                        return None
            elif len(t) != len(x):
                self.file.report(
                    node,
                    f'cross_entropy: target {tt} "{show(t)}" has {len(t)} dims '
                    f'but input {tx} "{show(x)}" has {len(x)} '
                    "(input is (N, C, ...), target (N, ...) of class indices)",
                )
                return None
        else:
            self.file.stats_unknown("op input of unknown shape")
        if reduction in (None, "mean", "sum"):
            return ()
        return None

    def interpolated(self, x: Shape, size: Value) -> Value:
        """`F.interpolate(x, size=...)`: batch and channels kept, the spatial sizes given;
        with a `scale_factor` instead, spatial sizes of their own."""
        n = T.rank(x)
        if n is None or n < 3:
            return None
        if size is None:
            return (*x[:2], *(fresh() for _ in range(n - 2)))
        sizes = list(size.items) if isinstance(size, TupV) else [size] * (n - 2)
        if len(sizes) != n - 2 or not all(isinstance(s, (IntV, SymV, NumV)) for s in sizes):
            return None
        return (*x[:2], *(self.size_of(s) or fresh() for s in sizes))

    def receiver_text(self, node: ast.Call) -> str:
        """How a message names the tensor a method is called on: `x` in `x.add(y)` and in
        `torch.add(x, y)`, where the tensor is the first argument."""
        if isinstance(node.func, ast.Attribute) and self.qualified(node.func) is None:
            return _text(self.module, node.func.value)
        return _text(self.module, node.args[0]) if node.args else "input"

    def tensor_method(
        self,
        node: ast.Call,
        name: str,
        x: Shape,
        args: list[Value],
        kwargs: dict[str, Value],
        starred: bool,
        arg_nodes: list[ast.expr] | None = None,
    ) -> Value:
        if starred:
            return None
        nodes = node.args if arg_nodes is None else arg_nodes
        if name in _SAME_SHAPE_METHODS or (name == "type" and (args or kwargs)):
            return x  # `x.type()` without a dtype is a string
        if (
            name in ("expand_as", "view_as", "reshape_as", "broadcast_to")
            and args
            and isinstance(args[0], tuple)
        ):
            return args[0]
        if name == "masked_fill" and args:
            mask = args[0]
            if isinstance(mask, tuple):
                tm = _text(self.module, nodes[0])
                tx = self.receiver_text(node)

                def fits() -> Shape | None:
                    try:
                        T.broadcast(x, mask, tx, tm)
                    except Mismatch as err:
                        raise Mismatch(f"masked_fill: mask {tm} does not fit: {err}") from None
                    return x

                return self.rule(node, fits, [x, mask])
            return x
        elementwise = name in ("max", "min") and args and isinstance(args[0], tuple)
        if (name in _BROADCAST_METHODS or elementwise) and args:
            # `torch.max(a, b)` with a tensor `b` is elementwise too.
            other = args[0]
            if isinstance(other, tuple):
                tx, to = self.receiver_text(node), _text(self.module, nodes[0])
                return self.rule(node, lambda: T.broadcast(x, other, tx, to), [x, other])
            return x if _scalar(nodes[0], other) else None
        if name in ("matmul", "mm", "bmm") and args and isinstance(args[0], tuple):
            other = args[0]
            tx, to = self.receiver_text(node), _text(self.module, nodes[0])
            return self.rule(node, lambda: T.matmul(x, other, tx, to), [x, other])
        if name in ("view", "reshape", "new_zeros", "new_ones", "new_empty", "new_full", "expand"):
            vals = args if name != "new_full" else args[:1]
            if len(vals) == 1 and not isinstance(vals[0], (IntV, SymV, NumV, TupV)):
                return None  # one argument that may be a whole shape: rank unknown
            if len(vals) == 1 and isinstance(vals[0], TupV):
                vals = list(vals[0].items)
            size_kw = kwargs.get("size")
            if not vals and isinstance(size_kw, TupV):
                vals = list(size_kw.items)
            if not vals or any(isinstance(v, tuple) for v in vals):
                return None
            sizes = [self.size_of(v) for v in vals]
            minus = [
                i
                for i, s in enumerate(sizes)
                if s is not None and s.kind == "int" and s.value == -1
            ]
            if name == "expand":
                n = T.rank(x)
                if n is None or n > len(sizes):
                    return None
                off = len(sizes) - n
                return tuple(
                    (
                        x[i - off]
                        if i >= off and s is not None and s.kind == "int" and s.value == -1
                        else (s or fresh())
                    )
                    for i, s in enumerate(sizes)
                )
            if len(minus) > 1:
                return None
            if name.startswith("new_"):
                return tuple(s or fresh() for s in sizes)
            m = minus[0] if minus else None
            return self.rule(node, lambda: T.view(x, sizes, m), [x])
        if name in ("transpose", "swapaxes", "swapdims") and len(args) == 2:
            i, j = _lit_int(args[0]), _lit_int(args[1])
            return None if i is None or j is None else T.transpose(x, i, j)
        if name == "t" and not args:
            return T.transpose(x, 0, 1) if T.rank(x) == 2 else x if T.rank(x) in (0, 1) else None
        if name == "permute":
            vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
            dims = [_lit_int(v) for v in vals]
            if any(d is None for d in dims):
                return None
            return self.rule(node, lambda: T.permute(x, [d for d in dims if d is not None]), [x])
        if f"torch.{name}" in _LINALG and name != "qr" and not args and not kwargs:
            op = _LINALG[f"torch.{name}"]  # `a.inverse()`, `a.det()`, `a.svd()`...
            what = _text(self.module, node)
            return self.rule(node, lambda: T.linalg(op, x, False, what), [x])
        if name in ("cross", "cosine_similarity") and args and isinstance(args[0], tuple):
            second = args[0]
            tx, to = self.receiver_text(node), _text(self.module, nodes[0])

            def paired() -> Shape | None:
                ranks = T.rank(x), T.rank(second)
                if name == "cross" and None not in ranks and ranks[0] != ranks[1]:
                    raise Mismatch(
                        f'cross: {tx} "{show(x)}" and {to} "{show(second)}" differ in rank; '
                        "torch.cross needs the same number of dims"
                    )
                return T.broadcast(x, second, tx, to)

            both = self.rule(node, paired, [x, second])
            if name == "cross" or not isinstance(both, tuple):
                return both
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(1)))
            d = _lit_int(dim_v)
            return None if d is None else T.reduce(both, [d], False)
        if name in _REDUCTIONS or name in ("max", "min", "median", "mode"):
            dim_v = args[0] if args else kwargs.get("dim")
            if name == "norm" and args:
                dim_v = args[1] if len(args) > 1 else kwargs.get("dim")
            keep = kwargs.get("keepdim")
            keep_node = _kw(node, "keepdim")
            keepdim = isinstance(keep_node, ast.Constant) and keep_node.value is True
            if name == "norm" and len(args) > 2:
                return None  # keepdim given by position
            if (
                len(args) > 1
                and name not in ("norm",)
                and isinstance(nodes[1], ast.Constant)
                and nodes[1].value is True
            ):
                keepdim = True
            if keep is not None or (
                keep_node is not None and not isinstance(keep_node, ast.Constant)
            ):
                return None
            if dim_v is None:
                if name in ("max", "min", "median") and args:
                    return None
                return () if not keepdim else T.reduce(x, None, True)
            if isinstance(dim_v, TupV):
                dims = [_lit_int(v) for v in dim_v.items]
            else:
                dims = [_lit_int(dim_v)]
            if any(d is None for d in dims):
                return None
            out = T.reduce(x, [d for d in dims if d is not None], keepdim)
            if name in ("max", "min", "median", "mode"):
                return None if out is None else TupV((out, out), ("values", "indices"))
            return out
        if name == "unsqueeze" and args:
            d = _lit_int(args[0])
            return None if d is None else T.unsqueeze(x, d)
        if name == "squeeze":
            if not args and "dim" not in kwargs:
                return T.squeeze(x, None)
            dv = args[0] if args else kwargs.get("dim")
            d = _lit_int(dv)
            return None if d is None else T.squeeze(x, [d])
        if name == "flatten":
            s = _lit_int(args[0]) if args else _lit_int(kwargs.get("start_dim", IntV(lit(0))))
            e = (
                _lit_int(args[1])
                if len(args) > 1
                else _lit_int(kwargs.get("end_dim", IntV(lit(-1))))
            )
            if s is None or e is None:
                return None
            a, b = T.axis(x, s), T.axis(x, e)
            if a is None or b is None or T.rank(x) is None or a > b:
                return None
            merged = T.product([i for i in x[a : b + 1] if isinstance(i, Size)])
            return (*x[:a], merged, *x[b + 1 :])
        if name in ("split", "chunk", "unbind", "tensor_split"):
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(0)))
            d = _lit_int(dim_v)
            if d is None:
                return None
            if name == "unbind":
                p = T.axis(x, d)
                n_v = None if p is None else x[p]
                if isinstance(n_v, Size) and n_v.kind == "int":
                    assert isinstance(n_v.value, int)
                    rest = tuple(i for k, i in enumerate(x) if k != p)
                    return TupV(tuple(rest for _ in range(n_v.value)))
                return None
            first = args[0] if args else kwargs.get("split_size_or_sections", kwargs.get("chunks"))
            if name == "chunk":
                n = _lit_int(first)
                return None if n is None or n <= 0 else T.chunk(x, n, d)
            if name == "split":
                if isinstance(first, TupV):
                    return T.split(x, [self.size_of(i) for i in first.items], d)
                size = self.size_of(first)
                return None if size is None else T.split(x, size, d)
            return None
        if name == "size":
            if not args:
                return _shape_tuple(x)
            d = _lit_int(args[0])
            if d is None:
                return None
            at = T.size_at(x, d)
            return None if at is None else IntV(at)
        if name in ("dim", "ndimension"):
            n = T.rank(x)
            return None if n is None else IntV(lit(n))
        if name == "numel":
            return None
        if name in ("sort", "argsort", "msort"):
            # `x.sort(dim)`: values and indices, each of x's shape.
            return TupV((x, x), ("values", "indices")) if name == "sort" else x
        if name == "topk" and (args or "k" in kwargs):
            k = args[0] if args else kwargs["k"]
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim", IntV(lit(-1)))
            d = _lit_int(dim_v)
            p = None if d is None else T.axis(x, d)
            if p is None or not isinstance(k, (IntV, SymV)):
                return None
            size = self.size_of(k) or fresh()
            kept = tuple(size if i == p else s for i, s in enumerate(x))
            return TupV((kept, kept), ("values", "indices"))
        if name == "gather" and len(args) + len(kwargs) >= 2:
            index = args[1] if len(args) > 1 else kwargs.get("index")
            return index if isinstance(index, tuple) else None  # the index's shape
        if name in ("dot", "vdot", "inner") and T.rank(x) == 1:
            return ()
        if name in ("moveaxis", "movedim") and len(args) == 2:
            src, dst = _lit_int(args[0]), _lit_int(args[1])
            n = T.rank(x)
            if src is None or dst is None or n is None or not (-n <= src < n and -n <= dst < n):
                return None
            order = list(range(n))
            order.insert(dst % n, order.pop(src % n))
            return T.permute(x, order)
        if name == "repeat_interleave" and (args or "repeats" in kwargs):
            repeats = args[0] if args else kwargs["repeats"]
            dim_v = args[1] if len(args) > 1 else kwargs.get("dim")
            if dim_v is None:
                return (fresh(),)  # flattened first
            d = _lit_int(dim_v)
            p = None if d is None else T.axis(x, d)
            if p is None:
                return None
            scalar = isinstance(repeats, (IntV, SymV))
            times = self.size_of(repeats) if scalar else None
            along = x[p]
            assert isinstance(along, Size)
            grown = T.mul(along, times) if times is not None else fresh()
            return tuple(grown if i == p else s for i, s in enumerate(x))
        if name in ("repeat", "tile"):
            vals = list(args[0].items) if len(args) == 1 and isinstance(args[0], TupV) else args
            if len(args) == 1 and not isinstance(args[0], (IntV, SymV, NumV, TupV)):
                return None  # one argument that may be a whole tuple of repeats
            if not vals or any(isinstance(v, (tuple, TupV, ListV, LayerV, ObjV)) for v in vals):
                return None
            sizes = [self.size_of(v) for v in vals]
            n = T.rank(x)
            if n is None:
                return None
            if name == "tile" and len(sizes) < n:
                ones: list[Size | None] = [lit(1)] * (n - len(sizes))
                sizes = ones + sizes  # tile pads the repeats with 1s
            if len(sizes) < n:
                return None
            off = len(sizes) - n
            tiled: list[Item] = []
            for i, rep in enumerate(sizes):
                here = x[i - off] if i >= off else None
                assert here is None or isinstance(here, Size)
                if rep is None:
                    tiled.append(fresh())
                else:
                    tiled.append(T.mul(here, rep) if here is not None else rep)
            return tuple(tiled)
        return None

    # Where an unknown shape came from

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
                return "an attribute without a known shape"
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

    # Checks

    def counted(self, kind: str, node: ast.expr, v: Value) -> None:
        """Count one annotated relation: checked where the value's shape says something
        (a known rank or a known size), unknown otherwise, with where its shape was lost."""
        if isinstance(v, tuple) and _informative(v):
            self.file.stats_relation(kind)
        else:
            lost = self.lost(node) if not isinstance(v, tuple) else _LOST_BLANK
            self.file.stats_unknown(_ANNOTATED[kind], node, lost)

    def check_declared(
        self, node: ast.AnnAssign, declared: TensorParam, v: Value
    ) -> Unifier | None:
        """Check an annotated assignment; the unifier that matched it, None if it did not.

        In a function, the annotation of a local name shares only the dim names of the
        function's own contract (its parameters and return); its other names stand for
        whatever sizes the value has, as at run time, where a local annotation binds no name
        of the call.
        """
        if node.value is not None and not isinstance(node.value, ast.Constant):
            self.counted("annotated assignment", node.value, v)
        if node.value is None or not isinstance(v, tuple):
            return None
        target = _text(self.module, node.target)
        unifier = Unifier()
        local = isinstance(node.target, ast.Name) and self.fn is not None
        only = self.contract_names() if local else None
        unifier.bind_declared(declared.spec, "annotation", only)
        value = _text(self.module, node.value)
        shown = {"annotation": ("the annotation", from_spec(declared.spec)), target: (value, v)}
        conflict = unifier.match(target, declared.spec, v)
        if conflict is not None:
            self.file.report(node.value, _message(target, conflict, shown))
            return None
        return unifier

    def local_shape(self, declared: TensorParam, unifier: Unifier | None) -> Shape:
        """What a local's annotation says of its shape: the contract's dim names as they
        are, and its other names as the value bound them (`unifier`), or fresh."""
        if unifier is None:
            unifier = Unifier()
            unifier.bind_declared(declared.spec, "annotation", self.contract_names())
        return unifier.result(declared.spec)

    def contract_names(self) -> frozenset[str]:
        """The dim names of the function's parameter and return annotations."""
        fn = self.fn
        if fn is None:
            return frozenset()

        def read() -> frozenset[str]:
            names: set[str] = set()
            for note in [a.annotation for a in _params(fn)] + [fn.returns]:
                for node in ast.walk(note) if note is not None else ():
                    found = (
                        self.module.annotation(node) if isinstance(node, ast.Subscript) else None
                    )
                    if found is not None:
                        names.update(d.name for d in found.spec.dims if d.name)
            return frozenset(names)

        return _per_node(_contract_names, fn, read)

    def check_return(self, value: ast.expr, v: Value) -> None:
        assert self.fn is not None
        if isinstance(value, ast.Constant) and value.value is None:
            return
        tup = _tuple_returns(self.module, self.fn)
        if tup is not None:
            elts = value.elts if isinstance(value, ast.Tuple) else None
            items = v.items if isinstance(v, TupV) else None
            if items is None or elts is None or len(items) != len(tup):
                if tup and any(p is not None for p in tup):
                    self.file.stats_unknown(
                        "return value of unknown shape", value, self.lost(value)
                    )
                return
            for param, item, elt in zip(tup, items, elts, strict=True):
                if param is not None and not (isinstance(elt, ast.Constant) and elt.value is None):
                    self.match_return(elt, item, param.spec)
            return
        sig = signature(self.module, self.fn)
        if sig is None or sig.contract.ret is None:
            return
        self.match_return(value, v, sig.contract.ret.spec)

    def match_return(self, value: ast.expr, v: Value, spec: Spec) -> None:
        assert self.fn is not None
        self.counted("return", value, v)
        if not isinstance(v, tuple):
            return
        sig = signature(self.module, self.fn)
        unifier = Unifier()
        shown: dict[str, tuple[str, Shape]] = {}
        for param in sig.contract.params if sig is not None else ():
            # The runtime binds the parameters' dims before it checks the return.
            unifier.bind_declared(param.spec, param.name)
            shown[param.name] = (param.name, from_spec(param.spec))
        shown["return"] = (_text(self.module, value), v)
        conflict = unifier.match("return", spec, v)
        if conflict is not None:
            where = f"return of {self.fn.name}()"
            self.file.report(value, _message(where, conflict, shown))


class _NoValue:
    pass


_NO = _NoValue()


_ScopeNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclasses.dataclass
class _Index:
    """One pass over a file: the names each scope binds, its nested scopes, `global` names."""

    tree: ast.Module
    locals: dict[int, set[str]]
    children: dict[int, list[_ScopeNode]]
    globals: frozenset[str]


_indexes: dict[int, _Index] = {}
# Builtins that read a list without keeping or changing it.
_READS_LIST = frozenset(
    "len enumerate zip reversed sorted sum any all max min tuple list set iter print".split()
)
_shared: dict[int, tuple[object, frozenset[str]]] = {}
_annotated_locals: dict[int, tuple[object, dict[str, ast.expr]]] = {}
_contract_names: dict[int, tuple[object, frozenset[str]]] = {}
_generators: dict[int, tuple[object, bool]] = {}
_T = TypeVar("_T")


def _per_node(cache: dict[int, tuple[object, _T]], node: object, read: Callable[[], _T]) -> _T:
    """`read()`, once per syntax node (a function, a scope's body) for as long as the node
    lives: the cache keeps the node, so its id is not taken by another."""
    hit = cache.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    found = read()
    cache[id(node)] = (node, found)
    return found


def _local_annotations(body: list[ast.stmt]) -> dict[str, ast.expr]:
    """The annotations that a scope's own statements give its local names (`x: T` or
    `x: T = v`); a name annotated twice differently has none."""
    return _per_node(_annotated_locals, body, lambda: _read_local_annotations(body))


def _read_local_annotations(body: list[ast.stmt]) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    clashing: set[str] = set()
    for node in _own_statements(body):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
            if name in found and ast.dump(found[name]) != ast.dump(node.annotation):
                clashing.add(name)
            found[name] = node.annotation
    return {k: v for k, v in found.items() if k not in clashing}


def _shared_lists(module: Module, body: list[ast.stmt]) -> frozenset[str]:
    """The names of a scope whose list may change where its statement-by-statement reading
    does not see it: the list is stored, aliased, passed to code the checker does not read,
    yielded, or changed inside a nested function or comprehension."""
    return _per_node(_shared, body, lambda: _read_shared_lists(module, body))


def _read_shared_lists(module: Module, body: list[ast.stmt]) -> frozenset[str]:
    out: set[str] = set()
    stack: list[tuple[ast.AST, ast.AST | None, bool]] = [(n, None, False) for n in body]
    while stack:
        node, parent, nested = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and parent is not None:
            if not _reads_list(module, node, parent, nested):
                out.add(node.id)
        inner = nested or isinstance(node, (*_Scopes, *_Comprehensions))
        # A keyword argument's value is read by the call itself.
        above = parent if isinstance(node, ast.keyword) else node
        stack.extend((child, above, inner) for child in ast.iter_child_nodes(node))
    return frozenset(out)


def _reads_list(module: Module, name: ast.Name, parent: ast.AST, nested: bool) -> bool:
    """Whether this use of `name` only reads what a list held in it holds, or changes it
    in a way the reading follows (`xs.append(v)` in the scope itself)."""
    if isinstance(parent, ast.Subscript):
        return parent.value is name and (not nested or isinstance(parent.ctx, ast.Load))
    if isinstance(parent, ast.Attribute):
        return parent.value is name and not (nested and parent.attr in LIST_CHANGES)
    if isinstance(parent, (ast.For, ast.AsyncFor, ast.comprehension)):
        return parent.iter is name
    if isinstance(parent, (ast.Starred, ast.Compare, ast.FormattedValue)):
        return True
    if isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.Assert)):
        return parent.test is name
    if isinstance(parent, ast.UnaryOp):
        return isinstance(parent.op, ast.Not)
    if isinstance(parent, ast.Return):
        return not nested
    if isinstance(parent, ast.Call) and parent.func is not name:
        func = dotted_name(parent.func)
        if func is None:
            return False
        if func in _READS_LIST:
            return True
        origin = module.imports.get(func.split(".")[0])
        return origin is not None and origin[0].split(".")[0] in ("torch", "einops", "numpy")
    return False


_resolved: dict[tuple[int, str], tuple[Module, object]] = {}


def _index(tree: ast.Module) -> _Index:
    found = _indexes.get(id(tree))
    if found is not None and found.tree is tree:
        return found
    top = id(tree.body)
    names: dict[int, set[str]] = {top: set()}
    children: dict[int, list[_ScopeNode]] = {top: []}
    rebound: set[str] = set()
    # Statements only: names are bound by statements (a walrus aside), and expressions are
    # most of a file's nodes.
    stack: list[tuple[ast.stmt, int]] = [(n, top) for n in reversed(tree.body)]
    while stack:
        node, scope = stack.pop()
        names[scope].update(_stmt_binds(node))
        if isinstance(node, ast.Global):
            rebound.update(node.names)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            children[scope].append(node)
            inner = id(node.body)
            names[inner], children[inner] = set(), []
            stack.extend((n, inner) for n in reversed(node.body))
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                stack.extend((n, scope) for n in reversed(block) if isinstance(n, ast.stmt))
        if isinstance(node, (ast.Try, ast.TryStar)):
            for handler in node.handlers:
                if handler.name:
                    names[scope].add(handler.name)
                stack.extend((n, scope) for n in reversed(handler.body))
        elif isinstance(node, ast.Match):
            for case in node.cases:
                for part in ast.walk(case.pattern):
                    names[scope].update(_binds(part))
                stack.extend((n, scope) for n in reversed(case.body))
    found = _Index(tree, names, children, frozenset(rebound))
    _indexes[id(tree)] = found
    return found


def _stmt_binds(node: ast.stmt) -> list[str]:
    """The names one statement binds in its own scope (not those of its nested blocks)."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)):
        targets = [node.target]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    else:
        return _binds(node)
    out: list[str] = []
    todo = list(targets)
    while todo:
        t = todo.pop()
        if isinstance(t, ast.Name):
            out.append(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            todo.extend(t.elts)
        elif isinstance(t, ast.Starred):
            todo.append(t.value)
    return out


def _resolve(
    module: Module, dotted: str, misses: dict[str, object]
) -> tuple[Module, Signature] | None:
    """`_source.resolve`, remembered (see `_remembered`)."""
    return _remembered(module, "f:", dotted, misses, lambda: resolve(module, dotted))


def _find_class(module: Module, func: ast.expr, misses: dict[str, object]) -> ClassModel | None:
    """`_modules.find_class`, remembered (see `_remembered`)."""
    dotted = dotted_name(func)
    if dotted is None:
        return None
    return _remembered(module, "c:", dotted, misses, lambda: find_class(module, func))


def _remembered(
    module: Module, kind: str, dotted: str, misses: dict[str, object], find: Callable[[], _T]
) -> _T | None:
    """`find()`, remembered per file and name while the file it found is unchanged.

    A name that resolves to nothing is remembered for good when it is not imported from a
    project file, and otherwise for one file's check (`misses`).
    """
    key = (id(module), kind + dotted)
    hit = _resolved.get(key)
    if hit is not None and hit[0] is module and (hit[1] is None or _current(hit[1])):
        return cast(_T, hit[1])
    if key[1] in misses:
        return None
    result = find()
    if result is not None or _external(module, dotted):
        _resolved[key] = (module, result)
    else:
        misses[key[1]] = None
    return result


def _external(module: Module, dotted: str) -> bool:
    """Whether `dotted` is not imported from a file that the checker can read."""
    first = dotted.split(".")[0]
    origin = module.imports.get(first)
    if origin is None:
        return first not in module.functions
    return find_module(origin[0], module) is None


def _current(found: object) -> bool:
    """Whether the file a remembered lookup found is still the version on disk."""
    target = found.module if isinstance(found, ClassModel) else found[0]  # type: ignore[index]
    return load_found(target.path) is target


def _merge(a: Env | None, b: Env | None, new_attrs: frozenset[str] | None = None) -> Env | None:
    """What is known after two paths join.

    A local name that only one path binds keeps that path's value: on the other path it is
    unbound, and reading it raises. So does `self.x` in an `__init__` where x is not in
    `new_attrs`'s complement: when neither a base class nor the class body gives x a value
    (`_FileChecker.build`). Otherwise an attribute may hold an older value on the other path.
    """
    if a is None:
        return None if b is None else dict(b)
    if b is None:
        return dict(a)
    out: Env = {}
    for k in a.keys() | b.keys():
        va, vb = a.get(k), b.get(k)
        if (k in a) != (k in b):
            attr = k.startswith("self.") and k.count(".") == 1
            kept = "." not in k or (new_attrs is not None and attr and k[5:] in new_attrs)
            out[k] = (va if k in a else vb) if kept else None
        else:
            # What both paths share: `(b, s, d)` and `(b, s, h, d)` give `(b, s, ..., d)`.
            out[k] = _one_of([va, vb])
    return out


def _assigned(stmts: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for node in _own_nodes(stmts):
        if isinstance(node, (ast.Name, ast.Tuple)):
            out.update(_binds(node))
    return out


def _as_load(node: ast.expr) -> ast.expr:
    if isinstance(node, ast.Name):
        return ast.copy_location(ast.Name(node.id, ast.Load()), node)
    return node


def _module_number(module: Module, name: str) -> Value:
    """A top-level name bound once to a number, as functions of the file see it."""
    value = module.aliases.get(name)
    if isinstance(value, ast.UnaryOp):
        value = value.operand
    if isinstance(value, ast.Constant) and type(value.value) in (int, float):
        return NumV()
    return None


def _self_targets(node: ast.AST) -> list[str]:
    """`self.x` for each attribute of `self` that a statement assigns."""
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    return [
        f"self.{t.attr}"
        for each in targets
        for t in ast.walk(each)
        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
    ]


def _class_level(cls: ClassModel) -> set[str]:
    """Names that the body of `cls` or of a class it derives from gives a value."""
    out: set[str] = set()
    for stmt in cls.node.body:
        if isinstance(stmt, ast.Assign) or (isinstance(stmt, ast.AnnAssign) and stmt.value):
            out.update(_stmt_binds(stmt))
    for base in cls.bases:
        out |= _class_level(base)
    return out


def _getter(
    found: tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef], attr: str
) -> tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The `@property` getter of `attr`, where `found` is the class's last definition of that
    name (a setter comes after its getter): the class it is in, and the getter."""
    owner = found[0]
    for stmt in owner.node.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == attr and _decorated(stmt, "property"):
            return owner, stmt
    return None


def _module_list(cls: ClassModel, depth: int = 0) -> bool:
    """Whether `cls` is a `torch.nn.ModuleList` that changes none of what it holds."""
    if depth > 8 or any(m in cls.methods for m in ("__init__", "__iter__", "__getitem__")):
        return False
    for base in cls.node.bases:
        dotted = dotted_name(unsubscripted(base))
        if dotted is None:
            continue
        first, _, rest = dotted.partition(".")
        origin = cls.module.imports.get(first)
        if origin is not None:
            head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
            qual = ".".join(p for p in (head, rest) if p)
            if qual in ("torch.nn.ModuleList", "torch.nn.modules.container.ModuleList"):
                return True
    return any(_module_list(b, depth + 1) for b in cls.bases)


def _informative(shape: Shape) -> bool:
    """Whether a shape says anything a spec could contradict: its rank, or one size."""
    if not any(isinstance(i, Group) for i in shape):
        return True
    return any(
        (isinstance(i, Group) and bool(i.name)) or (isinstance(i, Size) and i.kind != "fresh")
        for i in shape
    )


def _callable(v: Value) -> bool:
    return isinstance(v, (LayerV, ObjV, ClsV, LamV, AnyOfV))


def _operand(module: Module, node: ast.expr) -> str:
    """An operand as a message shows it: `(a - b)` in `w * (a - b)` keeps its parentheses."""
    text = _text(module, node)
    compound = (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Lambda, ast.NamedExpr)
    return f"({text})" if isinstance(node, compound) else text


def _held(item: Value) -> Value:
    """An item as a list or tuple holds it: a list inside one may be changed through the
    outer one (`rows[0].append(v)`, `for r in rows: r.append(v)`), so it is unknown."""
    return None if isinstance(item, ListV) or (isinstance(item, TupV) and item.mutable) else item


def _repeated(left: Value, right: Value) -> Value:
    """`[x] * 2`: a list or tuple repeated; a count the checker cannot read gives a list of
    unknown length, when its items all have one value."""
    seq, count = (left, right) if isinstance(left, TupV) else (right, left)
    assert isinstance(seq, TupV)
    if seq.fields:
        return None
    size = count.size if isinstance(count, IntV) else None
    if size is not None and size.kind == "int" and isinstance(size.value, int):
        return TupV(seq.items * max(size.value, 0), mutable=seq.mutable)
    if isinstance(count, (IntV, SymV)) and seq.items and all(i == seq.items[0] for i in seq.items):
        return ListV(seq.items[0])
    return None


def _item_of(iterated: Value) -> Value:
    """What a `for` loop over `iterated` binds on each pass: a list's item, what every item
    of a tuple shares, a row of a tensor."""
    if isinstance(iterated, ListV):
        return iterated.item
    if isinstance(iterated, TupV) and iterated.items and not iterated.fields:
        return _one_of(list(iterated.items))
    if isinstance(iterated, tuple) and iterated and isinstance(iterated[0], Size):
        return iterated[1:]
    return None


def _one_of(values: list[Value]) -> Value:
    """One of `values`, known only at run time: their common shape, or all of them as
    options when they are layers, modules, classes or lambdas."""
    if all(v == values[0] for v in values):
        return values[0]
    if all(_callable(v) for v in values):
        options: list[Value] = []
        for v in values:
            for o in v.options if isinstance(v, AnyOfV) else (v,):
                if o not in options:
                    options.append(o)
        return AnyOfV(tuple(options)) if len(options) <= 8 else None
    if all(isinstance(v, (tuple, TupV, ListV)) for v in values):
        return _joined(values)
    return None


def _generator(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return _per_node(
        _generators,
        fn,
        lambda: any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in _own_nodes(fn.body)),
    )


def _own_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a scope, in nested blocks too, but not in nested scopes."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, _Scopes):
            continue
        blocks: list[list[ast.stmt]] = [
            getattr(stmt, field, []) for field in ("body", "orelse", "finalbody")
        ]
        blocks += [h.body for h in getattr(stmt, "handlers", [])]
        blocks += [c.body for c in getattr(stmt, "cases", [])]
        for block in reversed(blocks):
            stack.extend(reversed(block))


def _joined(values: list[Value]) -> Value:
    """What a function returns when its `return`s give `values`: a shape, or a tuple of
    shapes, that holds for every one of them; None if none does."""
    if not values or any(v is None for v in values):
        return None
    if all(isinstance(v, ListV) or (isinstance(v, TupV) and v.mutable) for v in values):
        # Lists that a loop grows: `[]`, `[v]`, `[v, v]` are each a list of items all `v`.
        held: list[Value] = []
        for v in values:
            held.extend(v.items if isinstance(v, TupV) else (cast(ListV, v).item,))
        return ListV(held[0]) if held and all(i == held[0] for i in held) else None
    if all(isinstance(v, tuple) for v in values):
        shapes = cast(list[Shape], values)
        first = shapes[0]
        if all(len(s) == len(first) for s in shapes) and not any(
            isinstance(i, Group) for s in shapes for i in s
        ):
            return tuple(
                i if all(s[k] == i for s in shapes) else fresh() for k, i in enumerate(first)
            )
        return _common_shape(shapes)
    if all(isinstance(v, TupV) and not v.mutable and not v.fields for v in values):
        tuples = cast(list[TupV], values)
        n = len(tuples[0].items)
        if any(len(t.items) != n for t in tuples):
            return None
        items = tuple(_joined([t.items[k] for t in tuples]) for k in range(n))
        if not any(isinstance(i, tuple) for i in items):
            return None
        return TupV(items, uncertain=any(t.uncertain for t in tuples))
    return None


def _substituted(value: Value, unifier: Unifier, on_self: bool) -> Value:
    """A value `_FileChecker.infer` read, in the caller's sizes."""
    if isinstance(value, tuple):
        return unifier.substitute(value, on_self)
    if isinstance(value, TupV):
        return TupV(tuple(_substituted(i, unifier, on_self) for i in value.items))
    return None


def _on_self(node: ast.Call) -> bool:
    """Whether the call is `self.method(...)` or `super().method(...)`."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return False
    base = func.value
    if isinstance(base, ast.Name):
        return base.id == "self"
    return (
        isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "super"
    )


def _common_shape(shapes: list[Shape]) -> Shape | None:
    """What every alternative of a Union shares: the same leading and trailing axes, with a
    run of unknown length for the axes in between where the alternatives differ."""
    first = shapes[0]
    if all(s == first for s in shapes):
        return first
    shortest = min(len(s) for s in shapes)
    lead = 0
    while lead < shortest and all(s[lead] == first[lead] for s in shapes):
        lead += 1
    trail = 0
    while trail < shortest - lead and all(s[-1 - trail] == first[-1 - trail] for s in shapes):
        trail += 1
    if lead + trail == 0:
        return None
    return (*first[:lead], anonymous_group(), *first[len(first) - trail :])


def _literal_shape(node: ast.expr, data: TupV, seen: dict[int, Value]) -> Shape | None:
    """`torch.tensor([[1, 2], [3, 4]])`: literal lists of Python numbers, all of one length.
    The inner lists are read from what `seen` has for their own nodes."""
    if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) != len(data.items):
        return None
    items = tuple(seen.get(id(e)) for e in node.elts)
    if all(isinstance(i, (IntV, NumV)) for i in items):
        return (lit(len(items)),)
    if items and all(isinstance(i, TupV) and not i.fields for i in items):
        inner = [
            _literal_shape(e, i, seen)  # type: ignore[arg-type]
            for e, i in zip(node.elts, items, strict=True)
        ]
        first = inner[0]
        if first is not None and all(s == first for s in inner):
            return (lit(len(items)), *first)
    return None


def _number_annotation(node: ast.expr | None) -> bool:
    """`float`, `int`, `Optional[float]`, `float | None`: a Python number, or None."""
    if isinstance(node, ast.Name):
        return node.id in ("float", "int")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = (node.left, node.right)
        none = [s for s in sides if isinstance(s, ast.Constant) and s.value is None]
        return len(none) == 1 and any(_number_annotation(s) for s in sides if s not in none)
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, (ast.Name, ast.Attribute))
        and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr) == "Optional"
    ):
        return _number_annotation(node.slice)
    return False


def _scalar(node: ast.expr, v: Value) -> bool:
    if isinstance(v, (IntV, SymV, NumV)):
        return True
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _overridden(cls: ClassModel, name: str) -> bool:
    """Whether a class in the same file that derives from `cls` defines `name` again."""
    todo, seen = [cls], set()
    while todo:
        here = todo.pop()
        seen.add(id(here))
        for node in here.module.tree.body:
            if not isinstance(node, ast.ClassDef) or node is here.node:
                continue
            names = [
                b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")
                for b in map(unsubscripted, node.bases)
            ]
            if here.node.name in names:
                sub = model(here.module, node)
                if name in sub.methods or name in sub.declared_here:
                    return True
                if id(sub) not in seen:
                    todo.append(sub)
    return False


def _numeric(qual: str, args: list[Value]) -> bool:
    """`math.sqrt(d)`, `np.log(2.0)`: functions of numbers that give a number."""
    root = qual.split(".")[0]
    if root == "math":
        return True
    return root == "numpy" and bool(args) and all(isinstance(a, (IntV, NumV)) for a in args)


def _shape_tuple(shape: Shape) -> Value:
    if any(isinstance(i, Group) for i in shape):
        return None
    return TupV(tuple(IntV(i) for i in shape if isinstance(i, Size)))


def _lit_int(v: Value) -> int | None:
    if isinstance(v, IntV) and v.size.kind == "int":
        assert isinstance(v.size.value, int)
        return v.size.value
    return None


def _str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _kw(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _decorated(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == name)
        or (isinstance(d, ast.Attribute) and d.attr == name)
        for d in fn.decorator_list
    )


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


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    a = fn.args
    return [*a.posonlyargs, *a.args, *a.kwonlyargs]


def _alternatives(module: Module, node: ast.expr | None) -> list[TensorParam] | None:
    """A Union of two or more tensor annotations (None aside), as its alternatives."""
    if node is None:
        return None
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
    members = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    if len(members) < 2:
        return None
    found = [module.annotation(m) for m in members]
    if any(f is None for f in found):
        return None
    return [f for f in found if f is not None]


def _class_named(node: ast.expr | None) -> ast.Name | ast.Attribute | None:
    """The class in `X`, `Optional[X]`, `X | None` or `Union[X, None]`.

    Where the value is None, reading its attributes or calling it raises, so the code that
    uses it sees an X.
    """
    if isinstance(node, (ast.Name, ast.Attribute)):
        return node
    members: list[ast.expr] = []
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        members = [node.left, node.right]
    elif isinstance(node, ast.Subscript):
        last = (dotted_name(node.value) or "").rsplit(".", 1)[-1]
        if last == "Optional":
            members = [node.slice]
        elif last == "Union":
            members = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else []
    rest = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    if len(rest) == 1 and isinstance(rest[0], (ast.Name, ast.Attribute)):
        return rest[0]
    return None


def _tuple_returns(
    module: Module, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[TensorParam | None] | None:
    """`-> tuple[Float[...], Int[...]]`: each element's contract (None where none)."""
    node = fn.returns
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if not isinstance(node, ast.Subscript):
        return None
    head = (dotted_name(node.value) or "").rsplit(".", 1)[-1]
    if head not in ("tuple", "Tuple") or not isinstance(node.slice, ast.Tuple):
        return None
    if any(isinstance(e, ast.Constant) and e.value is Ellipsis for e in node.slice.elts):
        return None
    found = [module.annotation(e) for e in node.slice.elts]
    if all(f is None for f in found):
        return None
    return found


def _empty_contract(name: str) -> Contract:
    return Contract(name, (), None)


def _bcast_all(shapes: list[Shape], texts: list[str], op: str = "") -> Shape | None:
    out: Shape | None = shapes[0]
    for s, t in zip(shapes[1:], texts[1:], strict=True):
        if out is None:
            return None
        try:
            out = T.broadcast(out, s, texts[0], t)
        except Mismatch as err:
            raise Mismatch(f"{op}: {err}" if op else str(err)) from None
    return out


def _same_shape(a: Shape, b: Shape, ta: str, tb: str, op: str) -> Shape | None:
    try:
        return T.broadcast(a, b, ta, tb)
    except Mismatch as err:
        raise Mismatch(f"{op}: {err}") from None


def _unify_all(args: list[tuple[TensorParam, str, Shape]]) -> tuple[Unifier, Conflict | None]:
    """Match each argument against its parameter's spec in order, as the runtime does."""
    unifier = Unifier()
    for param, _, shape in args:
        conflict = unifier.match(param.name, param.spec, shape)
        if conflict is not None:
            return unifier, conflict
    return unifier, None


def _transpose_fixes(
    args: list[tuple[TensorParam, str, Shape]], conflict: Conflict, shape: Shape
) -> bool:
    """Whether swapping the culprit's last two axes certainly fixes the conflicting dim."""
    if len(shape) < 2 or not all(isinstance(i, Size) for i in shape[-2:]):
        return False
    if conflict.kind not in ("size", "fixed") or conflict.axis is None or conflict.dim is None:
        return False
    if conflict.axis < len(shape) - 2 or any(isinstance(i, Group) for i in shape):
        return False
    swapped = (*shape[:-2], shape[-1], shape[-2])
    retry = [(p, t, swapped if p.name == conflict.argument else s) for p, t, s in args]
    unifier, again = _unify_all(retry)
    if again is not None:
        return False
    got = swapped[conflict.axis]
    assert isinstance(got, Size)
    if conflict.kind == "fixed":
        want: Size | None = Size("int", conflict.dim.size)
    else:
        bound = unifier.single.get(conflict.dim.name)
        want = None if bound is None else bound[0]
    return want is not None and unifier.compare(want, got, "") == "same"


def _int(node: ast.expr) -> int | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def _binds(node: ast.AST) -> list[str]:
    """The names a node binds in its own scope."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return [node.id]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return [*node.names, *node.names]  # bound elsewhere: never a single known binding
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _bind_arguments(sig: Signature, node: ast.Call) -> dict[str, ast.expr] | None:
    """Which argument expression each parameter gets; None if the call cannot be mapped."""
    given: dict[str, ast.expr] = {}
    for i, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            break
        if i < len(sig.positional):
            given[sig.positional[i]] = arg
        elif not sig.has_varargs:
            return None
    for kw in node.keywords:
        if kw.arg is not None:
            if kw.arg in given:
                return None
            given[kw.arg] = kw.value
    return given


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
        for item, size, source in unifier.learned(shown.get(name, ("", ()))[1]) if unifier else []:
            notes.append(f"{item} is {size} from {shown.get(source, (source,))[0]}")
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
        return (
            f"{where}: dims '*{dim}' are ({show(c.expected)}) in {there} "
            f"but ({show(c.actual)}) in {here}"
        )
    return f"{where}: dim '{dim}' is {c.expected} in {there} but {c.actual} in {here}"


class _FileChecker:
    def __init__(self, module: Module, display: str, stats: Stats | None = None) -> None:
        self.module = module
        self.display = display
        self.findings: set[Finding] = set()
        self.stats = stats if stats is not None else Stats()
        self.quiet = 0  # no stats: a loop body's first reading
        self.silent = 0  # neither findings nor stats: reading another class's __init__
        self.misses: dict[str, object] = {}  # lookups that found nothing, for this file
        # (function, Union alternatives) -> what its body returns (`infer`)
        self.inferred: dict[tuple[int, tuple[tuple[str, int], ...]], Value] = {}
        self.inferring: set[tuple[int, tuple[tuple[str, int], ...]]] = set()

    def report(self, node: ast.AST, message: str) -> None:
        if self.silent:
            return
        line = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0) + 1
        self.findings.add(Finding(self.display, line, col, message))

    def _counting(self) -> bool:
        return not (self.quiet or self.silent)

    def stats_call(self) -> None:
        if self._counting():
            self.stats.calls += 1

    def stats_known(self, kind: str) -> None:
        if self._counting():
            self.stats.calls_known[kind] += 1

    def calls_known_undo(self, kind: str) -> None:
        if self._counting():
            self.stats.calls_known[kind] -= 1
            if self.stats.calls_known[kind] <= 0:
                del self.stats.calls_known[kind]

    def stats_relation(self, kind: str = "") -> None:
        if self._counting():
            self.stats.relations += 1
            if kind:
                self.stats.annotated[kind] += 1

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

    def reader(self, module: Module) -> "_FileChecker":
        """A checker that reads another scope for what it gives, reporting and counting
        nothing, and sharing this file's bodies already read."""
        reader = _FileChecker(module, "", self.stats)
        reader.silent = 1
        reader.inferred, reader.inferring = self.inferred, self.inferring
        return reader

    def infer(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        cls: ClassModel | None,
        chosen: tuple[tuple[str, int], ...] = (),
    ) -> Value:
        """What `fn` returns, read from its body under its own annotations: a shape (or a
        tuple of them) in its dim names, or None. `chosen` gives the alternative that each
        of some Union parameters takes. Read once per function, alternatives and file."""
        key = (id(fn), chosen)
        if key in self.inferred:
            return self.inferred[key]
        if key in self.inferring or isinstance(fn, ast.AsyncFunctionDef) or _generator(fn):
            return None
        self.inferring.add(key)
        try:
            scope = _Scope(self.reader(module), fn.body, fn, cls)
            scope.chosen = dict(chosen)
            scope.results = []
            scope.run()
            value = _joined(scope.results)
        finally:
            self.inferring.discard(key)
        self.inferred[key] = value
        return value

    def build(self, cls: ClassModel) -> dict[str, Value]:
        """What `cls.__init__` assigns to `self`, read once per class."""
        if cls.attrs is not None:
            return cls.attrs  # type: ignore[return-value]
        if cls.building:
            return {}
        cls.building = True
        try:
            attrs: dict[str, Value] = {}
            for base in reversed(cls.bases):
                attrs.update(self.build(base))
            init = cls.methods.get("__init__")
            if init is not None:
                scope = _Scope(self.reader(cls.module), init.body, init, cls)
                scope.keep_returns = True
                older = set(attrs) | _class_level(cls)
                assigned = {k[5:] for n in _own_nodes(init.body) for k in _self_targets(n)} - older
                scope.new_attrs = frozenset(assigned)
                env = scope.run()
                for ended in scope.returned:
                    env = _merge(env, ended, scope.new_attrs) if env is not None else ended
                for k, v in (env or {}).items():
                    if k.startswith("self."):
                        attrs[k[5:]] = v
            cls.attrs = attrs  # type: ignore[assignment]
            return attrs
        finally:
            cls.building = False

    def run(self) -> list[Finding]:
        todo: list[
            tuple[list[ast.stmt], ast.FunctionDef | ast.AsyncFunctionDef | None, ClassModel | None]
        ]
        todo = [(self.module.tree.body, None, None)]
        while todo:
            body, fn, cls = todo.pop()
            if self._counting():
                self.stats.functions += 1
            _Scope(self, body, fn, cls).run()
            for node in _index(self.module.tree).children.get(id(body), ()):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    owner = cls if fn is None and cls is not None and node in body else None
                    todo.append((node.body, node, owner))
                else:
                    todo.append((node.body, None, model(self.module, node)))
        lines = self.module.source.splitlines()
        kept = {
            f
            for f in self.findings
            if not (0 < f.line <= len(lines) and _IGNORE.search(lines[f.line - 1]))
        }
        return sorted(kept)


def check_file(path: Path, display: str | None = None, stats: Stats | None = None) -> list[Finding]:
    """Every certain shape mismatch in one file. Raises SyntaxError for a file that won't parse."""
    # The checker keeps many syntax trees alive and makes no reference cycles; the cyclic
    # collector would scan those trees over and over for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        module = load(path)
        if module is None:
            source = path.read_bytes()  # compile() decodes as Python does (PEP 263)
            compile(source, str(path), "exec", dont_inherit=True)  # raises the SyntaxError
            return []
        if stats is not None:
            stats.files += 1
        return _FileChecker(module, display or str(path), stats).run()
    finally:
        if collecting:
            gc.enable()
