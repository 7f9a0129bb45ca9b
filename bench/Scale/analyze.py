#!/usr/bin/env python3
"""Prints bench/Scale's table from a results directory that run.sh wrote (run it again on it any time), with
`distributed simulate`'s prediction beside each row, and writes scale.csv and scale.png there.

Measured, per run (steps before the warm-up count left out):
- step: median step time (metrics.jsonl).
- compute: each shard's compute as the worker measured it (timeline.json), per sample; median, and the median over
  steps of each step's slowest shard (N one-thread processes time-share 2 cores, so the slowest straggles).
- coordinator node, out and in: its tensor channel counters on /metrics (scrape.txt), least-squares slope of bytes
  against distributed_steps_total over the timed steps. Out is the weights it sends the workers.
- server nodes and workers: each process's totals printed when it stopped, over the whole run divided by its steps
  (the warm-up, the final evaluation's weights and any reassigned shard are in it; the coordinator's whole-run
  figure in scale.csv, next to its window figure, shows how much that adds).

Simulated (`distributed simulate --depth 8 --global-batch B --no-speculate`, one run per row): the same N and K;
K = 1 and Kc on the coordinator path (`--path coordinator`, which has one server: Kc is simulated as K = 1, the same
bytes), Kn on the direct path (`--path direct`:
servers on their own nodes, workers push and pull their slices straight to and from them). Inputs:
- compute per sample: this row's own measured median (the oversubscribed CPU makes it grow with N), and again with
  each step's slowest shard's (the second simulated step column);
- link: latency = half the round trip of a 64-byte ping-pong on 127.0.0.1 (probed here); bandwidth calibrated ONCE
  on the first N with K = 1 (2 on the default matrix): the bandwidth at which a shard's weights in and gradient
  out (2 P) take as long as that run's measured transfer time per shard (timeline: shard sent → received, minus
  compute); kept for every other row;
- server: averaging + update rate from the same calibration run (N·P over its aggregation + optimizer time).
"""
import csv, json, re, statistics, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from clusterprobe import loopback_latency_us, timeline  # noqa: E402  (shared with scripts/simulate-validation.py)
CLI = ["dotnet", str(ROOT / "src/Cli/bin/Release/net10.0/distributed.dll"), "simulate"]
MB = 1e6


def settings(out):
    return {k: int(v) for k, v in (item.split("=") for item in (out / "settings.txt").read_text().split())}


def measure_timeline(run, warmup):
    events = [e for e in timeline(run / "timeline.json") if e.get("ph") == "X" and e.get("args", {}).get("step", 0) >= warmup]
    by = lambda name: [e["dur"] / 1000 for e in events if e["name"] == name]
    compute = [e for e in events if e["name"] == "compute"]
    if not compute:
        sys.exit(f"error: {run}/timeline.json has no compute events after step {warmup}")
    per_step = {}
    for e in compute:
        per_step.setdefault(e["args"]["step"], []).append(e["dur"] / 1000)
    samples = statistics.mean(e["args"]["samples"] for e in compute)
    server = [a + o for a, o in zip(by("aggregation"), by("optimizer"))]
    transfer = [a + b for a, b in zip(by("transfer in"), by("transfer out"))]
    # Medians throughout, as for the step time: a loaded 2-core machine has long tails.
    return dict(per_sample_ms=statistics.median(e["dur"] / 1000 for e in compute) / samples,
                slowest_per_sample_ms=statistics.median(max(c) for c in per_step.values()) / samples,
                server_ms=statistics.median(server) if server else None,
                transfer_ms=statistics.median(transfer) if transfer else None)


def step_times(run, warmup):
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    steps = [r for r in records if r["type"] == "step"]
    timed = [s["step_ms"] for s in steps if s["step"] >= warmup]
    return len(steps), statistics.median(timed)


def count(text):
    return int(re.sub(r"\D", "", text))


def totals(log, pattern):
    match = re.search(pattern, log.read_text())
    if not match:
        sys.exit(f"error: {log} has no tensor channel totals (did the node stop cleanly?)")
    return count(match.group(1)), count(match.group(2))


