"""The package's imports flow one way: a module imports its own floor and the floors below, never above.

The floors, lowest first: plain checks, arrays and files; layers; models; sampling; codec and export
(beside each other, neither importing the other); the zoo; training; the command line. Imports are
read with `ast`, at module level and inside functions alike: an import deferred into a function is
still a dependency, so a higher floor may be imported there only where EXEMPT says so.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "pixelrnn_keras"

# Lowest first; a module's floor is that of its first name under the package (a subpackage or a module).
FLOORS = [
    {"checks", "data", "files", "images", "startup"},
    {"layers"},
    {"models"},
    {"sampling"},
    {"codec", "export"},
    {"zoo"},
    {"callbacks", "evaluation", "summaries", "training"},
    {"cli", "export_command"},
]
APART = [{"codec", "export"}]  # one floor, but independent of each other
# The package's own __init__ runs before any of its modules: it imports no higher than the models it re-exports.
ROOT_FLOOR = 2
# (module, function, imported module): the upward imports inside functions that are allowed. The models'
# `sample` and `complete` are the public face of the samplers, which are built on the models.
EXEMPT = {
    ("pixelrnn_keras.models.pixel_rnn", "PixelRNN.sample", "pixelrnn_keras.sampling"),
    ("pixelrnn_keras.models.pixel_rnn", "PixelRNN.complete", "pixelrnn_keras.sampling"),
    ("pixelrnn_keras.models.multi_scale", "MultiScalePixelRNN.sample", "pixelrnn_keras.sampling.two_stage"),
    ("pixelrnn_keras.models.multi_scale", "MultiScalePixelRNN.complete", "pixelrnn_keras.sampling.two_stage"),
}


def module_names():
    """{dotted name: path} of every module of the package."""
    names = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


MODULES = module_names()


def imports(name, source):
    """[(line, enclosing function or None, imported module)] of the package's modules that `source` imports."""
    found = []
    package = name if MODULES.get(name, Path()).name == "__init__.py" else name.rpartition(".")[0]

    def visit(node, scope, in_function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                is_function = not isinstance(child, ast.ClassDef)
                visit(child, [*scope, child.name], in_function or is_function)
                continue
            where = ".".join(scope) if in_function else None
            if isinstance(child, ast.Import):
                found.extend((child.lineno, where, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in child.names:  # `from a import b` imports the module a.b where there is one
                    module = f"{base}.{alias.name}"
                    found.append((child.lineno, where, module if module in MODULES else base))
            visit(child, scope, in_function)

    visit(ast.parse(source), [], False)
    return [entry for entry in found if entry[2] == PACKAGE or entry[2].startswith(PACKAGE + ".")]


def place(name):
    """(floor index, first name under the package) of a module of the package."""
    if name == PACKAGE:
        return ROOT_FLOOR, None
    part = name.split(".")[1]
    floors = [k for k, floor in enumerate(FLOORS) if part in floor]
    assert floors, f"{name} is on no floor: add {part!r} to FLOORS in {__file__}"
    return floors[0], part


def violations(name, source):
    """Lines about each import in `source` (the module `name`) that goes up a floor or across APART."""
    floor, part = place(name)
    found = []
    for line, function, target in imports(name, source):
        target_floor, target_part = place(target)
        if target_part == part:
            continue
        across = target_floor == floor and any({part, target_part} <= apart for apart in APART)
        upward = target_floor > floor and (name, function, target) not in EXEMPT
        if across or upward:
            where = f"in {function}() " if function else ""
            found.append(f"{name}:{line} {where}imports {target} ({'across' if across else 'up'} a floor)")
    return found


def test_no_module_imports_a_higher_floor():
    found = [v for name, path in MODULES.items() for v in violations(name, path.read_text())]
    assert not found, "\n".join(found)


def test_every_floor_name_is_a_module_and_every_exemption_is_used():
    parts = {name.split(".")[1] for name in MODULES if name != PACKAGE}
    assert set().union(*FLOORS) == parts
    used = {
        (name, function, target)
        for name, path in MODULES.items()
        for _, function, target in imports(name, path.read_text())
    }
    assert EXEMPT <= used


def test_the_check_sees_upward_and_sideways_imports():
    source = (
        "from pixelrnn_keras.zoo import load\n"
        "def f():\n    from pixelrnn_keras import training\n"
        "from .. import codec\n"
        "import pixelrnn_keras.cli\n"
    )
    assert [v.split(" imports ")[1] for v in violations("pixelrnn_keras.export.adapters", source)] == [
        "pixelrnn_keras.zoo (up a floor)",
        "pixelrnn_keras.training (up a floor)",
        "pixelrnn_keras.codec (across a floor)",
        "pixelrnn_keras.cli (up a floor)",
    ]
    assert violations("pixelrnn_keras.sampling.api", "def f():\n    from pixelrnn_keras import zoo\n")
    assert not violations("pixelrnn_keras.zoo.source", "from pixelrnn_keras.export import to_onnx\n")


def test_every_module_imports_on_its_own():
    """Each module imported first, with the package's modules dropped in between, in a fresh process.

    One process for all (TensorFlow loads once): with the package's modules dropped, each import runs
    them all again from the one named, so a cycle among them fails here as `python -c "import NAME"` would.
    """
    script = (
        "import importlib, json, sys, traceback\n"
        "failed = {}\n"
        "for name in json.loads(sys.argv[1]):\n"
        "    for loaded in [m for m in sys.modules if m == 'pixelrnn_keras' or m.startswith('pixelrnn_keras.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        failed[name] = traceback.format_exc(limit=-3)\n"
        "print(json.dumps(failed))\n"
    )
    names = sorted(name for name in MODULES if not name.endswith(".__main__"))  # those run a command
    result = subprocess.run([sys.executable, "-c", script, json.dumps(names)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    failed = json.loads(result.stdout.splitlines()[-1])
    assert not failed, "\n".join(f"{name}:\n{error}" for name, error in failed.items())
