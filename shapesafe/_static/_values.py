"""The abstract values the checker follows: tensors of symbolic shape (a `Shape`), ints of
symbolic size, Python numbers, tuples and lists of values, layers and module instances,
classes, lambdas, and a value that is one of several. None is a value nothing is known of.
"""

import ast
import dataclasses
from collections.abc import Callable
from typing import cast

from ._source import Module, _number_annotation, dotted_name
from ._unify import Group, Item, Shape, Size, anonymous_group, fresh, from_spec


class Mismatch(Exception):
    """Shapes that torch rejects, or would broadcast silently; the message says which."""


@dataclasses.dataclass(frozen=True)
class IntV:
    """An int whose value is a size: `x.shape[-1]`, `config.n_embd`, a literal."""

    size: Size


@dataclasses.dataclass(frozen=True)
class TupV:
    """A tuple of values: `x.shape`, `x.split(...)`, a `tuple[...]` return, `x.max(dim)`."""

    items: tuple["Value", ...]
    fields: tuple[str, ...] = ()
    mutable: bool = False  # a list: code may append to it before it is unpacked
    uncertain: bool = False  # a count that is an upper bound: `x.chunk(3)` of a symbolic size

    def field(self, attr: str) -> "Value":
        return self.items[self.fields.index(attr)] if attr in self.fields else None


@dataclasses.dataclass(frozen=True)
class DictV:
    """A dict whose keys the code writes as strings: `{"rgb": rgb, "depth": depth}`, then
    `out["acc"] = acc`. It holds the keys that every path to here sets, each with its value;
    reading any other key gives a value not known."""

    items: tuple[tuple[str, "Value"], ...]
    # What every other key holds, where an annotation says: `dict[str, Float[Tensor, "b d"]]`.
    each: "Value" = None

    def get(self, key: str | None) -> "Value":
        return self.each if key is None else dict(self.items).get(key, self.each)

    def set(self, key: str, value: "Value") -> "DictV":
        kept = tuple((k, v) for k, v in self.items if k != key)
        return DictV((*kept, (key, _held(value))), self.each)


def returned_tuple(node: ast.expr, v: "Value", seen: "dict[int, Value]") -> "Value":
    """`return outputs, loss`: the tuple a function gives back, with the dicts it holds, which
    no code of the function changes after this (a dict kept in a tuple is otherwise unknown)."""
    if not (isinstance(node, ast.Tuple) and isinstance(v, TupV) and len(v.items) == len(node.elts)):
        return v
    items = [
        held if isinstance(held := seen.get(id(e)), DictV) else item
        for e, item in zip(node.elts, v.items, strict=True)
    ]
    return dataclasses.replace(v, items=tuple(items))


@dataclasses.dataclass(frozen=True)
class ListV:
    """A list whose items all have one value: `nn.ModuleList([Block(c) for _ in range(n)])`.
    `count` is how many it holds, where a loop that appends one a pass says (`_counted`)."""

    item: "Value"
    count: Size | None = None


@dataclasses.dataclass(frozen=True)
class LayerV:
    """A torch.nn layer with a shape rule: `Linear`, `Embedding`, `LayerNorm`, `Dropout`..."""

    kind: str
    sizes: tuple[Size | None, ...]
    weight: "Value" = None
    bias: "Value" = None


@dataclasses.dataclass(frozen=True)
class SymV:
    """A value that code names but the checker does not model: `config`, `config.n_embd`.
    `changed` are its fields that a method sets after `__init__`, which say nothing."""

    text: str
    changed: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class NumV:
    """A Python number that is not a size: `0.5`, `math.sqrt(d)`, a module's `EPS = 1e-5`."""


@dataclasses.dataclass(frozen=True)
class ObjV:
    """An instance of a class the checker reads: a user's nn.Module, say. Two are equal
    when they are of the same class and were made with the same literal sizes, since the
    checker reads a class, not an instance."""

    cls: object  # a _modules.ClassModel; typed loosely to keep the import graph acyclic
    # False for `self` and annotated parameters: the instance may be of a subclass.
    exact: bool = True
    # The `__init__` parameters it was made with that were given a literal int:
    # `Linear(16, 32)` has in_features 16 and out_features 32.
    given: tuple[tuple[str, int], ...] = ()
    # The `__init__` parameters it was made with that were given a size, in the sizes of the
    # code that made it: `Linear(d_model, d_key)` in a class with those `__init__` params.
    sizes: tuple[tuple[str, Size], ...] = ()


