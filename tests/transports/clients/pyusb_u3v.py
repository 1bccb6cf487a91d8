"""A minimal USB3 Vision host on pyusb (libusb): what a user's own script would do.

Run under the testbed environment (LD_PRELOAD + UMOCKDEV_DIR); prints JSON results.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import usb.core
import usb.util

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: genapi_host, stream_host

from u3v_features.bootstrap import ABRM, SBRM, SIRM  # noqa: E402
from u3v_sim.protocol import gencp  # noqa: E402

VENDOR = 0x2676
EP_CMD, EP_ACK, EP_EVENT, EP_STREAM = 0x01, 0x81, 0x82, 0x83


class PyusbHost:
    """GenCP over the control endpoints, as Aravis does it (request ids from 65300)."""

    def __init__(self, device):
        self.device = device
        self.request_id = 65300
        self.pending_acks = 0
        for interface in (0, 1, 2):
            usb.util.claim_interface(device, interface)
        self.max_ack = 1024

    def transact(self, packet: bytes, request_id: int) -> gencp.Ack:
        self.device.write(EP_CMD, packet, timeout=1000)
        while True:
            ack = gencp.Ack.parse(bytes(self.device.read(EP_ACK, self.max_ack, timeout=2000)))
            if ack.request_id != request_id:
                continue
            if ack.command_id == gencp.CommandId.PENDING_ACK:
                self.pending_acks += 1
                continue
            return ack

    def next_id(self) -> int:
        self.request_id = self.request_id % 0xFFFF + 1
        return self.request_id

    def read(self, address: int, length: int) -> bytes:
        out = b""
        for offset in range(0, length, self.max_ack - 12):
            n = min(self.max_ack - 12, length - offset)
            rid = self.next_id()
            ack = self.transact(gencp.readmem_command(rid, address + offset, n), rid)
            if ack.status:
                raise IOError(f"READMEM 0x{address + offset:x}: status 0x{ack.status:04x}")
            out += ack.scd
        return out

    def write(self, address: int, data: bytes) -> None:
        """WRITEMEMs of at most what one command carries (1024 bytes with its 12-byte header
        and 8-byte address), as Aravis splits a large register."""
        step = (1024 - 12 - 8) // 4 * 4
        for offset in range(0, max(1, len(data)), step):
            rid = self.next_id()
            ack = self.transact(gencp.writemem_command(rid, address + offset,
                                                       data[offset:offset + step]), rid)
            if ack.status:
                raise IOError(f"WRITEMEM 0x{address + offset:x}: status 0x{ack.status:04x}")

    def u32(self, address: int) -> int:
        return struct.unpack("<I", self.read(address, 4))[0]

    def u64(self, address: int) -> int:
        return struct.unpack("<Q", self.read(address, 8))[0]


def find_camera():
    device = usb.core.find(idVendor=VENDOR)
    if device is None:
        raise SystemExit("no U3V camera found")
    return device


def string(host: PyusbHost, address: int) -> str:
    return host.read(address, 64).split(b"\0", 1)[0].decode()


def main() -> None:
    device = find_camera()
    host = PyusbHost(device)
    report = {
        "speed": device.speed,
        "manufacturer": usb.util.get_string(device, device.iManufacturer),
        "vendor": string(host, ABRM.MANUFACTURER_NAME),
        "model": string(host, ABRM.MODEL_NAME),
        "serial": string(host, ABRM.SERIAL_NUMBER),
        "capability": hex(host.u64(ABRM.DEVICE_CAPABILITY)),
        "max_cmd": host.u32(SBRM.BASE + SBRM.MAX_COMMAND_TRANSFER_LENGTH),
        "timer_slack_ns": int(Path("/proc/self/timerslack_ns").read_text()),
    }
    mode = sys.argv[1] if len(sys.argv) > 1 else "info"
    if mode == "grab":
        report["frames"] = grab(device, host, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    elif mode == "sweep":
        report["sweep"] = genapi_sweep(host)
    print(json.dumps(report))


def grab(device, host: PyusbHost, count: int) -> list[dict]:
    from stream_host import parse_leader, parse_trailer  # the tests' independent parser
    from u3v_sim.camera.camera import genicam_files
    layout = genicam_files()[0]
    sirm = SIRM.BASE
    start = layout.value_register("AcquisitionStart").address
    stop = layout.value_register("AcquisitionStop").address
    # A previous host may have left the stream running (cameleon does the same).
    host.write(stop, struct.pack("<I", 1))
    host.write(sirm + SIRM.SI_CONTROL, struct.pack("<I", 0))
    payload = host.u64(sirm + SIRM.REQUIRED_PAYLOAD_SIZE)
    size = min(payload, 1 << 20)
    count_, final1 = payload // size, -(-(payload % size) // 4) * 4
    for offset, value in ((SIRM.MAXIMUM_LEADER_SIZE, 1024), (SIRM.MAXIMUM_TRAILER_SIZE, 1024),
                          (SIRM.PAYLOAD_TRANSFER_SIZE, size),
                          (SIRM.PAYLOAD_TRANSFER_COUNT, count_),
                          (SIRM.PAYLOAD_FINAL_TRANSFER1_SIZE, final1),
                          (SIRM.PAYLOAD_FINAL_TRANSFER2_SIZE, 0)):
        host.write(sirm + offset, struct.pack("<I", value))
    device.ctrl_transfer(0x02, 0x03, 0, EP_STREAM)      # SET_FEATURE(ENDPOINT_HALT)
    device.clear_halt(EP_STREAM)
    host.write(sirm + SIRM.SI_CONTROL, struct.pack("<I", 1))
    host.write(start, struct.pack("<I", 1))
    frames = []
    for _ in range(count):
        leader = parse_leader(bytes(device.read(EP_STREAM, 1024, timeout=3000)))
        data = b""
        for request in [size] * count_ + ([final1] if final1 else []):
            data += bytes(device.read(EP_STREAM, request, timeout=3000))
        trailer = parse_trailer(bytes(device.read(EP_STREAM, 1024, timeout=3000)))
        frames.append({"block_id": leader["block_id"], "trailer_block_id": trailer["block_id"],
                       "width": leader["width"], "height": leader["height"],
                       "timestamp": leader["timestamp"], "bytes": len(data),
                       "status": trailer["status"], "valid": trailer["valid_payload_size"]})
    host.write(stop, struct.pack("<I", 1))
    host.write(sirm + SIRM.SI_CONTROL, struct.pack("<I", 0))
    return frames


def genapi_sweep(host: PyusbHost) -> dict:
    import time

    from genicam import genapi

    import genapi_host
    from u3v_features import FEATURES

    class Port(genapi.AbstractPort):
        def read(self, address, length):
            return host.read(address, length)

        def write(self, address, data):
            host.write(address, bytes(data))

        def get_access_mode(self):
            return genapi.EAccessMode.RW

    node_map = genapi.NodeMap()
    node_map.load_xml_from_string(genapi_host.fetch_device_xml(host).decode())
    port = Port()
    node_map.connect(port, "Device")
    started = time.monotonic()
    settings = [f for f in FEATURES
                if f.kind != "Command" and f.data_port is None and not f.host_local]
    readable, unreadable = 0, []
    for feature in settings:
        for instance in genapi_host.instances(node_map, feature):
            node = node_map.get_node(feature.name)
            if genapi.is_readable(node):
                genapi_host.value_of(node, feature)   # (a read through the port)
                readable += 1
            else:
                unreadable.append(f"{feature.name}[{instance}]" if instance else feature.name)
    written = genapi_host.sweep(node_map, None, settings)
    node_map.UserSetSelector.value = "Default"   # leave the camera as found
    node_map.UserSetLoad.execute()
    return {"readable_instances": readable, "unreadable": unreadable,
            "written_features": len(written),
            "seconds": round(time.monotonic() - started, 2),
            "pending_acks": host.pending_acks}


if __name__ == "__main__":
    main()
