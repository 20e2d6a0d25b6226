"""The layering is one way: sandbox <- verifiers <- envs <- rl. Walk every module's imports to prove
it."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
ORDER = ["sandbox", "verifiers", "envs", "rl"]


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", ORDER)
def test_lower_layers_never_import_higher_ones(package):
    forbidden = set(ORDER[ORDER.index(package) + 1 :])
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & forbidden
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == [], "layering violated:\n" + "\n".join(offenders)


def test_datasets_is_data_only():
    assert not (ROOT / "datasets" / "__init__.py").exists()