@dataclasses.dataclass(frozen=True)
class ClsV:
    """A class the checker reads, as a value: `attn_cls = Attention if c else GQAttention`.
    Not `exact` when it stands for one of several classes that derive from `cls`."""

    cls: object  # a _modules.ClassModel
    exact: bool = True


@dataclasses.dataclass(frozen=True)
class LibV:
    """A torch function or layer class that has a rule, named, not called: `act = F.relu if
    c else F.gelu`, `linear_cls = MaskedLinear if c else nn.Linear`. A call of it is a call
    of the function, or makes the layer."""

    qual: str  # `torch.nn.functional.relu`, `torch.nn.Linear`


@dataclasses.dataclass(frozen=True)
class FnV:
    """A function of the checked files with a tensor contract, named, not called: `attn_fn =
    complex_attn_linear if c else simple_attn_linear`. A call of it is a call of the function."""

    fn: ast.FunctionDef | ast.AsyncFunctionDef  # compared as the node it is
    module: Module = dataclasses.field(compare=False)


@dataclasses.dataclass(frozen=True, eq=False)
class LamV:
    """A lambda, with the names it could see where it was made."""

    node: ast.Lambda
    env: "dict[str, Value]"


@dataclasses.dataclass(frozen=True)
class AnyOfV:
    """One of several layers, modules, classes or lambdas, picked at run time:
    `norm = LayerNorm if c else RMSNorm`."""

    options: "tuple[Value, ...]"


Value = (
    Shape
    | IntV
    | NumV
    | TupV
    | DictV
    | ListV
    | LayerV
    | ObjV
    | ClsV
    | LibV
    | FnV
    | LamV
    | AnyOfV
    | SymV
    | None
)


# Reading values


def _callable(v: Value) -> bool:
    return isinstance(v, (LayerV, ObjV, ClsV, LibV, FnV, LamV, AnyOfV))


def portable(v: Value) -> bool:
    """Whether a callable value means the same in a caller as in the function that made it:
    a layer that keeps its input's shape, an instance of a class the checker reads (its
    forward has its own contract), a class; not a lambda, whose names are the callee's."""
    if isinstance(v, AnyOfV):
        return all(portable(o) for o in v.options)
    return (isinstance(v, LayerV) and v.kind == "same") or isinstance(v, (ObjV, ClsV, LibV, FnV))


def _informative(shape: Shape) -> bool:
    """Whether a shape says anything a spec could contradict: its rank, or one size."""
    if not any(isinstance(i, Group) for i in shape):
        return True
    return any(
        (isinstance(i, Group) and bool(i.name)) or (isinstance(i, Size) and i.kind != "fresh")
        for i in shape
    )


def _one_of(values: list[Value]) -> Value:
    """One of `values`, known only at run time: their common shape, or all of them as
    options when they are layers, modules, classes or lambdas."""
    if all(v == values[0] for v in values):
        return values[0]
    if all(_callable(v) for v in values):
        options: list[Value] = []
        for v in values:
            for o in v.options if isinstance(v, AnyOfV) else (v,):
                if o not in options:
                    options.append(o)
        return AnyOfV(tuple(options)) if len(options) <= 8 else None
    if all(isinstance(v, _NUMBERS) for v in values):
        return _number_of(values)
    if all(isinstance(v, DictV) for v in values):
        return _shared_keys(cast(list[DictV], values), _one_of)
    rows = _number_rows(values)
    if rows is not None:
        return TupV(tuple(_number_of(list(col)) for col in zip(*rows, strict=True)))
    if all(isinstance(v, (tuple, TupV, ListV)) for v in values):
        return _joined(values)
    shapes: list[Value] = [v for v in values if isinstance(v, tuple)]
    if shapes and all(isinstance(v, (tuple, NumV)) for v in values):
        # A tensor or a Python number (`std = self.std`, a float, on one path; a total
        # that starts at 0.0): where it is a number it broadcasts with anything, so what
        # the code does with it must hold for the tensor's shape.
        return _one_of(shapes)
    return None


_NUMBERS = (IntV, NumV, SymV)


