"""Benchmark quarantine: the isolation list, both-sided near-duplicate matching, and the gate in
environments."""

from __future__ import annotations

import hashlib
import json

import gymnasium
import pytest

import envs  # noqa: F401  (registers the rlvr/ ids)
from envs.errors import EnvConfigError, QuarantineError, TaskSourceError
from envs.quarantine import IsolationList, QuarantineGate, Thresholds, fingerprint
from envs.tasks import load_tasks
from rl.cli import main as rlvr

EVAL = [
    {
        "id": "e-apples",
        "prompt": "Tom has 12 apples. He buys 7 more apples and gives 4 apples to Ann. "
        "How many apples does Tom have now?",
        "reference": {"answer": "15"},
    },
    {
        "id": "e-train",
        "prompt": "A train travels 240 kilometres in 3 hours. What is its average speed in "
        "kilometres per hour?",
        "reference": {"answer": "80"},
    },
    {
        "id": "e-code",
        "prompt": "Write a function `count_vowels(s)` returning the number of vowels in s.",
        "reference": {
            "entry_point": "count_vowels",
            "tests": "assert count_vowels('banana') == 3\nassert count_vowels('sky') == 0\n"
            "assert count_vowels('AEIOU') == 5",
        },
    },
    {
        "id": "e-json",
        "prompt": "Return a JSON object describing the meeting.",
        "reference": {
            "schema": {
                "type": "object",
                "properties": {"title": {"type": "string"}, "room": {"type": "integer"}},
                "required": ["title", "room"],
            }
        },
    },
]


@pytest.fixture
def iso(tmp_path):
    isolation = IsolationList(tmp_path / "iso")
    isolation.add(EVAL, name="my_eval")
    return isolation


def _hits(iso, rows):
    return {h.task_id: h for h in iso.check(rows).hits}


def _prompt_hits(iso, rows):
    return {h.task_id: h for h in iso.check(rows).hits if h.side == "prompt"}


def test_a_template_sibling_with_other_numbers_or_answer_is_not_a_duplicate(iso):
    assert not _hits(
        iso,
        [
            {
                "id": "sibling",
                "reference": {"answer": "70"},
                "prompt": "A train travels 210 kilometres in 3 hours. What is its average speed in "
                "kilometres per hour?",
            },
            {
                "id": "other-answer",
                "reference": {"answer": "81"},
                "prompt": "A train travels 240 kilometres in 3 hours. What is its mean speed in "
                "kilometres per hour?",
            },
        ],
    )


def test_a_paraphrase_with_the_same_answer_and_numbers_is_caught_on_the_answer_side(iso):
    hits = _hits(
        iso,
        [
            {
                "id": "para",
                "reference": {"answer": "15"},
                "prompt": "Ann receives 4 of Tom's apples after Tom, who had 12, bought 7 more. "
                "Count the apples Tom keeps.",
            }
        ],
    )
    hit = hits["para"]
    assert (hit.isolated_set, hit.isolated_id, hit.side, hit.method) == (
        "my_eval",
        "e-apples",
        "answer",
        "structural",
    )
    assert "same answer '15'" in hit.detail


def test_a_different_problem_with_the_same_answer_is_not_caught(iso):
    assert not _hits(
        iso,
        [
            {
                "id": "other",
                "reference": {"answer": "15"},
                "prompt": "A shop sells 3 pens for 5 dollars each. How much do the pens cost?",
            },
            {
                "id": "same-numbers-other-answer",
                "reference": {"answer": "23"},
                "prompt": "Tom has 12 apples and buys 7 more, then 4 more. How many apples now?",
            },
        ],
    )


def test_near_duplicate_prompts_are_caught_by_minhash_and_exact_after_normalising(iso):
    hits = _prompt_hits(
        iso,
        [
            {
                "id": "edited",
                "reference": {"answer": "80"},  # one word changed
                "prompt": "A train travels 240 kilometres in 3 hours. What is its mean speed in "
                "kilometres per hour?",
            },
            {
                "id": "recased",
                "reference": {"answer": "1"},
                "prompt": "a TRAIN travels 240 kilometres in 3 hours.   what is its average speed "
                "in kilometres per hour ?",
            },
        ],
    )
    assert (hits["edited"].side, hits["edited"].method) == ("prompt", "minhash")
    assert Thresholds().prompt_jaccard <= hits["edited"].similarity < 1
    assert (hits["recased"].side, hits["recased"].method, hits["recased"].similarity) == (
        "prompt",
        "exact",
        1.0,
    )


