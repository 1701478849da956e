"""The structure path agrees with the reference on every call.

For random contracts (three or more tensor arguments; `#`, `*#`, `_`, `...`, symbolic and
`{expr}` dims; an Optional argument; a tensor or tuple return), a first call with consistent
shapes lets the reference accept the call's structure; the next call, with new sizes and
the same structure, is then decided by the unifier alone (`_structure`). Its verdict,
and the verdict of the hit that repeats it, must equal `jaxtyped(typechecker=beartype)`'s,
both for a user function (dims bound for the body, return decided too) and for an op.
"""

import dataclasses
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
import torch
from beartype import beartype
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from jaxtyping import AnnotationError, Float, TypeCheckError, jaxtyped
from torch import Tensor

import shapesafe
from shapesafe import ShapeError, checked
from shapesafe._checked import _Checked, checked_op
from tests.helpers import count_full_checks, state_of

NAMES = ("a", "b", "c")
TOKENS = ("a", "b", "c", "2", "_", "#a", "#b", "a+1", "{k}", "b*2")
VARIADIC = ("*batch", "*#batch", "...")


@st.composite
def specs(draw: st.DrawFn) -> str:
    dims = draw(st.lists(st.sampled_from(TOKENS), max_size=3))
    if draw(st.booleans()):
        dims.insert(draw(st.integers(0, len(dims))), draw(st.sampled_from(VARIADIC)))
    return " ".join(dims)


class Out:
    value: Any = None


OUT = Out()


@dataclasses.dataclass
class Contract:
    params: list[str]
    optional: int
    returns: list[str]

    def build(self) -> Callable[..., Any]:
        names = [f"x{i}" for i in range(len(self.params))]
        namespace: dict[str, Any] = {"OUT": OUT}
        exec(f"def f({', '.join(names)}, k):\n    return OUT.value", namespace)
        fn: Callable[..., Any] = namespace["f"]
        hints: dict[str, Any] = {}
        for i, spec in enumerate(self.params):
            hint: Any = Float[Tensor, spec]
            hints[names[i]] = hint | None if i == self.optional else hint
        hints["k"] = int
        rets = [Float[Tensor, s] for s in self.returns]
        hints["return"] = rets[0] if len(rets) == 1 else tuple.__class_getitem__(tuple(rets))
        fn.__annotations__ = hints
        return fn


def _count_full(state: _Checked) -> list[int]:
    """Count the calls of a freshly built `checked` that take the full check."""
    calls = [0]
    reference = state.reference

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return reference(*args, **kwargs)

    state.reference = counted
    return calls


def shape_for(spec: str, sizes: dict[str, int], batch: tuple[int, ...], k: int) -> list[int]:
    shape: list[int] = []
    for token in spec.split():
        name = token.lstrip("#")
        if token in VARIADIC[:2]:
            shape.extend(batch)
        elif token == "...":
            shape.extend(batch[:1])
        elif name in sizes:
            shape.append(sizes[name])
        elif name == "_":
            shape.append(3)
        elif name == "{k}":
            shape.append(k)
        elif name == "a+1":
            shape.append(sizes["a"] + 1)
        elif name == "b*2":
            shape.append(sizes["b"] * 2)
        else:
            shape.append(int(name))
    return shape


@st.composite
def call_shapes(
    draw: st.DrawFn, contract: Contract, perturb: bool
) -> tuple[list[list[int] | None], list[list[int]], int]:
    sizes = {n: draw(st.integers(1, 4), label=n) for n in NAMES}
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2), label="batch"))
    k = draw(st.integers(1, 4), label="k")
    args: list[list[int] | None] = [shape_for(s, sizes, batch, k) for s in contract.params]
    outs = [shape_for(s, sizes, batch, k) for s in contract.returns]
    if perturb:
        for shape in [*args, *outs]:
            if shape and draw(st.integers(0, 2)) == 0:
                axis = draw(st.integers(0, len(shape) - 1))
                shape[axis] = draw(st.integers(1, 5))
    if contract.optional >= 0 and draw(st.booleans(), label="None"):
        args[contract.optional] = None
    return args, outs, k


