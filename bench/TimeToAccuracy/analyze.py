#!/usr/bin/env python3
"""Prints bench/TimeToAccuracy's figures from a results directory (run.sh writes it; run this again on it any time).

Per seed: each epoch's test accuracy, the wall time from the process's start to the epoch's record (its test
evaluation included), the epoch's img/s over its training time and its steady img/s (the global batch over the
median step, leaving out the epoch's first 10 steps) with the median step, shard compute and compute-thread CPU
times behind it; then the wall time to 92 % and to 93.5 % (the first epoch
whose test accuracy reaches it: accuracy is measured at epochs' ends only) and the medians over the seeds.
"""
import json, statistics, sys
from datetime import datetime
from pathlib import Path

TARGETS = (0.92, 0.935)


def when(text):
    # .NET writes 7 fractional digits and `date -u +%N` 9; Python reads at most 6.
    text = text.strip().replace("Z", "+00:00")
    if "." not in text:
        return datetime.fromisoformat(text)
    head, _, rest = text.partition(".")
    digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
    zone = rest[len(digits):] or "+00:00"
    return datetime.fromisoformat(f"{head}.{digits[:6]}{zone}")


def seed_rows(out, seed_dir):
    started = when((out / f"{seed_dir.name}.started").read_text())
    records = [json.loads(line) for line in (seed_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [r for r in records if r["type"] == "step"]
    epochs = [r for r in records if r["type"] == "epoch"]
    if not epochs:
        sys.exit(f"error: {seed_dir}/metrics.jsonl has no epoch records (did the run fail? see {seed_dir}.log)")
    rows = []
    for e in epochs:
        mine = [s for s in steps if s["epoch"] == e["epoch"]]
        # Older metrics files have no time on epoch records: the epoch's last step is a lower bound.
        at = when(e["at"]) if "at" in e else when(mine[-1]["at"])
        steady = mine[10:] or mine
        batch = statistics.median(s["samples"] for s in steady)
        # Workers' compute time and their compute threads' CPU time per shard (metrics written since 2026-12-02):
        # a step time that grows with its CPU time is a slower computation, one that grows without it a crowded machine.
        compute = [s["compute_ms"] for s in steady if s.get("compute_ms")]
        cpu = [s["compute_cpu_ms"] for s in steady if s.get("compute_cpu_ms")]
        rows.append(dict(epoch=e["epoch"] + 1, accuracy=e.get("test_accuracy"), wall=(at - started).total_seconds(),
                         img_s=e["images_per_second"], steady=batch * 1000 / statistics.median(s["step_ms"] for s in steady),
                         step_ms=statistics.median(s["step_ms"] for s in steady),
                         compute_ms=statistics.median(compute) if compute else None, cpu_ms=statistics.median(cpu) if cpu else None))
    return rows


def first_reaching(rows, target):
    return next((r["wall"] for r in rows if r["accuracy"] is not None and r["accuracy"] >= target), None)


def show(seconds):
    return "not reached" if seconds is None else f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: analyze.py RESULTS_DIR")
    out = Path(sys.argv[1])
    seeds = sorted(p for p in out.glob("seed-*") if p.is_dir())
    if not seeds:
        sys.exit(f"error: no seed-* run directories in {out}")
    machine = out / "machine.txt"
    if machine.exists():
        print(machine.read_text().rstrip())
    finals, reach = [], {t: [] for t in TARGETS}
    for seed_dir in seeds:
        rows = seed_rows(out, seed_dir)
        print(f"\n{seed_dir.name}")
        print("| epoch | test acc % | wall s | img/s (epoch) | steady img/s | median step / shard compute / compute CPU, ms |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            acc = "–" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f}"
            ms = lambda v: "–" if v is None else f"{v:.0f}"
            print(f"| {r['epoch']} | {acc} | {r['wall']:.0f} | {r['img_s']:.0f} | {r['steady']:.0f} | "
                  f"{ms(r['step_ms'])} / {ms(r['compute_ms'])} / {ms(r['cpu_ms'])} |")
        for t in TARGETS:
            reach[t].append(first_reaching(rows, t))
            print(f"to {100 * t:g} %: {show(reach[t][-1])}")
        finals.append(rows[-1]["accuracy"])
    print(f"\nover {len(seeds)} seeds:")
    finals = [f for f in finals if f is not None]
    if finals:
        print(f"final test accuracy: median {100 * statistics.median(finals):.2f} %, " +
              ", ".join(f"{100 * f:.2f}" for f in finals))
    for t in TARGETS:
        times = reach[t]
        # The median over seeds counts a seed that never got there as slower than every seed that did.
        ordered = sorted(times, key=lambda s: float("inf") if s is None else s)
        print(f"to {100 * t:g} %: median {show(ordered[len(ordered) // 2])}; per seed " + ", ".join(show(s) for s in times))


if __name__ == "__main__":
    main()
