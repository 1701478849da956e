"""shapesafe under torch.compile: same results, no graph breaks, the eager ShapeError.

Compiling is slow on a small machine, so the models are small and most tests use the
`eager` and `aot_eager` backends; one test uses inductor.
"""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from jaxtyping import Float, Int, Shaped
from torch import Tensor, nn
from torch._dynamo.testing import CompileCounterWithBackend
from torch.testing import assert_close

import shapesafe as ss
import shapesafe.nn as snn
from shapesafe._compile import TracedShapeError, _plan, holds
from shapesafe._contract import unify
from shapesafe._explain import observe_all

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import tiny_gpt  # noqa: E402

pytestmark = pytest.mark.slow

BACKENDS = ["eager", "aot_eager"]


@pytest.fixture(autouse=True)
def _fresh_dynamo() -> Iterator[None]:
    torch._dynamo.reset()
    torch.manual_seed(0)
    yield
    torch._dynamo.reset()


class OpsLayer(nn.Module):
    """Attention written with the shapesafe ops themselves, no shapesafe.nn."""

    def __init__(self, embed: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln = nn.Parameter(torch.ones(embed))
        self.w_qkv = nn.Parameter(torch.randn(3, embed, embed) / embed**0.5)
        self.w_out = nn.Parameter(torch.randn(embed, embed) / embed**0.5)
        self.b_out = nn.Parameter(torch.zeros(embed))

    def forward(self, x: Tensor) -> Tensor:
        h = ss.layer_norm(x, self.ln)
        q, k, v = (ss.split_heads(ss.linear(h, w), self.heads) for w in self.w_qkv)
        mixed = ss.attention(q, k, v, causal=True)
        probs = ss.softmax(ss.attention_scores(q, k))
        mixed = ss.add(mixed, ss.scale(0.5, ss.matmul(probs, v)))
        out = ss.linear(ss.merge_heads(mixed), self.w_out, bias=self.b_out)
        return ss.add(x, out)


def small_model(embed: int = 16, heads: int = 2) -> nn.Sequential:
    """shapesafe ops, then a shapesafe.nn Block, then a checked Linear."""
    model = nn.Sequential(OpsLayer(embed, heads), snn.Block(embed, heads), snn.Linear(embed, 8))
    return model.eval()


def eager_error(fn: Callable[[], object]) -> ss.ShapeError:
    with pytest.raises(ss.ShapeError) as info:
        fn()
    return info.value


def assert_same_error(compiled: ss.ShapeError, eager: ss.ShapeError) -> None:
    """The compiled error carries the eager message whole (dynamo may append user lines)."""
    assert str(compiled).splitlines()[0] == str(eager).splitlines()[0]
    assert str(compiled).startswith(str(eager))
    fields = ("op", "argument", "expected", "actual", "dim", "bindings", "hint")
    assert [getattr(compiled, f) for f in fields] == [getattr(eager, f) for f in fields]


# 1 and 2: a model compiles as one graph and matches eager; correct calls never raise.


@pytest.mark.parametrize("backend", BACKENDS)
def test_fullgraph_model_matches_eager(backend: str) -> None:
    model = small_model()
    x = torch.randn(2, 8, 16)
    compiled = torch.compile(model, backend=backend, fullgraph=True)
    assert_close(compiled(x), model(x))
    got = compiled(x + 1)
    expected = model(x + 1)
    assert_close(got, expected)
    params = list(model.parameters())
    grads = torch.autograd.grad(got.square().sum(), params)
    assert_close(grads, torch.autograd.grad(expected.square().sum(), params))


@pytest.mark.parametrize("dynamic", [None, True], ids=["static", "dynamic"])
def test_checks_leave_nothing_in_the_graph(dynamic: bool | None) -> None:
    model = small_model()
    x = torch.randn(2, 8, 16)

    def calls() -> list[tuple[str, str]]:
        graphs: list[torch.fx.GraphModule] = []

        def capture(gm: torch.fx.GraphModule, inputs: list[Tensor]) -> Callable[..., Any]:
            graphs.append(gm)
            return gm.forward

        torch._dynamo.reset()
        torch.compile(model, backend=capture, fullgraph=True, dynamic=dynamic)(x)
        (gm,) = graphs
        return [(n.op, str(n.target)) for n in gm.graph.nodes if n.op != "placeholder"]

    checked = calls()
    with ss.mode("off"):
        unchecked = calls()
    # The same nodes; under dynamic shapes a float argument's `item` may come first, as the
    # trace-time check reads the arguments before the body does.
    assert sorted(checked) == sorted(unchecked)


def test_data_dependent_sizes_are_asserted_when_the_graph_runs() -> None:
    def positive_dot(x: Tensor, y: Tensor) -> Tensor:
        kept = x[x > 0]  # its length is only known when the graph runs
        return ss.dot(kept, y)

    with torch._dynamo.config.patch(capture_dynamic_output_shape_ops=True):
        compiled = torch.compile(positive_dot, backend="eager", fullgraph=True)
        x = torch.tensor([1.0, -1.0, 2.0])
        assert_close(compiled(x.abs(), x), torch.dot(x.abs(), x))
        with pytest.raises(RuntimeError, match="Runtime assertion failed"):
            compiled(x, x)


def test_tiny_gpt_forward_has_no_graph_breaks() -> None:
    model = tiny_gpt.build_model(12, num_layers=2, embed_dim=16, num_heads=2)
    report = torch._dynamo.explain(model)(torch.randint(0, 12, (2, 8)))
    assert report.graph_break_count == 0, report.break_reasons
    assert report.graph_count == 1


# Importing inductor's CPU code generator touches `torch.jit.script_method`.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_tiny_gpt_compiles_with_inductor() -> None:
    model = tiny_gpt.build_model(12, num_layers=1, embed_dim=16, num_heads=2).eval()
    idx = torch.randint(0, 12, (2, 8))
    compiled = torch.compile(model, backend="inductor", fullgraph=True)
    assert_close(compiled(idx), model(idx), rtol=1e-4, atol=1e-5)


@ss.checked
def project(
    x: Float[Tensor, "*batch n"], w: Float[Tensor, "m n"], b: Float[Tensor, " m"] | None = None
) -> Float[Tensor, "*batch m"]:
    out = x @ w.mT
    return out if b is None else out + b


@ss.checked
def total(*xs: Float[Tensor, " n"], **named: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
    out = torch.stack([*xs, *named.values()]).sum(0)
    return out


@ss.checked
def keyword_only(x: Float[Tensor, "n m"], *, w: Float[Tensor, "m k"]) -> Float[Tensor, "n k"]:
    return x @ w


CORRECT_CALLS = [
    pytest.param(lambda: ss.matvec(torch.randn(4, 3), torch.randn(3)), id="matvec"),
    pytest.param(lambda: ss.outer(torch.randn(4), torch.randn(3)), id="outer"),
    pytest.param(lambda: ss.transpose(torch.randn(2, 4, 3)), id="transpose"),
    pytest.param(lambda: ss.l2_norm(torch.randn(2, 5)), id="l2-norm"),
    pytest.param(lambda: ss.normalize(torch.randn(2, 5), eps=1e-6), id="normalize-kwarg"),
    pytest.param(lambda: ss.apply_mask(torch.randn(2, 3, 3), ss.causal_mask(3)), id="mask"),
    pytest.param(lambda: ss.tril(torch.randn(3, 3), diagonal=-1), id="tril"),
    pytest.param(lambda: project(torch.randn(5, 3), torch.randn(2, 3)), id="default-none"),
    pytest.param(
        lambda: project(torch.randn(5, 3), w=torch.randn(2, 3), b=torch.randn(2)), id="kwargs"
    ),
    pytest.param(lambda: project(torch.randn(3), torch.randn(2, 3)), id="no-batch"),
    pytest.param(lambda: keyword_only(torch.randn(2, 3), w=torch.randn(3, 4)), id="kw-only"),
    pytest.param(lambda: total(torch.randn(3), torch.randn(3), c=torch.randn(3)), id="packed"),
    pytest.param(lambda: ss.permute(torch.randn(2, 3, 4), "b s e -> e b s"), id="permute"),
    pytest.param(lambda: ss.merge_heads(ss.split_heads(torch.randn(2, 3, 8), 4)), id="heads"),
]


@pytest.mark.parametrize("call", CORRECT_CALLS)
def test_correct_calls_compile_whole(call: Callable[[], Tensor]) -> None:
    torch.manual_seed(1)
    expected = call()
    torch.manual_seed(1)
    got = torch.compile(call, backend="eager", fullgraph=True)()
    assert_close(got, expected)


# 3: a new sequence length recompiles, or runs on the dynamic graph.


@pytest.mark.parametrize("backend", BACKENDS)
def test_new_sequence_lengths_recompile(backend: str) -> None:
    model = small_model()
    compiled = torch.compile(model, backend=backend, fullgraph=True)
    for seq in (8, 5, 11):
        x = torch.randn(2, seq, 16)
        assert_close(compiled(x), model(x))


def test_dynamic_shapes_compile_once() -> None:
    model = tiny_gpt.build_model(12, num_layers=1, embed_dim=16, num_heads=2).eval()
    counter = CompileCounterWithBackend("eager")
    compiled = torch.compile(model, backend=counter, fullgraph=True, dynamic=True)
    # Sizes 0 and 1 are always specialized, so they are left out.
    for batch, seq in ((2, 8), (3, 5), (4, 13), (5, 2)):
        idx = torch.randint(0, 12, (batch, seq))
        assert_close(compiled(idx), model(idx))
    assert counter.frame_count == 1


# 4: a broken contract raises the eager ShapeError from the compiled call.


def mlp_down(model: nn.Sequential) -> snn.Linear:
    block = model[1]
    assert isinstance(block, snn.Block)
    return block.mlp.down


def wrong_weight(model: nn.Sequential) -> nn.Sequential:
    """The Block's MLP down-projection transposed: (hidden, embed) instead of (embed, hidden)."""
    down = mlp_down(model)
    down.weight = nn.Parameter(down.weight.detach().mT.clone())
    return model


@pytest.mark.parametrize(
    ("backend", "fullgraph", "dynamic"),
    [
        pytest.param("eager", True, None, id="eager-fullgraph"),
        pytest.param("aot_eager", True, None, id="aot_eager-fullgraph"),
        pytest.param("eager", True, True, id="eager-fullgraph-dynamic"),
        pytest.param("aot_eager", True, True, id="aot_eager-fullgraph-dynamic"),
        # Resuming after a graph break, dynamo reads `.grad` of the block's input under
        # `torch._logging.hide_warnings`, which hides the warning but can't stop an error filter.
        pytest.param(
            "eager",
            False,
            None,
            id="eager-graph-breaks-allowed",
            marks=pytest.mark.filterwarnings(
                "ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning"
            ),
        ),
    ],
)
def test_wrong_weight_raises_the_eager_error(
    backend: str, fullgraph: bool, dynamic: bool | None
) -> None:
    model = wrong_weight(small_model())
    x = torch.randn(2, 8, 16)
    eager = eager_error(lambda: model(x))
    assert eager.op == "linear" and eager.argument == "weight" and eager.dim == "in_features"
    compiled = torch.compile(model, backend=backend, fullgraph=fullgraph, dynamic=dynamic)
    for _ in range(2):  # the failure is not cached as a success
        with pytest.raises(ss.ShapeError) as info:
            compiled(x)
        assert isinstance(info.value, TracedShapeError)
        assert_same_error(info.value, eager)


def test_tiny_gpt_with_a_wrong_weight_raises_the_eager_error() -> None:
    model = tiny_gpt.build_model(12, num_layers=2, embed_dim=16, num_heads=2)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    idx = torch.randint(0, 12, (2, 8))
    assert_close(compiled(idx), model(idx))
    block = model.transformer["h"][1]  # type: ignore[index]
    assert isinstance(block, snn.GPTBlock)
    block.attn.c_attn.weight = nn.Parameter(torch.randn(48, 12))
    eager = eager_error(lambda: model(idx))
    with pytest.raises(ss.ShapeError) as info:
        compiled(idx)
    assert_same_error(info.value, eager)


def test_fixed_weight_compiles_again_after_an_error() -> None:
    model = small_model()
    good = mlp_down(model).weight
    wrong_weight(model)
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    x = torch.randn(2, 8, 16)
    with pytest.raises(ss.ShapeError):
        compiled(x)
    mlp_down(model).weight = good
    assert_close(compiled(x), model(x))


def test_dynamic_mismatch_after_a_good_call_is_caught() -> None:
    # The first graph is dynamic in `n`; the guard on `x.shape[1] == w.shape[1]` fails for
    # the second call, so it is traced again and checked again.
    compiled = torch.compile(project, backend="eager", fullgraph=True, dynamic=True)
    x0, w0 = torch.randn(4, 3), torch.randn(2, 3)
    assert_close(compiled(x0, w0), project(x0, w0))
    x, w = torch.randn(4, 3), torch.randn(2, 5)
    eager = eager_error(lambda: project(x, w))
    with pytest.raises(ss.ShapeError) as info:
        compiled(x, w)
    assert_same_error(info.value, eager)


@ss.checked
def bad_return(x: Float[Tensor, "n m"]) -> Float[Tensor, "m n"]:
    return x  # not transposed


WRONG_CALLS = [
    pytest.param(lambda: ss.matvec(torch.randn(4, 3), torch.randn(4)), id="inner-dim"),
    pytest.param(lambda: ss.dot(torch.randn(2, 3), torch.randn(3)), id="rank"),
    pytest.param(lambda: ss.linear(torch.randn(2, 3), torch.randn(3, 4)), id="transposed"),
    pytest.param(lambda: ss.layer_norm(torch.randint(0, 5, (2, 3)), torch.ones(3)), id="int-dtype"),
    pytest.param(lambda: project(torch.randn(5, 3), torch.randn(2, 3), torch.randn(3)), id="bias"),
    pytest.param(lambda: ss.merge_heads(torch.randn(2, 3, 4)), id="merge-rank"),
    pytest.param(lambda: ss.add(torch.randn(2, 3), torch.randn(2, 1)), id="no-broadcast"),
    pytest.param(lambda: bad_return(torch.randn(2, 3)), id="return"),
    pytest.param(lambda: total(torch.randn(3), torch.randn(4)), id="packed"),
    # Found by the op's body rather than by its annotations.
    pytest.param(lambda: ss.split_heads(torch.randn(2, 3, 10), 4), id="heads-do-not-divide"),
    pytest.param(lambda: ss.permute(torch.randn(2, 3, 8), "b s h e -> b h s e"), id="permute-rank"),
]


@pytest.mark.parametrize("call", WRONG_CALLS)
def test_wrong_calls_raise_the_eager_error(call: Callable[[], Tensor]) -> None:
    eager = eager_error(call)
    with pytest.raises(ss.ShapeError) as info:
        torch.compile(call, backend="eager", fullgraph=True)()
    assert_same_error(info.value, eager)


def test_wrong_config_size_in_nn_module() -> None:
    layer = snn.LayerNorm(16)
    x = torch.randn(2, 8, 12)
    eager = eager_error(lambda: layer(x))
    assert eager.dim == "features"
    with pytest.raises(ss.ShapeError) as info:
        torch.compile(layer, backend="eager", fullgraph=True)(x)
    assert_same_error(info.value, eager)


# The traced check and the eager unifier agree on every verdict.


class Sizes:
    k = 2


@ss.checked
def many_dims(
    a: Float[Tensor, "*#batch n 3"],
    b: Shaped[Tensor, "_ n+1 {self.k}"],
    c: Int[Tensor, "... m"] | None,
    d: Float[Tensor, "m n*m"],
    self: Sizes,
) -> Float[Tensor, "*batch n"]:
    return a.sum(-1)


dims = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)


@settings(max_examples=150, deadline=None)
@given(
    a=dims,
    b=dims,
    c=st.one_of(st.none(), dims),
    d=dims,
    dtype=st.sampled_from([torch.float32, torch.int64, torch.bool]),
)
def test_traced_check_agrees_with_unify(
    a: tuple[int, ...],
    b: tuple[int, ...],
    c: tuple[int, ...] | None,
    d: tuple[int, ...],
    dtype: torch.dtype,
) -> None:
    state = many_dims.__shapesafe__  # type: ignore[attr-defined]
    arguments: dict[str, Any] = {
        "a": torch.empty(a, device="meta"),
        "b": torch.empty(b, dtype=dtype, device="meta"),
        "c": None if c is None else torch.empty(c, dtype=torch.int64, device="meta"),
        "d": torch.empty(d, device="meta"),
        "self": Sizes(),
    }
    _, _, params, _ = _plan(state)
    sizes: dict[str, Any] = {}
    shapes: dict[str, tuple[bool, tuple[Any, ...]]] = {}
    traced = all(holds(p, arguments[p[0]], sizes, shapes, arguments) for p in params)
    observed = observe_all(state.contract, arguments)
    conflict = unify(state.contract, observed, arguments, include_return=False)[1]
    assert traced == (conflict is None)


# Tuple returns and `{...}` dims that read tensor shapes are checked under compile too.


@ss.checked
def split_last(
    x: Float[Tensor, "*batch 2*{n}"], n: int
) -> tuple[Float[Tensor, "*batch {n}"], Float[Tensor, "*batch {n}"]]:
    return x[..., :n], x[..., n:]


@ss.checked
def split_wrong(
    x: Float[Tensor, "*batch 2*{n}"], n: int
) -> tuple[Float[Tensor, "*batch {n}"], Float[Tensor, "*batch {n}"]]:
    return x[..., :n], x[..., : n + 1]  # the second item is one too wide


@pytest.mark.parametrize("dynamic", [None, True], ids=["static", "dynamic"])
def test_tuple_returns_are_checked(dynamic: bool | None) -> None:
    x = torch.randn(2, 6)
    compiled = torch.compile(split_last, backend="eager", fullgraph=True, dynamic=dynamic)
    assert_close(compiled(x, 3), split_last(x, 3))
    eager = eager_error(lambda: split_wrong(x, 3))
    assert eager.argument == "return[1]" and eager.dim == "{n}"
    with pytest.raises(TracedShapeError) as info:
        torch.compile(split_wrong, backend="eager", fullgraph=True, dynamic=dynamic)(x, 3)
    assert_same_error(info.value, eager)


class Project(nn.Module):
    def __init__(self, d_in: int, d_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in))

    @ss.checked
    def forward(
        self, x: Float[Tensor, "*batch {self.weight.shape[1]}"]
    ) -> Float[Tensor, "*batch {self.weight.shape[0]}"]:
        return x @ self.weight.mT


