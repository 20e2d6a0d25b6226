"""Writes verifiers/golden/math@1.jsonl: the hand-labelled golden table of ``math@1``.

Each group below is (note, gold, answers equal to the gold, answers not equal to it), labelled by
hand; every answer is wrapped in several answer formats. Special rows (extraction, hedges,
hostile inputs, bad golds) are listed one by one. Run:
``python tests/verifiers/math/make_math_golden.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[3] / "verifiers" / "golden" / "math@1.jsonl"
INDEPENDENT = Path(__file__).resolve().with_name("independent_cases.jsonl")

WRAPS = (
    lambda a: f"We compute step by step and get $\\boxed{{{a}}}$.",
    lambda a: f"Working...\nThe answer is ${a}$.",
    lambda a: f"Some reasoning.\nFinal Answer: {a}",
)

# (note, gold, equal answers, different answers)
GROUPS = [
    ("integer", "42", ["42", "+42", "42.0", "x = 42"], ["43", "-42", "4.2"]),
    ("negative", "-7", ["-7", "- 7", "-7.00"], ["7", "-6"]),
    ("decimal", "0.5", ["0.5", ".5", "\\frac{1}{2}", "1/2"], ["0.55", "5"]),
    ("decimal_trailing", "3.14", ["3.140", "\\frac{157}{50}"], ["3.1416", "\\pi"]),
    (
        "fraction_frac",
        "\\frac{3}{4}",
        ["\\frac{3}{4}", "\\dfrac{3}{4}", "\\tfrac{3}{4}", "3/4", "0.75", "\\frac{6}{8}"],
        ["\\frac{4}{3}", "0.7"],
    ),
    (
        "fraction_negative",
        "-\\frac{2}{3}",
        ["-\\frac{2}{3}", "\\frac{-2}{3}", "\\frac{2}{-3}", "-2/3"],
        ["\\frac{2}{3}", "-0.67"],
    ),
    ("fraction_shorthand", "\\frac12", ["\\frac{1}{2}", "0.5"], ["\\frac{1}{3}"]),
    (
        "scientific",
        "2500",
        ["2.5\\times10^3", "2.5 \\times 10^{3}", "2.5e3", "2,500"],
        ["2.5\\times10^4", "250"],
    ),
    (
        "scientific_avogadro",
        "6.02\\times10^{23}",
        ["6.02e23", "6.02 \\times 10^{23}", "602000000000000000000000"],
        ["6.02e22", "6.2\\times10^{23}"],
    ),
    ("thousands", "1000", ["1,000", "1{,}000", "1\\,000", "1000.0"], ["1,001", "100"]),
    ("thousands_big", "1234567", ["1,234,567", "1{,}234{,}567"], ["1,234,568"]),
    ("percent_gold", "25\\%", ["25\\%", "25", "0.25", "25 percent"], ["2.5", "0.025\\%", "75\\%"]),
    ("percent_pred", "0.4", ["40\\%", "0.40"], ["4\\%", "0.04"]),
    (
        "currency",
        "18",
        ["\\$18", "18 dollars", "\\$18.00", "18\\text{ dollars}"],
        ["\\$17", "\\$18.50"],
    ),
    (
        "degrees",
        "30",
        ["30^\\circ", "30^{\\circ}", "30 degrees", "30°"],
        ["60^\\circ", "30.5^\\circ"],
    ),
    (
        "units",
        "12",
        ["12 \\text{ cm}", "12\\text{cm}^2", "12 inches", "12 \\mbox{ meters}"],
        ["13 \\text{ cm}", "120 \\text{ mm}"],
    ),
    ("tolerance_large", "1000000", ["1000000", "1,000,000", "10^6"], ["1000001", "999999"]),
    ("tolerance_near", "100", ["100.0", "100.00"], ["99.99", "100.01"]),
    (
        "tiny_factorial",
        "\\frac{1}{2004!}",
        ["\\frac{1}{2004!}", "\\frac{2005 \\cdot 2006}{2006!}"],
        ["\\frac{1}{2006!}", "\\frac{1}{2005!}", "0"],
    ),
    (
        "tiny_power",
        "2^{-99}",
        ["2^{-99}", "\\frac{1}{2^{99}}", "\\frac{2}{2^{100}}"],
        ["2^{-98}", "2^{-100}", "0"],
    ),
    (
        "irrational_rounded",
        "\\frac{\\pi}{2}",
        ["\\frac{\\pi}{2}", "\\pi/2", "0.5\\pi"],
        ["1.5708", "1.57079632679", "1.57"],
    ),
    (
        "radical",
        "\\frac{\\sqrt{2}}{2}",
        ["\\frac{1}{\\sqrt{2}}", "\\sqrt{\\frac{1}{2}}", "\\frac{\\sqrt 2}{2}"],
        ["0.7071", "\\sqrt{2}", "\\frac{\\sqrt{3}}{2}"],
    ),
    ("radical_simplify", "2\\sqrt{2}", ["\\sqrt{8}", "2 \\sqrt{2}"], ["\\sqrt{6}", "4"]),
    ("pi", "2\\pi", ["2\\pi", "\\pi \\cdot 2", "\\frac{4\\pi}{2}"], ["6.28", "\\pi", "2\\pi^2"]),
    ("euler_e", "e^{2}", ["e^2", "e^{2}", "\\exp(2)"], ["7.389", "2e", "e^{3}"]),
    (
        "symbolic_square",
        "x^2+2x+1",
        ["(x+1)^2", "(1+x)^2", "x^2 + 2x + 1", "1+2x+x^2"],
        ["(x-1)^2", "x^2+1", "(y+1)^2"],
    ),
    (
        "symbolic_fraction",
        "\\frac{x}{x+1}",
        ["\\frac{x}{1+x}", "1-\\frac{1}{x+1}"],
        ["\\frac{x+1}{x}", "\\frac{x}{x-1}"],
    ),
    ("symbolic_log", "3\\ln 2", ["\\ln 8", "\\ln(8)", "3 \\ln(2)"], ["\\ln 6", "2\\ln 3"]),
    ("trig_identity", "1", ["\\sin^2 x + \\cos^2 x"], ["\\sin^2 x - \\cos^2 x"]),
    ("trig_double", "\\sin 2x", ["2\\sin x\\cos x"], ["2 \\sin x", "\\cos 2x"]),
    (
        "trig_value",
        "\\frac{\\sqrt{3}}{2}",
        ["\\sin\\frac{\\pi}{3}", "\\cos(\\pi/6)"],
        ["\\sin\\frac{\\pi}{6}", "0.866"],
    ),
    ("complex", "3+4i", ["3+4i", "4i+3", "3 + 4 i"], ["3-4i", "4+3i", "5"]),
    ("complex_unit", "-i", ["-i", "0-i", "\\frac{1}{i}"], ["i", "1"]),
    (
        "set_unordered",
        "\\{1, 2, 3\\}",
        ["\\{3, 2, 1\\}", "\\{2,1,3\\}"],
        ["\\{1, 2\\}", "\\{1, 2, 4\\}"],
    ),
    ("tuple_ordered", "(1, 2)", ["(1,2)", "\\left(1, 2\\right)"], ["(2, 1)", "(1, 3)"]),
    ("point_reversed", "(3, 1)", ["(3,1)", "(3, 1.0)"], ["(5, 2)", "(1, 3)"]),
    (
        "point_3d",
        "(1, -2, \\frac{1}{2})",
        ["(1,-2,0.5)", "(1, -2, 1/2)"],
        ["(1, 2, \\frac{1}{2})", "(1, -2)"],
    ),
    (
        "interval_closed_open",
        "[1, 2)",
        ["[1,2)", "\\left[1, 2\\right)"],
        ["(1, 2)", "[1, 2]", "(1, 2]"],
    ),
    (
        "interval_infinite",
        "(-\\infty, 2)",
        ["(-\\infty,2)", "x < 2", "x<2"],
        ["(-\\infty, 2]", "x \\le 2", "(2, \\infty)"],
    ),
    (
        "interval_union",
        "(-\\infty, -1) \\cup (1, \\infty)",
        ["(1, \\infty) \\cup (-\\infty, -1)", "(-\\infty,-1)\\cup(1,\\infty)"],
        ["(-1, 1)", "(-\\infty, -1] \\cup [1, \\infty)"],
    ),
    (
        "inequality_gold",
        "x \\ge 3",
        ["[3, \\infty)", "x\\geq 3", "3 \\le x"],
        ["(3, \\infty)", "x > 3", "x \\le 3"],
    ),
    ("double_inequality", "-2 < x < 3", ["(-2, 3)", "-2<x<3"], ["[-2, 3]", "(-3, 2)"]),
    (
        "matrix",
        "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
        [
            "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}",
            "\\begin{pmatrix}1 & 2\\\\ 3 & 4\\end{pmatrix}",
        ],
        ["\\begin{pmatrix}1&3\\\\2&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\end{pmatrix}"],
    ),
    (
        "vector",
        "\\begin{pmatrix} 2 \\\\ -1 \\\\ 0 \\end{pmatrix}",
        [
            "\\begin{pmatrix}2\\\\-1\\\\0\\end{pmatrix}",
            "\\begin{bmatrix} 2 \\\\ -1 \\\\ 0 \\end{bmatrix}",
        ],
        ["\\begin{pmatrix}-1\\\\2\\\\0\\end{pmatrix}", "\\begin{pmatrix}2\\\\-1\\end{pmatrix}"],
    ),
    ("equation_value", "x=3", ["3", "x = 3"], ["4", "x=-3", "y=3"]),
    ("equation_line", "y=2x+3", ["2x+3", "y = 3 + 2x"], ["2x+4", "y=3x+2"]),
    ("equation_general", "x+y=1", ["2x+2y=2", "y = 1 - x"], ["x-y=1", "x+y=2"]),
    ("equation_degenerate", "x^2-1=(x-1)(x+1)", ["x^2-1=(x-1)(x+1)"], ["y=y", "x+1=x+1"]),
    (
        "multi_unordered",
        "2, -2",
        ["-2, 2", "2, -2", "\\pm 2", "x=\\pm 2", "x = 2 \\text{ or } x = -2"],
        ["2", "2, 3", "-2, -2"],
    ),
    ("multi_pm_gold", "x=\\pm 2", ["-2, 2", "\\pm 2"], ["2", "-2"]),
    (
        "multi_roots",
        "1 \\pm \\sqrt{2}",
        ["1+\\sqrt{2}, 1-\\sqrt{2}", "1-\\sqrt2, 1+\\sqrt2"],
        ["1+\\sqrt{2}", "1 \\pm \\sqrt{3}"],
    ),
    ("multi_three", "1, 2, 3", ["3, 2, 1", "\\{1,2,3\\}"], ["1, 2", "1, 2, 3, 4"]),
    ("choice", "(B)", ["B", "(B)", "\\text{(B)}", "b", "\\textbf{B}"], ["C", "(A)", "D"]),
    ("choice_plain", "D", ["(D)", "D"], ["B", "E"]),
    (
        "text_day",
        "\\text{Monday}",
        ["Monday", "\\text{monday}", "MONDAY", "\\text{Monday}"],
        ["Tuesday", "\\text{Sunday}"],
    ),
    ("text_yes", "\\text{yes}", ["Yes", "YES", "\\text{Yes}"], ["No", "\\text{no}"]),
    ("text_phrase", "\\text{even}", ["\\text{Even}", "even"], ["\\text{odd}"]),
    ("abs_value", "|x|", ["\\sqrt{x^2}", "|x|"], ["x", "-x"]),
    ("power_value", "1024", ["2^{10}", "2^{10}"], ["2^{11}", "10^{24}"]),
    ("factorial_value", "3628800", ["10!", "3,628,800"], ["9!", "11!"]),
    ("sci_small", "0.00001", ["1e-5", "10^{-5}", "1\\times10^{-5}"], ["1e-6", "0.0001"]),
    ("zero", "0", ["-0", "0.0", "x - x"], ["0.000001", "1"]),
    ("infinity", "\\infty", ["\\infty", "+\\infty"], ["-\\infty", "0"]),
    ("rational_function", "\\frac{x^2-1}{x-1}", ["x+1", "1+x"], ["x-1", "\\frac{x^2+1}{x-1}"]),
    (
        "high_degree",
        "(x+1)^{5}",
        ["x^5+5x^4+10x^3+10x^2+5x+1"],
        ["x^5+5x^4+10x^3+10x^2+5x+2", "x^5+1"],
    ),
    ("repeating_decimal", "\\frac{1}{3}", ["\\frac{2}{6}", "1/3"], ["0.3333333333", "0.33", "0.3"]),
    ("negative_fraction_decimal", "-1.25", ["-\\frac{5}{4}", "-5/4"], ["1.25", "-\\frac{4}{5}"]),
    ("cube_root", "2", ["\\sqrt[3]{8}", "8^{1/3}"], ["\\sqrt{8}", "\\sqrt[3]{9}"]),
    ("log_base", "3", ["\\log_2 8", "\\log_{2}{8}"], ["\\log_2 9", "\\log_3 8"]),
    ("exp_symbolic", "e^{x}", ["\\exp(x)", "e^x"], ["e^{-x}", "xe"]),
    (
        "text_multi",
        "\\text{red and blue}",
        ["\\text{Blue and Red}", "red, blue"],
        ["\\text{red}", "\\text{red and green}"],
    ),
    ("two_var", "2xy", ["2yx", "xy+yx", "x \\cdot 2y"], ["2x+y", "x^2y"]),
]

SPECIAL = [
    # extraction rules
    ("extract_nested_braces", "\\frac{1}{2}", "so $\\boxed{\\frac{1}{2}}$", "pass"),
    ("extract_nested_braces", "\\frac{1}{2}", "so $\\boxed{\\frac{1}{3}}$", "fail"),
    ("extract_fbox", "7", "Thus \\fbox{7}.", "pass"),
    ("extract_fbox", "7", "Thus \\fbox{8}.", "fail"),
    (
        "extract_last_boxed",
        "5",
        "First guess \\boxed{3}.\n\nOn reflection the result is \\boxed{5}.",
        "pass",
    ),
    (
        "extract_last_boxed",
        "3",
        "First guess \\boxed{3}.\n\nOn reflection the result is \\boxed{5}.",
        "fail",
    ),
    ("extract_boxed_space", "5", "so the result is \\boxed 5", "pass"),
    ("extract_answer_is", "12", "Adding, the answer is 12.", "pass"),
    ("extract_answer_is", "12", "Adding, the answer is 13.", "fail"),
    (
        "extract_final_answer_minerva",
        "\\frac{3}{4}",
        "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.",
        "pass",
    ),
    (
        "extract_final_answer_minerva",
        "\\frac{3}{4}",
        "Final Answer: The final answer is $\\frac{4}{3}$. I hope it is correct.",
        "fail",
    ),
    ("extract_answer_colon", "9", "Work.\nAnswer: 9", "pass"),
    ("extract_answer_colon", "9", "Work.\nAnswer: 8", "fail"),
    ("extract_gsm8k", "72", "Natalia sold 48/2 = 24 clips in May.\n48+24 = 72\n#### 72", "pass"),
    ("extract_gsm8k", "72", "Natalia sold 48/2 = 24 clips in May.\n48+24 = 70\n#### 70", "fail"),
    ("extract_gsm8k_thousands", "1200", "Total cost.\n#### 1,200", "pass"),
    (
        "extract_fallback_last_number",
        "18",
        "Janet has 16 eggs, eats 3, bakes 4, sells the rest for $2 each, so she makes 18",
        "pass",
    ),
    (
        "extract_fallback_last_number",
        "18",
        "Janet has 16 eggs, eats 3 and bakes 4 of them, so 9 are left",
        "fail",
    ),
    (
        "extract_boxed_beats_phrase",
        "4",
        "The answer is 3. Actually, checking again: \\boxed{4}",
        "pass",
    ),
    (
        "extract_boxed_beats_phrase",
        "3",
        "The answer is 3. Actually, checking again: \\boxed{4}",
        "fail",
    ),
    ("extract_missing", "3", "I am not sure how to solve this problem.", "unparseable"),
    ("extract_empty_boxed", "3", "The answer is \\boxed{}.", "unparseable"),
    ("extract_empty_boxed_space", "3", "The answer is \\boxed{ }.", "unparseable"),
    ("extract_empty_response", "3", "", "unparseable"),
    ("extract_dollar_answer", "5", "The answer is $5$. Done.", "pass"),
    # hedges
    ("hedge_two_boxed", "3", "It is \\boxed{3} or \\boxed{4}.", "fail"),
    ("hedge_two_boxed", "4", "It is \\boxed{3} or \\boxed{4}.", "fail"),
    ("hedge_two_boxed_same", "3", "It is \\boxed{3} or \\boxed{3}.", "pass"),
    ("hedge_or_in_box", "3", "\\boxed{3 \\text{ or } 4}", "fail"),
    ("hedge_or_phrase", "3", "The answer is 3 or 4.", "fail"),
    ("hedge_comma", "3", "\\boxed{3, 4}", "fail"),
    ("hedge_set", "3", "\\boxed{\\{3, 4\\}}", "fail"),
    ("hedge_choice", "B", "\\boxed{B \\text{ or } C}", "fail"),
    ("hedge_text", "\\text{Monday}", "\\boxed{\\text{Monday or Tuesday}}", "fail"),
    ("hedge_two_boxed_multi_gold", "3, 4", "It is \\boxed{3} and \\boxed{4}.", "pass"),
    ("hedge_symbolic", "x+1", "\\boxed{x+1 \\text{ or } x-1}", "fail"),
    # hostile inputs
    ("hostile_power_tower", "3", "\\boxed{9^{9^{9^{9}}}}", "fail"),
    ("hostile_power_tower", "10", "\\boxed{10^{10^{10}}}", "fail"),
    ("hostile_power_tower_same", "10^{10^{10}}", "\\boxed{10^{10^{10}}}", "pass"),
    ("hostile_factorial", "5", "\\boxed{100000000!}", "fail"),
    ("hostile_huge_power", "2", "\\boxed{2^{1000000}}", "fail"),
    ("hostile_huge_literal", "1", "\\boxed{" + "9" * 30000 + "}", "fail"),
    ("hostile_deep_nesting", "1", "\\boxed{" + "{" * 3000 + "1" + "}" * 3000 + "}", "unparseable"),
    ("hostile_deep_parens", "1", "\\boxed{" + "(" * 500 + "1" + ")" * 500 + "}", "unparseable"),
    ("hostile_long_answer", "1", "\\boxed{" + "1+" * 3000 + "1}", "unparseable"),
    ("hostile_nul_byte", "12", "\\boxed{1\x002}", "unparseable"),
    ("hostile_nul_response", "12", "\x00\x00 The answer is \\boxed{12}", "pass"),
    ("hostile_garbage_latex", "5", "\\boxed{\\frac{}{}}", "unparseable"),
    # bad golds: the dataset is wrong
    ("bad_gold_unparseable", "\\frac{", "\\boxed{3}", "error"),
    ("bad_gold_empty", "", "\\boxed{3}", "error"),
    ("bad_gold_nul", "1\x002", "\\boxed{12}", "error"),
]


def rows() -> list[dict]:
    out = []
    for note, gold, equal, different in GROUPS:
        for index, answer in enumerate(equal):
            out.append(_row(gold, WRAPS[index % len(WRAPS)](answer), "pass", note))
        for index, answer in enumerate(different):
            out.append(_row(gold, WRAPS[(index + 1) % len(WRAPS)](answer), "fail", note))
        out.append(_row(gold, f"We get \\boxed{{{equal[0]}}}.", "pass", note + "/no_dollars"))
    for note, gold, response, status in SPECIAL:
        out.append(_row(gold, response, status, note))
    out.append(
        {
            "reference": {},
            "response": "\\boxed{3}",
            "status": "error",
            "code": "bad_reference",
            "note": "bad_gold_missing_key",
        }
    )
    return out + independent_rows()


def independent_rows() -> list[dict]:
    """QA's independent cases (``independent_cases.jsonl``) marked ``golden``: the confident
    ones."""
    rows = [
        json.loads(line)
        for line in INDEPENDENT.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [
        {key: row[key] for key in ("reference", "response", "status", "note")}
        for row in rows
        if row["golden"]
    ]


def _row(gold: str, response: str, status: str, note: str) -> dict:
    row = {"reference": {"answer": gold}, "response": response, "status": status, "note": note}
    if status == "error":
        row["code"] = "bad_reference"
    return row


def main() -> None:
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows():
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows())} rows to {OUT}")


if __name__ == "__main__":
    main()
