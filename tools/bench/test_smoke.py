#!/usr/bin/env python3
"""CTest bench-smoke: `mmpy-bench --smoke` runs, prints its table and writes JSON with every
figure present. It checks that the benchmark works, never its timings."""
import json
import os
import subprocess
import sys
import tempfile

bench, build = sys.argv[1], sys.argv[2]
NUMBER = (int, float)
# Figures every backend reports; host_* and the host's RSS exist only out of process.
FIGURES = {
    "latency_us": ["samples", "p50", "p99", "p999", "min", "max"],
    "latency_back_to_back_us": ["samples", "p50", "p99", "p999", "min", "max"],
    "throughput": ["events", "seconds", "events_per_s", "core_cpu_us_per_event", "host_cpu_us_per_event"],
    "rss_kb": ["core", "host", "total"],
    "interval_jitter_us": ["ticks", "mean_period_us", "p50", "p99", "max"],
}
PERCENTILES = ["samples", "p50", "p99", "p999", "min", "max"]
HOST_ONLY = {("throughput", "host_cpu_us_per_event"), ("rss_kb", "host")}
# The time items: out of process only (pyref has no async API).
ASYNC_FIGURES = {
    "sleep_wakeup_us": ["wakeups", "p50", "p99", "max", "min", "mean"],
    "fade_step_us": ["steps", "p50", "p99", "max", "mean_step_us", "last_value"],
    "sleeping_tasks": ["tasks", "rss_before_kb", "rss_after_kb", "delta_kb", "delta_mb", "per_task_kb",
                       "mb_per_10000", "start_ms"],
}

with tempfile.TemporaryDirectory() as folder:
    out = os.path.join(folder, "bench.json")
    run = subprocess.run([sys.executable, bench, "--smoke", "--build", build, "--json", out],
                         capture_output=True, text=True, timeout=200)
    print(run.stdout, run.stderr, sep="\n")
    assert run.returncode == 0, "mmpy-bench exited with %d" % run.returncode
    for row in ("round-trip latency p50", "back to back", "throughput", "RSS core", "interval(10 ms) deviation p99", "zero point",
                "segfault to first output again", "kill -9 to first output again",
                "allocations in the backend per event", "the floor", "on one CPU", "budgets",
                "sleep() wake-up lateness p99", "fade() step deviation p99", "fade() steps / last value",
                "sleeping tasks: host RSS per task", "host memory for 10 000 sleeping tasks",
                "reload on save: to new output p50", "SIGHUP: longest input wait max",
                "longest input wait in a reload", "network: through the handler p99.9",
                "network: direct mapping (floor) p99", "busy handler: direct mapping p99",
                "added by the busy handler", "a busy handler's delay of a direct mapping"):
        assert row in run.stdout, "the table lacks '%s'" % row
    with open(out) as f:
        data = json.load(f)

assert data["smoke"] is True
assert isinstance(data["core_alone"]["core_rss_kb"], int) and data["core_alone"]["core_rss_kb"] > 0
assert data["machine"]["nproc"] and data["machine"]["cpu_model"] is not None
for backend in ("python", "pyref"):
    for group, keys in FIGURES.items():
        for key in keys:
            value = data["backends"][backend][group][key]
            if backend == "pyref" and (group, key) in HOST_ONLY:
                assert value is None, (backend, group, key, value)
            else:
                assert isinstance(value, NUMBER) and value >= 0, (backend, group, key, value)
    assert data["backends"][backend]["latency_us"]["samples"] == data["settings"]["samples"]
    assert data["backends"][backend]["throughput"]["events"] == data["settings"]["events"]
    assert data["backends"][backend]["rss_kb"]["core"] > 0
assert data["backends"]["python"]["rss_kb"]["host"] > 0
for key in ("latency_p50", "latency_p99", "latency_p999", "throughput", "rss_total"):
    assert isinstance(data["ratios"][key], NUMBER), ("ratios", key, data["ratios"][key])