@pytest.mark.parametrize("dynamic", [None, True], ids=["static", "dynamic"])
def test_dims_that_read_tensor_shapes_are_checked(dynamic: bool | None) -> None:
    model = Project(4, 3)
    x = torch.randn(2, 4)
    compiled = torch.compile(model, backend="eager", fullgraph=True, dynamic=dynamic)
    assert_close(compiled(x), model(x))
    wrong = torch.randn(2, 5)
    eager = eager_error(lambda: model(wrong))
    assert eager.argument == "x"
    with pytest.raises(TracedShapeError) as info:
        compiled(wrong)
    assert_same_error(info.value, eager)


def test_traced_errors_show_the_users_frames() -> None:
    model = wrong_weight(small_model())
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    with pytest.raises(TracedShapeError) as info:
        compiled(torch.randn(2, 8, 16))
    frames = str(info.value).split("from user code:")[1]
    assert "shapesafe/nn/_block.py" in frames  # the module that made the bad call
    for own in ("<shapesafe._generated", "shapesafe/_checked.py", "shapesafe/_compile.py"):
        assert own not in frames


@ss.checked
def apply_rows(
    fn: Callable[[Tensor], Tensor], x: Float[Tensor, "rows n"]
) -> Float[Tensor, "rows n"]:
    return fn(x)


