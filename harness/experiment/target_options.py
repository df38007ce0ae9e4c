"""`target.options` checked against the target's own command line before anything starts.

The embedded stack turns each option into a flag of the target (`cache_timeout_ms: 50` ->
`--cache-timeout-ms 50`). Checked only by the target itself, an unknown option would
start Redis, PostgreSQL and the proxy before the target refuses it; and a secret given
as an option would sit on a command line that anyone on the machine can read.
"""

from __future__ import annotations

import argparse
from typing import Any

from harness.experiment.model import EmbeddedTarget, ExternalTarget
from harness.masking import is_secret_key, mask_secrets
from harness.problems import Problem, did_you_mean
from harness.target_service import target_service

# Flags the embedded stack sets itself.
MANAGED = {
    "port": "the embedded stack picks a free port itself",
    "flaw": "list flaws under `target.flaws`",
}


def target_option_problems(target: EmbeddedTarget | ExternalTarget) -> list[Problem]:
    """The embedded target's options against its command line, as its service declares it
    (an unknown service is reported by the target checks)."""
    if not isinstance(target, EmbeddedTarget) or not target.options:
        return []
    try:
        service = target_service(target.service)
    except LookupError:
        return []
    if service.option_parser is None:
        return [(("target", "options"), f"the {service.name} service takes no options")]
    return option_problems(target.options, service.option_parser())


def option_problems(options: dict[str, Any], parser: argparse.ArgumentParser) -> list[Problem]:
    """Every option the target's parser would refuse, or that must not be a flag at all."""
    actions = {opt: action for action in parser._actions for opt in action.option_strings}
    names = sorted(opt[2:].replace("-", "_") for opt in actions if opt.startswith("--")
                   and opt != "--help")
    problems: list[Problem] = []
    for key, value in options.items():
        path = ("target", "options", key)
        flag = "--" + str(key).replace("_", "-")
        if key in MANAGED:
            problems.append((path, f"not an option here: {MANAGED[key]}"))
            continue
        action = actions.get(flag)
        if action is None or flag == "--help":
            problems.append((path, f'unknown option "{key}"{did_you_mean(str(key), names)} '
                                   f"Options: {', '.join(n for n in names if n not in MANAGED)}"))
            continue
        if is_secret_key(key) or (isinstance(value, str) and mask_secrets(value) != value):
            problems.append((path, "a secret here would be on the target's command line, which "
                                   "anyone on the machine can read; pass it in the target's "
                                   "environment instead"))
            continue
        problem = _value_problem(action, value)
        if problem:
            problems.append((path, problem))
    return problems


def _value_problem(action: argparse.Action, value: Any) -> str | None:
    """What the target would say about `--flag value`, as the runner passes it."""
    takes_value = action.nargs != 0
    if value is None or value is False:
        return None  # left out of the command line
    if value is True:
        return None if not takes_value else "expected a value, not true"
    if not takes_value:
        return f"a switch: write true or false, got {value!r}"
    if isinstance(value, dict | list):
        return f"expected a single value, got {value!r}"
    convert = action.type if callable(action.type) else str
    try:
        converted = convert(str(value))
    except (ValueError, TypeError, argparse.ArgumentTypeError):
        kind = getattr(convert, "__name__", "value")
        wanted = {"int": "a whole number", "float": "a number"}.get(kind, f"a {kind}")
        return f"expected {wanted}, got {value!r}"
    if action.choices is not None and converted not in action.choices:
        return f"expected one of {', '.join(map(str, action.choices))}, got {value!r}"
    return None
