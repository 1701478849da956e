"""THE unifier: matching a contract's dims against the sizes of one call.

Every path that decides or explains a verdict matches dims here, with jaxtyping's exact
semantics (`jaxtyping/_array_types.py`, `_check_dims` and `_check_shape`, v0.3.11):

- arguments are matched in order, then the return; in each one the dims before a variadic
  dim, then those after it, left to right, then the variadic dim;
- `_` and `...` match anything; a `#` dim matches size 1 without binding;
- a fixed dim must equal its size; a named dim binds on first sight and must match after;
- a symbolic dim must equal its expression, evaluated over the single dims bound so far
  (and over the call's arguments for `{...}` parts);
- a variadic `*name` binds its run of axes (separately from single dims). Later runs must
  equal it, unless `#` is involved: jaxtyping keeps, per name, the shape and whether the
  binding run was `*#`. A `*#` run against a `*#` binding must broadcast with it and the
  binding becomes the broadcast shape; a `*` run against a `*#` binding must be that
  broadcast shape itself (and becomes the binding); a `*#` run against a `*` binding must
  broadcast *to* it.

Sizes come from a pluggable domain: two functions, `eq(a, b)` and `is_one(a)`, and `atom(v)`
(may a `{...}` part's value stand for itself as one operand). Ints use `==`; the compiled
path passes guard helpers over `SymInt`s (`_compile`); the static checker passes its named
and unknown sizes (`_static._unify`), with one more hook, `is_run(item)`: whether an item of
a shape is a run of axes of unknown length (a caller's `*batch`). A dim whose axis can't be
told because of such a run is not matched, and a variadic dim is matched only when the run
falls inside it.

The contract reaches the matcher as a plan of named tuples (`SpecPlan`, `ParamPlan`), built
once per spec (`Spec.plan`) and per contract (`Contract.plan`): no dataclass is touched while
matching.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ._symbolic import Symbolic, parse_symbolic
from ._symbolic import int_atom as int_atom
from ._symbolic import symbolic_value as symbolic_value

if TYPE_CHECKING:  # only for annotations: `_contract` imports this module
    from ._contract import Contract, Dim, Observed, Spec

Expr_ = tuple[Any, ...]

# Dim codes in a plan.
ANON, FIXED, NAMED, SYMBOLIC = range(4)


class DimPlan(NamedTuple):
    """One single (not variadic) dim of a spec, as `match` walks it."""

    code: int  # ANON, FIXED, NAMED or SYMBOLIC
    name: str
    size: int  # a fixed dim's size
    broadcastable: bool
    expr: Any  # a symbolic dim's parsed expression (`Symbolic`), else None
    position: int  # its index in the spec


class RunPlan(NamedTuple):
    """A spec's variadic dim."""

    name: str  # "" for `...` and `*_`
    broadcastable: bool
    position: int  # its index in the spec


class SpecPlan(NamedTuple):
    """A spec split around its variadic dim."""

    pre: tuple[DimPlan, ...]  # the dims before the variadic one (all dims without one)
    post: tuple[DimPlan, ...]  # the dims after it
    run: RunPlan | None  # the variadic dim
    ndims: int  # number of dims, the variadic one counted once


class ParamPlan(NamedTuple):
    """One tensor param of a contract."""

    name: str
    optional: bool
    packed: str  # "*" or "**" for `*args` / `**kwargs`, whose items are matched
    spec: SpecPlan


#: A contract's params, then its return params.
Plan = tuple[ParamPlan, ...]


class Failure(NamedTuple):
    """Why one shape doesn't fit a spec: `match`'s answer."""

    kind: str  # "rank", "size", "fixed", "symbolic", "unknown", "variadic" or "item"
    axis: int  # -1 for "rank"
    position: int  # of the dim in the spec; -1 for "rank"
    expected: Any
    actual: Any


Eq = Callable[[Any, Any], bool]
IsOne = Callable[[Any], bool]
Atom = Callable[[Any], bool]
IsRun = Callable[[Any], bool]


def int_eq(a: Any, b: Any) -> bool:
    return bool(a == b)


def int_is_one(a: Any) -> bool:
    return bool(a == 1)


# Plans ------------------------------------------------------------------------------------


def spec_plan(spec: "Spec") -> SpecPlan:
    """The dims of `spec` as tuples, split around its variadic dim."""
    codes = {"anonymous": ANON, "fixed": FIXED, "named": NAMED, "symbolic": SYMBOLIC}

    def one(i: int, d: "Dim") -> DimPlan:
        return DimPlan(codes[d.kind], d.name, d.size, d.broadcastable, d.expr, i)

    vi = spec.variadic_index
    dims = spec.dims
    if vi is None:
        return SpecPlan(tuple(one(i, d) for i, d in enumerate(dims)), (), None, len(dims))
    v = dims[vi]
    run = RunPlan("" if v.kind == "anonymous_variadic" else v.name, v.broadcastable, vi)
    pre = tuple(one(i, d) for i, d in enumerate(dims[:vi]))
    post = tuple(one(vi + 1 + i, d) for i, d in enumerate(dims[vi + 1 :]))
    return SpecPlan(pre, post, run, len(dims))


