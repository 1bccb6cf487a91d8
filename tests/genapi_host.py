"""The official GenApi reference implementation (PyPI `genicam`) driving a simulated camera:
the XML is fetched through the manifest like a host does, and every feature access becomes
real UVCP command packets answered by the device's control channel."""

from __future__ import annotations

import io
import struct
import zipfile

from genicam import genapi

from u3v_features.bootstrap import ABRM
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
