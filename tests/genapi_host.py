"""The official GenApi reference implementation (PyPI `genicam`) driving a simulated camera:
the XML is fetched through the manifest like a host does, and every feature access becomes
real UVCP command packets answered by the device's control channel."""

from __future__ import annotations

import io
import struct
import zipfile

from genicam import genapi

from u3v_features.bootstrap import ABRM, EIRM
from u3v_features.model import BOOLEAN, ENUMERATION, FLOAT, INTEGER, REGISTER, Feature
from u3v_sim.transports.inproc import InProcessHost


class UvcpPort(genapi.AbstractPort):
    def __init__(self, host: InProcessHost):
        super().__init__()
        self.host = host
        self.reads = self.writes = 0

    def read(self, address, length):
        self.reads += 1
        return self.host.read(address, length)

    def write(self, address, data):
        self.writes += 1
        self.host.write(address, bytes(data))

    def get_access_mode(self):
        return genapi.EAccessMode.RW


class EventHost:
    """GenApi's U3V event adapter fed from the device's event endpoint, as pylon's event
    grabber does: the event channel is enabled (EIRM), and every EVENT_CMD the camera sends
    is delivered to the node map, which updates the Event...Data nodes and fires their
    callbacks. ``close()`` before the node map goes (the adapter holds a pointer to it)."""

    def __init__(self, host: InProcessHost, node_map: genapi.NodeMap):
        host.write(EIRM.BASE + EIRM.EI_CONTROL, struct.pack("<I", 1))
        self.adapter = genapi.EventAdapterU3V(node_map.pointer)

    def deliver(self, camera, now: float) -> list[bytes]:
        """Deliver every event packet the camera has sent up to ``now``; returns them."""
        packets = []
        while (packet := camera.read_event(now)) is not None:
            self.adapter.deliver_message(packet)
            packets.append(packet)
        return packets

    def close(self) -> None:
        del self.adapter


def fetch_device_xml(host: InProcessHost) -> bytes:
    """Follow ABRM -> manifest -> file, unzip the single entry (what Aravis does)."""
    (manifest,) = struct.unpack("<Q", host.read(ABRM.MANIFEST_TABLE_ADDRESS, 8))
    (count,) = struct.unpack("<Q", host.read(manifest, 8))
    assert count >= 1
    _version, info, address, size = struct.unpack("<IIQQ", host.read(manifest + 8, 24))
    data = host.read(address, size)
    assert (info >> 10) & 0x3F == 1, "manifest says ZIP"
    archive = zipfile.ZipFile(io.BytesIO(data))
    (name,) = archive.namelist()
    return archive.read(name)


def connect_node_map(host: InProcessHost) -> tuple[genapi.NodeMap, UvcpPort]:
    node_map = genapi.NodeMap()
    node_map.load_xml_from_string(fetch_device_xml(host).decode())
    port = UvcpPort(host)
    node_map.connect(port, "Device")
    return node_map, port


def node(node_map, name):
    return node_map.get_node(name)


def instances(node_map, feature: Feature):
    """Select each selector value in turn (yields the value), or once for unselected ones."""
    if feature.selected_by is None:
        yield None
        return
    selector = node(node_map, feature.selected_by)
    if isinstance(selector, genapi.IEnumeration):
        values = [e.symbolic for e in selector.entries if genapi.is_available(e)]
    else:
        values = list(range(selector.min, selector.max + 1, selector.inc))
    for value in values:
        selector.value = value
        yield value


def value_of(n, feature: Feature):
    """A node's value through GenApi: a Register node's bytes, else ``value``."""
    if feature.kind == REGISTER:
        return bytes(n.get(n.length))
    return n.value


def set_value(n, feature: Feature, value) -> None:
    if feature.kind == REGISTER:
        n.set(value)
    else:
        n.value = value


def sweep_values(n, feature: Feature) -> list:
    if feature.kind == INTEGER:
        lo, hi, inc = n.min, n.max, n.inc
        return [lo, hi, lo + (hi - lo) // 2 // inc * inc]
    if feature.kind == FLOAT:
        return [n.min, n.max, (n.min + n.max) / 2]
    if feature.kind == ENUMERATION:
        return [e.symbolic for e in n.entries if genapi.is_available(e)]
    if feature.kind == BOOLEAN:
        return [True, False]
    if feature.kind == REGISTER:   # (the LUT: inverted, then the identity again)
        words = feature.length // 4
        return [struct.pack(f"<{words}I", *[(4095 - i if i % 8 == 0 else 0)
                                            for i in range(words)]),
                struct.pack(f"<{words}I", *[(i if i % 8 == 0 else 0) for i in range(words)])]
    return ["", "x" * (feature.length - 1), "camera-7"]


def write_and_check(n, feature: Feature, camera, value) -> None:
    """Write, read back through GenApi and (in-process) check the device holds the value."""
    set_value(n, feature, value)
    assert value_of(n, feature) == value, (feature.name, value)
    if camera is not None:
        assert camera.store.get(feature.name) == value, (feature.name, value)


def sweep(node_map, camera, features) -> set[str]:
    written = set()
    for feature in features:
        for _ in instances(node_map, feature):
            n = node(node_map, feature.name)
            if not genapi.is_writable(n):
                continue
            original = value_of(n, feature)
            for value in sweep_values(n, feature):
                write_and_check(n, feature, camera, value)
            if genapi.is_writable(n):
                set_value(n, feature, original if feature.kind != INTEGER
                          else min(original, n.max))
            written.add(feature.name)
    return written


def software_trigger_at(camera, host, node_map, at: float, until: float) -> None:
    """Arm a software trigger, acquire, trigger at ``at`` and run the camera to ``until``."""
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    node_map.AcquisitionStart.execute()
    host.clock.now = at
    node_map.TriggerSoftware.execute()
    camera.advance(until)


def triggered_chunk_frames(camera, host, node_map, chunks, count: int, read, before=None) -> list:
    """``read(node_map)`` for each of ``count`` software-triggered 64x8 frames (one every
    0.1 s) with ``chunks`` enabled, read through GenApi's U3V chunk adapter as a host does;
    ``before(i)`` runs at frame i's time, before its trigger."""
    from stream_host import program_like_aravis, pull_block
    node_map.Width.value, node_map.Height.value = 64, 8
    node_map.ChunkModeActive.value = True
    for chunk in chunks:
        node_map.ChunkSelector.value = chunk
        node_map.ChunkEnable.value = True
    node_map.TriggerMode.value = "On"
    node_map.TriggerSource.value = "Software"
    program = program_like_aravis(host)
    node_map.AcquisitionStart.execute()
    adapter = genapi.ChunkAdapterU3V(node_map)
    seen = []
    for i in range(count):
        host.clock.now = 0.1 * (i + 1)
        if before is not None:
            before(i)
        node_map.TriggerSoftware.execute()
        block = pull_block(camera, program, host.clock.now + 0.05)
        adapter.attach_buffer(block.payload, len(block.payload))
        try:
            seen.append(read(node_map))
        finally:
            adapter.detach_buffer()
    return seen