def test_arguments_dynamo_cannot_hand_over_are_left_to_the_body() -> None:
    x = torch.randn(3, 4)
    compiled = torch.compile(apply_rows, backend="eager", fullgraph=True)
    assert_close(compiled(torch.tanh, x), torch.tanh(x))
    with pytest.raises(TracedShapeError) as info:
        compiled(lambda t: t[:, :2], x)
    assert info.value.argument == "return"


@ss.checked
def entry_contract(x: Float[Tensor, "b n"], w: Float[Tensor, "n m"]) -> Float[Tensor, "b m"]:
    return x @ w


@ss.checked
def return_contract(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
    return x[:, :1]


def _user_lines(err: BaseException) -> str:
    return str(err).split("from user code:")[1]


@pytest.mark.parametrize(
    ("fn", "args", "argument"),
    [
        (entry_contract, (torch.randn(2, 3), torch.randn(4, 5)), "w"),
        (return_contract, (torch.randn(2, 3),), "return"),
    ],
    ids=["entry", "return"],
)
def test_a_checked_function_compiled_itself_shows_its_def(
    fn: Callable[..., Tensor], args: tuple[Tensor, ...], argument: str
) -> None:
    """No traced frame is the user's but the checked function's own: its `def` is shown."""
    with pytest.raises(TracedShapeError) as info:
        torch.compile(fn, backend="eager", fullgraph=True)(*args)
    assert info.value.argument == argument
    frames = _user_lines(info.value)
    name = fn.__name__
    assert 'test_compile.py", line' in frames and f"in {name}" in frames
    assert f"def {name}(" in frames
    for own in ("<shapesafe.", "shapesafe/_checked.py", "shapesafe/_compile.py", "_codegen.py"):
        assert own not in frames


def test_a_checked_function_called_from_compiled_code_shows_the_call() -> None:
    def caller(x: Tensor, w: Tensor) -> Tensor:
        return entry_contract(x * 2, w)  # the user's line

    with pytest.raises(TracedShapeError) as info:
        torch.compile(caller, backend="eager", fullgraph=True)(torch.randn(2, 3), torch.randn(4, 5))
    frames = _user_lines(info.value)
    assert "return entry_contract(x * 2, w)  # the user's line" in frames
    assert frames.index("in caller") < frames.index("in entry_contract")


@pytest.mark.parametrize("dynamic", [None, True], ids=["static", "dynamic"])
def test_gpt_longer_than_its_block_size_is_a_value_error_when_compiled(
    dynamic: bool | None,
) -> None:
    config = snn.GPTConfig(vocab_size=32, block_size=8, embed_dim=16, num_heads=2, num_layers=1)
    model = snn.GPT(config).eval()
    long = torch.randint(0, 32, (1, 9))
    with pytest.raises(ValueError) as eager:
        model(long)
    compiled = torch.compile(model, backend="eager", fullgraph=True, dynamic=dynamic)
    compiled(torch.randint(0, 32, (1, 5)))
    with pytest.raises(ValueError) as info:
        compiled(long)
    assert str(info.value).splitlines()[0] == str(eager.value)
    assert "seq=9 is longer than block_size=8" in str(eager.value)


def test_an_error_an_op_finds_is_a_shape_error_when_its_int_is_dynamic() -> None:
    """A second `num_heads` makes dynamo trace it as a SymInt: the error still leaves as a
    ShapeError, not as dynamo's failure to read the int as a constant."""

    def heads(x: Tensor, n: int) -> Tensor:
        return ss.split_heads(x, n)

    compiled = torch.compile(heads, backend="eager", fullgraph=True)
    compiled(torch.randn(2, 3, 8), 2)
    compiled(torch.randn(2, 3, 8), 4)
    eager = eager_error(lambda: heads(torch.randn(2, 3, 10), 3))
    with pytest.raises(TracedShapeError) as info:
        compiled(torch.randn(2, 3, 10), 3)
    assert_same_error(info.value, eager)
