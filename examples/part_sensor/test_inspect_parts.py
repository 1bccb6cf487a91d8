"""The HIL test of the example application: the u3v-sim harness plays the factory (a part
passes the sensor on Line1, the part is in front of the camera) and watches the line the
application drives (Line2), while the application runs unmodified, in this process."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from inspect_parts import THRESHOLD_DN, PartInspector


@pytest.fixture
def inspector():
    app = PartInspector()
    app.configure()
    yield app
    app.close()


def line2_edges(camera) -> tuple[list, threading.Thread]:
    """Line2's edges from now (subscribed before the test acts: none is missed) until the
    test's end marker, a harness write of DeviceUserID that the application never makes."""
    observations = camera.subscribe()
    seen = []

    def follow():
        for observation in observations:
            if observation["event"] == "line_edge" and observation["line"] == "Line2":
                seen.append((observation["level"], observation["timestamp_ns"]))
            if observation["event"] == "feature_written" \
                    and observation["name"] == "DeviceUserID":
                return
    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return seen, thread


@pytest.mark.parametrize("brightness, good", [(0.9, True), (0.05, False)])
def test_a_part_is_judged_by_its_image_and_line2_says_so(u3v_camera, inspector, tmp_path,
                                                         brightness, good):
    part = tmp_path / "part.npy"
    np.save(part, np.full((2176, 4112), brightness, np.float32))
    u3v_camera.image(part)                            # the part in front of the camera
    edges, follower = line2_edges(u3v_camera)
    results = []
    app = threading.Thread(target=lambda: results.extend(inspector.inspect(parts=1)))
    app.start()
    assert inspector.armed.wait(30)
    pulse = u3v_camera.pulse("Line1", width_us=500, period_us=1000, count=1, delay_us=50_000)
    app.join(timeout=20)
    (inspection,) = results
    assert inspection.ok is good
    assert (inspection.mean_dn >= THRESHOLD_DN) is good
    # The frame was taken at the sensor's edge, and Line2 went high only for a good part.
    u3v_camera.set("DeviceUserID", "end of test")      # the marker: every edge before it is seen
    follower.join(timeout=10)
    assert not follower.is_alive()
    if good:
        assert edges and edges[0][0] is True and edges[0][1] > pulse["first_edge_ns"], edges
    else:
        assert all(level is False for level, _ in edges), edges
