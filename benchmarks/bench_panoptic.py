"""PQ at COCO-val scale: panoptix vs hotcoco (and optionally panopticapi), whole processes, side by side.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_panoptic.py [--data bench-data/panoptic] [--repeat 3] [--panopticapi]

Makes the workload with ``../shared/bench/make_bench.py DATA panoptic`` when it is missing
(1,000 images 480×640). Every contender runs as its own process, one after the other,
``--repeat`` times after one warm-up; the table gives the median wall time, the peak
memory of the whole process tree (sum of RSS, and sum of PSS, which counts pages shared
by forked workers once) and the ratio to hotcoco. Numbers are checked to agree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_BENCH = REPO.parent / "shared" / "bench"
PY = sys.executable


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (from /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            pass
    return out


def _mem(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes of one process, from smaps_rollup."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


def run_measured(cmd: list[str], env=None) -> dict:
    """Run ``cmd``; wall time, CPU time (user + sys of the whole tree), peak summed RSS/PSS of
    its process tree (sampled every 10 ms), stdout."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = {"rss": 0, "pss": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            rss = pss = 0
            for p in _tree(proc.pid):
                r, s = _mem(p)
                rss += r
                pss += s
            peak["rss"] = max(peak["rss"], rss)
            peak["pss"] = max(peak["pss"], pss)
            stop.wait(0.01)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # reaped children and what they reaped
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stop.set()
    th.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return {"wall": wall, "cpu": cpu, "rss": peak["rss"], "pss": peak["pss"], "stdout": out}


def compare(contenders: dict[str, list[str]], repeat: int, baseline: str, check) -> list[dict]:
    rows = []
    for name, cmd in contenders.items():
        run_measured(cmd)  # warm-up: page cache, numba/pyc caches
        runs = [run_measured(cmd) for _ in range(repeat)]
        value = check(name, runs[-1]["stdout"])
        rows.append({"name": name, "wall": statistics.median(r["wall"] for r in runs),
                     "cpu": statistics.median(r["cpu"] for r in runs),
                     "rss": max(r["rss"] for r in runs), "pss": max(r["pss"] for r in runs), "value": value})
    base = next(r for r in rows if r["name"] == baseline)
    print(f"{'':28s} {'wall s':>8s} {'x base':>7s} {'CPU s':>7s} {'x base':>7s} {'RSS MB':>8s} {'x base':>7s} "
          f"{'PSS MB':>8s} {'x base':>7s}  value")
    for r in rows:
        print(f"{r['name']:28s} {r['wall']:8.2f} {r['wall'] / base['wall']:7.2f} {r['cpu']:7.2f} "
              f"{r['cpu'] / base['cpu']:7.2f} {r['rss'] / 2**20:8.1f} "
              f"{r['rss'] / base['rss']:7.2f} {r['pss'] / 2**20:8.1f} {r['pss'] / base['pss']:7.2f}  {r['value']}")
    return rows


def compare_and_check(contenders: dict[str, list[str]], repeat: int, key: str, out_json: Path, data, gt_dir) -> list[dict]:
    """Run the contenders against hotcoco; stop when their ``key`` numbers disagree.

    The CLI contender writes its numbers to ``out_json``; the others print a JSON line last.
    """
    def check(name, stdout):
        text = out_json.read_text() if name == "panoptix CLI" else stdout.strip().splitlines()[-1]
        return round(json.loads(text)[key], 12)

    print(f"workload: {data} ({len(os.listdir(gt_dir))} images), cores: {os.cpu_count()}, "
          f"python: {sys.version.split()[0]}")
    rows = compare(contenders, repeat, "hotcoco", check)
    values = {r["value"] for r in rows}
    if max(values) - min(values) > 1e-9:
        raise SystemExit(f"{key} disagree: {values}")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO / "bench-data" / "panoptic")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--panopticapi", action="store_true", help="also time panopticapi (slow)")
    args = ap.parse_args(argv)
    data = args.data
    if not (data / "gt.json").exists():
        subprocess.run([PY, str(SHARED_BENCH / "make_bench.py"), str(data), "panoptic"], check=True)
    gj, pj, gd, pd = (str(data / p) for p in ("gt.json", "pred.json", "gt", "pred"))
    out_json = Path(tempfile.mkdtemp()) / "pq.json"
    jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
    anchor = str(SHARED_BENCH / "anchors" / "pq.py")
    contenders = {"hotcoco": [PY, anchor, "hotcoco", gj, pj, gd, pd]}
    if args.panopticapi:
        contenders["panopticapi"] = [PY, anchor, "panopticapi", gj, pj, gd, pd]
    contenders["panoptix CLI"] = [PY, "-m", "panoptix", "eval", "panoptic", gj, pj, "--json", str(out_json)] + jobs
    api = ("import sys, json; from panoptix.metrics import evaluate_panoptic_folder as f; "
           f"r = f(*sys.argv[1:5], jobs={args.jobs!r}); print(json.dumps(r.summary))")
    contenders["panoptix API"] = [PY, "-c", api, gj, pj, gd, pd]

    compare_and_check(contenders, args.repeat, "PQ", out_json, data, gd)


if __name__ == "__main__":
    main()
