"""The layer rule: each layer imports only the layers it builds on, and the device-side layers
never import TensorFlow, Keras or kimm (checked statically and by importing every module in a
process that refuses them)."""

import ast
import json
import os
import pkgutil
import subprocess
import sys

import pytest
from helpers import CLEAN_ENV, HEAVY_MODULES, REFUSE_HEAVY, REPO, TINY_FLOAT, TINY_INT8, edgefer_without_tensorflow

import edgefer

LIGHT_LAYERS = ("core", "data", "device", "evaluation")
BUILDS_ON = {
    "core": set(),
    "device": {"core"},
    "data": {"core", "device"},  # data prepare cuts faces with the device's own face stage
    "evaluation": {"core", "data", "device"},
    "training": {"core", "data", "device", "evaluation"},
    "convert": {"core", "data", "device", "evaluation", "training"},
    "cli": {"core", "data", "device", "evaluation", "training", "convert"},
}


def modules(layer):
    package = os.path.join(os.path.dirname(edgefer.__file__), layer)
    return [f"edgefer.{layer}.{m.name}" for m in pkgutil.iter_modules([package])] + [f"edgefer.{layer}"]


def imported_names(module):
    """Every module name an edgefer module imports, at any depth of its code."""
    path = module.replace(".", os.sep)
    source = os.path.join(REPO, path + ".py")
    if not os.path.exists(source):
        source = os.path.join(REPO, path, "__init__.py")
    tree = ast.parse(open(source).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", list(BUILDS_ON))
def test_each_layer_imports_only_the_layers_it_builds_on(layer):
    for module in modules(layer):
        used = {n.split(".")[1] for n in imported_names(module) if n.startswith("edgefer.") and n.count(".") >= 1}
        assert used <= BUILDS_ON[layer] | {layer}, f"{module} imports {sorted(used - BUILDS_ON[layer] - {layer})}"
        if layer in LIGHT_LAYERS:
            heavy = {n for n in imported_names(module) if n.split(".")[0] in HEAVY_MODULES}
            assert not heavy, f"{module} imports {sorted(heavy)}"


def test_every_light_module_imports_where_tensorflow_is_refused():
    names = [m for layer in LIGHT_LAYERS for m in modules(layer)] + ["edgefer.cli"]
    code = REFUSE_HEAVY.format(heavy=HEAVY_MODULES) + f"""
import importlib, json
for name in {names!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("edgefer."))))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                            env=CLEAN_ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout)
    assert set(names) <= set(loaded) and len(names) > 25


def test_parity_runs_where_tensorflow_is_refused(kaggle_folders, tmp_path):
    result = edgefer_without_tensorflow("parity", TINY_FLOAT, TINY_INT8, "--data", kaggle_folders,
                                        "--out", str(tmp_path / "parity"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "agreement 1.0000; PASS" in result.stdout
    assert (tmp_path / "parity" / "report.md").exists()
