"""The shape of the code that issue 39 asks for, checked so it stays: no import cycle, a short fit, and nothing
below the estimators that takes an estimator."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1] / "skjacnet"


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for f in ROOT.rglob("*.py"):
        name = ".".join(f.relative_to(ROOT.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = f
    return mods


def _imports(name: str, path: pathlib.Path, mods: dict) -> set[str]:
    """The package's modules that ``name`` imports, function-local imports included, TYPE_CHECKING ones not."""
    tree = ast.parse(path.read_text())
    skipped = {
        id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for n in ast.walk(block)
    }  # fmt: skip
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
            found.update(subs or ([target] if target in mods else []))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in mods)
    found.discard(name)
    return found


def test_no_import_cycle():
    mods = _modules()
    graph = {name: _imports(name, path, mods) for name, path in mods.items()}
    for start in graph:  # a cycle through start: start reachable from one of its imports
        seen, todo = set(), list(graph[start])
        while todo:
            node = todo.pop()
            if node == start:
                raise AssertionError(f"{start} is part of an import cycle")
            if node not in seen:
                seen.add(node)
                todo.extend(graph.get(node, ()))


def _functions(path: pathlib.Path):
    return [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_fit_reads_top_to_bottom():
    (fit,) = [f for f in _functions(ROOT / "_base.py") if f.name == "_fit"]
    assert fit.end_lineno - fit.lineno + 1 <= 40


def test_nothing_below_the_estimators_takes_an_estimator():
    below = [*(ROOT / "constraints").glob("*.py"), *(ROOT / "integrate").glob("*.py")]
    takers = [
        f"{path.relative_to(ROOT)}:{fn.name}"
        for path in below
        for fn in _functions(path)
        if any(arg.arg in ("est", "estimator") for arg in fn.args.args + fn.args.kwonlyargs)
    ]
    assert not takers


def test_small_modules_and_functions():
    """No module over 450 lines, no function over 60 (the estimators' __init__, a list of parameters, aside)."""
    too_long = []
    for path in ROOT.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        if lines > 450:
            too_long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
        too_long += [
            f"{path.relative_to(ROOT)}:{fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"
            for fn in _functions(path)
            if fn.name != "__init__" and fn.end_lineno - fn.lineno + 1 > 60
        ]
    assert not too_long


def _compared_strings(path: pathlib.Path) -> set[str]:
    """String constants compared with == / != / in (a tuple or set of them) in a module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops
        ):
            for side in (node.left, *node.comparators):
                elts = side.elts if isinstance(side, (ast.Tuple, ast.Set, ast.List)) else [side]
                found.update(e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return found


def test_structure_and_method_names_are_compared_only_where_they_are_defined():
    """A structure's name is compared only in constraints/, an integration method's only in integrate/; nothing
    asks which integrator class a network holds (isinstance) outside integrate/."""
    from skjacnet.constraints import NAMES
    from skjacnet.integrate import METHODS

    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        compared = _compared_strings(path)
        if rel.parts[0] != "constraints":
            offenders += [f"{rel}: structure {n!r}" for n in compared & (NAMES - {"auto"})]
        if rel.parts[0] != "integrate":
            offenders += [f"{rel}: method {m!r}" for m in compared & METHODS]
            text = path.read_text()
            offenders += [f"{rel}: isinstance {c}" for c in ("MeshQuadrature", "GaussKronrod", "ClosedForm", "ODE)")
                          if f", {c}" in text and "isinstance(" in text]  # fmt: skip
    assert not offenders