def contract_plan(contract: "Contract") -> Plan:
    """The params of `contract`, then its return params, as `decide` walks them."""
    params = (*contract.params, *contract.return_params())
    return tuple(ParamPlan(p.name, p.optional, p.packed, p.spec.plan) for p in params)


# Symbolic dims ----------------------------------------------------------------------------
#
# `symbolic_value` (the one evaluator, in `_symbolic`, shared with the static checker) computes
# a dim's tree over the sizes of any domain.


def evaluate_symbolic(
    expr: str, sizes: Mapping[str, int], arguments: Mapping[str, Any] | None = None
) -> int | None:
    """Value of a symbolic dim such as `embed//heads` or `{n}`; None when it can't be known."""
    value = symbolic_value(parse_symbolic(expr), sizes, arguments)
    return value if isinstance(value, int) else None


# Matching ---------------------------------------------------------------------------------


def _dims(
    dims: tuple[DimPlan, ...],
    shape: Sequence[Any],
    offset: int,
    single: dict[str, Any],
    arguments: Mapping[str, Any] | None,
    eq: Eq,
    is_one: IsOne,
    atom: Atom,
    strict: bool,
    where: dict[str, tuple[int, int]] | None,
) -> Failure | None:
    axis = offset
    for code, name, fixed, broadcastable, sym, index in dims:
        size = shape[axis]
        if code == NAMED:
            if not (broadcastable and is_one(size)):
                bound = single.get(name)
                if bound is None:
                    single[name] = size
                    if where is not None:
                        where[name] = (axis, -1)
                elif not eq(bound, size):
                    return Failure("size", axis, index, bound, size)
        elif code == FIXED:
            if not (broadcastable and is_one(size)) and not eq(size, fixed):
                return Failure("fixed", axis, index, fixed, size)
        elif code == SYMBOLIC:
            if not (broadcastable and is_one(size)):
                want = symbolic_value(sym, single, arguments, atom)
                if want is None:
                    if strict:
                        return Failure("unknown", axis, index, None, size)
                elif not eq(want, size):
                    return Failure("symbolic", axis, index, want, size)
        axis += 1
    return None


