#!/usr/bin/env python3
"""Recovery figures from a run's metrics.jsonl and the time a fault was injected (bench/Recovery/measure.sh).

detect: from the fault to the coordinator's first notice about it (a shard reassigned, a worker gone).
back at full speed: from the fault to the first step after which the next WINDOW step intervals have a median
within 20 % of the run's new steady state (the median interval of the last TAIL steps, the cluster without the
lost worker). The steady state before the fault is printed beside it.
"""
import json, statistics, sys
from datetime import datetime

WINDOW, TAIL, BEFORE, SLACK = 10, 40, 40, 1.2


def at(text):
    # .NET writes 7 fractional digits; Python's fromisoformat takes at most 6.
    head, _, rest = text.partition('.')
    digits, zone = rest[:-6], rest[-6:]
    return datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{zone}").timestamp()


def main(path, fault_text):
    fault = at(fault_text)
    rows = [json.loads(line) for line in open(path)]
    steps = [(r['step'], at(r['at'])) for r in rows if r['type'] == 'step' and 'at' in r]
    notices = [(at(r['at']), r['text']) for r in rows if r['type'] == 'notice' and at(r['at']) >= fault]
    if len(steps) < BEFORE + TAIL + WINDOW:
        sys.exit(f"error: {path} has {len(steps)} timed steps; need at least {BEFORE + TAIL + WINDOW}")
    times = [t for _, t in steps]
    intervals = [b - a for a, b in zip(times, times[1:])]
    before = [b - a for a, b in zip(times, times[1:]) if b <= fault][-BEFORE:]
    after = intervals[-TAIL:]
    steady_before, steady_after = statistics.median(before), statistics.median(after)
    first_after = next(i for i, t in enumerate(times) if t > fault)
    back = None
    for i in range(first_after, len(times) - WINDOW):
        if statistics.median(intervals[i:i + WINDOW]) <= SLACK * steady_after:
            back = times[i] - fault
            break
    detected = next((t - fault for t, text in notices if 'reassigned' in text or 'gone' in text or 'unreachable' in text), None)
    slowest = max(intervals[first_after - 1:first_after + WINDOW])
    print(f"step interval before the fault: {steady_before * 1000:.0f} ms (median of {len(before)})")
    print(f"step interval at the end:       {steady_after * 1000:.0f} ms (median of the last {TAIL})")
    print(f"longest step around the fault:  {slowest:.2f} s")
    print(f"detected after:                 {'not seen' if detected is None else f'{detected:.1f} s'}")
    print(f"back at full speed after:       {'never' if back is None else f'{back:.1f} s'}")
    for t, text in notices[:4]:
        print(f"  +{t - fault:6.1f} s  {text}")


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit("usage: analyze.py METRICS_JSONL FAULT_TIME_ISO8601")
    main(sys.argv[1], sys.argv[2])
