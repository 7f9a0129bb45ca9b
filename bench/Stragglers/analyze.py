#!/usr/bin/env python3
"""Prints bench/Stragglers' figures from a results directory that run.sh wrote (run it again on it any time).

One row per run: img/s over the training time (samples applied / train seconds, summed over epochs), the median step,
the test accuracy after each epoch, the samples applied and skipped, and the largest staleness of an applied step.
Then, per slowdown and mode, the mean img/s and its ratio to the barrier (sync) of the same slowdown.
"""
import json, re, statistics, sys
from collections import defaultdict
from pathlib import Path


def row(run):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [r for r in records if r["type"] == "step"]
    epochs = [r for r in records if r["type"] == "epoch"]
    if not epochs:
        return None
    applied = sum(e.get("samples_applied") or 0 for e in epochs)
    skipped = sum(e.get("samples_skipped") or 0 for e in epochs)
    seconds = sum(e["seconds"] for e in epochs)
    log = Path(f"{run}.log").read_text()
    copies = sum(int(c) for c in re.findall(r"(\d+) speculative cop", log))
    return dict(img_s=applied / seconds if seconds else float("nan"),
                median_ms=statistics.median(s["step_ms"] for s in steps[10:] or steps),
                accuracy=[e.get("test_accuracy") for e in epochs], applied=applied, skipped=skipped,
                staleness=max((s.get("staleness") or 0 for s in steps), default=0), copies=copies)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: analyze.py RESULTS_DIR")
    out = Path(sys.argv[1])
    runs = sorted(p for p in out.iterdir() if p.is_dir() and re.match(r"slow.+x-.+-r\d+$", p.name))
    if not runs:
        sys.exit(f"error: no runs in {out}")
    machine = out / "machine.txt"
    if machine.exists():
        print(machine.read_text().rstrip())
    print("\n| run | img/s | median step | test acc per epoch % | applied | skipped | max staleness | copies |")
    print("|---|---|---|---|---|---|---|---|")
    by = defaultdict(list)
    for run in runs:
        slow, mode, _ = re.match(r"slow(.+)x-(.+)-r(\d+)$", run.name).groups()
        r = row(run)
        if r is None:
            print(f"| {run.name} | (no epoch finished: running, or failed — see {run.name}.log) |")
            continue
        by[(slow, mode)].append(r)
        acc = " / ".join("–" if a is None else f"{100 * a:.2f}" for a in r["accuracy"])
        print(f"| {run.name} | {r['img_s']:.0f} | {r['median_ms']:.0f} ms | {acc} | {r['applied']} | {r['skipped']} | "
              f"{r['staleness']} | {r['copies']} |")
    print("\n| slowdown | mode | runs | mean img/s | vs sync | mean final test acc % |")
    print("|---|---|---|---|---|---|")
    for slow in sorted({k[0] for k in by}, key=float):
        base = by.get((slow, "sync"))
        base_rate = statistics.mean(r["img_s"] for r in base) if base else None
        for (s, mode), rows in sorted(by.items()):
            if s != slow:
                continue
            rate = statistics.mean(r["img_s"] for r in rows)
            finals = [r["accuracy"][-1] for r in rows if r["accuracy"] and r["accuracy"][-1] is not None]
            ratio = f"{rate / base_rate:.2f}×" if base_rate else "–"
            acc = f"{100 * statistics.mean(finals):.2f}" if finals else "–"
            print(f"| {slow}× | {mode} | {len(rows)} | {rate:.0f} | {ratio} | {acc} |")


if __name__ == "__main__":
    main()
