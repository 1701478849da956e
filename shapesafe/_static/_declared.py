"""Values checked against what is declared: annotated locals and parameters, Union
alternatives, and the return annotation of the function being read."""

import ast
from collections.abc import Callable, Collection

from .._contract import Spec, TensorParam
from ._calls import _Calls, _tuple_returns, bound_names
from ._facts import named_like_dims
from ._report import (
    _ANNOTATED,
    _LOST_BLANK,
    _alternatives,
    _call_text,
    _message,
    _text,
)
from ._source import (
    Module,
    Signature,
    _params,
    per_node,
    signature,
    walk,
)
from ._unify import (
    Shape,
    Size,
    Unifier,
    from_spec,
    show,
)
from ._values import (
    TupV,
    Value,
    _informative,
    _one_of,
)


def _any_shape(spec: Spec) -> bool:
    """An annotation that every shape fits (`"..."`, `"*_"`): it states no shape, and its
    relation holds whatever the value's shape is."""
    return bool(spec.dims) and all(d.kind == "anonymous_variadic" for d in spec.dims)


_FREE = ("named", "variadic", "anonymous", "anonymous_variadic")


def _fits_any(spec: Spec, v: Value, bound: Collection[str]) -> bool:
    """A value of a run of unknown axes and unknown sizes (`(..., ?, ?)`, the return of a
    contract whose names the call does not bind) that the annotation fits whatever they are:
    it has a run of its own, each of its dims is anonymous or named only here (not in
    `bound`) and once, and the value has at least as many axes as the annotation's others."""
    if not isinstance(v, tuple) or spec.variadic_index is None:
        return False
    if any(d.kind not in _FREE for d in spec.dims):
        return False
    names = [d.name for d in spec.dims if d.name]
    if len(names) != len(set(names)) or any(n in bound for n in names):
        return False
    return sum(isinstance(i, Size) for i in v) >= len(spec.dims) - 1


