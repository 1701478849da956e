"""Calls of annotated functions, contracts and modules: binding arguments to a contract,
Union alternatives, returns read from a body, and the checks of annotated values."""

import ast
import dataclasses
import itertools
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from .._contract import Conflict, Contract, Spec, TensorParam
from . import _torch as T
from ._helpers import (
    Flags,
    Numbers,
    caller_bound,
    given_flags,
    int_flags,
    nested_def,
    number_params,
    shapeless,
    sized,
    unannotated_bound,
    vague,
)
from ._made import _Made, made_by
from ._modules import (
    REGISTERS,
    ClassModel,
    delegated,
    model,
    overridden_otherwise,
    registered,
    unsubscripted,
)
from ._passed import anonymous_run, better, returned, tuple_returned
from ._report import (
    Env,
    Finding,
    _call_text,
    _identity,
    _message,
    _text,
)
from ._rules import PASS, dtypes, layer_call, library_call
from ._source import (
    Module,
    Signature,
    _decorated,
    _params,
    dotted_name,
    signature,
)
from ._unify import (
    Group,
    Shape,
    Size,
    Unifier,
    anonymous_group,
    equality_note,
    fresh,
    needs,
    relating,
    show,
)
from ._values import (
    AnyOfV,
    ClsV,
    DictV,
    FnV,
    IntV,
    LamV,
    LayerV,
    LibV,
    ObjV,
    SymV,
    TupV,
    Value,
    _callable,
    _one_of,
    portable,
)

_T = TypeVar("_T")


class BodyCall(NamedTuple):
    """A call of a function whose body the checker reads (`_Calls.contract_call`): the
    parameters' argument expressions (`given`, without `self`) and their values (`values`),
    whether it is on the caller's `self`, and whether no subclass may override it (`own`)."""

    node: ast.Call
    module: Module
    fn: ast.FunctionDef | ast.AsyncFunctionDef
    given: dict[str, ast.expr]
    values: dict[int, Value]
    shift: int
    on_self: bool
    own: bool


def _substituted(value: Value, unifier: Unifier, on_self: bool) -> Value:
    """A value `FileChecker.infer` read, in the caller's sizes."""
    if isinstance(value, tuple):
        return unifier.substitute(value, on_self)
    if isinstance(value, TupV):
        return TupV(tuple(_substituted(i, unifier, on_self) for i in value.items))
    if isinstance(value, DictV):
        items = tuple((k, _substituted(v, unifier, on_self)) for k, v in value.items)
        return DictV(items, _substituted(value.each, unifier, on_self))
    return value if portable(value) else None


def _gives_more(bound: tuple[tuple[str, Shape], ...], more: Flags, numbers: Numbers) -> bool:
    """Whether a call gives an unannotated function's body something to read it with: a
    tensor of known shape, a tuple of sizes, or a size."""
    return bool(bound) or any(isinstance(v, TupV) for _, v in more) or sized(numbers)


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