def test_code_tasks_match_on_tests_and_function_names_not_on_the_prompt(iso):
    hits = _hits(
        iso,
        [
            {
                "id": "reworded",
                "prompt": "Implement count_vowels: how many of a, e, i, o, u occur in a string?",
                "reference": {
                    "entry_point": "count_vowels",
                    "tests": "assert count_vowels(\"banana\") == 3\n"
                    "assert count_vowels(\"sky\") == 0\n"
                    "assert count_vowels(\"AEIOU\") == 5\n",
                },
            },
            {
                "id": "unrelated",
                "prompt": "Write count_consonants(s).",
                "reference": {
                    "entry_point": "count_consonants",
                    "tests": "assert count_consonants('banana') == 3",
                },
            },
        ],
    )
    assert hits["reworded"].side == "answer" and hits["reworded"].isolated_id == "e-code"
    assert "unrelated" not in hits


def test_a_shared_schema_is_not_a_match_but_a_shared_solution_is(iso):
    schema = EVAL[3]["reference"]
    solution = '{"title": "Quarterly planning review", "room": 42}'
    assert not _hits(
        iso,
        [
            {
                "id": "j",
                "prompt": "Extract the order as JSON: 3 chairs, delivered Monday.",
                "reference": schema,
            }
        ],
    )
    iso.add(
        [
            {
                "id": "e-json-sol",
                "prompt": "Summarise the invitation as JSON.",
                "reference": schema,
                "solution": solution,
            }
        ],
        name="with_solutions",
    )
    hits = _hits(
        iso,
        [
            {
                "id": "j2",
                "prompt": "Give the meeting as a JSON object.",
                "reference": schema,
                "solution": solution,
            }
        ],
    )
    assert (hits["j2"].isolated_id, hits["j2"].side, hits["j2"].method) == (
        "e-json-sol",
        "answer",
        "exact",
    )


def test_short_answers_never_match_alone():
    fp = fingerprint("a", "What is 6 times 7?", {"answer": "42"})
    other = fingerprint("b", "How many legs do 21 birds have?", {"answer": "42"})
    from envs.quarantine import Matcher

    assert Matcher([("s", fp)]).hits([other]) == [[]]


def test_the_manifest_records_source_count_sha256_and_time(tmp_path):
    path = tmp_path / "heldout.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in EVAL))
    iso = IsolationList(tmp_path / "iso")
    entry = iso.add(str(path))
    assert (entry.name, entry.count) == ("heldout", 4)
    assert entry.sha256 == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = json.loads((tmp_path / "iso" / "manifest.json").read_text())
    assert manifest["sets"][0]["added_at"].endswith("+00:00") and manifest["sets"][0]["kinds"] == {
        "math": 2,
        "code": 1,
        "other": 1,
    }
    with pytest.raises(EnvConfigError, match="already has a set 'heldout'"):
        iso.add(str(path))
    iso.add(str(path), replace=True)
    with pytest.raises(EnvConfigError, match="use letters"):
        iso.add(str(path), name="../evil")
    iso.remove("heldout")
    assert iso.sets() == [] and not (tmp_path / "iso" / "sets" / "heldout.jsonl").exists()


def test_a_hugging_face_dataset_and_a_bundled_split_register(tmp_path):
    datasets = pytest.importorskip("datasets")
    iso = IsolationList(tmp_path)
    ds = datasets.Dataset.from_list(
        [
            {"id": r["id"], "prompt": r["prompt"], "reference": json.dumps(r["reference"])}
            for r in EVAL
        ]
    )
    with pytest.raises(Exception, match="name the isolated set"):
        iso.add(ds)
    assert iso.add(ds, name="hf_eval").count == 4
    assert iso.add("bundled:arith_heldout").source == "bundled:arith_heldout"
    assert [s.name for s in iso.sets()] == ["arith_heldout", "hf_eval"]


def test_the_bundled_train_split_is_clean_against_its_held_out_split(tmp_path):
    iso = IsolationList(tmp_path)
    iso.add("bundled:arith_heldout")
    report = iso.check("bundled:arith")
    assert report.checked == 2000 and report.clean, report.summary()


