"""Differential tests: every path that decides a call's verdict agrees with the reference.

For random shape signatures (mostly near a contract, many of them broken), each call gets the
same verdict, accept or reject, from:

- `jaxtyping.jaxtyped(typechecker=beartype)` on the same body: the reference;
- `checked` with a warm cache (whatever earlier examples left in it);
- `checked` on a miss (its cache cleared first);
- `checked` on the hit that follows an accepted miss;
- `_contract.unify`, the pure-Python unifier behind the explanations and the compiled path.

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
from jaxtyping import Float, Int, Shaped, TypeCheckError, jaxtyped
from torch import Tensor

from shapesafe import ShapeError, checked
from shapesafe._checked import _Checked
from shapesafe._contract import Spec, evaluate_symbolic, unify
from shapesafe._explain import observe

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


def test_rejections_are_shape_errors_on_a_miss_and_on_a_hit() -> None:
    fn = CHECKED[matmul]
    a, b = torch.zeros(2, 3), torch.zeros(3, 4)
    RETURNED.shape, RETURNED.dtype = (2, 4), torch.float32
    fn(a, b)
    fn(a, b)
    RETURNED.shape = (4, 2)
    for _ in range(2):
        with pytest.raises(ShapeError, match="argument 'return'"):
            fn(a, b)
    with pytest.raises(ShapeError, match="argument 'B'"):
        fn(a, torch.zeros(4, 4))
