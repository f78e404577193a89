"""mIoU at Cityscapes scale: panoptix vs hotcoco and a plain numpy loop, whole processes, side by side.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_semantic.py [--data bench-data/semantic] [--repeat 3]

Makes the workload with ``../shared/bench/make_bench.py DATA semantic 300`` when it is
missing (300 label PNGs 512×1024, 19 classes + 255). Same measurement as
``bench_panoptic.py``: median wall time, peak summed RSS and PSS of the process tree,
ratios to hotcoco, mIoU checked to agree.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_panoptic import PY, REPO, SHARED_BENCH, compare_and_check  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO / "bench-data" / "semantic")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--numpy", action="store_true", help="also time the plain numpy anchor")
    args = ap.parse_args(argv)
    data = args.data
    if not (data / "gt").is_dir():
        subprocess.run([PY, str(SHARED_BENCH / "make_bench.py"), str(data), "semantic", "300"], check=True)
    gd, pd = str(data / "gt"), str(data / "pred")
    out_json = Path(tempfile.mkdtemp()) / "sem.json"
    jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
    anchor = str(SHARED_BENCH / "anchors" / "sem.py")
    contenders = {"hotcoco": [PY, anchor, "hotcoco", gd, pd]}
    if args.numpy:
        contenders["numpy bincount"] = [PY, anchor, "numpy", gd, pd]
    contenders["panoptix CLI"] = [PY, "-m", "panoptix", "eval", "semantic", gd, pd, "--num-classes", "19",
                                  "--json", str(out_json)] + jobs
    api = ("import sys, json; from panoptix.metrics import evaluate_semantic_folder as f; "
           f"r = f(sys.argv[1], sys.argv[2], 19, jobs={args.jobs!r}); print(json.dumps(r.summary))")
    contenders["panoptix API"] = [PY, "-c", api, gd, pd]

    compare_and_check(contenders, args.repeat, "mIoU", out_json, data, gd)


if __name__ == "__main__":
    main()
