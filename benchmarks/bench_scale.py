"""Memory and time of COCO mask AP at 10x COCO val: panoptix on Dask vs whole-file evaluators.

Workload: N images (default 50,000 = 10x COCO val2017) of 480x640, ~7.4 ground-truth
polygons each (1% crowd RLE), 100 detections per image as compressed RLE — 5M detections,
the distribution of ``../shared/bench/make_bench.py instance``, written *streaming* (the
generator never holds the dataset) into ``bench-data/scale-N/`` (gitignored), once.

Every evaluator runs in its own process tree, watched every 0.1 s: peak RSS is the largest
sum over the tree (client, scheduler and Dask worker processes included), with the peak of
the main (client) process and of the largest other process (a Dask worker) beside it; a tree
that passes ``--mem-limit`` GB or ``--time-limit`` seconds is killed and reported as such.
The 1-minute load average at the end of each run is printed too: on a shared machine it
explains most of the spread between runs.

Usage::

    python benchmarks/bench_scale.py generate --n 50000          # ~10 min on 2 cores, ~1.3 GB
    python benchmarks/bench_scale.py run --n 50000                # every evaluator, table + JSON
    python benchmarks/bench_scale.py run --n 2000 --tools dask-1,dask-2,hotcoco

Tools: ``dask-1`` / ``dask-2`` (``evaluate_distributed`` on ``local:1`` / ``local:2``),
``panoptix`` (``evaluate_coco``, whole files, 2 processes), ``hotcoco``, ``faster-coco-eval``,
``pycocotools``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
H, W = 480, 640
N_CATS = 80
DETS_PER_IMAGE = 100


# --------------------------------------------------------------------------- the workload
def _poly(rng, cx, cy, r, n=16):
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    rr = r * rng.uniform(0.6, 1.0, n)
    xy = np.empty(2 * n)
    xy[0::2] = cx + rr * np.cos(t)
    xy[1::2] = cy + rr * np.sin(t)
    return np.round(xy, 1).tolist()


def _image(i: int):
    """Ground truth and detections of image ``i`` (seeded per image: any split of the work
    gives the same files)."""
    from pycocotools import mask as mu

    rng = np.random.default_rng([7, i])
    iid = i + 1
    anns, dets, gts = [], [], []
    for _ in range(int(rng.poisson(7.4))):
        r = float(np.exp(rng.uniform(np.log(4), np.log(200))))
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
        p = _poly(rng, cx, cy, r)
        rle = mu.merge(mu.frPyObjects([p], H, W))
        a = float(mu.area(rle))
        if a == 0:
            continue
        c = int(rng.integers(1, N_CATS + 1))
        crowd = int(rng.random() < 0.01)
        seg = {"size": [H, W], "counts": rle["counts"].decode()} if crowd else [p]
        anns.append({"image_id": iid, "category_id": c, "segmentation": seg, "area": a,
                     "bbox": [float(x) for x in mu.toBbox(rle)], "iscrowd": crowd})
        gts.append((c, cx, cy, r))
    raw = []
    for c, cx, cy, r in gts:
        for _ in range(int(rng.integers(1, 4))):
            p = _poly(rng, cx + rng.normal(0, r * 0.1), cy + rng.normal(0, r * 0.1), r * rng.uniform(0.8, 1.2))
            raw.append((c if rng.random() < 0.8 else int(rng.integers(1, N_CATS + 1)), p, float(rng.random())))
    while len(raw) < DETS_PER_IMAGE:
        p = _poly(rng, rng.uniform(0, W), rng.uniform(0, H), float(np.exp(rng.uniform(np.log(4), np.log(120)))))
        raw.append((int(rng.integers(1, N_CATS + 1)), p, float(rng.random() * 0.5)))
    for c, p, s in raw:
        rle = mu.merge(mu.frPyObjects([p], H, W))
        dets.append({"image_id": iid, "category_id": c, "segmentation": {"size": [H, W],
                     "counts": rle["counts"].decode()}, "score": round(s, 4)})
    return anns, dets


def _write_part(args):
    import orjson

    lo, hi, folder = args
    with open(folder / f"part-{lo:07d}.gt", "wb") as g, open(folder / f"part-{lo:07d}.dt", "wb") as d:
        for i in range(lo, hi):
            anns, dets = _image(i)
            for a in anns:
                g.write(orjson.dumps(a) + b"\n")
            for x in dets:
                d.write(orjson.dumps(x) + b"\n")
    return lo


def generate(n: int, out: Path, jobs: int = 2) -> tuple[Path, Path]:
    """Write ``gt.json`` and ``pred.json`` for ``n`` images, streaming (parts per worker, then joined)."""
    gt, pred = out / "gt.json", out / "pred.json"
    if gt.is_file() and pred.is_file():
        return gt, pred
    out.mkdir(parents=True, exist_ok=True)
    parts = out / "parts"
    parts.mkdir(exist_ok=True)
    step = 500
    todo = [(lo, min(lo + step, n), parts) for lo in range(0, n, step)]
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(jobs) as pool:
        for k, _ in enumerate(pool.imap_unordered(_write_part, todo), 1):
            print(f"\rgenerating: {min(k * step, n)}/{n} images, {time.perf_counter() - t0:.0f} s",
                  end="", file=sys.stderr)
    print(file=sys.stderr)
    import orjson

    tmp = gt.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(b'{"images":[')
        fh.write(b",".join(orjson.dumps({"id": i + 1, "height": H, "width": W, "file_name": f"{i + 1:012d}.jpg"})
                           for i in range(n)))
        fh.write(b'],"categories":' + orjson.dumps([{"id": c, "name": f"c{c}", "supercategory": "x"}
                                                      for c in range(1, N_CATS + 1)]))
        fh.write(b',"annotations":[')
        aid, first = 1, True
        for lo, _, _ in todo:
            with open(parts / f"part-{lo:07d}.gt", "rb") as part:
                for line in part:
                    rec = orjson.loads(line)
                    rec["id"] = aid
                    aid += 1
                    fh.write((b"" if first else b",") + orjson.dumps(rec))
                    first = False
        fh.write(b"]}")
    os.replace(tmp, gt)
    tmp = pred.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(b"[")
        first = True
        for lo, _, _ in todo:
            with open(parts / f"part-{lo:07d}.dt", "rb") as part:
                for line in part:
                    fh.write((b"" if first else b",") + line.rstrip(b"\n"))
                    first = False
        fh.write(b"]")
    os.replace(tmp, pred)
    for p in parts.iterdir():
        p.unlink()
    parts.rmdir()
    print(f"wrote {gt} ({gt.stat().st_size / 1e6:.0f} MB), {pred} ({pred.stat().st_size / 1e6:.0f} MB) "
          f"in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return gt, pred


# --------------------------------------------------------------------------- one evaluator
def run_one(tool: str, gt: str, pred: str, shard_size: int) -> dict:
    """Run one evaluator in this process; the 12 COCO numbers and phase timings."""
    import contextlib
    import io

    t0 = time.perf_counter()
    extra = {}
    if tool.startswith("dask-"):
        from panoptix.distributed import evaluate_distributed

        res = evaluate_distributed("instance", gt, pred, address=f"local:{tool.split('-')[1]}",
                                   shard_size=shard_size)
        stats = [res.summary[k] for k in ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100",
                                          "ARs", "ARm", "ARl")]
        extra = {k: round(v, 2) for k, v in res.extra.get("timings", {}).items()}
    elif tool == "panoptix":
        from panoptix.metrics import evaluate_coco

        res = evaluate_coco(gt, pred, jobs=2)
        stats = list(res.extra["stats"])
        extra = {k: round(v, 2) for k, v in res.extra["timings"].items()}
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            if tool == "pycocotools":
                from pycocotools.coco import COCO
                from pycocotools.cocoeval import COCOeval
                g = COCO(gt)
                e = COCOeval(g, g.loadRes(pred), "segm")
            elif tool == "faster-coco-eval":
                from faster_coco_eval import COCO, COCOeval_faster
                g = COCO(gt)
                e = COCOeval_faster(g, g.loadRes(pred), "segm")
            elif tool == "hotcoco":
                from hotcoco import COCO, COCOeval
                g = COCO(gt)
                e = COCOeval(g, g.load_res(pred) if hasattr(g, "load_res") else g.loadRes(pred), "segm")
            else:
                raise SystemExit(f"unknown tool {tool}")
            e.evaluate()
            e.accumulate()
            e.summarize()
        stats = list(e.stats)[:12]
    return {"tool": tool, "seconds": time.perf_counter() - t0, "stats": [float(s) for s in stats], **extra}


def _tree_rss(proc, peaks: dict) -> tuple[int, int]:
    """(sum of RSS over the process tree, number of processes); ``peaks[pid]`` keeps each
    process's largest RSS."""
    import psutil

    total, n = 0, 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0, 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
        total += rss
        n += 1
        peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
    return total, n


