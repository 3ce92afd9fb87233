"""Plain text to Atlassian Document Format and back, and Jira's wiki markup as plain text."""

from __future__ import annotations

from typing import Any

import pytest

from ticketsync.adapters.jira import adf

SUMMARY = "CUSTOMER ISSUE:\nI was charged twice\n\nTOOLS USED: none"


def paragraph(text: str | None) -> dict[str, Any]:
    content = [] if text is None else [{"type": "text", "text": text}]
    return {"type": "paragraph", "content": content}


def text_nodes(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "text" else []
        return found + [n for child in node.get("content", []) for n in text_nodes(child)]
    return []


def test_one_paragraph_per_line_and_blank_lines_have_no_text_node() -> None:
    assert adf.to_adf(SUMMARY) == {
        "type": "doc",
        "version": 1,
        "content": [
            paragraph("CUSTOMER ISSUE:"),
            paragraph("I was charged twice"),
            paragraph(None),
            paragraph("TOOLS USED: none"),
        ],
    }


@pytest.mark.parametrize("text", ["", "\n", "a\r\nb", "\n\nx\n", "  spaced  "])
def test_never_an_empty_text_node(text: str) -> None:
    assert all(node["text"] for node in text_nodes(adf.to_adf(text)))


@pytest.mark.parametrize("text", [SUMMARY, "one line", "a\n\n\nb", "Internal note\n\nx"])
def test_text_survives_the_round_trip(text: str) -> None:
    assert adf.to_text(adf.to_adf(text)) == text


def test_adf_from_the_editor_reads_as_text() -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Hi "},
                    {"type": "mention", "attrs": {"id": "5b10", "text": "@Rita"}},
                    {"type": "text", "text": ", bold", "marks": [{"type": "strong"}]},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "next line"},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {"type": "listItem", "content": [paragraph("first")]},
                    {"type": "listItem", "content": [paragraph("second")]},
                ],
            },
            {"type": "codeBlock", "content": [{"type": "text", "text": "a = 1\nb = 2"}]},
        ],
    }
    assert adf.to_text(document) == "Hi @Rita, bold\nnext line\n- first\n- second\na = 1\nb = 2"


WIKI = [
    pytest.param("plain words", "plain words", id="plain"),
    pytest.param(
        "*bold* and _italic_ and -gone- +ins+", "bold and italic and gone ins", id="marks"
    ),
    pytest.param("2*3*4 and snake_case_name", "2*3*4 and snake_case_name", id="not-marks"),
    pytest.param("Hi [~accountid:557058:f1e2], thanks", "Hi @user, thanks", id="mention"),
    pytest.param(
        "see [the docs|https://x.test/d] or [https://y.test]",
        "see the docs or https://y.test",
        id="links",
    ),
    pytest.param("h2. Title\nbq. quoted", "Title\nquoted", id="heading-quote"),
    pytest.param("* one\n** two\n# three", "- one\n- two\n- three", id="lists"),
    pytest.param("line one\\\\line two", "line one\nline two", id="forced-break"),
    pytest.param("{code:python}x = *a*\n{code}", "x = *a*", id="code-kept-as-is"),
    pytest.param("{quote}said{quote} {color:red}red{color}", "said red", id="panels"),
    pytest.param("use {{make test}} !shot.png|thumbnail!", "use make test ", id="mono-image"),
    pytest.param("*_both_*", "both", id="nested"),
]


@pytest.mark.parametrize("wiki, text", WIKI)
def test_wiki_markup_reads_as_text(wiki: str, text: str) -> None:
    assert adf.to_text(wiki) == text


@pytest.mark.parametrize("body", [None, 42, ["x"]])
def test_neither_string_nor_document_is_empty_text(body: object) -> None:
    assert adf.to_text(body) == ""
