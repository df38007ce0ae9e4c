"""A problem found in an input file, as every checker reports it: the field's path and what
is wrong with it. The loaders add the file and line; the message says the fix."""

from __future__ import annotations

import difflib

FieldPath = tuple[str | int, ...]  # ("faults", 0, "attributes", "latency")
Problem = tuple[FieldPath, str]


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`; did you mean "x"?` when a choice is close, else "." (so a sentence can follow)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else "."
