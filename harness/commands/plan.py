"""`stampede plan FILE`: the resolved timeline, without starting anything."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.exit_codes import ExitCode


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's subcommands to the `stampede` parser."""
    parser = subparsers.add_parser(
        "plan", help="validate an experiment file and print its resolved timeline",
        description="Validate an experiment file and print what a run would do, "
                    "with time_scale applied. Starts nothing.",
    )
    parser.add_argument("file", help="experiment YAML file")
    parser.add_argument("--time-scale", type=float, default=None, metavar="X",
                        help="multiply every time in the file by X (overrides time_scale)")
    parser.add_argument("--target", default=None, metavar="FILE",
                        help="target file whose target, proxies and allowed_hosts replace the "
                             "experiment's (e.g. experiments/targets/compose.yaml)")
    parser.add_argument("--json", action="store_true",
                        help="print the resolved experiment (experiment.json) instead")
    parser.set_defaults(func=plan_command)


def plan_command(args: argparse.Namespace) -> int:
    from harness.experiment import ExperimentError, load_experiment
    from harness.suites import is_suite, plan_suite

    if is_suite(args.file):
        return plan_suite(args.file, args.time_scale)
    try:
        experiment = load_experiment(args.file, time_scale=args.time_scale,
                                     target_file=args.target)
    except ExperimentError as exc:
        print(exc, file=sys.stderr)
        return ExitCode.BAD_INPUT
    resolved = experiment.resolved()
    if args.json:
        print(json.dumps(resolved, indent=2))
        return ExitCode.PASSED
    lines = plan_lines(resolved)
    if experiment.explore is not None:  # the search's budget, its vary path checked
        from harness.explore.budget import plan_lines as explore_lines
        from harness.explore.setup import load_explore

        try:
            lines += explore_lines(load_explore(args.file, time_scale=args.time_scale))
        except ExperimentError as exc:
            print(exc, file=sys.stderr)
            return ExitCode.BAD_INPUT
    print("\n".join(lines))
    return ExitCode.PASSED


def plan_lines(resolved: dict[str, Any]) -> list[str]:
    """The plan as a reader scans it: phases and faults in time order, then what is judged."""
    load, target = resolved["load"], resolved["target"]
    lines = [
        f"experiment {resolved['name']}: {resolved['duration']:g}s "
        f"(time_scale {resolved['time_scale']:g})",
    ]
    if resolved.get("description"):
        lines.append(f"  {resolved['description'].strip().splitlines()[0]}")
    from harness.experiment.model import DEFAULT_LOCUSTFILE

    flaws = f", flaws: {', '.join(target['flaws'])}" if target.get("flaws") else ""
    if target["kind"] == "embedded":
        service = target.get("service", "shop")
        where = "the reference shop" if service == "shop" else f"service {service}"
        lines.append(f"target   embedded: {where}, started by stampede{flaws}")
        if service == "shop" and Path(load["locustfile"]) != Path(DEFAULT_LOCUSTFILE):
            lines.append(f"         note: load.locustfile {load['locustfile']} is not the shop's, "
                         "yet with no --target its requests go to the reference shop; give "
                         "--target FILE to run it against your service")
    else:
        lines.append(f"target   external ({target.get('base_url')}){flaws}; signals from "
                     f"{(resolved.get('signals') or {}).get('source', 'scrape')}")
    if resolved.get("proxies"):
        lines.append("proxies  " + ", ".join(
            f"{name} ({'must exist' if spec['expect'] else spec['listen'] + ' -> ' + spec['upstream']})"
            for name, spec in resolved["proxies"].items()))
    classes = ", ".join(
        u["name"] + (f" (weight {u['weight']})" if u["weight"] != 1 else "")
        for u in load["user_classes"]
    ) or "all user classes"
    if load["stages"]:
        shape = "; ".join(f"to {s['end']:g}s: {s['users']} users" for s in load["stages"])
    else:
        shape = f"{load['users']} users at {load['spawn_rate']:g}/s"
    lines.append(f"load     {shape}; {load['workers']} worker(s); {load['locustfile']} [{classes}]")
    lines.append("")
    lines.append("timeline (run seconds)")
    events: list[tuple[float, int, str]] = [(0.0, 0, "load starts")]
    steady = resolved["steady_state"]
    if steady:
        events.append((steady["start"], 1, "steady window begins (baseline)"))
        events.append((steady["end"], 1, "steady window ends"))
    for fault in resolved["faults"]:
        attrs = " ".join(f"{k}={v}" for k, v in fault["attributes"].items())
        on = f" on {fault['proxy']}" if fault["proxy"] else ""
        extra = ""
        if fault["proxy"] and fault["type"] != "down":
            extra = f" [{fault['stream']}, toxicity {fault['toxicity']:g}]"
        if fault["start"] == fault["end"]:
            events.append((fault["start"], 2, f"action {fault['name']}: {fault['type']} {attrs}".rstrip()))
        else:
            events.append((fault["start"], 2,
                           f"fault  {fault['name']}: {fault['type']}{on} {attrs}{extra}".rstrip()
                           + f" until {fault['end']:g}s"))
            events.append((fault["end"], 1, f"heal   {fault['name']}"))
    events.append((resolved["duration"], 3, "load stops"))
    for t, _, text in sorted(events, key=lambda e: (e[0], e[1])):
        lines.append(f"  {t:8.2f}s  {text}")
    lines.append("")
    lines.append("invariants")
    for entry in resolved["invariants"] or [{"name": "(none)"}]:
        params = ", ".join(f"{k}={v}" for k, v in entry.items() if k != "name")
        lines.append(f"  - {entry['name']}" + (f" ({params})" if params else ""))
    if resolved["halt"]:
        lines.append("halt when")
        for cond in resolved["halt"]:
            lines.append(f"  - {cond['metric']} above {cond['above']:g} for {cond['for']:g}s")
    return lines
