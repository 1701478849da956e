"""The `checked` decorator: modes, the verdict cache, and what a cache hit lets the body see.

The last part holds `checked` to the semantics of `jaxtyping.jaxtyped(typechecker=beartype)`
that jaxtyping's own decorator, array and threading tests pin down: every scenario runs under
both decorators, twice (the first call of `checked` is a miss, the second a hit), and must
behave the same each time.
"""

import abc
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, TypeVar, cast

import pytest
import torch
from beartype import beartype
from beartype.roar import BeartypeCallHintViolation
from beartype.vale import Is
from jaxtyping import (
    AnnotationError,
    Float,
    Float32,
    Int,
    Shaped,
    TypeCheckError,
    jaxtyped,
    print_bindings,
)
from jaxtyping import _storage as jaxtyping_storage
from torch import Tensor, nn

import shapesafe
from shapesafe import ShapeError, checked
from shapesafe._cache import Entry as _Entry
from shapesafe._cache import VerdictCache
from shapesafe._checked import contract_of
from tests.helpers import count_full_checks, state_of

F = TypeVar("F", bound=Callable[..., Any])


def fits(value: object, hint: Any) -> bool:
    """`isinstance` against a jaxtyping hint, which mypy does not take as a class."""
    return isinstance(value, hint)


def memo_depth() -> int:
    return len(getattr(jaxtyping_storage._shape_storage, "memo_stack", []))


