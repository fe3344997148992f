"""What a bench run leaves behind: the results file and the tables it prints."""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import django

from bench.measure import GOALS, KEYS, meets

SCALE_ORDER = ("tiny", "small", "medium", "full")


def hardware(database_version: str, vendor: str) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "django": django.get_version(),
        vendor: database_version,
    }


def assemble(
    figures: dict, meta: dict, *, vendor: str, database_version: str, measured_at: str
) -> dict:
    results: dict = {"scale": meta["scale"], "database": vendor}
    for key in KEYS:
        value = figures.get(key)
        results[key] = round(value, 3) if isinstance(value, float) else value
    results["details"] = {k: v for k, v in figures.items() if k not in KEYS}
    results["rows"] = meta.get("counts", {})
    results["grids"] = meta.get("grids")
    results["build_seconds"] = meta.get("build_seconds")
    results["reference_now"] = meta.get("now")
    results["measured_at"] = measured_at
    results["hardware"] = hardware(database_version, vendor)
    return results


def write(path: Path, results: dict) -> dict:
    """Write the run, keeping the latest figures of the other scales measured on the same
    database for the growth table."""
    by_scale = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text())
            if previous.get("database") == results["database"]:
                by_scale = previous.get("by_scale", {})
        except (ValueError, OSError):
            by_scale = {}
    by_scale[results["scale"]] = {key: results[key] for key in KEYS}
    results["by_scale"] = {s: by_scale[s] for s in SCALE_ORDER if s in by_scale}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return results


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: dict) -> list[str]:
    lines = [f"{'figure':<28} {'value':>12}  {'goal at full':>14}  met"]
    for key in KEYS:
        value = results.get(key)
        goal = GOALS.get(key)
        goal_text = f"{goal[0]} {_fmt(goal[1])}" if goal else "measured"
        ok = meets(key, value) if value is not None else None
        mark = "" if ok is None else ("yes" if ok else "NO")
        lines.append(f"{key:<28} {_fmt(value):>12}  {goal_text:>14}  {mark}")
    return lines


def growth(results: dict) -> list[str]:
    """How each figure grows with the county: one column per scale measured."""
    by_scale = results.get("by_scale", {})
    if len(by_scale) < 2:
        return []
    scales = list(by_scale)
    lines = [f"{'figure':<28} " + " ".join(f"{s:>12}" for s in scales)]
    for key in KEYS:
        lines.append(f"{key:<28} " + " ".join(f"{_fmt(by_scale[s].get(key)):>12}" for s in scales))
    return lines


def child_command(manage: Path, **options) -> list[str]:
    args = [sys.executable, str(manage), "bench", "--child"]
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        args.extend([flag] if value is True else [flag, str(value)])
    return args
