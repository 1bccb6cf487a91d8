#!/usr/bin/python3
"""Grab frames from a U3V camera through Aravis (GI), the way an application does, and print
JSON figures: frames completed and failed, frame rate, frame-period jitter.

Run with Debian's python3 (python3-gi + gir1.2-aravis-0.8) inside `unshare -n`: Aravis also
broadcasts GigE Vision discovery on every interface.
"""

import argparse
import hashlib
import json
import os
import socket
import statistics
import sys
import time

# Aravis broadcasts GigE Vision discovery on every interface: never run where an interface
# other than loopback exists; re-run inside a fresh network namespace instead.
if any(name != "lo" for _, name in socket.if_nameindex()):
    os.execvp("unshare", ["unshare", "-n", sys.executable, *sys.argv])

import gi

gi.require_version("Aravis", "0.8")
from gi.repository import Aravis  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", help="Aravis device id (default: the first U3V camera)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames")
    parser.add_argument("--set", action="append", default=[], metavar="FEATURE=VALUE",
                        help="set a feature before streaming (repeatable)")
    parser.add_argument("--software-trigger", type=float, default=0.0, metavar="HZ",
                        help="trigger by software at this rate instead of free running")
    parser.add_argument("--buffers", type=int, default=10)
    parser.add_argument("--digests", type=int, default=0, metavar="N",
                        help="report frame id and SHA-256 of the first N frames' image data")
    parser.add_argument("--gige", action="store_true", help="allow the GigE Vision interface")
    parser.add_argument("--fake-gv", action="store_true",
                        help="serve Aravis's own fake GigE camera on lo (in this process) and "
                             "grab from it instead, for comparison")
    args = parser.parse_args()

    fake = None
    if args.fake_gv:
        fake = Aravis.GvFakeCamera.new("lo", None)  # noqa: F841 (kept alive while grabbing)
        time.sleep(0.5)
        args.gige, args.device = True, "Aravis-Fake-GV01"
    if not args.gige:
        Aravis.disable_interface("GigEVision")
    camera = Aravis.Camera.new(args.device)
    device = camera.get_device()
    for assignment in args.set:
        device.set_features_from_string(assignment)
    if args.software_trigger:
        camera.set_trigger("Software")
    payload = camera.get_payload()
    stream = camera.create_stream(None, None)
    for _ in range(args.buffers):
        stream.push_buffer(Aravis.Buffer.new_allocate(payload))
    camera.start_acquisition()
    completed, failed, timestamps, arrivals, digests = 0, 0, [], [], []
    statuses = {}
    start = time.monotonic()
    next_trigger = start
    while time.monotonic() - start < args.seconds:
        if args.frames and completed >= args.frames:
            break
        if args.software_trigger and time.monotonic() >= next_trigger:
            camera.software_trigger()
            next_trigger += 1 / args.software_trigger
        buffer = stream.timeout_pop_buffer(20_000)
        if buffer is None:
            continue
        status = buffer.get_status()
        if status == Aravis.BufferStatus.SUCCESS:
            completed += 1
            timestamps.append(buffer.get_timestamp())
            # When Aravis's stream thread completed the buffer (what a C client sees).
            arrivals.append(buffer.get_system_timestamp() / 1e9)
            if len(digests) < args.digests:
                digests.append([buffer.get_frame_id(),
                                hashlib.sha256(buffer.get_data()).hexdigest()])
            if completed == 1:
                first = {"width": buffer.get_image_width(), "height": buffer.get_image_height(),
                         "pixel_format": hex(buffer.get_image_pixel_format()),
                         "frame_id": buffer.get_frame_id(),
                         "size": len(buffer.get_data())}
        else:
            failed += 1
            statuses[status.value_nick] = statuses.get(status.value_nick, 0) + 1
        stream.push_buffer(buffer)
    elapsed = time.monotonic() - start
    camera.stop_acquisition()
    statistics_ = stream.get_statistics()
    n_underruns = statistics_[2] if len(statistics_) > 2 else None
    periods = [b - a for a, b in zip(arrivals, arrivals[1:])]
    device_periods = [(b - a) / 1e9 for a, b in zip(timestamps, timestamps[1:])]
    mean = statistics.mean(periods) if periods else 0.0
    deviations = sorted(abs(p - mean) for p in periods)
    result = {
        "model": camera.get_model_name(), "payload": payload, "completed": completed,
        "failed": failed, "failed_statuses": statuses, "underruns": n_underruns,
        "seconds": round(elapsed, 3),
        "fps": round((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), 3)
        if len(arrivals) > 1 else 0.0,
        "device_fps": round(1 / statistics.mean(device_periods), 3) if device_periods else 0.0,
        "mb_per_s": round(completed * payload / elapsed / 1e6, 1),
        "jitter_p99_ms": round(deviations[int(0.99 * (len(deviations) - 1))] * 1e3, 3)
        if deviations else 0.0,
        "first": first if completed else None,
        "digests": digests,
        "period_ms_percentiles": {q: round(sorted(periods)[int(q / 100 * (len(periods) - 1))]
                                           * 1e3, 2) for q in (0, 1, 5, 50, 95, 99, 100)}
        if periods else None,
    }
    print(json.dumps(result))
    return 0 if completed and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
