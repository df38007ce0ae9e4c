"""YAML with line numbers, so every validation error can point at the line to fix."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]


class MarkedLoader(yaml.SafeLoader):
    """A SafeLoader that also remembers, for every key and list item, the line it sits on."""

    def load_with_marks(self) -> tuple[Any, dict[Path, int], list[tuple[Path, int, str]]]:
        """Return (data, {path: line}, duplicate keys); lines are 1-based."""
        try:
            node = self.get_single_node()
            if node is None:
                return None, {}, []
            marks: dict[Path, int] = {(): node.start_mark.line + 1}
            duplicates: list[tuple[Path, int, str]] = []
            _walk(node, (), marks, duplicates)
            return self.construct_document(node), marks, duplicates
        finally:
            self.dispose()


def _walk(node: yaml.Node, path: Path, marks: dict[Path, int], dups: list[Any]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, key)
            if key in seen:
                dups.append((child, key_node.start_mark.line + 1, key))
            seen.add(key)
            # The key's line: that is where a reader looks for `for: 3 minutes`.
            marks[child] = key_node.start_mark.line + 1
            _walk(value_node, child, marks, dups)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            marks[child] = item.start_mark.line + 1
            _walk(item, child, marks, dups)


def load_marked(text: str) -> tuple[Any, dict[Path, int], list[tuple[Path, int, str]]]:
    """Parse YAML text; raises yaml.YAMLError (with its own mark) on bad syntax."""
    return MarkedLoader(text).load_with_marks()


def line_of(marks: dict[Path, int], path: Path) -> int:
    """The line of path, or of its nearest ancestor that the file spells out."""
    while path not in marks and path:
        path = path[:-1]
    return marks.get(path, 1)
