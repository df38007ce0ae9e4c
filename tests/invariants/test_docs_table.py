"""The invariants table in the docs is generated from the parameter models, never retyped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.invariants import INVARIANTS
from harness.invariants.registry import doc_row

DOCS = Path(__file__).resolve().parents[2] / "docs" / "invariants.md"
ROW = re.compile(r"^\| `(\w+)` \|")


def invariants_section() -> list[str]:
    """The lines under the "Invariants" heading, to the next heading of its level or higher."""
    lines, fenced = [], False
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        fenced ^= line.startswith("```")
        lines.append("" if fenced else line)  # a `# comment` in a code block is no heading
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"#+ Invariants", line))
    level = lines[start].index(" ")
    end = next((i for i in range(start + 1, len(lines))
                if re.match(rf"#{{1,{level}}} ", lines[i])), len(lines))
    return lines[start + 1:end]


def table_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in invariants_section():
        match = ROW.match(line)
        if match:
            rows.setdefault(match.group(1), []).append(line)
    return rows


@pytest.mark.parametrize("name", sorted(INVARIANTS))
def test_docs_row_is_the_model_docstring_and_fields(name: str) -> None:
    assert table_rows().get(name) == [doc_row(name)]


def test_docs_table_lists_only_registered_invariants() -> None:
    assert set(table_rows()) == set(INVARIANTS)
