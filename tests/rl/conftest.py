"""Fixtures for the rl tests: a tiny local model built from a config and a character tokenizer."""

from __future__ import annotations

import pytest
from rl_test_envs import DIGITS_ALPHABET


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    from rl.tiny import make_tiny_model

    return make_tiny_model(
        tmp_path_factory.mktemp("tiny") / "model",
        alphabet=DIGITS_ALPHABET,
        hidden_size=32,
        num_layers=2,
    )


@pytest.fixture
def tiny_policy(tiny_model_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (
        AutoModelForCausalLM.from_pretrained(tiny_model_path, local_files_only=True),
        AutoTokenizer.from_pretrained(tiny_model_path, local_files_only=True),
    )


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads; on a shared CI box threads only contend."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
