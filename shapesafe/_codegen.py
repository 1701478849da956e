"""The per-signature wrapper: Python source generated for each checked function.

Each checked function gets a wrapper with its own parameters, so that a cache hit costs a
few attribute reads and one dict lookup: no argument packing, no loop over the parameters.
"""

__tracebackhide__ = True  # pytest leaves this module's frames out of a failure's report

import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from . import _generated, _mode, _traceback
from ._cache import (
    ALWAYS,
    EITHER,
    ITEMS,
    MIXED,
    NEVER,
    OMITTED,
    OPTIONAL_TENSOR,
    TENSOR,
    TESTED,
    TYPE,
    VALUE,
    Entry,
    bound_entry,
    expr_key,
    items_key,
    mixed_key,
    return_key,
    value_key,
)
from ._jaxtyping_compat import PENDING, MemoStack, adopt_memo_stack, memo_storage
from ._structure import Bound, return_fits
from ._unify import _run as unify_run
from ._unify import inline_decider

if TYPE_CHECKING:
    from ._checked import _Checked


def _traced(state: "_Checked", args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # Imported here: `_compile` imports dynamo, which doubles the time `import shapesafe`
    # takes, and it is only needed once something is being compiled.
    from ._compile import call_traced

    args, kwargs = state.drop_omitted(args, kwargs)
    return call_traced(state, state.substitute(args), kwargs)


def _exporting_checks() -> bool:
    """`_mode.checking()`, which dynamo calls while it traces instead of tracing it (a
    ContextVar read) and takes as a constant: an export is traced once, inside the `mode()`
    block it runs in."""
    return _mode.checking()


# What `torch._dynamo.assume_constant_result` sets, without importing dynamo here.
_exporting_checks._dynamo_marked_constant = True  # type: ignore[attr-defined]


def _check_now() -> bool:
    """Whether to check, read when `_mode.fast_check` is False. Compiled code follows the
    process default (a compiled graph outlives any `mode()` block); an export, traced once
    where it is called, follows the mode there."""
    if torch.compiler.is_compiling():
        if torch.compiler.is_exporting():
            return _exporting_checks()
        return _mode.default_checking()
    return _mode.checking()


#: The generated code's globals: the namespace of the module `shapesafe._generated`, whose
#: name dynamo and tracebacks read. `_checking` and `_off` are `_mode.fast_check` and
#: `_mode.fast_off`, kept in step by a listener; when both are False (a `mode()` block was
#: entered), the wrapper reads the ContextVar itself (`_scope_get`, then `_default_check`
#: where no block is active in this context), or asks `_check_now()` while compiling.
_NAMESPACE: dict[str, Any] = {
    "_trim": _traceback.trim,
    "_checking": True,
    "_off": False,
    "_check_now": _check_now,
    "_scope_get": _mode.scope_get,
    "_default_check": True,
    #: dynamo folds a call to this function to True while it traces, so it must stay a call.
    "_is_compiling": torch.compiler.is_compiling,
    "_traced": _traced,
    "_memo_storage": memo_storage,
    "_MemoStack": MemoStack,
    "_adopt_memo_stack": adopt_memo_stack,
    "_PENDING": PENDING,
    "_OMIT": OMITTED,
    "_mixed_key": mixed_key,
    "_Tensor": torch.Tensor,
    "_value_key": value_key,
    "_items_key": items_key,
    "_expr_key": expr_key,
    "_return_key": return_key,
    "_unify_run": unify_run,
    "_Entry": Entry,
    "_bound_entry": bound_entry,
    "_Bound": Bound,
    "_return_fits": return_fits,
    "torch_tracing_state": torch._C._get_tracing_state,
}
vars(_generated).update(_NAMESPACE)
_NAMESPACE = vars(_generated)


def _set_checking(check: bool, off: bool) -> None:
    _NAMESPACE["_checking"] = check
    _NAMESPACE["_off"] = off
    _NAMESPACE["_default_check"] = _mode.default_checking()


_mode.add_listener(_set_checking)

# The generated code's own names start with this prefix, and it reads the globals above and
# these builtins; a function with a parameter named like either gets the generic wrapper.
PREFIX = "_ss_"
GLOBALS_USED = frozenset(_NAMESPACE) | {"KeyError", "AttributeError", "Exception"}


def _push_memo(memo: str, values: str, indent: int) -> str:
    """Generated lines that push a pending memo for the body onto jaxtyping's memo stack.

    They bind `stack` and `built` (how many pending memos were built before the body).
    """
    p = PREFIX
    lines = f"""try:
    {p}stack = _memo_storage.memo_stack
except AttributeError:
    {p}stack = _memo_storage.memo_stack = _MemoStack()
if {p}stack.__class__ is not _MemoStack:
    {p}stack = _adopt_memo_stack({p}stack)
{p}built = {p}stack.built
{p}stack.append((_PENDING, {memo}, {p}names{values}))"""
    return textwrap.indent(lines, " " * indent)


def writable(state: "_Checked") -> bool:
    """Whether `generated_wrapper` can write a wrapper for `state.fn`."""
    return state.cacheable and not any(
        param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        or param.name.startswith(PREFIX)
        or param.name in GLOBALS_USED
        for param in state.signature.parameters.values()
    )


def generated_wrapper(state: "_Checked") -> Callable[..., Any] | None:
    """A wrapper with `fn`'s own parameters, or None where the generic one must do.

    The hit path in the generated source reads, in order: the mode, `_is_compiling()`, the
    signature (a flat tuple of attribute reads), the cache, jaxtyping's memo stack, then
    calls `fn` and compares the return's class, dtype and shape with the accepted one.
    """
    if not writable(state):
        return None
    params = list(state.signature.parameters.values())
    decl: list[str] = []
    call: list[str] = []
    positional: list[str] = []
    keyword: list[str] = []
    defaults: list[Any] = []
    key: list[str] = []
    # Positions in the key of the structure's parts, and of each tensor argument's shape.
    structure: list[int] = []
    shapes: list[int] = []
    # Each argument as the body sees it: a left-out default its hint rejects is `_OMIT` in
    # the wrapper (and in the key), the default itself in the body. Then the tests of the
    # `TESTED` arguments, and the lines that fetch their testers and those defaults.
    value: dict[str, str] = {}
    tests: list[str] = []
    # Positions in the key of `ITEMS` arguments: None there, and the call takes the full check.
    unkeyed: list[int] = []
    fetch: list[str] = []
    saw_positional_only = saw_star = False
    for param in params:
        n = param.name
        value[n] = n
        if param.kind == param.POSITIONAL_ONLY:
            saw_positional_only = True
        elif saw_positional_only:
            decl.append("/")
            saw_positional_only = False
        if param.kind == param.KEYWORD_ONLY and not saw_star:
            if saw_positional_only:
                decl.append("/")
                saw_positional_only = False
            decl.append("*")
            saw_star = True
        if param.default is param.empty:
            decl.append(n)
        else:
            decl.append(f"{n}={PREFIX}defaults[{len(defaults)}]")
            if n in state.omitted_defaults:
                value[n] = f"({PREFIX}o{len(fetch)} if {n} is _OMIT else {n})"
                fetch.append(f"{PREFIX}o{len(fetch)} = {PREFIX}state.omitted_defaults[{n!r}]")
                defaults.append(OMITTED)
            else:
                defaults.append(param.default)
        if param.kind == param.KEYWORD_ONLY:
            call.append(f"{n}={value[n]}")
            keyword.append(f"{n!r}: {n}")
        else:
            call.append(value[n])
            positional.append(n)
        kind = state.kinds[n]
        if kind == TESTED or kind == EITHER:
            # A `TESTED` argument is tested against its hint; an `EITHER` one, unless it is a
            # tensor, against its union's other hints.
            test = f"not {PREFIX}t{len(fetch)}({n})"
            if kind == EITHER:
                test = f"not isinstance({n}, _Tensor) and {test}"
            if n in state.omitted_defaults:
                test = f"{n} is not _OMIT and {test}"
            tests.append(f"if {test}:\n    return {PREFIX}call_full(None, @@, {{{n!r}: False}})")
            testers = "testers" if kind == TESTED else "either_testers"
            fetch.append(f"{PREFIX}t{len(fetch)} = {PREFIX}state.{testers}[{n!r}]")
        if kind in (TENSOR, OPTIONAL_TENSOR):
            structure += [len(key), len(key) + 2]
            shapes.append(len(key) + 1)
        elif kind in (MIXED, TYPE, VALUE):
            structure.append(len(key))
        if kind == TENSOR:
            key += [f"{n}.__class__", f"{n}.shape", f"{n}.dtype"]
        elif kind == OPTIONAL_TENSOR:
            key += [
                f"{n}.__class__",
                f"None if {n} is None else {n}.shape",
                f"None if {n} is None else {n}.dtype",
            ]
        elif kind == MIXED or kind == EITHER:
            key.append(f"_mixed_key({n})")
        elif kind == TYPE:
            key.append(f"{n}.__class__")
        elif kind == VALUE:
            key.append(f"_value_key({n})")
        elif kind == ITEMS:
            unkeyed.append(len(key))
            key.append(f"_items_key({n})")
        elif kind == NEVER:  # pragma: no cover - such a state is not cacheable
            return None
    if saw_positional_only:
        decl.append("/")
    # An `{expr}` value is keyed with its type: `True`, `1` and `1.0` are different keys.
    expr_start = len(key)
    # An int (the usual `{self.n}`) is keyed inline, as `value_key` keys it.
    p = PREFIX
    key += [
        f"(int, {p}x{i}) if ({p}x{i} := ({e})).__class__ is int else _expr_key({p}x{i})"
        for i, e in enumerate(state.exprs)
    ]
    if not key:
        key.append("None")
    state.structure_index = tuple(structure)
    structured = state.structured
    args_tuple = "(" + "".join(f"{n}, " for n in positional) + ")"
    kwargs_dict = "{" + ", ".join(keyword) + "}"
    values = "".join(f", {value[n]}" for n in state.names)
    p = PREFIX
    all_values = "(" + "".join(f"{value[n]}, " for n in state.names) + ")"
    again = f"{p}state.check_return_values({all_values}, {p}out)"
    # The return's `{expr}` dims are read after the body, which may have changed them: the
    # return is checked again unless they still have the values in the key.
    same = "".join(
        f" or {p}key[{expr_start + i}]"
        f" != ((int, {p}y{i}) if ({p}y{i} := ({e})).__class__ is int else _expr_key({p}y{i}))"
        for i, e in enumerate(state.exprs)
        if e in state.return_exprs
    )
    if state.return_kind == TENSOR:
        test = (
            f"{p}stack.built != {p}built or {p}out.__class__ is not {p}e.rt"
            f" or {p}out.dtype is not {p}e.rd or {p}out.shape != {p}e.rs{same}"
        )
    elif state.return_kind == VALUE:
        test = f"{p}stack.built != {p}built or {p}e.ret_key != _return_key({p}out){same}"
    elif state.return_kind == ALWAYS:
        test = f"not {p}state.return_tester({p}out)"
    else:
        test = ""
    if not test:
        ret_check = "pass"
    elif same:
        ret_check = (
            f"try:\n"
            f"                {p}again = {test}\n"
            f"            except Exception:\n"
            f"                {p}again = True\n"
            f"            if {p}again:\n"
            f"                {again}"
        )
    else:
        ret_check = f"if {test}:\n                {again}"
    if not state.own_op:
        body = f"""{_push_memo(f"{p}e", values, 8)}
        try:
            {p}out = {p}fn({", ".join(call)})
            {ret_check}
        finally:
            del {p}stack[-1]
        return {p}out"""
    else:
        body = f"""        return {p}fn({", ".join(call)})"""
    if structured:
        skey = "(" + "".join(f"{p}key[{i}], " for i in structure) + ")"
        sshapes = "(" + "".join(f"{p}key[{i}], " for i in shapes) + ")"
        named = "{" + ", ".join(f"{n!r}: {value[n]}" for n in state.names) + "}"
        arguments = named if state.exprs else "None"
        if state.own_op:
            # Not stored in the verdict cache: for an op, deciding a known structure here costs
            # what a hit costs, and storing and evicting one new signature per call was most
            # of a new shape's overhead. The op's body is called from here as on a hit, so
            # `torch.jit.trace` sees one path.
            accepted = f"""
                return {p}fn({", ".join(call)})"""
            tracing = ""
        else:
            accepted = _structured_body(state, call, values, all_values, arguments, named)
            tracing = f" or {p}tracing() is not None"
        inline = None
        if state.own_op:
            # The sizes are compared right here, reading the key: no call, no tuple.
            inline = inline_decider(
                state.contract.plan[: len(state.contract.params)],
                [f"{p}key[{i}]" for i in shapes],
                f"return {p}call_full({p}key, {args_tuple}, {kwargs_dict})",
                f"{p}d",
                4,
            )
        if inline is not None:
            decide = "\n" + inline
        elif state.own_op:
            decide = f"""
                if {p}decide({sshapes}, {arguments}) is not True:
                    return {p}call_full({p}key, {args_tuple}, {kwargs_dict})"""
        else:
            # The dims the arguments bind, for the body's memo and the return's verdict.
            decide = f"""
                {p}b = {p}bind({sshapes}, {arguments})
                if {p}b.__class__ is not tuple:
                    return {p}call_full({p}key, {args_tuple}, {kwargs_dict})"""
        # The structure of the last call decided here, compared part by part by identity
        # (which implies the dict's equality), saves building and hashing a tuple.
        same_parts = " and ".join(f"{p}key[{i}] is {p}ls[{k}]" for k, i in enumerate(structure))
        if 0 < len(structure) < len(state.last_structure):
            lookup = f"""                {p}ls = {p}state.last_structure
                if {same_parts}:
                    {p}r = {p}ls[-1]
                else:
                    {p}r = {p}structures.get({skey})
                    if {p}r is not None:
                        {p}state.last_structure = ({skey[1:-1]}{p}r)"""
        else:
            lookup = f"""                {p}r = {p}structures.get({skey})"""
        miss = (
            lookup
            + f"""
                if {p}r is None{tracing}:
                    return {p}call_full({p}key, {args_tuple}, {kwargs_dict})"""
            + decide
            + accepted
        )
    else:
        miss = f"                return {p}call_full({p}key, {args_tuple}, {kwargs_dict})"
    binds = structured and not state.own_op
    fetched = "".join(f"    {line}\n" for line in fetch)
    bind_line = f"    {p}bind = {p}state.contract.binder\n" if binds else f"    {p}bind = None\n"
    source = f"""
def {p}factory({p}fn, {p}state, {p}cache, {p}defaults):
    {p}data = {p}cache.data
    {p}move = {p}data.move_to_end
    {p}get = {p}data.get
    {p}call_full = {p}state.call_full
    {p}structures = {p}state.structures
    {p}decide = {p}state.contract.decider
{bind_line}    {p}put = {p}cache.put
    {p}rdecide = {p}state.contract.return_decider if {p}bind else None
    {p}tracing = torch_tracing_state
    {p}names = {p}state.names
{fetched}    def {p}wrapper({", ".join(decl)}):
        if not _checking and (_off or not (
            _check_now() if _is_compiling()
            else _default_check if ({p}m := _scope_get()) is None else {p}m == "check"
        )):
            return {p}fn({", ".join(call)})
        if _is_compiling():
            return _traced({p}state, {args_tuple}, {kwargs_dict})
"""
    # A `TESTED` argument beartype rejects (or samples differently) goes to the full check.
    call_args = f"{args_tuple}, {kwargs_dict}"
    tested = "".join(textwrap.indent(t.replace("@@", call_args), " " * 8) + "\n" for t in tests)
    not_keyed = "".join(
        f"""        if {p}key[{i}] is None:
            return {p}call_full(None, {args_tuple}, {kwargs_dict})
"""
        for i in unkeyed
    )
    checks = f"""{tested}        try:
            {p}key = ({", ".join(key)},)
        except Exception:
            return {p}call_full(None, {args_tuple}, {kwargs_dict})
{not_keyed}        {p}last = {p}cache.last
        if {p}key == {p}last[0]:
            {p}e = {p}last[1]
        else:
            try:
                {p}e = {p}get({p}key)
            except TypeError:  # a symbolic size: unhashable, and checked as it is
                return {p}call_full(None, {args_tuple}, {kwargs_dict})
            if {p}e is None:
{miss}
            # `VerdictCache.get`, inlined (a method call costs a hit 10-15%): a read that
            # marks the entry used. Every write goes through `VerdictCache.put`.
            try:
                {p}move({p}key)
            except KeyError:  # evicted by another thread meanwhile
                pass
            {p}cache.last = ({p}key, {p}e)
{body}
"""
    # Whatever leaves the check or the body is raised again from here, without shapesafe's
    # own frames (`_traceback.trim`): the traceback ends in the user's code.
    source += f"""        try:
{textwrap.indent(checks, "    ")}        except Exception as {p}error:
            raise _trim({p}error)  # shapesafe: the error, without shapesafe's own frames
    return {p}wrapper
"""
    namespace: dict[str, Any] = {}
    filename = _traceback.register(source, state.contract.op)
    code = compile(source, filename, "exec")
    exec(code, _NAMESPACE, namespace)
    factory = namespace[f"{p}factory"]
    wrapper: Callable[..., Any] = factory(state.fn, state, state.cache, tuple(defaults))
    _traceback.forget_when_gone(wrapper, filename)
    return wrapper


def _structured_body(
    state: "_Checked", call: list[str], values: str, all_values: str, arguments: str, named: str
) -> str:
    """A user function's call in a known structure whose arguments' sizes fit (`_ss_b`, the
    dims they bind): the body runs with those dims on jaxtyping's memo stack, as on a hit;
    the return is decided by the unifier when its structure is the accepted one (`_ss_r`)
    and the body bound no dims of its own, else by beartype; then the call is remembered.
    What `_structure.return_fits` does, unrolled for a tensor return."""
    p = PREFIX
    if state.return_kind == TENSOR and state.contract.ret is not None:
        fit = (
            f"{p}stack.built == {p}built and {p}out.__class__ == {p}r[0]"
            f" and {p}out.dtype == {p}r[1]"
            f" and {p}rdecide({p}b[0], {p}b[1], ({p}out.shape,), {arguments}) is True"
        )
    else:
        fit = f"_return_fits({p}state, {p}r, {p}b, {named}, {p}out, {p}stack.built != {p}built)"
    memo = f"_Bound({p}b)"
    entry = f"{p}e = _Entry({p}b[0], {p}b[1], {{}}, {p}out)"
    if state.return_kind == TENSOR:
        # One object: the body's memo, then (the return accepted, so a tensor) the entry.
        memo = f"({p}e := _bound_entry({p}b))"
        entry = (
            f"{p}e.rt = {p}out.__class__; {p}e.rs = {p}out.shape; {p}e.rd = {p}out.dtype\n"
            f"                {p}e.ret_key = ({p}e.rt, {p}e.rs, {p}e.rd)"
        )
    return f"""
{_push_memo(memo, values, 16)}
                try:
                    {p}out = {p}fn({", ".join(call)})
                    try:
                        {p}fit = {fit}
                    except Exception:
                        {p}fit = False
                    if not {p}fit:
                        {p}state.check_return_values({all_values}, {p}out)
                finally:
                    del {p}stack[-1]
                {entry}
                {p}put({p}key, {p}e)
                return {p}out"""


def generic_wrapper(state: "_Checked") -> Callable[..., Any]:
    """The wrapper for what `generated_wrapper` can't write (`*args`, `**kwargs`, ...)."""
    raw = state.fn
    call_generic = state.call_generic
    check_now = _check_now
    is_compiling = torch.compiler.is_compiling
    namespace = _NAMESPACE
    trim = _traceback.trim

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not namespace["_checking"] and (namespace["_off"] or not check_now()):
            return raw(*args, **kwargs)
        if is_compiling():
            return _traced(state, args, kwargs)
        try:
            return call_generic(args, kwargs)
        except Exception as error:
            raise trim(error)  # noqa: B904 - the same error: its cause and context are kept

    return wrapper
