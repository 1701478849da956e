"""The module model: classes the checker reads, their attributes and their methods, and the
lookups of classes and functions by name, remembered per version of a file.

An attribute's shape comes from its annotation (`self.W_U: Float[Tensor, "d_model d_vocab"]`,
in the class body or at its assignment) or else from what `__init__` assigns to it, read
with the torch shape rules. Sizes that `__init__` takes from its arguments are syms of those
arguments (`config.n_embd`). An attribute that another method assigns again is unknown
unless it is annotated, or unless every such assignment keeps the tensor's shape (`changes`,
`FileChecker.steady`).
"""

import ast
import dataclasses
import itertools
from collections.abc import Callable, Collection
from typing import TypeVar, cast

from ._source import (
    Module,
    Signature,
    _decorated,
    dotted_name,
    find_module,
    load_found,
    memo,
    resolve,
    walk,
)

_keys = itertools.count(1)


@dataclasses.dataclass(eq=False)
class ClassModel:
    """One class: its methods, the attributes it declares, and those it rebinds outside init."""

    module: Module
    node: ast.ClassDef
    key: int
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef]
    declared_here: dict[str, ast.expr]  # attribute -> annotation in the class body
    bases: list["ClassModel"]
    attrs: dict[str, object] | None = None  # what __init__ assigns, once the checker ran it
    building: bool = False
    _scanned: tuple[dict[str, ast.expr], set[str]] | None = None
    _hooks: list[str] | None = None
    _refs: dict[str, set[str]] | None = None
    _changes: "dict[str, list[Change]] | None" = None
    # attribute -> whether every method that assigns it again keeps its shape
    # (`FileChecker.steady`); while that is worked out, what is assumed
    steady: dict[str, bool] | None = None

    @property
    def declared(self) -> dict[str, ast.expr]:
        return self._scan()[0]

    @property
    def rebound(self) -> set[str]:
        """Attributes that a method other than __init__ assigns."""
        return self._scan()[1]

    def _scan(self) -> tuple[dict[str, ast.expr], set[str]]:
        if self._scanned is None:
            self._scanned = _scan(self.methods, self.declared_here, self.init_hooks())
        return self._scanned

    @property
    def instance_key(self) -> int:
        """The key of the sizes that this class's code reads from an instance
        (`self.cfg.d_sae`): that of the class whose `__init__` it runs. What a base's
        `__init__` builds and what a subclass's method reads of one instance are one size."""
        found = self.method("__init__")
        return found[0].key if found is not None else self.key

    def init_hooks(self) -> list[str]:
        """The methods that an `__init__` of this class or of a base calls on `self`, as a
        statement, and that no method names but `__init__` and these: each builds `self`, as
        `__init__` does (threestudio's `BaseModule.__init__` calls `self.configure()`; an
        old SAE's `initialize_weights_jumprelu` calls `initialize_weights_basic`)."""
        if self._hooks is None:
            mro = self.mro()
            called = dict.fromkeys(h for cls in mro for h in cls._init_calls())
            hooks = {h for h in called if self.method(h) is not None}
            refs = [(cls, name, attrs) for cls in mro for name, attrs in cls._self_refs().items()]
            while True:
                # A hook may call another as a statement; any other mention may run it later.
                named = set().union(
                    *(
                        attrs if name not in hooks else cls._loose_refs(name)
                        for cls, name, attrs in refs
                    )
                )
                if not hooks & named:
                    break
                hooks -= named
            self._hooks = [h for h in called if h in hooks]
        return self._hooks

    def _init_calls(self) -> list[str]:
        """The methods this class's own `__init__` calls on `self` as a statement."""
        calls: list[str] = []
        init = self.methods.get("__init__")
        for stmt in _statements(init.body) if init is not None else ():
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
                hook = _self_attr(call.func)
                if hook is not None and hook != "__init__":
                    calls.append(hook)
        return calls

    def _self_refs(self) -> dict[str, set[str]]:
        """The attributes of `self` that each of this class's methods other than `__init__`
        names."""
        if self._refs is None:
            self._refs = {
                name: set(filter(None, map(_self_attr, walk(fn))))
                for name, fn in self.methods.items()
                if name != "__init__"
            }
        return self._refs

    def _loose_refs(self, name: str) -> set[str]:
        """The attributes of `self` that the method `name` names other than as a method it
        calls as a statement."""
        fn = self.methods[name]
        called = {
            id(stmt.value.func)
            for stmt in _statements(fn.body)
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
        }
        return {
            attr
            for node in walk(fn)
            if id(node) not in called and (attr := _self_attr(node)) is not None
        }

    def mro(self) -> list["ClassModel"]:
        """This class and its bases, each once."""
        out: dict[int, ClassModel] = {}
        todo: list[ClassModel] = [self]
        while todo:
            here = todo.pop(0)
            if id(here) not in out:
                out[id(here)] = here
                todo.extend(here.bases)
        return list(out.values())

    def method(
        self, name: str
    ) -> "tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef] | None":
        if name in self.methods:
            return self, self.methods[name]
        for base in self.bases:
            found = base.method(name)
            if found is not None:
                return found
        return None

    def annotation(self, attr: str) -> tuple["ClassModel", ast.expr] | None:
        if attr in self.declared:
            return self, self.declared[attr]
        for base in self.bases:
            found = base.annotation(attr)
            if found is not None:
                return found
        return None

    def is_rebound(self, attr: str) -> bool:
        return attr in self.rebound or any(b.is_rebound(attr) for b in self.bases)

    def fields_changed(self, attr: str) -> frozenset[str] | None:
        """The fields of `attr`'s value that other methods set, where setting fields is all
        that they do to it (`self.cfg.device = d`); None otherwise."""
        fields = [c.field for c in self.changes(attr)]
        return None if None in fields else frozenset(f for f in fields if f is not None)

    def changes(self, attr: str) -> "list[Change]":
        """How the methods that make `attr` rebound (`is_rebound`) change it."""
        if self._changes is None:
            self._changes = _changes(self, self.init_hooks())
        out = list(self._changes.get(attr, ()))
        for base in self.bases:
            out += base.changes(attr)
        return out


