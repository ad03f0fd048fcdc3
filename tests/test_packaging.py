"""The package declares what it imports: `pip install .` alone gives a working kit."""

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Import name -> distribution name, where they differ.
DISTRIBUTIONS = {"tensorflow_probability": "tensorflow-probability", "PIL": "pillow", "tf_keras": "tf-keras"}


def imported_modules() -> set[str]:
    names = set()
    for path in (ROOT / "gankit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"gankit", "__future__"}


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {requirement.split(">")[0].split("=")[0].split("<")[0].strip().lower() for requirement in project["dependencies"]}


def test_every_third_party_import_is_a_declared_dependency():
    needed = {DISTRIBUTIONS.get(name, name).lower() for name in imported_modules()}
    assert {"tensorflow", "tensorflow-probability", "scipy"} <= needed  # the scan sees the package
    assert needed - declared() == set()


def test_the_pinned_requirements_install_the_package_itself():
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()


def gankit_imports(path: Path) -> set[str]:
    """The gankit modules a file imports, anywhere in it (a function-level import counts too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gankit"):
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("gankit"))
    return names


def test_the_models_import_nothing_that_loads_checkpoints():
    # checkpoints imports the registry of models; a model that imported checkpoints (or the
    # analysis helpers, which import both) would close a cycle.
    for path in (ROOT / "gankit" / "models").glob("*.py"):
        offending = {name for name in gankit_imports(path)
                     if name.startswith(("gankit.checkpoints", "gankit.analysis", "gankit.training"))}
        assert not offending, (path.name, offending)
