"""verifiers.jsonl: one decoder for the JSONL lines rlvr reads (inputs, golden tables, audits)."""

import pytest

from verifiers.jsonl import (
    BAD_JSON,
    EMPTY_LINE,
    NOT_AN_OBJECT,
    BadLine,
    decode_line,
    open_jsonl,
    table_lines,
)


@pytest.mark.parametrize(
    "line, code, described",
    [
        ("", EMPTY_LINE, "empty line"),
        (" \t\r\n", EMPTY_LINE, "empty line"),
        ("{oops", BAD_JSON, "not valid JSON (Expecting property name enclosed in double quotes"),
        ("[" * 100_000, BAD_JSON, "not valid JSON (maximum recursion depth exceeded"),
        ("[1, 2]", NOT_AN_OBJECT, "expected a JSON object, got list"),
        ("null", NOT_AN_OBJECT, "expected a JSON object, got NoneType"),
    ],
)
def test_a_line_without_an_object_says_why(line, code, described):
    bad = decode_line(line)
    assert isinstance(bad, BadLine) and bad.code == code
    assert bad.describe().startswith(described)


def test_the_parser_message_is_cut_where_each_reader_asks():
    bad = decode_line('{"a": "' + "x" * 500)
    assert len(bad.describe(json_error_chars=10)) == len("not valid JSON ()") + 10


def test_files_skip_a_bom_end_lines_at_newline_only_and_replace_bad_bytes(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n{"b": "\xff"}\n{"c": 1}\r{"d": 2}\n')
    with open_jsonl(path) as fh:
        decoded = [decode_line(line) for line in fh]
    assert decoded[:2] == [{"a": 1}, {"b": "\ufffd"}]
    assert decoded[2].code == BAD_JSON  # a lone \r does not end a line
    assert table_lines(path)[2:] == ['{"c": 1}', '{"d": 2}']  # tables split at every boundary