def _broadcast(a: tuple[Any, ...], b: tuple[Any, ...], eq: Eq, is_one: IsOne) -> Any:
    """`np.broadcast_shapes(a, b)` in the domain, or None when they don't broadcast."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b, strict=True):
        if eq(x, y) or is_one(y):
            out.append(x)
        elif is_one(x):
            out.append(y)
        else:
            return None
    return tuple(out)


def _same(a: tuple[Any, ...], b: tuple[Any, ...], eq: Eq) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        if not eq(x, y):
            return False
    return True


def match(
    plan: SpecPlan,
    shape: Sequence[Any],
    single: dict[str, Any],
    variadic: dict[str, tuple[bool, tuple[Any, ...]]],
    arguments: Mapping[str, Any] | None = None,
    eq: Eq = int_eq,
    is_one: IsOne = int_is_one,
    atom: Atom = int_atom,
    strict: bool = False,
    where: dict[str, tuple[int, int]] | None = None,
    is_run: IsRun | None = None,
) -> Failure | None:
    """Match one tensor's `shape` against a spec's plan, binding into `single`/`variadic`.

    Returns None if it fits, else the first failure. A symbolic dim whose value can't be
    known is a failure of kind "unknown" when `strict`, and is not checked otherwise.
    Bindings made before a failure stay: callers that go on after one roll back themselves.
    `where`, if given, records the axis (and for a variadic, `"*" + name`, the run) that
    bound each name. `is_run`, if given, tells the runs of unknown length in `shape` (see
    `_runs`); two runs for one variadic dim are then compared by `_differ`, whose failure
    "item" is (kind, axis of the item, index of the variadic dim, bound item, item).
    """
    pre, post, var, ndims = plan
    rank = len(shape)
    if is_run is not None and any(map(is_run, shape)):
        failed, start, got = _runs(
            plan, shape, single, arguments, eq, is_one, atom, strict, where, is_run
        )
        if failed is not None or var is None or got is None:
            return failed
        stop = start + len(got)
        name, broadcastable, index = var
        if not name:
            return None
    else:
        if var is None:
            if rank != ndims:
                return Failure("rank", -1, -1, ndims, rank)
            return _dims(pre, shape, 0, single, arguments, eq, is_one, atom, strict, where)
        if rank < ndims - 1:
            return Failure("rank", -1, -1, ndims, rank)
        if pre:
            failed = _dims(pre, shape, 0, single, arguments, eq, is_one, atom, strict, where)
            if failed is not None:
                return failed
        stop = rank - len(post)
        if post:
            failed = _dims(post, shape, stop, single, arguments, eq, is_one, atom, strict, where)
            if failed is not None:
                return failed
        name, broadcastable, index = var
        if not name:
            return None
        start = len(pre)
        got = tuple(shape[start:stop])
    prev = variadic.get(name)
    if prev is None:
        variadic[name] = (broadcastable, got)
        if where is not None:
            where["*" + name] = (start, stop)
        return None
    prev_broadcastable, want = prev
    if prev_broadcastable:
        wide = _broadcast(got, want, eq, is_one)
        if wide is None or (not broadcastable and not _same(wide, got, eq)):
            return Failure("variadic", start, index, want, got)
        variadic[name] = (broadcastable, wide)
    elif broadcastable:
        wide = _broadcast(got, want, eq, is_one)
        if wide is None or not _same(wide, want, eq):
            return Failure("variadic", start, index, want, got)
    elif is_run is not None:
        return _differ(want, got, start, index, eq, is_run)
    elif not _same(got, want, eq):
        return Failure("variadic", start, index, want, got)
    return None


def _runs(
    plan: SpecPlan,
    shape: Sequence[Any],
    single: dict[str, Any],
    arguments: Mapping[str, Any] | None,
    eq: Eq,
    is_one: IsOne,
    atom: Atom,
    strict: bool,
    where: dict[str, tuple[int, int]] | None,
    is_run: IsRun,
) -> tuple[Failure | None, int, tuple[Any, ...] | None]:
    """`match`'s single dims on a shape that holds runs of unknown length.

    Only the axes before the first run and after the last one have known positions: the
    spec's dims before its variadic dim are matched against the first, left to right, and
    those after it against the second, right to left. Without a variadic dim, the dims are
    matched from both ends. Returns (failure, start, run for the variadic dim), the run
    None where the shape's runs don't all fall inside it. The rank fails only when the
    shape certainly has more axes than a spec without a variadic dim.
    """
    pre, post, var, ndims = plan
    rank = len(shape)
    runs = [i for i, item in enumerate(shape) if is_run(item)]
    head, tail = runs[0], rank - runs[-1] - 1
    if var is None:
        if rank - len(runs) > ndims:
            return Failure("rank", -1, -1, ndims, rank), 0, None
        before, after = pre[: min(ndims, head)], pre[ndims - min(ndims - head, tail) :]
    else:
        before, after = pre[: min(len(pre), head)], post[len(post) - min(len(post), tail) :]
    failed = _dims(before, shape, 0, single, arguments, eq, is_one, atom, strict, where)
    for k in range(1, len(after) + 1):
        if failed is not None:
            break
        one = (after[-k],)
        failed = _dims(one, shape, rank - k, single, arguments, eq, is_one, atom, strict, where)
    if failed is not None or var is None or len(before) < len(pre) or len(after) < len(post):
        return failed, 0, None
    return None, len(pre), tuple(shape[len(pre) : rank - len(post)])


def _differ(
    want: tuple[Any, ...], got: tuple[Any, ...], start: int, index: int, eq: Eq, is_run: IsRun
) -> Failure | None:
    """`_same` for runs that may hold runs of unknown length: items are compared from both
    ends until a run that is not the same on both sides; the lengths fail only when neither
    rest holds such a run."""
    n = min(len(want), len(got))
    lo = 0
    while lo < n:
        a, b = want[lo], got[lo]
        if is_run(a) or is_run(b):
            if a != b:
                break
        elif not eq(a, b):
            return Failure("item", start + lo, index, a, b)
        lo += 1
    hi = 0
    while hi < n - lo:
        a, b = want[-1 - hi], got[-1 - hi]
        if is_run(a) or is_run(b):
            if a != b:
                break
        elif not eq(a, b):
            return Failure("item", start + len(got) - 1 - hi, index, a, b)
        hi += 1
    rest = (*want[lo : len(want) - hi], *got[lo : len(got) - hi])
    if len(want) != len(got) and not any(map(is_run, rest)):
        return Failure("variadic", start, index, want, got)
    return None


def decide(
    contract: "Contract",
    shapes: Sequence[Any],
    arguments: Mapping[str, Any] | None = None,
) -> bool | None:
    """The size verdict on one call whose structure beartype already accepted.

    `shapes` is aligned with `contract.params` followed by `contract.return_params()` (it
    may stop before the return params to decide the arguments alone). Each item is the
    tensor's shape (a tuple or `torch.Size`), None for an optional param given None, or for
    a packed param (`*args`/`**kwargs`, `TensorParam.packed`) a sequence of the items'
    shapes. `arguments` (the call's arguments by name) is needed only by `{...}` dims.

    Returns True if every size fits, False if one doesn't, exactly as the reference check
    would decide them, and None ("undecidable": fall back to the full check) where a
    symbolic dim can't be evaluated here: an unbound name, a `{...}` dim without
    `arguments`, Python outside the whitelisted expression nodes, an evaluation error, or
    a power past `_symbolic.LIMIT`. Ranks and sizes are judged; dtypes and the types of
    values are not: that is the structure, beartype's to judge.

    The code is generated once per contract (`Contract.decider`); a call costs about
    0.3 us (`matvec`) to 0.8 us (`linear`), see `benchmarks/unify_decide.py`. Shapes as
    tuples are a little faster than `torch.Size`s, whose slicing is slow.
    """
    return contract.decider(shapes, arguments)


def decide_by_plan(
    plan: Plan, shapes: Sequence[Any], arguments: Mapping[str, Any] | None = None
) -> bool | None:
    """`decide`, walking the plan with `match`: what `decider`'s generated code does."""
    single: dict[str, Any] = {}
    variadic: dict[str, tuple[bool, tuple[Any, ...]]] = {}
    for (_, optional, packed, sp), shape in zip(plan, shapes, strict=False):
        if shape is None:
            if optional:
                continue
            return False
        for item in shape if packed else (shape,):
            failed = match(sp, item, single, variadic, arguments, strict=True)
            if failed is not None:
                return None if failed.kind == "unknown" else False
    return True


Decider = Callable[[Sequence[Any], "Mapping[str, Any] | None"], "bool | None"]
#: `binder(plan)`: the dims the arguments bind, in jaxtyping's memo format, as
#: `(single, variadic)`; False where a size doesn't fit, None where a dim can't be decided.
Binder = Callable[
    [Sequence[Any], "Mapping[str, Any] | None"],
    "tuple[dict[str, Any], dict[str, Any]] | bool | None",
]
#: `return_decider(plan, params)`: `decide` for the return params, given the dims the
#: arguments bound, `(single, variadic, return shapes, arguments)`.
ReturnDecider = Callable[
    [dict[str, Any], dict[str, Any], Sequence[Any], "Mapping[str, Any] | None"], "bool | None"
]


def decider(plan: Plan) -> Decider:
    """`decide_by_plan` for one plan as straight-line code on ints: each bound name is a
    local variable, each dim one comparison. Variadic runs call the same helper as `match`;
    a symbolic dim is one Python expression over those locals where its tree allows, and
    `symbolic_value` otherwise."""
    fn: Decider = _generate(plan, "decide")
    return fn


def binder(plan: Plan) -> Binder:
    """`decider` for a plan of arguments only, that returns the dims it bound, in the
    format of jaxtyping's memo (`single`: name to size; `variadic`: name to
    `(broadcastable, run)`), as the reference leaves them when the body starts."""
    fn: Binder = _generate(plan, "bind")
    return fn


def return_decider(plan: Plan, params: int) -> ReturnDecider:
    """`decider` for the plans after the first `params` ones (the return), starting from the
    dims a `binder` bound (they are not changed)."""
    # Runs that the arguments always bind, not broadcastable: a return run of the same name
    # that is not broadcastable either is only compared with them, so `V` needs no copy.
    fixed: set[str] = set()
    seen: set[str] = set()
    for param in plan[:params]:
        run = param.spec.run
        if run is None or not run.name or run.name in seen:
            continue
        seen.add(run.name)
        if not param.optional and not param.packed and not run.broadcastable:
            fixed.add(run.name)
    writes = any(
        (run := param.spec.run) is not None
        and run.name
        and (run.broadcastable or run.name not in fixed)
        for param in plan[params:]
    )
    fn: ReturnDecider = _generate(plan[params:], "return" if writes else "return-read")
    return fn


#: The locals of generated matching code, renamed when it is inlined into a wrapper.
_LOCALS = frozenset({"V", "n", "s", "t", "w", "r", "shapes", "arguments"})


def inline_decider(plan: Plan, shapes: list[str], fail: str, prefix: str, depth: int) -> str | None:
    """`decider`'s code for a plan of arguments, as statements to paste into a wrapper at
    `depth` levels of indentation: the shapes are read from the expressions `shapes`, each
    local gets `prefix`, and a size that doesn't fit runs `fail` (a statement that leaves
    the wrapper). None where a dim needs more than the sizes (a symbolic dim)."""
    for param in plan:
        sp = param.spec
        if param.packed or any(d.code == SYMBOLIC for d in (*sp.pre, *sp.post)):
            return None
    lines = _generate(plan, "inline", shapes)
    local = re.compile(r"\b(" + "|".join(sorted(_LOCALS)) + r"|[vp]\d+)\b")
    body: list[str] = []
    pad = "    " * (depth - 1)
    for line in lines:
        line = line.split("  #")[0]
        if not line.strip():
            continue
        # Dim names appear only inside string literals, which are left alone.
        pieces = re.split(r"('[^']*')", line)
        for k in range(0, len(pieces), 2):
            piece = local.sub(lambda m: prefix + m.group(1), pieces[k])
            pieces[k] = re.sub(r"\b_run\b", "_unify_run", piece)
        line = "".join(pieces).replace("return False", fail).replace("return None", fail)
        body.append(pad + line)
    return "\n".join(body)


def _sizes_in(tree: Any) -> list[str]:
    """The dim names a symbolic dim's tree reads."""
    if not isinstance(tree, tuple) or not tree:
        return []
    if tree[0] == "size":
        return [tree[1]]
    out: list[str] = []
    for item in tree[1:]:
        if isinstance(item, tuple):
            if item and isinstance(item[0], str):
                out += _sizes_in(item)
            else:
                for sub in item:
                    out += _sizes_in(sub)
    return out


def _part_code(tree: Expr_) -> str | None:
    """Python reading one `{...}` part (a chain of attributes on an argument), or None."""
    if tree[0] == "arg":
        return f"arguments[{tree[1]!r}]"
    if tree[0] == "attr" and tree[2].isidentifier() and not tree[2].startswith("__"):
        inner = _part_code(tree[1])
        return None if inner is None else f"{inner}.{tree[2]}"
    return None


_CODE_OPS = ("+", "-", "*", "//", "%")


def _tree_code(tree: Expr_, var: Callable[[str], str | None], parts: list[str]) -> str | None:
    """Python computing a symbolic dim's tree as `_symbolic.evaluate` does, or None where it
    can't be written as one plain expression (then `symbolic_value` is called)."""
    tag = tree[0]
    if tag == "int":
        return repr(tree[1])
    if tag == "size":
        return var(tree[1])
    if tag == "part":
        return parts[tree[1]] if tree[1] < len(parts) else None
    if tag in ("neg", "pos"):
        a = _tree_code(tree[1], var, parts)
        return None if a is None else f"({'-' if tag == 'neg' else '+'}{a})"
    if tag == "op" and tree[1] in _CODE_OPS:
        a = _tree_code(tree[2], var, parts)
        b = _tree_code(tree[3], var, parts)
        return None if a is None or b is None else f"({a} {tree[1]} {b})"
    return None


def _generate(plan: Plan, mode: str, shapes: list[str] | None = None) -> Any:
    """The source of `decider` (`mode` "decide"), `binder` ("bind") or `return_decider`
    ("return"), compiled."""
    names: dict[str, str] = {}
    # Names bound on every path through the code so far, and names seen at all: a name
    # bound where nothing can have bound it before gets a plain assignment.
    certain: set[str] = set()
    runs: set[str] = set()

    def var(name: str) -> str:
        if name not in names:
            names[name] = f"v{len(names)}"
        return names[name]

    consts: dict[str, Any] = {"_symbolic": _symbolic_strict, "_run": _run}
    lines: list[str] = []

    def emit(depth: int, text: str) -> None:
        lines.append("    " * depth + text)

    def symbolic(d: int, sym: Any, at: str) -> None:
        tree, parts, _ = sym
        key = f"_sym{len(consts)}"
        consts[key] = sym
        bound = ", ".join(f"{n!r}: {v}" for n, v in names.items())
        if mode == "return":
            # Names the arguments bound that no dim of the return names are in `S` only.
            bound = "**S, " + bound
        generic = f"w = _symbolic({key}, {{{bound}}}, arguments)"
        used: list[str] = []

        def known(name: str) -> str | None:
            if name not in names:
                return None  # never bound before this dim: `symbolic_value` says None
            v = names[name]
            if name not in certain and v not in used:
                used.append(v)
            return v

        part_codes = [_part_code(p) for p in parts]
        locals_ = [f"p{i}" for i in range(len(parts))]
        code = None
        if tree[0] != "format" and None not in part_codes:
            code = _tree_code(tree, known, locals_)
        if code is None:
            emit(d, generic)
        else:
            # The parts' values stand for themselves only when they are atoms (as in
            # `symbolic_value`); anything else takes the generic evaluation.
            emit(d, "try:")
            if parts:
                emit(d + 1, "if arguments is None: raise LookupError")
                for local, pc in zip(locals_, part_codes, strict=True):
                    emit(d + 1, f"{local} = {pc}")
                atoms = " and ".join(
                    f"({local}.__class__ is int and {local} >= 0 or {local}.__class__ is bool)"
                    for local in locals_
                )
                emit(d + 1, f"if not ({atoms}): raise LookupError")
            for v in used:
                emit(d + 1, f"if {v} is None: raise LookupError")
            emit(d + 1, f"w = {code}")
            emit(d, "except LookupError:")
            emit(d + 1, generic)
            emit(d, "except Exception:")
            emit(d + 1, "w = None")
        emit(d, "if w is None: return None")
        emit(d, f"if w != {at}: return False")

    def dims(depth: int, s: str, plans: tuple[DimPlan, ...], negative: bool, always: bool) -> None:
        count = len(plans)
        for k, (code, name, fixed, broadcastable, sym, _) in enumerate(plans):
            at = f"{s}[{k - count if negative else k}]"
            d = depth
            if code == ANON:
                continue
            if broadcastable:
                emit(d, f"if {at} != 1:")
                d += 1
            if code == FIXED:
                emit(d, f"if {at} != {fixed!r}: return False")
            elif code == NAMED:
                first = name not in names
                v = var(name)
                if name in certain:
                    emit(d, f"if {v} != {at}: return False")
                elif first and always and not broadcastable:
                    emit(d, f"{v} = {at}")
                    certain.add(name)
                else:
                    emit(d, f"if {v} is None: {v} = {at}")
                    emit(d, f"elif {v} != {at}: return False")
            else:
                symbolic(d, sym, at)

    def one(depth: int, s: str, sp: SpecPlan, always: bool) -> None:
        pre, post, run, ndims = sp
        if run is not None and run.name and not keeps_runs and run_counts[run.name] == 1:
            # Nothing else reads this run: its length is all that is checked.
            emit(depth, f"if len({s}) < {ndims - 1}: return False")
            dims(depth, s, pre, False, always)
            dims(depth, s, post, True, always)
            return
        if run is not None and run.name:
            emit(depth, f"{s} = tuple({s})  # slicing a torch.Size costs ~1 us")
        if run is None:
            emit(depth, f"if len({s}) != {ndims}: return False")
        else:
            emit(depth, f"if len({s}) < {ndims - 1}: return False")
        dims(depth, s, pre, False, always)
        dims(depth, s, post, True, always)
        if run is not None and run.name:
            name, bc = run.name, run.broadcastable
            stop = f"-{len(post)}" if post else ""
            emit(depth, f"r = {s}[{len(pre)}:{stop}]")
            if name not in runs and always:
                emit(depth, f"V[{name!r}] = ({bc!r}, r)")
            else:
                emit(depth, f"w = V.get({name!r})")
                emit(depth, f"if w is None: V[{name!r}] = ({bc!r}, r)")
                test = "w[1] != r" if bc else "w[0] or w[1] != r"
                emit(depth, f"elif ({test}) and not _run(V, {name!r}, {bc!r}, r): return False")
            runs.add(name)

    nargs = len(plan)
    inline = mode == "inline"
    # A binder returns every run; the others need only the runs that are read again.
    keeps_runs = mode in ("bind", "return", "return-read")
    run_counts: dict[str, int] = {}
    for param in plan:
        run = param.spec.run
        if run is not None and run.name:
            # A packed param's items are matched against each other: read again.
            run_counts[run.name] = run_counts.get(run.name, 0) + (2 if param.packed else 1)
    reads = mode == "return-read"
    if reads:
        mode = "return"
    if mode == "return":
        # Every name is read from the arguments' bindings; none is certain.
        for param in plan:
            for dp in (*param.spec.pre, *param.spec.post):
                if dp.code == NAMED:
                    var(dp.name)
                elif dp.code == SYMBOLIC and dp.expr is not None:
                    for size in _sizes_in(dp.expr[0]):
                        var(size)
        if not reads:
            emit(1, "V = dict(V)")  # the arguments' bindings stay as they are
    else:
        emit(1, "V = {}")
    if not inline:
        emit(1, "n = len(shapes)")
    body_start = len(lines)
    always = mode != "return"
    for i, (_, optional, packed, sp) in enumerate(plan):
        if mode == "decide":
            emit(1, f"if n <= {i}: return True")
        emit(1, f"s = {shapes[i]}" if shapes is not None else f"s = shapes[{i}]")
        emit(1, "if s is None:")
        emit(2, "pass" if optional else "return False")
        emit(1, "else:")
        if packed:
            emit(2, "for t in s:")
            one(3, "t", sp, False)
        else:
            one(2, "s", sp, always and not optional)
        always = always and not packed and not optional
        if not always:
            emit(1, "")  # what follows may run after any path
    if mode == "bind":
        sure = ", ".join(f"{n!r}: {names[n]}" for n in names if n in certain)
        emit(1, f"S = {{{sure}}}")
        for n, v in names.items():
            if n not in certain:
                emit(1, f"if {v} is not None: S[{n!r}] = {v}")
        emit(1, "return S, V")
    elif not inline:
        emit(1, "return True")
    if mode == "return":
        init = [f"    {v} = S.get({n!r})" for n, v in names.items()]
        head = "def decide(S, V, shapes, arguments):\n"
    else:
        init = [f"    {v} = None" for v in names.values()]
        head = "def decide(shapes, arguments):\n"
    lines[body_start:body_start] = init
    if inline:
        return lines
    source = head + "\n".join(lines) + "\n"
    namespace = dict(consts)
    exec(compile(source, f"<shapesafe.{mode} {nargs}>", "exec"), namespace)
    return namespace["decide"]


def _symbolic_strict(sym: "Symbolic", sizes: dict[str, Any], arguments: Any) -> Any:
    return symbolic_value(sym, {k: v for k, v in sizes.items() if v is not None}, arguments)


def _run(variadic: dict[str, tuple[bool, tuple[Any, ...]]], name: str, bc: bool, got: Any) -> bool:
    """A variadic run of `decider`'s code: `match`'s rule for it, on ints."""
    prev = variadic.get(name)
    if prev is None:
        variadic[name] = (bc, got)
        return True
    if not bc and not prev[0]:
        return bool(got == prev[1])
    return match(_run_plan(name, bc), got, {}, variadic) is None


@functools.lru_cache(maxsize=1024)
def _run_plan(name: str, bc: bool) -> SpecPlan:
    """The plan of a spec that is one variadic dim, `*name` (`*#name` when `bc`)."""
    return SpecPlan((), (), RunPlan(name, bc, 0), 1)


# Explanations: bindings with sources, and conflicts ----------------------------------------


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a size was read: `x.shape[2]`, or `x.shape[0:2]` for a variadic dim."""

    argument: str
    start: int
    stop: int | None = None

    def __str__(self) -> str:
        if self.stop is None:
            return f"{self.argument}.shape[{self.start}]"
        return f"{self.argument}.shape[{self.start}:{self.stop}]"


ConflictKind = Literal["type", "dtype", "rank", "size", "fixed", "symbolic", "variadic"]


@dataclasses.dataclass(frozen=True)
class Conflict:
    """The first place a call breaks its contract."""

    argument: str
    kind: ConflictKind
    spec: "Spec | None"
    axis: int | None = None
    dim: "Dim | None" = None
    expected: Any = None
    actual: Any = None
    source: Source | None = None
    note: str = ""  # replaces the "(bound by ...)" explanation when set


class BindingState:
    """The dims bound so far in one call, with where each was bound: the state `match` binds
    into, shared by the runtime (`Bindings`, whose sizes are ints) and the static checker
    (`_static._unify.Unifier`, whose sizes are symbolic: names, expressions, unknowns, and
    runs of unknown length).

    - `sizes_`: each single dim's name, to the size it bound on first sight (a `#` dim that
      meets a 1 binds nothing);
    - `shapes_`: each variadic `*name`, to `(broadcastable, run)` as jaxtyping keeps it;
    - `sources`: where each name was bound (`"*" + name` for a run).

    A match that fails leaves nothing new bound (`_rollback`); one that fits records where
    it bound each name (`_record`). A failure at the rank or at a single dim becomes the same
    `Conflict` on both sides (`_single_conflict`). Where they differ on purpose, a subclass
    says so: how a size reads in a conflict (`_size_of`, `_expected_of`: the static checker
    resolves what it learned of an unknown size), and whether a run's source names its stop
    (`spans_runs`: not statically, where a shape that holds a run of unknown length has no
    axis index past it).
    """

    #: Whether a run's source names its stop, `x.shape[0:2]`, or its first axis only.
    spans_runs = True

    def __init__(self, sizes: dict[str, Any] | None = None) -> None:
        self.sizes_: dict[str, Any] = {} if sizes is None else sizes
        self.shapes_: dict[str, tuple[bool, tuple[Any, ...]]] = {}
        self.sources: dict[str, Source] = {}

    @property
    def single(self) -> dict[str, tuple[Any, Source]]:
        return {name: (size, self.sources[name]) for name, size in self.sizes_.items()}

    @property
    def variadic(self) -> dict[str, tuple[tuple[Any, ...], Source]]:
        return {
            name: (shape, self.sources["*" + name]) for name, (_, shape) in self.shapes_.items()
        }

    def sizes(self) -> dict[str, Any]:
        """The single dims bound so far, by name."""
        return dict(self.sizes_)

    def _saved(self) -> tuple[dict[str, Any], dict[str, tuple[bool, tuple[Any, ...]]]]:
        return dict(self.sizes_), dict(self.shapes_)

    def _rollback(
        self, saved: tuple[dict[str, Any], dict[str, tuple[bool, tuple[Any, ...]]]]
    ) -> None:
        """Bind again only what was bound when `_saved` was taken."""
        self.sizes_.clear()
        self.sizes_.update(saved[0])
        self.shapes_ = saved[1]

    def _record(self, argument: str, where: Mapping[str, tuple[int, int]]) -> None:
        """Record where `match` bound each name (`where`, as it fills it) in `argument`."""
        for name, (start, stop) in where.items():
            end = None if stop < 0 or not self.spans_runs else stop
            self.sources[name] = Source(argument, start, end)

    def _size_of(self, size: Any) -> Any:
        """A size of the shape, as a conflict shows it."""
        return size

    def _expected_of(self, value: Any) -> Any:
        """The value of a symbolic dim, as a conflict shows it."""
        return value

    def _single_conflict(
        self,
        argument: str,
        spec: "Spec",
        shape: Sequence[Any],
        failed: Failure,
        where: Mapping[str, tuple[int, int]],
    ) -> Conflict | None:
        """The conflict of a failure at the rank or at a single dim; None for a run's."""
        kind, axis, index, expected, actual = failed
        if kind == "rank":
            return Conflict(argument, "rank", spec, expected=len(spec.dims), actual=tuple(shape))
        if kind not in ("fixed", "symbolic", "size"):
            return None
        dim = spec.dims[index]
        got = self._size_of(actual)
        if kind == "fixed":
            return Conflict(argument, "fixed", spec, axis, dim, dim.size, got)
        if kind == "symbolic":
            return Conflict(argument, "symbolic", spec, axis, dim, self._expected_of(expected), got)
        here = where.get(dim.name)
        source = Source(argument, here[0]) if here is not None else self.sources.get(dim.name)
        return Conflict(argument, "size", spec, axis, dim, expected, got, source)


