"""Every name in a package's ``__all__`` exists and is documented."""

import importlib

import pytest


@pytest.mark.parametrize("module", ["verifiers", "sandbox", "envs", "rl.engines"])
def test_all_names_exist_and_have_docstrings(module):
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", [])
    assert names, f"{module} declares no __all__"
    for name in names:
        obj = getattr(mod, name)
        assert getattr(obj, "__doc__", None), f"{module}.{name} has no docstring"
