"""The static checker on dicts whose keys the code writes as strings: a dict literal, keys
set by `out["k"] = v`, and a dict that a function or method builds and returns. A key that
every path sets keeps its value's shape; a key set on some paths, a key that is not a string
constant, or a dict that code the reading does not follow may change, is unknown."""

from pathlib import Path

import pytest

from shapesafe._static._report import Stats
from tests.helpers import annotated_relations
from tests.test_static_attributes import check

RENDERER = """\
from typing import Dict


class Renderer(nn.Module):
    def get_outputs(self, x: Float[Tensor, "n 3"]) -> Dict[str, Tensor]:
        rgb = x * 2
        depth = x[..., :1]
        outputs = {{"rgb": rgb, "depth": depth}}
        outputs["accumulation"] = depth.sum(-1, keepdim=True)
        return outputs

    def use(self, x: Float[Tensor, "n 3"]) -> Float[Tensor, "n 1"]:
        outputs = self.get_outputs(x)
        return outputs[{key}]
"""


def test_a_returned_dict_keeps_each_keys_shape(tmp_path: Path) -> None:
    stats = Stats()
    found = check(tmp_path, RENDERER.format(key='"rgb"'), stats)
    assert found == [
        '14: return of use(): dim \'1\' is 3 in outputs["rgb"] "n 3", expected 1 ("n 1")'
    ]
    assert annotated_relations(stats) == (2, 2)


@pytest.mark.parametrize("key", ['"depth"', '"accumulation"'])
def test_the_right_key_is_silent(tmp_path: Path, key: str) -> None:
    stats = Stats()
    assert check(tmp_path, RENDERER.format(key=key), stats) == []
    assert annotated_relations(stats) == (2, 2)


def test_a_key_the_dict_does_not_hold_is_unknown(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, RENDERER.format(key='"normals"'), stats) == []
    assert annotated_relations(stats) == (1, 2)


LOCAL = """\
def f(x: Float[Tensor, "n 3"], flag: bool) -> Float[Tensor, "n 1"]:
    out = {{"rgb": x}}
{body}
    return out["rgb"]
"""


def test_a_local_dict_literal_is_read(tmp_path: Path) -> None:
    found = check(tmp_path, LOCAL.format(body="    pass"))
    assert found == ['4: return of f(): dim \'1\' is 3 in out["rgb"] "n 3", expected 1 ("n 1")']


def test_a_key_set_again_holds_its_new_value(tmp_path: Path) -> None:
    assert check(tmp_path, LOCAL.format(body='    out["rgb"] = x[:, :1]')) == []


def test_a_key_set_on_one_path_is_what_both_paths_share(tmp_path: Path) -> None:
    # "n 3" on one path and "n 1" on the other: "n ?", as a tensor bound on two paths.
    body = '    if flag:\n        out["rgb"] = x[:, :1]'
    assert check(tmp_path, LOCAL.format(body=body)) == []
    body = '    if flag:\n        out["rgb"] = x[:1]'  # "1 3" or "n 3": the last dim is 3
    found = check(tmp_path, LOCAL.format(body=body))
    assert len(found) == 1 and "return of f(): dim '1' is 3" in found[0]


@pytest.mark.parametrize(
    "body",
    [
        # A key the reading cannot name may be "rgb".
        '    k = "r" + "gb"\n    out[k] = x[:, :1]',
        # Code that the reading does not follow changes the dict.
        "    fill(out)",
        '    out.update({"rgb": x[:, :1]})',
        '    other = out\n    other["rgb"] = x[:, :1]',
        '    pair = [out]\n    pair[0]["rgb"] = x[:, :1]',
    ],
)
def test_a_dict_that_may_have_changed_is_unknown(tmp_path: Path, body: str) -> None:
    source = "def fill(d: dict) -> None:\n    d['rgb'] = d['rgb'][:, :1]\n\n\n" + LOCAL
    stats = Stats()
    assert check(tmp_path, source.format(body=body), stats) == []
    assert annotated_relations(stats) == (0, 1)


