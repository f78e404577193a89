"""COCO mask AP at COCO-val scale: panoptix vs hotcoco, faster-coco-eval, pycocotools.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_instance.py                     # 5,000 images, 500k detections
    .venv/bin/python benchmarks/bench_instance.py --scale 1000        # a quicker, smaller workload
    .venv/bin/python benchmarks/bench_instance.py --tools panoptix,hotcoco --repeat 5

The workload is made with ``../shared/bench/make_bench.py bench-data/instance[-N] instance [N]``
when missing (COCO-val-like: 480×640 images, ~7.3 ground-truth polygons per image, 100
detections per image as compressed RLE). Each contender runs as its own process
(``../shared/bench/anchors/coco_segm.py`` for the anchors, ``evaluate_coco`` for panoptix),
``--repeat`` times interleaved (A B C A B C ...), so a change in machine load hits every
contender alike, after one warm-up run of panoptix (which fills numba's compiled-code cache;
``--warmup-all`` warms every tool). Reported: the median wall time of the whole process, the
median CPU time (user + system, all processes), the peak memory of the process tree (the sum
of PSS over its processes, sampled every 10 ms — pages shared by forked workers count once —
and the largest single-process max RSS), and ratios to hotcoco. The 12 COCO numbers of every
contender are checked against each other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "bench"
ANCHOR = BENCH / "anchors" / "coco_segm.py"
PY = sys.executable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_panoptic import _mem, _tree  # noqa: E402  (the /proc tree walk and PSS reading)

PANOPTIX = """
import sys, json, time
t0 = time.perf_counter()
from panoptix.metrics.instance import evaluate_coco
jobs = None if sys.argv[3] == "auto" else int(sys.argv[3])
r = evaluate_coco(sys.argv[1], sys.argv[2], jobs=jobs)
print(json.dumps({"which": "panoptix", "seconds": round(time.perf_counter() - t0, 3),
                  "stats": [float(x) for x in r.extra["stats"]], "timings": r.extra["timings"]}))
"""

ANCHORS = {"hotcoco": "hotcoco", "faster-coco-eval": "faster", "pycocotools": "pycocotools"}


def measure(cmd: list[str]) -> dict:
    """Wall and CPU time, peak tree PSS (sampled) and max single RSS of one process run."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], sum(_mem(p)[1] for p in _tree(proc.pid)))
            done.wait(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    out, err = proc.communicate()
    if status != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    line = [ln for ln in out.splitlines() if ln.startswith("{")][-1]
    res = json.loads(line)
    # ru_maxrss of wait4 is the largest of the process and its waited-for descendants (KiB)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "pss": peak[0],
            "maxrss": usage.ru_maxrss * 1024, "stats": res["stats"], "timings": res.get("timings")}


def command(tool: str, data: Path, jobs: str) -> list[str]:
    gt, pred = str(data / "gt.json"), str(data / "pred.json")
    if tool == "panoptix":
        return [PY, "-c", PANOPTIX, gt, pred, jobs]
    return [PY, str(ANCHOR), ANCHORS[tool], gt, pred]


def ensure_data(data: Path, scale: int | None) -> None:
    if (data / "gt.json").is_file() and (data / "pred.json").is_file():
        return
    data.mkdir(parents=True, exist_ok=True)
    cmd = [PY, str(BENCH / "make_bench.py"), str(data), "instance"] + ([str(scale)] if scale else [])
    print("making the workload:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, help="folder with gt.json and pred.json (default bench-data/instance[-N])")
    ap.add_argument("--scale", type=int, help="number of images (default: make_bench's 5000)")
    ap.add_argument("--tools", default="panoptix,hotcoco,faster-coco-eval,pycocotools")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", default="auto", help="panoptix worker processes ('auto': the CPUs available)")
    ap.add_argument("--warmup-all", action="store_true", help="warm up every tool, not only panoptix")
    ap.add_argument("--json", type=Path, help="also write the raw measurements here")
    args = ap.parse_args(argv)
    data = args.data or REPO / "bench-data" / ("instance" if not args.scale else f"instance-{args.scale}")
    ensure_data(data, args.scale)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    for t in tools:
        if t != "panoptix" and t not in ANCHORS:
            ap.error(f"unknown tool {t!r}")
    print(f"workload {data}  ({(data / 'pred.json').stat().st_size / 1e6:.0f} MB of results), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for t in tools:  # warm-up: the file cache, and numba's compiled-code cache for panoptix
        if t == "panoptix" or args.warmup_all:
            measure(command(t, data, args.jobs))
    for i in range(args.repeat):
        for t in tools:
            r = measure(command(t, data, args.jobs))
            runs[t].append(r)
            print(f"  run {i + 1} {t:17s} {r['wall']:7.2f} s  cpu {r['cpu']:6.2f} s  "
                  f"pss {r['pss'] / 2**20:6.0f} MiB", flush=True)
    med = {t: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "pss", "maxrss")}
           for t, rs in runs.items()}
    ref = med.get("hotcoco")
    print()
    print("| tool | wall s | CPU s | peak PSS MiB | max RSS MiB | wall / hotcoco | PSS / hotcoco |")
    print("|---|---|---|---|---|---|---|")
    for t in tools:
        m = med[t]
        rw = f"{m['wall'] / ref['wall']:.2f}" if ref else "–"
        rm = f"{m['pss'] / ref['pss']:.2f}" if ref else "–"
        print(f"| {t} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['pss'] / 2**20:.0f} | {m['maxrss'] / 2**20:.0f} "
              f"| {rw} | {rm} |")
    # every contender must give the same 12 numbers
    base = runs[tools[0]][0]["stats"]
    worst = max(abs(a - b) for t in tools for a, b in zip(runs[t][0]["stats"], base))
    print(f"\nlargest difference between the contenders' 12 COCO numbers: {worst:.3g}")
    if "panoptix" in runs and runs["panoptix"][0].get("timings"):
        tm = {k: round(statistics.median(r["timings"][k] for r in runs["panoptix"]), 3)
              for k in runs["panoptix"][0]["timings"]}
        print("panoptix phases (median s):", tm)
    if args.json:
        args.json.write_text(json.dumps({"data": str(data), "runs": runs, "median": med}, indent=1))
    return 0 if worst <= 1e-12 else 1


if __name__ == "__main__":
    sys.exit(main())
