"""The emulated device node answers raw usbfs ioctls as the kernel's does: the reference is
Linux drivers/usb/core/devio.c (function names cited per case), driven with no libusb in
between (clients/usbfs_raw.py), over both data paths (straight into client memory, and through
umockdev's socket)."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from daemon_host import CLIENTS, Daemon


@pytest.fixture(scope="module", params=["direct", "socket"])
def node_daemon(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(f"usbfs-{request.param}")
    settings = "direct_memory = false\n" if request.param == "socket" else ""
    daemon = Daemon(base / "run", ("40012345",), base, settings)
    yield daemon
    daemon.stop()


def raw(daemon: Daemon, scenario: str) -> dict:
    return daemon.client_json("usbfs_raw.py", scenario, timeout=60)


def start_raw(daemon: Daemon, scenario: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, str(CLIENTS / "usbfs_raw.py"), scenario],
                               env=daemon.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
    first = process.stdout.readline()
    assert first, process.communicate(timeout=10)
    return process


def finish_raw(process: subprocess.Popen) -> dict:
    out, _ = process.communicate("go\n", timeout=30)
    return json.loads(out.strip().splitlines()[-1])


def test_lengths_never_write_past_a_buffer(node_daemon):
    report = raw(node_daemon, "lengths")
    # proc_do_submiturb: "uurb->buffer_length < (le16_to_cpu(dr->wLength) + 8)" is -EINVAL
    assert report["control_wlength_beyond_buffer"] == "EINVAL"
    assert report["control_wlength_guard"]
    assert report["control_exact"] == "ok"
    assert report["control_exact_result"][:4] == ["ok", 0, 9, True]
    assert report["control_exact_result"][4] == "0902"  # bLength 9, CONFIGURATION
    assert report["control_shorter_than_setup"] == "EINVAL"  # "min 8 byte setup packet"
    # An IN transfer that gets more than fits: -EOVERFLOW, buffer_length bytes, no more.
    assert report["ack_overflow"] == [True, 75, 16, True]  # EOVERFLOW = 75
    assert report["next_ack_status"] == 0
    assert report["event_overflow"] == ["ok", 75, 4, True]


def test_claims_are_per_open_file(node_daemon):
    holder = start_raw(node_daemon, "claims_holder")
    try:
        other = raw(node_daemon, "claims_other")
    finally:
        released = finish_raw(holder)
    # claimintf -> usb_driver_claim_interface: another file's interface is -EBUSY, and so is
    # any use that would claim it (checkintf from submit, clear halt, set interface,
    # check_ctrlrecip for requests to an endpoint).
    assert other["claim_0"] == "EBUSY"
    assert other["submit_command"] == "EBUSY"
    assert other["submit_stream"] == "EBUSY"
    assert other["clear_halt_stream"] == "EBUSY"
    assert other["set_interface_2"] == "EBUSY"
    assert other["control_to_endpoint"] == "EBUSY"
    assert other["control_to_device"] == "ok"  # a device request needs no claim
    # proc_control answers the bytes moved: the device descriptor
    assert other["sync_control"] == [18, "ok", "12012003"]  # bLength, DEVICE, bcdUSB 3.2
    assert released == {"released": ["ok", "ok", "ok"]}


def test_claims_end_when_the_file_is_closed(node_daemon):
    """devio.c usbdev_release drops a file's claims at close: the next process may set the
    configuration at once (umockdev hears of the close later)."""
    answers = []
    for _ in range(5):
        assert raw(node_daemon, "claim_and_exit") == {"claimed": ["ok", "ok", "ok"]}
        answers.append(raw(node_daemon, "set_configuration")["set_configuration"])
    assert answers == ["ok"] * 5


def test_submit_and_claim_errors(node_daemon):
    report = raw(node_daemon, "claims_misc")
    assert report["claim_nonexistent"] == "ENOENT"      # claimintf: no such interface
    assert report["claim_out_of_range"] == "EINVAL"     # ifnum >= 8 * sizeof(ifclaimed)
    assert report["release_unclaimed"] == "EINVAL"      # releaseintf
    assert report["submit_no_such_endpoint"] == "ENOENT"  # findintfep
    assert report["submit_bad_endpoint_bits"] == "EINVAL"  # findintfep: ep & ~(DIR_IN | 0xf)
    assert report["interrupt_on_bulk"] == "EINVAL"      # !usb_endpoint_xfer_int
    assert report["iso_on_bulk"] == "EINVAL"
    assert report["unknown_type"] == "EINVAL"
    assert report["unknown_flag"] == "EINVAL"
    assert report["length_without_buffer"] == "EINVAL"
    assert report["discard_unknown"] == "EINVAL"        # proc_unlinkurb: not pending
    assert report["auto_claim_submit"] == "ok"          # checkintf claims on first use
    assert report["discard_pending"] == "ok"
    assert report["discarded_status"] == ["ok", 2]      # usb_kill_urb: -ENOENT
    assert report["release_auto_claimed"] == "ok"


def test_dropped_privileges_and_configuration_under_claims(node_daemon):
    report = raw(node_daemon, "privileges")
    assert report == {
        "disconnect_claim_nonexistent": "EINVAL",  # proc_disconnect_claim: no such interface
        "claim_0": "ok",
        "set_configuration_while_claimed": "EBUSY",  # proc_setconfig: an interface is claimed
        "drop": "ok",                                # proc_drop_privileges
        "claim_0_again": "ok",                       # claimintf: already ours
        "claim_2": "EACCES",                         # claimintf: not in the allowed mask
        "submit_stream": "EACCES",                   # checkintf -> claimintf
        "usbfs_ioctl": "EACCES",                     # proc_ioctl
        "reset": "EACCES",                           # proc_resetdevice: another file's claim
        "release_0": "ok",
    }


def test_file_operations(node_daemon):
    report = raw(node_daemon, "file_ops")
    # usbdev_read: the device descriptor, then the configuration descriptor(s)
    assert report["device_descriptor"].startswith("12012003ef0201")
    assert report["config_head"][:4] == "0902" and report["end"] == 0
    assert report["write"] == "EINVAL"           # no write operation: the VFS answers
    assert report["non_blocking"] is True         # FIONBIO / fcntl work on any file
    assert (report["fioclex"], report["fionclex"]) == ("ok", "ok")
    assert report["tty_ioctl"] == "ENOTTY"        # a usbfs node is no terminal


def test_control_request_recipients(node_daemon):
    assert raw(node_daemon, "recipients") == {
        "vendor_to_interface_9": "status 32",     # accepted; the device stalls (EPIPE)
        "vendor_to_endpoint_5": "status 32",
        # passed on with the claim of 0x83's interface; the device has no endpoint 3: stall
        "get_status_endpoint_number_only": "status 32",
        "to_interface_200": "EINVAL",
        "to_interface_9": "ENOENT",
        "to_endpoint_5": "ENOENT",
    }


def test_unconfigured_device(node_daemon):
    assert raw(node_daemon, "unconfigured") == {
        "set_configuration_0": "ok",
        "claim": "ENOENT",           # claimintf: usb_ifnum_to_if finds no active configuration
        "submit": "ESRCH",           # findintfep: no active configuration
        "clear_halt": "ESRCH",
        "set_interface": "EHOSTUNREACH",  # checkintf: not configured
        "set_configuration_1": "ok",
        "claim_after": "ok",
    }


def test_reset_device(node_daemon):
    assert raw(node_daemon, "reset") == {
        "halt": "ok", "drop": "ok",
        "reset": "ok",                            # proc_resetdevice: nobody else's claims
        "pending_after_reset": ["ok", 2],         # unbound: its URBs are killed (-ENOENT)
        "release_after_reset": "EINVAL",          # and its claims gone
        "stream_halted_after_reset": "0000",      # GET_STATUS: not halted
    }


def test_memory_limit(node_daemon):
    report = raw(node_daemon, "limits")
    assert report["out_xfer_max"] == "EINVAL"       # buffer_length >= USBFS_XFER_MAX
    assert report["out_over_memory"] == "ENOMEM"    # usbfs_memory_mb: 16 by default
    # 1 MiB URBs up to the 16 MiB budget (each also costs its bookkeeping), then ENOMEM
    assert report["stream_mib_accepted"] == 15
    assert report["stream_refusal"] == "ENOMEM"
    assert report["discarded_statuses"] == [2]
    assert report["accepted_again"] == 15           # freed when reaped


def test_a_forked_child_uses_its_own_memory(node_daemon):
    report = raw(node_daemon, "fork")
    assert report == {"child_ack": [2, 0, 64], "parent_untouched": True,
                      "parent_next_ack": 3}, report


def test_a_forked_child_keeps_the_open_file_when_its_parent_leaves(node_daemon):
    """Claims and URBs belong to the open file, not to the process that opened it (was: the
    child's first ioctl failed EIO and its claim was dropped while it still held the node)."""
    report = raw(node_daemon, "orphan")
    assert report == {"parents_ack": [2, 0, 64], "own_ack": 3, "other_claim": "EBUSY"}, report


def test_one_command_at_a_time(node_daemon):
    report = raw(node_daemon, "nak")
    # The command endpoint NAKs while an ack waits: 50 commands written without reading
    # leave 1 taken; each ack read lets the next one in.
    assert report["completed_before_reading"] == 1
    assert report["ack_ids"] == [100, 101, 102]
    assert report["commands_completed"] == 4
    # what the gone client left is not handed to the next one
    assert node_daemon.client_json("pyusb_u3v.py", "info")["model"] == "acA4096-40um"


def test_a_reap_that_cannot_write_to_the_client_loses_its_urb(fresh_daemon):
    """As devio.c: EFAULT once, the URB freed (was: the same URB failed every reap after,
    and the node polled ready for good). Direct memory access only (see the scenario)."""
    assert raw(fresh_daemon, "reap_faults") == {
        "unwritable_buffer": ["EFAULT", "EAGAIN"], "next": ["ok", True],
        "bad_pointer": ["EFAULT", "EAGAIN"]}


def test_one_urb_struct_submitted_twice_is_two_urbs(node_daemon):
    """(Was: the second replaced the first, whose 4 MiB of usbfs memory stayed charged; two
    forked processes sharing the node meet this at the same heap addresses.)"""
    assert raw(node_daemon, "urb_twice") == {
        "submitted": ["ok", "ok"], "discards": ["ok", "ok", "EINVAL"],
        "reaped": [["ok", errno.ENOENT], ["ok", errno.ENOENT]], "then": "EAGAIN",
        "mib_accepted_after": 15}


def test_disconnect_completes_pending_urbs_and_hangs_up(tmp_path):
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path)
    try:
        process = start_raw(daemon, "disconnect")
        daemon.cli("plug", "unplug")
        report = finish_raw(process)
    finally:
        daemon.stop()
    assert report["idle_revents"] == 0  # nothing to reap: an idle client sleeps
    # usbdev_poll: EPOLLHUP | EPOLLERR once disconnected; libusb then reaps and reports
    # LIBUSB_ERROR_NO_DEVICE
    assert report["pollerr"] and report["pollhup"] and report["waited_s"] < 1.0
    # the host controller flushes the endpoints: -ESHUTDOWN, and the URBs stay reapable
    assert report["reaped"] == [["ok", "ESHUTDOWN"], ["ok", "ESHUTDOWN"]]
    assert report["reap_after"] == "ENODEV"  # proc_reapurbnonblock once disconnected
    assert report["capabilities_after"] == "ENODEV"
    assert report["submit_after"] == "ENODEV"


