"""Report: what flips when math@1 verdicts on its golden table are re-graded under the newest math.

Runs the real commands as fresh processes, as a user would::

    rlvr grade verifiers/golden/math@1.jsonl --verifier math@1 -o math1.jsonl
    rlvr regrade math1.jsonl --inputs verifiers/golden/math@1.jsonl --to math -o regraded.jsonl \\
        --report R.json

and writes the flip report (counts by flip kind and failure reason, examples) with a manifest to
``tests/bench/results/regrade_math1_to_math2.json``. Not a timing benchmark: the numbers are
counts, deterministic for the two verifier versions. Run:
``.venv/bin/python tests/bench/regrade_report.py [--examples 3]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESULTS = HERE / "results" / "regrade_math1_to_math2.json"
RLVR = str(Path(sys.executable).with_name("rlvr"))


def golden_table(name: str = "math@1.jsonl") -> Path:
    """The golden table, wherever it lives now (it moved from tests/verifiers/golden/ to
    verifiers/golden/)."""
    for path in (
        ROOT / "verifiers" / "golden" / name,
        ROOT / "tests" / "verifiers" / "golden" / name,
    ):
        if path.exists():
            return path
    raise SystemExit(
        f"golden table {name} is in neither verifiers/golden/ nor tests/verifiers/golden/"
    )


def run(*args: str) -> str:
    done = subprocess.run([RLVR, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"rlvr {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=3)
    args = parser.parse_args()
    golden = golden_table()
    with tempfile.TemporaryDirectory() as tmp:
        graded, regraded, report_path = (
            str(Path(tmp) / n) for n in ("math1.jsonl", "regraded.jsonl", "report.json")
        )
        run("grade", str(golden), "--verifier", "math@1", "-o", graded, "--no-progress")
        text = run(
            "regrade",
            graded,
            "--inputs",
            str(golden),
            "--to",
            "math",
            "-o",
            regraded,
            "--report",
            report_path,
            "--examples",
            str(args.examples),
            "--no-progress",
        )
        report = json.loads(Path(report_path).read_text())
    manifest = {
        "generator": "tests/bench/regrade_report.py",
        "input": str(golden.relative_to(ROOT)),
        "input_sha256": hashlib.sha256(golden.read_bytes()).hexdigest(),
        "from": "math@1",
        "to": report["to"],
        "commands": [
            "rlvr grade INPUT --verifier math@1 -o OLD",
            "rlvr regrade OLD --inputs INPUT --to math -o NEW --report REPORT",
        ],
    }
    RESULTS.write_text(
        json.dumps({"manifest": manifest, "report": report}, indent=2, ensure_ascii=False) + "\n"
    )
    print(text)
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
