#!/usr/bin/env python3
"""Control-plane figures: XML generation, camera start-up, GenCP round trips through the
sans-I/O channel, and the official GenApi sweep over every feature (in-process, no USB)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from genapi_host import connect_node_map, sweep  # noqa: E402

from u3v_features import FEATURES, build_layout, build_xml, build_zip  # noqa: E402
from u3v_features.bootstrap import ABRM  # noqa: E402
from u3v_sim.camera.camera import Camera  # noqa: E402
from u3v_sim.protocol import gencp  # noqa: E402
from u3v_sim.transports.inproc import InProcessHost  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def per_command(channel, packets) -> float:
    """Seconds per command handled by the control channel."""
    start = time.perf_counter()
    for packet in packets:
        channel.receive(packet, 0.0)
    return (time.perf_counter() - start) / len(packets)


def main() -> None:
    xml_s = timed(lambda: build_zip(build_xml(FEATURES, layout=build_layout(FEATURES))), 5)
    print(f"XML + ZIP generation: {min(xml_s) * 1e3:.1f} ms ({len(FEATURES)} features)")
    start_s = timed(Camera, 20)
    print(f"camera construction: {statistics.median(start_s) * 1e3:.2f} ms median")

    host = InProcessHost(Camera())
    reads = [gencp.readmem_command(i % 0xFFFF + 1, ABRM.MANUFACTURER_NAME, 64)
             for i in range(20000)]
    channel = host.channel
    per = per_command(channel, reads)
    print(f"READMEM (64 B ABRM string) through the channel: {per * 1e6:.1f} us, "
          f"{1 / per:,.0f}/s")
    width = Camera().layout.value_register("Width").address
    writes = [gencp.writemem_command(i + 1, width, (1024 + 4 * (i % 8)).to_bytes(4, "little"))
              for i in range(20000)]
    per = per_command(channel, writes)
    print(f"WRITEMEM (Width, validated + settled) through the channel: {per * 1e6:.1f} us, "
          f"{1 / per:,.0f}/s")

    runs = []
    for _ in range(3):
        host = InProcessHost(Camera())
        node_map, port = connect_node_map(host)
        start = time.perf_counter()
        written = sweep(node_map, host.camera, [f for f in FEATURES if f.kind != "Command"
                                                 and f.data_port is None
                                                 and not f.host_local])
        runs.append(time.perf_counter() - start)
    print(f"GenApi write sweep (min/max/middle of {len(written)} writable features in every "
          f"selector instance): {min(runs) * 1e3:.0f} ms, {port.reads} reads + "
          f"{port.writes} writes")


if __name__ == "__main__":
    main()