class Bindings(BindingState):
    """Sizes bound so far in one call, with where each was bound: sizes are ints."""

    sizes_: dict[str, int]

    def describe(self) -> list[str]:
        out = [f"{name}={size} from {self.sources[name]}" for name, size in self.sizes_.items()]
        out += [
            f"{name}={shape} from {self.sources['*' + name]}"
            for name, (_, shape) in self.shapes_.items()
            if shape
        ]
        return out

    def match(
        self,
        argument: str,
        spec: "Spec",
        shape: Sequence[int],
        arguments: Mapping[str, Any] | None = None,
    ) -> Conflict | None:
        """Bind `spec` against `shape`. On a conflict nothing new stays bound."""
        saved = self._saved()
        where: dict[str, tuple[int, int]] = {}
        failed = match(spec.plan, shape, self.sizes_, self.shapes_, arguments, where=where)
        if failed is None:
            self._record(argument, where)
            return None
        conflict = self._conflict(argument, spec, shape, failed, where)
        self._rollback(saved)
        return conflict

    def _conflict(
        self,
        argument: str,
        spec: "Spec",
        shape: Sequence[int],
        failed: Failure,
        where: dict[str, tuple[int, int]],
    ) -> Conflict:
        single = self._single_conflict(argument, spec, shape, failed, where)
        if single is not None:
            return single
        _, axis, index, expected, actual = failed
        dim = spec.dims[index]
        want, got = tuple(expected), tuple(actual)
        src = self.sources.get("*" + dim.name)
        if len(want) == len(got) and src is not None:
            # Same rank: point at the first axis that differs, as for a single dim.
            differ = [k for k in range(len(got)) if want[k] != got[k]]
            i = next((k for k in differ if want[k] != 1 and got[k] != 1), differ[0])
            token = f"{dim.token}[{i}]"
            one = dataclasses.replace(
                dim, token=token, kind="named", name=token, broadcastable=False
            )
            return Conflict(
                argument,
                "size",
                spec,
                axis + i,
                one,
                want[i],
                got[i],
                Source(src.argument, src.start + i),
            )
        return Conflict(argument, "variadic", spec, axis, dim, want, got, src)


