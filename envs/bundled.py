"""The bundled task sets in the repository's ``datasets/`` folder, and how they are written.

Each set is one JSONL file plus a manifest next to it (``manifest.json`` or
``<stem>.manifest.json``: generator, version, seed, count, sha256 of the JSONL bytes); a set with
splits (``arith`` and ``arith_heldout``) is one generator writing two files. They are found, in this
order, in ``$RLVR_DATASETS``, in the checkout's ``datasets/`` (an editable install), or where the
wheel installed them as shared data (``<prefix>/share/rlvr/datasets``, the user scheme's prefix
too).

>>> sorted(BUNDLED)
['arith', 'arith_heldout', 'code', 'json', 'math', 'tools', 'xml']
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
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
    "arith": "arith/arith_train.jsonl",
    "arith_heldout": "arith/arith_heldout.jsonl",
}


def datasets_dir() -> Path:
    """The folder holding the bundled sets: ``$RLVR_DATASETS``, else the first of
    :func:`candidate_dirs` that holds any bundled set (the checkout's ``datasets/`` when there is no
    such folder anywhere)."""
    override = os.environ.get("RLVR_DATASETS")
    if override:
        return Path(override)
    candidates = candidate_dirs()
    for folder in candidates:
        if any((folder / rel).is_file() for rel in BUNDLED.values()):
            return folder
    return candidates[0]


def candidate_dirs() -> list[Path]:
    """Where bundled sets may live: the checkout's ``datasets/``, then the installed shared-data
    folders."""
    import site
    import sysconfig

    prefixes = [sysconfig.get_path("data"), sys.prefix, site.getuserbase()]
    shared = [Path(p) / "share" / "rlvr" / "datasets" for p in dict.fromkeys(prefixes) if p]
    return [Path(__file__).resolve().parent.parent / "datasets", *shared]


def bundled_path(name: str) -> Path:
    """Path of bundled set ``name``; raises :class:`TaskSourceError` naming the known sets."""
    if name not in BUNDLED:
        raise TaskSourceError(
            f"no bundled task set {name!r}; available: {', '.join(sorted(BUNDLED))}"
        )
    path = datasets_dir() / BUNDLED[name]
    if not path.is_file():
        raise TaskSourceError(
            f"bundled task set {name!r} is missing at {path}; reinstall rlvr, run the "
            "generator in a checkout's datasets/, or point RLVR_DATASETS at a datasets folder"
        )
    return path


def encode_rows(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Canonical JSONL bytes: sorted keys, UTF-8, one row per line (so hashes are reproducible)."""
    lines = (
        json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for row in rows
    )
    return "".join(line + "\n" for line in lines).encode("utf-8")


def write_task_set(
    rows: list[Mapping[str, Any]],
    out_dir: Path,
    filename: str,
    *,
    generator: str,
    version: int,
    seed: int,
    manifest_name: str = "manifest.json",
) -> dict[str, Any]:
    """Write ``rows`` as ``out_dir/filename`` and ``out_dir/manifest_name``; returns the
    manifest."""
    data = encode_rows(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / filename).write_bytes(data)
    manifest = {
        "generator": generator,
        "version": version,
        "seed": seed,
        "count": len(rows),
        "file": filename,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (out_dir / manifest_name).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest


def manifest_path(name: str) -> Path:
    """The manifest next to bundled set ``name``: ``<stem>.manifest.json`` or ``manifest.json``."""
    data = bundled_path(name)
    for candidate in (
        data.with_name(f"{data.stem}.manifest.json"),
        data.with_name("manifest.json"),
    ):
        if candidate.is_file():
            return candidate
    raise TaskSourceError(f"bundled task set {name!r} has no manifest next to {data}")


def read_manifest(name: str) -> dict[str, Any]:
    """The manifest of bundled set ``name``."""
    return json.loads(manifest_path(name).read_text(encoding="utf-8"))


def generator_main(
    generate: Any,
    *,
    name: str,
    filename: str,
    count: int,
    version: int,
    doc: str,
    argv: list[str] | None = None,
) -> int:
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
    manifest = write_task_set(
        generate(args.seed, args.count),
        args.out,
        filename,
        generator=f"datasets/generate_{name}.py",
        version=version,
        seed=args.seed,
    )
    print(f"wrote {manifest['count']} tasks to {args.out} (sha256 {manifest['sha256'][:12]})")
    return 0
