"""Where `load.locustfile` is: checked when the experiment loads, used when Locust starts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def resolve_locustfile(locustfile: str, experiment_dir: Path | None) -> Path:
    """A relative locustfile is looked up next to the experiment, in the current folder,
    in the project, and finally as an installed module path (`targets/shop/locustfile.py`)."""
    path = Path(locustfile)
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [base / path for base in (experiment_dir, Path.cwd(), PROJECT_ROOT) if base]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    module = locustfile.removesuffix(".py").replace("/", ".").replace("\\", ".")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec and spec.origin:
        return Path(spec.origin)
    raise FileNotFoundError(
        f"load.locustfile: {locustfile} not found (looked in "
        f"{', '.join(str(c.parent) for c in candidates)})")