@dataclasses.dataclass(frozen=True)
class Change:
    """One statement of a method other than `__init__` that changes an attribute of `self`.

    `kind` is "keep" where the change is in place on the tensor the attribute holds, which
    keeps its shape (`self.w.data *= s`, `self.w[i] = v`); "value" where the statement
    assigns it a new value (`self.w.data = self.w.data / n`), whose shape is to be compared;
    "other" for any other change (unpacking, a list changed in place, a registered buffer).
    `field` is the attribute of the held value that the statement sets, if it sets one
    (`self.cfg.device = d` sets `device`; `self.cfg.metadata.name = n` sets `metadata`).
    """

    owner: ClassModel
    fn: ast.FunctionDef | ast.AsyncFunctionDef
    stmt: ast.stmt
    kind: str
    field: str | None = None


def model(module: Module, node: ast.ClassDef) -> ClassModel:
    """The model of a class, built once per parsed file."""
    models = memo(module, "classes")
    key = node.name + f"@{node.lineno}"
    found: ClassModel | None = models.get(key)
    if found is not None:
        return found
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    declared: dict[str, ast.expr] = {}
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods[stmt.name] = stmt
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            declared[stmt.target.id] = stmt.annotation
    built = ClassModel(module, node, next(_keys), methods, declared, [])
    models[key] = built
    for base in node.bases:
        found_base = find_class(module, unsubscripted(base))
        if found_base is not None and found_base is not built:
            built.bases.append(found_base)
    return built


# The methods of a list that change it in place.
LIST_CHANGES = frozenset("append extend insert pop remove clear sort reverse".split())


# The nn.Module methods that set an attribute named by their first argument.
REGISTERS = ("register_buffer", "register_parameter")


def registered(call: ast.Call) -> str | None:
    """The attribute `self.register_buffer("name", v)` (or `register_parameter`) sets."""
    func = call.func
    if not (
        isinstance(func, ast.Attribute)
        and func.attr in REGISTERS
        and isinstance(func.value, ast.Name)
        and func.value.id == "self"
        and call.args
    ):
        return None
    name = call.args[0]
    return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None


def unsubscripted(base: ast.expr) -> ast.expr:
    """A class's base without its type arguments: `SAE[Config]` is the class `SAE`."""
    return base.value if isinstance(base, ast.Subscript) else base


