"""Speed at national scale, measured side by side (issue 6).

    python -m benchmarks.bench_scale [--sizes 1000000 10000000] [--runs 5] [--work DIR]

For each size it generates a demo export (once; kept in --work), then, each step in its own
process so that its peak memory (RSS) is its own:

1. prepare: the export without its last day's worth of files (one chunk of each table, held back),
   prepared from scratch into a prepared database;
2. landing: the held-back files land (as a new export does); a fresh dashboard process (AppTest) opens
   the Overview page: the time until it is ready, including the incremental preparation;
3. queries: every named query of the engine, cold (first run in the process) and warm (median);
4. pages: every page under AppTest with a cold cache, then the same view again (warm), then a filter
   never seen before (a state); the time inside the data layer and the whole page script;
5. ours vs pandas vs polars: the three headline computations (funnel by issuer, daily 834 error rate
   by category, backlog by stage and age bucket), each baseline in its own process, reading the same
   parquet, and a check that all three give the same numbers.

It prints the tables and writes them to benchmarks/results/scale.md. Not part of the test suite:
the machine is shared and noisy, so it reports medians and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from dashboard.pages import PAGE_NAMES

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "scale.md"
MEMORY_LIMIT = "3GB"
PAGES = list(PAGE_NAMES)
COMPUTATIONS = ["funnel", "errors_daily", "backlog"]
HEADLINE_LABELS = {
    "funnel": "funnel by issuer",
    "errors_daily": "daily 834 error rate by category",
    "backlog": "backlog by stage and age bucket",
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


# ------------------------------------------------------------------- child steps


def child_env(export: Path, prepared: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DASHBOARD_DATA_DIR": str(export),
        "DASHBOARD_PREPARED_DIR": str(prepared),
        "DASHBOARD_DUCKDB_MEMORY_LIMIT": MEMORY_LIMIT,
        "DASHBOARD_WARM_VIEWS": "0",
        "DASHBOARD_DEMO_MODE": "1",
        "PYTHONPATH": str(REPO),
    }


def step_prepare(export: str) -> dict:
    from dashboard.engine import Engine

    start = time.perf_counter()
    engine = Engine.configured(export)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "preparation": engine.preparation,
        "timings": engine.timings,
        "db_mb": engine.prepared_path.stat().st_size / 2**20,
        "peak_mb": peak_mb(),
        "errors": [str(p) for p in engine.errors],
    }


class DataClock:
    """Time spent inside the dashboard's data layer while a page script runs."""

    def __init__(self):
        from dashboard import serving as data

        self.seconds = 0.0
        self.calls = 0
        self._depth = threading.local()
        for name in (
            "get",
            "default_as_of",
            "issuer_directory",
            "scoped_directory",
            "table_freshness",
            "future_timestamps",
            "load_export",
        ):
            setattr(data, name, self._timed(getattr(data, name)))

    def _timed(self, fn):
        def wrapper(*args, **kwargs):
            depth = getattr(self._depth, "n", 0)
            self._depth.n = depth + 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth.n = depth
                if depth == 0:
                    self.seconds += time.perf_counter() - start
                    self.calls += 1

        return wrapper

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0


def run_page(page: str, params: dict[str, str], clock: DataClock | None = None) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=900)
    at.user = {}
    for key, value in params.items():
        at.query_params[key] = value
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py")
    if clock:
        clock.reset()
    start = time.perf_counter()
    at.run()
    total = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
    return {"script": total, "data": clock.seconds if clock else None, "calls": clock.calls if clock else None}


def step_landing() -> dict:
    # a fresh dashboard process; the previous export's prepared database is on disk
    clock = DataClock()
    start = time.perf_counter()
    first = run_page("overview", {}, clock)
    from dashboard import serving as data

    loaded = data._EXPORTS._current[str(data.export_dir())]
    return {
        "seconds": time.perf_counter() - start,
        "page": first,
        "preparation": loaded.engine.preparation,
        "prepare_seconds": loaded.engine.prepare_seconds,
        "timings": loaded.engine.timings,
        "peak_mb": peak_mb(),
    }