def slope(points):
    """Least-squares slope of y against x."""
    mx, my = statistics.mean(p[0] for p in points), statistics.mean(p[1] for p in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def coordinator_window(run, warmup, steps):
    """Bytes per step out of and into the coordinator node over the timed steps, from its /metrics."""
    samples = []
    for line in (run / "scrape.txt").read_text().splitlines():
        tokens = line.split()[1:]
        values = {re.sub(r"\{.*", "", name): float(value) for name, value in zip(tokens[::2], tokens[1::2])}
        if {"distributed_steps_total", "distributed_tensor_sent_bytes_total", "distributed_tensor_received_bytes_total"} <= values.keys():
            samples.append(values)
    window = [v for v in samples if warmup <= v["distributed_steps_total"] <= warmup + steps]
    if len({v["distributed_steps_total"] for v in window}) < 2:
        return None, None
    return tuple(slope([(v["distributed_steps_total"], v[f"distributed_tensor_{d}_bytes_total"]) for v in window]) for d in ("sent", "received"))


def measure(run, warmup, steps):
    total_steps, median_ms = step_times(run, warmup)
    sent, received = totals(run / "coordinator.log", r"Tensor channel of this node: ([\d,.\s ]+) bytes sent, ([\d,.\s ]+) bytes received")
    nodes = {}
    for kind in ("worker", "server"):
        nodes[kind] = [totals(log, r"tensor channel ([\d,.\s ]+) bytes sent, ([\d,.\s ]+) bytes received")
                       for log in sorted(run.glob(f"{kind}*.log"))]
    out_window, in_window = coordinator_window(run, warmup, steps)
    per_node = lambda kind: statistics.mean(s + r for s, r in nodes[kind]) / total_steps if nodes[kind] else None
    return dict(steps=total_steps, step_ms=median_ms, coord_out=out_window, coord_in=in_window,
                coord_out_run=sent / total_steps, coord_in_run=received / total_steps,
                server=per_node("server"), server_max=max((s + r for s, r in nodes["server"]), default=0) / total_steps or None,
                worker=per_node("worker"), **measure_timeline(run, warmup))


def simulate(n, k, path, batch, per_sample_ms, server_rate, gbps, latency_us, out):
    args = CLI + ["--workers", str(n), "--ps-shards", str(k), "--path", path, "--depth", "8", "--global-batch", str(batch), "--steps", "6",
                  "--no-speculate", "--compute-per-sample-ms", f"{per_sample_ms:.6f}", "--server-gbytes-per-s", f"{server_rate:.6f}",
                  "--bandwidth-gbps", f"{gbps:.6f}", "--latency-us", f"{latency_us:.3f}", "--output", str(out)]
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    text = done.stdout
    model_bytes = float(re.search(r"model ([\d.]+) MB", text).group(1)) * MB
    with open(out / "simulation-steps.csv") as f:
        rows = list(csv.DictReader(f))[1:]  # step 0 left out, as the simulator's own steady figures do
    mean = lambda key: statistics.mean(float(r[key]) for r in rows)
    return dict(step_ms=mean("step_ms"), coordinator=mean("coordinator_bytes"), server=mean("max_server_bytes"), worker=mean("mean_worker_bytes"),
                model_bytes=model_bytes)


def layout(name):
    k = int(name.rstrip("cn"))
    return k, ("direct" if name.endswith("n") else "coordinator"), ("server nodes" if name.endswith("n") else "coordinator node")


def fmt(value, scale=MB, digits=3):
    if value is None:
        return "–"
    return f"{value / scale:.{digits}f}" if abs(value) >= 0.01 * scale or value == 0 else f"{value / scale:.2g}"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: analyze.py RESULTS_DIR")
    out = Path(sys.argv[1])
    config = settings(out)
    warmup, steps, batch = config["warmup"], config["steps"], config["batch"]
    runs = {}
    for run in out.iterdir():
        match = re.fullmatch(r"n(\d+)-k(\d+[cn]?)", run.name)
        if run.is_dir() and match and (run / "metrics.jsonl").exists():
            runs[(int(match.group(1)), match.group(2))] = measure(run, warmup, steps)
    if not runs:
        sys.exit(f"error: no finished runs in {out}")
    calibration_key = min((key for key in runs if layout(key[1])[0] == 1 and layout(key[1])[1] == "coordinator"), default=None)
    if calibration_key is None:
        sys.exit("error: the link is calibrated on a run with one server on the coordinator's node (--servers 1); there is none")
    cal = runs[calibration_key]
    latency = loopback_latency_us()
    model_bytes = simulate(1, 1, "coordinator", batch, 1, 1, 1, latency, out / "sim-size")["model_bytes"]
    gbps = 2 * model_bytes * 8 / (cal["transfer_ms"] / 1000) / 1e9
    server_rate = calibration_key[0] * model_bytes / (cal["server_ms"] / 1000) / 1e9
    machine = out / "machine.txt"
    if machine.exists():
        print(machine.read_text().rstrip())
    print(f"\nmodel P = {model_bytes / MB:.3f} MB (ResNet-8), global batch {batch}, {warmup} warm-up + {steps} timed steps; "
          f"simulator calibrated on N={calibration_key[0]}, K=1: link {gbps:.3f} Gbit/s, latency {latency:.1f} µs (loopback probe), "
          f"server {server_rate:.3f} GB/s")
    print("MB per step; coordinator out/in from its /metrics over the timed steps; server nodes and workers: sent + received, "
          "whole run / steps. Simulated MB are both directions.\n")
    print("| N | K | servers on | step ms | compute ms/sample (slowest) | coordinator out MB | coordinator in MB | server node MB | worker MB "
          "| sim step ms | sim step ms, slowest compute | sim coordinator MB | sim server MB | sim worker MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for (n, name), m in sorted(runs.items(), key=lambda item: (item[0][0], layout(item[0][1])[0], item[0][1])):
        k, path, where = layout(name)
        sim_dir = out / f"sim-n{n}-k{name}"
        sim_dir.mkdir(exist_ok=True)
        # The simulator's coordinator path has one server (it refuses --ps-shards > 1 there): Kc moves the same bytes as
        # K = 1, and its K ranges share the coordinator node's cores rather than running beside each other.
        sim_k = k if path == "direct" else 1
        sim = simulate(n, sim_k, path, batch, m["per_sample_ms"], server_rate, gbps, latency, sim_dir)
        slow_dir = out / f"sim-n{n}-k{name}-slowest"
        slow_dir.mkdir(exist_ok=True)
        slow = simulate(n, sim_k, path, batch, m["slowest_per_sample_ms"], server_rate, gbps, latency, slow_dir)
        print(f"| {n} | {k} | {where} | {m['step_ms']:.0f} | {m['per_sample_ms']:.2f} ({m['slowest_per_sample_ms']:.2f}) | "
              f"{fmt(m['coord_out'])} | {fmt(m['coord_in'])} | {fmt(m['server'])} | {fmt(m['worker'])} | "
              f"{sim['step_ms']:.0f} ({(sim['step_ms'] - m['step_ms']) / m['step_ms']:+.0%}) | {slow['step_ms']:.0f} ({(slow['step_ms'] - m['step_ms']) / m['step_ms']:+.0%}) | "
              f"{fmt(sim['coordinator'])} | {fmt(sim['server']) if path == 'direct' else '(coordinator)'} | {fmt(sim['worker'])} |")
        rows.append(dict(workers=n, servers=k, servers_on=where, measured_step_ms=m["step_ms"], compute_ms_per_sample=m["per_sample_ms"],
                         slowest_compute_ms_per_sample=m["slowest_per_sample_ms"], transfer_ms_per_shard=m["transfer_ms"],
                         coordinator_out_bytes_per_step=m["coord_out"], coordinator_in_bytes_per_step=m["coord_in"],
                         coordinator_out_bytes_per_step_whole_run=m["coord_out_run"], coordinator_in_bytes_per_step_whole_run=m["coord_in_run"],
                         server_node_bytes_per_step_mean=m["server"], server_node_bytes_per_step_max=m["server_max"], worker_bytes_per_step_mean=m["worker"],
                         simulated_path=path, simulated_step_ms=sim["step_ms"], simulated_step_ms_slowest_compute=slow["step_ms"],
                         simulated_coordinator_bytes_per_step=sim["coordinator"], simulated_max_server_bytes_per_step=sim["server"],
                         simulated_worker_bytes_per_step=sim["worker"], steps_in_run=m["steps"]))
    with open(out / "scale.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "scale.png")
    print(f"\nWrote {out / 'scale.csv'} and {out / 'scale.png'}")


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: no matplotlib in this python (Debian: apt-get install python3-matplotlib; run.sh uses /usr/bin/python3): scale.png not drawn")
        return
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    layouts = sorted({(r["servers"], r["servers_on"]) for r in rows})
    for i, (k, where) in enumerate(layouts):
        mine = sorted((r for r in rows if (r["servers"], r["servers_on"]) == (k, where)), key=lambda r: r["workers"])
        ns = [r["workers"] for r in mine]
        color = f"C{i}"
        label = f"K={k} on {where}"
        both = [(r["coordinator_out_bytes_per_step"], r["coordinator_in_bytes_per_step"]) for r in mine]
        axes[0].plot(ns, [float("nan") if o is None else (o + i) / MB for o, i in both], "o-", color=color, label=f"{label}, measured")
        axes[0].plot(ns, [r["simulated_coordinator_bytes_per_step"] / MB for r in mine], "x--", color=color, label=f"{label}, simulated")
        if where == "server nodes":
            axes[1].plot(ns, [r["server_node_bytes_per_step_mean"] / MB for r in mine], "o-", color=color, label=f"{label}, measured")
            axes[1].plot(ns, [r["simulated_max_server_bytes_per_step"] / MB for r in mine], "x--", color=color, label=f"{label}, simulated")
        axes[2].plot(ns, [r["measured_step_ms"] for r in mine], "o-", color=color, label=f"{label}, measured")
        axes[2].plot(ns, [r["simulated_step_ms_slowest_compute"] for r in mine], "x--", color=color, label=f"{label}, simulated (slowest compute)")
    axes[0].set_title("coordinator node: MB per step (sent + received)")
    # Log scale: the simulated direct path moves only shard messages through the coordinator (under 0.001 MB).
    axes[0].set_yscale("log")
    axes[1].set_title("each server node: MB per step (sent + received)")
    axes[2].set_title("median step time, ms")
    for ax in axes:
        ax.set_xlabel("workers N")
        ax.set_xticks(sorted({r["workers"] for r in rows}))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle("bench/Scale: ResNet-8, real loopback processes (solid) against distributed simulate (dashed; "
                 "server nodes simulated on the direct path, weights pulled from them)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
