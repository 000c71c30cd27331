"""Label Studio's brush RLE: the bit-packed run-length code of its BrushLabels results.

Not COCO's RLE. The brush canvas is an RGBA image of width x height pixels, flattened to
width * height * 4 byte values (row by row, R G B A per pixel) and packed as a bit stream
(thi.ng's rle-pack, which Label Studio's front end and its converter's brush.py use):

    32 bits  number of values          5 bits  word size - 1
    4 x 4 bits  the four run-length field sizes - 1
    then records: 1 bit "repeat", 2 bits which field size, that many bits n - 1 (n values),
    and one word repeated n times (repeat) or n words (literal)

The mask is the alpha channel. Our encoder writes exactly what the converter's
`encode_rle` writes (word size 8, field sizes 3/4/8/16, runs longer than 65536 split, the
last byte padded with zero bits, a whole zero byte when nothing is left over), but from
the mask's runs, so an 8K panorama takes milliseconds instead of the converter's
character-per-bit string. The decoder expands runs straight to the alpha channel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CHANNELS = 4  # R, G, B, A per pixel; the mask is A
_HEADER_BITS = 32 + 5 + 4 * 4
_FIELD_SIZES = (3, 4, 8, 16)
_WORD_SIZE = 8


class BrushRleError(ValueError):
    """The brush RLE is malformed (the message says how)."""


class _Bits:
    """Reads big-endian bit fields from the packed bytes."""

    def __init__(self, data: Sequence[int]) -> None:
        try:
            raw = np.asarray(data, dtype=np.int64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise BrushRleError("the rle is not a list of byte values") from exc
        if raw.ndim != 1 or raw.size == 0 or raw.min() < 0 or raw.max() > 255:
            raise BrushRleError("the rle must be a non-empty list of byte values 0..255")
        self.text = np.unpackbits(raw.astype(np.uint8)).tobytes().translate(_DIGITS).decode("ascii")
        self.pos = 0

    def read(self, n: int) -> int:
        end = self.pos + n
        if end > len(self.text):
            raise BrushRleError("the rle ends in the middle of a record")
        value = int(self.text[self.pos:end], 2)
        self.pos = end
        return value


_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def decode_runs(rle: Sequence[int]) -> tuple[int, np.ndarray, np.ndarray]:
    """(number of values, run starts, run values) of a brush RLE; a literal word is a run
    of one value. Runs are in order and cover every value."""
    bits = _Bits(rle)
    if len(bits.text) < _HEADER_BITS:
        raise BrushRleError("the rle is shorter than its header")
    total = bits.read(32)
    word = bits.read(5) + 1
    sizes = [bits.read(4) + 1 for _ in range(4)]
    starts: list[int] = []
    values: list[int] = []
    i = 0
    while i < total:
        repeat = bits.read(1)
        n = 1 + bits.read(sizes[bits.read(2)])
        if repeat:
            starts.append(i)
            values.append(bits.read(word))
        else:
            for k in range(n):
                starts.append(i + k)
                values.append(bits.read(word))
        i += n
    if i != total:
        raise BrushRleError(f"the runs cover {i} values but the header says {total}")
    return total, np.asarray(starts, dtype=np.int64), np.asarray(values, dtype=np.int64)


def decode_alpha(rle: Sequence[int], width: int, height: int) -> np.ndarray:
    """uint8 H x W alpha channel (0..255) of a brush RLE made for a width x height image."""
    total, starts, values = decode_runs(rle)
    if total != width * height * CHANNELS:
        raise BrushRleError(
            f"the rle holds {total} values but a {width}x{height} RGBA image has "
            f"{width * height * CHANNELS}: original_width/height do not belong to this brush"
        )
    ends = np.append(starts[1:], total)
    # run [s, e) holds the alpha of the pixels p with s <= 4p + 3 < e
    first = -(-(starts - 3) // CHANNELS)
    last = -(-(ends - 3) // CHANNELS)
    counts = np.maximum(last - np.maximum(first, 0), 0)
    alpha = np.repeat(np.clip(values, 0, 255).astype(np.uint8), counts)
    return alpha.reshape(height, width)


def decode_mask(rle: Sequence[int], width: int, height: int) -> np.ndarray:
    """uint8 H x W mask, 1 where the brush painted (alpha at least half)."""
    return (decode_alpha(rle, width, height) >= 128).astype(np.uint8)


def _runs(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, values) of the runs of a 1-D array."""
    if flat.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate([[0], change])
    lengths = np.diff(np.append(starts, flat.size))
    return lengths.astype(np.int64), flat[starts].astype(np.int64)


def _pack(total: int, lengths: np.ndarray, values: np.ndarray) -> list[int]:
    parts = [f"{total:032b}", f"{_WORD_SIZE - 1:05b}", *(f"{s - 1:04b}" for s in _FIELD_SIZES)]
    for length, value in zip(lengths.tolist(), values.tolist(), strict=True):
        word = f"{value:08b}"
        if length == 1:
            parts.append("000000" + word)
        elif length <= 8:
            parts.append(f"100{length - 1:03b}" + word)
        elif length <= 16:
            parts.append(f"101{length - 1:04b}" + word)
        elif length <= 256:
            parts.append(f"110{length - 1:08b}" + word)
        else:
            while length > 1 << 16:
                parts.append(f"111{(1 << 16) - 1:016b}" + word)
                length -= 1 << 16
            parts.append(f"111{length - 1:016b}" + word)
    text = "".join(parts)
    text += "0" * (8 - len(text) % 8)  # as the converter: a full zero byte when none is left over
    bits = np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")
    return np.packbits(bits).tolist()


def encode_values(values: Sequence[int]) -> list[int]:
    """Brush RLE of a flat list of byte values (what the converter's encode_rle takes)."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() > 255):
        raise BrushRleError("brush values must be bytes 0..255")
    lengths, run_values = _runs(flat)
    return _pack(int(flat.size), lengths, run_values)


def encode_mask(mask: np.ndarray) -> list[int]:
    """Brush RLE of a 2-D mask: nonzero pixels painted (255 in all four channels), as the
    converter's mask2rle writes for a 0/255 mask."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise BrushRleError(f"a brush mask must be 2-D, got shape {mask.shape}")
    lengths, run_values = _runs((mask.reshape(-1) != 0).astype(np.uint8))
    return _pack(int(mask.size) * CHANNELS, lengths * CHANNELS, run_values * 255)
