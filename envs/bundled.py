"""The bundled task sets in the repository's ``datasets/`` folder, and how they are written.

Each set is one JSONL file plus a ``manifest.json`` next to it (generator, version, seed, count,
sha256 of the JSONL bytes). Set ``RLVR_DATASETS`` to use a copy of ``datasets/`` elsewhere
(the folder is not part of the installed wheel).

>>> sorted(BUNDLED)
['code', 'json', 'math', 'tools', 'xml']
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import TaskSourceError

#: Bundled set name -> JSONL path relative to the datasets folder.
BUNDLED: dict[str, str] = {
    "math": "math/math_tasks.jsonl",
    "code": "code/python_tasks.jsonl",
    "json": "json/json_tasks.jsonl",
    "xml": "xml/xml_tasks.jsonl",
    "tools": "tools/tool_tasks.jsonl",
}


def datasets_dir() -> Path:
    """The folder holding the bundled sets (``$RLVR_DATASETS`` or the checkout's ``datasets/``)."""
    override = os.environ.get("RLVR_DATASETS")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "datasets"


def bundled_path(name: str) -> Path:
    """Path of bundled set ``name``; raises :class:`TaskSourceError` naming the known sets."""
    if name not in BUNDLED:
        raise TaskSourceError(f"no bundled task set {name!r}; available: {', '.join(sorted(BUNDLED))}")
    path = datasets_dir() / BUNDLED[name]
    if not path.is_file():
        raise TaskSourceError(f"bundled task set {name!r} is missing at {path}; run the generator in "
                              "datasets/ or point RLVR_DATASETS at a checkout's datasets folder")
    return path


def encode_rows(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Canonical JSONL bytes: sorted keys, UTF-8, one row per line (so hashes are reproducible)."""
    lines = (json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for row in rows)
    return "".join(line + "\n" for line in lines).encode("utf-8")


def write_task_set(rows: list[Mapping[str, Any]], out_dir: Path, filename: str, *,
                   generator: str, version: int, seed: int) -> dict[str, Any]:
    """Write ``rows`` as ``out_dir/filename`` and ``out_dir/manifest.json``; returns the manifest."""
    data = encode_rows(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / filename).write_bytes(data)
    manifest = {"generator": generator, "version": version, "seed": seed, "count": len(rows),
                "file": filename, "sha256": hashlib.sha256(data).hexdigest()}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def manifest_path(name: str) -> Path:
    """The manifest next to bundled set ``name``: ``<stem>.manifest.json`` or ``manifest.json``."""
    data = bundled_path(name)
    for candidate in (data.with_name(f"{data.stem}.manifest.json"), data.with_name("manifest.json")):
        if candidate.is_file():
            return candidate
    raise TaskSourceError(f"bundled task set {name!r} has no manifest next to {data}")


def read_manifest(name: str) -> dict[str, Any]:
    """The manifest of bundled set ``name``."""
    return json.loads(manifest_path(name).read_text(encoding="utf-8"))


def generator_main(generate: Any, *, name: str, filename: str, count: int, version: int,
                   doc: str, argv: list[str] | None = None) -> int:
    """The command line shared by the ``datasets/generate_NAME.py`` scripts.

    ``generate(seed, count)`` returns the rows; they are written to ``datasets/NAME/filename``
    (or ``--out``) with a manifest naming ``datasets/generate_NAME.py``, ``version`` and the seed.
    """
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=count)
    parser.add_argument("--out", type=Path, default=datasets_dir() / name)
    args = parser.parse_args(argv)
    manifest = write_task_set(generate(args.seed, args.count), args.out, filename,
                              generator=f"datasets/generate_{name}.py", version=version, seed=args.seed)
    print(f"wrote {manifest['count']} tasks to {args.out} (sha256 {manifest['sha256'][:12]})")
    return 0