def _number_of(values: list[Value]) -> Value:
    """A number that is one of `values`: an int of a size unknown here where all are ints
    (`0` on one path, `x.size(1)` on the other), otherwise a Python number."""
    if all(v == values[0] for v in values):
        return values[0]
    return IntV(fresh()) if all(isinstance(v, IntV) for v in values) else NumV()


def _number_rows(values: list[Value]) -> list[tuple[Value, ...]] | None:
    """The items of tuples of numbers of one length (`buffer = (0, n)` on one path, a
    `tuple[int, int]` parameter on the other), or None."""
    rows: list[tuple[Value, ...]] = []
    for v in values:
        if not isinstance(v, TupV) or v.mutable or v.fields:
            return None
        if not all(isinstance(i, _NUMBERS) for i in v.items):
            return None
        rows.append(v.items)
    return rows if rows and all(len(r) == len(rows[0]) for r in rows) else None


def _joined(values: list[Value]) -> Value:
    """What a function returns when its `return`s give `values`: a shape, or a tuple of
    shapes, that holds for every one of them; None if none does."""
    if not values or any(v is None for v in values):
        return None
    if all(isinstance(v, ListV) or (isinstance(v, TupV) and v.mutable) for v in values):
        # Lists that a loop grows: `[]`, `[v]`, `[v, v]` are each a list of items all `v`.
        held: list[Value] = []
        for v in values:
            held.extend(v.items if isinstance(v, TupV) else (cast(ListV, v).item,))
        if held and all(i == held[0] for i in held):
            return ListV(held[0])
        # Tensors of one rank whose sizes differ (`x[..., d : d + 2]` for each d): a list of
        # tensors whose differing sizes are unknown.
        item = _joined(held) if held and all(isinstance(i, tuple) for i in held) else None
        return ListV(item) if isinstance(item, tuple) else None
    if all(isinstance(v, DictV) for v in values):
        return _shared_keys(cast(list[DictV], values), _joined)
    if all(portable(v) for v in values):
        # `return nn.ReLU()`, `return TopK(k)`: a helper that makes a module.
        return _one_of(values)
    if all(isinstance(v, tuple) for v in values):
        shapes = cast(list[Shape], values)
        axes = _axis_by_axis(shapes)
        return axes if axes is not None else _common_shape(shapes)
    if all(isinstance(v, TupV) and not v.mutable and not v.fields for v in values):
        tuples = cast(list[TupV], values)
        n = len(tuples[0].items)
        if any(len(t.items) != n for t in tuples):
            return None
        items = tuple(_joined([t.items[k] for t in tuples]) for k in range(n))
        if not any(isinstance(i, tuple) for i in items):
            return None
        return TupV(items, uncertain=any(t.uncertain for t in tuples))
    return None


def _shared_keys(dicts: list[DictV], join: "Callable[[list[Value]], Value]") -> DictV:
    """The dict that each of `dicts` may be: the keys they all hold, each with what `join`
    makes of their values there (unknown where their values do not agree)."""
    keys = [k for k, _ in dicts[0].items if all(k in dict(d.items) for d in dicts[1:])]
    each = join([d.each for d in dicts]) if all(d.each is not None for d in dicts) else None
    return DictV(tuple((k, join([d.get(k) for d in dicts])) for k in keys), each)


def _axis_by_axis(shapes: list[Shape]) -> Shape | None:
    """Shapes of one rank, with the same run where one has a run (`*b ?` and `*b n`): each
    axis where all agree, a size unknown where their sizes differ; None otherwise."""
    first = shapes[0]
    if any(len(s) != len(first) for s in shapes):
        return None
    out: list[Item] = []
    for k, item in enumerate(first):
        if all(s[k] == item or _same_int(s[k], item) for s in shapes):
            out.append(item)  # one size, or one number (a literal 1 and a 1 an op made)
        elif all(isinstance(s[k], Size) for s in shapes):
            out.append(fresh())
        else:
            return None
    return tuple(out)


def _same_int(a: Item, b: Item) -> bool:
    return (
        isinstance(a, Size)
        and isinstance(b, Size)
        and a.kind == b.kind == "int"
        and a.value == b.value
    )