def outcome(fn: Callable[..., Any], args: list[Any], k: int, out: Any) -> Any:
    OUT.value = out
    try:
        fn(*args, k)
    except (TypeCheckError, ShapeError):
        return False
    except AnnotationError:
        return "annotation"
    return True


def tensors(
    shapes: tuple[list[list[int] | None], list[list[int]], int],
) -> tuple[list[Any], Any]:
    args, outs, _ = shapes
    values = [None if s is None else torch.zeros(s) for s in args]
    returned = [torch.zeros(s) for s in outs]
    return values, returned[0] if len(returned) == 1 else tuple(returned)


@pytest.mark.parametrize("decorate", [checked, checked_op], ids=["user", "op"])
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_the_structure_path_agrees_with_the_reference(
    decorate: Callable[..., Any], data: Any
) -> None:
    structure_example(decorate, data)


@pytest.mark.slow
@pytest.mark.parametrize("decorate", [checked, checked_op], ids=["user", "op"])
@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_the_structure_path_agrees_with_the_reference_at_length(
    decorate: Callable[..., Any], data: Any
) -> None:
    structure_example(decorate, data)


def structure_example(decorate: Callable[..., Any], data: Any) -> None:
    draw = data.draw
    n = draw(st.integers(3, 4), label="arguments")
    contract = Contract(
        params=[draw(specs(), label=f"x{i}") for i in range(n)],
        optional=draw(st.integers(-1, n - 1), label="optional"),
        returns=draw(st.lists(specs(), min_size=1, max_size=2), label="returns"),
    )
    fn = contract.build()
    reference = jaxtyped(fn, typechecker=beartype)
    first = draw(call_shapes(contract, perturb=False), label="first call")
    first_args, first_out = tensors(first)
    assume(outcome(reference, first_args, first[2], first_out) is True)

    wrapped = decorate(fn)
    state: _Checked = wrapped.__shapesafe__
    assert outcome(wrapped, first_args, first[2], first_out) is True
    assume(state.structured)

    second = draw(call_shapes(contract, perturb=True), label="second call")
    # The same structure: the same arguments are None.
    assume([a is None for a in second[0]] == [a is None for a in first[0]])
    args, out = tensors(second)
    expected = outcome(reference, args, second[2], out)
    assume(expected != "annotation")
    event(f"reference: {expected}")

    calls = _count_full(state)
    got = outcome(wrapped, args, second[2], out)
    if state.own_op:
        # An op's return is not checked on the fast paths (its body meets it by
        # construction): compare with the reference's verdict on the arguments.
        params_only = dict(fn.__annotations__)
        del params_only["return"]
        fn.__annotations__ = params_only
        on_arguments = outcome(jaxtyped(fn, typechecker=beartype), args, second[2], out)
        if on_arguments is True:
            assert got is True or (calls[0] == 1 and got == expected)
        else:
            assert got == on_arguments
    else:
        assert got == expected, f"structure path: {got}, reference: {expected}"
    event("decided by the unifier" if calls[0] == 0 else "full check")
    if not state.own_op:
        assert outcome(wrapped, args, second[2], out) == expected, "hit"


def fits(value: object, hint: Any) -> bool:
    """`isinstance` against a jaxtyping hint, which mypy does not take as a class."""
    return isinstance(value, hint)


def test_a_new_shape_in_a_known_structure_skips_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @checked
    def mix(
        x: Float[Tensor, "*batch seq d"], w: Float[Tensor, "d e"], k: int
    ) -> Float[Tensor, "*batch seq e"]:
        # The body sees the bound dims: a `d` other than x's is rejected.
        assert not fits(torch.zeros(x.shape[-1] + 1, 5), Float[Tensor, "d e"])
        assert fits(torch.zeros(x.shape[-1], 5), Float[Tensor, "d e"])
        return x @ w

    calls = count_full_checks(mix, monkeypatch)
    w = torch.randn(4, 5)
    for seq in range(1, 6):
        x = torch.randn(2, seq, 4)
        torch.testing.assert_close(mix(x, w, 1), x @ w)
    assert calls == [1]
    with pytest.raises(ShapeError, match="argument 'w' dim 'd'"):
        mix(torch.randn(2, 7, 3), w, 1)
    mix(torch.randn(2, 7, 4).double(), w.double(), 1)  # a new structure
    assert calls == [3]


