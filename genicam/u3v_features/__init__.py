"""The acA4096-40um's GenICam features: one table, from which the GenApi XML and the device's
register layout are both generated. Pure code, no I/O.

(The package is named u3v_features, not genicam, so it never shadows the official GenApi
binding ``genicam`` that the tests use.)
"""

from .acA4096_40um import BY_NAME, CATEGORIES, FEATURES
from .layout import Layout, Register, build_layout
from .xmlgen import build_xml, build_zip

__all__ = ["BY_NAME", "CATEGORIES", "FEATURES", "Layout", "Register", "build_layout",
           "build_xml", "build_zip"]
