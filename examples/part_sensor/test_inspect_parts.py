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


def line2_edges(camera, until: threading.Event, seen: list) -> threading.Thread:
    observations = camera.subscribe()   # subscribed before the test acts: no edge missed

    def follow():
        for observation in observations:
            if observation["event"] == "line_edge" and observation["line"] == "Line2":
                seen.append((observation["level"], observation["timestamp_ns"]))
            if until.is_set():
                return
    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("brightness, good", [(0.9, True), (0.05, False)])
def test_a_part_is_judged_by_its_image_and_line2_says_so(u3v_camera, inspector, tmp_path,
                                                         brightness, good):
    part = tmp_path / "part.npy"
    np.save(part, np.full((2176, 4112), brightness, np.float32))
    u3v_camera.image(part)                            # the part in front of the camera
    done, edges = threading.Event(), []
    line2_edges(u3v_camera, done, edges)
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
    done.set()
    u3v_camera.set("UserOutputValue", False, selector="UserOutput1")   # ends the follower
    if good:
        assert edges and edges[0][0] is True and edges[0][1] > pulse["first_edge_ns"], edges
    else:
        assert all(level is False for level, _ in edges), edges