class _Declared(_Calls):
    """The part of a scope that checks values against their annotations."""

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
                wide = next((alt.spec for alt in alts if _any_shape(alt.spec)), None)
                self.counted("argument", expr, shape, wide)
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

    def counted(
        self,
        kind: str,
        node: ast.expr,
        v: Value,
        spec: Spec | None = None,
        bound: Collection[str] | None = None,
    ) -> None:
        """Count one annotated relation: checked where the value's shape says something
        (a known rank or a known size), or where the annotation fits every shape the value
        may have (`_fits_any`, with the names `bound` elsewhere), unknown otherwise, with
        where its shape was lost. An annotation that states no shape (`"..."`) is counted
        apart: no shape can break it, so it is neither checked nor unchecked."""
        if spec is not None and _any_shape(spec):
            self.file.stats_shapeless()
        elif (isinstance(v, tuple) and _informative(v)) or (
            spec is not None and bound is not None and _fits_any(spec, v, bound)
        ):
            self.file.path_known.update((id(node),) if self.file.on_path else ())
            self.file.stats_relation(kind)
        elif id(node) in self.file.path_known:
            self.file.stats_relation(kind)  # its shape is known on a path into it
        else:
            lost = self.lost(node) if not isinstance(v, tuple) else _LOST_BLANK
            self.file.stats_unknown(_ANNOTATED[kind], node, lost)

    def check_declared(
        self, node: ast.AnnAssign, declared: TensorParam, v: Value
    ) -> Unifier | None:
        """Check an annotated assignment; the unifier that matched it, None if it did not.

        In a function, the annotation of a local name (or of an attribute it sets) shares
        only the dim names of the function's parameters (`contract_names`); its other names
        stand for whatever sizes the value has, as at run time, where a local annotation
        binds no name of the call. Outside a function, where there is no contract, all of
        them do.
        """
        if node.value is not None and not isinstance(node.value, ast.Constant):
            self.counted("annotated assignment", node.value, v, declared.spec)
        if node.value is None or not isinstance(v, tuple):
            return None
        target = _text(self.module, node.target)
        unifier = Unifier()
        only = self.contract_names() if self.fn is not None else ()
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
        """The dim names of the function's parameter annotations. A name that only its
        return annotation has is bound, at run time, by whatever annotation is checked first:
        a local's, where one names it."""
        return self.annotated_names(with_return=False)

    def annotated_names(self, with_return: bool) -> frozenset[str]:
        """The dim names of the function's parameter annotations, and of its return's
        `with_return`; read once per function."""
        fn = self.fn
        if fn is None:
            return frozenset()

        def read() -> frozenset[str]:
            names: set[str] = set()
            notes = [a.annotation for a in _params(fn)] + ([fn.returns] if with_return else [])
            for note in notes:
                for node in walk(note) if note is not None else ():
                    found = (
                        self.module.annotation(node) if isinstance(node, ast.Subscript) else None
                    )
                    if found is not None:
                        names.update(d.name for d in found.spec.dims if d.name)
            return frozenset(names)

        key = "dim names" if with_return else "contract names"
        return per_node(self.module, key, fn, read)

    def return_bound(self) -> frozenset[str] | None:
        """The names a return annotation shares with the parameters' and the class's sizes;
        None where the sizes of the class are not known here."""
        assert self.fn is not None
        sig = signature(self.module, self.fn)
        names = bound_names(p.spec for p in sig.contract.params) if sig is not None else None
        cls, bound = self.cls, getattr(self, "bound", None)
        if names is None or cls is None:
            return names
        if cls.building or bound:
            return None
        held = named_like_dims(self.module, self.fn, self.file.build(cls), self.key)
        return names | {str(n.value) for n, _ in held}

    def check_return(self, value: ast.expr, v: Value) -> None:
        assert self.fn is not None
        if isinstance(value, ast.Constant) and value.value is None:
            return
        tup = _tuple_returns(self.module, self.fn)
        if tup is not None:
            elts = value.elts if isinstance(value, ast.Tuple) else None
            if elts is not None and len(elts) != len(tup):
                if not any(isinstance(e, ast.Starred) for e in elts):
                    self.counted("return", value, v)
                    return self.file.report(
                        value,
                        f"return of {self.fn.name}(): a tuple of {len(elts)} values, "
                        f"but the annotation is a tuple of {len(tup)}",
                    )
            items = v.items if isinstance(v, TupV) else None
            if items is None or elts is None or len(items) != len(tup):
                specs = [p.spec for p in tup if p is not None]
                if specs and all(_any_shape(spec) for spec in specs):
                    self.counted("return", value, v, specs[0])
                elif specs:
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
        if isinstance(value, ast.Tuple) and not any(isinstance(e, ast.Starred) for e in value.elts):
            self.counted("return", value, v, sig.contract.ret.spec)
            one = f'one tensor "{sig.contract.ret.spec.text.strip()}"'
            where = f"return of {self.fn.name}()"
            return self.file.report(
                value, f"{where}: a tuple of {len(value.elts)} values, but the annotation is {one}"
            )
        self.match_return(value, v, sig.contract.ret.spec)

    def match_return(self, value: ast.expr, v: Value, spec: Spec) -> None:
        assert self.fn is not None
        self.counted("return", value, v, spec, self.return_bound())
        if not isinstance(v, tuple):
            return
        sig = signature(self.module, self.fn)
        unifier = Unifier()
        shown: dict[str, tuple[str, Shape]] = {}
        for param in sig.contract.params if sig is not None else ():
            # The runtime binds the parameters' dims before it checks the return.
            unifier.bind_declared(param.spec, param.name, runs=True)
            shown[param.name] = (param.name, from_spec(param.spec))
        shown["return"] = (_text(self.module, value), v)
        conflict = unifier.copy().match("return", spec, v)
        cls, bound = self.cls, getattr(self, "bound", None)
        if conflict is None and cls is not None and not cls.building and not bound:
            # `-> "... out_features"` in a class that holds `out_features`: that size, not one
            # the return may bind, where the return gives another dim of the annotations.
            held = named_like_dims(self.module, self.fn, self.file.build(cls), self.key)
            names = {str(n.value) for n, _ in held}
            unifier.bind_declared(spec, "self", only=names)
            shown["self"] = ("the annotation", from_spec(spec))
            pinned = unifier.match("return", spec, v)
            actual = pinned.actual if pinned is not None and pinned.kind == "size" else None
            if isinstance(actual, Size) and str(actual.value).rsplit(".", 1)[-1] in names:
                conflict = pinned
        if conflict is not None:
            where = f"return of {self.fn.name}()"
            self.file.report(value, _message(where, conflict, shown))
