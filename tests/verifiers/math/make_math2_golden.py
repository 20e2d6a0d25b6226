"""Writes verifiers/golden/math@2.jsonl: the golden table of ``math@2``.

It is ``math@1``'s table (every row, so what @1 decided stays decided) with the rows that ``math@2``
decides differently on purpose relabelled (each names the rule), plus the cases behind each change
of version 2, labelled by hand (false passes of @1 that must fail, false fails of @1 that must
pass, and their neighbours). Run: ``python tests/verifiers/math/make_math2_golden.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[3] / "verifiers" / "golden"
V1, OUT = GOLDEN / "math@1.jsonl", GOLDEN / "math@2.jsonl"

# math@1 rows whose verdict version 2 changes on purpose: (note, response) -> (new status, rule)
RELABELLED = {
    ("indep_identity_pred", "Therefore the answer is $\\boxed{1=1}$."): (
        "pass",
        "v2: an equation's last side is the answer",
    ),
    ("indep_numeric_equation_chain", "The answer is $2 \\cdot 3 = 7$."): (
        "pass",
        "v2: an equation's last side is the answer",
    ),
    ("indep_numeric_equation_chain", "The answer is $2+2=4=5$."): (
        "pass",
        "v2: an equality chain's last side is the answer",
    ),
    ("indep_numeric_equation_chain", "So the total is $\\boxed{3 \\cdot 4 = 13}$."): (
        "pass",
        "v2: an equation's last side is the answer",
    ),
    ("indep_fallback_latex", "The sum is $1 + 2 + 3 + 4$ which gives"): (
        "unparseable",
        "v2: a response cut off mid-sentence states no answer",
    ),
}

ANSWER_IN_PROSE = "Multiplying gives 15 pages a day.\n\nSo she reads 45 pages in total over 3 days."
NO_CONCLUSION = (
    "Let $x = 3$ be a first guess; then $f(3) = 9$.\n\nHowever, the equation has no closed form, "
    "and one should use numerical methods to approximate its root."
)
LATER_PHRASE = (
    "Interest after six months: $\\boxed{200}$. Then on the second CD: $\\boxed{255}$, so she has "
    "$10,200 + 255 = 10,455$ dollars.\nFinal Answer: The final answer is $10,455$. I hope it is "
    "correct."
)

# (note, reference, response, status)
V2_CASES = [
    # false passes of math@1
    ("v2_fp_comma_in_tuple", {"answer": "1100"}, "so the point is $\\boxed{(1,100)}$", "fail"),
    ("v2_fp_comma_in_interval", {"answer": "1100"}, "the range is $\\boxed{[1,100]}$", "fail"),
    ("v2_fp_leading_zero_group", {"answer": "111"}, "The answer is $0,111$.", "fail"),
    ("v2_comma_thousands_kept", {"answer": "1100"}, "The answer is $1,100$.", "pass"),
    ("v2_fp_clock_times", {"answer": "12:00"}, "The meeting starts at $\\boxed{3:00}$.", "fail"),
    ("v2_fp_clock_times", {"answer": "12:00"}, "$1:00$", "fail"),
    ("v2_clock_time_same", {"answer": "12:00"}, "They meet at \\boxed{12:00}.", "pass"),
    ("v2_fp_number_from_earlier_paragraph", {"answer": "3"}, NO_CONCLUSION, "unparseable"),
    ("v2_prose_trailing_phrase", {"answer": "45"}, ANSWER_IN_PROSE, "pass"),
    ("v2_prose_trailing_phrase", {"answer": "3"}, ANSWER_IN_PROSE, "fail"),
    # false fails of math@1
    (
        "v2_chain_self",
        {"answer": "f(2) < f(1) < f(4)"},
        "Hence $\\boxed{f(2) < f(1) < f(4)}$.",
        "pass",
    ),
    ("v2_chain_reversed", {"answer": "a<b<c"}, "\\boxed{c > b > a}", "pass"),
    ("v2_chain_different", {"answer": "a<b<c"}, "\\boxed{a < c < b}", "fail"),
    ("v2_chain_to_interval", {"answer": "0<f(x)<1"}, "The range is $\\boxed{(0,1)}$.", "pass"),
    ("v2_chain_to_interval", {"answer": "0<f(x)<1"}, "The range is $\\boxed{[0,1]}$.", "fail"),
    ("v2_mathrm_e", {"answer": "1 - \\frac{1}{\\mathrm{e}}"}, "\\boxed{1 - e^{-1}}", "pass"),
    (
        "v2_mathrm_e",
        {"answer": "1 - \\frac{1}{\\mathrm{e}}"},
        "\\boxed{1 + \\frac{1}{\\mathrm{e}}}",
        "fail",
    ),
    ("v2_answer_sentence", {"answer": "34"}, "Final Answer: The largest $n$ is 34.", "pass"),
    ("v2_answer_sentence", {"answer": "35"}, "Final Answer: The largest $n$ is 34.", "fail"),
    (
        "v2_answer_sentence_no_marker",
        {"answer": "2/3"},
        "Therefore, the probability that Alice wins the game is 2/3.",
        "pass",
    ),
    ("v2_labelled_tuple", {"answer": "(p,q)=(3,2)"}, "$\\boxed{(3, 2)}$", "pass"),
    ("v2_labelled_tuple", {"answer": "(p,q)=(3,2)"}, "$\\boxed{(2, 3)}$", "fail"),
    ("v2_labelled_value", {"answer": "|AB|=1"}, "$$1$$", "pass"),
    ("v2_labelled_ratio", {"answer": "S_{MBCN}:S=7:32"}, "$\\boxed{7:32}$", "pass"),
    ("v2_labelled_ratio", {"answer": "S_{MBCN}:S=7:32"}, "$\\boxed{7:33}$", "fail"),
    ("v2_labelled_list", {"answer": "AB=4,CD=5"}, "$\\boxed{4, 5}$", "pass"),
    ("v2_equation_chain_last_side", {"answer": "x = 11"}, "$x = 5+5+1 = 11$", "pass"),
    ("v2_equation_chain_last_side", {"answer": "x = 12"}, "$x = 5+5+1 = 11$", "fail"),
    ("v2_approx_after_exact", {"answer": "x = 1/3"}, "$x = 1/3 \\approx 0.33$", "pass"),
    (
        "v2_semicolon_tuples",
        {"answer": "(0;0;0),(0;-2;6)"},
        "\\boxed{(0, -2, 6), (0, 0, 0)}",
        "pass",
    ),
    (
        "v2_semicolon_tuples",
        {"answer": "(0;0;0),(0;-2;6)"},
        "\\boxed{(0, 2, 6), (0, 0, 0)}",
        "fail",
    ),
    ("v2_assignment_groups", {"answer": "p=5,q=2;p=7,q=2"}, "$(5,2),(7,2)$", "pass"),
    ("v2_or_between_tuples", {"answer": "(11,7)or(7,11)"}, "$\\boxed{(7,11),\\ (11,7)}$", "pass"),
    ("v2_plain_brace_set", {"answer": "{1,2,3}"}, "\\boxed{1},\\boxed{2},\\boxed{3}", "pass"),
    ("v2_plain_brace_set", {"answer": "{1,2,3}"}, "\\boxed{1},\\boxed{2}", "fail"),
    (
        "v2_repeated_element",
        {"answer": "(3,17),(17,3)"},
        "\\boxed{(3, 17), (17, 3), (3,17)}",
        "pass",
    ),
    (
        "v2_boxed_equation_rhs",
        {"answer": "\\frac{3}{5}"},
        "$\\boxed{\\sin \\angle ABC = \\frac{3}{5}}$",
        "pass",
    ),
    (
        "v2_boxed_equation_rhs",
        {"answer": "\\frac{4}{5}"},
        "$\\boxed{\\sin \\angle ABC = \\frac{3}{5}}$",
        "fail",
    ),
    ("v2_gold_equation_kept", {"answer": "x^2+y^2=25"}, "\\boxed{25}", "fail"),
    ("v2_boxed_units_text", {"answer": "12"}, "$\\boxed{12 \\text{ square meters}}$", "pass"),
    ("v2_boxed_sentence", {"answer": "5.50"}, "\\boxed{She pays \\$5.50}", "pass"),
    ("v2_boxed_sentence", {"answer": "6"}, "\\boxed{She pays \\$5.50}", "fail"),
    ("v2_lost_dollar", {"answer": "5.50"}, "The total is \\boxed{\\5.50}.", "pass"),
    ("v2_later_phrase_wins", {"answer": "10455"}, LATER_PHRASE, "pass"),
    ("v2_later_phrase_wins", {"answer": "255"}, LATER_PHRASE, "fail"),
    (
        "v2_boxes_joined_by_delimiters",
        {"answer": "1, -2"},
        "are \\(\\boxed{1}\\) and \\(\\boxed{-2}\\).",
        "pass",
    ),
    (
        "v2_boxes_joined_by_delimiters",
        {"answer": "1"},
        "are \\(\\boxed{1}\\) and \\(\\boxed{-2}\\).",
        "fail",
    ),
    (
        "v2_sentence_list",
        {"answer": "-1, 0, 1"},
        "Thus the integers are \\(-1, 0,\\) and \\(1\\).",
        "pass",
    ),
    ("v2_decimal_comma", {"answer": "1.22"}, "The answer is 1,22", "pass"),
    ("v2_decimal_comma_gold", {"answer": "0,111"}, "The answer is 0.111", "pass"),
    ("v2_comma_list", {"answer": "1, 2"}, "\\boxed{1,2}", "pass"),
    (
        "v2_matrix_sum",
        {"answer": "\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}"},
        "The sum is $\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 "
        "& 8\\end{pmatrix}$",
        "pass",
    ),
    (
        "v2_decimal_read_exactly",
        {"answer": "\\frac{5\\sqrt{42}}{27}"},
        "\\boxed{\\frac{10\\sqrt{10.5}}{27}}",
        "pass",
    ),
    ("v2_rounded_still_fails", {"answer": "\\frac{\\pi}{2}"}, "\\boxed{1.5708}", "fail"),
    ("v2_relation_answers_set", {"answer": "x \\in [-2,7]"}, "$-2 \\le x \\le 7$", "pass"),
    ("v2_percent_words", {"answer": "28\\%"}, "$\\boxed{28 pct}", "pass"),
    ("v2_percent_words", {"answer": "28\\%"}, "$\\boxed{28 percentage}", "pass"),
    ("v2_ratio_quotient", {"answer": "\\frac{3}{4}"}, "\\boxed{3:4}", "pass"),
    (
        "v2_markdown_heading_not_gsm8k",
        {"answer": "12"},
        "#### Step 3: add them\n4 + 8 = 12.\n\nThe answer is 12.",
        "pass",
    ),
    (
        "v2_final_answer_heading",
        {"answer": "6"},
        "### Final Answer\nThe product of the last two digits is **6**.",
        "pass",
    ),
    (
        "v2_doubled_backslash",
        {"answer": "\\\\left(\\\\frac{1}{5},\\\\frac{1}{6}\\\\right)"},
        "\\boxed{\\left( \\frac{1}{5}, \\frac{1}{6} \\right)}",
        "pass",
    ),
    ("v2_identical_unreadable", {"answer": "\\mathcal{Q}_7"}, "\\boxed{\\mathcal{Q}_7}", "pass"),
    # golds given as worked solutions
    (
        "v2_gold_solution",
        {"solution": "Adding the parts, $x = 5 + 7 = \\boxed{12}$."},
        "The answer is 12.",
        "pass",
    ),
    (
        "v2_gold_solution",
        {"solution": "Adding the parts, $x = 5 + 7 = \\boxed{12}$."},
        "The answer is 13.",
        "fail",
    ),
    (
        "v2_gold_answer_with_box",
        {"answer": "We get $\\boxed{\\frac{1}{2}}$."},
        "\\boxed{0.5}",
        "pass",
    ),
    (
        "v2_gold_answer_prose",
        {
            "answer": "Monday's value drops 10%... Final Answer: The final answer is $28 \\%$. I "
            "hope it is correct."
        },
        "a total loss of $\\boxed{28\\%}$.",
        "pass",
    ),
    (
        "v2_gold_solution_without_answer",
        {"solution": "We think about it for a while and stop."},
        "\\boxed{3}",
        "error",
    ),
    ("v2_gold_missing", {}, "\\boxed{3}", "error"),
]


def rows() -> list[dict]:
    out = []
    for line in V1.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        change = RELABELLED.get((row["note"], row["response"]))
        if change is not None:
            row = {
                **{k: v for k, v in row.items() if k != "code"},
                "status": change[0],
                "note": f"{row['note']} ({change[1]})",
            }
        out.append(row)
    for note, reference, response, status in V2_CASES:
        row = {"reference": reference, "response": response, "status": status, "note": note}
        if status == "error":
            row["code"] = "bad_reference"
        out.append(row)
    return out


def main() -> None:
    table = rows()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in table:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(table)} rows to {OUT}")


if __name__ == "__main__":
    main()
