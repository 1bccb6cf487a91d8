"""Device temperature: a first-order model that warms up while acquiring and cools at rest.

Figures are chosen (the real camera's thermal behaviour is not published): at rest the
core board settles at 42 °C, acquiring adds up to 12 °C with a 10-minute time constant; the
sensor board runs 3.5 °C cooler. An ambient offset lets a test harness heat the camera up to
its CriticalTemperature (72 °C) and OverTemperature (80 °C) states.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

REST_C = {"Coreboard": 42.0, "Sensorboard": 38.5}
ACQUIRING_RISE_C = 12.0
TIME_CONSTANT_S = 600.0
CRITICAL_C = 72.0
OVER_C = 80.0


@dataclass
class Thermal:
    time: float = 0.0
    rise_c: float = 0.0            # above rest, from activity
    ambient_offset_c: float = 0.0  # injected by a harness

    def advance(self, now: float, acquiring: bool) -> None:
        if now <= self.time:
            return
        target = ACQUIRING_RISE_C if acquiring else 0.0
        self.rise_c = target + (self.rise_c - target) * math.exp(
            -(now - self.time) / TIME_CONSTANT_S)
        self.time = now

    def temperature(self, location: str) -> float:
        return REST_C[location] + self.rise_c + self.ambient_offset_c

    def state(self) -> str:
        hottest = max(self.temperature(location) for location in REST_C)
        if hottest >= OVER_C:
            return "Error"
        return "Critical" if hottest >= CRITICAL_C else "Ok"