def test_a_broken_manifest_says_how_to_recover(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(EnvConfigError, match="add the sets again"):
        IsolationList(tmp_path).sets()


# -- the gate --------------------------------------------------------------------------------------
TRAIN = [
    {"id": "t-clean", "prompt": "What is 2 + 2?", "reference": {"answer": "4"}},
    {
        "id": "t-leak",
        "prompt": "tom has 12 apples. he buys 7 more apples and gives 4 apples to ann. how many "
        "apples does tom have now?",
        "reference": {"answer": "15"},
    },
]


def test_an_environment_refuses_hit_tasks_and_names_them(iso):
    with pytest.raises(QuarantineError, match="t-leak ~ my_eval:e-apples") as err:
        gymnasium.make("rlvr/Math-v1", tasks=TRAIN, quarantine=iso.folder)
    assert err.value.report.hit_ids == ("t-leak",)


def test_an_environment_can_drop_hit_tasks_and_keep_the_report(iso):
    env = gymnasium.make("rlvr/Math-v1", tasks=TRAIN, quarantine=QuarantineGate(iso, action="drop"))
    assert [t.id for t in env.unwrapped.tasks] == ["t-clean"]
    report = env.unwrapped.quarantine_report
    assert report.to_dict()["hits"][0]["isolated_id"] == "e-apples" and report.kept == 1
    obs, info = env.reset(seed=0)
    assert info["task_id"] == "t-clean"
    env.close()


def test_an_isolated_set_is_never_a_training_source_even_when_dropping(tmp_path):
    iso = IsolationList(tmp_path)
    iso.add("bundled:arith_heldout")
    with pytest.raises(QuarantineError, match="is the isolated set 'arith_heldout'"):
        gymnasium.make("rlvr/ArithHeldout-v0", quarantine=QuarantineGate(iso, action="drop"))
    env = gymnasium.make("rlvr/ArithHeldout-v0")  # evaluation itself is not gated
    assert len(env.unwrapped.tasks) == 400 and env.unwrapped.quarantine_report is None
    env.close()


def test_the_gate_checks_each_task_list_once_for_all_environment_copies(iso, monkeypatch):
    calls = []
    original = IsolationList.check
    monkeypatch.setattr(
        IsolationList, "check", lambda self, *a, **k: calls.append(1) or original(self, *a, **k)
    )
    gate = QuarantineGate(iso, action="drop")
    made = [gymnasium.make("rlvr/Math-v1", tasks=TRAIN, quarantine=gate) for _ in range(4)]
    assert len(calls) == 1 and all(len(e.unwrapped.tasks) == 1 for e in made)


def test_a_bad_action_or_quarantine_value_is_refused(iso):
    with pytest.raises(EnvConfigError, match="choose one of"):
        QuarantineGate(iso, action="ignore")
    with pytest.raises(EnvConfigError, match="quarantine= takes"):
        gymnasium.make("rlvr/Math-v1", tasks=TRAIN, quarantine=42)


# -- the command line ------------------------------------------------------------------------------
def test_cli_add_list_check_remove(tmp_path, capsys):
    folder = str(tmp_path / "iso")
    evals, train = tmp_path / "eval.jsonl", tmp_path / "train.jsonl"
    evals.write_text("".join(json.dumps(r) + "\n" for r in EVAL))
    train.write_text("".join(json.dumps(r) + "\n" for r in TRAIN))
    assert rlvr(["quarantine", "add", str(evals), "--dir", folder]) == 0
    assert rlvr(["quarantine", "list", "--dir", folder]) == 0
    assert "eval" in capsys.readouterr().out
    report, clean = tmp_path / "report.json", tmp_path / "clean.jsonl"
    assert (
        rlvr(
            [
                "quarantine",
                "check",
                str(train),
                "--dir",
                folder,
                "--report",
                str(report),
                "--drop-to",
                str(clean),
            ]
        )
        == 1
    )
    out = capsys.readouterr().out
    assert "1 of 2 tasks match" in out and "t-leak ~ eval:e-apples" in out
    assert json.loads(report.read_text())["hits"][0]["side"] == "prompt"
    assert [t.id for t in load_tasks(str(clean))] == ["t-clean"]
    assert rlvr(["quarantine", "check", str(clean), "--dir", folder]) == 0
    assert rlvr(["quarantine", "remove", "nope", "--dir", folder]) == 2
    assert "no isolated set 'nope'" in capsys.readouterr().err
    assert rlvr(["quarantine", "remove", "eval", "--dir", folder]) == 0


# -- cases from an independent review --------------------------------------------------------------
NATALIA = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in "
    "May. How many clips did Natalia sell altogether in April and May?"
)


@pytest.mark.parametrize(
    "prompt, answer",
    [
        (
            "In May, Natalia sold half as many clips as she did in April, when she sold clips to "
            "48 of her friends. Altogether, how many clips did she sell in April and May?",
            "72",
        ),  # one number, reordered
        (NATALIA.replace("48", "forty-eight"), "72"),  # number as words
        (NATALIA + "!", "72 clips"),  # answer with its unit
        (NATALIA, r"\boxed{72.0}"),
    ],
)
def test_a_statement_with_one_number_reworded_or_reformatted_is_caught(tmp_path, prompt, answer):
    iso = IsolationList(tmp_path)
    iso.add([{"id": "gsm-1", "prompt": NATALIA, "reference": {"answer": "72"}}], name="gsm")
    assert iso.check([{"id": "t", "prompt": prompt, "reference": {"answer": answer}}]).hit_ids == (
        "t",
    )


