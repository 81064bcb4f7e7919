"""Loading model files without running code hidden in them.

Model files are outside data: a ``.pt`` may be a pickle that runs anything when
unpickled. Weights load with ``torch.load(weights_only=True)`` (tensors and
plain containers only); whole models load as TorchScript (whose loader builds
only TorchScript types) or as ``torch.export`` archives with every unpickling
path inside ``torch.export.load`` restricted to tensors (see ``load_exported``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import pickle
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lightable.core.errors import BadInputError

# Keys under which training scripts commonly nest the model's state dict.
_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net", "ema", "module")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def check_readable(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise BadInputError(p, f"{what} not found")
    if not p.is_file():
        raise BadInputError(p, f"{what} is not a file")
    if p.stat().st_size == 0:
        raise BadInputError(p, f"{what} is empty")
    return p


def load_state_dict(path: str | Path) -> dict[str, Any]:
    """A state dict of tensors from ``path``, refusing anything but tensors and containers.

    Accepts a bare state dict, or a training checkpoint that nests one under a
    usual key ('state_dict', 'model', ...); strips DataParallel's ``module.``.
    """
    import torch

    p = check_readable(path, "weights file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise BadInputError(
            p,
            "refused: the file holds Python objects other than tensors (Lightable never "
            "unpickles arbitrary objects). Save the weights with "
            "torch.save(model.state_dict(), path)",
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise BadInputError(p, f"not a readable torch weights file ({_first_line(exc)})") from exc
    sd = _find_state_dict(obj)
    if sd is None:
        raise BadInputError(
            p, f"no state dict of tensors found (top level is {type(obj).__name__})"
        )
    if sd and all(k.startswith("module.") for k in sd):
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def _find_state_dict(obj: Any, depth: int = 0) -> dict[str, Any] | None:
    import torch

    if not isinstance(obj, dict) or depth > 2:
        return None
    if obj and all(isinstance(k, str) for k in obj):
        tensors = sum(isinstance(v, torch.Tensor) for v in obj.values())
        if tensors and tensors >= len(obj) * 0.5:
            return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    for key in _NESTED_KEYS:
        if key in obj:
            found = _find_state_dict(obj[key], depth + 1)
            if found is not None:
                return found
    return None


def sniff_archive(path: Path) -> str:
    """'torchscript', 'export' or 'pickle'/'unknown' from the file's contents, not its name."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        with open(path, "rb") as f:
            head = f.read(2)
        return "pickle" if head[:1] == b"\x80" else "unknown"
    base = {n.split("/", 1)[1] if "/" in n else n for n in names}
    if "constants.pkl" in base and any(n.startswith("code/") for n in base):
        return "torchscript"
    if (
        any(n.startswith(("models/", "archive_format")) for n in base)
        or "serialized_exported_program.json" in base
    ):
        return "export"
    if "data.pkl" in base:
        return "torch.save"
    return "unknown"


def load_torchscript(path: Path, device: Any) -> Any:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
            return torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError, OSError) as exc:
        raise BadInputError(path, f"not a loadable TorchScript file ({_first_line(exc)})") from exc


class _RefusingUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def _refusing_loads(data: bytes, *args: Any, **kwargs: Any) -> Any:
    return _RefusingUnpickler(io.BytesIO(data)).load()


def _refuse_torchbind(*args: Any, **kwargs: Any) -> Any:
    raise pickle.UnpicklingError("refused to load a custom (torchbind) object")


@contextlib.contextmanager
def _restricted_unpickling() -> Iterator[None]:
    """Inside ``torch.export.load``: torch.load only with weights_only, pickle.loads only
    for plain data. torch's own loader falls back to ``weights_only=False`` for
    constants; here that fallback fails instead of running the file's code."""
    import torch
    from torch.export.pt2_archive import _package

    real_load = torch.load

    def safe_load(*args: Any, **kwargs: Any) -> Any:
        kwargs["weights_only"] = True
        return real_load(*args, **kwargs)

    class _PickleShim:
        loads = staticmethod(_refusing_loads)

        def __getattr__(self, name: str) -> Any:
            return getattr(pickle, name)

    patches = [(torch, "load", safe_load), (_package, "pickle", _PickleShim())]
    c_mod = torch._C
    if hasattr(c_mod, "_pickle_load_obj"):
        patches.append((c_mod, "_pickle_load_obj", _refuse_torchbind))
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, value in patches:
            setattr(obj, name, value)
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


def load_exported(path: Path, device: Any) -> Any:
    """An ``nn.Module`` from a ``torch.export`` .pt2 archive, unpickling only tensors."""
    import torch

    try:
        with warnings.catch_warnings(), _restricted_unpickling():
            warnings.simplefilter("ignore")
            ep = torch.export.load(str(path))
    except pickle.UnpicklingError as exc:
        raise BadInputError(
            path, f"refused: the archive holds pickled Python objects ({_first_line(exc)})"
        ) from exc
    except (RuntimeError, ValueError, KeyError, OSError, zipfile.BadZipFile) as exc:
        raise BadInputError(
            path, f"not a loadable torch.export archive ({_first_line(exc)})"
        ) from exc
    module = ep.module()
    # Exported graphs may pin their device; they then run where they were exported.
    with contextlib.suppress(RuntimeError, NotImplementedError):
        module.to(device)
    return module


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:300]
