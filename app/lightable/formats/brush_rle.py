"""Label Studio's brush RLE codec (``brushlabels`` results).

Label Studio stores a brush stroke as the RGBA pixels of the whole image
(height x width x 4 bytes, row-major) packed by thi.ng's ``rle-pack`` scheme into
a list of byte values. The bit stream (most significant bit first) is:

* 32 bits: number of values ``n`` (``height * width * 4``);
* 5 bits: word size minus one (8 for Label Studio's masks);
* four times 4 bits: the four run-length field widths minus one;
* then runs until ``n`` values are produced: 1 bit "repeat" flag, 2 bits that
  pick one of the four field widths, that many bits holding ``length - 1``;
  a repeat run is followed by one word repeated ``length`` times, a literal run
  by ``length`` words.

The mask is the alpha channel (every fourth value). Written from the description
of the format (label-studio-converter's ``brush.py``, rle-pack's ``decode``), not
from their code.
"""

from __future__ import annotations

import numpy as np

# Widths (in bits) of the run-length fields we write; Label Studio's own encoder
# uses the same four, so its decoder and ours read our output.
_RLE_SIZES = (3, 4, 8, 16)
_WORD = 8


class BrushRleError(ValueError):
    """The RLE list is not a valid brush stroke."""


class _Bits:
    """Reads big-endian bit fields out of a byte string."""

    __slots__ = ("_bits", "_pos")

    def __init__(self, data: bytes) -> None:
        # A '0'/'1' string: int(s[a:b], 2) reads a field in C, far faster than
        # shifting bit by bit in Python.
        ones = np.unpackbits(np.frombuffer(data, dtype=np.uint8)) + ord("0")
        self._bits = ones.tobytes().decode("ascii")
        self._pos = 0

    def read(self, n: int) -> int:
        end = self._pos + n
        if end > len(self._bits):
            raise BrushRleError("RLE data ends in the middle of a value (truncated)")
        value = int(self._bits[self._pos : end], 2)
        self._pos = end
        return value


def _as_bytes(rle: object) -> bytes:
    if not isinstance(rle, list | tuple) or not rle:
        raise BrushRleError("brush 'rle' must be a non-empty list of byte values")
    for v in rle:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 255:
            raise BrushRleError(f"brush 'rle' holds {v!r}, expected integers 0..255")
    return bytes(rle)


def decode(rle: object, expected_values: int | None = None) -> np.ndarray:
    """The flat array of values (uint8) an RLE list encodes.

    ``expected_values`` (height * width * 4) is checked against the header before
    anything is allocated, so a hostile header cannot claim gigabytes.
    """
    bits = _Bits(_as_bytes(rle))
    num = bits.read(32)
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    if expected_values is not None and num != expected_values:
        raise BrushRleError(
            f"RLE holds {num} values, expected {expected_values} (width x height x 4)"
        )
    if word > 8:
        raise BrushRleError(f"RLE word size {word} bits; brush masks use 8")
    out = np.zeros(num, dtype=np.uint8)
    i = 0
    while i < num:
        repeat = bits.read(1)
        length = 1 + bits.read(sizes[bits.read(2)])
        j = i + length
        if j > num:
            raise BrushRleError(f"RLE run overflows the {num} values it declares")
        if repeat:
            out[i:j] = bits.read(word)
        else:
            for k in range(i, j):
                out[k] = bits.read(word)
        i = j
    return out


def decode_mask(rle: object, height: int, width: int) -> np.ndarray:
    """The H x W boolean mask (alpha channel > 0) of a brush stroke.

    Only the alpha values are kept while decoding, so memory is one byte per
    pixel, not four.
    """
    n_pixels = height * width
    bits = _Bits(_as_bytes(rle))
    num = bits.read(32)
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    if num != n_pixels * 4:
        raise BrushRleError(f"RLE holds {num} values, expected {n_pixels * 4} (width x height x 4)")
    if word > 8:
        raise BrushRleError(f"RLE word size {word} bits; brush masks use 8")
    alpha = np.zeros(n_pixels, dtype=bool)
    i = 0
    while i < num:
        repeat = bits.read(1)
        j = i + 1 + bits.read(sizes[bits.read(2)])
        if j > num:
            raise BrushRleError(f"RLE run overflows the {num} values it declares")
        if repeat:
            if bits.read(word):
                # Values i..j-1 are set; the alpha values among them sit at 4p + 3.
                lo = max(0, -((3 - i) // 4))  # smallest p with 4p + 3 >= i
                hi = (j - 4) // 4  # largest p with 4p + 3 <= j - 1
                if hi >= lo:
                    alpha[lo : hi + 1] = True
        else:
            for k in range(i, j):
                v = bits.read(word)
                if k % 4 == 3 and v:
                    alpha[k // 4] = True
        i = j
    return alpha.reshape(height, width)


def _field(value: int, width: int) -> str:
    return format(value, f"0{width}b")


def encode_mask(mask: np.ndarray) -> list[int]:
    """A 2-D mask as Label Studio brush RLE (every channel 255 where set)."""
    if mask.ndim != 2:
        raise ValueError(f"brush mask must be 2-D, got shape {mask.shape}")
    flat = np.repeat(np.where(mask.reshape(-1) > 0, 255, 0).astype(np.uint8), 4)
    n = int(flat.size)
    parts = [_field(n, 32), _field(_WORD - 1, 5)]
    parts.extend(_field(s - 1, 4) for s in _RLE_SIZES)
    if n:
        # Runs of equal values: boundaries where the value changes.
        change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [n]))
        limit = 1 << _RLE_SIZES[-1]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            value = _field(int(flat[s]), _WORD)
            length = e - s
            while length > 0:
                chunk = min(length, limit)
                idx = next(k for k, w in enumerate(_RLE_SIZES) if chunk <= 1 << w)
                parts.append("1" + _field(idx, 2) + _field(chunk - 1, _RLE_SIZES[idx]) + value)
                length -= chunk
    bitstr = "".join(parts)
    bitstr += "0" * (-len(bitstr) % 8)
    packed = np.packbits(np.frombuffer(bitstr.encode("ascii"), dtype=np.uint8) - ord("0"))
    return [int(b) for b in packed]
