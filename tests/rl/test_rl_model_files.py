"""``rlvr model convert``: GGUF files (and the packaged SmolLM2) to checkpoints, with clear
errors."""

from __future__ import annotations

import pytest

from rl.cli import main
from rl.model_files import ModelFileError, convert_gguf, resolve_gguf


def test_a_missing_file_says_what_to_pass(tmp_path):
    with pytest.raises(
        ModelFileError, match=r"is not a file; pass a .gguf file or one of \['smollm2'\]"
    ):
        resolve_gguf(tmp_path / "nope.gguf")


def test_a_file_that_is_not_gguf_is_refused(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ModelFileError, match="is not a GGUF file"):
        convert_gguf(fake, tmp_path / "out")


def test_an_existing_checkpoint_is_not_overwritten(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF....")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "config.json").write_text("{}")
    with pytest.raises(ModelFileError, match="already holds a checkpoint; pass overwrite=True"):
        convert_gguf(fake, tmp_path / "out")


def test_the_command_exits_2_with_the_reason(tmp_path, capsys):
    assert main(["model", "convert", "nothing-like-this", "--out", str(tmp_path / "o")]) == 2
    assert "rlvr model convert:" in capsys.readouterr().err