@checked
def matvec(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
    return A @ x


# --- modes -----------------------------------------------------------------------------


def test_default_mode_is_check() -> None:
    assert shapesafe.get_mode() == "check"


def test_off_mode_skips_checks_and_mode_context_restores() -> None:
    bad = (torch.randn(3, 4), torch.randn(5))
    with shapesafe.mode("off"):
        assert shapesafe.get_mode() == "off"
        with pytest.raises(RuntimeError):  # torch's own error: nothing checked first
            matvec(*bad)
    assert shapesafe.get_mode() == "check"
    with pytest.raises(ShapeError):
        matvec(*bad)


def test_mode_context_restores_after_an_exception() -> None:
    with pytest.raises(KeyError), shapesafe.mode("off"):
        raise KeyError("inside")
    assert shapesafe.get_mode() == "check"


def test_set_mode_round_trip() -> None:
    shapesafe.set_mode("off")
    try:
        assert shapesafe.get_mode() == "off"
    finally:
        shapesafe.set_mode("check")
    assert shapesafe.get_mode() == "check"


@pytest.mark.parametrize("value", ["on", "", "CHECK", None, 0])
def test_set_mode_rejects_unknown_values(value: Any) -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        shapesafe.set_mode(value)
    assert shapesafe.get_mode() == "check"


def run_python(code: str, mode: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SHAPESAFE_MODE=mode)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


def test_env_off_at_import_returns_the_function_itself() -> None:
    code = (
        "import shapesafe\n"
        "def f(x): return x\n"
        "assert shapesafe.checked(f) is f\n"
        "assert not hasattr(shapesafe.matvec, '__shapesafe__')\n"
        "print(shapesafe.get_mode())\n"
    )
    result = run_python(code, " Off ")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "off"


def test_env_rejects_unknown_values_when_the_runtime_is_used() -> None:
    result = run_python("import shapesafe\nprint('imported')\nshapesafe.checked", "fast")
    assert result.returncode != 0
    assert result.stdout == "imported\n"  # `import shapesafe` alone doesn't read the mode
    assert "ValueError: SHAPESAFE_MODE must be one of" in result.stderr


# --- the verdict cache -----------------------------------------------------------------


def test_second_call_with_a_signature_skips_the_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @checked
    def f(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
        return A @ x

    calls = count_full_checks(f, monkeypatch)
    for _ in range(3):
        f(torch.randn(3, 4), torch.randn(4))
    assert calls[0] == 1
    f(torch.randn(3, 5), torch.randn(5))  # new sizes, known structure: the unifier decides
    assert calls[0] == 1
    f(torch.randn(3, 4, dtype=torch.float64), torch.randn(4, dtype=torch.float64))
    assert calls[0] == 2  # a new structure
    assert len(state_of(f).cache) == 3
    f(torch.randn(3, 4), torch.randn(4))  # not the last signature any more: a dict hit
    assert calls[0] == 2


def test_rejected_signature_is_never_cached_and_a_good_call_still_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @checked
    def f(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
        return A @ x

    calls = count_full_checks(f, monkeypatch)
    for _ in range(2):
        with pytest.raises(ShapeError, match="dim 'n' is 5"):
            f(torch.randn(3, 4), torch.randn(5))
    assert calls[0] == 2
    assert len(state_of(f).cache) == 0
    assert f(torch.randn(3, 4), torch.randn(4)).shape == (3,)
    with pytest.raises(ShapeError):
        f(torch.randn(3, 4), torch.randn(5))
    assert len(state_of(f).cache) == 1


def test_a_return_that_changes_on_a_hit_is_checked_again() -> None:
    @checked
    def f(x: Float[Tensor, " n"], k: int) -> Float[Tensor, " n"]:
        return torch.zeros(k)

    f(torch.randn(3), 3)
    assert len(state_of(f).cache) == 1  # k is keyed by its type only
    with pytest.raises(ShapeError, match="the return value"):
        f(torch.randn(3), 4)
    with pytest.raises(ShapeError, match="the return value"):
        f(torch.randn(3), 2)
    assert f(torch.randn(3), 3).shape == (3,)


def test_the_return_check_on_a_hit_uses_the_bound_dims() -> None:
    @checked
    def f(x: Float[Tensor, " n"], out: Tensor) -> Float[Tensor, " n"] | Float[Tensor, "n n"]:
        return out

    x = torch.randn(3)
    f(x, torch.zeros(3))
    assert f(x, torch.zeros(3, 3)).shape == (3, 3)  # a different return, still accepted
    with pytest.raises(ShapeError):
        f(x, torch.zeros(3, 4))
    with pytest.raises(ShapeError):
        f(x, torch.zeros(3, dtype=torch.int64))


def test_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = VerdictCache(maxsize=3)
    entries = {k: _Entry({}, {}, {}, None) for k in "abcde"}
    for k in "abc":
        cache.put(k, entries[k])
    assert cache.get("a") is entries["a"]
    cache.put("d", entries["d"])
    assert list(cache.data) == ["c", "a", "d"]
    assert cache.get("c") is entries["c"]
    cache.put("e", entries["e"])
    assert list(cache.data) == ["d", "c", "e"]
    assert cache.get("a") is None
    assert len(cache) == 3


def test_a_checked_functions_cache_stays_within_its_bound() -> None:
    @checked
    def f(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return x

    state_of(f).cache.maxsize = 4
    for n in range(1, 20):
        f(torch.randn(n))
        assert len(state_of(f).cache) <= 4
    hot = torch.randn(2)
    for n in range(20, 40):
        f(hot)
        f(torch.randn(n))
    assert (hot.__class__, hot.shape, hot.dtype) in state_of(f).cache.data


def test_caches_survive_mode_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    A, x = torch.randn(2, 3), torch.randn(3)
    matvec(A, x)
    before = dict(state_of(matvec).cache.data)
    with shapesafe.mode("off"):
        matvec(A, x)
    shapesafe.set_mode("off")
    shapesafe.set_mode("check")
    assert state_of(matvec).cache.data == before
    calls = count_full_checks(matvec, monkeypatch)
    matvec(A, x)
    assert calls == [0]


def test_concurrent_calls_get_the_right_verdicts() -> None:
    @checked
    def f(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
        y = A @ x
        assert fits(y, Float[Tensor, " m"])
        assert not fits(torch.zeros(A.shape[0] + 1), Float[Tensor, " m"])
        return y

    state_of(f).cache.maxsize = 3  # force evictions while other threads read
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker(seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        try:
            start.wait()
            for i in range(300):
                m, n, k = (int(v) for v in torch.randint(1, 5, (3,), generator=gen))
                good = k == n
                try:
                    out = f(torch.zeros(m, n), torch.zeros(k))
                except ShapeError:
                    assert not good, (i, m, n, k)
                else:
                    assert good and out.shape == (m,), (i, m, n, k)
            assert memo_depth() == 0
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(state_of(f).cache) <= 3


def test_a_sampled_hint_is_tested_on_every_call_and_the_rest_is_cached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # beartype samples `list[int]`: the list is never keyed, but tested on each call, hit
    # or miss, while the tensor's signature is cached.
    @checked
    def f(x: Float[Tensor, " n"], sizes: list[int]) -> Float[Tensor, " n"]:
        return x

    calls = count_full_checks(f, monkeypatch)
    f(torch.randn(3), [1, 2])
    f(torch.randn(3), [3, 4, 5])
    assert calls[0] == 1
    assert len(state_of(f).cache) == 1
    with pytest.raises(ShapeError, match=re.escape("f(): argument 'sizes' is list")):
        f(torch.randn(3), ["a"])  # type: ignore[list-item]
    with pytest.raises(ShapeError, match=re.escape("f(): argument 'x' has 2 dims (2, 2)")):
        f(torch.randn(2, 2), [1])
    assert calls[0] == 3


def test_hints_that_read_values_are_tested_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    Positive = Annotated[Tensor, Is[lambda t: bool((t > 0).all())]]

    @checked
    def f(x: Positive) -> Tensor:
        return x

    calls = count_full_checks(f, monkeypatch)
    f(torch.ones(3))
    with pytest.raises(ShapeError, match=re.escape("f(): argument 'x' is tensor (3,) float32")):
        f(-torch.ones(3))
    f(torch.ones(3))
    assert calls[0] == 2  # the first call, and the rejected one
    with pytest.raises(ShapeError, match="argument 'x'"):
        f(-torch.ones(3))


def test_a_validator_on_an_array_hint_is_never_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    # The validator sees the dims the other arguments bind: no key captures its verdict.
    Positive = Annotated[Float[Tensor, " n"], Is[lambda t: bool((t > 0).all())]]

    @checked
    def f(x: Positive) -> Tensor:
        return x

    calls = count_full_checks(f, monkeypatch)
    f(torch.ones(3))
    f(torch.ones(3))
    assert calls[0] == 2
    assert not state_of(f).cacheable


def test_value_hints_key_by_value_and_type_hints_by_type() -> None:
    @checked
    def f(x: Float[Tensor, " n"], how: Literal["a", "b"], eps: float) -> Float[Tensor, " n"]:
        return x

    x = torch.randn(3)
    f(x, "a", 0.1)
    f(x, "a", 0.2)
    assert len(state_of(f).cache) == 1
    f(x, "b", 0.3)
    assert len(state_of(f).cache) == 2
    with pytest.raises(ShapeError, match="argument 'how'"):
        f(x, "c", 0.1)  # type: ignore[arg-type]
    with pytest.raises(ShapeError, match="argument 'eps'"):
        f(x, "a", 1)


def test_a_non_tensor_where_a_tensor_belongs_is_rejected_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ShapeError, match="argument 'x' is list"):
            matvec(torch.randn(2, 3), [1.0, 2.0, 3.0])  # type: ignore[arg-type]
        with pytest.raises(ShapeError, match="argument 'A' is"):
            matvec(None, torch.randn(3))  # type: ignore[arg-type]


def test_optional_tensors_are_keyed_with_and_without_a_value() -> None:
    @checked
    def f(x: Float[Tensor, " n"], b: Float[Tensor, " n"] | None = None) -> Float[Tensor, " n"]:
        return x if b is None else x + b

    for _ in range(2):
        f(torch.randn(3))
        f(torch.randn(3), torch.randn(3))
        f(torch.randn(3), b=None)
        with pytest.raises(ShapeError, match="argument 'b'"):
            f(torch.randn(3), torch.randn(4))
    assert len(state_of(f).cache) == 2


def test_dims_read_from_attributes_are_part_of_the_signature() -> None:
    class Proj(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n

        @checked
        def forward(self, x: Float[Tensor, "b n={self.n}"]) -> Float[Tensor, "b n={self.n}"]:
            return x * 2

    p, q = Proj(3), Proj(4)
    for _ in range(2):
        assert p(torch.randn(2, 3)).shape == (2, 3)
        assert q(torch.randn(2, 4)).shape == (2, 4)
        with pytest.raises(ShapeError, match="dim 'n' is 4"):
            p(torch.randn(2, 4))
    p.n = 4
    assert p(torch.randn(2, 4)).shape == (2, 4)
    with pytest.raises(ShapeError):
        p(torch.randn(2, 3))
    assert state_of(Proj.forward).cacheable


def test_dims_from_calls_are_not_cached() -> None:
    @checked
    def f(x: Float[Tensor, " n"], k: list[int]) -> Float[Tensor, " {len(k)}"]:
        return x

    assert not state_of(f).cacheable
    f(torch.randn(2), [1, 2])
    with pytest.raises(ShapeError):
        f(torch.randn(2), [1, 2, 3])


def test_calls_that_jaxtyping_skipped_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    import jaxtyping

    @checked
    def f(x: Float[Tensor, " n"], y: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return x

    monkeypatch.setattr(jaxtyping.config, "jaxtyping_disable", True)
    f(torch.zeros(2), torch.zeros(3))  # jaxtyping checks nothing here
    assert len(state_of(f).cache) == 0
    monkeypatch.setattr(jaxtyping.config, "jaxtyping_disable", False)
    with pytest.raises(ShapeError):
        f(torch.zeros(2), torch.zeros(3))


def test_stringified_annotations_that_cannot_be_resolved_are_not_cached() -> None:
    class Local:
        pass

    @checked
    def f(x: "Local") -> "Local":
        return x

    assert not state_of(f).cacheable
    f(Local())
    f(Local())


# --- what the body sees on a hit -------------------------------------------------------


@pytest.mark.parametrize("call", [1, 2, 3], ids=["miss", "hit", "again"])
def test_isinstance_in_the_body_sees_the_bound_dims(call: int) -> None:
    seen: list[bool] = []

    @checked
    def f(x: Float[Tensor, "b n"]) -> Float[Tensor, " z"]:
        seen.append(fits(x.mT, Float[Tensor, "n b"]))
        seen.append(fits(torch.zeros(x.shape[0], 9), Float[Tensor, "b n"]))
        out = torch.zeros(5)
        seen.append(fits(out, Float[Tensor, " z"]))  # binds z
        seen.append(fits(torch.zeros(6), Float[Tensor, " z"]))
        return out

    for _ in range(call):
        seen.clear()
        f(torch.randn(2, 3))
        assert seen == [True, False, True, False]
    assert memo_depth() == 0


def test_dims_bound_in_the_body_do_not_leak_into_the_next_hit() -> None:
    @checked
    def f(x: Float[Tensor, " n"], k: int) -> Float[Tensor, " n"]:
        assert fits(torch.zeros(k), Float[Tensor, " extra"])
        return x

    f(torch.randn(3), 4)
    f(torch.randn(3), 5)  # `extra` was 4 in the call before; each call starts afresh
    entry = state_of(f).cache.last[1]
    assert entry is not None
    assert "extra" not in entry.single


def test_a_nested_beartype_function_sees_the_outer_dims() -> None:
    @beartype
    def inner(y: Float[Tensor, "b n"]) -> None:
        pass

    @checked
    def outer(x: Float[Tensor, "b n"], flip: bool) -> Float[Tensor, "b n"]:
        inner(x.mT if flip else x)
        return x

    x = torch.randn(2, 3)
    for _ in range(2):
        outer(x, False)
        with pytest.raises(BeartypeCallHintViolation):
            outer(x, True)
    assert len(state_of(outer).cache) == 1


def test_a_nested_jaxtyped_function_gets_its_own_dims() -> None:
    @jaxtyped(typechecker=beartype)
    def inner(y: Float[Tensor, "n b"]) -> Float[Tensor, "n b"]:
        return y

    @checked
    def outer(x: Float[Tensor, "b n"]) -> Float[Tensor, "b n"]:
        inner(x)  # its own scope: n, b bound afresh
        assert fits(x, Float[Tensor, "b n"])
        return x

    for _ in range(2):
        outer(torch.randn(2, 3))


def test_print_bindings_in_the_body(capsys: pytest.CaptureFixture[str]) -> None:
    @checked
    def f(x: Float[Tensor, "foo bar"], y: Float[Tensor, "*batch bar"]) -> None:
        print_bindings()  # type: ignore[no-untyped-call]

    outputs = []
    for _ in range(2):
        f(torch.zeros(3, 4), torch.zeros(5, 6, 4))
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert "foo=3\nbar=4\nbatch=torch.Size([5, 6])" in outputs[0]


def test_symbolic_dims_and_argument_dims() -> None:
    @checked
    def shrink(x: Float[Tensor, " dim"]) -> Float[Tensor, " dim-1"]:
        return x[1:]

    @checked
    def repeat(x: Float[Tensor, " dim"], k: int) -> Float[Tensor, " {k}*dim"]:
        return x.repeat(k)

    for _ in range(2):
        assert shrink(torch.zeros(5)).shape == (4,)
        assert repeat(torch.zeros(3), 2).shape == (6,)
        assert repeat(torch.zeros(3), 3).shape == (9,)
    assert len(state_of(repeat).cache) == 2  # `k` appears in a dim: keyed by value


def test_recursion_sees_each_calls_own_dims() -> None:
    @checked
    def countdown(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        if x.shape[0] > 1:
            countdown(x[1:])
        assert fits(x, Float[Tensor, " n"])
        assert not fits(torch.zeros(x.shape[0] + 1), Float[Tensor, " n"])
        return x

    for _ in range(2):
        countdown(torch.zeros(4))
    assert memo_depth() == 0


def test_methods_and_module_forward() -> None:
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(3))

        @checked
        def forward(self, x: Float[Tensor, "*batch 3"]) -> Float[Tensor, "*batch 3"]:
            return x * self.w

    a, b = Scale(), Scale()
    for _ in range(2):
        assert a(torch.randn(2, 3)).shape == (2, 3)
        assert b(torch.randn(5, 2, 3)).shape == (5, 2, 3)
        with pytest.raises(ShapeError, match=r"Scale\.forward\(\): argument 'x'"):
            a(torch.randn(2, 4))
    assert len(state_of(Scale.forward).cache) == 2  # `self` takes no part in the signature


def test_a_none_default_the_hint_leaves_out_is_accepted_when_not_passed() -> None:
    # As under jaxtyped(typechecker=beartype), which checks only what a call passes.
    def scale(
        x: Float[Tensor, " n"],
        alpha: float = None,  # type: ignore[assignment]  # noqa: RUF013
    ) -> Float[Tensor, " n"]:
        return x if alpha is None else x * alpha

    def spread(
        x: Float[Tensor, " n"],
        *more: int,
        alpha: float = None,  # type: ignore[assignment]  # noqa: RUF013
    ) -> Float[Tensor, " n"]:
        return x if alpha is None else x * alpha

    x = torch.ones(3)
    for f in (checked(scale), checked(spread)):
        for _ in range(2):  # the full check, then the cache
            torch.testing.assert_close(f(x), x)
            torch.testing.assert_close(f(x, alpha=2.0), 2 * x)
            with pytest.raises(
                ShapeError, match=re.escape("argument 'alpha' is str, expected float")
            ):
                f(x, alpha="2")  # type: ignore[arg-type]
            with pytest.raises(ShapeError, match=re.escape("argument 'x' has 2 dims (3, 3)")):
                f(torch.ones(3, 3))


def test_keywords_defaults_and_keyword_only_parameters() -> None:
    @checked
    def f(
        a: Float[Tensor, " n"],
        /,
        b: Float[Tensor, " n"],
        scale: float = 2.0,
        *,
        shift: Float[Tensor, " n"] | None = None,
    ) -> Float[Tensor, " n"]:
        out = (a + b) * scale
        return out if shift is None else out + shift

    a, b = torch.ones(3), torch.ones(3)
    for _ in range(2):
        assert float(f(a, b)[0]) == 4.0
        assert float(f(a, b=b)[0]) == 4.0
        assert float(f(a, b, 1.0)[0]) == 2.0
        assert float(f(a, b, scale=1.0, shift=torch.ones(3))[0]) == 3.0
        with pytest.raises(ShapeError, match="argument 'shift'"):
            f(a, b, shift=torch.ones(4))
        with pytest.raises(TypeError, match="positional"):
            f(a=a, b=b)  # type: ignore[call-arg]


def test_varargs_and_varkwargs_use_the_generic_wrapper() -> None:
    @checked
    def f(x: Float[Tensor, " n"], *rest: int, **named: float) -> Float[Tensor, " n"]:
        return x

    for _ in range(2):
        f(torch.zeros(2), 1, 2, a=1.0)
        with pytest.raises(ShapeError, match="argument"):
            f(torch.zeros(2), 1, "two")  # type: ignore[arg-type]
    assert len(state_of(f).cache) == 1


def test_a_body_raising_its_own_exception() -> None:
    @checked
    def f(x: Float[Tensor, " n"], fail: bool) -> Float[Tensor, " n"]:
        if fail:
            raise ValueError("from the body")
        return x

    @checked
    def g(x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return matvec(torch.zeros(2, 2), x)  # a broken contract one level down

    for _ in range(2):
        f(torch.zeros(2), False)
        with pytest.raises(ValueError, match="from the body"):
            f(torch.zeros(2), True)
        with pytest.raises(ShapeError, match=r"^matvec\(\): argument 'x'"):
            g(torch.zeros(3))
        assert memo_depth() == 0


def test_parameters_named_like_the_wrappers_own_names() -> None:
    @checked
    def f(_ss_key: Float[Tensor, " n"], _checking: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
        return _ss_key + _checking

    for _ in range(2):
        assert f(torch.ones(2), torch.ones(2)).shape == (2,)
        with pytest.raises(ShapeError):
            f(torch.ones(2), torch.ones(3))


def test_wrapper_keeps_the_functions_name_doc_and_signature() -> None:
    import inspect

    assert matvec.__name__ == "matvec"
    assert matvec.__wrapped__ is state_of(matvec).fn  # type: ignore[attr-defined]
    assert list(inspect.signature(matvec).parameters) == ["A", "x"]


# --- jaxtyping's decorator semantics, under both decorators ----------------------------


def reference(fn: F) -> F:
    return cast(F, jaxtyped(fn, typechecker=beartype))


DECORATORS = [pytest.param(reference, id="jaxtyped"), pytest.param(checked, id="checked")]
Decorator = Callable[[F], F]


def twice(fn: Callable[[], None]) -> None:
    """Run a scenario twice: for `checked`, the first call of each signature is a miss."""
    fn()
    fn()


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_return(deco: Decorator[Any]) -> None:
    @deco
    def good(x: Float[Tensor, "b c"]) -> Float[Tensor, "c b"]:
        return x.mT

    @deco
    def bad(x: Float[Tensor, "b c"]) -> Float[Tensor, "b c"]:
        return x.mT

    def scenario() -> None:
        good(torch.zeros(3, 4))
        with pytest.raises(TypeCheckError):
            bad(torch.zeros(3, 4))

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_two_args_any_dtype_fixed_anonymous(deco: Decorator[Any]) -> None:
    @deco
    def two(x: Shaped[Tensor, "b c"], y: Shaped[Tensor, "c d"]) -> Shaped[Tensor, "b d"]:
        return x @ y

    @deco
    def same(x: Shaped[Tensor, "a b"]) -> Shaped[Tensor, "a b"]:
        return x

    @deco
    def fixed(x: Float32[Tensor, "4 5 foo"], y: Float32[Tensor, " foo"]) -> Float32[Tensor, "4 5"]:
        return x @ y

    @deco
    def anonymous(x: Float32[Tensor, "foo _"], y: Float32[Tensor, " _"]) -> None:
        pass

    def scenario() -> None:
        two(torch.zeros(3, 4), torch.zeros(4, 5))
        with pytest.raises(TypeCheckError):
            two(torch.zeros(3, 4), torch.zeros(5, 4))
        for dtype in (torch.bool, torch.int8, torch.uint8, torch.complex64, torch.bfloat16):
            same(torch.zeros(2, 3, dtype=dtype))
        with pytest.raises(TypeCheckError):
            same(torch.zeros(1))
        assert fixed(torch.zeros(4, 5, 2), torch.zeros(2)).shape == (4, 5)
        with pytest.raises(TypeCheckError):
            fixed(torch.zeros(3, 5, 2), torch.zeros(2))
        with pytest.raises(TypeCheckError):
            fixed(torch.zeros(4, 5, 2, dtype=torch.float64), torch.zeros(2))
        anonymous(torch.zeros(3, 4), torch.zeros(5))

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_nested(deco: Decorator[Any]) -> None:
    @deco
    def h(x: Float32[Tensor, "c b"], transpose: bool) -> Float32[Tensor, "b c"]:
        out: Tensor = x.mT if transpose else x
        return out

    @deco
    def g(x: Float32[Tensor, "b c"], transpose: bool) -> Float32[Tensor, "c b"]:
        out: Tensor = h(x, transpose)
        return out

    @beartype
    def plain(x: Float32[Tensor, "c b"]) -> Float32[Tensor, "c b"]:
        return x

    @deco
    def uses_plain(x: Float32[Tensor, "b c"]) -> None:
        plain(x)

    def scenario() -> None:
        g(torch.zeros(2, 3), True)
        g(torch.zeros(3, 3), True)
        g(torch.zeros(3, 3), False)
        with pytest.raises(TypeCheckError):
            g(torch.zeros(2, 3), False)
        with pytest.raises(BeartypeCallHintViolation):
            uses_plain(torch.zeros(2, 3))  # `plain` shares the outer scope's b and c

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_variadic_and_broadcast(deco: Decorator[Any]) -> None:
    @deco
    def named(
        x: Float32[Tensor, "*batch foo"], y: Float32[Tensor, " *batch"], z: Float32[Tensor, " foo"]
    ) -> None:
        pass

    @deco
    def anon(x: Float32[Tensor, "... foo"], y: Float32[Tensor, " foo"]) -> None:
        pass

    @deco
    def bfixed(x: Float32[Tensor, " #4"]) -> None:
        pass

    @deco
    def bnamed(x: Float32[Tensor, " #foo"], y: Float32[Tensor, " #foo"]) -> None:
        pass

    @deco
    def bvariadic(x: Float32[Tensor, " *#foo"], y: Float32[Tensor, " *#foo"]) -> None:
        pass

    z = torch.zeros

    def scenario() -> None:
        named(z(5), z(()), z(5))
        named(z(3, 5), z(3), z(5))
        for bad in [(z(5), z(3), z(5)), (z(3, 5), z(()), z(5))]:
            with pytest.raises(TypeCheckError):
                named(*bad)
        for a in (z(5), z(3, 5), z(3, 4, 5)):
            anon(a, z(5))
            with pytest.raises(TypeCheckError):
                anon(a, z(1))
        bfixed(z(4))
        bfixed(z(1))
        with pytest.raises(TypeCheckError):
            bfixed(z(3))
        for pair in [(3, 3), (1, 3), (3, 1), (1, 1)]:
            bnamed(z(pair[0]), z(pair[1]))
        with pytest.raises(TypeCheckError):
            bnamed(z(3), z(4))
        bvariadic(z(4), z(4, 4))
        bvariadic(z(5, 6), z(5, 1))
        bvariadic(z(1, 6), z(5, 6))
        for bad2 in [(z(3), z(4)), (z(5, 6), z(1, 4)), (z(4, 4), z(5, 1))]:
            with pytest.raises(TypeCheckError):
                bvariadic(*bad2)

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_symbolic(deco: Decorator[Any]) -> None:
    @deco
    def make_slice(x: Float32[Tensor, " dim"]) -> Float32[Tensor, " dim-1"]:
        return x[1:]

    @deco
    def cat(x: Float32[Tensor, " dim"]) -> Float32[Tensor, " 2*dim"]:
        return torch.cat([x, x])

    @deco
    def bad_cat(x: Float32[Tensor, " dim"]) -> Float32[Tensor, " 2*dim"]:
        return torch.cat([x, x, x])

    @deco
    def incomplete(x: Float32[Tensor, " 2*dim"]) -> None:
        pass

    def scenario() -> None:
        assert make_slice(torch.zeros(5)).shape == (4,)
        assert cat(torch.zeros(5)).shape == (10,)
        with pytest.raises(TypeCheckError):
            make_slice(torch.zeros(3, 4))
        with pytest.raises(TypeCheckError):
            bad_cat(torch.zeros(5))
        with pytest.raises(AnnotationError):
            incomplete(torch.zeros(4))

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_descriptors(deco: Decorator[Any]) -> None:
    class M(metaclass=abc.ABCMeta):
        @deco
        def f(self, x: Float[Tensor, " n"]) -> Float[Tensor, " n"]:
            return x

        @deco
        @classmethod
        def g1(cls, x: Float[Tensor, " n"]) -> int:
            return 3

        @classmethod
        @deco
        def g2(cls, x: Float[Tensor, " n"]) -> int:
            return 4

        @deco
        @staticmethod
        def h1(x: Float[Tensor, " n"]) -> int:
            return 3

        @staticmethod
        @deco
        def h2(x: Float[Tensor, " n"]) -> int:
            return 4

        @deco
        @abc.abstractmethod
        def i1(self) -> None: ...

        @abc.abstractmethod
        @deco
        def i2(self) -> None: ...

        @deco  # type: ignore[prop-decorator]
        @property
        def j1(self) -> int:
            return 3

        @property
        @deco
        def j2(self) -> int:
            return 4

    class N(M):
        def i1(self) -> None:
            pass

        def i2(self) -> None:
            pass

    assert M.f is M.f
    assert M.i1.__isabstractmethod__
    assert M.i2.__isabstractmethod__
    x = torch.zeros(2)

    def scenario() -> None:
        assert (M.g1(x), M.g2(x), M.h1(x), M.h2(x)) == (3, 4, 3, 4)
        with pytest.raises(TypeCheckError):
            M.g1(torch.zeros(2, 2))
        with pytest.raises(TypeCheckError):
            M.h2(torch.zeros(2, 2))
        n = N()
        assert (n.j1, n.j2) == (3, 4)
        assert n.f(x) is x
        with pytest.raises(TypeCheckError):
            n.f(torch.zeros(2, 2))

    twice(scenario)


class _GlobalFoo:
    pass


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_signatures(deco: Decorator[Any]) -> None:
    @deco
    def varargs(*args: Any) -> None:
        pass

    @deco
    def varkwargs(**kwargs: Any) -> None:
        pass

    @deco
    def defaults(x: int, y: Any = 1) -> None:
        pass

    @deco
    def stringified(x: "_GlobalFoo") -> "_GlobalFoo":
        return x

    @deco
    def bad_return(x: int) -> "_GlobalFoo":
        return x  # type: ignore[return-value]

    @deco
    def bad_param(x: "_GlobalFoo") -> int:
        return 1

    def scenario() -> None:
        varargs(1, 2)
        varkwargs(a=1, b=2)
        defaults(1)
        stringified(_GlobalFoo())
        with pytest.raises(TypeCheckError):
            bad_return(1)
        with pytest.raises(TypeCheckError):
            bad_param(1)

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_generators(deco: Decorator[Any]) -> None:
    @deco
    def gen(a: Float[Tensor, "*"]) -> Iterator[Float[Tensor, "*"]]:
        yield a

    @deco
    def use() -> None:
        next(gen(torch.zeros(2)))
        next(gen(torch.zeros(3, 4)))

    twice(use)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_threads(deco: Decorator[Any]) -> None:
    @deco
    def add(x: Float[Tensor, "a b"], y: Float[Tensor, "a b"]) -> Float[Tensor, "a b"]:
        return x + y

    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(2):
                add(torch.zeros(1, 2), torch.zeros(1, 2))
                with pytest.raises(TypeCheckError):
                    add(torch.zeros(1, 2), torch.zeros(2, 1))
            assert fits(torch.zeros(2), Float[Tensor, "..."])
        except BaseException as e:
            errors.append(e)

    add(torch.zeros(1, 2), torch.zeros(1, 2))  # the other threads may start on a hit
    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_dims_bound_in_the_body_constrain_the_return(deco: Decorator[Any]) -> None:
    @deco
    def f(x: Float[Tensor, " n"], k: int) -> Float[Tensor, " z"]:
        assert fits(torch.zeros(k), Float[Tensor, " z"])
        return torch.zeros(3)

    @deco
    def g(x: Float[Tensor, " n"], k: int, *rest: int) -> Float[Tensor, " z"]:
        assert fits(torch.zeros(k), Float[Tensor, " z"])
        return torch.zeros(3)

    def scenario() -> None:
        for fn in (f, g):
            fn(torch.zeros(2), 3)
            with pytest.raises(TypeCheckError):
                fn(torch.zeros(2), 4)  # same signature, but now z=4 and the return has 3

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_body_dims_read_the_current_arguments(deco: Decorator[Any]) -> None:
    @deco
    def f(x: Float[Tensor, " n"], k: int) -> bool:
        return fits(torch.zeros(3), Float[Tensor, " {k}"])

    def scenario() -> None:
        assert f(torch.zeros(2), 3) is True
        assert f(torch.zeros(2), 4) is False  # k is keyed by type; the body sees k=4

    twice(scenario)


@pytest.mark.parametrize("deco", DECORATORS)
def test_semantics_int_dtypes(deco: Decorator[Any]) -> None:
    @deco
    def f(x: Int[Tensor, " n"]) -> Int[Tensor, " n"]:
        return x

    def scenario() -> None:
        f(torch.zeros(2, dtype=torch.int64))
        f(torch.zeros(2, dtype=torch.int32))
        with pytest.raises(TypeCheckError):
            f(torch.zeros(2))

    twice(scenario)


# --- tracing ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_torch_jit_trace_works_on_the_first_call() -> None:
    @checked
    def mv(A: Float[Tensor, "m n"], x: Float[Tensor, " n"]) -> Float[Tensor, " m"]:
        return A @ x

    A, x = torch.randn(4, 3), torch.randn(3)
    # The first call is a miss: the trace and its sanity check's second run must agree.
    traced = torch.jit.trace(mv, (A, x))  # type: ignore[no-untyped-call]
    torch.testing.assert_close(traced(A, x), A @ x)
    # A new shape in a known structure: an op takes the structure path while traced.
    shapesafe.matvec(torch.randn(2, 3), x)
    A5 = torch.randn(5, 3)
    traced = torch.jit.trace(shapesafe.matvec, (A5, x))  # type: ignore[no-untyped-call]
    torch.testing.assert_close(traced(A5, x), A5 @ x)


@pytest.mark.parametrize(
    "op",
    [shapesafe.split_heads, shapesafe.split_qkv, shapesafe.permute, shapesafe.attention],
    ids=lambda op: op.__name__,
)
def test_an_ops_contract_is_its_checks_and_its_annotations(op: Callable[..., Any]) -> None:
    """The error builders take an op's contract from `contract_of`: the check's own, and
    the same when checks were off at import and the op is the plain function."""
    assert contract_of(op) is state_of(op).contract
    plain = op.__wrapped__  # type: ignore[attr-defined]
    assert contract_of(plain) == contract_of(op)
    assert contract_of(plain) is contract_of(plain)


class _Scaled:
    """A binary dunder: beartype lets it return `NotImplemented` whatever its hint says."""

    @checked
    def __mul__(self, other: Float[Tensor, "*b m n"] | float) -> Float[Tensor, "m n"]:
        if isinstance(other, float):
            return NotImplemented
        return None  # type: ignore[return-value]  # never reached with a matrix: see below


def test_a_binary_dunder_blames_the_argument_it_rejects() -> None:
    # A 0-d tensor fits neither member of the union: the argument is to blame, not the
    # return the body would have made.
    for _ in range(2):
        with pytest.raises(
            ShapeError,
            match=re.escape(
                "_Scaled.__mul__(): argument 'other' is tensor () float32, "
                "expected Float[Tensor, '*b m n'] | float"
            ),
        ):
            _Scaled() * torch.tensor(2.0)


def test_a_binary_dunder_may_return_not_implemented_as_under_beartype() -> None:
    reference = jaxtyped(typechecker=beartype)(_Scaled.__mul__.__wrapped__)  # type: ignore[attr-defined]
    assert reference(_Scaled(), 2.0) is NotImplemented
    for _ in range(3):  # the full check, then hits
        assert _Scaled().__mul__(2.0) is NotImplemented
    with pytest.raises(ShapeError, match=re.escape("the return value is None")):
        _Scaled() * torch.ones(2, 2)
