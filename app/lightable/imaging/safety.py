"""Limits on what an outside image may claim, set in one place.

Every reader of image files goes through ``probe_image`` / ``load_image``, which
check these limits *before* decoding pixels, so a 100 KB file claiming to be
100,000 x 100,000 pixels (a decompression bomb) is refused instead of eating
30 GB of memory. Pillow's own guard (``Image.MAX_IMAGE_PIXELS``) is set to the
same figure here so that code calling Pillow directly is protected too.
"""

from __future__ import annotations

import warnings

from PIL import Image

# Largest image we agree to decode: 1 gigapixel (about 3 GB as RGB). Larger
# scans exist (slides, aerial mosaics) but they need a tiled reader, not PIL.
MAX_PIXELS = 1_000_000_000
# JPEG/WebP cannot go beyond this and PNG/TIFF files beyond it are almost always
# corrupt headers; it also keeps width * height inside 32-bit C code in Pillow.
MAX_SIDE = 65_535
# A single image file larger than this is refused before it is opened.
MAX_FILE_BYTES = 2 * 1024**3

# Pillow warns above MAX_IMAGE_PIXELS and raises DecompressionBombError above
# twice that. Our readers refuse anything over MAX_PIXELS themselves (before
# Pillow is asked to decode); this is the backstop for code that calls Pillow
# directly: a warning past our limit, an error at twice it.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def format_pixels(n: int) -> str:
    """1_000_000_000 -> '1000 megapixels' (for messages)."""
    return f"{n / 1e6:.0f} megapixels"


def check_dimensions(width: int, height: int) -> str | None:
    """Why an image of this size is refused, or None when it is acceptable."""
    if width <= 0 or height <= 0:
        return f"image claims {width} x {height} pixels"
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        return (
            f"image claims {width} x {height} pixels "
            f"(limit {MAX_SIDE} per side and {format_pixels(MAX_PIXELS)})"
        )
    return None


def check_file_size(size: int) -> str | None:
    """Why a file of this many bytes is refused, or None."""
    if size == 0:
        return "empty file"
    if size > MAX_FILE_BYTES:
        return f"file is {size / 1024**3:.1f} GiB (limit {MAX_FILE_BYTES / 1024**3:.0f} GiB)"
    return None


# Pillow warns (UserWarning, once per call site) about damaged EXIF blocks and
# TIFF tags. We report damaged files through BadInputError instead; the warnings
# would only scribble over the command line's progress bar.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
# Between MAX_PIXELS and twice that Pillow only warns; our readers refuse those
# images themselves (check_dimensions), so the warning adds nothing but noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
