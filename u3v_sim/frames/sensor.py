"""The sensor model: an EMVA-1288-style linear camera model with the IMX255's figures.

Every sensor figure lives in :class:`SensorModel` and nowhere else. The pipeline for one pixel
(or one binned pixel) of a scene with irradiance ``E`` in [0, 1]:

1. photons  ``mu_p = E * photons_per_us * exposure_us``
2. electrons ``mu_e = QE * mu_p + dark_current * exposure``; temporal noise
   ``sigma_e**2 = mu_e + dark_noise**2`` (photon shot noise and dark-current shot noise are
   Poisson, so their variance equals their mean; drawn here as a Gaussian);
3. the pixel saturates at the full well;
4. ``DN = K * g * e + black_level`` in 12-bit units, ``K = 4095 / full_well`` (the system gain:
   the full well just fills the ADC at 0 dB), ``g = 10 ** (gain_db / 20)``; rounded and clipped
   to the 12-bit ADC range 0..4095;
5. gamma on the normalised value, ``4095 * (DN / 4095) ** gamma``;
6. digital shift: ``DN << shift``, saturating at 4095;
7. the luminance lookup table, when enabled (12-bit in, 12-bit out, :func:`lut_table`);
8. output: ``DN >> (12 - depth)`` (Mono8 takes the top 8 bits, Mono10 the top 10).

Binning combines ``n`` pixels: a Sum-mode axis adds its pixels' values (signal and noise
variance grow ``n``-fold), an Average-mode axis averages them (noise variance shrinks
``n``-fold); the result saturates like any other value. Per-pixel saturation before binning
is approximated by saturating the block's mean pixel.

Noise is not drawn per pixel and frame (millions of normal draws cost far too much): the
generator keeps a field of 4-bit noise indices ``z`` drawn once, and every frame reads it at a
pseudo-random offset. The response of the pipeline above, for every 12-bit scene code and each
of the 16 noise levels, is one 65,536-entry lookup table indexed by ``code << 4 | z``, built
per photometric setting (:func:`response_lut`). The 16 levels are the quantiles of a standard
normal at (j + 1/2) / 16, scaled to unit variance, so a pixel's noise has the model's exact
standard deviation. Scenes are therefore stored as ``code << 4`` (see ``SCENE_ONE``): the noise
index goes into the 4 free low bits with one OR, and the 16 variants of one code sit next to
each other in the table (cache friendly).

Not modelled: fixed-pattern noise (DSNU/PRNU), defect pixels, nonlinearity, temperature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

__all__ = [
    "IMX255",
    "NOISE_LEVELS",
    "SCENE_BITS",
    "SCENE_ONE",
    "SCENE_SHIFT",
    "SensorModel",
    "noise_levels",
    "response_lut",
    "scene_values",
]

# Scene values (what sources produce): uint16 ``code << SCENE_SHIFT`` with a 12-bit code, so
# irradiance = value / SCENE_ONE in [0, 1] and the low SCENE_SHIFT bits are zero. A table
# index is ``scene_value | noise_level``.
SCENE_BITS = 12
SCENE_SHIFT = 4
SCENE_MAX_CODE = (1 << SCENE_BITS) - 1
SCENE_ONE = SCENE_MAX_CODE << SCENE_SHIFT      # 65520: irradiance 1.0
NOISE_LEVELS = 1 << SCENE_SHIFT


def scene_values(irradiance) -> np.ndarray:
    """Irradiance in [0, 1] (clipped) -> uint16 scene values."""
    codes = np.rint(np.clip(np.asarray(irradiance, np.float32), 0, 1) * SCENE_MAX_CODE)
    return codes.astype(np.uint16) << SCENE_SHIFT


@dataclass(frozen=True)
class SensorModel:
    """Figures of the Sony IMX255LLR-C (mono, global shutter) as used by the simulator.

    Geometry and ADC depth are confirmed facts (u3v-protocol.md 6.1). The EMVA figures are
    plausible values chosen for this sensor class (Sony Pregius 2nd generation, 3.45 um pixels;
    vendors' EMVA 1288 reports for IMX255/IMX253/IMX304 cameras give QE about 0.6-0.65 at
    525 nm, saturation about 10-11 ke-, temporal dark noise about 2-2.5 e-); they are not
    measurements of an acA4096-40um.
    """

    width: int = 4112                   # SensorWidth (confirmed)
    height: int = 2176                  # SensorHeight (confirmed)
    pixel_size_um: float = 3.45         # confirmed
    adc_bits: int = 12                  # confirmed (8/10/12-bit output)
    quantum_efficiency: float = 0.64    # at 525 nm; chosen, plausible for IMX255
    full_well_e: float = 10_500.0       # saturation capacity in electrons; chosen, plausible
    dark_noise_e: float = 2.4           # temporal dark noise (read noise), e- rms; chosen
    dark_current_e_per_s: float = 4.0   # at about 25 degC; chosen ("a few e-/s")
    # Illumination scale of a scene: photons per pixel per microsecond at irradiance 1.0.
    # Chosen so that irradiance 1.0 just fills the full well at the default 5000 us exposure:
    # 10,500 e- / 0.64 / 5000 us = 3.28 photons/us. A scene averaging about 0.4 then gives a
    # mid-gray image at default settings.
    photons_per_us: float = 3.28125

    @property
    def adc_max(self) -> int:
        return (1 << self.adc_bits) - 1

    @property
    def system_gain(self) -> float:
        """K in DN (12-bit) per electron: the full well fills the ADC at 0 dB."""
        return self.adc_max / self.full_well_e

    def mean_electrons(self, irradiance, exposure_us: float):
        return (np.asarray(irradiance, np.float64) * self.photons_per_us * exposure_us
                * self.quantum_efficiency + self.dark_current_e_per_s * exposure_us * 1e-6)

    def mean_dn(self, irradiance, exposure_us: float, gain_db: float = 0.0,
                black_level: float = 0.0):
        """Mean 12-bit value before rounding and clipping (no saturation)."""
        return (self.mean_electrons(irradiance, exposure_us) * self.system_gain
                * 10 ** (gain_db / 20) + black_level)

    def temporal_noise_dn(self, irradiance, exposure_us: float, gain_db: float = 0.0):
        """Temporal noise in 12-bit DN (without quantisation noise)."""
        e = self.mean_electrons(irradiance, exposure_us)
        return np.sqrt(e + self.dark_noise_e ** 2) * self.system_gain * 10 ** (gain_db / 20)


IMX255 = SensorModel()


@lru_cache(maxsize=1)
def noise_levels() -> np.ndarray:
    """The NOISE_LEVELS standard-normal quantiles, scaled to exactly unit variance."""
    nd = NormalDist()
    z = np.array([nd.inv_cdf((j + 0.5) / NOISE_LEVELS) for j in range(NOISE_LEVELS)])
    z /= math.sqrt(float(np.mean(z * z)))
    z.setflags(write=False)
    return z


LUT_STEP = 8     # LUTIndex's increment: the entries the camera uses (ace USB)


def lut_table(points: tuple[int, ...]) -> np.ndarray:
    """The 4,096-entry luminance table from the values at inputs 0, 8, 16, ... (LUTValue):
    straight lines between them, the last value held above the last point (Basler's ace USB
    manual, "Luminance Lookup Table": only every 8th entry is used, the camera interpolates)."""
    inputs = np.arange(len(points)) * LUT_STEP
    return np.rint(np.interp(np.arange(4096), inputs, np.asarray(points, np.float64)))


def response_lut(model: SensorModel, *, depth: int, exposure_us: float, gain_db: float,
                 black_level: float, gamma: float, digital_shift: int, noise: bool,
                 sum_pixels: int = 1, average_pixels: int = 1,
                 dtype=np.uint8, lut: tuple[int, ...] | None = None) -> np.ndarray:
    """Output value for each table index ``code << 4 | z`` (65,536 entries). Without
    ``noise`` every z gives the noise-free mean response.

    ``sum_pixels`` / ``average_pixels``: how many pixels the binned pixel adds up / averages.
    ``depth``: significant bits of the output format (8, 10, 12).
    """
    codes = np.arange(SCENE_MAX_CODE + 1, dtype=np.float64) / SCENE_MAX_CODE
    mu = model.mean_electrons(codes, exposure_us)
    if noise:
        n = sum_pixels * average_pixels
        sigma = np.sqrt(mu + model.dark_noise_e ** 2) / math.sqrt(n)
        e = mu[:, None] + sigma[:, None] * noise_levels()[None, :]
    else:
        e = np.repeat(mu[:, None], NOISE_LEVELS, axis=1)
    e = np.clip(e, 0.0, model.full_well_e)
    adc_max = model.adc_max
    dn = e * (model.system_gain * 10 ** (gain_db / 20) * sum_pixels) + black_level
    dn = np.clip(np.floor(dn + 0.5), 0, adc_max)
    if gamma != 1.0:
        dn = np.floor(adc_max * (dn / adc_max) ** gamma + 0.5)
    v = np.minimum(dn.astype(np.int64) << int(digital_shift), adc_max)
    if lut is not None:
        v = lut_table(lut).astype(np.int64)[v]
    v >>= model.adc_bits - depth
    return np.ascontiguousarray(v.reshape(-1), dtype=dtype)
