"""The isolation list: evaluation sets, held-out splits and private test sets kept out of training.

It lives in a folder (default ``$RLVR_QUARANTINE_DIR``, else ``.rlvr/quarantine`` under the current
directory) holding ``manifest.json`` (one entry per set: name, source, count, sha256 of the source,
when it was added) and ``sets/<name>.jsonl`` (each task's id, prompt, reference and solution, so
checks always fingerprint with the current rules).

>>> import tempfile
>>> iso = IsolationList(tempfile.mkdtemp())
>>> iso.add([{"id": "q1", "prompt": "What is 3 + 5?", "reference": {"answer": "8"}}],
...         name="my_eval").count
1
>>> iso.check([{"id": "t1", "prompt": "what is 3+5 ?", "reference": {"answer": "8"}}]).hit_ids
('t1',)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import EnvConfigError, TaskSourceError
from ..tasks import Columns, Task, TaskList, load_tasks
from .features import Fingerprint, fingerprint, prompt_text, task_kind
from .normalise import canonical_json, normalise
from .matching import Matcher, Thresholds
from .report import QuarantineReport

MANIFEST = "manifest.json"
FORMAT = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def default_dir() -> Path:
    """``$RLVR_QUARANTINE_DIR`` if set, else ``.rlvr/quarantine`` in the current directory."""
    return Path(os.environ.get("RLVR_QUARANTINE_DIR") or Path(".rlvr") / "quarantine")


@dataclass(frozen=True)
class IsolatedSet:
    """One registered set, as its manifest entry records it."""

    name: str
    source: str
    """Where it came from: a path, ``bundled:NAME`` or ``<dataset>``."""
    count: int
    sha256: str
    """Of the source file's bytes, or of the rows' canonical JSON for in-memory sources."""
    content_sha256: str
    """Of the tasks' (prompt, reference) pairs, order-free: recognises the same set under another
    name."""
    added_at: str
    kinds: Mapping[str, int] = field(default_factory=dict)


class IsolationList:
    """The registered sets in ``folder``; :meth:`check` matches training tasks against all of
    them."""

    def __init__(
        self, folder: str | Path | None = None, thresholds: Thresholds | None = None
    ) -> None:
        self.folder = Path(folder) if folder is not None else default_dir()
        self.thresholds = thresholds or Thresholds()
        self._matcher: Matcher | None = None

    # -- registering ---------------------------------------------------------------------------
    def add(
        self,
        source: Any,
        *,
        name: str | None = None,
        columns: Columns | None = None,
        replace: bool = False,
    ) -> IsolatedSet:
        """Register ``source`` (JSONL/Parquet path, ``bundled:NAME``, a ``datasets.Dataset`` or
        rows)."""
        tasks = load_tasks(source, columns=columns)
        name = name or _default_name(source, tasks)
        if not _NAME.match(name):
            raise EnvConfigError(
                f"isolated set name {name!r}: use letters, digits, '_', '.', '-' (e.g. "
                "'gsm8k_test')"
            )
        sets = {s.name: s for s in self.sets()}
        if name in sets and not replace:
            raise EnvConfigError(
                f"the isolation list in {self.folder} already has a set {name!r} "
                f"({sets[name].source}); pass replace=True (--replace) or another name"
            )
        entry = IsolatedSet(
            name,
            _source_label(source),
            len(tasks),
            _source_sha(source, tasks),
            content_sha(tasks),
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            _kinds(tasks),
        )
        _write_lines(self.folder / "sets" / f"{name}.jsonl", (_row(t) for t in tasks))
        sets[name] = entry
        self._write_manifest(sorted(sets.values(), key=lambda s: s.name))
        return entry

    def remove(self, name: str) -> None:
        """Unregister set ``name``."""
        sets = {s.name: s for s in self.sets()}
        if name not in sets:
            raise EnvConfigError(
                f"no isolated set {name!r} in {self.folder}; registered: {sorted(sets) or 'none'}"
            )
        del sets[name]
        (self.folder / "sets" / f"{name}.jsonl").unlink(missing_ok=True)
        self._write_manifest(sorted(sets.values(), key=lambda s: s.name))

    def sets(self) -> list[IsolatedSet]:
        """The registered sets (none when the folder or its manifest does not exist yet)."""
        path = self.folder / MANIFEST
        if not path.is_file():
            return []
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
            return [IsolatedSet(**entry) for entry in manifest["sets"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise EnvConfigError(
                f"{path} is not an rlvr isolation-list manifest ({exc}); "
                "remove the folder and add the sets again"
            ) from exc

    # -- checking ------------------------------------------------------------------------------
    def check(
        self, tasks: Any, *, columns: Columns | None = None, action: str = "report"
    ) -> QuarantineReport:
        """Match every task of ``tasks`` (anything :func:`envs.load_tasks` reads) against the
        list."""
        task_list = tasks if isinstance(tasks, TaskList) else load_tasks(tasks, columns=columns)
        fps = [fingerprint(t.id, t.prompt, t.reference, t.solution) for t in task_list]
        hits = self.matcher().hits(fps) if self.sets() else [[] for _ in fps]
        return QuarantineReport(
            task_list.name,
            len(task_list),
            tuple(h for row in hits for h in row),
            action,
            self.describe(),
            same_as=self.same_set(task_list),
        )

    def same_set(self, tasks: TaskList) -> str:
        """Name of the registered set whose content equals ``tasks`` ("" when none does)."""
        sha = content_sha(tasks)
        return next((s.name for s in self.sets() if s.content_sha256 == sha), "")

    def matcher(self) -> Matcher:
        """The index over every isolated task (built on first use)."""
        if self._matcher is None:
            _require_datasketch()
            self._matcher = Matcher(list(self.fingerprints()), self.thresholds)
        return self._matcher

    def fingerprints(self) -> Iterable[tuple[str, Fingerprint]]:
        """``(set name, Fingerprint)`` of every isolated task."""
        for entry in self.sets():
            path = self.folder / "sets" / f"{entry.name}.jsonl"
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
                rows = [json.loads(line) for line in lines]
                yield from (
                    (
                        entry.name,
                        fingerprint(r["id"], r["prompt"], r["reference"], r.get("solution")),
                    )
                    for r in rows
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise EnvConfigError(
                    f"{path} is damaged ({exc!r}); add the set again: "
                    f"rlvr quarantine add {entry.source} --name {entry.name} --replace"
                ) from exc

    def describe(self) -> dict[str, Any]:
        """Folder, sets (name, source, count, sha256) and thresholds: what a report says it
        checked."""
        return {
            "folder": str(self.folder),
            "sets": [
                {"name": s.name, "source": s.source, "count": s.count, "sha256": s.sha256}
                for s in self.sets()
            ],
            "thresholds": asdict(self.thresholds),
        }

    def _write_manifest(self, sets: list[IsolatedSet]) -> None:
        self._matcher = None
        manifest = {"format": FORMAT, "sets": [asdict(s) for s in sets]}
        _write_lines(self.folder / MANIFEST, [json.dumps(manifest, indent=2, ensure_ascii=False)])


def content_sha(tasks: Iterable[Task]) -> str:
    """Order-free sha256 of the tasks' normalised prompts and references."""
    rows = sorted(canonical_json([normalise(prompt_text(t.prompt)), t.reference]) for t in tasks)
    return "sha256:" + hashlib.sha256("\n".join(rows).encode("utf-8", "surrogatepass")).hexdigest()