def step_pages(runs: int, states: list[str]) -> dict:
    import streamlit as st

    clock = DataClock()
    run_page("health", {}, clock)  # opens the (already prepared) export: not part of any page's time
    out = {}
    for page in PAGES:
        st.cache_data.clear()
        cold = run_page(page, {}, clock)
        warm = [run_page(page, {}, clock) for _ in range(runs)]
        changes = [run_page(page, {"state": state}, clock) for state in states[:runs]]
        out[page] = {
            "cold": cold,
            "warm_data": statistics.median(w["data"] for w in warm),
            "warm_script": statistics.median(w["script"] for w in warm),
            "filter_data": statistics.median(c["data"] for c in changes),
            "filter_script": statistics.median(c["script"] for c in changes),
            "filter_data_max": max(c["data"] for c in changes),
        }
    return {"pages": out, "peak_mb": peak_mb()}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank): p95 of 30 runs is the 29th smallest."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100)
    return ordered[int(rank) - 1]


def random_views(engine, n: int, seed: int) -> list[dict[str, str]]:
    """`n` views nobody has asked for yet, as address parameters: a state, an issuer, a date window or an
    as-of time (each drawn at random from the export's own values), alone or two together."""
    import random

    from dashboard import metrics as m

    rng = random.Random(seed)
    states = m.known_states(engine)
    issuers = [r["issuer_id"] for r in m.issuer_directory(engine)]
    latest = m.default_as_of(engine)
    cursor = engine._con.cursor()
    first = cursor.execute("SELECT min(application_submitted_at) FROM enrollments WHERE NOT is_test").fetchone()[0]
    cursor.close()
    span_days = max(2, (latest - first).days)
    views, seen = [], set()
    while len(views) < n:
        kinds = rng.sample(["state", "issuer", "window", "as_of"], rng.choice([1, 1, 2]))
        params: dict[str, str] = {}
        for kind in kinds:
            if kind == "state":
                params["state"] = rng.choice(states)
            elif kind == "issuer":
                params["issuer"] = rng.choice(issuers)
            elif kind == "window":
                start = first.date() + timedelta(days=rng.randrange(span_days - 1))
                end = start + timedelta(days=rng.randrange(1, max(2, (latest.date() - start).days + 1)))
                params["from"], params["to"] = start.isoformat(), end.isoformat()
            else:
                at = first + timedelta(days=7 + rng.randrange(span_days - 7), minutes=rng.randrange(24 * 60))
                params["as_of"] = min(at, latest).strftime("%Y-%m-%dT%H:%M")
        key = tuple(sorted(params.items()))
        if key not in seen:
            seen.add(key)
            views.append(params)
    return views


def step_views(export: str, views_per_page: int) -> dict:
    """Every page for `views_per_page` random views never seen before, then each of them again (seen)."""
    from dashboard.engine import Engine

    engine = Engine.configured(export)
    clock = DataClock()
    run_page("health", {}, clock)
    out = {}
    for i, page in enumerate(PAGES):
        views = random_views(engine, views_per_page, seed=1000 + i)
        new = [run_page(page, v, clock) for v in views]
        again = [run_page(page, v, clock) for v in views]
        out[page] = {
            "views": len(views),
            "new_data": [r["data"] for r in new],
            "new_script": [r["script"] for r in new],
            "seen_data": [r["data"] for r in again],
            "seen_script": [r["script"] for r in again],
        }
    engine.close()
    return {"views": out, "peak_mb": peak_mb()}


