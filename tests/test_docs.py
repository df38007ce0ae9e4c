"""The documentation: README.md and docs/ link only to files in the repo, and the README's
two commands are the ones that work (CI runs the README's test command as written)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "targets").rglob("*.md")])

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(?:<([^>]*)>|([^)\s]*))(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']*)["']""", re.I)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose(text: str) -> str:
    """The text without fenced code blocks and code spans, where link syntax is not a link."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    found = [(m.start(), next(g for g in m.groups() if g is not None))
             for pattern in (INLINE_LINK, REFERENCE_LINK, HTML_LINK) for m in pattern.finditer(body)]
    return [unquote(target) for _, target in sorted(found)]


def anchors(text: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, -1 on repeats."""
    seen: dict[str, int] = {}
    ids = set()
    for line in FENCE.sub("", text).splitlines():
        heading = re.match(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        ids.add(slug if n == 0 else f"{slug}-{n}")
    return ids


def name(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("doc", DOCS, ids=name)
def test_every_link_resolves_to_a_file_in_the_repo(doc: Path) -> None:
    problems = []
    for target in links(doc.read_text()):
        where, _, fragment = target.partition("#")
        if not target:
            problems.append("an empty link")
        elif SCHEME.match(target) or target.startswith("//"):
            problems.append(f"{target}: leaves the repo (write the address as plain text)")
        elif where.startswith("/"):
            problems.append(f"{target}: an absolute path; links are relative to the file")
        else:
            path = (doc.parent / where).resolve() if where else doc
            if not path.is_relative_to(REPO):
                problems.append(f"{target}: outside the repo")
            elif not path.exists():
                problems.append(f"{target}: no such file in the repo")
            elif fragment and path.suffix == ".md" and fragment not in anchors(path.read_text()):
                problems.append(f"{target}: {name(path)} has no heading #{fragment}")
    assert not problems, f"{name(doc)}: " + "; ".join(problems)


def test_the_link_checker_sees_links_and_only_links() -> None:
    text = ("[a](docs/x.md) [b](<y z.md> \"t\") ![c](img.png#k)\n[d]: ../e.md\n"
            "`[not](a-link)`\n```\n[nor](this)\n```\n<a href=\"f.md\">f</a>\n")
    assert links(text) == ["docs/x.md", "y z.md", "img.png#k", "../e.md", "f.md"]
    assert anchors("# A `b` c\n## stampede faults clear\n## A b c\n```\n# no\n```\n") == {
        "a-b-c", "stampede-faults-clear", "a-b-c-1"}


def test_every_docs_file_is_reachable_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    linked = {(REPO / t.partition("#")[0]).resolve() for t in links(readme)}
    missing = [name(p) for p in (REPO / "docs").glob("*.md") if p.resolve() not in linked]
    assert not missing, f"docs not linked from README.md: {missing}"


def commands_under(heading: str) -> list[str]:
    """The lines of the first ```sh block after `heading` in README.md."""
    readme = (REPO / "README.md").read_text()
    section = readme.split(f"\n{heading}\n", 1)[1]
    block = re.search(r"^```sh\n(.*?)^```", section, re.S | re.M)
    assert block, f"README.md: no ```sh block under {heading}"
    return block.group(1).splitlines()


def test_ci_runs_the_readme_test_command_as_written() -> None:
    readme = commands_under("### Run the tests")
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#") and ".venv/bin/pytest" in line]
    assert len(readme) == 1
    assert ci == readme, "README's test command and the one in .ci/run differ"


def test_the_readme_game_day_command_runs_the_default_experiment() -> None:
    [command] = commands_under("### Run the default game day")
    assert command.endswith(".venv/bin/stampede run experiments/default.yaml")
    assert (REPO / "experiments" / "default.yaml").is_file()


def test_no_pointer_to_documents_that_are_not_in_the_repo() -> None:
    gone = ("DESIGN" + ".md", "TOXIPROXY_API" + ".md")
    roots = [REPO / d for d in ("harness", "targets", "tests", "experiments", "examples",
                                "benchmarks", "docs", ".ci")]
    files = [REPO / "README.md", REPO / "docker-compose.yml", REPO / "pyproject.toml"]
    files += [p for root in roots for p in root.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts
              and p.suffix in {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".txt", ""}]
    found = [f"{name(p)}: {word}" for p in files for word in gone
             if word in p.read_text(errors="replace")]
    assert not found, found
