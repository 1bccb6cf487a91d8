#!/usr/bin/env python3
"""Grab frames through pypylon (pylon's own USB transport layer) and print JSON figures."""

import argparse
import json
import statistics
import time

from pypylon import pylon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    factory = pylon.TlFactory.GetInstance()
    camera = pylon.InstantCamera(factory.CreateDevice(factory.EnumerateDevices()[0]))
    camera.Open()
    camera.MaxNumBuffer.Value = 10
    camera.StartGrabbing(pylon.GrabStrategy_OneByOne)
    completed = failed = 0
    errors: dict[str, int] = {}
    arrivals = []
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        result = camera.RetrieveResult(5000, pylon.TimeoutHandling_ThrowException)
        arrivals.append(time.monotonic())  # every frame delivered, succeeded or flagged
        if result.GrabSucceeded():
            completed += 1
        else:
            failed += 1
            errors[result.ErrorDescription] = errors.get(result.ErrorDescription, 0) + 1
        result.Release()
    camera.StopGrabbing()
    camera.Close()
    periods = [b - a for a, b in zip(arrivals, arrivals[1:])]
    mean = statistics.mean(periods)
    deviations = sorted(abs(p - mean) for p in periods)
    print(json.dumps({"completed": completed, "failed": failed, "errors": errors,
                      "fps": round((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]), 3),
                      "jitter_p99_ms": round(deviations[int(0.99 * (len(deviations) - 1))]
                                             * 1e3, 3)}))


if __name__ == "__main__":
    main()
