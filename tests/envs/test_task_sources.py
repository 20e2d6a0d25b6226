"""Task sources: bundled sets, JSONL, Parquet, Hugging Face datasets, column mapping, bad rows."""

from __future__ import annotations

import json

import pytest

import envs
from envs import Columns, TaskSourceError, load_tasks

ROWS = [
    {
        "id": "a",
        "prompt": "2+2?",
        "reference": {"answer": "4"},
        "solution": "\\boxed{4}",
        "meta": {"k": 1},
    },
    {"id": "b", "prompt": "3+3?", "reference": {"answer": "6"}},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_bundled_sets_load_with_solutions():
    for name in ("math", "json", "xml", "tools"):
        tasks = load_tasks(f"bundled:{name}")
        assert len(tasks) >= 100
        assert all(task.solution for task in tasks)


def test_jsonl_file(tmp_path):
    tasks = load_tasks(write_jsonl(tmp_path / "t.jsonl", ROWS))
    assert [t.id for t in tasks] == ["a", "b"]
    assert tasks[0].solution == "\\boxed{4}" and tasks[0].meta == {"k": 1}
    assert tasks[1].solution is None and tasks[1].meta == {}


def test_parquet_file_with_json_string_references(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "qid": ["x", "y"],
            "question": ["1+1?", "2+1?"],
            "gold": [json.dumps({"answer": "2"}), json.dumps({"answer": "3"})],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    tasks = load_tasks(
        str(tmp_path / "t.parquet"), columns=Columns(id="qid", prompt="question", reference="gold")
    )
    assert tasks[1].reference == {"answer": "3"} and tasks[1].prompt == "2+1?"


def test_hugging_face_dataset_object():
    import datasets

    dataset = datasets.Dataset.from_list([{"problem": "1+2?", "ref": {"answer": "3"}}])
    tasks = load_tasks(dataset, columns=Columns(id=None, prompt="problem", reference="ref"))
    assert tasks[0].id == "row-0" and tasks[0].reference == {"answer": "3"}


def test_chat_message_prompts():
    rows = [
        {
            "id": "c",
            "prompt": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
            "reference": {"answer": "1"},
        }
    ]
    task = load_tasks(rows)[0]
    assert task.messages() == [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]


@pytest.mark.parametrize(
    "rows, match",
    [
        ([ROWS[0], {"id": "c", "prompt": "x"}], r"rows: row 1 has no column 'reference'"),
        (
            [ROWS[0], {"id": "c", "prompt": "", "reference": {}}],
            r"row 1: prompt must be non-empty text",
        ),
        (
            [{"id": "c", "prompt": "x", "reference": "not json"}],
            r"row 0: reference is a string but not valid JSON",
        ),
        (
            [{"id": "c", "prompt": "x", "reference": [1]}],
            r"row 0: reference must be an object, got list",
        ),
        (
            [{"id": "c", "prompt": "x", "reference": {}, "solution": 5}],
            r"row 0: solution must be text or null",
        ),
        ([ROWS[0], ROWS[0]], r"row 1 repeats task id 'a' \(first seen in row 0\)"),
        ([], "is empty"),
        (["just text"], "row 0 is str, not an object"),
    ],
)
def test_bad_rows_name_the_row(rows, match):
    with pytest.raises(TaskSourceError, match=match):
        load_tasks(rows)


def test_bad_jsonl_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(TaskSourceError, match=r"bad.jsonl: row 1 \(line 2\) is not valid JSON"):
        load_tasks(path)


@pytest.mark.parametrize(
    "source, match",
    [
        (
            "bundled:nope",
            "no bundled task set 'nope'; available: arith, arith_heldout, code, json, math, tools, "
            "xml",
        ),
        ("/does/not/exist.jsonl", "does not exist"),
        (3.5, "cannot read tasks from float"),
    ],
)
def test_bad_sources_say_what_is_accepted(source, match):
    with pytest.raises(TaskSourceError, match=match):
        load_tasks(source)


def test_unknown_file_format(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n")
    with pytest.raises(TaskSourceError, match="unknown format '.csv'; use .jsonl or .parquet"):
        load_tasks(tmp_path / "t.csv")


def test_datasets_dir_can_be_overridden(tmp_path, monkeypatch):
    (tmp_path / "math").mkdir()
    write_jsonl(tmp_path / "math" / "math_tasks.jsonl", ROWS)
    monkeypatch.setenv("RLVR_DATASETS", str(tmp_path))
    assert len(load_tasks("bundled:math")) == 2
    assert envs.datasets_dir() == tmp_path


def test_an_installed_wheel_finds_its_shared_data_without_a_checkout(tmp_path, monkeypatch):
    from envs import bundled

    prefix = tmp_path / "prefix"
    installed = prefix / "share" / "rlvr" / "datasets"
    (installed / "math").mkdir(parents=True)
    write_jsonl(installed / "math" / "math_tasks.jsonl", ROWS)
    monkeypatch.delenv("RLVR_DATASETS", raising=False)
    monkeypatch.setattr(bundled.sys, "prefix", str(prefix))
    monkeypatch.setattr(
        "sysconfig.get_path", lambda name, *a, **k: str(prefix) if name == "data" else None
    )
    monkeypatch.setattr("site.getuserbase", lambda: str(tmp_path / "user"))
    monkeypatch.setattr(
        bundled, "__file__", str(tmp_path / "site-packages" / "envs" / "bundled.py")
    )  # no checkout
    assert installed in bundled.candidate_dirs()
    assert envs.datasets_dir() == installed and len(load_tasks("bundled:math")) == 2


def test_the_wheel_ships_every_bundled_set_and_its_manifest():
    import tomllib
    from pathlib import Path

    from envs import bundled

    root = Path(__file__).resolve().parents[2]
    shipped = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"
    ]
    files = {f for group in shipped.values() for f in group}
    for name in bundled.BUNDLED:
        assert f"datasets/{bundled.BUNDLED[name]}" in files, name
        assert str(bundled.manifest_path(name).relative_to(root)) in files, name
    for target, group in shipped.items():
        assert all(target == "share/rlvr/" + str(Path(f).parent) for f in group), target


def test_a_generator_of_rows_is_a_task_source():
    rows = (
        {"id": f"g{i}", "prompt": f"JSON with n={i}", "reference": {"schema": {}}} for i in range(3)
    )
    tasks = load_tasks(rows)
    assert [task.id for task in tasks] == ["g0", "g1", "g2"]


def test_a_json_file_may_hold_one_array_of_rows_and_files_may_start_with_a_bom(tmp_path):
    rows = [
        {"id": f"a{i}", "prompt": f"JSON with n={i}", "reference": {"schema": {}}} for i in range(3)
    ]
    array = tmp_path / "tasks.json"
    array.write_text(json.dumps(rows, indent=2), encoding="utf-8-sig")
    lines = tmp_path / "tasks.jsonl"
    lines.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(json.dumps(r) for r in rows).encode())
    assert (
        [t.id for t in load_tasks(str(array))]
        == [t.id for t in load_tasks(lines)]
        == ["a0", "a1", "a2"]
    )
    broken = tmp_path / "broken.json"
    broken.write_text("[{\"id\": 1,")
    with pytest.raises(TaskSourceError, match="broken.json: not a valid JSON array of rows"):
        load_tasks(broken)