for key in ("p50", "p99", "p999"):
    assert isinstance(data["added_latency_us"][key], int), ("added_latency_us", key)
assert data["not_measured"] == []
# The time items: figures present (never judged), the fade's steps and end exact.
py = data["backends"]["python"]
for group, keys in ASYNC_FIGURES.items():
    assert group not in data["backends"]["pyref"], group
    for key in keys:
        value = py[group][key]
        assert isinstance(value, NUMBER), (group, key, value)
        if group != "sleeping_tasks" and key not in ("min",):
            assert value >= 0, (group, key, value)
assert py["sleep_wakeup_us"]["wakeups"] == data["settings"]["wakeups"]
assert py["fade_step_us"]["failures"] == [], py["fade_step_us"]["failures"]
assert py["fade_step_us"]["steps"] == data["settings"]["fade_steps"]
assert py["fade_step_us"]["last_value"] == py["fade_step_us"]["target"]
assert py["sleeping_tasks"]["tasks"] == data["settings"]["tasks"]
# The reload item: both ways measured, the new code's answer seen (an input never waits forever).
assert "reload_ms" not in data["backends"]["pyref"]
for how in ("save", "sighup"):
    reload = py["reload_ms"][how]
    assert reload["repeats"] == data["settings"]["reloads"], reload
    for key in ("first_p50", "first_max", "wait_p50", "wait_max"):
        assert isinstance(reload[key], NUMBER) and reload[key] > 0, (how, key, reload)
for group in ("sleep_wakeup_us", "fade_step_us"):
    load = py[group]["load"]
    assert load["sent"] > 0 and load["echoed"] > 0, (group, load)
for cpus in ("any", "one", "two"):
    if data["floor_us"][cpus] is None:  # "two" on a one-CPU machine
        assert cpus == "two" and len(os.sched_getaffinity(0)) < 2
        continue
    for key in ("rate", "back_to_back"):
        floor = data["floor_us"][cpus][key]
        assert floor["samples"] == data["settings"]["samples"], (cpus, key, floor)
        assert all(isinstance(floor[k], NUMBER) and floor[k] > 0 for k in ("p50", "p99", "p999")), (cpus, key, floor)
for backend in ("python", "pyref"):
    pinned = data["backends"][backend]["latency_one_cpu_us"]
    assert pinned["cpu"] in os.sched_getaffinity(0), pinned
    for key in ("rate", "back_to_back"):
        assert pinned[key]["samples"] == data["settings"]["samples"] and pinned[key]["p50"] >= 0, (backend, pinned)
# The network items: every round trip answered, through the handler, the direct mapping, and
# the direct mapping beside the busy handler, in both backends.
for backend in ("python", "pyref"):
    b = data["backends"][backend]
    for group, path in (("network_us", "handler"), ("network_us", "direct"), ("network_busy_us", "direct")):
        figures = b[group][path]
        assert figures["samples"] == data["settings"]["samples"], (backend, group, path, figures)
        assert all(isinstance(figures[k], int) and figures[k] > 0 for k in PERCENTILES), (backend, group, path, figures)
for name in ("added_network_us", "busy_delay_us"):
    assert all(isinstance(data[name][k], int) for k in ("p50", "p99", "p999")), (name, data[name])
# Every budget is judged from a figure of this run (allocations are not counted under a sanitizer).
assert [b["budget"] for b in data["budgets"]] == ["added_latency_p50", "added_latency_p50_one_cpu", "throughput",
                                                  "shim_cpu_per_event", "shim_allocs_per_event", "core_rss_over_no_python",
                                                  "sleep_deviation_p99", "fade_deviation_p99", "sleeping_tasks_mb",
                                                  "reload_input_wait", "reload_sighup_first", "added_latency_p99",
                                                  "added_latency_p999", "added_network_p99", "added_network_p999",
                                                  "busy_delay_p99", "echo_latency_p50"]