def query_params(name: str, params: tuple[str, ...], as_of: datetime, first_day: date | None) -> dict:
    """Representative values; work lists at the length a page shows (downloads fetch more, on a click);
    the backlog at the overview's five as-of times; the trends from the view's first day (`first_day`)."""
    from dashboard import metrics as m

    values = {
        "as_of": as_of,
        "as_of_times": [as_of - timedelta(days=7 * k) for k in (4, 3, 2, 1, 0)],
        "first_day": first_day,
        "date_from": None,
        "date_to": None,
        "states": None,
        "issuers": None,
        "now": m.utc_now(),
        "limit": 500,
        "stage": "paid",
        "stage_from": "plan_selected",
        "stage_to": "accepted_834",
        "stages": None,
        "deadline": None,
        "category": "exchange_only",
        "window_days": 7,
        "release_issuers": None,
        "metric": "error_834",
        "until": as_of - timedelta(days=2),
        "its_days": 28,
    }
    return {p: values[p] for p in params}


def step_queries(export: str, runs: int) -> dict:
    from dashboard import metrics as m
    from dashboard.engine import Engine

    engine = Engine.configured(export)
    as_of = m.default_as_of(engine)
    first_applied = m.funnel(m.Request(engine, as_of)).first_applied_at
    first_day = first_applied.date() if first_applied else None
    out = {}
    for name in engine.query_names:
        params = query_params(name, engine.query(name).params, as_of, first_day)
        start = time.perf_counter()
        engine.rows(name, **params)
        cold = time.perf_counter() - start
        warm = []
        for _ in range(runs):
            start = time.perf_counter()
            engine.rows(name, **params)
            warm.append(time.perf_counter() - start)
        # the same query for a state filter and for an as-of a week earlier (first run each: not cached)
        other = {}
        week_ago = as_of - timedelta(days=7)
        week_ago_change = {
            "as_of": week_ago,
            "as_of_times": [week_ago - timedelta(days=7 * k) for k in (4, 3, 2, 1, 0)],
        }
        for label, change in (("state", {"states": ["TX"]}), ("week_ago", week_ago_change)):
            changed = {**params, **{k: v for k, v in change.items() if k in params}}
            start = time.perf_counter()
            engine.rows(name, **changed)
            other[label] = time.perf_counter() - start
        out[name] = {"cold": cold, "warm": statistics.median(warm), **other}
    return {"queries": out, "peak_mb": peak_mb(), "as_of": as_of.isoformat()}


def step_ours(export: str, runs: int) -> dict:
    from benchmarks.baselines import normalise_ours
    from dashboard import metrics as m
    from dashboard.engine import Engine

    engine = Engine.configured(export)
    query = m.Request(engine, m.default_as_of(engine))
    out = {}
    for name in COMPUTATIONS:
        times = []
        for _ in range(runs + 1):
            start = time.perf_counter()
            value = getattr(m, name)(query)
            times.append(time.perf_counter() - start)
        out[name] = {"cold": times[0], "warm": statistics.median(times[1:]), "result": normalise_ours(name, value)}
    return {"computations": out, "peak_mb": peak_mb(), "as_of": query.as_of.isoformat()}


