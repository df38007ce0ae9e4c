"""The PromQL subset the scrape source evaluates itself: a selector, optionally compared.

`name{label="v", other=~"a|b"} > 0`: an instant-vector selector (matchers `=`, `!=`, `=~`,
`!~`, regexes anchored as PromQL anchors them), then optionally a comparison with a
number, which keeps the series that satisfy it (or, with `bool`, turns each into 1/0).
The series left are summed; none left is 0 (a counter that has not appeared yet has not
counted anything). Anything else is PromQL a Prometheus server must evaluate.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.signals.exposition import Sample

NEEDS_PROMETHEUS = ("the scrape source evaluates only a selector with label matchers "
                    "(=, !=, =~, !~), optionally compared with a number, e.g. "
                    "'app_breaker_state{name=\"redis\",state=\"open\"} == 1'; for any other "
                    "PromQL set target.prometheus_url")

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">=": operator.ge, "<=": operator.le,
    ">": operator.gt, "<": operator.lt,
}
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>=~|!~|==|!=|>=|<=|[=<>{},])
    | (?P<number>[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
    | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
    | (?P<other>\S)
    )""", re.VERBOSE)


class SignalSyntaxError(ValueError):
    """An expression the scrape source cannot evaluate; the message says what to write."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str  # = != =~ !~
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        have = labels.get(self.label, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        found = re.fullmatch(self.value, have) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Selector:
    """A parsed expression: metric name, matchers, optional comparison."""

    text: str
    name: str | None
    matchers: tuple[Matcher, ...]
    comparison: tuple[str, float, bool] | None = None  # (op, number, bool modifier)

    def matching(self, samples: Iterable[Sample]) -> list[Sample]:
        out = []
        for sample in samples:
            if self.name is not None and sample.name != self.name:
                continue
            labels = sample.label_dict()
            labels["__name__"] = sample.name
            if all(m.matches(labels) for m in self.matchers):
                out.append(sample)
        return out

    def evaluate(self, samples: Iterable[Sample]) -> float:
        """Sum of the matching series after the comparison; 0 when none is left."""
        return self.evaluate_matched(samples)[0]

    def evaluate_matched(self, samples: Iterable[Sample]) -> tuple[float, bool]:
        """(value, whether the selector matched any series at all, before the comparison)."""
        total = 0.0
        matching = self.matching(samples)
        for sample in matching:
            value = sample.value
            if self.comparison is not None:
                op, number, as_bool = self.comparison
                holds = _COMPARISONS[op](value, number)
                if as_bool:
                    value = 1.0 if holds else 0.0
                elif not holds:
                    continue
            total += value
        return total, bool(matching)


def parse_selector(text: str) -> Selector:
    """Parse one expression of the subset; SignalSyntaxError says what is wrong and the fix."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str]:
        return tokens[pos] if pos < len(tokens) else ("end", "")

    name: str | None = None
    kind, value = peek()
    if kind == "ident":
        name, pos = value, pos + 1
    matchers: list[Matcher] = []
    if peek() == ("op", "{"):
        pos += 1
        while peek() != ("op", "}"):
            kind, label = peek()
            if kind != "ident":
                raise SignalSyntaxError(f"{text!r}: expected a label name inside {{...}}, "
                                        f"got {label or 'the end'!r}")
            kind, op = tokens[pos + 1] if pos + 1 < len(tokens) else ("end", "")
            if op not in ("=", "!=", "=~", "!~"):
                raise SignalSyntaxError(f"{text!r}: expected =, !=, =~ or !~ after label "
                                        f"{label!r}, got {op or 'the end'!r}")
            kind, quoted = tokens[pos + 2] if pos + 2 < len(tokens) else ("end", "")
            if kind != "string":
                raise SignalSyntaxError(f"{text!r}: the value of label {label!r} must be "
                                        f'quoted, e.g. {label}{op}"value"')
            literal = _unquote(quoted)
            if op in ("=~", "!~"):
                try:
                    re.compile(literal)
                except re.error as exc:
                    raise SignalSyntaxError(f"{text!r}: regex {literal!r} of label "
                                            f"{label!r} does not compile: {exc}") from None
            matchers.append(Matcher(label, op, literal))
            pos += 3
            if peek() == ("op", ","):
                pos += 1
            elif peek() != ("op", "}"):
                raise SignalSyntaxError(f"{text!r}: expected , or }} after a label matcher")
        pos += 1
    if name is None and not matchers:
        raise SignalSyntaxError(f"{text!r}: expected a metric name or {{label matchers}}; "
                                f"{NEEDS_PROMETHEUS}")
    if name is None and not any(m.op == "=" and m.label == "__name__" for m in matchers) \
            and all(re.fullmatch(m.value, "") if m.op == "=~" else m.value == ""
                    for m in matchers if m.op in ("=", "=~")):
        raise SignalSyntaxError(f"{text!r}: a selector without a name needs a matcher "
                                "that excludes the empty value (PromQL refuses it too)")
    comparison = None
    kind, value = peek()
    if kind == "op" and value in _COMPARISONS:
        pos += 1
        as_bool = peek() == ("ident", "bool")
        if as_bool:
            pos += 1
        kind, number = peek()
        if kind == "ident" and number.lower() in ("inf", "nan"):
            kind = "number"
        if kind != "number":
            raise SignalSyntaxError(f"{text!r}: a comparison must be with a number "
                                    f"(e.g. {value} 1); {NEEDS_PROMETHEUS}")
        comparison = (value, float(number), as_bool)
        pos += 1
    if pos != len(tokens):
        rest = "".join(v for _, v in tokens[pos:])
        raise SignalSyntaxError(f"{text!r}: cannot evaluate {rest!r} without a Prometheus "
                                f"server; {NEEDS_PROMETHEUS}")
    return Selector(text=text.strip(), name=name, matchers=tuple(matchers), comparison=comparison)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        value = match.group(kind)
        if kind == "other":
            raise SignalSyntaxError(f"{text!r}: unexpected {value!r}; {NEEDS_PROMETHEUS}")
        tokens.append((kind, value))
    if not tokens:
        raise SignalSyntaxError("an empty expression; write a selector such as "
                                "'app_cache_total{outcome=\"hit\"}'")
    return tokens


def _unquote(quoted: str) -> str:
    body = quoted[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
