"""Differential tests: every path that decides a call's verdict agrees with the reference.

For random shape signatures (mostly near a contract, many of them broken), each call gets the
same verdict, accept or reject, from:

- `jaxtyping.jaxtyped(typechecker=beartype)` on the same body: the reference;
- `checked` with a warm cache (whatever earlier examples left in it);
- `checked` on a miss (its cache cleared first);
- `checked` on the hit that follows an accepted miss;
- `_contract.unify`, the pure-Python unifier behind the explanations and the compiled path;
- `_unify.decide`, the unifier's size verdict, where the dtypes fit.

Random contracts (further down) draw whole signatures instead of taking these five bodies.

The body returns a tensor drawn with the arguments, so a hit can meet a return that differs
from the one its cache entry accepted.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import torch
from beartype import beartype
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jaxtyping import AnnotationError, Float, Int, Shaped, TypeCheckError, jaxtyped
from torch import Tensor

from shapesafe import ShapeError, checked
from shapesafe._checked import _Checked
from shapesafe._compile import _plan, _return_holds, holds
from shapesafe._contract import Spec, decide, evaluate_symbolic, parse_spec, unify
from shapesafe._explain import dtype_name, explain, observe
from shapesafe._unify import decide_by_plan

DTYPES = (torch.float32, torch.float64, torch.int64)


@dataclasses.dataclass
class Returned:
    """What the body of the function under test returns next."""

    shape: tuple[int, ...] = ()
    dtype: torch.dtype = torch.float32

    def make(self) -> Tensor:
        return torch.zeros(self.shape, dtype=self.dtype)


RETURNED = Returned()


def matmul(
    A: Float[Tensor, "*batch m n"], B: Float[Tensor, "*batch n p"]
) -> Float[Tensor, "*batch m p"]:
    return RETURNED.make()


def linear(
    x: Float[Tensor, "*batch in_f"],
    w: Float[Tensor, "out_f in_f"],
    b: Float[Tensor, " out_f"] | None,
) -> Float[Tensor, "*batch out_f"]:
    return RETURNED.make()


def broadcast(
    x: Float[Tensor, "*#batch #n"], y: Float[Tensor, "*#batch #n"]
) -> Float[Tensor, " n"]:
    return RETURNED.make()


def fixed_symbolic(
    x: Shaped[Tensor, "2 _ n"], idx: Int[Tensor, " n"], rest: Float[Tensor, "... n-1"]
) -> Float[Tensor, " 2*n"]:
    return RETURNED.make()


def heads(q: Float[Tensor, "b s h d"], k: Float[Tensor, "b t h d"]) -> Float[Tensor, "b h s t"]:
    return RETURNED.make()


BODIES: list[Callable[..., Tensor]] = [matmul, linear, broadcast, fixed_symbolic, heads]
CHECKED = {body: checked(body) for body in BODIES}
REFERENCE = {body: jaxtyped(body, typechecker=beartype) for body in BODIES}

sizes = st.integers(1, 3)


def shape_near(spec: Spec, dims: dict[str, int], batch: dict[str, tuple[int, ...]]) -> Any:
    """A strategy for shapes that fit `spec` under the drawn dims, or miss it by a little."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[int, ...]:
        shape: list[int] = []
        for dim in spec.dims:
            if dim.kind == "named":
                shape.append(dims[dim.name])
            elif dim.kind == "fixed":
                shape.append(dim.size)
            elif dim.kind == "symbolic":
                shape.append(evaluate_symbolic(dim.name, dims) or 1)
            elif dim.kind == "variadic":
                shape.extend(batch[dim.name])
            elif dim.kind == "anonymous_variadic":
                shape.extend(draw(st.lists(sizes, max_size=2)))
            else:
                shape.append(draw(sizes))
            if dim.broadcastable and dim.kind != "variadic" and draw(st.booleans()):
                shape[-1] = 1
        if dims and draw(st.integers(0, 4)) == 0:  # break one axis, or the rank
            how = draw(st.sampled_from(["axis", "drop", "add"]))
            if how == "axis" and shape:
                shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(1, 4))
            elif how == "drop" and shape:
                shape.pop(draw(st.integers(0, len(shape) - 1)))
            else:
                shape.insert(draw(st.integers(0, len(shape))), draw(sizes))
        return tuple(shape)

    return build()