def _common_shape(shapes: list[Shape]) -> Shape | None:
    """What every alternative of a Union shares: the same leading and trailing axes (where
    each has a run, a trailing axis whose sizes differ: a size unknown), with a run of
    unknown length for the axes in between where the alternatives differ."""
    first = shapes[0]
    if all(s == first for s in shapes):
        return first
    shortest = min(len(s) for s in shapes)
    lead = 0
    while lead < shortest and all(s[lead] == first[lead] for s in shapes):
        lead += 1
    runs = all(any(isinstance(i, Group) for i in s) for s in shapes)
    trail = 0
    while trail < shortest - lead and (
        all(s[-1 - trail] == first[-1 - trail] for s in shapes)
        or (runs and all(isinstance(s[-1 - trail], Size) for s in shapes))
    ):
        trail += 1  # the same last axes, or after runs a last axis of sizes that differ
    if lead + trail == 0:
        # `Int[Tensor, "..."] | Float[Tensor, "..."]`: of any shape either way.
        lone = all(len(s) == 1 and s[0] == Group("", s[0].key) for s in shapes)
        return (anonymous_group(),) if lone else None
    tail = [
        first[k - trail] if all(s[k - trail] == first[k - trail] for s in shapes) else fresh()
        for k in range(trail)
    ]
    return (*first[:lead], anonymous_group(), *tail)


def _held(item: Value) -> Value:
    """An item as a list or tuple holds it: a list or dict inside one may be changed through
    the outer one (`rows[0].append(v)`, `for r in rows: r.append(v)`), so it is unknown."""
    if isinstance(item, (ListV, DictV)) or (isinstance(item, TupV) and item.mutable):
        return None
    return item


def _repeated(left: Value, right: Value) -> Value:
    """`[x] * 2`: a list or tuple repeated; a count the checker cannot read gives a list of
    unknown length, when its items all have one value."""
    seq, count = (left, right) if isinstance(left, TupV) else (right, left)
    assert isinstance(seq, TupV)
    if seq.fields:
        return None
    size = count.size if isinstance(count, IntV) else None
    if size is not None and size.kind == "int" and isinstance(size.value, int):
        return TupV(seq.items * max(size.value, 0), mutable=seq.mutable)
    if isinstance(count, (IntV, SymV)) and seq.items and all(i == seq.items[0] for i in seq.items):
        return ListV(seq.items[0])
    return None


def concatenated(left: TupV | ListV, right: TupV | ListV) -> Value:
    """`x.shape[:-1] + (n, d)`, `[a, b] + [c]`: the items of both, in order. Lists where
    one is of a length unknown here (`[a, b] + ([c] if f else [])`): a list of such length
    whose items all have what the items share. A tuple with a list gives None."""
    if isinstance(left, ListV) or isinstance(right, ListV):
        lists = all(isinstance(v, ListV) or v.mutable for v in (left, right))
        return _joined([left, right]) if lists else None
    if left.uncertain or right.uncertain or left.mutable != right.mutable:
        return None
    return TupV(left.items + right.items, mutable=left.mutable)


def _item_of(iterated: Value) -> Value:
    """What a `for` loop over `iterated` binds on each pass: a list's item, what every item
    of a tuple shares, a row of a tensor."""
    if isinstance(iterated, ListV):
        return iterated.item
    if isinstance(iterated, TupV) and iterated.items and not iterated.fields:
        return _one_of(list(iterated.items))
    if isinstance(iterated, tuple) and iterated and isinstance(iterated[0], Size):
        return iterated[1:]
    if isinstance(iterated, tuple) and iterated and isinstance(iterated[0], Group):
        run = iterated[0]  # a row of "*batch 3" is "*batch[1:] 3"
        if run.name and not run.cut and not run.end:
            return (dataclasses.replace(run, cut=1), *iterated[1:])
    return None


def _item_of_comprehension(iterated: Value) -> Value:
    """What a comprehension's one loop binds: as `_item_of`, and for a list or tuple of
    Python numbers that differ (`for i in [a, b, c]`), a number."""
    item = _item_of(iterated)
    if item is None and isinstance(iterated, TupV) and iterated.items and not iterated.fields:
        if all(isinstance(i, (IntV, NumV)) for i in iterated.items):
            return NumV()
    return item


def _unrolled(iterated: Value) -> tuple[Value, ...]:
    """The items of a short literal list or tuple of tensors that a comprehension should
    read one by one, because their shapes differ; () where one binding does as well."""
    if not isinstance(iterated, TupV) or iterated.fields or not 1 < len(iterated.items) <= 8:
        return ()
    items = iterated.items
    if all(i == items[0] for i in items) or not all(isinstance(i, tuple) for i in items):
        return ()
    return items