def _plain_signature(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Signature:
    """The signature of a function without a contract: its positional parameters only."""
    a = fn.args
    return Signature(
        _empty_contract(fn.name),
        tuple(p.arg for p in [*a.posonlyargs, *a.args]),
        a.vararg is not None,
    )


def _unify_all(
    args: list[tuple[TensorParam, str, Shape]], arguments: Mapping[str, object] | None = None
) -> tuple[Unifier, Conflict | None]:
    """Match each argument against its parameter's spec in order, as the runtime does."""
    unifier = Unifier(arguments)
    with relating(*(shape for _, _, shape in args)):
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
    if got.kind == "fresh":
        return False  # a size nothing is known of fits anything, and certainly fixes nothing
    if conflict.kind == "fixed":
        want: Size | None = Size("int", conflict.dim.size)
    else:
        bound = unifier.single.get(conflict.dim.name)
        want = None if bound is None else bound[0]
    return want is not None and unifier.compare(want, got, "") == "same"


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


def bound_names(specs: Iterable[Spec]) -> frozenset[str] | None:
    """The dim names that `specs` bind; None where one has a symbolic dim (`2*d`), whose
    names are not read here."""
    names: set[str] = set()
    for spec in specs:
        if any(d.kind == "symbolic" for d in spec.dims):
            return None
        names.update(d.name for d in spec.dims if d.name)
    return frozenset(names)


class _Calls(_Made):
    """The part of a scope that checks calls of contracts and modules."""

    if TYPE_CHECKING:

        def obj_attribute(self, obj: ObjV, attr: str) -> Value: ...

        def value(self, node: ast.expr | None, env: Env) -> Value: ...

        def dtype_label(self, node: ast.expr) -> str | None: ...

        def dtype_tested(self, node: ast.expr) -> bool: ...

        def declared_union(
            self,
            module: Module,
            fn: ast.FunctionDef | ast.AsyncFunctionDef,
            unifier: Unifier,
            inferred: Value,
        ) -> Value: ...

        def check_unions(
            self,
            node: ast.Call,
            module: Module,
            sig: Signature,
            fn: ast.FunctionDef | ast.AsyncFunctionDef,
            given: dict[str, ast.expr],
            unifier: Unifier,
            shape_of: Callable[[ast.expr], Value],
        ) -> dict[str, list[int]] | None: ...

        def counted(
            self,
            kind: str,
            node: ast.expr,
            v: Value,
            spec: Spec | None = None,
            bound: "Collection[str] | None" = None,
        ) -> None: ...

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
            owner, fn = delegated(cls, *method)
            sig = signature(owner.module, fn)
            shift = 0 if _decorated(fn, "staticmethod") else 1
            seen = obj.exact or not _overridden(cls, attr)
            if sig is not None and not obj.exact and overridden_otherwise(owner, fn):
                self.file.stats_unknown("abstract method whose overrides take other parameters")
                return None
            if sig is not None:
                self.file.stats_known("method contract")
                return self.contract_call(
                    node, owner.module, sig, self.vals, shift, fn, owner, _on_self(node), seen
                )
            tup = _tuple_returns(owner.module, fn)
            if tup is not None:
                self.file.stats_known("method contract")
                on_self = _on_self(node)
                return self.contract_call(
                    node, owner.module, None, self.vals, shift, fn, owner, on_self, seen
                )
            ident = _identity(fn)
            if ident is not None and len(args) == 1:
                self.file.stats_known("identity method")
                return args[0]
            if seen:
                # A subclass in another file may override it; one in this file is seen.
                found = self.contract_call(
                    node,
                    owner.module,
                    None,
                    self.vals,
                    shift,
                    fn,
                    owner,
                    _on_self(node),
                    instance=obj,
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
            return self.made(node, held, args, kwargs)
        if isinstance(held, LibV):
            done, built = library_call(self, node, held.qual, args, kwargs, False)
            return built if done else None
        if isinstance(held, LamV):
            a = held.node.args
            names = [p.arg for p in [*a.posonlyargs, *a.args]]
            if a.vararg or a.kwarg or a.kwonlyargs or len(args) > len(names) or kwargs:
                return None
            inner = dict(held.env)
            inner.update({n: (args[i] if i < len(args) else None) for i, n in enumerate(names)})
            return self.value(held.node.body, inner)
        if isinstance(held, FnV):
            sig = signature(held.module, held.fn)
            return self.contract_call(node, held.module, sig, self.vals, 0, held.fn)
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
            return self.forward_call(node, layer, args)
        self.file.stats_known("layer")
        ruled = layer_call(self, node, layer, args, kwargs)
        if ruled is not PASS:
            return ruled  # type: ignore[return-value]
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
        if layer.kind in ("Linear", "LayerNorm"):
            want = layer.sizes[0]
            got = T.size_at(x, -1)
            if want is not None and got is not None and needs(want, got) == "differ":
                label = "in_features" if layer.kind == "Linear" else "normalized_shape"
                self.file.report(
                    node,
                    f'{what}({text}): last dim is {got} in {text} "{show(x)}" but the layer\'s '
                    f"{label} is {want}" + (f" ({n})" if (n := equality_note(want, got)) else ""),
                )
                return None
            if layer.kind == "LayerNorm":
                return x
            out = layer.sizes[1]
            return (*x[:-1], out if out is not None else fresh()) if x else None
        if layer.kind == "Embedding":
            return (*x, layer.sizes[1] if layer.sizes[1] is not None else fresh())
        if layer.kind == "same":
            return x
        return None

    def forward_call(self, node: ast.Call, layer: ObjV, args: list[Value]) -> Value:
        """Calling a module instance: its forward's contract, or what its body gives."""
        cls = layer.cls
        assert isinstance(cls, ClassModel)
        found = cls.method("forward") or cls.method("__call__")
        if found is None and (as_layer := self.layer_made(layer)) is not None:
            # A torch layer's subclass that keeps the layer's forward.
            return self.apply_module(node, as_layer, args, {})
        if found is None:
            self.file.stats_unknown("module without a forward")
            return None
        owner, fn = delegated(cls, *found)
        sig = signature(owner.module, fn)
        seen = layer.exact or not _overridden(cls, fn.name)
        if sig is not None or _tuple_returns(owner.module, fn) is not None:
            self.file.stats_known("forward contract")
            return self.contract_call(
                node, owner.module, sig, self.vals, 1, fn, owner, False, seen, layer
            )
        if _identity(fn) is not None and len(args) == 1:
            self.file.stats_known("identity forward")
            return args[0]
        if seen:
            found_v = self.contract_call(
                node, owner.module, None, self.vals, 1, fn, owner, instance=layer
            )
            if found_v is not None:
                return found_v
        self.file.stats_unknown("forward without a tensor contract")
        return None

    def instance_sizes(self, instance: "ObjV | None") -> Mapping[str, object] | None:
        """What `{self.x}` in a method's contract reads on an instance made with literal
        sizes: the attributes that `__init__` sets from those parameters."""
        if instance is None or not instance.given:
            return None
        cls = instance.cls
        assert isinstance(cls, ClassModel)
        given = dict(instance.given)
        attrs = self.file.build(cls)
        known = {
            attr: given[v.text]
            for attr, v in attrs.items()
            if isinstance(v, SymV) and v.text in given
        }
        return {"self": Instance(known)} if known else None

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
        instance: "ObjV | None" = None,
    ) -> Value:
        """A call of an annotated function, checked against its contract.

        Without a return contract, the return is what the callee's body gives under its own
        annotations (`FileChecker.infer`), in the caller's sizes, unless not `infer` (a
        subclass may override it). `owner` is the class whose method `fn` is, and `on_self`
        whether the call is on the caller's `self`.
        """
        if sig is None:
            assert fn is not None
            sig = _plain_signature(fn)
        if shift:
            sig = dataclasses.replace(sig, positional=sig.positional[shift:])
        given = _bind_arguments(sig, node)
        if given is None:
            self.file.stats_unknown("call that cannot be mapped to parameters")
            return None
        if fn is not None and self.called is not None:
            self.called.append(BodyCall(node, module, fn, given, values, shift, on_self, infer))

        def shape_of(expr: ast.expr) -> Value:
            return values.get(id(expr))

        args = self.tensor_arguments(node, sig, given, shape_of)
        unifier, conflict = _unify_all(args, self.instance_sizes(instance))
        if conflict is None:
            chosen: dict[str, list[int]] | None = {}
            if fn is not None:
                chosen = self.check_unions(node, module, sig, fn, given, unifier, shape_of)
            return self.fitting_return(
                module,
                sig,
                fn,
                owner,
                given,
                shape_of,
                unifier,
                chosen,
                on_self,
                infer,
                values,
                instance,
                node,
            )
        if fn is not None:
            # Its Union parameters are checked, and bind their dims, as in a call that fits.
            self.check_unions(node, module, sig, fn, given, unifier, shape_of)
        return self.conflicting_call(node, sig, args, conflict, unifier)

    def nested_call(self, node: ast.Call, name: str, vals: dict[int, Value]) -> tuple[bool, Value]:
        """A call of the function that a `def` of this function's own body makes."""
        fn = nested_def(self.module, self.fn, name)
        if fn is None:
            return False, None
        sig = signature(self.module, fn)
        got = self.contract_call(node, self.module, sig, vals, 0, fn)
        if got is None and sig is None:
            # `def process(v): ...` reading the tensors of this body by name.
            given = _bind_arguments(_plain_signature(fn), node)
            if given is None:
                return True, None
            bound = unannotated_bound(self.module, fn, given, vals)
            flags = given_flags(self.module, fn, given, node, True)
            flags += int_flags(self.module, fn, given, node)
            numbers = number_params(fn, given, vals)
            got = self.file.read_nested(self.module, fn, bound, flags, numbers)
        return True, got

    def tensor_arguments(
        self,
        node: ast.Call,
        sig: Signature,
        given: dict[str, ast.expr],
        shape_of: Callable[[ast.expr], Value],
    ) -> list[tuple[TensorParam, str, Shape]]:
        """The tensor arguments of a call whose shapes are known, with their source text;
        an argument whose dtype clashes with its parameter's is reported."""
        args: list[tuple[TensorParam, str, Shape]] = []
        for param in sig.contract.params:
            expr = given.get(param.name)
            if expr is None or (isinstance(expr, ast.Constant) and expr.value is None):
                continue
            shape = shape_of(expr)
            others = bound_names(p.spec for p in sig.contract.params if p is not param)
            self.counted("argument", expr, shape, param.spec, others)
            given_dtype = self.dtype_label(expr)
            wanted_dtype = param.dtype_label
            if (
                given_dtype is not None
                and dtypes.clash(given_dtype, wanted_dtype)
                and not self.dtype_tested(expr)
            ):
                where = _call_text(self.module, sig.contract.op, node)
                text = _text(self.module, expr)
                label = param.dtype_label
                self.file.report(expr, dtypes.message(where, text, given_dtype, param.name, label))
            if isinstance(shape, tuple):
                args.append((param, _text(self.module, expr), shape))
            elif (run := param.spec.plan.run) is not None and run.broadcastable and run.name:
                # Its run broadcasts with the others' by sizes not known here.
                args.append((param, _text(self.module, expr), (anonymous_group(),)))
        return args

    def fitting_return(
        self,
        module: Module,
        sig: Signature,
        fn: ast.FunctionDef | ast.AsyncFunctionDef | None,
        owner: ClassModel | None,
        given: dict[str, ast.expr],
        shape_of: Callable[[ast.expr], Value],
        unifier: Unifier,
        chosen: dict[str, list[int]] | None,
        on_self: bool,
        infer: bool,
        values: dict[int, Value],
        instance: "ObjV | None" = None,
        node: ast.Call | None = None,
    ) -> Value:
        """What a call whose arguments fit its contract returns, in the sizes they bound."""
        if fn is not None:
            tup = _tuple_returns(module, fn)
            if tup is not None:
                specs = [None if p is None else p.spec for p in tup]
                call = (self.file, module, fn, owner, (given, values))
                return tuple_returned(call, unifier, specs, on_self, infer)
        ret = sig.contract.ret
        if ret is None:
            if fn is None or module.annotation(fn.returns) is not None:
                return None
            inferred: Value = None
            parts = (module, fn, given, node)
            flags = given_flags(*parts)
            if chosen is not None and infer:
                # The body under each alternative that the Union arguments may take.
                names = sorted(chosen)
                ways = list(itertools.product(*[chosen[n] for n in names]))
                if len(ways) <= 4:
                    found = [
                        self.file.infer(module, fn, owner, tuple(zip(names, w, strict=True)), flags)
                        for w in ways
                    ]
                    inferred = _one_of(found) if found else None
            if inferred is not None:
                self.file.stats_known("return read from the body")
                inferred = _substituted(inferred, unifier, on_self)
            more = int_flags(module, fn, given, node, values, self.size_of)  # `size=(o, i)` too
            again = inferred is None or vague(inferred)  # `self.lin(x)` of an unannotated x
            bound, tuples = caller_bound(module, fn, given, values, flags + more, again)
            held = {k for k, _ in flags + more}
            more += tuples + tuple(f for f in given_flags(*parts, True) if f[0] not in held)
            numbers = number_params(fn, given, values)
            if again and infer and _gives_more(bound, more, numbers):
                made = made_by(instance) if not on_self else ()
                read = self.file.infer_bound(module, fn, owner, bound, made, flags + more, numbers)
                if read is not None and inferred is None:
                    self.file.stats_known("return read from the body")
                inferred = inferred if read is None else read
            declared = self.declared_union(module, fn, unifier, inferred)
            return declared if declared is not None else self.instance_returned(module, fn)
        if fn is not None and infer and shapeless(ret.spec):
            # `def softmax(x: Float[Tensor, "..."], dim) -> Float[Tensor, "..."]`: the
            # annotations say nothing of the shape, so the body, read with the caller's.
            if bound := caller_bound(module, fn, given, values, (), True)[0]:
                flags = given_flags(module, fn, given, node) + int_flags(module, fn, given, node)
                body = self.file.infer_bound(module, fn, owner, bound, (), flags)
                if isinstance(body, tuple):
                    self.file.stats_known("return read from the body")
                    return body
        if fn is None or not infer:
            return unifier.result(ret.spec)
        out = self.opened(module, fn, owner, given, shape_of, unifier, ret.spec, on_self, instance)
        if anonymous_run(ret.spec) and any(isinstance(i, Group) and not i.name for i in out):
            call = (self.file, module, fn, owner, (given, values))
            return better(returned(call, unifier, [ret.spec], on_self)[0], out)
        return out

    def conflicting_call(
        self,
        node: ast.Call,
        sig: Signature,
        args: list[tuple[TensorParam, str, Shape]],
        conflict: Conflict,
        unifier: Unifier,
    ) -> Value:
        """Reports a call whose arguments conflict with its contract; what it returns where
        the arguments before the culprit decide it."""
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

    def opened(
        self,
        module: Module,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        owner: ClassModel | None,
        given: dict[str, ast.expr],
        shape_of: Callable[[ast.expr], Value],
        unifier: Unifier,
        spec: Spec,
        on_self: bool,
        instance: "ObjV | None" = None,
    ) -> Shape:
        """The shape a return `spec` gives, in the caller's sizes. Where it names a dim that no
        argument binds (`heads` of `split_heads(x, n)`), the size the callee's body returns
        there, read under its own annotations, with its `int` parameters the call's, and
        the sizes its instance was made with (`Linear(d_model, d_key)`) for those of `self`."""
        out = unifier.result(spec)
        free = {
            i
            for i, d in enumerate(spec.dims)
            if d.kind == "named" and not d.broadcastable and d.name not in unifier.single
        }
        runs = [i for i, item in enumerate(out) if isinstance(item, Group)]
        made = dict(instance.sizes) if instance is not None and not on_self else {}
        if not free or len(out) != len(spec.dims):
            return out
        if runs:
            if len(runs) != 1 or instance is None or not made:
                return out
            return self.made_run(module, fn, owner, given, shape_of, out, runs[0], instance)
        body = self.file.infer(module, fn, owner)
        if not isinstance(body, tuple) or len(body) != len(out):
            return out
        if made:
            out = self.made_sizes(out, body, free, instance)
        bound = unifier.copy()
        for arg in _params(fn):
            expr = given.get(arg.arg)
            v = shape_of(expr) if expr is not None else None
            if isinstance(v, IntV) and arg.arg not in bound.sizes_:
                bound.sizes_[arg.arg] = v.size
        seen = bound.substitute(body, on_self)
        return tuple(
            read if i in free and isinstance(read, Size) and read.kind != "fresh" else item
            for i, (item, read) in enumerate(zip(out, seen, strict=True))
        )


class Instance:
    """An instance as `{self.x}` in a contract reads it: the literal sizes it is known to
    have; any other attribute is unknown (None)."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self._sizes = sizes

    def __getattr__(self, name: str) -> int | None:
        return self._sizes.get(name)
