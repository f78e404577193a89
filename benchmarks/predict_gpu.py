"""Images per second of a prediction backend, on the CPU and (when present) on CUDA.

Usage (from the repository root)::

    .venv/bin/python benchmarks/predict_gpu.py                                  # tiny Mask2Former
    .venv/bin/python benchmarks/predict_gpu.py --model tiny:segformer --task semantic --batch-size 8
    .venv/bin/python benchmarks/predict_gpu.py --model facebook/mask2former-swin-tiny-coco-panoptic \\
        --images 64 --batch-size 8 --devices cuda
    .venv/bin/python benchmarks/predict_gpu.py --model ./my-saved-model --threads 4 --repeat 5

``--model`` is ``tiny:KIND`` (a random tiny model built on the spot, KIND one of mask2former,
maskformer, oneformer, detr, segformer, upernet, sam, clipseg), a saved model folder or a
hub name (downloaded once, then read from the Hugging Face cache). Images are the first
``--images`` photos of ``../shared/data/coco-tiny/val2017`` (cycled), or random
``--size`` images when that folder is missing.

For each device the model is loaded, one batch is run as a warm-up, then ``--images``
images are predicted ``--repeat`` times. Reported per device: the median seconds of a run,
end-to-end images/s (decoding the images, preprocessing, forward, post-processing into the
panoptix label types, restoring the image size) and model-only images/s (time inside the
model's forward calls, measured with forward hooks and CUDA synchronisation). The
difference between the two is the CPU-side work that the GPU does not speed up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
COCO = REPO.parent / "shared" / "data" / "coco-tiny" / "val2017"


def _images(n: int, size: int) -> list:
    files = sorted(COCO.glob("*.jpg")) if COCO.is_dir() else []
    if files:
        from panoptix.models.base import load_image

        decoded = [load_image(p)[0] for p in files[: min(n, len(files))]]
        return [decoded[i % len(decoded)] for i in range(n)]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size * 3 // 4, size, 3), dtype=np.uint8) for _ in range(n)]


def _model_path(spec: str, workdir: Path) -> str:
    if spec.startswith("tiny:"):
        from panoptix.models.tiny import build_tiny

        return str(build_tiny(spec.split(":", 1)[1], workdir / spec.split(":", 1)[1]))
    return spec


class _ForwardTimer:
    """Seconds spent inside ``model.forward`` (and SAM's image encoder), CUDA-synchronised."""

    def __init__(self, model, cuda: bool):
        import torch

        self.total, self._t0, self._depth = 0.0, 0.0, 0
        self._sync = torch.cuda.synchronize if cuda else (lambda: None)
        modules = [model]
        if hasattr(model, "vision_encoder"):  # SAM: the embedding is computed outside forward()
            modules.append(model.vision_encoder)
        self._handles = []
        for m in modules:
            self._handles.append(m.register_forward_pre_hook(self._start))
            self._handles.append(m.register_forward_hook(self._stop))

    def _start(self, *_):
        if self._depth == 0:
            self._sync()
            self._t0 = time.perf_counter()
        self._depth += 1

    def _stop(self, *_):
        self._depth -= 1
        if self._depth == 0:
            self._sync()
            self.total += time.perf_counter() - self._t0

    def remove(self):
        for h in self._handles:
            h.remove()


def bench_device(path: str, device: str, images: list, args) -> dict:
    import torch

    from panoptix.models import load

    options = {}
    if args.model.startswith("tiny:") and args.model.split(":", 1)[1] in ("mask2former", "maskformer", "oneformer",
                                                                          "detr"):
        options = dict(threshold=0.0, mask_threshold=0.05, overlap_mask_area_threshold=0.0)
    if args.model.startswith("tiny:clipseg") or "clipseg" in args.model.lower():
        options["classes"] = ["person", "car", "dog"]
    seg = load(path, device=device, task=args.task, batch_size=args.batch_size, max_side=args.max_side, **options)
    cuda = seg.device.type == "cuda" if hasattr(seg, "device") else False
    seg.predict(images[: args.batch_size], task=args.task)  # warm-up: allocations, kernels, caches
    if hasattr(seg, "clear_cache"):
        seg.clear_cache()  # SAM: time the image encoder, not cache hits
    timer = _ForwardTimer(seg.model, cuda)
    runs, model_s = [], []
    for _ in range(args.repeat):
        if hasattr(seg, "clear_cache"):
            seg.clear_cache()
        timer.total = 0.0
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        seg.predict(images, task=args.task)
        if cuda:
            torch.cuda.synchronize()
        runs.append(time.perf_counter() - t0)
        model_s.append(timer.total)
    timer.remove()
    med, med_model = statistics.median(runs), statistics.median(model_s)
    name = torch.cuda.get_device_name(seg.device) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    return {"device": name, "task": args.task or seg.default_task, "batch": args.batch_size, "images": len(images),
            "seconds": med, "img_s": len(images) / med, "model_img_s": len(images) / med_model if med_model else
            float("nan")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny:mask2former", help="tiny:KIND, a model folder or a hub name")
    ap.add_argument("--task", default=None, help="semantic | instance | panoptic | all (default: the model's)")
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", type=int, default=640, help="width of random images when coco-tiny is missing")
    ap.add_argument("--max-side", type=int, default=2048)
    ap.add_argument("--devices", default="auto", help="comma list of cpu, cuda, cuda:N; auto: cpu + cuda if any")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else []) if args.devices == "auto" \
        else args.devices.split(",")
    images = _images(args.images, args.size)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = _model_path(args.model, Path(tmp))
        for dev in devices:
            if dev.startswith("cuda") and not torch.cuda.is_available():
                print(f"skipping {dev}: CUDA is not available", file=sys.stderr)
                continue
            rows.append(bench_device(path, dev, images, args))
    h, w = images[0].shape[:2]
    print(f"model {args.model}  images {len(images)} ({w}x{h} first)  batch {args.batch_size}  "
          f"repeat {args.repeat} (median)  torch {torch.__version__}")
    header = f"{'device':<34} {'task':<9} {'seconds':>8} {'images/s':>9} {'model-only images/s':>20}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['device']:<34} {r['task']:<9} {r['seconds']:>8.3f} {r['img_s']:>9.1f} {r['model_img_s']:>20.1f}")
    if len(rows) > 1:
        print(f"speed-up {rows[1]['device']} / {rows[0]['device']}: {rows[1]['img_s'] / rows[0]['img_s']:.1f}x "
              "end-to-end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