def run_child(args: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_scale", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"step {args[:2]} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_baseline(library: str, name: str, export: Path, as_of: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.baselines", library, name, str(export), as_of],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{library} {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout)


# ------------------------------------------------------------------- orchestration


def ensure_generated(work: Path, size: int) -> Path:
    pristine = work / f"generated-{size}"
    marker = pristine / ".complete"
    if not marker.exists():
        shutil.rmtree(pristine, ignore_errors=True)
        print(f"generating {size:,} enrollments into {pristine} …", file=sys.stderr)
        subprocess.run(
            [sys.executable, "-m", "dashboard", "generate", "--out", str(pristine), "--enrollments", str(size)],
            cwd=REPO,
            check=True,
        )
        marker.write_text(str(size))
    return pristine


def fresh_export(pristine: Path, export: Path) -> list[Path]:
    """A hard-linked copy of the generated export without its last chunk; returns the held-back files."""
    shutil.rmtree(export, ignore_errors=True)
    shutil.copytree(pristine, export, copy_function=os.link, ignore=shutil.ignore_patterns(".complete"))
    last = sorted((pristine / "enrollments").glob("part-0*.parquet"))[-1].name
    held = []
    for table in ("enrollments", "transactions_834", "payments"):
        (export / table / last).unlink()
        held.append(pristine / table / last)
    return held


def run_report(export: Path, prepared: Path) -> tuple[float, dict]:
    """`python -m dashboard report --data EXPORT` with its prepared store in PREPARED: wall time, and the JSON."""
    env = {**child_env(export, prepared), "DASHBOARD_PREPARED_DIR": str(prepared)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "report", "--data", str(export)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"report failed:\n{done.stderr[-4000:]}")
    return seconds, json.loads(done.stdout)


def report_agreement(pristine: Path, export: Path, prepared: Path, where: Path) -> dict:
    """Whether the `report` JSON of the landed export (its prepared database changed incrementally when the
    last files landed, as the dashboard's is) equals that of the same files prepared from scratch in an
    empty store: every section, every number. The sections that differ are named."""
    fresh, fresh_prepared = where / "export", where / "prepared"
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(pristine, fresh, copy_function=os.link, ignore=shutil.ignore_patterns(".complete"))
    _, direct = run_report(fresh, fresh_prepared)
    _, landed = run_report(export, prepared)
    shutil.rmtree(where, ignore_errors=True)
    differs = sorted(k for k in direct.keys() | landed.keys() if direct.get(k) != landed.get(k))
    return {"same": not differs, "differs": differs, "sections": len(direct)}


def cold_report(pristine: Path, where: Path) -> list[float]:
    """`python -m dashboard report` on an export directory it has never seen (an empty prepared store):
    the wall time of the whole command, preparation included, twice (a new directory each time)."""
    times = []
    for attempt in range(2):
        export, prepared = where / f"export-{attempt}", where / f"prepared-{attempt}"
        shutil.rmtree(where, ignore_errors=True)
        shutil.copytree(pristine, export, copy_function=os.link, ignore=shutil.ignore_patterns(".complete"))
        times.append(run_report(export, prepared)[0])
    shutil.rmtree(where, ignore_errors=True)
    return times


def measure(size: int, runs: int, work: Path, views: int = 30) -> dict:
    pristine = ensure_generated(work, size)
    export, prepared = work / f"export-{size}", work / f"prepared-{size}"
    held = fresh_export(pristine, export)
    shutil.rmtree(prepared, ignore_errors=True)
    env = child_env(export, prepared)
    result: dict = {"size": size}
    print(f"[{size:,}] preparing from scratch …", file=sys.stderr)
    result["prepare"] = run_child(["--step", "prepare", str(export)], env)
    for path in held:  # the next day's files land: copied, so they are new files
        shutil.copyfile(path, export / path.parent.name / path.name)
    result["held_rows"] = held_rows(held)
    print(f"[{size:,}] a new export lands …", file=sys.stderr)
    result["landing"] = run_child(["--step", "landing"], env)
    print(f"[{size:,}] named queries …", file=sys.stderr)
    result["queries"] = run_child(["--step", "queries", str(export), "--runs", str(runs)], env)
    print(f"[{size:,}] pages …", file=sys.stderr)
    result["pages"] = run_child(["--step", "pages", "--runs", str(runs)], env)
    print(f"[{size:,}] {views} random views per page …", file=sys.stderr)
    result["views"] = run_child(["--step", "views", str(export), "--views", str(views)], env)
    print(f"[{size:,}] cold report on a new export directory …", file=sys.stderr)
    result["report_cold"] = cold_report(pristine, work / f"report-{size}")
    print(f"[{size:,}] the landed export's report against a preparation from scratch …", file=sys.stderr)
    result["report_agrees"] = report_agreement(pristine, export, prepared, work / f"agree-{size}")
    print(f"[{size:,}] ours vs pandas vs polars …", file=sys.stderr)
    ours = run_child(["--step", "ours", str(export), "--runs", str(runs)], env)
    result["ours"] = ours
    result["baselines"] = {}
    for library in ("pandas", "polars"):
        for name in COMPUTATIONS:
            got = run_baseline(library, name, export, ours["as_of"])
            same = got.pop("result") == ours["computations"][name]["result"]
            result["baselines"][f"{library}/{name}"] = {**got, "same": same}
    for name in COMPUTATIONS:
        ours["computations"][name].pop("result")
    return result


def held_rows(paths: list[Path]) -> dict:
    import pyarrow.parquet as pq

    return {p.parent.name: pq.read_metadata(p).num_rows for p in paths}


# ------------------------------------------------------------------- report


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def render(results: list[dict], runs: int, command: str) -> str:
    lines = [
        "# Speed at national scale",
        "",
        f"Machine: {machine()}. DuckDB memory limit {MEMORY_LIMIT} (set explicitly). "
        f"Command: `{command}`. Generated {datetime.now():%Y-%m-%d %H:%M} UTC.",
        "",
        f"Warm figures are medians of {runs} runs. Each step runs in its own process, so each peak RSS "
        "is that process's own. Pages are measured under Streamlit's AppTest in one dashboard process "
        "with the background warm-up off, so that 'cold' is cold: *data* is the time inside the data "
        "layer (queries and cache), *script* the whole page script (data plus building every chart, "
        "without a browser; `bench_pages_browser.py` measures the browser).",
        "",
    ]
    lines += [
        "## Targets",
        "",
        "| target | " + " | ".join(f"{r['size']:,}" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]

    def row(label, values):
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    def verdict(value: float, limit: float) -> str:
        return f"{fmt(value)} {'(met)' if value < limit else '**(not met)**'}"

    def worst(r, key, stat):
        return max(stat(v[key]) for v in r["views"]["views"].values())

    def median(values):
        return statistics.median(values)

    def p95(values):
        return percentile(values, 95)

    row(
        "a view not seen before (≥ 30 random views per page): data p95, worst page — target < 1 s",
        [verdict(worst(r, "new_data", p95), 1.0) for r in results],
    )
    row(
        "… data median, worst page — target < 0.3 s",
        [verdict(worst(r, "new_data", median), 0.3) for r in results],
    )
    row(
        "… whole page script p95, worst page — target < 1.5 s",
        [verdict(worst(r, "new_script", p95), 1.5) for r in results],
    )
    row(
        "a view already seen: data p95, worst page — target < 100 ms",
        [verdict(worst(r, "seen_data", p95), 0.1) for r in results],
    )
    row(
        "a new daily export → first page ready (incremental preparation included) — target < 15 s",
        [verdict(r["landing"]["seconds"], 15) for r in results],
    )
    row(
        "preparation from scratch — target < 90 s (< 5 s at 1M)",
        [verdict(r["prepare"]["seconds"], 5 if r["size"] <= 1_000_000 else 90) for r in results],
    )
    row(
        "peak RSS: dashboard (views) / preparation from scratch / landing — target < 4 GB",
        [
            f"{r['views']['peak_mb']:,.0f} / {r['prepare']['peak_mb']:,.0f} / {r['landing']['peak_mb']:,.0f} MB "
            + (
                "(met)"
                if max(r["views"]["peak_mb"], r["prepare"]["peak_mb"], r["landing"]["peak_mb"]) < 4096
                else "**(not met)**"
            )
            for r in results
        ],
    )

    def cold_vs_polars(r):
        ours = median(r["report_cold"])
        polars = sum(r["baselines"][f"polars/{name}"]["seconds"] for name in COMPUTATIONS)
        mark = "(met)" if ours < polars else "**(not met)**"
        return f"{fmt(ours)} vs polars {fmt(polars)} {mark}"

    row(
        "cold `report` on a new export directory, preparation included, vs the polars script for three sections "
        "(same run) — target: faster",
        [cold_vs_polars(r) for r in results],
    )

    def agrees(r):
        if "report_agrees" not in r:
            return "not measured in this run"
        a = r["report_agrees"]
        return f"yes ({a['sections']} sections)" if a["same"] else f"**no**: {', '.join(a['differs'])}"

    row(
        "every number the same: the landed export's `report` JSON (incremental preparation) and the same files "
        "prepared from scratch",
        [agrees(r) for r in results],
    )
    for name in COMPUTATIONS:
        row(
            f"{HEADLINE_LABELS[name]}: pandas ÷ ours (≥ 20×), polars ÷ ours (≥ 5×)",
            [
                f"{r['baselines'][f'pandas/{name}']['seconds'] / r['ours']['computations'][name]['cold']:.0f}× / "
                f"{r['baselines'][f'polars/{name}']['seconds'] / r['ours']['computations'][name]['cold']:.0f}×"
                for r in results
            ],
        )
    row(
        "all three give the same numbers",
        ["yes" if all(b["same"] for b in r["baselines"].values()) else "**NO**" for r in results],
    )

    for r in results:
        size = r["size"]
        lines += [
            "",
            f"## {size:,} enrollments",
            "",
            "Rows landing in the new export (one chunk of each table): "
            + ", ".join(f"{t} {n:,}" for t, n in r["held_rows"].items())
            + ".",
            "",
            "### Three headline computations (ours cold = first run in a fresh process)",
            "",
            "| computation | ours cold | ours warm | pandas | polars | pandas ÷ ours | polars ÷ ours | "
            "pandas peak | polars peak | same numbers |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name in COMPUTATIONS:
            o = r["ours"]["computations"][name]
            pd_, pl_ = r["baselines"][f"pandas/{name}"], r["baselines"][f"polars/{name}"]
            lines.append(
                f"| {HEADLINE_LABELS[name]} | {fmt(o['cold'])} | {fmt(o['warm'])} | {fmt(pd_['seconds'])} | "
                f"{fmt(pl_['seconds'])} | {pd_['seconds'] / o['cold']:.0f}× | {pl_['seconds'] / o['cold']:.0f}× | "
                f"{pd_['peak_mb']:,.0f} MB | {pl_['peak_mb']:,.0f} MB | "
                f"{'yes' if pd_['same'] and pl_['same'] else '**NO**'} |"
            )
        lines += [
            "",
            "### Pages (data layer / whole script)",
            "",
            "| page | cold | same view again | filter change (median) | filter change (max) |",
            "|---|---:|---:|---:|---:|",
        ]
        for page, p in r["pages"]["pages"].items():
            lines.append(
                f"| {page} | {fmt(p['cold']['data'])} / {fmt(p['cold']['script'])} | "
                f"{fmt(p['warm_data'])} / {fmt(p['warm_script'])} | "
                f"{fmt(p['filter_data'])} / {fmt(p['filter_script'])} | {fmt(p['filter_data_max'])} |"
            )
        lines += [
            "",
            f"### Views never seen before ({next(iter(r['views']['views'].values()))['views']} random per page), "
            "then the same views again",
            "",
            "Each view is a random state, issuer, date window or as-of time, alone or two together "
            "(`random_views`), run once (not seen) and then again (seen). Data layer / whole script.",
            "",
            "| page | new: data median | new: data p95 | new: script p95 | seen: data median | seen: data p95 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for page, v in r["views"]["views"].items():
            lines.append(
                f"| {page} | {fmt(median(v['new_data']))} | {fmt(p95(v['new_data']))} | {fmt(p95(v['new_script']))} | "
                f"{fmt(median(v['seen_data']))} | {fmt(p95(v['seen_data']))} |"
            )
        lines += [
            "",
            "Cold `report` on a new export directory (two runs, each on a directory never prepared): "
            + ", ".join(fmt(t) for t in r["report_cold"])
            + ".",
        ]
        land = r["landing"]
        lines += [
            "",
            "### Preparation",
            "",
            f"From scratch: {fmt(r['prepare']['seconds'])} ({r['prepare']['db_mb']:,.0f} MB database). "
            f"New export landing ({land['preparation']}): first page ready after {fmt(land['seconds'])}, "
            f"of which preparation {fmt(land['prepare_seconds'])} and the page "
            f"{fmt(land['page']['script'] - land['prepare_seconds'])}.",
            "",
            "| step | from scratch | incremental |",
            "|---|---:|---:|",
        ]
        steps = dict.fromkeys([*r["prepare"]["timings"], *land["timings"]])
        for step in steps:
            a, b = r["prepare"]["timings"].get(step), land["timings"].get(step)
            if (a or 0) + (b or 0) >= 0.05:
                lines.append(f"| {step} | {fmt(a) if a is not None else '–'} | {fmt(b) if b is not None else '–'} |")
        lines += [
            "",
            "### Named queries",
            "",
            "As of the latest event with no filter (cold: first run in a fresh process; warm: median), "
            "then first runs with a state filter (TX, the largest state) and as of a week earlier.",
            "",
            "| query | cold | warm | state TX | as of T − 7 days |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, q in r["queries"]["queries"].items():
            extra = [fmt(q[k]) if k in q else "–" for k in ("state", "week_ago")]
            lines.append(f"| {name} | {fmt(q['cold'])} | {fmt(q['warm'])} | {' | '.join(extra)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--work",
        type=Path,
        default=Path.home() / ".cache" / "enrollment-dashboard-bench",
        help="where generated exports and prepared databases are kept (never in the repo)",
    )
    parser.add_argument("--views", type=int, default=30, help="random views never seen before, per page")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--render", type=Path, help="only write the tables again from a saved .json of results")
    parser.add_argument(
        "--add-agreement",
        type=Path,
        help="add the report-agreement check to a saved .json of results (its exports still in --work), then render",
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("target", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        if args.step == "prepare":
            print(json.dumps(step_prepare(args.target)))
        elif args.step == "landing":
            print(json.dumps(step_landing()))
        elif args.step == "queries":
            print(json.dumps(step_queries(args.target, args.runs)))
        elif args.step == "pages":
            print(json.dumps(step_pages(args.runs, ["TX", "FL", "GA", "OH", "MI", "PA", "IL"])))
        elif args.step == "views":
            print(json.dumps(step_views(args.target, args.views)))
        elif args.step == "ours":
            print(json.dumps(step_ours(args.target, args.runs)))
        return
    if args.add_agreement:
        saved = json.loads(args.add_agreement.read_text())
        for r in saved["results"]:
            size = r["size"]
            print(f"[{size:,}] the landed export's report against a preparation from scratch …", file=sys.stderr)
            r["report_agrees"] = report_agreement(
                args.work / f"generated-{size}",
                args.work / f"export-{size}",
                args.work / f"prepared-{size}",
                args.work / f"agree-{size}",
            )
        saved["command"] += f"; then --add-agreement {args.add_agreement.name}"
        args.add_agreement.write_text(json.dumps(saved, indent=1, default=str))
        args.render = args.add_agreement
    if args.render:
        saved = json.loads(args.render.read_text())
        if isinstance(saved, list):  # results saved without their command
            saved = {
                "results": saved,
                "runs": args.runs,
                "command": "python -m benchmarks.bench_scale "
                + " ".join(["--sizes", *map(str, args.sizes), "--runs", str(args.runs)]),
            }
        text = render(saved["results"], saved["runs"], saved["command"])
        args.out.write_text(text)
        print(text)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    command = ("python -m benchmarks.bench_scale " + " ".join(sys.argv[1:])).strip()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = []
    for size in args.sizes:
        results.append(measure(size, args.runs, args.work, args.views))
        # saved after each size: a run of an hour or more that fails at 10M keeps its 1M figures
        (args.out.with_suffix(".json")).write_text(
            json.dumps({"results": results, "runs": args.runs, "command": command}, indent=1, default=str)
        )
    text = render(results, args.runs, command)
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
