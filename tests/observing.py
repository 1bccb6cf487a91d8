"""Draining a camera's observation stream in tests (``Camera.next_event``)."""

from __future__ import annotations

from u3v_sim.camera.observations import LineEdge, Observation


def drain(camera) -> list[Observation]:
    """Every observation the camera holds, oldest first (they are taken)."""
    return camera.take_observations()


def output_edges(camera) -> list[LineEdge]:
    """The output line edges among the observations the camera holds (all are taken)."""
    return [o for o in drain(camera) if isinstance(o, LineEdge) and o.output]
