"""The table's expression language: what it evaluates, and what it refuses to."""

import pytest

from u3v_features.expr import ExpressionError, evaluate

VALUES = {("Width", None): 4096, ("OffsetX", None): 8, ("SensorWidth", None): 4112,
          ("BinningHorizontal", None): 2, ("LineMode", None): "Output",
          ("ChunkEnable", "Timestamp"): True, ("PixelFormat", None): "Mono12p"}


def lookup(name, index):
    return VALUES[(name, index)]


@pytest.mark.parametrize("source, expected", [
    ("SensorWidth // BinningHorizontal - OffsetX", 2048),
    ("LineMode == 'Output'", True),
    ("'OptoCoupled' if LineMode in ('Input',) else 'LVTTL'", "LVTTL"),
    ("16 * ChunkEnable['Timestamp'] + 8", 24),
    ("{'Mono8': 8, 'Mono12p': 12}[PixelFormat]", 12),
    ("(Width * 3 + 7) // 8", 1536),
    ("not Width > 4000 or OffsetX < 0", False),
])
def test_expressions_evaluate(source, expected):
    assert evaluate(source, lookup) == expected


@pytest.mark.parametrize("source", ["__import__('os')", "Width.bit_length()", "(lambda: 1)()",
                                    "[x for x in (1, 2)]"])
def test_code_is_refused(source):
    with pytest.raises(ExpressionError):
        evaluate(source, lookup)