def test_threads_with_new_shapes_get_the_right_verdicts() -> None:
    shapesafe.matvec(torch.randn(2, 3), torch.randn(3))  # the structure, accepted once
    errors: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            m, n = rng.randint(1, 700), rng.randint(1, 4)
            good = rng.random() < 0.7
            A, x = torch.randn(m, n), torch.randn(n if good else n + 1)
            try:
                out = shapesafe.matvec(A, x)
            except ShapeError:
                if good:
                    errors.append(f"rejected {(m, n)}")
            else:
                if not good:
                    errors.append(f"accepted {(m, n)} with x of {n + 1}")
                elif out.shape != (m,):
                    errors.append(f"wrong result {out.shape}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []


# Methods whose dims read the instance (`{self.n}`), as `nn.Module.forward`s do: the
# structure path binds them with generated code (`Contract.binder`, `return_decider`).
SELF_TOKENS = ("a", "b", "_", "{self.n}", "{self.m}", "{self.n}+1", "a*{self.m}", "{self.n}//b")


class Holder:
    def __init__(self, n: Any, m: Any) -> None:
        self.n = n
        self.m = m


@st.composite
def self_specs(draw: st.DrawFn) -> str:
    dims = draw(st.lists(st.sampled_from(SELF_TOKENS), max_size=3))
    if draw(st.booleans()):
        dims.insert(draw(st.integers(0, len(dims))), draw(st.sampled_from(VARIADIC)))
    return " ".join(dims)


def self_shape(spec: str, sizes: dict[str, int], batch: tuple[int, ...], obj: Holder) -> list[int]:
    shape: list[int] = []
    for token in spec.split():
        if token in VARIADIC[:2]:
            shape.extend(batch)
        elif token == "...":
            shape.extend(batch[:1])
        elif token == "_":
            shape.append(3)
        elif token in sizes:
            shape.append(sizes[token])
        else:
            value = eval(token.replace("{", "").replace("}", ""), {"self": obj, **sizes})
            shape.append(max(int(value), 0))
    return shape


def method_outcome(fn: Callable[..., Any], obj: Holder, args: list[Any], out: Any) -> Any:
    OUT.value = out
    try:
        fn(obj, *args)
    except (TypeCheckError, ShapeError):
        return False
    except AnnotationError:
        return "annotation"
    return True


def self_example(data: Any) -> None:
    draw = data.draw
    params = [draw(self_specs(), label=f"x{i}") for i in range(3)]
    ret = draw(self_specs(), label="return")
    names = [f"x{i}" for i in range(3)]
    namespace: dict[str, Any] = {"OUT": OUT}
    exec(f"def forward(self, {', '.join(names)}):\n    return OUT.value", namespace)
    fn: Callable[..., Any] = namespace["forward"]
    hints: dict[str, Any] = {n: Float[Tensor, s] for n, s in zip(names, params, strict=True)}
    hints["return"] = Float[Tensor, ret]
    fn.__annotations__ = hints
    reference = jaxtyped(fn, typechecker=beartype)
    wrapped = checked(fn)
    state: _Checked = wrapped.__shapesafe__  # type: ignore[attr-defined]

    values = st.one_of(st.integers(-1, 4), st.booleans())

    def one_call(label: str, perturb: bool) -> tuple[Holder, list[Any], Any]:
        obj = Holder(draw(values, label=f"{label} n"), draw(values, label=f"{label} m"))
        sizes = {n: draw(st.integers(1, 4), label=f"{label} {n}") for n in ("a", "b")}
        batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2), label=f"{label} batch"))
        shapes = [self_shape(s, sizes, batch, obj) for s in (*params, ret)]
        if perturb:
            for shape in shapes:
                if shape and draw(st.integers(0, 2), label=f"{label} perturb") == 0:
                    axis = draw(st.integers(0, len(shape) - 1))
                    shape[axis] = draw(st.integers(1, 5))
        tensors_ = [torch.zeros(s) for s in shapes]
        return obj, tensors_[:-1], tensors_[-1]

    obj, args, out = one_call("first", perturb=False)
    assume(method_outcome(reference, obj, args, out) is True)
    assert method_outcome(wrapped, obj, args, out) is True
    assume(state.structured)

    obj, args, out = one_call("second", perturb=True)
    expected = method_outcome(reference, obj, args, out)
    assume(expected != "annotation")
    event(f"reference: {expected}")
    calls = _count_full(state)
    got = method_outcome(wrapped, obj, args, out)
    assert got == expected, f"structure path: {got}, reference: {expected}"
    event("decided by the unifier" if calls[0] == 0 else "full check")
    assert method_outcome(wrapped, obj, args, out) == expected, "hit"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_methods_with_self_dims_agree_with_the_reference(data: Any) -> None:
    self_example(data)