_TUPLES = frozenset(("tuple", "Tuple", "typing.Tuple"))
_SEQUENCES = frozenset(("list", "List", "typing.List", "Sequence", "typing.Sequence"))
_DICTS = frozenset(("dict", "Dict", "typing.Dict", "Mapping", "typing.Mapping"))


def sequence_of(module: Module, node: ast.expr | None) -> Value:
    """`Tuple[float, float]`, `list[Float[Tensor, "b d"]]`, `tuple[int, ...]`: a tuple or
    list of Python numbers or of tensors of one annotated shape; `dict[str, Float[...]]` a
    dict whose every key holds one; None for any other annotation."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        # `tuple[int, int] | None`: code that reads the items has ruled the None out.
        for side, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(other, ast.Constant) and other.value is None:
                return sequence_of(module, side)
        return None
    optional = ("Optional", "typing.Optional")
    if isinstance(node, ast.Subscript) and dotted_name(node.value) in optional:
        return sequence_of(module, node.slice)
    if not isinstance(node, ast.Subscript):
        return None
    kind = dotted_name(node.value)
    items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if kind in _DICTS and len(items) == 2 and (found := module.annotation(items[1])) is not None:
        return DictV((), from_spec(found.spec))  # `dict[str, Float[Tensor, "b d"]]`
    if kind in _TUPLES and len(items) == 2:
        if isinstance(items[1], ast.Constant) and items[1].value is Ellipsis:
            kind, items = "list", items[:1]
    if kind not in _TUPLES and not (kind in _SEQUENCES and len(items) == 1):
        return None
    held: list[Value] = []
    for item in items:
        found = module.annotation(item)
        if found is not None:
            held.append(from_spec(found.spec))
        elif _number_annotation(item):
            held.append(NumV())
        else:
            return None
    return TupV(tuple(held)) if kind in _TUPLES else ListV(held[0])


def dict_key(node: ast.expr | None) -> str | None:
    """The key a subscript or a dict literal writes: a string constant; None for any other."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def dict_stored(target: ast.Subscript, v: Value, env: "dict[str, Value]") -> bool:
    """`out["rgb"] = rgb` where `out` holds a dict: that key now holds `v`; with a key that
    is not a string constant, the dict is unknown. Through another container (`pair[0]["k"]
    = v`), what the name holds is unknown where it holds a dict. Whether this was either."""
    root = target.value
    while isinstance(root, ast.Subscript):
        root = root.value
    if not isinstance(root, ast.Name) or root.id not in env:
        return False
    held = env[root.id]
    if root is not target.value:
        if isinstance(held, TupV) and any(isinstance(i, DictV) for i in held.items):
            env[root.id] = None
            return True
        return False
    if not isinstance(held, DictV):
        return False
    key = dict_key(target.slice)
    # A dict whose annotation says what every key holds is unknown once code stores into
    # it: the value may not be what the annotation says, and the caller's code may read it.
    env[root.id] = held.set(key, v) if key is not None and held.each is None else None
    return True


def dict_of(keys: "list[ast.expr | None]", values: "list[Value]") -> Value:
    """`{"rgb": rgb, **more}`: a dict of string keys, with those of a dict spread into it;
    None where a key is not a string constant or a spread dict is not known."""
    items: list[tuple[str, Value]] = []
    for key, v in zip(keys, values, strict=True):
        if key is None and isinstance(v, DictV):
            items.extend(v.items)
            continue
        text = dict_key(key)
        if text is None:
            return None
        items.append((text, v))
    out = DictV(())
    for text, v in items:
        out = out.set(text, v)
    return out


def dict_method(d: DictV, attr: str, nodes: list[ast.expr]) -> Value:
    """`d.get("rgb")` of a key every path sets: its value. `d.values()` and `d.items()` of a
    dict whose annotation says what every key holds: a list of those values, or of (key,
    value) pairs. None for any other."""
    if attr == "get" and len(nodes) == 1 and (key := dict_key(nodes[0])) in dict(d.items):
        return d.get(key)
    if d.items or d.each is None or nodes:
        return None
    if attr == "values":
        return ListV(d.each)
    return ListV(TupV((None, d.each))) if attr == "items" else None