for b in data["budgets"]:
    if b["kind"] == "compare":  # needs a baseline build: the figure only
        assert b["met"] is None and isinstance(b["figure"], NUMBER), b
        continue
    assert b["met"] in (True, False) or (b["met"] is None and b["budget"] == "shim_allocs_per_event"), b
    assert "aim" not in b or b["aim_met"] in (True, False), b
    assert b["met"] is None or isinstance(b["figure"], NUMBER), b
for backend in ("python", "pyref"):
    cost = data["backends"][backend]["throughput"]
    assert isinstance(cost["backend_cpu_us_per_event"], NUMBER) and cost["backend_cpu_us_per_event"] > 0, cost
    assert isinstance(cost["backend_allocs_per_event"], NUMBER), cost
for how in ("segfault", "kill9"):
    recovery = data["backends"]["python"]["recovery_ms"][how]
    assert isinstance(recovery["p50"], NUMBER) and recovery["p50"] > 0, ("recovery_ms", how, recovery)
assert "recovery_ms" not in data["backends"]["pyref"]

# --only: just the items named, the others listed as not measured; the table still prints.
with tempfile.TemporaryDirectory() as folder:
    out = os.path.join(folder, "only.json")
    run = subprocess.run([sys.executable, bench, "--smoke", "--build", build, "--json", out,
                          "--only", "latency,fade", "--samples", "10"],
                         capture_output=True, text=True, timeout=60)
    print(run.stdout, run.stderr, sep="\n")
    assert run.returncode == 0, "mmpy-bench --only exited with %d" % run.returncode
    assert "round-trip latency p50" in run.stdout and "fade() step deviation p99" in run.stdout
    assert "2. throughput" not in run.stdout and "7. sleep() wake-up" not in run.stdout
    with open(out) as f:
        only = json.load(f)
assert only["settings"]["only"] == ["latency", "fade"]
assert set(only["not_measured"]) == {"floor", "back-to-back", "one-cpu", "throughput", "memory", "recovery",
                                     "interval", "sleep", "tasks", "reload", "network", "network-busy"}, only["not_measured"]
assert sorted(only["backends"]["python"]) == ["fade_step_us", "latency_us"], only["backends"]["python"].keys()
assert sorted(only["backends"]["pyref"]) == ["latency_us"], only["backends"]["pyref"].keys()
assert only["backends"]["python"]["latency_us"]["samples"] == 10
bad = subprocess.run([sys.executable, bench, "--only", "latency,nonsense", "--build", build],
                     capture_output=True, text=True, timeout=30)
assert bad.returncode == 2 and "nonsense" in bad.stderr, (bad.returncode, bad.stderr)
# The network item alone, with the host placed as before host-cpu existed.
with tempfile.TemporaryDirectory() as folder:
    out = os.path.join(folder, "placed.json")
    run = subprocess.run([sys.executable, bench, "--only", "network", "--samples", "10", "--build", build, "--json", out,
                          "--backend-option", "host-cpu=any", "--backend-option", "host-priority=normal"],
                         capture_output=True, text=True, timeout=120)
    print(run.stdout, run.stderr, sep="\n")
    assert run.returncode == 0, "mmpy-bench --backend-option exited with %d" % run.returncode
    assert "python: [backend python] host-cpu=any, host-priority=normal" in run.stdout
    with open(out) as f:
        placed = json.load(f)
assert placed["settings"]["backend_options"] == ["host-cpu=any", "host-priority=normal"]
assert placed["backends"]["python"]["network_us"]["handler"]["samples"] == 10
bad = subprocess.run([sys.executable, bench, "--backend-option", "host-cpu", "--build", build],
                     capture_output=True, text=True, timeout=30)
assert bad.returncode == 2 and "NAME=VALUE" in bad.stderr, (bad.returncode, bad.stderr)
print("ok")
