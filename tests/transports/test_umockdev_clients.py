"""Unmodified clients — lsusb, pyusb, Aravis, pypylon, the official GenApi over libusb — find,
control and stream from the daemon's camera through umockdev."""

from __future__ import annotations

import re
import sys

from u3v_features import FEATURES
from u3v_sim.camera.features import FeatureStore

ROW_PERIOD_NS = round(1e9 / 42.7)


def test_lsusb_shows_the_u3v_device_and_its_descriptors(daemon):
    out = daemon.run(["lsusb", "-v", "-d", "2676:"]).stdout
    assert re.search(r"idVendor\s+0x2676", out) and "acA4096-40um" in out
    assert re.search(r"bDeviceClass\s+239", out)
    protocols = re.findall(r"bInterfaceClass\s+239.*?\n.*?bInterfaceSubClass\s+5.*?\n\s+"
                           r"bInterfaceProtocol\s+(\d)", out)
    assert protocols == ["0", "1", "2"]
    assert re.search(r"iSerial\s+3 40012345", out)
    assert re.search(r"bMaxBurst\s+15", out) and "SuperSpeed USB Device Capability" in out


def test_pyusb_reads_the_bootstrap_registers_and_grabs_frames(daemon):
    report = daemon.client_json("pyusb_u3v.py", "grab", "4")
    assert report["speed"] == 4  # libusb: SuperSpeed
    assert (report["vendor"], report["model"], report["serial"]) == (
        "Basler", "acA4096-40um", "40012345")
    assert report["manufacturer"] == "Basler" and report["capability"] == "0xe09"
    # umockdev's preload sleeps usleep(0) after each ioctl: the daemon shrinks that sleep
    assert report["timer_slack_ns"] == 1
    frames = report["frames"]
    assert [f["status"] for f in frames] == [0] * 4
    assert all(f["bytes"] == f["valid"] == 4096 * 2168 for f in frames)
    ids = [f["block_id"] for f in frames]
    assert ids == list(range(ids[0], ids[0] + 4))
    assert [f["trailer_block_id"] for f in frames] == ids
    periods = [b["timestamp"] - a["timestamp"] for a, b in zip(frames, frames[1:])]
    assert all(abs(p - ROW_PERIOD_NS) <= 1 for p in periods)  # 42.7 fps device clock


def test_official_genapi_sweep_over_libusb(daemon):
    sweep = daemon.client_json("pyusb_u3v.py", "sweep", timeout=300)["sweep"]
    writable = {f.name for f in FEATURES if f.access != "RO" and f.kind != "Command"
                and f.data_port is None and not f.host_local}
    # DeviceLinkThroughputLimit is locked until its mode is On.
    assert sweep["written_features"] == len(writable) - 1
    # Every instance of every register-backed feature is read, except where the table makes
    # it unavailable (output features of input lines and the reverse; no overload status on
    # the opto-coupled lines).
    assert sweep["unreadable"] == [
        "LineSource[Line1]", "LineSource[Line3]", "LineSource[Line4]",
        "LineDebouncerTime[Line2]", "LineMinimumOutputPulseWidth[Line1]",
        "LineMinimumOutputPulseWidth[Line3]", "LineMinimumOutputPulseWidth[Line4]",
        "LineOverloadStatus[Line1]", "LineOverloadStatus[Line2]"]
    store = FeatureStore(FEATURES)
    instances = sum(len(store.instances(f.name)) for f in FEATURES
                    if f.kind != "Command" and f.data_port is None and not f.host_local)
    assert sweep["readable_instances"] == instances - len(sweep["unreadable"])


def test_aravis_lists_the_camera_and_reads_and_writes_features(daemon):
    listed = daemon.run(["arv-tool-0.8"], network_namespace=True).stdout
    assert "Basler-267602628A39-40012345 (USB3)" in listed
    out = daemon.run(["arv-tool-0.8", "control", "Width=1024", "PixelFormat=Mono12p",
                      "ExposureTime=2000", "TriggerMode=On", "Width", "PixelFormat",
                      "ExposureTime", "TriggerMode"], network_namespace=True).stdout
    assert re.search(r"Width = 1024", out)
    assert "PixelFormat = Mono12p" in out
    assert re.search(r"ExposureTime = 2000", out)
    assert "TriggerMode = On" in out
    daemon.run(["arv-tool-0.8", "control", "Width=4096", "PixelFormat=Mono8",
                "ExposureTime=5000", "TriggerMode=Off"], network_namespace=True)


def test_aravis_streams_at_default_settings_without_failures(daemon):
    result = daemon.aravis_grab("--frames", "40", "--seconds", "20")
    assert result["completed"] == 40 and result["failed"] == 0, result
    assert result["first"]["width"] == 4096 and result["first"]["height"] == 2168
    assert result["device_fps"] == 42.7


def test_aravis_streams_a_reduced_roi_in_mono12p(daemon):
    result = daemon.aravis_grab("--frames", "40", "--seconds", "20", "--set", "Width=1024",
                                "--set", "Height=512", "--set", "PixelFormat=Mono12p")
    assert result["completed"] == 40 and result["failed"] == 0, result
    assert result["payload"] == 1024 * 512 * 12 // 8
    assert result["first"]["pixel_format"] == hex(0x010C0047)
    daemon.run(["arv-tool-0.8", "control", "Width=4096", "Height=2168", "PixelFormat=Mono8"],
               network_namespace=True)


