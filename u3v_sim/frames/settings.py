"""The image-relevant camera settings, as one immutable, hashable value."""

from __future__ import annotations

from dataclasses import dataclass

from .pixel_formats import FORMATS, PixelFormat
from .sensor import IMX255

TEST_IMAGES = ("Off", "Testimage1", "Testimage2", "Testimage3", "Testimage4", "Testimage5",
               "Testimage6")
BINNING_MODES = ("Sum", "Average")


@dataclass(frozen=True)
class ImageSettings:
    """Width/Height/OffsetX/OffsetY are in binned pixels (SFNC: WidthMax = SensorWidth //
    BinningHorizontal - OffsetX)."""

    width: int = 4096
    height: int = 2168
    offset_x: int = 8
    offset_y: int = 4
    binning_horizontal: int = 1
    binning_vertical: int = 1
    binning_horizontal_mode: str = "Sum"   # "Sum" | "Average"
    binning_vertical_mode: str = "Sum"
    reverse_x: bool = False
    reverse_y: bool = False
    pixel_format: str = "Mono8"            # Mono8, Mono10, Mono12, Mono10p, Mono12p
    exposure_us: float = 5000.0
    gain_db: float = 0.0
    black_level: float = 0.0               # DN in 12-bit units
    gamma: float = 1.0
    digital_shift: int = 0
    test_image: str = "Off"                # "Off" or "Testimage1".."Testimage6"
    noise: bool = True                     # sensor noise model (sensor image only)
    # The luminance lookup table when enabled (LUTEnable): the 12-bit output at 12-bit input
    # 0, 8, 16, ... (LUTIndex's steps), interpolated between (sensor.lut_table).
    lut: tuple[int, ...] | None = None

    @property
    def format(self) -> PixelFormat:
        return FORMATS[self.pixel_format]

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def payload_size(self) -> int:
        return self.format.payload_size(self.pixels)

    @property
    def sum_pixels(self) -> int:
        """Pixels a binned pixel adds up (product of the Sum-mode binning factors)."""
        return ((self.binning_horizontal if self.binning_horizontal_mode == "Sum" else 1)
                * (self.binning_vertical if self.binning_vertical_mode == "Sum" else 1))

    @property
    def average_pixels(self) -> int:
        """Pixels a binned pixel averages (product of the Average-mode binning factors)."""
        return ((self.binning_horizontal if self.binning_horizontal_mode == "Average" else 1)
                * (self.binning_vertical if self.binning_vertical_mode == "Average" else 1))

    def layout_key(self) -> tuple:
        """What decides the frame's geometry and format (not its brightness)."""
        return (self.width, self.height, self.offset_x, self.offset_y, self.binning_horizontal,
                self.binning_vertical, self.binning_horizontal_mode, self.binning_vertical_mode,
                self.reverse_x, self.reverse_y, self.pixel_format, self.test_image)

    def validate(self, sensor_width: int = IMX255.width,
                 sensor_height: int = IMX255.height) -> None:
        """Raises ValueError naming the first inconsistent setting."""
        if self.pixel_format not in FORMATS:
            raise ValueError(f"unknown pixel format {self.pixel_format!r}; expected one of "
                             f"{', '.join(FORMATS)}")
        if self.test_image not in TEST_IMAGES:
            raise ValueError(f"unknown test image {self.test_image!r}; expected one of "
                             f"{', '.join(TEST_IMAGES)}")
        for name in ("binning_horizontal_mode", "binning_vertical_mode"):
            if getattr(self, name) not in BINNING_MODES:
                raise ValueError(f"{name} must be 'Sum' or 'Average', not {getattr(self, name)!r}")
        bh, bv = self.binning_horizontal, self.binning_vertical
        if bh < 1 or bv < 1:
            raise ValueError(f"binning must be >= 1, got {bh}x{bv}")
        if bh * bv > 16:
            raise ValueError(f"binning {bh}x{bv} combines more than 16 pixels")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"empty ROI {self.width}x{self.height}")
        if self.offset_x < 0 or self.offset_y < 0:
            raise ValueError(f"negative offset {self.offset_x},{self.offset_y}")
        if self.offset_x + self.width > sensor_width // bh:
            raise ValueError(f"OffsetX {self.offset_x} + Width {self.width} exceeds "
                             f"{sensor_width // bh} (SensorWidth {sensor_width} / binning {bh})")
        if self.offset_y + self.height > sensor_height // bv:
            raise ValueError(f"OffsetY {self.offset_y} + Height {self.height} exceeds "
                             f"{sensor_height // bv} (SensorHeight {sensor_height} / binning {bv})")
        if not 0 <= self.digital_shift <= 12:
            raise ValueError(f"digital shift {self.digital_shift} out of 0..12")
        if self.gamma < 0:
            raise ValueError(f"negative gamma {self.gamma}")
        if self.exposure_us < 0:
            raise ValueError(f"negative exposure {self.exposure_us}")