def watch(tool: str, gt: Path, pred: Path, *, mem_limit_gb: float, time_limit: float, shard_size: int) -> dict:
    """Run ``tool`` in a child process tree; peak RSS (whole tree), time, and the verdict."""
    import psutil

    cmd = [sys.executable, __file__, "one", tool, str(gt), str(pred), "--shard-size", str(shard_size)]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    proc = psutil.Process(child.pid)
    peak, peak_procs, verdict = 0, 0, "ok"
    peaks: dict = {}
    limit = mem_limit_gb * 1e9
    while child.poll() is None:
        rss, n = _tree_rss(proc, peaks)
        if rss > peak:
            peak, peak_procs = rss, n
        if rss > limit or time.perf_counter() - t0 > time_limit:
            verdict = (f"killed: over {mem_limit_gb:g} GB" if rss > limit else f"killed: over {time_limit:g} s")
            os.killpg(child.pid, 9)
            break
        time.sleep(0.1)
    out, err = child.communicate()
    wall = time.perf_counter() - t0
    others = [v for pid, v in peaks.items() if pid != child.pid]
    row = {"tool": tool, "verdict": verdict, "wall_s": round(wall, 2), "peak_rss_gb": round(peak / 1e9, 3),
           "processes_at_peak": peak_procs, "main_process_peak_gb": round(peaks.get(child.pid, 0) / 1e9, 3),
           "largest_other_process_peak_gb": round(max(others, default=0) / 1e9, 3),
           "load_average": round(os.getloadavg()[0], 2)}
    if verdict == "ok":
        if child.returncode != 0:
            row["verdict"] = f"failed (exit {child.returncode}): {err.decode(errors='replace').strip()[-300:]}"
        else:
            row.update(json.loads(out.decode().strip().splitlines()[-1]))
    return row