def _scan(
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef],
    here: dict[str, ast.expr],
    hooks: list[str],
) -> tuple[dict[str, ast.expr], set[str]]:
    declared = dict(here)
    rebound: set[str] = set()
    for name, fn in methods.items():
        for sub in _statements(fn.body):
            if isinstance(sub, ast.AnnAssign):
                attr = _self_attr(sub.target)
                if attr is not None:
                    declared.setdefault(attr, sub.annotation)
            if name == "__init__" or name in hooks:
                continue
            for part in walk(sub) if not hasattr(sub, "body") else ():
                rebound.update(_called_changes(part))
            for t in _targets(sub):
                for part in walk(t):
                    attr = _self_attr(part)
                    if attr is not None:
                        rebound.add(attr)
    return declared, rebound


def _called_changes(part: ast.AST) -> list[str]:
    """The attributes of `self` a call changes: a list it changes in place
    (`self.cache.append(v)`), and what it registers (`self.register_buffer("mask", m)`)."""
    if not (isinstance(part, ast.Call) and isinstance(part.func, ast.Attribute)):
        return []
    changed = _self_attr(part.func.value) if part.func.attr in LIST_CHANGES else None
    return [a for a in (changed, registered(part)) if a is not None]


def _targets(sub: ast.stmt) -> list[ast.expr]:
    """What an assignment statement assigns to (none for any other statement)."""
    if isinstance(sub, ast.Assign):
        return list(sub.targets)
    if isinstance(sub, (ast.AugAssign, ast.AnnAssign)):
        return [sub.target]
    return []


def _changes(cls: ClassModel, hooks: list[str]) -> dict[str, list[Change]]:
    """`Change`s of `cls`'s own methods, by attribute: the statements that `_scan` finds."""
    out: dict[str, list[Change]] = {}
    for name, fn in cls.methods.items():
        if name == "__init__" or name in hooks:
            continue
        for sub in _statements(fn.body):
            for part in walk(sub) if not hasattr(sub, "body") else ():
                for changed in _called_changes(part):
                    out.setdefault(changed, []).append(Change(cls, fn, sub, "other"))
            for t in _targets(sub):
                root = _changed_root(t)
                for part in walk(t):
                    attr = _self_attr(part)
                    if attr is not None and (root is None or part is root[0]):
                        kind = "other" if root is None else _change_kind(sub, root[1])
                        steps = root[1] if root is not None else ()
                        field = steps[0] if steps and steps[0] != "[]" else None
                        out.setdefault(attr, []).append(Change(cls, fn, sub, kind, field))
    return out


def _changed_root(target: ast.expr) -> tuple[ast.Attribute, tuple[str, ...]] | None:
    """The `self.x` a target changes, with the steps from it (`.data`, `[]`, `.name`); None
    for a target that unpacks, or that changes no attribute of `self`."""
    steps: list[str] = []
    node = target
    while _self_attr(node) is None:
        if isinstance(node, ast.Subscript):
            steps.append("[]")
            node = node.value
        elif isinstance(node, ast.Attribute):
            steps.append(node.attr)
            node = node.value
        else:
            return None
    assert isinstance(node, ast.Attribute)
    return node, tuple(reversed(steps))


def _change_kind(stmt: ast.stmt, steps: tuple[str, ...]) -> str:
    """The `Change.kind` of a statement that assigns `self.x` followed by `steps`."""
    inner = steps[1:] if steps[:1] == ("data",) else steps
    if inner == ("[]",):
        return "keep"  # `self.w[i] = v`, `self.w.data[i] += v`: the tensor changed in place
    if inner:
        return "other"
    if isinstance(stmt, ast.AugAssign):
        # In place, except `@=`, which a tensor does as `w = w @ v`.
        return "other" if isinstance(stmt.op, ast.MatMult) else "keep"
    return "value"


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Every statement of a function, nested blocks included."""
    out: list[ast.stmt] = []
    todo = list(reversed(body))
    while todo:
        stmt = todo.pop()
        out.append(stmt)
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(stmt, field, None)
            if isinstance(block, list):
                for item in reversed(block):
                    if isinstance(item, ast.stmt):
                        todo.append(item)
                    elif isinstance(item, (ast.ExceptHandler, ast.match_case)):
                        todo.extend(reversed(item.body))
    return out


def _self_attr(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    ):
        return node.attr
    return None


def find_class(module: Module, node: ast.expr, depth: int = 0) -> ClassModel | None:
    """The class that the name or dotted name `node` denotes at `module`'s top level."""
    if depth > 6:
        return None
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    if len(parts) == 1:
        for stmt in module.tree.body:
            if isinstance(stmt, ast.ClassDef) and stmt.name == parts[0]:
                return model(module, stmt)
        origin = module.imports.get(parts[0])
        if origin is None or origin[1] is None:
            return None
        return _class_in(origin[0], origin[1], module, depth)
    origin = module.imports.get(parts[0])
    if origin is None:
        return None
    mod_name = origin[0] if origin[1] is None else _join(origin[0], origin[1])
    for part in parts[1:-1]:
        mod_name = _join(mod_name, part)
    return _class_in(mod_name, parts[-1], module, depth)


