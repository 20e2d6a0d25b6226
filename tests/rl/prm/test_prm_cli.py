"""`rlvr prm import | export | stats | annotate | show`.

The commands are mounted on a bare root parser here, as ``rl.cli`` does, so that these tests do
not pay for importing every other subcommand (the trainer's imports torch).
"""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

import pytest

import rl.cli
from rl.prm.cli import add_commands


def main(argv):
    parser = argparse.ArgumentParser(prog="rlvr")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def test_prm_is_mounted_on_the_root_command():
    assert "rl.prm.cli" in rl.cli.MOUNTS


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "prm"


@pytest.fixture
def db(store_url):  # a SQLite file or a postgresql:// URL (conftest.py)
    path = store_url
    assert (
        main(
            [
                "prm",
                "import",
                str(FIXTURES / "prm800k_sample.jsonl"),
                "--db",
                path,
                "--licence",
                "MIT",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "prm",
                "import",
                str(FIXTURES / "math_shepherd_sample.jsonl"),
                "--format",
                "math_shepherd",
                "--db",
                path,
            ]
        )
        == 0
    )
    return path


def test_import_and_stats(db, capsys):
    capsys.readouterr()
    assert main(["prm", "stats", "--db", db]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["trajectories"], stats["steps"]) == (8, 24)
    assert {i["format"] for i in stats["imports"]} == {"prm800k", "math_shepherd"}


def test_annotate_show_and_export(db, tmp_path, capsys):
    assert (
        main(
            [
                "prm",
                "annotate",
                "--db",
                db,
                "--trajectory",
                "4",
                "--step",
                "0",
                "--value",
                "-1",
                "--annotator",
                "bob",
                "--error-type",
                "arithmetic_slip",
                "--rationale",
                "3*4 is fine, 12",
            ]
        )
        == 0
    )
    assert main(["prm", "show", "4", "--db", db, "--events"]) == 0
    out = capsys.readouterr().out
    assert "human:bob ternary=-1 arithmetic_slip" in out and "first wrong step: 0" in out
    assert main(["prm", "show", "--disagreements", "--json", "--db", db]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["step"] for r in rows} == {0}
    out_file = tmp_path / "trl.jsonl"
    assert main(["prm", "export", str(out_file), "--db", db, "--neutral", "false"]) == 0
    assert (
        json.loads((tmp_path / "trl.jsonl.manifest.json").read_text())["policy"]["neutral"]
        == "false"
    )
    assert (
        main(["prm", "export", str(tmp_path / "pb.jsonl"), "--format", "processbench", "--db", db])
        == 0
    )


def test_grade_and_cases(db, capsys):
    assert main(["prm", "annotate", "--grade", "--workers", "0", "--db", db]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["no_gold_answer"] == 3 and counts["pass"] + counts["fail"] == 5
    assert main(["prm", "show", "--cases", "--db", db]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert len(cases["right_answer_wrong_step"]) == 1


def test_errors_are_reported_not_raised(db, capsys):
    assert main(["prm", "annotate", "--db", db, "--trajectory", "1"]) == 1
    assert (
        "a manual label needs --trajectory, --step, --value and --annotator"
        in capsys.readouterr().err
    )
    assert main(["prm", "import", str(FIXTURES / "prm800k_bad_rating.jsonl"), "--db", db]) == 1
    assert "prm800k_bad_rating.jsonl:3: step 0: rating must be" in capsys.readouterr().err
    assert main(["prm", "show", "99", "--db", db]) == 1


def test_public_names_are_documented():
    prm = importlib.import_module("rl.prm")
    for name in prm.__all__:
        assert getattr(getattr(prm, name), "__doc__", None), name
