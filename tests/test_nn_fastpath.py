"""Differential tests of the `shapesafe.nn` fast forms (`shapesafe/nn/_fastpath.py`).

A module called from inside another of shapesafe's modules goes by its fast form. For random
modules, parameters, attributes and inputs (many of them broken), each call gets the same
outcome three ways:

- the fast form, `_fastpath.call(module, *args)`;
- the checked call with every fast form off (each child module called through its checked
  wrapper), `module(*args)`: the same value, or the same error type and message;
- the reference: `jaxtyping.jaxtyped(typechecker=beartype)` on the module's `forward`, with
  the fast forms off: the same verdict, accept or reject.
"""

import re
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import torch
from beartype import beartype
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jaxtyping import Float, TypeCheckError, jaxtyped
from torch import Tensor, nn

import shapesafe
from shapesafe import ShapeError
from shapesafe.nn import (
    MLP,
    Block,
    CausalSelfAttention,
    Embedding,
    LayerNorm,
    Linear,
    RMSNorm,
    _fastpath,
)
from shapesafe.nn._gpt import GPTMLP, GPTBlock, GPTConfig
from shapesafe.nn._llama import (
    KVCache,
    LlamaAttention,
    LlamaConfig,
    LlamaDecoderLayer,
    LlamaModel,
    SwiGLU,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def no_fast_forms() -> Any:
    """A context in which every child module is called through its checked wrapper."""
    return mock.patch.dict(_fastpath.FAST, clear=True)


def outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        out = fn()
    except Exception as e:
        return ("raise", type(e), str(e))
    return ("return", out)


def reference_verdict(module: nn.Module, args: tuple[Any, ...]) -> str:
    reference = jaxtyped(getattr(type(module).forward, "__wrapped__"), typechecker=beartype)  # noqa: B009
    with no_fast_forms():
        try:
            reference(module, *args)
        except (TypeCheckError, ShapeError):
            return "reject"
        except Exception as e:
            return type(e).__name__
    return "accept"


def verdict(result: tuple[Any, ...]) -> str:
    if result[0] == "return":
        return "accept"
    return "reject" if issubclass(result[1], ShapeError) else result[1].__name__


def assert_same(fast: tuple[Any, ...], checked: tuple[Any, ...]) -> None:
    assert fast[0] == checked[0], (fast, checked)
    if fast[0] == "raise":
        assert fast[1:] == checked[1:]
    else:
        assert type(fast[1]) is type(checked[1])
        assert fast[1].dtype == checked[1].dtype
        assert fast[1].shape == checked[1].shape
        torch.testing.assert_close(fast[1], checked[1], rtol=0, atol=0)


def agree(module: nn.Module, make_args: Callable[[], tuple[Any, ...]]) -> None:
    """The fast form, the checked call and the reference agree on `module(*make_args())`
    (`make_args` gives fresh arguments for each: a KV cache is appended to)."""
    torch.manual_seed(0)
    fast = outcome(lambda: _fastpath.call(module, *make_args()))
    with no_fast_forms():
        checked = outcome(lambda: module(*make_args()))
    assert_same(fast, checked)
    expected = reference_verdict(module, make_args())
    event(expected)
    assert verdict(checked) == expected


sizes = st.integers(1, 3)
FLOATS = (torch.float32, torch.float64)
dtypes = st.sampled_from((*FLOATS, torch.int64))


def tensor(shape: tuple[int, ...], dtype: torch.dtype, parameter: bool = False) -> Tensor:
    if dtype.is_floating_point:
        t = torch.randn(shape, dtype=dtype)
    else:
        t = torch.randint(0, 3, shape, dtype=dtype)
    return nn.Parameter(t, requires_grad=False) if parameter else t


@st.composite
def near(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """`shape`, or one like it with a size changed, an axis added or one dropped."""
    change = draw(st.sampled_from(["same", "same", "same", "size", "add", "drop"]))
    out = list(shape)
    if change == "size" and out:
        i = draw(st.integers(0, len(out) - 1))
        out[i] += draw(st.integers(1, 2))
    elif change == "add":
        out.insert(draw(st.integers(0, len(out))), draw(sizes))
    elif change == "drop" and out:
        out.pop(draw(st.integers(0, len(out) - 1)))
    return tuple(out)


@st.composite
def an_input(draw: st.DrawFn, shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> Tensor:
    got = draw(near(shape))
    dt = draw(st.sampled_from([dtype, dtype, dtype, *FLOATS, torch.int64]))
    return tensor(got, dt, parameter=draw(st.integers(0, 9)) == 0)


def break_parameter(draw: st.DrawFn, module: nn.Module, name: str) -> None:
    """Maybe reassign `module.name`: another shape, another dtype, or None."""
    old = getattr(module, name)
    change = draw(st.sampled_from(["keep", "keep", "shape", "dtype", "none"]))
    if change == "shape" and old is not None:
        setattr(module, name, nn.Parameter(torch.randn(draw(near(tuple(old.shape))))))
    elif change == "dtype" and old is not None:
        setattr(module, name, nn.Parameter(old.detach().double()))
    elif change == "none":
        setattr(module, name, None)


@st.composite
def a_leaf(draw: st.DrawFn) -> tuple[nn.Module, Tensor]:
    kind = draw(st.sampled_from(["linear", "layer_norm", "rms_norm", "embedding"]))
    batch = tuple(draw(st.lists(sizes, max_size=2)))
    n, o = draw(sizes), draw(sizes)
    module: nn.Module
    if kind == "linear":
        module = Linear(n, o, bias=draw(st.booleans()))
        break_parameter(draw, module, "weight")
        break_parameter(draw, module, "bias")
        if draw(st.integers(0, 5)) == 0:
            module.out_features = draw(sizes)
        x = draw(an_input((*batch, n)))
    elif kind in ("layer_norm", "rms_norm"):
        module = LayerNorm(n) if kind == "layer_norm" else RMSNorm(n, eps=1e-6)
        break_parameter(draw, module, "weight")
        if kind == "layer_norm":
            break_parameter(draw, module, "bias")
        if draw(st.integers(0, 5)) == 0:
            module.features = draw(sizes)
        x = draw(an_input((*batch, n)))
    else:
        module = Embedding(4, n)
        break_parameter(draw, module, "weight")
        if draw(st.integers(0, 5)) == 0:
            module.embedding_dim = draw(sizes)
        shape = draw(near(batch))
        dt = draw(st.sampled_from([torch.int64, torch.int64, torch.int32, torch.float32]))
        high = draw(st.sampled_from([4, 4, 4, 6]))  # some ids out of range
        x = torch.randint(0, high, shape).to(dt)
    return module, x


@SETTINGS
@given(case=a_leaf())
def test_leaf_fast_forms_agree_with_the_checked_call_and_the_reference(
    case: tuple[nn.Module, Tensor],
) -> None:
    module, x = case
    agree(module, lambda: (x,))


def _break_child(draw: st.DrawFn, module: nn.Module) -> None:
    """Maybe change one child `Linear` of `module` so that it still fits its own contract
    but the module's return does not, or make a child's call not plain."""
    linears = [m for m in module.modules() if type(m) is Linear]
    change = draw(st.sampled_from(["keep", "keep", "keep", "return", "hook", "subclass"]))
    if change == "keep" or not linears:
        return
    child = draw(st.sampled_from(linears))
    if change == "return":
        # A wider output projection, with the attribute to match: the child accepts.
        out = child.out_features + 1
        child.weight = nn.Parameter(torch.randn(out, child.in_features))
        child.bias = None  # type: ignore[assignment]
        child.out_features = out
    elif change == "hook":
        child.register_forward_hook(lambda m, args, out: out * 2)
    else:

        class Subclassed(Linear):
            pass

        child.__class__ = Subclassed


@st.composite
def a_module(draw: st.DrawFn) -> tuple[nn.Module, Callable[[], tuple[Any, ...]]]:
    kind = draw(
        st.sampled_from(
            [
                *("gpt_block", "attention", "gpt_mlp", "block", "mlp", "swiglu"),
                *("llama_layer", "llama_attention", "llama_model"),
            ]
        )
    )
    b, s, heads = draw(sizes), draw(sizes), draw(st.sampled_from([1, 2]))
    e = heads * 2
    torch.manual_seed(draw(st.integers(0, 3)))
    module: nn.Module
    if kind.startswith("llama"):
        kv = draw(st.sampled_from([k for k in (1, 2) if heads % k == 0]))
        config = LlamaConfig(
            vocab_size=5,
            hidden_size=e,
            intermediate_size=3,
            num_hidden_layers=1,
            num_attention_heads=heads,
            num_key_value_heads=kv,
            max_position_embeddings=16,
        )
        module = {
            "llama_layer": LlamaDecoderLayer,
            "llama_attention": LlamaAttention,
            "llama_model": LlamaModel,
        }[kind](config)
        _break_child(draw, module)
        past = draw(st.integers(0, 2))
        cached = draw(st.booleans())

        def cache() -> KVCache | None:
            if not cached:
                return None
            c = KVCache(1)
            if past:
                torch.manual_seed(1)
                c.keys[0] = torch.randn(b, kv, past, 2)
                c.values[0] = torch.randn(b, kv, past, 2)
            return c

        if kind == "llama_model":
            ids_shape = draw(near((b, s)))
            ids_dtype = draw(st.sampled_from([torch.int64, torch.int64, torch.float32]))
            ids = torch.randint(0, 5, ids_shape).to(ids_dtype)
            return module, lambda: (ids, cache())
        x = draw(an_input((b, s, e)))
        cos = draw(an_input((s, 2)))
        sin = draw(an_input((s, 2)))
        total = past + s if cached else s
        mask_kind = draw(st.sampled_from(["none", "bool", "bool", "float", "odd"]))
        mask = None
        if mask_kind != "none":
            shape = (s, total) if mask_kind != "odd" else draw(near((s, total)))
            mask = torch.ones(shape)
            if mask.ndim >= 2:  # an odd shape may have lost an axis
                mask = mask.tril(diagonal=total - s)
            mask = mask if mask_kind == "float" else mask.bool()
        return module, lambda: (x, cos, sin, mask, cache())
    if kind == "gpt_block":
        module = GPTBlock(GPTConfig(vocab_size=5, embed_dim=e, num_heads=heads))
    elif kind == "attention":
        module = CausalSelfAttention(e, heads, fused=draw(st.booleans()))
    elif kind == "gpt_mlp":
        module = GPTMLP(GPTConfig(vocab_size=5, embed_dim=e, num_heads=heads))
    elif kind == "block":
        module = Block(e, heads)
    elif kind == "mlp":
        module = MLP(e)
    else:
        module = SwiGLU(e, 3)
    _break_child(draw, module)
    if draw(st.integers(0, 7)) == 0:
        attr = "hidden_size" if kind == "swiglu" else "embed_dim"
        setattr(module, attr, e + 1)
    x = draw(an_input((b, s, e)))
    return module, lambda: (x,)


@SETTINGS
@given(case=a_module())
def test_module_fast_forms_agree_with_the_checked_call_and_the_reference(
    case: tuple[nn.Module, Callable[[], tuple[Any, ...]]],
) -> None:
    module, make_args = case
    module.eval()
    with torch.no_grad():
        agree(module, make_args)


def test_a_return_that_breaks_the_contract_raises_the_checked_calls_error() -> None:
    block = GPTBlock(GPTConfig(vocab_size=5, embed_dim=4, num_heads=2))
    proj = block.attn.c_proj
    proj.weight = nn.Parameter(torch.randn(5, 4))
    proj.bias = None  # type: ignore[assignment]
    proj.out_features = 5
    x = torch.randn(2, 3, 4)
    with no_fast_forms(), pytest.raises(ShapeError) as checked:
        block.attn(x)
    with pytest.raises(ShapeError, match=re.escape(str(checked.value))):
        _fastpath.call(block.attn, x)
    assert "CausalSelfAttention.forward()" in str(checked.value)
    with shapesafe.mode("off"):
        out = _fastpath.call(block.attn, x)
    assert out.shape == (2, 3, 5)


def test_hooks_on_a_child_run_and_see_the_parents_dims() -> None:
    """A hook on a child makes its parent take the checked call, whose dims it can read."""
    block = GPTBlock(GPTConfig(vocab_size=5, embed_dim=4, num_heads=2))
    seen: list[bool] = []

    def hook(module: nn.Module, args: tuple[Any, ...], out: Tensor) -> None:
        # The attention's contract bound batch=2 and seq=3: swapped, they do not fit.
        swapped: Any = Float[Tensor, "seq batch e"]
        seen.append(isinstance(out, swapped))

    block.attn.c_attn.register_forward_hook(hook)
    x = torch.randn(2, 3, 4)
    _fastpath.call(block, x)
    with no_fast_forms():
        block(x)
    assert seen == [False, False]
    assert not _fastpath.children_plain(block.attn)


def test_modules_called_alone_are_checked() -> None:
    lin = Linear(4, 3)
    with pytest.raises(ShapeError, match=re.escape("Linear.forward(): argument 'x'")):
        lin(torch.randn(2, 5))
    lin.weight = nn.Parameter(torch.randn(2, 4))
    lin.bias = None  # type: ignore[assignment]
    with pytest.raises(
        ShapeError, match=re.escape("Linear.forward(): argument 'return' dim 'out_features'")
    ):
        lin(torch.randn(2, 4))


def test_a_forward_set_on_the_instance_is_called() -> None:
    lin = Linear(4, 3)
    calls: list[int] = []
    forward = lin.forward

    def counted(x: Tensor) -> Tensor:
        calls.append(1)
        out: Tensor = forward(x)
        return out

    lin.forward = counted  # type: ignore[method-assign]
    _fastpath.call(lin, torch.randn(2, 4))
    assert calls == [1]
    assert not _fastpath.plain(lin)


def test_a_model_call_checks_its_own_contract_once_and_its_modules_by_their_fast_forms() -> None:
    from shapesafe import _cache
    from shapesafe.nn import GPT, Llama

    gpt = GPT(GPTConfig(vocab_size=5, embed_dim=4, num_heads=2, num_layers=2))
    llama = Llama(LlamaConfig(vocab_size=5, hidden_size=4, num_attention_heads=2))
    states = [
        getattr(cls.forward, "__shapesafe__")  # noqa: B009 - not every forward has the attribute to mypy
        for cls in (Linear, LayerNorm, RMSNorm, Embedding, GPTBlock, LlamaDecoderLayer)
    ]
    _cache.clear_all()
    ids = torch.randint(0, 5, (1, 3))
    gpt(ids)
    llama.generate(ids, 3)
    assert [len(s.cache) for s in states] == [0] * len(states)
    assert len(GPT.forward.__shapesafe__.cache) == 1  # type: ignore[attr-defined]
    assert len(Llama.forward.__shapesafe__.cache) == 2  # type: ignore[attr-defined]


def test_a_forward_replaced_on_the_class_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = Linear.forward

    def counted(self: Linear, x: Tensor) -> Tensor:
        calls.append(1)
        return original(self, x)

    monkeypatch.setattr(Linear, "forward", counted)
    _fastpath.call(Linear(4, 3), torch.randn(2, 4))
    assert calls == [1]
