#!/usr/bin/env python3
"""Figures of the harness side (issue 10), against a real daemon while Aravis streams at the
rated rate: control-command round trip, observation delivery latency (device time to the
subscriber), event-loop lag, a 1 kHz pulse train with every edge accounted for, and a line
pulse to exposure start against the modelled trigger delay, and how soon a client's exit is
observed (closing the node, or exiting without closing it). Prints one JSON object.

    .venv/bin/python scripts/bench_harness.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "transports"))
from daemon_host import Daemon  # noqa: E402


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    if not ordered:
        return {}
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)  # noqa: E731
    return {"n": len(ordered), "p50": pick(0.5), "p99": pick(0.99), "max": round(ordered[-1], 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="u3v-bench-harness-"))
    daemon = Daemon(base / "run", ("40012345",), base)
    harness = daemon.harness()
    out: dict = {}
    try:
        grab = subprocess.Popen(
            ["unshare", "-n", "/usr/bin/python3", str(REPO / "scripts" / "aravis_grab.py"),
             "--seconds", str(args.seconds + 4)],
            env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)   # streaming at the rated rate
        epoch = harness.status()["cameras"][0]["epoch_monotonic"]
        latencies: list[float] = []
        stop = threading.Event()

        observations = harness.subscribe()   # (subscribed from here on)

        def follow() -> None:
            for item in observations:
                if "timestamp_ns" in item and item["event"] in ("frame_sent", "device_event",
                                                                  "line_edge"):
                    latencies.append((time.monotonic() - epoch - item["timestamp_ns"] / 1e9)
                                     * 1e3)
                if stop.is_set():
                    return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        round_trips = []
        end = time.monotonic() + args.seconds / 2
        while time.monotonic() < end:
            started = time.monotonic()
            harness.get("Width")
            round_trips.append((time.monotonic() - started) * 1e3)
            time.sleep(0.01)
        out["command_round_trip_ms"] = percentiles(round_trips)
        out["observation_latency_ms"] = percentiles(latencies)
        stop.set()
        harness.set("TriggerMode", "Off")   # (an observation: ends the follower)
        grabbed = json.loads(grab.communicate(timeout=60)[0].strip().splitlines()[-1])
        out["aravis_while_measuring"] = {k: grabbed.get(k) for k in ("fps", "completed",
                                                                     "failed", "jitter_p99_ms")}
        out["loop_lag_ms"] = harness.status()["loop_lag_ms"]
        out.update(pulse_figures(harness, args.seconds))
        out["client_exit_to_detach_ms"] = detach_figures(daemon, harness)
    finally:
        daemon.stop()
    print(json.dumps(out))
    return 0


# A pyusb client that claims the camera's control interface, then exits: closing the node
# ("close") or leaving it open to the process's end ("exit").
CLIENT = """import os, sys, usb.core, usb.util
device = usb.core.find(idVendor=0x2676)
usb.util.claim_interface(device, 0)
if sys.argv[1] == "close":
    usb.util.dispose_resources(device)
os._exit(0)
"""


def detach_figures(daemon, harness, runs: int = 10) -> dict:
    """Per way of leaving: the time from a client process's end (its wait returning) to the
    observation of its detach."""
    figures = {}
    for way in ("close", "exit"):
        seen: list[float] = []
        detached = threading.Semaphore(0)
        observations = harness.subscribe()

        def follow() -> None:
            for item in observations:
                if item["event"] == "client" and not item["attached"] and item["clients"] == 0:
                    seen.append(time.monotonic())
                    detached.release()
                elif item["event"] == "feature_written" and item["name"] == "DeviceUserID":
                    return

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        latencies = []
        for _ in range(runs):
            subprocess.run([sys.executable, "-c", CLIENT, way], env=daemon.env, check=True,
                           timeout=60)
            ended = time.monotonic()
            if detached.acquire(timeout=5):
                latencies.append((seen[-1] - ended) * 1e3)
        harness.set("DeviceUserID", "")   # ends the follower
        follower.join(5)
        figures[way] = {**percentiles(latencies), "missed": runs - len(latencies)}
    return figures


def pulse_figures(harness, seconds: float) -> dict:
    """A 1 kHz train for ``seconds`` on Line1 with every edge observed at its exact device
    time; then hardware triggers with a TriggerDelay: FrameStart exactly that late."""
    edges: list[tuple[bool, int]] = []
    frame_starts: list[int] = []
    done = threading.Event()

    observations = harness.subscribe()   # (subscribed from here on)

    def follow() -> None:
        for item in observations:
            if item["event"] == "line_edge" and item["line"] == "Line1":
                edges.append((item["level"], item["timestamp_ns"]))
            elif item["event"] == "device_event" and item["name"] == "FrameStart":
                frame_starts.append(item["timestamp_ns"])
            elif item["event"] == "feature_written" and item["name"] == "DeviceUserID":
                done.set()
                return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    count = int(seconds * 1000)
    train = harness.pulse("Line1", width_us=100, period_us=1000, count=count)
    time.sleep(seconds + 0.5)
    expected = [t for i in range(count) for t in
                (train["first_edge_ns"] + i * 1_000_000, train["first_edge_ns"] + i * 1_000_000
                 + 100_000)]
    train_edges = [t for _, t in edges]
    result = {"pulse_train_1khz": {"edges_expected": len(expected),
                                   "edges_observed": len(train_edges),
                                   "all_at_exact_times": train_edges == expected}}
    delay_us = 250.0
    harness.set("TriggerSelector", "FrameStart")
    harness.set("TriggerMode", "On")
    harness.set("TriggerSource", "Line1")
    harness.set("TriggerDelay", delay_us, selector="FrameStart")
    harness.execute("AcquisitionStart")
    edges.clear()
    frame_starts.clear()
    triggered = harness.pulse("Line1", width_us=100, period_us=100_000, count=10)
    time.sleep(1.5)
    harness.execute("AcquisitionStop")
    harness.set("TriggerMode", "Off")
    harness.set("DeviceUserID", "")   # ends the follower
    done.wait(5)
    rising = [triggered["first_edge_ns"] + i * 100_000_000 for i in range(10)]
    offsets = [start - edge for start, edge in zip(frame_starts, rising)]
    result["line_pulse_to_exposure_start"] = {
        "trigger_delay_us": delay_us, "frames": len(frame_starts),
        "offsets_ns": sorted(set(offsets)),
        "exact": offsets == [int(delay_us * 1000)] * 10}
    return result


if __name__ == "__main__":
    sys.exit(main())
