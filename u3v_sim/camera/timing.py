"""What limits the frame rate (Basler ace USB manual, "Maximum Allowed Frame Rate"): exposure,
sensor readout (rows read), transfer over the link, and AcquisitionFrameRate when enabled.

The readout rate per row is chosen so that the default ROI (2168 rows) reads out at the
datasheet's 42.7 fps; the usable USB 3.0 bandwidth is chosen at 400 MB/s (of the 500 MB/s the
5 Gbit/s link carries after 8b/10b coding) — both written here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

RATED_FPS = 42.7
DEFAULT_ROWS = 2168
ROW_READOUT_US = 1e6 / RATED_FPS / DEFAULT_ROWS
LINK_SPEED_BYTES_PER_S = 500_000_000
USB_PAYLOAD_BYTES_PER_S = 400_000_000


@dataclass(frozen=True)
class FrameTiming:
    readout_us: float
    exposure_us: float
    transfer_us: float
    rate_limit_us: float

    @property
    def period_us(self) -> float:
        # A global-shutter sensor exposes the next frame while reading out the last one.
        return max(self.readout_us, self.exposure_us, self.transfer_us, self.rate_limit_us)

    @property
    def frame_rate(self) -> float:
        return 1e6 / self.period_us


def frame_timing(*, height: int, binning_vertical: int, exposure_us: float, payload_size: int,
                 throughput_limit: int | None, frame_rate_limit: float | None,
                 unlimited: bool = False) -> FrameTiming:
    """``unlimited`` (stress mode) drops the readout and link ceilings."""
    bandwidth = min(throughput_limit or USB_PAYLOAD_BYTES_PER_S, USB_PAYLOAD_BYTES_PER_S)
    return FrameTiming(
        readout_us=0.0 if unlimited else height * binning_vertical * ROW_READOUT_US,
        exposure_us=exposure_us,
        transfer_us=0.0 if unlimited else payload_size / bandwidth * 1e6,
        rate_limit_us=1e6 / frame_rate_limit if frame_rate_limit else 0.0,
    )
