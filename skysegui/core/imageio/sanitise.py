"""Make pixels finite and non-negative in place, counting what was changed.

Works on the bit patterns (uint16 view of float16, uint32 view of float32): a whole-block
max() tells at once whether a block holds anything to fix, so clean data costs one fast
pass and no temporaries, which matters for 8K panoramas (100 M values).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (unsigned view dtype, +inf pattern, sign bit, largest finite pattern)
_BITS = {
    np.dtype(np.float16): (np.uint16, 0x7C00, 0x8000, 0x7BFF),
    np.dtype(np.float32): (np.uint32, 0x7F800000, 0x80000000, 0x7F7FFFFF),
    np.dtype(np.float64): (np.uint64, 0x7FF0000000000000, 0x8000000000000000, 0x7FEFFFFFFFFFFFFF),
}


@dataclass
class SanitiseCounts:
    nan: int = 0
    inf: int = 0  # +Inf set to the largest finite value, -Inf set to 0
    negative: int = 0  # finite values below zero set to 0 (-0.0 is left alone)


def sanitise_inplace(pixels: np.ndarray, rows_per_block: int = 64) -> SanitiseCounts:
    """NaN -> 0, +Inf -> largest finite of the dtype, -Inf and negatives -> 0; returns counts."""
    counts = SanitiseCounts()
    if pixels.dtype not in _BITS or pixels.size == 0:
        return counts
    utype, pos_inf, sign, largest = _BITS[pixels.dtype]
    if not pixels.flags.c_contiguous:
        raise ValueError("sanitise_inplace needs a C-contiguous array")
    bits = pixels.view(utype)
    utype_sign = utype(sign)
    utype_inf = utype(pos_inf)
    flat = bits.reshape(bits.shape[0], -1) if bits.ndim > 1 else bits.reshape(1, -1)
    for start in range(0, flat.shape[0], rows_per_block):
        block = flat[start : start + rows_per_block].reshape(-1)  # a view: rows are contiguous
        if block.max() < utype_inf:  # all finite and >= +0: nothing to do
            continue
        # one compare finds every suspect (sign bit set, Inf or NaN); only those are classified
        where = np.flatnonzero(block >= utype_inf)
        vals = block[where]
        magnitude = vals & utype(sign - 1)  # clear the sign bit
        nan = magnitude > utype_inf
        inf = magnitude == utype_inf
        neg = (vals > utype_sign) & ~nan & ~inf  # -0.0 (== sign) stays as it is
        fixed = vals.copy()
        fixed[nan | neg] = 0
        fixed[inf] = 0
        fixed[inf & (vals == utype_inf)] = largest
        block[where] = fixed
        counts.nan += int(np.count_nonzero(nan))
        counts.inf += int(np.count_nonzero(inf))
        counts.negative += int(np.count_nonzero(neg))
    return counts
