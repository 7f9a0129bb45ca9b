#!/usr/bin/env python3
"""Reads the real loopback runs of simulate-validation.sh, runs `distributed simulate` with the measured figures and
prints measured and simulated step times side by side (markdown, for docs/scale.md).

Per run (steps 0-4 left out: JIT and first allocations): mean step time; mean compute per shard (the worker's own
measurement) hence compute per sample; the parameter server's averaging + optimizer time, hence its rate; the rest
of each shard's round trip ("transfer": messaging, serialization, tensor channel, queueing). The link is modeled
twice: (a) raw loopback TCP as measured here, (b) calibrated on the smallest N (the bandwidth that makes one shard's
simulated transfer as long as the measured one), then used unchanged for the larger N; and (c) as (b), with every
worker as slow as each step's slowest real worker, which takes the CPU's straggling out of the comparison."""
import re, statistics, subprocess, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clusterprobe import loopback_gbps, loopback_latency_us, timeline  # noqa: E402  (shared with bench/Scale/analyze.py)

WARMUP = 5
CLI = ["dotnet", "src/Cli/bin/Release/net10.0/distributed.dll", "simulate"]


def measure_run(directory, batch):
    events = [e for e in timeline(directory / "timeline.json") if e.get("ph") == "X" and e["args"].get("step", 0) >= WARMUP]
    by = lambda name: [e["dur"] / 1000 for e in events if e["name"] == name]
    steps = [e["dur"] / 1000 for e in events if e["cat"] == "coordinator"]
    compute = by("compute")
    server = [a + o for a, o in zip(by("aggregation"), by("optimizer"))]
    transfer = [a + b for a, b in zip(by("transfer in"), by("transfer out"))]
    samples = statistics.mean(e["args"]["samples"] for e in events if e["name"] == "compute")
    # How much slower the slowest shard of a step computes than the step's mean: N time-shared processes straggle.
    per_step = {}
    for e in events:
        if e["name"] == "compute": per_step.setdefault(e["args"]["step"], []).append(e["dur"] / 1000)
    straggle = statistics.mean(max(c) / statistics.mean(c) for c in per_step.values())
    slowest_ms = statistics.mean(max(c) for c in per_step.values())
    return dict(straggle=straggle, slowest_per_sample_ms=slowest_ms / samples, steps=len(steps), step_ms=statistics.mean(steps), step_sd=statistics.pstdev(steps), compute_ms=statistics.mean(compute),
                per_sample_ms=statistics.mean(compute) / samples, server_ms=statistics.mean(server), transfer_ms=statistics.mean(transfer))


def loopback():
    """Raw TCP on 127.0.0.1: Gbit/s of one 256 MB stream, and half the round trip of a 64-byte ping-pong."""
    return loopback_gbps(), loopback_latency_us()


def simulate(n, batch, per_sample_ms, server_rate, gbps, latency_us, out):
    args = CLI + ["--workers", str(n), "--path", "coordinator", "--depth", "8", "--global-batch", str(batch), "--steps", "10",
                  "--compute-per-sample-ms", f"{per_sample_ms:.6f}", "--server-gbytes-per-s", f"{server_rate:.6f}",
                  "--bandwidth-gbps", f"{gbps:.6f}", "--latency-us", f"{latency_us:.3f}", "--output", str(out)]
    text = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in text.splitlines() if re.match(r"^\s+\d+\s", line)]
    steady = [float(r[1]) for r in rows[1:]]
    model_mb = float(re.search(r"model ([\d.]+) MB", text).group(1))
    return statistics.mean(steady), model_mb


def main():
    out, counts = Path(sys.argv[1]), [int(n) for n in sys.argv[2:]]
    batch = 128
    gbps, latency_us = loopback()
    runs = {n: measure_run(out / f"n{n}", batch) for n in counts}
    # The model's size: a one-worker simulation prints it.
    _, model_mb = simulate(1, batch, 1, 1, 1, 0, out / "sim-size")
    model_bytes = model_mb * 1e6
    print(f"loopback TCP: {gbps:.1f} Gbit/s one stream, {latency_us:.1f} µs one way; model {model_mb} MB (ResNet-8)\n")
    calibration = runs[counts[0]]
    # One shard moves the weights in and the gradient out: 2P over the measured transfer time.
    calibrated_gbps = 2 * model_bytes * 8 / (calibration["transfer_ms"] / 1000) / 1e9
    print(f"calibrated link (from N={counts[0]}): {calibrated_gbps:.3f} Gbit/s effective\n")
    print("| N | measured step ms (sd) | compute ms/shard | ms/sample | slowest/mean compute | server ms | transfer ms/shard | simulated: raw loopback | calibrated link | calibrated link, slowest shard's compute |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, run in runs.items():
        rate = n * model_bytes / (run["server_ms"] / 1000) / 1e9
        raw, _ = simulate(n, batch, run["per_sample_ms"], rate, gbps, latency_us, out / f"sim-n{n}-raw")
        cal, _ = simulate(n, batch, run["per_sample_ms"], rate, calibrated_gbps, latency_us, out / f"sim-n{n}-calibrated")
        # Every simulated worker as slow as the step's slowest real one: what is left is the model of transfers and coordination.
        slowest, _ = simulate(n, batch, run["slowest_per_sample_ms"], rate, calibrated_gbps, latency_us, out / f"sim-n{n}-slowest")
        m = run["step_ms"]
        print(f"| {n} | {m:.1f} ({run['step_sd']:.1f}) | {run['compute_ms']:.1f} | {run['per_sample_ms']:.3f} | {run['straggle']:.2f} | {run['server_ms']:.2f} | "
              f"{run['transfer_ms']:.1f} | {raw:.1f} ({(raw - m) / m:+.0%}) | {cal:.1f} ({(cal - m) / m:+.0%}) | {slowest:.1f} ({(slowest - m) / m:+.0%}) |")


if __name__ == "__main__":
    main()
