"""The mutation operators and the run-time driver of `benchmarks/mutation.py`."""

import ast
import sys
from pathlib import Path

import pytest
import torch
from jaxtyping import Float
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _mutation_ops as ops
import _mutation_run as runner
import mutation

SAMPLE = """
import torch
from jaxtyping import Float
from torch import Tensor

Pair = Float[Tensor, "n d"]


def f(a: Pair, b: Float[Tensor, "m d"], w: Float[Tensor, "d e"]) -> Float[Tensor, "n e"]:
    s = a @ w
    t = torch.cat([s, s], dim=-1)
    u = g(a, b)
    r = a.sum(dim=-1)
    e = torch.einsum("nd,de->ne", a, w)
    x = einops.rearrange(a, "n d -> d n")
    i = a[..., :3]
    j = b[:, 0]
    k = a - a.mean(dim=-1, keepdim=True)
    c = a * r[:, None]
    v = a.view(3, 5)
    z = torch.zeros(4, 2)
    return s
"""


def _edits() -> dict[str, list[str]]:
    tree = ast.parse(SAMPLE)
    func = tree.body[-1]
    assert isinstance(func, ast.FunctionDef)
    found: dict[str, list[str]] = {}
    for edit in ops.edits(func, ops.module_aliases(tree)):
        mutated, before, after = ops.apply(SAMPLE, edit)
        ast.parse(mutated)
        assert mutated.replace(after, before, 1) == SAMPLE
        found.setdefault(edit.kind, []).append(f"{before} => {after}")
    return found


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("matmul", ["a @ w => a @ w.transpose(-1, -2)", "a @ w => w @ a"]),
        ("cat_stack", ["torch.cat([s, s], dim=-1) => torch.cat([s, s], dim=-2)"]),
        ("argument", ["g(a, b) => g(b, a)"]),
        (
            "reduction",
            [
                "a.sum(dim=-1) => a.sum(dim=-2)",
                "a.mean(dim=-1, keepdim=True) => a.mean(dim=-2, keepdim=True)",
            ],
        ),
        (
            "einsum",
            [
                """torch.einsum("nd,de->ne", a, w) => torch.einsum('nd,de->en', a, w)""",
                """einops.rearrange(a, "n d -> d n") => einops.rearrange(a, 'n d -> n d')""",
            ],
        ),
        ("index", ["a[..., :3] => a[..., :2]", "b[:, 0] => b[0, :]"]),
        (
            "broadcast",
            [
                "a.mean(dim=-1, keepdim=True) => a.mean(dim=-1)",
                "a * r[:, None] => a * r",
            ],
        ),
        ("reshape", ["a.view(3, 5) => a.view(5, 3)", "torch.zeros(4, 2) => torch.zeros(2, 4)"]),
    ],
)
def test_each_operator_makes_its_bug(kind: str, expected: list[str]) -> None:
    assert _edits()[kind] == expected


def test_every_kind_has_an_operator_and_a_title() -> None:
    assert set(_edits()) == set(ops.KINDS) == set(ops.KIND_TITLES)


def test_dims_come_from_annotations_and_aliases() -> None:
    tree = ast.parse(SAMPLE)
    func = tree.body[-1]
    assert isinstance(func, ast.FunctionDef)
    aliases = ops.module_aliases(tree)
    assert aliases == {"Pair": "n d"}
    dims = [ops.jaxtyping_dims(a.annotation, aliases) for a in func.args.args]
    assert dims == ["n d", "m d", "d e"]
    assert ops.jaxtyping_dims(func.returns, aliases) == "n e"


def test_sizes_are_distinct_primes_shared_by_name() -> None:
    sizes = runner.Sizes()
    assert sizes.shape("*b n 3 #m") == (5, 7, 3, 11)
    assert sizes.shape("n m+n _") == (7, 11 + 7, 13)
    assert runner.Sizes(scale=2).shape("n d") == (10, 14)


def _matvec(m: Float[Tensor, "rows cols"], v: Float[Tensor, " cols"]) -> Float[Tensor, " rows"]:
    return m @ v


def test_arguments_fit_the_annotations_and_the_call_runs_checked() -> None:
    kwargs, sizes = runner.build_arguments(_matvec, seed=0, method=False, scale=1)
    assert kwargs["m"].shape == (5, 7)
    assert kwargs["v"].shape == (7,)
    assert sizes.named == {"rows": 5, "cols": 7}
    torch.testing.assert_close(_matvec(**kwargs), kwargs["m"] @ kwargs["v"])


def test_a_constructor_of_one_name_is_left_alone() -> None:
    tree = ast.parse(
        "def f(x: Float[Tensor, 'n']) -> Float[Tensor, 'n']:\n    return torch.ones(shape)\n"
    )
    func = tree.body[0]
    assert isinstance(func, ast.FunctionDef)
    assert ops.edits(func, {}) == []