def verdict(fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
    try:
        fn(*args)
    except TypeCheckError:
        return False
    return True


def unify_verdict(state: _Checked, args: tuple[Any, ...]) -> bool:
    arguments = dict(zip(state.names, args, strict=True))
    observed = {name: observe(value) for name, value in arguments.items()}
    bindings, conflict = unify(state.contract, observed, arguments, include_return=False)
    if conflict is not None:
        return False
    observed_return = {"return": observe(RETURNED.make())}
    return unify(state.contract, observed_return, arguments, bindings=bindings)[1] is None


@pytest.mark.parametrize("body", BODIES, ids=[b.__name__ for b in BODIES])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_path_agrees_with_the_reference(body: Callable[..., Tensor], data: Any) -> None:
    fn = CHECKED[body]
    state: _Checked = fn.__shapesafe__  # type: ignore[attr-defined]
    dims = {name: data.draw(sizes, label=name) for name in ("m", "n", "p", "in_f", "out_f")}
    dims |= {name: data.draw(sizes, label=name) for name in ("b", "s", "t", "h", "d")}
    batch = {"batch": tuple(data.draw(st.lists(sizes, max_size=2), label="batch"))}
    args: list[Any] = []
    for param in state.contract.params:
        if param.optional and data.draw(st.booleans(), label=f"{param.name} is None"):
            args.append(None)
            continue
        shape = data.draw(shape_near(param.spec, dims, batch), label=param.name)
        int_dtype = param.dtype_label == "Int"
        default = torch.int64 if int_dtype else torch.float32
        dtype = data.draw(st.sampled_from([default, *DTYPES]), label=f"{param.name} dtype")
        args.append(torch.zeros(shape, dtype=dtype))
    assert state.contract.ret is not None
    RETURNED.shape = data.draw(shape_near(state.contract.ret.spec, dims, batch), label="return")
    RETURNED.dtype = data.draw(st.sampled_from(DTYPES), label="return dtype")
    call = tuple(args)

    expected = verdict(REFERENCE[body], call)
    event("accepted" if expected else "rejected")
    assert verdict(fn, call) == expected, "warm cache"
    state.cache.clear()
    assert verdict(fn, call) == expected, "miss"
    assert len(state.cache) == (1 if expected else 0)
    assert verdict(fn, call) == expected, "hit"
    assert unify_verdict(state, call) == expected, "unify"
    # decide judges sizes only: dtypes are the structure, beartype's to judge.
    values = [*call, RETURNED.make()]
    params = [*state.contract.params, *state.contract.return_params()]
    if all(
        v is None or p.dtypes is None or dtype_name(v.dtype) in p.dtypes
        for p, v in zip(params, values, strict=True)
    ):
        shapes = [None if v is None else v.shape for v in values]
        assert decide(state.contract, shapes) == expected, "decide"


def plain_hints(
    x: Float[Tensor, "b n"], w: Tensor, mask: Tensor | None, scale: float
) -> Float[Tensor, "b n"]:
    return x


class TensorSubclass(Tensor):
    pass


PLAIN = checked(plain_hints)
PLAIN_REFERENCE = jaxtyped(plain_hints, typechecker=beartype)
#: What a plain `Tensor` hint may meet: tensors of any shape and dtype, subclasses, None,
#: and things that are not tensors.
PLAIN_VALUES: list[Callable[[], Any]] = [
    lambda: None,
    lambda: torch.zeros(2),
    lambda: torch.zeros(3, 1, dtype=torch.int64),
    lambda: torch.zeros(()),
    lambda: torch.nn.Parameter(torch.zeros(2)),
    lambda: torch.zeros(2).as_subclass(TensorSubclass),
    lambda: 3,
    lambda: [1.0],
    lambda: "mask",
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_plain_tensor_hints_are_cached_and_agree_with_the_reference(data: Any) -> None:
    state: _Checked = PLAIN.__shapesafe__  # type: ignore[attr-defined]
    assert state.cacheable and state.structured
    dims = {"b": data.draw(sizes, label="b"), "n": data.draw(sizes, label="n")}
    x_shape = data.draw(shape_near(parse_spec("b n"), dims, {}), label="x")
    x = torch.zeros(x_shape, dtype=data.draw(st.sampled_from(DTYPES), label="x dtype"))
    w = data.draw(st.sampled_from(PLAIN_VALUES), label="w")()
    mask = data.draw(st.sampled_from(PLAIN_VALUES), label="mask")()
    scale = data.draw(st.sampled_from([1.0, 2, None]), label="scale")
    call = (x, w, mask, scale)

    expected = verdict(PLAIN_REFERENCE, call)
    event("accepted" if expected else "rejected")
    assert verdict(PLAIN, call) == expected, "warm cache"
    state.cache.clear()
    assert verdict(PLAIN, call) == expected, "miss"
    assert len(state.cache) == (1 if expected else 0)
    assert verdict(PLAIN, call) == expected, "hit"


def test_rejections_are_shape_errors_on_a_miss_and_on_a_hit() -> None:
    fn = CHECKED[matmul]
    a, b = torch.zeros(2, 3), torch.zeros(3, 4)
    RETURNED.shape, RETURNED.dtype = (2, 4), torch.float32
    fn(a, b)
    fn(a, b)
    RETURNED.shape = (4, 2)
    for _ in range(2):
        with pytest.raises(ShapeError, match="the return value"):
            fn(a, b)
    with pytest.raises(ShapeError, match="argument 'B'"):
        fn(a, torch.zeros(4, 4))


# Random contracts ---------------------------------------------------------------------------
#
# Each example draws a whole signature: three or four tensor arguments (one of them maybe
# Optional), maybe packed `*xs` items, maybe an `int` argument read by `{k}` dims, and a
# tensor or tuple return, over fixed, named, `#`, `_`, `...`, `*B`, `*#B`, symbolic and
# `{expr}` dims. Then shapes near a solution. The reference's verdict (accept, reject, or an
# `AnnotationError` for a symbolic dim over a name not bound yet) must be met by:
#
# - `decide` on ints (True, False, or None for "undecidable");
# - the explanation: `explain` returns an error exactly when the reference rejects;
# - the compiled path's `holds`, run on plain ints.

SINGLE = ["a", "b", "c", "#a", "#b", "2", "#1", "_", "a+1", "b*c", "a-1", "{k}", "{k}*a", "#c+1"]
VARIADIC = ["*B", "*#B", "..."]
ANNOTATION = "annotation"


class Out:
    value: Any = None


OUT = Out()


@st.composite
def random_spec(draw: st.DrawFn, first: bool = False) -> str:
    """A spec; the first argument's binds names, so that later symbolic dims can read them."""
    pool = ["a", "b", "c", "#a", "_", "2"] if first else SINGLE
    tokens = draw(st.lists(st.sampled_from(pool), min_size=2 if first else 0, max_size=3))
    if draw(st.booleans()):
        tokens.insert(draw(st.integers(0, len(tokens))), draw(st.sampled_from(VARIADIC)))
    return " ".join(tokens) if tokens else ""


@dataclasses.dataclass
class Signature:
    specs: list[str]
    optional: int  # index of the Optional argument, or -1
    packed: str | None  # the spec of `*xs` items, or None
    returns: list[str]  # one spec: a tensor return; more: a tuple return

    def build(self) -> Callable[..., Any]:
        names = [f"a{i}" for i in range(len(self.specs))]
        star = ", *xs" if self.packed is not None else ", *"
        namespace: dict[str, Any] = {"OUT": OUT}
        exec(f"def f({', '.join(names)}{star}, k=2):\n    return OUT.value", namespace)
        fn = namespace["f"]
        hints: dict[str, Any] = {}
        for i, (name, spec) in enumerate(zip(names, self.specs, strict=True)):
            hint: Any = Float[Tensor, spec]
            hints[name] = hint | None if i == self.optional else hint
        if self.packed is not None:
            hints["xs"] = Float[Tensor, self.packed]
        hints["k"] = int
        rets = [Float[Tensor, s] for s in self.returns]
        hints["return"] = rets[0] if len(rets) == 1 else tuple.__class_getitem__(tuple(rets))
        fn.__annotations__ = hints
        return fn  # type: ignore[no-any-return]


def _shape_for(
    draw: st.DrawFn, spec: Spec, dims: dict[str, int], batch: tuple[int, ...], k: int
) -> tuple[int, ...]:
    shape: list[int] = []
    for dim in spec.dims:
        if dim.kind == "named":
            shape.append(dims[dim.name])
        elif dim.kind == "fixed":
            shape.append(dim.size)
        elif dim.kind == "symbolic":
            value = evaluate_symbolic(dim.name, dims, {"k": k})
            shape.append(value if value is not None and value >= 0 else 1)
        elif dim.kind == "variadic":
            run = list(batch)
            if dim.broadcastable and run:  # a run that broadcasts with the batch
                run = [1 if draw(st.booleans()) else n for n in run]
                run = run[draw(st.integers(0, len(run))) :]
            shape.extend(run)
        elif dim.kind == "anonymous_variadic":
            shape.extend(draw(st.lists(st.integers(0, 3), max_size=2)))
        else:
            shape.append(draw(st.integers(0, 3)))
        if dim.broadcastable and dim.kind != "variadic" and draw(st.integers(0, 3)) == 0:
            shape[-1] = 1
    if draw(st.integers(0, 7)) == 0:  # break one axis, or the rank
        how = draw(st.sampled_from(["axis", "drop", "add"]))
        if how == "axis" and shape:
            shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(0, 4))
        elif how == "drop" and shape:
            shape.pop(draw(st.integers(0, len(shape) - 1)))
        else:
            shape.insert(draw(st.integers(0, len(shape))), draw(st.integers(1, 3)))
    return tuple(shape)


def _reference_outcome(fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> Any:
    try:
        fn(*args, **kwargs)
    except TypeCheckError:
        return False
    except AnnotationError:
        return ANNOTATION
    return True


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_contracts_agree_with_the_reference(data: Any) -> None:
    _random_contract_example(data)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_contracts_agree_with_the_reference_at_length(data: Any) -> None:
    _random_contract_example(data)


def _draw_example(data: Any) -> Any:
    """A random signature and call: (fn, args, *xs items, k, the reference's outcome)."""
    draw = data.draw
    n = draw(st.integers(3, 4), label="arguments")
    sig = Signature(
        specs=[draw(random_spec(i == 0), label=f"a{i}") for i in range(n)],
        optional=draw(st.integers(-1, n - 1), label="optional"),
        packed=draw(st.none() | random_spec(), label="*xs"),
        returns=draw(st.lists(random_spec(), min_size=1, max_size=2), label="return"),
    )
    fn = sig.build()
    reference = jaxtyped(fn, typechecker=beartype)

    dims = {name: draw(st.integers(0, 3), label=name) for name in ("a", "b", "c")}
    batch = tuple(draw(st.lists(st.integers(0, 3), max_size=2), label="B"))
    k = draw(st.integers(0, 3), label="k")
    args: list[Any] = []
    for i, spec in enumerate(sig.specs):
        if i == sig.optional and draw(st.booleans(), label=f"a{i} is None"):
            args.append(None)
        else:
            args.append(torch.zeros(_shape_for(draw, parse_spec(spec), dims, batch, k)))
    items = []
    if sig.packed is not None:
        for _ in range(draw(st.integers(0, 2), label="len(xs)")):
            items.append(torch.zeros(_shape_for(draw, parse_spec(sig.packed), dims, batch, k)))
    outs = [torch.zeros(_shape_for(draw, parse_spec(s), dims, batch, k)) for s in sig.returns]
    OUT.value = outs[0] if len(outs) == 1 else tuple(outs)

    expected = _reference_outcome(reference, [*args, *items], {"k": k})
    event(f"reference: {expected}")

    return fn, args, items, k, expected


def _random_contract_example(data: Any) -> None:
    fn, args, items, k, expected = _draw_example(data)
    state = _Checked(fn)
    contract = state.contract
    packed = any(p.packed for p in contract.params)
    arguments: dict[str, Any] = {f"a{i}": a for i, a in enumerate(args)}
    if packed:
        arguments["xs"] = tuple(items)
    arguments["k"] = k
    shapes: list[Any] = [None if a is None else a.shape for a in args]
    if packed:
        shapes.append([t.shape for t in items])
    outs = list(OUT.value) if isinstance(OUT.value, tuple) else [OUT.value]
    shapes += [t.shape for t in outs]
    decided = decide(contract, shapes, arguments)
    assert decided == (None if expected == ANNOTATION else expected), "decide"
    assert decide_by_plan(contract.plan, shapes, arguments) == decided, "decide by plan"
    if not packed:
        # The structure path's two halves: the arguments' bindings, then the return.
        nparams = len(contract.params)
        binding = contract.binder(shapes[:nparams], arguments)
        if isinstance(binding, tuple):
            single, variadic = dict(binding[0]), dict(binding[1])
            on_return = contract.return_decider(single, variadic, shapes[nparams:], arguments)
            assert (single, variadic) == binding, "the return leaves the bindings alone"
            assert on_return == decided, "bind, then decide the return"
        else:
            assert binding == decide_by_plan(contract.plan[:nparams], shapes, arguments), "bind"
    if expected == ANNOTATION:
        return  # explanations and the compiled path leave such a dim unchecked

    err = explain(contract, arguments, OUT.value)
    assert (err is None) == expected, f"explain: {err}"

    _, _, params, ret = _plan(state)
    sizes: dict[str, Any] = {}
    bound: dict[str, tuple[bool, tuple[Any, ...]]] = {}
    traced = True
    for p in params:
        values = arguments[p[0]] if p[3] == "*" else (arguments[p[0]],)
        traced = traced and all(holds(p, v, sizes, bound, arguments) for v in values)
    traced = traced and (ret is None or _return_holds(ret, OUT.value, sizes, bound, arguments))
    assert traced == expected, "compiled holds"


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_contracts_under_torch_compile(data: Any) -> None:
    """The same random contracts through a real `torch.compile(fullgraph=True)`."""
    from shapesafe._compile import TracedShapeError

    fn, args, items, k, expected = _draw_example(data)
    if expected == ANNOTATION:
        return  # the compiled path leaves a dim over an unbound name unchecked
    torch._dynamo.reset()
    compiled = torch.compile(checked(fn), backend="eager", fullgraph=True)
    try:
        compiled(*args, *items, k=k)
    except TracedShapeError:
        assert not expected, "compiled call rejected"
        return
    assert expected, "compiled call accepted"
