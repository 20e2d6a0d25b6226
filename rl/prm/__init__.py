"""Step-level process reward (PRM) annotation store.

A process reward sample is a *step*, not a whole response. The store keeps, in one SQLite file
(WAL mode) or a PostgreSQL database, with the schema versioned by forward migrations: problems,
immutable trajectories, their segmentations into steps (character spans into the raw text),
append-only label events, and final-answer verdicts. The current label of a step is a documented
rule over its events (:mod:`rl.prm.resolve`); exports write TRL stepwise supervision,
ProcessBench, JSONL and Parquet.

>>> import os, tempfile
>>> from rl.prm import PrmStore, import_file, export_trl
>>> store = PrmStore(os.path.join(tempfile.mkdtemp(), "prm.db"))
>>> p = store.add_problem("What is 3 + 4?", gold_answer="7", source="demo", licence="CC0")
>>> t = store.add_trajectory(p.id, "3 + 4 = 7.\\nThe answer is 7.", generator="my-model")
>>> first, second = store.add_segmentation(t.id, method="newline@1")
>>> _ = store.label(first.id, 1, annotator_kind="human", annotator_id="alice")
>>> _ = store.label(second.id, -1, annotator_kind="human", annotator_id="alice",
...                 error_type="wrong_final_value")
>>> store.first_wrong_step(t.id)
1

PostgreSQL: ``PrmStore("postgresql://...")`` (and ``rlvr prm ... --db postgresql://...``) runs the
same API and commands on a PostgreSQL database (:mod:`rl.prm.postgres`;
``pip install 'rlvr[postgres]'``).
"""

from .errors import (
    ExportPolicyError,
    ImportFormatError,
    LabelValueError,
    NotFoundError,
    PrmError,
    SchemaVersionError,
    StoreBusyError,
)
from .exporters import (
    NEUTRAL_POLICIES,
    ExportReport,
    export,
    export_jsonl,
    export_parquet,
    export_processbench,
    export_trl,
)
from .importers import ImportReport, import_file
from .montecarlo import (
    MonteCarloConfig,
    MonteCarloResult,
    grade_final_answers,
    label_many,
    label_trajectory,
)
from .parsing import ImportOptions
from .records import (
    ANNOTATOR_KINDS,
    ERROR_TYPES,
    CurrentLabel,
    FinalVerdict,
    LabelEvent,
    Problem,
    Step,
    Trajectory,
)
from .resolve import RULE_VERSION, resolve
from .schema import SCHEMA_VERSION
from .segment import segment
from .store import PrmStore, open_store

__all__ = [
    "ANNOTATOR_KINDS",
    "CurrentLabel",
    "ERROR_TYPES",
    "ExportPolicyError",
    "ExportReport",
    "FinalVerdict",
    "ImportFormatError",
    "ImportOptions",
    "ImportReport",
    "LabelEvent",
    "LabelValueError",
    "MonteCarloConfig",
    "MonteCarloResult",
    "NEUTRAL_POLICIES",
    "NotFoundError",
    "PrmError",
    "PrmStore",
    "Problem",
    "RULE_VERSION",
    "SCHEMA_VERSION",
    "SchemaVersionError",
    "Step",
    "StoreBusyError",
    "Trajectory",
    "export",
    "export_jsonl",
    "export_parquet",
    "export_processbench",
    "export_trl",
    "grade_final_answers",
    "import_file",
    "label_many",
    "label_trajectory",
    "open_store",
    "resolve",
    "segment",
]