def unify(
    contract: "Contract",
    observed: "Mapping[str, Observed | None]",
    arguments: Mapping[str, Any] | None = None,
    bindings: Bindings | None = None,
    include_return: bool = True,
) -> tuple[Bindings, Conflict | None]:
    """Check observed arguments (and the return, under the name `return`) in order.

    A name absent from `observed`, or mapped to None where the param is optional, is skipped.
    The items of a packed param `xs` (`*xs`/`**xs`) are observed under the names `xs[...]`,
    and the items of a tuple return under `return[0]`, `return[1]`, ...
    """
    b = Bindings() if bindings is None else bindings
    params = list(contract.params)
    if include_return:
        params.extend(contract.return_params())
    for p in params:
        if p.packed:
            prefix = p.name + "["
            items = [(k, v) for k, v in observed.items() if k.startswith(prefix)]
        elif p.name in observed:
            items = [(p.name, observed[p.name])]
        else:
            continue
        for name, got in items:
            if got is None:
                if p.optional:
                    continue
                return b, Conflict(name, "type", p.spec, expected=p.dtype_label, actual="None")
            if got.shape is None:
                return b, Conflict(
                    name, "type", p.spec, expected=p.dtype_label, actual=got.type_name
                )
            if p.dtypes is not None and got.dtype not in p.dtypes:
                return b, Conflict(name, "dtype", p.spec, expected=p.dtype_label, actual=got.dtype)
            conflict = b.match(name, p.spec, got.shape, arguments)
            if conflict is not None:
                return b, conflict
    return b, None