@pytest.mark.slow
@settings(
    max_examples=800,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_methods_with_self_dims_agree_with_the_reference_at_length(data: Any) -> None:
    self_example(data)


def test_a_module_forward_takes_the_structure_path_on_a_new_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shapesafe.nn import Linear

    layer = Linear(4, 3)
    layer(torch.randn(2, 1, 4))  # the structure, accepted once
    calls = count_full_checks(Linear.forward, monkeypatch)
    for seq in range(2, 40):
        x = torch.randn(2, seq, 4)
        torch.testing.assert_close(layer(x), x @ layer.weight.T + layer.bias)
    assert calls == [0]
    with pytest.raises(ShapeError, match="argument 'x'"):
        layer(torch.randn(2, 41, 5))
    assert calls == [1]


def test_alternating_structures_each_keep_their_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wrapper remembers the last structure it decided; switching back and forth between
    two accepted structures (float32 and float64) and a never-accepted one (int) must not
    mix them up."""
    shapesafe.matvec(torch.randn(2, 3), torch.randn(3))
    shapesafe.matvec(torch.randn(2, 3).double(), torch.randn(3).double())
    calls = count_full_checks(shapesafe.matvec, monkeypatch)
    for m in range(100, 140):
        dtype = torch.float64 if m % 2 else torch.float32
        A, x = torch.randn(m, 3, dtype=dtype), torch.randn(3, dtype=dtype)
        out = shapesafe.matvec(A, x)
        assert out.dtype == dtype
        torch.testing.assert_close(out, A @ x)
        with pytest.raises(ShapeError, match="argument 'x'"):
            shapesafe.matvec(A, torch.randn(4, dtype=dtype))
        with pytest.raises(ShapeError):
            shapesafe.matvec(A.long(), x.long())  # Int tensors: a structure never accepted
    # Each rejection goes to the full check; no accepted call does.
    assert calls == [80]


def test_an_op_decides_new_shapes_without_filling_its_verdict_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A generation loop brings a new length on every call: deciding a known structure costs
    # an op what a hit costs, so nothing is stored and nothing older is evicted.
    @checked_op
    def mv(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
        return torch.mv(A, x)

    state = state_of(mv)
    calls = count_full_checks(mv, monkeypatch)
    x = torch.randn(8)
    mv(torch.randn(1, 8), x)
    for m in range(2, 40):
        A = torch.randn(m, 8)
        torch.testing.assert_close(mv(A, x), torch.mv(A, x))
    assert calls[0] == 1  # only the first call took the full check
    assert len(state.cache) == 1
    with pytest.raises(ShapeError, match="argument 'x' dim 'n'"):
        mv(torch.randn(41, 8), torch.randn(9))
    assert len(state.cache) == 1