def test_aravis_software_trigger(daemon):
    result = daemon.aravis_grab("--software-trigger", "10", "--seconds", "3")
    assert result["failed"] == 0 and 25 <= result["completed"] <= 31, result
    assert 9.0 <= result["fps"] <= 11.0
    daemon.run(["arv-tool-0.8", "control", "TriggerMode=Off"], network_namespace=True)


def test_pypylon_opens_controls_grabs_and_triggers(daemon):
    report = daemon.client_json("pylon_client.py")
    assert report["devices"] == [["acA4096-40um", "40012345", "BaslerUsb"]]
    assert report["features"] == {"DeviceVendorName": "Basler", "Width": 4096,
                                  "PixelFormat": "Mono8", "SensorWidth": 4112}
    assert report["width_after_write"] == 1024
    assert report["grabbed"] == 10 and report["grab_failures"] == 0
    assert report["grab_size"] == [1024, 2168]
    assert report["triggered"] == 3 and report["trigger_failures"] == 0


def test_status_reports_cameras_and_traffic(daemon):
    out = daemon.cli("status")
    assert out.startswith("40012345 /dev/bus/usb/002/")
    assert re.search(r"sent=\d+", out)
    assert daemon.cli("env").startswith("export UMOCKDEV_DIR=")
    import json
    camera = json.loads(daemon.cli("status", "--json"))["cameras"][0]
    assert camera["serial"] == "40012345" and camera["frames_sent"] > 0
    assert {"dropped_buffer_full", "dropped_not_streaming"} <= camera.keys()
    assert camera["transport"]["clients_direct"] > 0  # earlier clients' memory was reachable


def test_a_waiting_client_stays_idle(daemon):
    report = daemon.client_json("idle_wait.py", "2.0")
    assert report["timed_out"] is True
    assert report["cpu_seconds"] < 0.1, report  # the FIFO node keeps libusb asleep


def test_urbs_pointing_nowhere_fail_with_efault_and_the_camera_serves_on(daemon):
    report = daemon.client_json("bad_urbs.py")
    assert report == {"claim": "ok", "urb_pointing_nowhere": "EFAULT",
                      "buffer_pointing_nowhere": "EFAULT", "release": "ok"}
    info = daemon.client_json("pyusb_u3v.py")
    assert info["model"] == "acA4096-40um"


def test_a_client_killed_mid_stream_leaves_the_camera_ready(daemon):
    import subprocess
    killed = subprocess.Popen([sys.executable, str(daemon_clients() / "pyusb_u3v.py"),
                               "grab", "1000"], env=daemon.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    import time
    time.sleep(2.0)
    killed.kill()
    killed.wait()
    report = daemon.client_json("pyusb_u3v.py", "grab", "3")
    assert [f["status"] for f in report["frames"]] == [0, 0, 0]


def daemon_clients():
    from pathlib import Path
    return Path(__file__).parent / "clients"


def test_snapshot_and_line_commands(daemon, tmp_path):
    import numpy as np
    from PIL import Image
    path = tmp_path / "frame.png"
    daemon.cli("snapshot", "-o", str(path))
    with Image.open(path) as image:
        assert image.size == (4096, 2168)
        assert 20 < np.asarray(image.convert("L")).mean() < 235  # a scene, not black/white
    daemon.cli("line", "Line1", "3.3V")
    warned = daemon.run([sys.executable, "-m", "u3v_sim", "line", "Line3", "12V"])
    assert "above the safe 5 V" in warned.stderr
    refused = daemon.run([sys.executable, "-m", "u3v_sim", "line", "Line2", "1"], check=False)
    assert refused.returncode != 0 and "Line2 is an output" in refused.stderr
    daemon.cli("line", "Line1", "0")
    daemon.cli("line", "Line3", "0")


def test_aravis_receives_exactly_the_frames_the_camera_rendered(daemon):
    """Byte-exact delivery through umockdev, with the data written straight into the
    client's memory (the default)."""
    assert_byte_exact_delivery(daemon)
    assert daemon.status()[0]["transport"]["clients_direct"] > 0


def test_without_direct_memory_access_frames_travel_through_umockdev_intact(tmp_path):
    from daemon_host import Daemon
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path, "direct_memory = false\n")
    try:
        assert_byte_exact_delivery(daemon)
        transport = daemon.status()[0]["transport"]
        assert transport["clients_direct"] == 0 and transport["clients_socket"] > 0
    finally:
        daemon.stop()


def assert_byte_exact_delivery(daemon, frames: int = 60):
    """A moving test image (every frame differs) is compared, frame by frame, with what the
    frame generator renders for that frame (reset to its start by TestImageResetAndHold
    before the acquisition: the first frame shows frame 0)."""
    import hashlib

    from u3v_sim.frames.generator import FrameGenerator
    from u3v_sim.frames.settings import ImageSettings
    result = daemon.aravis_grab("--frames", str(frames), "--seconds", "20", "--digests",
                                str(frames), "--set", "TestImageSelector=Testimage2",
                                "--set", "TestImageResetAndHold=true",
                                "--set", "TestImageResetAndHold=false")
    daemon.run(["arv-tool-0.8", "control", "TestImageSelector=Off"], network_namespace=True)
    assert result["completed"] == frames and result["failed"] == 0, result
    generator = FrameGenerator()
    settings = ImageSettings(test_image="Testimage2")
    first = result["digests"][0][0]
    for frame_id, digest in result["digests"]:
        expected = hashlib.sha256(generator.render(settings, frame_id - first, 0)).hexdigest()
        assert digest == expected, frame_id
    assert len({d for _, d in result["digests"]}) == frames  # the frames really differ
