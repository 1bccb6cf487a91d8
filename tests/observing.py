"""Observation streams in tests: a camera's drained (``Camera.take_observations``), a
daemon's followed (``follow``)."""

from __future__ import annotations

import threading

from u3v_sim.camera.observations import LineEdge, Observation


def drain(camera) -> list[Observation]:
    """Every observation the camera holds, oldest first (they are taken)."""
    return camera.take_observations()


def output_edges(camera) -> list[LineEdge]:
    """The output line edges among the observations the camera holds (all are taken)."""
    return [o for o in drain(camera) if isinstance(o, LineEdge) and o.output]


def follow(harness, until) -> tuple[list[dict], threading.Event]:
    """Subscribe now (nothing after this call is missed); a thread collects every observation
    into the returned list, up to and including the first for which ``until(item)`` holds,
    then sets the returned event."""
    seen: list[dict] = []
    done = threading.Event()
    observations = harness.subscribe()

    def collect() -> None:
        for item in observations:
            seen.append(item)
            if until(item):
                done.set()
                return

    threading.Thread(target=collect, daemon=True).start()
    return seen, done


def written(name: str):
    """``until`` for ``follow``: a write of feature ``name`` (a test's end marker)."""
    return lambda item: item["event"] == "feature_written" and item["name"] == name
