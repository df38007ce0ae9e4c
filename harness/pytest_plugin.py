"""pytest plugin (entry point `stampede`): experiment files become tests, one per invariant.

    pytest experiments/redis_outage.yaml                    run it once, judge each invariant
    pytest --stampede-results results/<run>                 judge a stored run, run nothing
    pytest experiments/x.yaml --stampede-results DIR        judge DIR with x.yaml's invariants

A YAML file is an experiment when it has top-level `name` and `invariants` keys and was
named on the command line, or a folder given on the command line is (or is inside) an
`experiments` folder and holds it. The experiment
runs in a subprocess (`python -m harness run FILE --out DIR`) because Locust patches the
process it runs in. Failures show the invariant's one-line reason, not a traceback; JUnit
XML gets `measured`, `bound` and `window` properties.

For experiments written in Python, the `stampede_run` fixture runs a file and returns its
RunResult, judged with harness.invariants: `run = stampede_run("experiments/x.yaml");
expect(run, "bounded_error_rate", ...)`.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from harness.exit_codes import ExitCode
from harness.results import files

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle
    from _pytest.terminal import TerminalReporter

    from harness.results import RunResult

# passed, an invariant failed, halted: the folder is there to judge
RUN_EXIT_CODES = (ExitCode.PASSED, ExitCode.INVARIANT_FAILED, ExitCode.HALTED)
STDERR_TAIL_LINES = 30


@dataclass
class Runs:
    """Every run of this session, so each experiment runs once however many items judge it."""

    by_file: dict[Path, RunResult | RunFailed] = field(default_factory=dict)
    by_call: dict[tuple[Path, float | None], RunResult] = field(default_factory=dict)
    folders: list[tuple[Path, Path, int]] = field(default_factory=list)  # file, folder, exit


_RUNS = pytest.StashKey[Runs]()


class RunFailed(Exception):
    """The runner could not produce a results folder (bad input, stack did not start)."""


class InvariantFailed(Exception):
    def __init__(self, verdict: Any) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stampede", "stampede chaos experiments")
    group.addoption("--stampede-results", metavar="DIR", default=None,
                    help="judge this stored results folder instead of running experiments")
    group.addoption("--stampede-out", metavar="DIR", default=None,
                    help="parent folder for run folders (default: pytest's temporary folder)")
    group.addoption("--stampede-time-scale", metavar="X", type=float, default=None,
                    help="pass --time-scale X to every experiment run")
    group.addoption("--stampede-timeout", metavar="SECONDS", type=float, default=1800.0,
                    help="give up on one experiment run after this long (default 1800)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RUNS] = Runs()
    stored = config.getoption("stampede_results", None)
    if stored is None:
        return
    folder = Path(stored)
    if not (folder / files.EXPERIMENT).is_file():
        raise pytest.UsageError(
            f"--stampede-results {stored}: no experiment.json there; give a folder that "
            "`stampede run` wrote (it prints 'results: <folder>')")
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args = [str(folder)]  # judge only the stored run, not the whole test suite


def _asked_for(config: pytest.Config, path: Path) -> bool:
    """Named on the command line, or inside a command-line folder at or under `experiments/`.

    So `pytest experiments/` runs the catalogue, while `pytest` or `pytest tests/` never
    runs an experiment file that a test keeps as a fixture under some tests/.../experiments/.
    """
    base = config.invocation_params.dir
    path = path.resolve()
    for arg in config.args:
        given = (base / arg.split("::")[0]).resolve()
        if given == path:
            return True
        if "experiments" in given.parts and path.is_relative_to(given):
            return True
    return False


def _is_experiment(path: Path) -> bool:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "name" in data and "invariants" in data


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    stored = config.getoption("stampede_results", None)
    if (stored and file_path.name == files.EXPERIMENT
            and file_path.parent.resolve() == Path(stored).resolve()):
        return ExperimentFile.from_parent(parent, path=file_path)
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    if _asked_for(config, file_path) and _is_experiment(file_path):
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


def _entries_of(path: Path) -> list[dict[str, Any]]:
    import json

    if path.suffix == ".json":
        data = json.loads(path.read_text())
    else:
        data = yaml.safe_load(path.read_text())
    entries = (data or {}).get("invariants") or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: invariants must be a list of {{name: ..., ...}} entries")
    return [e if isinstance(e, dict) else {"name": e} for e in entries]


class ExperimentFile(pytest.File):
    """An experiment (or a stored run's experiment.json): one item per invariant."""

    def collect(self) -> Iterator[InvariantItem]:
        from harness.invariants.registry import unique_ids

        try:
            entries = _entries_of(self.path)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise self.CollectError(f"{self.path}: cannot read invariants: {exc}") from None
        for entry, vid in zip(entries, unique_ids(entries), strict=True):
            yield InvariantItem.from_parent(self, name=vid, entry=entry)

    def run_result(self) -> RunResult:
        """The RunResult this file's items judge: the stored folder, or one run of the file."""
        runs = self.config.stash[_RUNS].by_file
        if self.path not in runs:
            try:
                runs[self.path] = _result_for(self.config, self.path)
            except RunFailed as exc:
                runs[self.path] = exc
        outcome = runs[self.path]
        if isinstance(outcome, RunFailed):
            raise outcome
        return outcome


class InvariantItem(pytest.Item):
    def __init__(self, *, entry: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entry = entry

    def runtest(self) -> None:
        from harness.invariants.registry import judge

        assert isinstance(self.parent, ExperimentFile)
        result = self.parent.run_result()
        verdict = judge(result, self.entry, id=self.name)
        self.user_properties += [
            ("measured", verdict.measured_text()),
            ("bound", verdict.bound_text()),
            ("window", verdict.window),
            ("results", str(result.path)),
        ]
        if not verdict.passed:
            raise InvariantFailed(verdict)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, InvariantFailed | RunFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        # the failure's headline; dots would read as module separators, so none in it
        return self.path, None, self.name.replace(".", "\u2024")


def _result_for(config: pytest.Config, path: Path) -> RunResult:
    from harness.results import RunResult

    stored = config.getoption("stampede_results", None)
    if stored:
        return RunResult.load(stored)
    return RunResult.load(run_experiment(config, path))


def _out_dir(config: pytest.Config, stem: str) -> Path:
    chosen = config.getoption("stampede_out", None)
    if chosen:
        out = Path(chosen)
        out.mkdir(parents=True, exist_ok=True)
        return out
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        return Path(factory.mktemp(f"stampede-{stem}"))
    return Path(tempfile.mkdtemp(prefix=f"stampede-{stem}-"))


def run_experiment(config: pytest.Config, path: Path, time_scale: float | None = None) -> Path:
    """Run one experiment in a subprocess; return its results folder or raise RunFailed."""
    out = _out_dir(config, path.stem)
    before = {p for p in out.iterdir() if p.is_dir()}
    cmd = [sys.executable, "-m", "harness", "run", str(path), "--out", str(out)]
    scale = time_scale if time_scale is not None else config.getoption("stampede_time_scale", None)
    if scale is not None:
        cmd += ["--time-scale", str(scale)]
    timeout = config.getoption("stampede_timeout", 1800.0)
    log = out / f"{path.stem}.runner.log"
    with log.open("wb") as stdout, tempfile.TemporaryFile() as stderr:
        try:
            proc = subprocess.run(cmd, stdout=stdout, stderr=stderr, timeout=timeout,
                                  cwd=config.invocation_params.dir)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = None
        stderr.seek(0)
        err = stderr.read().decode(errors="replace")
    with log.open("a") as fh:
        fh.write(err)
    tail = "\n".join(err.rstrip().splitlines()[-STDERR_TAIL_LINES:])
    if code is None:
        raise RunFailed(f"stampede run {path} did not finish within {timeout:g}s "
                        f"(--stampede-timeout); output in {log}\n{tail}")
    if code not in RUN_EXIT_CODES:
        raise RunFailed(f"stampede run {path} failed with exit status {code}; output in {log}\n{tail}")
    made = sorted((p for p in out.iterdir() if p.is_dir() and p not in before),
                  key=lambda p: p.stat().st_mtime)
    if not made:
        raise RunFailed(f"stampede run {path} exited {code} but wrote no results folder in {out}\n{tail}")
    config.stash[_RUNS].folders.append((path, made[-1], code))
    return made[-1]


def pytest_terminal_summary(terminalreporter: TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    for path, folder, code in config.stash.get(_RUNS, Runs()).folders:
        note = {2: " (aborted by a halt condition)"}.get(code, "")
        terminalreporter.write_line(f"stampede: {path.name} -> {folder}{note}")


@pytest.fixture
def stampede_run(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Run an experiment file once per session (or use --stampede-results) -> RunResult.

        from harness.invariants import expect

        def test_outage(stampede_run):
            run = stampede_run("experiments/redis_outage.yaml")
            expect(run, "bounded_error_rate", window="during:redis-outage", max=0.05)
    """
    from harness.results import RunResult

    config = request.config

    def run(path: str | Path, *, time_scale: float | None = None) -> RunResult:
        stored = config.getoption("stampede_results", None)
        if stored:
            return RunResult.load(stored)
        key = (Path(path).resolve(), time_scale)
        runs = config.stash[_RUNS].by_call
        if key not in runs:
            try:
                runs[key] = RunResult.load(run_experiment(config, Path(path), time_scale))
            except RunFailed as exc:
                pytest.fail(str(exc), pytrace=False)
        return runs[key]

    return run
