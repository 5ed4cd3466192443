"""Does counting cost the hot paths? ws_fanout and listener_fanout with host analytics off and on.

    .venv/bin/python bench/analytics_cost.py [--repeats N] [--only ws_fanout|listener_fanout]

Issue 14: with PARLEY_ANALYTICS on (the product default) the server notes room sockets, WebRTC
sessions, HLS playlist fetches and reactions in memory and writes them every 5 s; its figures
must stay within 5 % of those without. This runs each benchmark as its own subprocess
(`bench/ws_fanout.py --analytics off|on`, `bench/listener_fanout.py --analytics off|on`, each
starting its own server), the two arms back to back and in mirrored order from one repeat to the
next (off, on, then on, off, ...), so that a load that drifts on the shared machine weighs on
both arms alike. ws_fanout runs at its defaults; listener_fanout at fixed steps
(`--lf-steps`, a time budget large enough for all of them) so both arms measure the same
listener counts.

For each benchmark: each arm's figures (the median over the repeats), each figure's ratio on/off
(of the medians), the ratio within each adjacent off/on pair, the spread of the off arm alone
(how far two runs of the same code differ here: the noise), and `within_5_percent`
(|ratio - 1| <= 0.05). Each run's full JSON and its stderr are kept in --out-dir.

Progress goes to stderr; the last line of stdout is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import REPO, log, report

ARMS = ("off", "on")
TOLERANCE = 0.05

# The figures compared: their names in the benchmark's JSON -> the stem of their ratio's key.
WS_FIGURES = {
    "p50_ms": "p50",
    "p99_ms": "p99",
    "storm_server_cpu_s_per_s": "storm_cpu",
    "idle_server_cpu_s_per_s": "idle_cpu",
    # Derived here: the storm's server CPU over its wall time, per reaction sent. On a loaded
    # machine the server gets less than the core it wants and the storm lasts longer, so the
    # cores it used say little; the CPU each reaction cost says what the work costs.
    "storm_server_cpu_ms_per_reaction": "storm_cpu_per_reaction",
}


@dataclass(frozen=True)
class Job:
    bench: str  # "ws_fanout" or "listener_fanout"
    arm: str  # "off" or "on"
    repeat: int


def schedule(repeats: int, benches: list[str]) -> list[Job]:
    """off, on for each benchmark, then on, off, and so on: each arm as often first as second."""
    jobs: list[Job] = []
    for r in range(repeats):
        order = ARMS if r % 2 == 0 else ARMS[::-1]
        for bench in benches:
            jobs += [Job(bench, arm, r) for arm in order]
    return jobs


def command(args: argparse.Namespace, job: Job) -> list[str]:
    script = str(REPO / "bench" / f"{job.bench}.py")
    cmd = [sys.executable, script, "--analytics", job.arm]
    if job.bench == "ws_fanout":
        extra: list[str] = args.ws_args.split()
        return cmd + extra
    return [
        *cmd,
        "--steps",
        args.lf_steps,
        "--budget",
        str(args.lf_budget),
        "--wait-quiet",
        str(args.lf_wait_quiet),
        *args.lf_args.split(),
    ]


def run_one(args: argparse.Namespace, job: Job, out_dir: Path) -> dict[str, Any]:
    """Runs one benchmark as a subprocess; its JSON (or an error), with the wall time and the
    load average around it."""
    name = f"{job.bench}-r{job.repeat}-{job.arm}"
    cmd = command(args, job)
    log(f"{name}: {' '.join(cmd[1:])} (load {os.getloadavg()[0]:.2f})")
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with open(out_dir / f"{name}.stderr", "wb") as err:
        try:
            done = subprocess.run(
                cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err, timeout=args.run_timeout
            )
            stdout = done.stdout.decode(errors="replace")
            code: int | None = done.returncode
        except subprocess.TimeoutExpired as exc:  # the child was killed; it reports nothing
            stdout = (exc.stdout or b"").decode(errors="replace")
            code = None
    lines = stdout.strip().splitlines()
    result: dict[str, Any]
    try:
        result = json.loads(lines[-1]) if lines else {"error": "no output"}
    except json.JSONDecodeError:
        result = {"error": f"last line is not JSON: {lines[-1][:200]}"}
    if code != 0 and "error" not in result:
        result["error"] = f"exit code {code}"
    result["_wall_s"] = round(time.monotonic() - started, 1)
    result["_load_before"] = round(load_before, 2)
    result["_load_after"] = round(os.getloadavg()[0], 2)
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
    log(f"{name}: done in {result['_wall_s']}s (load {result['_load_after']:.2f})")
    return result


# --- figures of one run ----------------------------------------------------------------------
def ws_figures(run: dict[str, Any]) -> dict[str, float | None]:
    figures = {key: _number(run.get(key)) for key in WS_FIGURES}
    cores, wall = (
        _number(run.get("storm_server_cpu_s_per_s")),
        _number(run.get("storm_wall_seconds")),
    )
    sent = _number(run.get("storm_requests_sent"))
    figures["storm_server_cpu_ms_per_reaction"] = (
        round(cores * wall * 1000 / sent, 4) if cores is not None and wall and sent else None
    )
    return figures


def lf_figures(run: dict[str, Any], steps: list[int]) -> dict[str, float | None]:
    """The CPU slope, and per step: the server's cores, its ms per listener-second above the
    baseline and the share of packets on time (None when the step was not measured)."""
    out: dict[str, float | None] = {
        "cpu_ms_per_listener_s": _number(run.get("cpu_ms_per_listener_s"))
    }
    measured = {int(s["listeners"]): s for s in run.get("steps", [])}
    for count in steps:
        step = measured.get(count, {})
        out[f"server_cores_at_{count}"] = _number(step.get("server_cores"))
        out[f"server_ms_per_listener_s_at_{count}"] = _number(
            step.get("server_ms_per_listener_s_vs_baseline")
        )
        out[f"on_time_at_{count}"] = _number(step.get("on_time_ratio"))
    out["baseline_server_cores"] = _number(run.get("baseline", {}).get("server_cores"))
    return out


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# --- comparison ------------------------------------------------------------------------------
def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _ratio(on: float | None, off: float | None) -> float | None:
    if on is None or off is None or off == 0:
        return None
    return round(on / off, 4)


def compare(
    prefix: str, per_run: list[tuple[Job, dict[str, float | None]]], stems: dict[str, str]
) -> dict[str, Any]:
    """Each arm's medians, the ratios on/off, the pairs' ratios, the off arm's spread and
    whether each ratio is within 5 %."""
    names = list(per_run[0][1]) if per_run else []
    arms: dict[str, dict[str, float | None]] = {}
    for arm in ARMS:
        runs = [figs for job, figs in per_run if job.arm == arm]
        arms[arm] = {n: _median([f[n] for f in runs]) for n in names}
    out: dict[str, Any] = {f"{prefix}_off": arms["off"], f"{prefix}_on": arms["on"]}
    within: dict[str, bool | None] = {}
    pairs: dict[str, list[float | None]] = {}
    spread: dict[str, float | None] = {}
    for n in names:
        stem = stems.get(n, n)
        ratio = _ratio(arms["on"][n], arms["off"][n])
        out[f"{prefix}_{stem}_ratio"] = ratio
        within[stem] = None if ratio is None else abs(ratio - 1) <= TOLERANCE
        by_repeat: dict[int, dict[str, float | None]] = {}
        for job, figs in per_run:
            by_repeat.setdefault(job.repeat, {})[job.arm] = figs[n]
        pairs[stem] = [_ratio(p.get("on"), p.get("off")) for _, p in sorted(by_repeat.items())]
        offs = [v for job, f in per_run if job.arm == "off" and (v := f[n]) is not None]
        med = _median(list[float | None](offs))
        spread[stem] = round((max(offs) - min(offs)) / med, 4) if len(offs) >= 2 and med else None
    out[f"{prefix}_within_5_percent"] = within
    out[f"{prefix}_pair_ratios"] = pairs
    out[f"{prefix}_off_spread"] = spread
    return out


def run_notes(job: Job, run: dict[str, Any]) -> dict[str, Any]:
    """What to know about one run beside its figures."""
    note: dict[str, Any] = {
        "bench": job.bench,
        "arm": job.arm,
        "repeat": job.repeat,
        "analytics_reported": run.get("analytics"),
        "wall_s": run.get("_wall_s"),
        "load_before": run.get("_load_before"),
        "load_after": run.get("_load_after"),
    }
    for key in ("error", "delivered_ratio", "stop_reason", "storm_wall_seconds"):
        if key in run:
            note[key] = run[key]
    if job.bench == "listener_fanout":
        note["load_avg_1m_at_start"] = run.get("load_avg_1m_at_start")
        note["steps"] = [
            [s.get("listeners"), s.get("on_time_ratio"), s.get("server_cores"), s.get("passed")]
            for s in run.get("steps", [])
        ]
    return note


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=2, help="off/on pairs per benchmark")
    p.add_argument(
        "--only", choices=("ws_fanout", "listener_fanout"), default=None, help="one benchmark"
    )
    p.add_argument("--ws-args", default="", help="extra arguments for ws_fanout (default none)")
    p.add_argument(
        "--lf-steps", default="400,700,1000", help="listener_fanout's steps, fixed for both arms"
    )
    p.add_argument(
        "--lf-budget",
        type=float,
        default=900.0,
        help="listener_fanout's --budget: large, so every step is measured in both arms",
    )
    p.add_argument(
        "--lf-wait-quiet", type=float, default=30.0, help="listener_fanout's --wait-quiet"
    )
    p.add_argument("--lf-args", default="", help="extra arguments for listener_fanout")
    p.add_argument("--run-timeout", type=float, default=1500.0, help="per benchmark run (s)")
    p.add_argument("--out-dir", default="", help="keep each run's JSON and stderr here")
    p.add_argument(
        "--from-dir",
        default="",
        help="run nothing: compare the runs kept in this folder (NAME-rR-ARM.json) again",
    )
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out_dir = Path(
        args.from_dir or args.out_dir or tempfile.mkdtemp(prefix="parley-analytics-cost-")
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    benches = [args.only] if args.only else ["ws_fanout", "listener_fanout"]
    steps = [int(x) for x in args.lf_steps.split(",") if x]
    t0 = time.monotonic()
    result: dict[str, Any] = {
        "benchmark": "analytics_cost",
        "repeats": args.repeats,
        "order": [f"{j.bench}:{j.arm}" for j in schedule(args.repeats, benches)],
        "ws_fanout_command": "bench/ws_fanout.py --analytics off|on " + args.ws_args,
        "listener_fanout_command": " ".join(
            command(args, Job("listener_fanout", "off|on", 0))[1:]
        ).replace(str(REPO) + "/", ""),
        "within_definition": f"|on / off - 1| <= {TOLERANCE} (ratio of the arms' medians)",
        "load_avg_1m_at_start": None if args.from_dir else round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "out_dir": str(out_dir),
    }
    ws_runs: list[tuple[Job, dict[str, float | None]]] = []
    lf_runs: list[tuple[Job, dict[str, float | None]]] = []
    notes: list[dict[str, Any]] = []
    for job in schedule(args.repeats, benches):
        if args.from_dir:
            kept = Path(args.from_dir) / f"{job.bench}-r{job.repeat}-{job.arm}.json"
            if not kept.exists():
                continue
            run = json.loads(kept.read_text())
        else:
            run = run_one(args, job, out_dir)
        notes.append(run_notes(job, run))
        if job.bench == "ws_fanout":
            ws_runs.append((job, ws_figures(run)))
        else:
            lf_runs.append((job, lf_figures(run, steps)))
    if ws_runs:
        result |= compare("ws_fanout", ws_runs, WS_FIGURES)
    if lf_runs:
        result |= compare("listener_fanout", lf_runs, {"cpu_ms_per_listener_s": "cpu_per_listener"})
    result["within_5_percent"] = {
        **{f"ws_fanout_{k}": v for k, v in result.get("ws_fanout_within_5_percent", {}).items()},
        **{
            f"listener_fanout_{k}": v
            for k, v in result.get("listener_fanout_within_5_percent", {}).items()
        },
    }
    result["runs"] = notes
    result["load_avg_1m_at_end"] = None if args.from_dir else round(os.getloadavg()[0], 2)
    result["runtime_s"] = round(time.monotonic() - t0, 1)
    report(
        result,
        (
            "ws_fanout_p99_ratio",
            "ws_fanout_storm_cpu_ratio",
            "listener_fanout_cpu_per_listener_ratio",
        ),
    )
    return 1 if any("error" in n for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
