"""Block-level derived values checked by the hosts that parse them (issue 9 §2)."""

from __future__ import annotations

import json

import pytest
from daemon_host import CLIENTS, Daemon


def test_pylon_check_crc_accepts_the_payload_crc16_chunk(tmp_path):
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path, camera_settings="noise = false\n")
    try:
        report = daemon.client_json("pylon_crc.py", timeout=120)
    finally:
        daemon.stop()
    assert report["brightest"] == 0, report
    assert report["grabbed"] == 15, report
    assert report["has_crc"] == report["crc_ok"] == report["grabbed"], report


def test_pylon_gets_every_frame_complete_and_byte_exact(daemon):
    """With BslUSBSpeedMode on the camera (SuperSpeed, as its link) pylon takes every frame
    whole; without the node it flagged about 5 % "incompletely grabbed" and zeroed bytes in
    the rest (measured: 13 of 200 flagged, 187 with 19,615 bytes zeroed)."""
    report = daemon.client_json("pylon_exact.py", timeout=120)
    assert report == {"ok": 200, "flagged": 0, "differ": 0, "zeroed_bytes": 0}


def test_aravis_chunk_parser_reads_the_chunks(daemon):
    frames = daemon.run(["/usr/bin/python3", str(CLIENTS / "aravis_chunks.py")],
                        network_namespace=True, timeout=60).stdout
    frames = json.loads(frames.strip().splitlines()[-1])["frames"]
    assert len(frames) == 3 and all(frames), frames
    # Counter1 counts frame starts: the three frames' own counts, read through the parser's
    # node map (ChunkCounterSelector is the host's: Counter1 by default).
    counts = [frame["chunk_counter1"] for frame in frames]
    assert counts == list(range(counts[0], counts[0] + 3)) and counts[0] >= 1
    for frame in frames:
        assert frame["has_chunks"]
        assert frame["chunk_timestamp"] == frame["buffer_timestamp"]
        assert frame["chunk_exposure"] == 2000.0 and frame["chunk_gain"] == 0.0
        assert frame["chunk_crc"] == frame["crc_of_payload"]


def test_aravis_chunk_setup_switches_every_entry(daemon):
    """arv_camera_set_chunks writes ChunkEnable off for every entry, Image included."""
    report = daemon.run(["/usr/bin/python3", str(CLIENTS / "aravis_set_chunks.py")],
                        network_namespace=True, timeout=60).stdout
    assert json.loads(report.strip().splitlines()[-1]) == {
        "status": 0, "chunk_timestamp_is_buffer_timestamp": True}


def test_pylon_grabone_with_every_chunk_enabled(daemon):
    report = daemon.client_json("pylon_grabone_chunks.py", timeout=120)
    assert "Image" in report["enabled"] and "PayloadCRC16" in report["enabled"], report
    assert report["grabbed"] and report["chunk_timestamp"] == report["timestamp"], report
    assert (report["chunk_gain"], report["chunk_sequencer_set"]) == (3.0, 0)
    assert report["Counter1"] >= 1 and report["Counter2"] >= 1          # frame starts counted


def test_sirm_sizes_break_no_alignment(daemon):
    """Every programmed SIRM size is a multiple of the payload alignment (4), leader and
    trailer included (issue 9 §5)."""
    report = daemon.client_json("pyusb_sirm.py")
    for name in ("leader", "trailer", "transfer"):
        assert report[name] == ["ok", "0xa003", "0xa003", 64], report  # 64 kept


@pytest.mark.parametrize("width, height, pixel_format", [
    (16, 2, "Mono10p"), (24, 6, "Mono10p"), (40, 6, "Mono12p"), (16, 2, "Mono8")])
def test_aravis_streams_the_smallest_packed_rois(daemon, width, height, pixel_format):
    """Aravis programs a payload under 1 MiB as the payload transfer size itself: every ROI
    must give a payload on the 4-byte alignment (Width increment 8, issue 9 §5). Before, a
    Mono10p 20x6 ROI (150 bytes) gave Aravis no frame."""
    report = daemon.aravis_grab("--frames", "3", "--seconds", "10", "--set", "OffsetX=0",
                                "--set", f"Width={width}", "--set", f"Height={height}",
                                "--set", f"PixelFormat={pixel_format}")
    daemon.run(["arv-tool-0.8", "control", "PixelFormat=Mono8", "Width=4096", "Height=2168",
                "OffsetX=8"], network_namespace=True)
    bits = {"Mono8": 8, "Mono10p": 10, "Mono12p": 12}[pixel_format]
    assert report["payload"] == width * height * bits // 8, report
    assert (report["completed"], report["failed"]) == (3, 0), report


def test_pylon_gets_each_frame_with_its_own_chunks_from_the_first_frame(daemon):
    """pylon reaps late at an acquisition's start: each grab still carries its own image and
    chunks (was: 8 of 60 with a later frame's, CRC and timestamp wrong)."""
    report = daemon.client_json("pylon_chunk_frames.py", timeout=120)
    assert report == {"grabbed": 60, "own_timestamp": 60, "crc_ok": 60,
                      "distinct_images": 60}
