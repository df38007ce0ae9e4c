"""Which cases of the slowest end-to-end tests a CI run takes: a rotating subset.

A whole game day per case is too slow to run every case on every CI run, so each of those
tests runs `per_run` of its cases, chosen by the day of the year: consecutive nightly runs
cover every case. An environment variable picks instead: `all`, or a comma-separated list.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence


def todays_cases(names: Sequence[str], per_run: int, env_var: str,
                 env: str | None = None, today: dt.date | None = None) -> list[str]:
    """`$env_var` = all, or a comma-separated list of names; else `per_run` names by day."""
    env = os.environ.get(env_var) if env is None else env
    if env:
        if env.strip() == "all":
            return list(names)
        chosen = [n.strip() for n in env.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            raise ValueError(f"{env_var}: unknown case {', '.join(unknown)}; "
                             f"valid: all, {', '.join(names)}")
        return chosen
    day = (today or dt.date.today()).timetuple().tm_yday
    return [names[(day * per_run + i) % len(names)] for i in range(min(per_run, len(names)))]