def _edits_of(body: str) -> list[str]:
    source = f"def f(x: Float[Tensor, 'b n c'], y: Float[Tensor, 'b n c']) -> Float[Tensor, 'b c']:\n{body}"
    tree = ast.parse(source)
    func = tree.body[0]
    assert isinstance(func, ast.FunctionDef)
    return [ops.apply(source, edit)[2] for edit in ops.edits(func, {})]


def test_two_names_of_one_einops_group_are_never_swapped() -> None:
    # `(b n)` and `(n b)` have the same size: the swap is no shape bug, the next pair is.
    mutants = _edits_of("    return einops.rearrange(x, 'b n c -> (b n) c')\n")
    assert mutants == ["einops.rearrange(x, 'b n c -> (c n) b')"]


def test_operands_of_an_elementwise_op_are_never_swapped() -> None:
    # `torch.mul(y, x)` has the shape of `torch.mul(x, y)`; a call of user code is swapped.
    assert _edits_of("    return torch.mul(x, y)\n") == []
    assert _edits_of("    return g(x, y)\n") == ["g(y, x)"]


def _mutant(line: int, before: str, after: str) -> mutation.Mutant:
    end = line + before.count("\n")
    return mutation.Mutant("lib", "f.py", "f", line, "index", "", before, after, "", end_line=end)


def test_a_finding_the_original_had_is_not_new_even_with_a_new_text() -> None:
    mutant = _mutant(10, "x[:, 0]", "x[0, :]")
    found = mutation.new_findings(["43: a is n"], ["43: a is m", "50: b"], mutant)
    assert found == ["50: b"]


def test_lines_below_a_shortened_expression_move_up() -> None:
    mutant = _mutant(10, "f(\n  a,\n  b)", "f(b, a)")
    assert mutant.end_line == 12
    assert mutation.new_findings(["20: old"], ["18: old", "10: new"], mutant) == ["10: new"]


def test_a_missing_module_is_a_stand_in_with_stub_missing() -> None:
    finder = runner.StubFinder()
    sys.meta_path.append(finder)
    try:
        import not_installed_plotting_lib as plots  # type: ignore[import-not-found]
        from not_installed_plotting_lib.sub import Figure  # type: ignore[import-not-found]

        def plus_one(x: int) -> int:
            return x + 1

        kept = plots.cache(plus_one)
        mine = type("Mine", (Figure,), {})  # a stand-in class can be subclassed

        assert kept(1) == 2  # a decorator from a stand-in gives the function back
        assert list(mine()) == [] and plots.__version__ == "0"
        # torch and what checks it are never stood in for.
        assert finder.find_spec("torch.not_a_module") is None
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.startswith("not_installed_plotting_lib")]:
            del sys.modules[name]


_WRAPPER = """
import jaxtyping
from torch import Tensor


class TorchTyping:
    def __init__(self, abstract_dtype):
        self.abstract_dtype = abstract_dtype

    def __getitem__(self, shapes: str):
        return self.abstract_dtype[Tensor, shapes]


Float = TorchTyping(jaxtyping.Float)
"""

_WRAPPED = """
from pkg.tensor_typing import Float


class Scale:
    def __getitem__(self, key: str) -> str:
        return key


Other = Scale()


def f(x: Float["b d"], w: Float["d e"]) -> Float["b e"]:
    return x @ w


def g(x: Other["b d"]) -> Other["b d"]:
    return x * 2
"""


def test_a_projects_wrapper_of_jaxtyping_dtypes_is_read(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tensor_typing.py").write_text(_WRAPPER)
    (tmp_path / "pkg" / "model.py").write_text(_WRAPPED)
    library = mutation.Library("pkg", tmp_path, "")
    mutation.discover(library)
    assert [f.qualname for f in library.functions] == ["f"]
    assert library.functions[0].mutable
    assert {m.kind for m in library.candidates} == {"matmul"}
    tree = ast.parse(_WRAPPED)
    aliases = ops.module_aliases(tree, frozenset({"Float"}))
    func = tree.body[-2]
    assert isinstance(func, ast.FunctionDef)
    assert [ops.jaxtyping_dims(a.annotation, aliases) for a in func.args.args] == ["b d", "d e"]
    assert ops.jaxtyping_dims(func.returns, aliases) == "b e"


def test_an_installed_package_importing_a_missing_module_gets_no_stand_in(
    tmp_path: Path,
) -> None:
    # scipy's `try: import cython except ImportError` must see the ImportError it expects;
    # a stand-in would break scipy itself, and with it the library measured.
    installed = tmp_path / "site-packages"
    installed.mkdir()
    (installed / "optional_user_pkg.py").write_text(
        "try:\n"
        "    import not_installed_optional_dep\n"
        "    FOUND = True\n"
        "except ImportError:\n"
        "    FOUND = False\n"
    )
    finder = runner.StubFinder()
    sys.meta_path.append(finder)
    sys.path.insert(0, str(installed))
    try:
        import optional_user_pkg  # type: ignore[import-not-found]

        assert optional_user_pkg.FOUND is False
        assert "not_installed_optional_dep" not in sys.modules
    finally:
        sys.path.remove(str(installed))
        sys.meta_path.remove(finder)
        sys.modules.pop("optional_user_pkg", None)