def _join(base: str, attr: str) -> str:
    return base + attr if base.endswith(".") else f"{base}.{attr}"


def _class_in(mod_name: str, attr: str, importer: Module, depth: int) -> ClassModel | None:
    if mod_name.split(".")[0] in ("torch", "numpy", "typing", "einops", "jaxtyping"):
        return None
    path = find_module(mod_name, importer)
    target = None if path is None else load_found(path)
    if target is None:
        return None
    return find_class(target, ast.Name(attr, ast.Load()), depth + 1)


_T = TypeVar("_T")


def _resolve(
    module: Module, dotted: str, misses: dict[str, object]
) -> tuple[Module, Signature] | None:
    """`_source.resolve`, remembered (see `_remembered`)."""
    return _remembered(module, "f:", dotted, misses, lambda: resolve(module, dotted))


def _find_class(module: Module, func: ast.expr, misses: dict[str, object]) -> ClassModel | None:
    """`_modules.find_class`, remembered (see `_remembered`)."""
    dotted = dotted_name(func)
    if dotted is None:
        return None
    return _remembered(module, "c:", dotted, misses, lambda: find_class(module, func))


def _remembered(
    module: Module, kind: str, dotted: str, misses: dict[str, object], find: Callable[[], _T]
) -> _T | None:
    """`find()`, remembered per file and name while the file it found is unchanged.

    A name that resolves to nothing is remembered for good when it is not imported from a
    project file, and otherwise for one file's check (`misses`).
    """
    key = kind + dotted
    resolved = memo(module, "resolved")
    hit = resolved.get(key)
    if hit is not None and (hit[0] is None or _current(hit[0])):
        return cast(_T, hit[0])
    if key in misses:
        return None
    result = find()
    if result is not None or _external(module, dotted):
        resolved[key] = (result,)
    else:
        misses[key] = None
    return result


def _current(found: object) -> bool:
    """Whether the file a remembered lookup found is still the version on disk."""
    target = found.module if isinstance(found, ClassModel) else found[0]  # type: ignore[index]
    return load_found(target.path) is target


def _external(module: Module, dotted: str) -> bool:
    """Whether `dotted` is not imported from a file that the checker can read."""
    first = dotted.split(".")[0]
    origin = module.imports.get(first)
    if origin is None:
        return first not in module.functions
    return find_module(origin[0], module) is None


def _a_property(fn: ast.FunctionDef) -> bool:
    """`@property`, or `@functools.cached_property`: read as an attribute, computed by `fn`."""
    return _decorated(fn, "property") or _decorated(fn, "cached_property")


def _getter(
    found: tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef], attr: str
) -> tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """The `@property` getter of `attr`, where `found` is the class's last definition of that
    name (a setter comes after its getter): the class it is in, and the getter."""
    owner = found[0]
    for stmt in owner.node.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == attr and _a_property(stmt):
            return owner, stmt
    return None


def base_names(cls: ClassModel) -> list[str]:
    """The qualified names of a class's bases that are imported (`nn.Linear` is
    `torch.nn.Linear`)."""
    out = []
    for base in cls.node.bases:
        dotted = dotted_name(base)
        if dotted is None:
            continue
        first, _, rest = dotted.partition(".")
        origin = cls.module.imports.get(first)
        if origin is None:
            continue
        head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
        out.append(f"{head}.{rest}" if rest else head)
    return out


def layer_base(cls: ClassModel, layers: Collection[str]) -> str | None:
    """The torch layer among `layers` (`torch.nn.Linear`) that `cls` derives from, where
    every class between them hands its constructor's arguments on unchanged: it has no
    `__init__`, or one of `self, *args, **kwargs` that calls `super().__init__(*args,
    **kwargs)`. Such a class is made as that layer is, with its weights and sizes."""
    for here in cls.mro():
        init = here.methods.get("__init__")
        if init is not None and not hands_on(init):
            return None
        for qual in base_names(here):
            if qual in layers:
                return qual
    return None