def test_fractions_in_latex_and_plain_text_agree(tmp_path):
    iso = IsolationList(tmp_path)
    iso.add(
        [
            {
                "id": "m1",
                "prompt": r"What is $\frac{1}{2} + \frac{1}{3}$? Express it as a common fraction.",
                "reference": {"answer": r"\frac{5}{6}"},
            }
        ],
        name="math",
    )
    rows = [
        {
            "id": "plain",
            "prompt": "What is 1/2 + 1/3? Give a common fraction.",
            "reference": {"answer": "5/6"},
        },
        {
            "id": "dfrac",
            "prompt": r"Compute $\dfrac12+\dfrac13$ as a fraction.",
            "reference": {"answer": r"\dfrac56"},
        },
    ]
    assert set(iso.check(rows).hit_ids) == {"plain", "dfrac"}


def test_same_numbers_and_answer_but_other_words_is_another_problem(tmp_path):
    iso = IsolationList(tmp_path)
    iso.add(
        [
            {
                "id": "tri",
                "prompt": "A triangle has sides 3, 4 and 5. What is its inradius?",
                "reference": {"answer": "1"},
            }
        ],
        name="geo",
    )
    assert iso.check(
        [
            {
                "id": "rem",
                "prompt": "What is the remainder when 3^4 is divided by 5?",
                "reference": {"answer": "1"},
            }
        ]
    ).clean


def test_humaneval_style_checks_do_not_make_every_task_share_a_name():
    fp = fingerprint(
        "he",
        "def add(a, b):",
        {
            "entry_point": "add",
            "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"
            "    assert ''.join(['a']) == 'a'\n",
        },
    )
    assert fp.names == frozenset({"add"})


def test_a_renamed_function_with_the_same_tests_is_caught(tmp_path):
    iso = IsolationList(tmp_path)
    iso.add(
        [
            {
                "id": "mb-1",
                "prompt": "Write a function to find the shared elements of two lists.",
                "reference": {
                    "test_list": [
                        "assert similar_elements((3, 4, 5, 6), (5, 7, 4, 10)) == (4, 5)",
                        "assert similar_elements((1, 2, 3, 4), (5, 4, 3, 7)) == (3, 4)",
                    ]
                },
            }
        ],
        name="mbpp",
    )
    hits = iso.check(
        [
            {
                "id": "t",
                "prompt": "Return the common items of two tuples, sorted.",
                "reference": {
                    "test_list": [
                        "assert common((3,4,5,6),(5,7,4,10))==(4,5)",
                        "assert common((1,2,3,4),(5,4,3,7))==(3,4)",
                    ]
                },
            }
        ]
    ).hits
    assert [(h.isolated_id, h.side) for h in hits] == [("mb-1", "answer")]


def test_code_case_matters_and_other_expected_outputs_mean_another_function(tmp_path):
    iso = IsolationList(tmp_path)
    iso.add(
        [
            {
                "id": "upper",
                "prompt": "Count the upper case letters.",
                "reference": {
                    "tests": "assert count_upper('PYthon') == 2\nassert count_upper('abc') == 0\n"
                    "assert count_upper('ABC') == 3"
                },
                "solution": "def count_upper(s):\n    return sum(1 for c in s if 'A' <= c <= 'Z')",
            }
        ],
        name="code",
    )
    assert iso.check(
        [
            {
                "id": "lower",
                "prompt": "Count the lower case letters.",
                "reference": {
                    "tests": "assert count_lower('PYthon') == 4\nassert count_lower('abc') == 3\n"
                    "assert count_lower('ABC') == 0"
                },
                "solution": "def count_lower(s):\n    return sum(1 for c in s if 'a' <= c <= 'z')",
            }
        ]
    ).clean


def test_untrusted_text_never_crashes_the_check(tmp_path):
    iso = IsolationList(tmp_path)
    iso.add([{"id": "e", "prompt": "Say \ud800 twice", "reference": {"answer": 7}}], name="odd")
    report = iso.check(
        [
            {"id": "a", "prompt": "Say \ud800 twice", "reference": {"answer": 7}},
            {"id": "b", "prompt": "x" * 1_000_000, "reference": {"answer": None}},
        ]
    )
    assert report.hit_ids == ("a",)
    with pytest.raises(TaskSourceError, match="row 0: prompt must be non-empty text"):
        iso.check(
            [{"id": "c", "prompt": [{"role": "user", "content": ["not", "text"]}], "reference": {}}]
        )


def test_thresholds_are_validated():
    with pytest.raises(EnvConfigError, match="min_numbers must be an int"):
        Thresholds(min_numbers=True)
    with pytest.raises(EnvConfigError, match=r"prompt_jaccard must be a number in \[0, 1\]"):
        Thresholds(prompt_jaccard=1.5)
