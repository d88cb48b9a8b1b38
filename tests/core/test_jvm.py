"""Numbers as the JVM holds and prints them (``Float`` rounding, ``Float.toString``)."""

from __future__ import annotations

import pytest

from sparktag.core.jvm import float32, java_float_str

# Outputs of java.lang.Float.toString on OpenJDK 17 for these values (rounded to float first).
JAVA_FLOAT_STRINGS = [
    (0.003, "0.003"),
    (0.0001, "1.0E-4"),
    (0.002985074626865672, "0.0029850747"),
    (0.001, "0.001"),
    (0.00099999, "9.9999E-4"),
    (1 / 3, "0.33333334"),
    (2 / 3, "0.6666667"),
    (0.1, "0.1"),
    (0.95658916, "0.95658916"),
    (1234.5678, "1234.5677"),
    (37.58828, "37.58828"),
    (9999999.0, "9999999.0"),
    (10000000.0, "1.0E7"),
    (123456.789, "123456.79"),
    (3.4028235e38, "3.4028235E38"),
    (0.0, "0.0"),
    (100.0, "100.0"),
    (10.000000149, "10.0"),
    (15.000000596, "15.000001"),
    (1e-10, "1.0E-10"),
    (0.5, "0.5"),
    (2.0, "2.0"),
]


@pytest.mark.parametrize(("value", "expected"), JAVA_FLOAT_STRINGS)
def test_java_float_str(value, expected):
    assert java_float_str(value) == expected


def test_java_float_str_special_values():
    assert java_float_str(float("nan")) == "NaN"
    assert java_float_str(float("inf")) == "Infinity"
    assert java_float_str(-0.5) == "-0.5"
    assert float32(0.1) == 0.10000000149011612


@pytest.mark.parametrize(
    ("value", "java"),
    [
        (1.0, "1.0"),
        (0.1, "0.1"),
        (1 / 3, "0.33333334"),
        (100.0, "100.0"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (9999999.0, "9999999.0"),
        (1e7, "1.0E7"),
        (123456.79, "123456.79"),
        (-2.5e-6, "-2.5E-6"),
        (3.4028235e38, "3.4028235E38"),
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_float_strings_follow_java(value, java):
    """The values Finisher joins (parseEmbeddingsVectors) and LightPipeline prints."""
    assert java_float_str(value) == java
