"""The rl package's public surface, and that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import rl
import rl.engines


def test_all_names_exist_and_are_documented():
    for module in (rl, rl.engines):
        for name in module.__all__:
            assert getattr(getattr(module, name), "__doc__", None), f"{module.__name__}.{name}"


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import sys, rl, rl.engines, rl.cli.train; "
        "print(sorted(m for m in ('torch', 'transformers', 'vllm') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_vllm_engine_names_the_extra_when_vllm_is_missing(monkeypatch):
    import sys

    import pytest

    from verifiers.errors import MissingDependencyError

    # what an environment without vLLM looks like to `import vllm`
    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'rlvr\[vllm\]'"):
        rl.engines.VLLMEngine("/nonexistent")
