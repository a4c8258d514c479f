"""The structure described in docs/architecture.rst, checked against the code.

- imports go down the layers (a module imports only modules of lower layers,
  or modules of its own subpackage);
- no module imports another module's private names (``from x import _name``);
- no source module over ~500 lines, no function over ~80 lines (the command
  line's parser builder excepted).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sklearn_lravae"

# Lower layers first; the architecture page shows the same table.
LAYERS = [
    ["_version", "_utils"],
    ["reference", "_likelihood", "_network", "_loss", "_loader"],
    ["_net"],
    ["_transformer", "_transformer_params", "_transformer_training", "_feature_extractor"],
    ["_allowlist"],
    ["metrics", "_persistence", "datasets"],
    ["chem"],
    ["search"],
    ["_demo", "_cli", "_cli_commands", "_cli_io", "__main__", "__init__"],
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
MAX_MODULE_LINES = 550
MAX_FUNCTION_LINES = 80
LONG_FUNCTIONS_ALLOWED = {("_cli.py", "build_parser")}


def _modules():
    return sorted(p for p in ROOT.rglob("*.py") if "tests" not in p.relative_to(ROOT).parts)


def _top(path):
    """The layer key of a module file: its subpackage, or its own name at the top level."""
    rel = path.relative_to(ROOT).parts
    return rel[0] if len(rel) > 1 else Path(rel[0]).stem


def _imports(path):
    """(top-level target, imported names) of the package-internal imports of a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).parts
    package = list(rel[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.startswith("sklearn_lravae"):
                target = node.module.split(".")[1:]
            else:
                continue
            names = [a.name for a in node.names]
            if not target:  # from . import chem, search (package __init__)
                yield from ((n, [n]) for n in names)
            else:
                yield target[0], names, target


def test_imports_go_down_the_layers():
    wrong = []
    for path in _modules():
        me = _top(path)
        for item in _imports(path):
            target = item[0]
            if target == me or target not in LAYER:
                continue
            if LAYER[target] > LAYER[me]:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert not wrong, "imports that go up the layers:\n" + "\n".join(wrong)


def test_no_private_names_cross_modules():
    wrong = []
    for path in _modules():
        for item in _imports(path):
            names = item[1]
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            if private:
                wrong.append(f"{path.relative_to(ROOT)} imports {private}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if (path.name, node.name) in LONG_FUNCTIONS_ALLOWED:
                continue
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
            ):
                body = body[1:]  # the docstring does not count
            if body:
                n = body[-1].end_lineno - body[0].lineno + 1
                assert n <= MAX_FUNCTION_LINES, f"{node.name} has {n} lines"


def test_every_module_has_a_layer():
    missing = {_top(p) for p in _modules()} - set(LAYER)
    assert not missing