def hands_on(init: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether `init` takes `self, *args, **kwargs` (or `self, *args`) and calls
    `super().__init__(*args, **kwargs)` with them as a statement."""
    a = init.args
    if a.vararg is None or a.posonlyargs or len(a.args) != 1 or a.kwonlyargs:
        return False
    kwarg = a.kwarg.arg if a.kwarg is not None else None
    for stmt in init.body:
        call = super_init(stmt)
        if call is not None:
            spread = [x.value for x in call.args if isinstance(x, ast.Starred)]
            splat = [k.value for k in call.keywords if k.arg is None]
            return (
                len(call.args) == len(spread) == 1
                and _id(spread[0]) == a.vararg.arg
                and len(call.keywords) == len(splat) <= 1
                and all(kwarg is not None and _id(k) == kwarg for k in splat)
            )
    return False


def super_init(stmt: ast.stmt) -> ast.Call | None:
    """The call of a statement `super().__init__(...)`."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "__init__"
        and isinstance(call.func.value, ast.Call)
        and _id(call.func.value.func) == "super"
    ):
        return call
    return None


def _id(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def delegated(
    cls: ClassModel, owner: ClassModel, fn: ast.FunctionDef | ast.AsyncFunctionDef
) -> tuple[ClassModel, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The method that `fn` hands its call to, where that is all its body does
    (`def forward(self, *args, **kwargs): return self.generate_ray_samples(*args, **kwargs)`),
    looked up on `cls`; else `fn` itself."""
    a = fn.args
    body = [
        s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    call = body[0].value if len(body) == 1 and isinstance(body[0], ast.Return) else None
    if (
        a.vararg is None
        or a.posonlyargs
        or len(a.args) != 1
        or a.kwonlyargs
        or not isinstance(call, ast.Call)
        or not isinstance(call.func, ast.Attribute)
        or _id(call.func.value) != a.args[0].arg
        or [_id(x.value) if isinstance(x, ast.Starred) else None for x in call.args]
        != [a.vararg.arg]
        or [(k.arg, _id(k.value)) for k in call.keywords]
        != ([(None, a.kwarg.arg)] if a.kwarg is not None else [])
    ):
        return owner, fn
    found = cls.method(call.func.attr)
    return found if found is not None and found[1] is not fn else (owner, fn)


def _module_list(cls: ClassModel, depth: int = 0) -> bool:
    """Whether `cls` is a `torch.nn.ModuleList` that changes none of what it holds."""
    if depth > 8 or any(m in cls.methods for m in ("__init__", "__iter__", "__getitem__")):
        return False
    for base in cls.node.bases:
        dotted = dotted_name(unsubscripted(base))
        if dotted is None:
            continue
        first, _, rest = dotted.partition(".")
        origin = cls.module.imports.get(first)
        if origin is not None:
            head = origin[0] if origin[1] is None else f"{origin[0]}.{origin[1]}"
            qual = ".".join(p for p in (head, rest) if p)
            if qual in ("torch.nn.ModuleList", "torch.nn.modules.container.ModuleList"):
                return True
    return any(_module_list(b, depth + 1) for b in cls.bases)


def _positional(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [p.arg for p in [*fn.args.posonlyargs, *fn.args.args]]


def overridden_otherwise(cls: ClassModel, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether `fn`, an abstract method of `cls`, has an override beside it (in a file of the
    same folder) that takes other positional parameters. A call through `cls` then runs a body
    whose parameters the abstract contract does not describe."""
    if not _decorated(fn, "abstractmethod"):
        return False
    names, wanted = {cls.node.name}, _positional(fn)
    folder = cls.module.path.parent
    files = sorted(folder.glob("*.py"))[:64]
    for _ in range(2):  # subclasses, and their subclasses in files read after them
        for path in files:
            module = load_found(path)
            if module is None:
                continue
            for node in module.tree.body:
                if not isinstance(node, ast.ClassDef):
                    continue
                bases = {
                    (dotted_name(unsubscripted(b)) or "").rsplit(".", 1)[-1] for b in node.bases
                }
                if not bases & names:
                    continue
                names.add(node.name)
                for stmt in node.body:
                    if (
                        isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and stmt.name == fn.name
                        and _positional(stmt) != wanted
                    ):
                        return True
    return False
