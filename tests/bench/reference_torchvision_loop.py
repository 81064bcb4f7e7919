"""The bare torchvision loop Lightable's pre-label job is measured against.

What a person would write without Lightable: decode each image with Pillow,
convert to a float tensor, run the model on a batch under ``inference_mode``,
copy the outputs to the CPU. No database, no queue, no overlap.

Standalone: ``python tests/bench/reference_torchvision_loop.py IMAGE_FOLDER
--model ssdlite320_mobilenet_v3_large --device cpu --batch-size 8``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def run_reference(
    model: Any, paths: Sequence[Path], batch_size: int, device: Any, detection: bool = True
) -> dict[str, float]:
    """Images per second of the plain loop (``model`` already on ``device``, in eval mode)."""
    import torch
    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor

    t0 = time.perf_counter()
    n = 0
    with torch.inference_mode():
        for i in range(0, len(paths), batch_size):
            batch = []
            for p in paths[i : i + batch_size]:
                with Image.open(p) as im:
                    x = pil_to_tensor(im.convert("RGB"))
                batch.append(x.to(device).float().div_(255.0))
            out = model(batch) if detection else model(torch.stack(batch))
            if detection:
                for o in out:
                    {k: v.cpu() for k, v in o.items()}
            else:
                out.cpu()
            n += len(batch)
    dt = time.perf_counter() - t0
    return {"images": n, "seconds": round(dt, 3), "images_per_s": round(n / dt, 3)}


def main(argv: Sequence[str] | None = None) -> int:
    import torch
    from torchvision.models import get_model

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--model", default="ssdlite320_mobilenet_v3_large")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args(argv)
    paths = sorted(
        p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )
    device = torch.device(args.device)
    model = get_model(args.model, weights=None, weights_backbone=None).eval().to(device)
    print(run_reference(model, paths, args.batch_size, device))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