def run(args) -> None:
    folder = Path(args.data) if args.data else REPO / "bench-data" / f"scale-{args.n}"
    gt, pred = generate(args.n, folder, args.jobs)
    rows = []
    for tool in args.tools.split(","):
        row = watch(tool, gt, pred, mem_limit_gb=args.mem_limit, time_limit=args.time_limit,
                    shard_size=args.shard_size)
        rows.append(row)
        print(json.dumps(row), flush=True)
    ref = next((r["stats"] for r in rows if r["verdict"] == "ok" and r["tool"] in ("pycocotools", "panoptix")), None)
    print(f"\n{args.n} images, {gt.stat().st_size / 1e6:.0f} MB ground truth, {pred.stat().st_size / 1e6:.0f} MB "
          f"results; limits {args.mem_limit:g} GB / {args.time_limit:g} s; {os.cpu_count()} cores")
    print(f"{'tool':18} {'verdict':20} {'wall s':>7} {'peak RSS GB':>11} {'main GB':>8} {'worker GB':>9} "
          f"{'load':>5} {'AP':>7}  same 12 numbers")
    for r in rows:
        ap = f"{r['stats'][0]:.4f}" if "stats" in r else "-"
        if "stats" not in r or ref is None:
            same = "-"
        elif r["stats"] == ref:
            same = "yes"
        else:
            same = f"max diff {max(abs(a - b) for a, b in zip(r['stats'], ref)):.1e}"
        print(f"{r['tool']:18} {r['verdict'][:20]:20} {r['wall_s']:7.1f} {r['peak_rss_gb']:11.2f} "
              f"{r['main_process_peak_gb']:8.2f} {r['largest_other_process_peak_gb']:9.2f} {r['load_average']:5.1f} "
              f"{ap:>7}  {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--n", type=int, default=50000)
    g.add_argument("--data", default=None)
    g.add_argument("--jobs", type=int, default=2)
    r = sub.add_parser("run")
    r.add_argument("--n", type=int, default=50000)
    r.add_argument("--data", default=None, help="folder of gt.json + pred.json (default bench-data/scale-N)")
    r.add_argument("--jobs", type=int, default=2, help="processes for generating")
    r.add_argument("--tools", default="dask-2,dask-1,panoptix,hotcoco,faster-coco-eval,pycocotools")
    r.add_argument("--mem-limit", type=float, default=8.0, help="GB, whole process tree")
    r.add_argument("--time-limit", type=float, default=1800.0, help="seconds")
    r.add_argument("--shard-size", type=int, default=1000, help="images per shard (dask-N)")
    r.add_argument("--json", default=None, help="also write the rows here")
    o = sub.add_parser("one")
    o.add_argument("tool")
    o.add_argument("gt")
    o.add_argument("pred")
    o.add_argument("--shard-size", type=int, default=1000)
    args = ap.parse_args(argv)
    if args.cmd == "generate":
        folder = Path(args.data) if args.data else REPO / "bench-data" / f"scale-{args.n}"
        generate(args.n, folder, args.jobs)
    elif args.cmd == "run":
        run(args)
    else:
        print(json.dumps(run_one(args.tool, args.gt, args.pred, args.shard_size)))


if __name__ == "__main__":
    main()
