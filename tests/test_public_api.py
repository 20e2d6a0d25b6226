"""Every package's ``__all__`` is sorted, complete (each public name the package binds is listed)
and documented (each listed name exists and has a docstring)."""

import importlib
import inspect

import pytest

PACKAGES = [
    "verifiers",
    "verifiers.code",
    "verifiers.code.v2",
    "verifiers.json_schema",
    "verifiers.math",
    "verifiers.qa",
    "verifiers.tool_call",
    "verifiers.xml_schema",
    "sandbox",
    "envs",
    "envs.quarantine",
    "rl",
    "rl.engines",
    "rl.prm",
]


def _public_names(mod) -> set[str]:
    """Names the package binds itself: not private, not submodules, not typing helpers it
    imported."""
    return {
        name
        for name, value in vars(mod).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and name != "annotations"
        and getattr(value, "__module__", None) != "typing"
    }


@pytest.mark.parametrize("module", PACKAGES)
def test_all_is_sorted_complete_and_documented(module):
    mod = importlib.import_module(module)
    names = list(getattr(mod, "__all__", []))
    assert names, f"{module} declares no __all__"
    assert names == sorted(names), f"{module}.__all__ is not sorted"
    missing = sorted(_public_names(mod) - set(names))
    assert not missing, f"{module} binds public names missing from __all__: {missing}"
    for name in names:
        obj = getattr(mod, name)
        assert getattr(obj, "__doc__", None), f"{module}.{name} has no docstring"
