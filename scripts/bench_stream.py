#!/usr/bin/env python3
"""Streaming figures through the umockdev transport (issue 4 targets):

- rated stream into Aravis, 4096x2168 Mono8: fps, lost frames, p99 frame-period jitter,
  daemon CPU (target 42.7 fps +-0.5 %, 0 lost, p99 jitter < 2 ms, CPU <= 50 % of a core);
- the same into pypylon;
- stress mode (readout and link ceilings lifted) into Aravis, and Aravis's own fake GigE
  camera over loopback at 4096x2168 in the same run (target >= 85 fps, >= 760 MB/s);
- GenCP READMEM round trip through pyusb (target p50 <= 0.5 ms);
- CPU of a client waiting on the stream endpoint (target ~0);
- two cameras streaming at the rated rate at once.

Every Aravis program runs inside `unshare -n` (only loopback). Usage: bench_stream.py
[--seconds 60] [--only NAME ...].
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from u3v_features import acA4096_40um as table

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ARAVIS_GRAB = ["/usr/bin/python3", str(REPO / "scripts" / "aravis_grab.py")]
CLIENTS = REPO / "tests" / "transports" / "clients"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Daemon:
    def __init__(self, *args: str, serials=("40012345",)):
        self.dir = Path(tempfile.mkdtemp(prefix="u3v-bench-"))
        config = self.dir / "config.toml"
        config.write_text("".join(f'[[camera]]\nserial = "{s}"\n' for s in serials))
        env = dict(os.environ, U3V_SIM_RUNTIME_DIR=str(self.dir / "run"))
        self.process = subprocess.Popen([PYTHON, "-m", "u3v_sim", "serve", "--config",
                                         str(config), "--log-level", "warning", *args],
                                        env=env, stdout=subprocess.DEVNULL)
        info = self.dir / "run" / "daemon.json"
        deadline = time.monotonic() + 30
        while not info.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("daemon did not start")
            time.sleep(0.05)
        data = json.loads(info.read_text())
        self.env = dict(env, UMOCKDEV_DIR=data["umockdev_dir"], LD_PRELOAD=data["ld_preload"])

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def status(self) -> list[dict]:
        import socket
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.dir / "run" / "control.sock"))
            sock.sendall(b'{"command": "status"}\n')
            return json.loads(sock.makefile().readline())["cameras"]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)

    def __enter__(self) -> "Daemon":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()


def run_json(args: list[str], env: dict, timeout: float) -> dict:
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    lines = out.stdout.strip().splitlines()
    if not lines:
        raise SystemExit(f"{args[:3]} failed: {out.stderr[-2000:]}")
    return json.loads(lines[-1])


def aravis_grab(env: dict, seconds: float, *args: str) -> dict:
    """An Aravis client in a network namespace with only loopback."""
    return run_json(["unshare", "-n", *ARAVIS_GRAB, "--seconds", str(seconds), *args], env,
                    seconds + 60)


def measured(daemon: Daemon, action):
    """Run action(); return its result, daemon CPU % of one core, and the frames the cameras
    dropped because their buffer was full (the host, or the simulator's renderer, did not
    keep up) or the simulator fell behind; frames dropped because a client disabled its
    stream (as it stops) are not lost to anyone."""
    def dropped() -> int:
        return sum(c["dropped_buffer_full"] + c["dropped_daemon_overload"]
                   for c in daemon.status())
    before = dropped()
    cpu, start = daemon.cpu_seconds(), time.monotonic()
    result = action()
    elapsed = time.monotonic() - start
    cpu_percent = (daemon.cpu_seconds() - cpu) / elapsed * 100
    return result, cpu_percent, dropped() - before


def rated_aravis(seconds: float) -> None:
    with Daemon() as daemon:
        grab, cpu, dropped = measured(daemon, lambda: aravis_grab(daemon.env, seconds))
    lost = dropped + grab["failed"]
    print(f"rated Aravis 4096x2168 Mono8, {seconds:.0f} s: {grab['fps']:.2f} fps "
          f"(device clock {grab['device_fps']:.2f}), {lost} lost ({dropped} dropped in the "
          f"camera, {grab['failed']} failed buffers), p99 jitter {grab['jitter_p99_ms']:.2f} ms, "
          f"{grab['mb_per_s']:.0f} MB/s, daemon CPU {cpu:.0f} % of a core")


def rated_chunks(seconds: float) -> None:
    """Chunk mode at the rated rate: every ace USB chunk, PayloadCRC16 (over the whole
    8.9 MB payload) included."""
    chunks = tuple(table.CHUNKS)
    sets = ["--set", "ChunkModeActive=true"]
    for chunk in chunks:
        sets += ["--set", f"ChunkSelector={chunk}", "--set", "ChunkEnable=true"]
    with Daemon() as daemon:
        grab, cpu, dropped = measured(daemon, lambda: aravis_grab(daemon.env, seconds, *sets))
    print(f"rated Aravis 4096x2168 Mono8 with {len(chunks)} chunks (PayloadCRC16 included), "
          f"{seconds:.0f} s: {grab['fps']:.2f} fps, {dropped + grab['failed']} lost, p99 "
          f"jitter {grab['jitter_p99_ms']:.2f} ms, daemon CPU {cpu:.0f} % of a core")


def rated_pylon(seconds: float) -> None:
    with Daemon() as daemon:
        grab, cpu, dropped = measured(daemon, lambda: run_json(
            [PYTHON, str(REPO / "scripts" / "pylon_grab.py"), "--seconds", str(seconds)],
            daemon.env, seconds + 60))
    print(f"rated pypylon 4096x2168 Mono8, {seconds:.0f} s: {grab['fps']:.2f} fps delivered, "
          f"{dropped} dropped in the camera, {grab['failed']} of {grab['completed'] + grab['failed']}"
          f" flagged by pylon {grab['errors']}, p99 jitter {grab['jitter_p99_ms']:.2f} ms, "
          f"daemon CPU {cpu:.0f} %")


def stress(seconds: float) -> None:
    with Daemon("--stress") as daemon:
        grab, cpu, _ = measured(daemon, lambda: aravis_grab(daemon.env, seconds))
    fake = run_json(["unshare", "-n", "sh", "-c", "ip link set lo up && exec " + " ".join(
        ARAVIS_GRAB + ["--fake-gv", "--seconds", str(seconds), "--set", "'R[0x11c]=4096'",
                       "--set", "'R[0x118]=2168'", "--set", "Width=4096", "--set",
                       "Height=2168", "--set", "AcquisitionFrameRate=1000", "--set",
                       "GevSCPSPacketSize=65000"])], dict(os.environ), seconds + 60)
    print(f"stress mode into Aravis, 4096x2168 Mono8: {grab['fps']:.2f} fps, "
          f"{grab['mb_per_s']:.0f} MB/s (daemon CPU {cpu:.0f} %); Aravis fake GigE camera on "
          f"loopback: {fake['fps']:.2f} fps, {fake['mb_per_s']:.0f} MB/s; ratio "
          f"{grab['fps'] / fake['fps']:.2f}")


def round_trip() -> None:
    with Daemon() as daemon:
        report = run_json([PYTHON, str(CLIENTS / "readmem_latency.py"), "2000"], daemon.env, 120)
        idle = run_json([PYTHON, str(CLIENTS / "idle_wait.py"), "3.0"], daemon.env, 60)
    floor = run_json([PYTHON, str(REPO / "scripts" / "umockdev_floor.py")],
                     dict(os.environ), 120)
    print(f"GenCP READMEM (4 B) round trip through pyusb: p50 {report['p50_ms']:.3f} ms, "
          f"p99 {report['p99_ms']:.3f} ms over {report['count']} reads; umockdev alone (a "
          f"handler that answers at once): {floor['us_per_ioctl']:.0f} us per ioctl, x6 per "
          f"round trip = {floor['us_per_ioctl'] * 6 / 1000:.2f} ms")
    print(f"client waiting 3 s on the stream endpoint: {idle['cpu_seconds'] * 1000:.0f} ms CPU")


def two_cameras(seconds: float) -> None:
    with Daemon(serials=("40012345", "40012346")) as daemon:
        def both():
            procs = []
            for guid, serial in (("267602628A39", "40012345"), ("267602628A3A", "40012346")):
                procs.append(subprocess.Popen(
                    ["unshare", "-n", *ARAVIS_GRAB, "--device", f"Basler-{guid}-{serial}",
                     "--seconds", str(seconds)], env=daemon.env, stdout=subprocess.PIPE,
                    text=True))
                time.sleep(1.0)  # umockdev's per-fd uevent sockets collide on simultaneous init
            return [json.loads(p.communicate(timeout=seconds + 60)[0].strip().splitlines()[-1])
                    for p in procs]
        grabs, cpu, dropped = measured(daemon, both)
    figures = ", ".join(f"{g['fps']:.2f} fps ({g['failed']} failed, p99 jitter "
                        f"{g['jitter_p99_ms']:.2f} ms)" for g in grabs)
    print(f"two cameras into two Aravis clients, {seconds:.0f} s: {figures}; {dropped} dropped "
          f"in the cameras; daemon CPU {cpu:.0f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    benches = {
        "rated_aravis": lambda: rated_aravis(args.seconds),
        "rated_chunks": lambda: rated_chunks(min(args.seconds, 20.0)),
        "rated_pylon": lambda: rated_pylon(args.seconds),
        "stress": lambda: stress(min(args.seconds, 20.0)),
        "round_trip": round_trip,
        "two_cameras": lambda: two_cameras(min(args.seconds, 20.0)),
    }
    for name, bench in benches.items():
        if args.only is None or name in args.only:
            bench()


if __name__ == "__main__":
    main()