def test_device_numbers_stay_on_the_bus(tmp_path):
    """hub.c choose_devnum: numbers 2..127 round-robin, never beyond."""
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path)
    try:
        fds = Path(f"/proc/{daemon.info['pid']}/fd")
        seen = set()
        for round_ in range(130):
            daemon.control({"command": "replug"})
            seen.add(daemon.status()[0]["devnode"])
            if round_ == 9:  # what the first replugs open (pty, holder) is not per replug
                open_after_ten = len(list(fds.iterdir()))
        numbers = {int(node.rsplit("/", 1)[1]) for node in seen}
        assert max(numbers) <= 127 and min(numbers) >= 2 and len(numbers) == 126
        # nothing left open per re-enumeration (the old node's ioctl socket used to stay)
        assert len(list(fds.iterdir())) <= open_after_ten + 2
        listed = daemon.run(["lsusb", "-d", "2676:"]).stdout
        assert "Basler acA4096-40um" in listed
        assert daemon.client_json("pyusb_u3v.py", "info")["serial"] == "40012345"
    finally:
        daemon.stop()


def test_pyusb_read_in_flight_at_unplug_returns_at_once(tmp_path):
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path)
    try:
        process = subprocess.Popen([sys.executable, str(CLIENTS / "pyusb_unplug.py")],
                                   env=daemon.env, stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "reading"
        time.sleep(0.3)
        unplugged_at = time.monotonic()
        daemon.control({"command": "unplug"})
        out, _ = process.communicate(timeout=15)
    finally:
        daemon.stop()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["error"] == "ENODEV", report  # LIBUSB_ERROR_NO_DEVICE
    assert report["ended_at"] - unplugged_at < 1.0, report


def test_pylon_grabbing_at_unplug_notices_and_stops(tmp_path):
    daemon = Daemon(tmp_path / "run", ("40012345",), tmp_path)
    try:
        process = subprocess.Popen([sys.executable, str(CLIENTS / "pylon_unplug.py")],
                                   env=daemon.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   text=True)
        assert process.stdout.readline().strip() == "grabbing"
        unplugged_at = time.monotonic()
        daemon.control({"command": "unplug"})
        out, _ = process.communicate("go\n", timeout=30)
    finally:
        daemon.stop()
    report = json.loads(out.strip().splitlines()[-1])
    assert report["removed"] and report["noticed_at"] - unplugged_at < 1.5, report
    assert report["stop_grabbing_s"] < 1.0 and report["close_s"] < 1.0, report
