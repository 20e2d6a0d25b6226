"""Import plumbing: a spool of parsed lines between the validation and the write pass, and the
split of a file into line-aligned parts that forked processes validate side by side.

The spool is what lets an import parse each line once and still write nothing before the whole
file has validated: the validation pass spools the rows it built, the write pass replays them.

>>> from rl.prm.bulk import BatchItem
>>> item = BatchItem("p", None, None, None, "a", "g", "m", 1, [(0, 1)], [])
>>> spool = Spool()
>>> spool.add(7, [item])
>>> [(line, items == [item]) for line, items in spool.replay()]
[(7, True)]
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Sequence

from .bulk import BatchItem
from .errors import PrmError


class Spool:
    """Parsed lines as marshalled chunks of ``(line, item field tuples)`` in a temporary file
    (unlinked at creation, so it is gone with the process even after SIGKILL)."""

    _CHUNK_LINES = 500

    def __init__(self, file: IO[bytes] | None = None) -> None:
        self._file = file if file is not None else tempfile.TemporaryFile()
        self._pending: list[tuple[int, list[tuple]]] = []

    def add(self, line_no: int, items: Sequence[BatchItem]) -> None:
        """Append one line's items."""
        self._pending.append((line_no, [item.as_row() for item in items]))
        if len(self._pending) >= self._CHUNK_LINES:
            self.flush()

    def flush(self) -> None:
        """Write pending lines to the file (whole chunks: ``marshal.load`` on a file reads
        piecemeal)."""
        if self._pending:
            data = marshal.dumps(self._pending)
            self._file.write(len(data).to_bytes(8, "little") + data)
            self._pending = []
        self._file.flush()

    def replay(
        self, progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[int, list[BatchItem]]]:
        """The spooled lines in order, as ``(line, items)``; closes the file at the end."""
        self.flush()
        self._file.seek(0)
        with self._file:
            while size := int.from_bytes(self._file.read(8), "little"):
                for line_no, rows in marshal.loads(self._file.read(size)):
                    if progress is not None:
                        progress(1)
                    yield line_no, [BatchItem.from_row(row) for row in rows]


#: Smallest part worth a process of its own (forking and the extra spool cost ~10 ms).
MIN_PART_BYTES = 8 << 20


def split_lines(
    path: Path, parts: int, min_bytes: int | None = None
) -> list[tuple[int, int | None, int]]:
    """``parts`` line-aligned byte ranges of ``path`` as
    ``(start, end or None, first line number)``; fewer when the file is smaller than ``min_bytes``
    (default :data:`MIN_PART_BYTES`) per part.

    >>> import tempfile, os
    >>> path = Path(tempfile.mkdtemp()) / "f.jsonl"
    >>> _ = path.write_bytes(b"a\\nbb\\nccc\\ndddd\\n")
    >>> split_lines(path, 2, min_bytes=1)
    [(0, 9, 1), (9, None, 4)]
    """
    size = path.stat().st_size
    min_bytes = MIN_PART_BYTES if min_bytes is None else min_bytes
    parts = max(1, min(parts, size // max(1, min_bytes)))
    starts = [0]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            fh.seek(max(starts[-1], size * k // parts))
            fh.readline()  # to the start of the next line
            if fh.tell() < size and fh.tell() > starts[-1]:
                starts.append(fh.tell())
        ranges, line, fh_pos = [], 1, 0
        fh.seek(0)
        for i, start in enumerate(starts):
            while fh_pos < start:  # count the lines before this range
                chunk = fh.read(min(1 << 20, start - fh_pos))
                line += chunk.count(b"\n")
                fh_pos += len(chunk)
            ranges.append((start, starts[i + 1] if i + 1 < len(starts) else None, line))
    return ranges


def run_forked(target: Callable[..., Any], calls: Sequence[tuple]) -> list[Any]:
    """``[target(*args) for args in calls]``, each call in its own forked process (arguments are
    inherited, not pickled; results are pickled back). An exception in a call is re-raised here
    (the first one by call order); a process that dies without a result raises :class:`PrmError`."""
    context = multiprocessing.get_context("fork")
    started = []
    for args in calls:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_child, args=(send, target, args), daemon=True)
        process.start()
        send.close()
        started.append((process, receive))
    results = []
    for process, receive in started:
        try:
            results.append(receive.recv())
        except EOFError:
            results.append(
                (
                    False,
                    PrmError(
                        f"an import worker process (pid {process.pid}) died without "
                        "a result; run the import again, or with workers=1"
                    ),
                )
            )
        finally:
            receive.close()
            process.join()
    for ok, value in results:
        if not ok:
            raise value
    return [value for _, value in results]


def _child(send: Any, target: Callable[..., Any], args: tuple) -> None:
    try:
        result = (True, target(*args))
    except BaseException as exc:  # sent back and re-raised in the parent
        result = (False, exc)
    try:
        send.send(result)
    except Exception as exc:  # an unpicklable exception: send its text
        send.send((False, PrmError(f"import worker failed: {result[1]!r} ({exc})")))
    finally:
        send.close()
        # no atexit handlers or finalizers of the parent's objects (e.g. its SQLite connection)
        os._exit(0)
