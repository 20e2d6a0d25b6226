"""False-pass / false-fail rates of math@1 and math@2 side by side (``rlvr verifiers audit``), on
two labelled sets:

* Math-Verify's own test table (``../shared/conformance/mathverify/cases.jsonl``, public), the rows
  that use Math-Verify's default options (the options ``math@2`` follows): gold -> reference,
  prediction -> response, expected -> label;
* ``tests/verifiers/math/independent_cases_v2.jsonl``, labelled by people who did not see the
  verifier (math@2 was developed against it, so its numbers there are a regression measurement, not
  independent evidence).

Run: ``.venv/bin/python tests/bench/audit_report.py``. Writes
``tests/bench/results/audit_math1_vs_math2.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "conformance"))

from conformance_paths import read_jsonl, suite_path  # noqa: E402
from test_mathverify_suite import uses_defaults  # noqa: E402

from verifiers import audit_verifier  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "audit_math1_vs_math2.json"


def mathverify_rows() -> list[dict]:
    rows = [r for r in read_jsonl(suite_path("mathverify", "cases.jsonl")) if uses_defaults(r)]
    return [
        {
            "response": r["prediction"],
            "reference": {"answer": r["gold"]},
            "label": bool(r["expected"]),
        }
        for r in rows
    ]


def summary(report) -> dict:
    out = {
        "rows": report.rows,
        "bad_lines": list(report.bad_lines),
        "versions_disagree": len(report.between),
    }
    for spec in report.specs:
        data = spec.to_dict()
        data["disagreements"] = data["disagreements"][:10]
        out[spec.spec] = data
    return out


def main() -> None:
    results = {
        "mathverify_default_rows": summary(
            audit_verifier(["math@1", "math@2"], mathverify_rows(), workers=2)
        ),
        "independent_cases_v2": summary(
            audit_verifier(
                ["math@1", "math@2"],
                ROOT / "tests" / "verifiers" / "math" / "independent_cases_v2.jsonl",
                workers=2,
            )
        ),
    }
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    for name, block in results.items():
        print(f"{name}: {block['rows']} rows, versions disagree on {block['versions_disagree']}")
        for spec in ("math@1", "math@2"):
            fp, ff = block[spec]["false_pass"], block[spec]["false_fail"]
            print(
                f"  {spec}: false-pass {fp['count']}/{fp['total']} {fp['ci95']}, "
                f"false-fail {ff['count']}/{ff['total']} {ff['ci95']}, could not grade "
                f"{len(block[spec]['could_not_grade'])}"
            )


if __name__ == "__main__":  # the audit grades in spawned workers, which re-import this file
    main()