def _row(task: Task) -> str:
    prompt = task.prompt if isinstance(task.prompt, str) else [dict(m) for m in task.prompt]
    return json.dumps(
        {"id": task.id, "prompt": prompt, "reference": task.reference, "solution": task.solution},
        default=str,
    )  # ASCII escapes: a lone surrogate in a prompt survives the round trip


def _kinds(tasks: TaskList) -> dict[str, int]:

    counts: dict[str, int] = {}
    for task in tasks:
        kind = task_kind(task.reference)
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _source_path(source: Any) -> Path | None:
    if isinstance(source, str) and source.startswith("bundled:"):
        from ..bundled import bundled_path

        return bundled_path(source.split(":", 1)[1])
    if isinstance(source, (str, Path)) and Path(source).is_file():
        return Path(source)
    return None


def _source_label(source: Any) -> str:
    if isinstance(source, str) and source.startswith("bundled:"):
        return source
    path = _source_path(source)
    return str(path.resolve()) if path is not None else f"<{type(source).__name__}>"


def _source_sha(source: Any, tasks: TaskList) -> str:
    path = _source_path(source)
    digest = hashlib.sha256()
    if path is not None:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    else:
        for task in tasks:
            digest.update(_row(task).encode("utf-8") + b"\n")
    return "sha256:" + digest.hexdigest()


def _default_name(source: Any, tasks: TaskList) -> str:
    if isinstance(source, str) and source.startswith("bundled:"):
        return source.split(":", 1)[1]
    path = _source_path(source)
    if path is not None:
        return re.sub(r"[^A-Za-z0-9_.\-]", "_", path.stem)
    raise TaskSourceError(
        f"name the isolated set: {tasks.name} has no file name to take one from "
        "(add(..., name='my_eval') or --name my_eval)"
    )


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write atomically: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _require_datasketch() -> None:
    try:
        import datasketch  # noqa: F401
    except ImportError as exc:
        raise EnvConfigError(
            "the quarantine check needs datasketch (MinHash/LSH): pip install 'rlvr[quarantine]'"
        ) from exc
