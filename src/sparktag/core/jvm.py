"""What the JVM does differently from Python, where Spark NLP's output depends on it.

Spark NLP computes confidences and scores in ``Float`` (32 bit) and prints them, and the vectors Finisher joins,
with ``Float.toString`` (:func:`float32`, :func:`java_float_str`); it trims text with ``String.trim``, which
strips every char ``<= U+0020`` where Python's ``str.strip`` strips Unicode whitespace (:func:`java_trim`).
"""

from __future__ import annotations

import math
import struct

# Chars Java's String.trim removes: every code point <= U+0020 (space and the C0 controls).
JAVA_TRIM_CHARS = "".join(chr(c) for c in range(0x21))


def java_trim(text: str) -> str:
    """Strip leading and trailing chars ``<= U+0020``, exactly as Java's ``String.trim``.

    Example:
        >>> java_trim(" a b\\x00 "), java_trim("\\u00a0a\\u00a0")
        ('a b', '\\xa0a\\xa0')
    """
    return text.strip(JAVA_TRIM_CHARS)


def float32(value: float) -> float:
    """Round a Python float to the nearest 32-bit float (the value a JVM ``Float`` would hold)."""
    if math.isnan(value) or math.isinf(value):
        return value
    try:
        return float(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return math.copysign(math.inf, value)


def java_float_str(value: float) -> str:
    """Format a number as Java's ``Float.toString`` does (after rounding it to a 32-bit float).

    The shortest digits that read back as the same float32, in plain notation with at least one decimal for
    ``1e-3 <= |x| < 1e7``, else ``d.dddE<exp>``.

    Example:
        >>> java_float_str(0.003), java_float_str(1e-4), java_float_str(1.0 / 3.0), java_float_str(12.0)
        ('0.003', '1.0E-4', '0.33333334', '12.0')
        >>> [java_float_str(x) for x in (0.1, -2.5e-4, 12345678.0, -0.0)]
        ['0.1', '-2.5E-4', '1.2345678E7', '-0.0']
    """
    import numpy as np

    x = float32(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    # shortest significant digits that round-trip through float32, the first one non-zero
    mantissa, exponent = np.format_float_scientific(np.float32(abs(x)), unique=True, trim="-").split("e")
    digits = mantissa.replace(".", "")
    exp = int(exponent)
    if 1e-3 <= abs(x) < 1e7:
        if exp >= 0:
            whole, frac = digits[: exp + 1].ljust(exp + 1, "0"), digits[exp + 1 :]
        else:
            whole, frac = "0", "0" * (-exp - 1) + digits
        return f"{sign}{whole}.{frac or '0'}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exp}"