BRANCHES = """\
def make(x: Float[Tensor, "n 3"], flag: bool) -> dict:
    if flag:
        return {{"a": x, "b": x}}
    return {{"a": x, "b": {other}}}


def g(x: Float[Tensor, "n 3"], flag: bool) -> Float[Tensor, "n 3"]:
    d = make(x, flag)
    return d["b"]
"""


def test_return_paths_that_agree_on_a_keys_shape_give_it(tmp_path: Path) -> None:
    stats = Stats()
    assert check(tmp_path, BRANCHES.format(other="x + 1"), stats) == []
    assert annotated_relations(stats) == (2, 2)  # the argument of make() and the return
    wrong = BRANCHES.format(other="x + 1").replace('"n 3"]:\n    d =', '"n 1"]:\n    d =')
    found = check(tmp_path, wrong)
    assert found == ['9: return of g(): dim \'1\' is 3 in d["b"] "n 3", expected 1 ("n 1")']


def test_return_paths_that_disagree_on_a_keys_shape_give_what_they_share(
    tmp_path: Path,
) -> None:
    # "n 3" on one path, "n" on the other: the dims after n are not known, so "n 1" may hold.
    wrong = BRANCHES.format(other="x.sum(-1)").replace('"n 3"]:\n    d =', '"n 1"]:\n    d =')
    assert check(tmp_path, wrong) == []


def test_a_dict_returned_in_a_tuple_is_read(tmp_path: Path) -> None:
    source = """\
def make(x: Float[Tensor, "n 3"]) -> tuple:
    out = {"rgb": x}
    return out, x.sum()


def g(x: Float[Tensor, "n 3"]) -> Float[Tensor, "n 1"]:
    out, _ = make(x)
    return out["rgb"]
"""
    found = check(tmp_path, source)
    assert found == ['8: return of g(): dim \'1\' is 3 in out["rgb"] "n 3", expected 1 ("n 1")']


ANNOTATED = """\
def f(acts: dict[str, Float[Tensor, "b s c"]], norms: Dict[str, Float[Tensor, " c"]], k: str) -> Float[Tensor, "{shape}"]:
{body}
    return acts[k] * norms["any"]
"""


def test_a_dict_annotated_with_one_shape_gives_it_for_every_key(tmp_path: Path) -> None:
    source = "from typing import Dict\n\n\n" + ANNOTATED
    stats = Stats()
    assert check(tmp_path, source.format(shape="b s c", body="    pass"), stats) == []
    assert annotated_relations(stats) == (1, 1)
    found = check(tmp_path, source.format(shape="b c", body="    pass"))
    assert len(found) == 1 and "has 3 dims, expected 2 for 'return' \"b c\"" in found[0]


def test_an_annotated_dict_stored_into_is_unknown(tmp_path: Path) -> None:
    # The value stored may not be what the annotation says: the dict is unknown afterwards,
    # and a store is not a copy into a tensor, so it is no finding either.
    source = "from typing import Dict\n\n\n" + ANNOTATED
    body = "    for key in acts:\n        acts[key] = acts[key][:2, :, None]"
    stats = Stats()
    assert check(tmp_path, source.format(shape="b c", body=body), stats) == []
    assert annotated_relations(stats) == (0, 1)


LOOPS = """\
def f(ci: dict[str, Float[Tensor, "b s c"]]) -> Float[Tensor, "b c"]:
    for {loop}:
        return acts{op}
    raise ValueError("empty")
"""


@pytest.mark.parametrize("loop", ["name, acts in ci.items()", "acts in ci.values()"])
def test_the_values_of_an_annotated_dict_have_its_shape(tmp_path: Path, loop: str) -> None:
    assert check(tmp_path, LOOPS.format(loop=loop, op=".sum(1)")) == []
    found = check(tmp_path, LOOPS.format(loop=loop, op=""))
    assert len(found) == 1 and "has 3 dims, expected 2 for 'return' \"b c\"" in found[0]


def test_get_of_a_key_every_path_sets_is_its_value(tmp_path: Path) -> None:
    found = check(
        tmp_path, LOCAL.format(body="    pass").replace('out["rgb"]\n', 'out.get("rgb")\n')
    )
    assert found == ['4: return of f(): dim \'1\' is 3 in out.get("rgb") "n 3", expected 1 ("n 1")']
