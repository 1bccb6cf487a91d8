"""Turns a frame record into its U3V block: leader, payload (image, plus chunks when chunk
mode is on) in the programmed transfers, and trailer."""

from __future__ import annotations

import struct

import fastcrc

from u3v_features import acA4096_40um as table

from ..protocol import stream as sp
from .acquisition import FrameRecord
from .stream_interface import StreamInterface
from .streaming import Block, plan_block


def image_settings(settings: dict, noise: bool):
    from ..frames.settings import ImageSettings
    return ImageSettings(
        width=settings["Width"], height=settings["Height"], offset_x=settings["OffsetX"],
        offset_y=settings["OffsetY"], binning_horizontal=settings["BinningHorizontal"],
        binning_vertical=settings["BinningVertical"],
        binning_horizontal_mode=settings["BinningHorizontalMode"],
        binning_vertical_mode=settings["BinningVerticalMode"],
        reverse_x=settings["ReverseX"], reverse_y=settings["ReverseY"],
        pixel_format=settings["PixelFormat"], exposure_us=settings["ExposureTime"],
        gain_db=settings["Gain"], black_level=settings["BlackLevel"],
        gamma=settings["Gamma"], digital_shift=settings["DigitalShift"],
        test_image=settings["TestImageSelector"], noise=noise, lut=settings.get("LUT"))


def chunk_layout_id(enabled: tuple[str, ...]) -> int:
    """Changes whenever the set of chunks changes (hosts re-parse the layout then)."""
    return 1 + sum(1 << i for i, name in enumerate(table.CHUNKS) if name in enabled)


CRC_CHUNK = "PayloadCRC16"


def chunk_data(record: FrameRecord) -> dict[str, bytes]:
    """The data of every chunk but the CRC (which covers the others: see ``chunk_tail``)."""
    return {
        "Timestamp": struct.pack("<Q", record.timestamp_ns),
        "ExposureTime": struct.pack("<d", record.exposure_us),
        "Gain": struct.pack("<d", record.gain_db),
        "LineStatusAll": struct.pack("<I", record.line_status_all),
        "CounterValue": struct.pack(f"<{len(record.counter_values)}I", *record.counter_values),
        "SequencerSetActive": struct.pack("<I", record.settings.get("SequencerSetActive", 0)),
    }


def chunk_tail(record: FrameRecord, image, enabled: tuple[str, ...]) -> bytes:
    """What follows the image in a chunk payload: the image's chunk tag (id, length), each
    enabled chunk (data, then its tag), and the PayloadCRC16 chunk last.

    The CRC is the X-modem CRC-16 (CCITT polynomial, initial value 0, as
    ``binascii.crc_hqx(.., 0)``) over the image data with its chunk id and length and every
    other appended chunk: the whole payload before the CRC chunk itself (Basler ace USB 3.0
    User's Manual, "CRC Checksum" chunk; pylon's CheckCRC computes it so), in the chunk's
    4-byte data."""
    data = chunk_data(record)
    tail = struct.pack("<II", table.IMAGE_CHUNK_ID, len(image)) + b"".join(
        sp.chunk(table.CHUNKS[name][0], data[name]) for name in enabled if name != CRC_CHUNK)
    if CRC_CHUNK in enabled:
        crc = fastcrc.crc16.xmodem(tail, initial=fastcrc.crc16.xmodem(image))
        tail += sp.chunk(table.CHUNKS[CRC_CHUNK][0], struct.pack("<I", crc))
    return tail


# Payload buffers kept for reuse (more are allocated, and freed with their last view, while a
# host holds many unreaped transfers).
MAX_BUFFERS = 16


def _referenced(buffer: bytearray) -> bool:
    """Whether a view of the buffer still exists (a bytearray with views cannot grow)."""
    try:
        buffer.append(0)
    except BufferError:
        return True
    del buffer[-1]
    return False


class JoinedPayload:
    """An image that stays put and the chunk data after it, sent as one payload without
    copying the image (a full frame is 9 MB: copying it cost a third of a frame period).
    Slices within the image are views of it; the one slice across the join is a copy of that
    slice only."""

    def __init__(self, image: memoryview, tail: bytes):
        self.image, self.tail = image, tail

    def __len__(self) -> int:
        return len(self.image) + len(self.tail)

    def __getitem__(self, key: slice):
        start, stop, step = key.indices(len(self))
        if step != 1:
            raise ValueError("a payload is cut in contiguous pieces")
        split = len(self.image)
        if stop <= split:
            return self.image[start:stop]
        if start >= split:
            return memoryview(self.tail)[start - split:stop - split]
        return bytes(self.image[start:]) + self.tail[:stop - split]

    def __bytes__(self) -> bytes:
        return bytes(self.image) + self.tail


class BlockBuilder:
    def __init__(self, interface: StreamInterface, generator=None, noise: bool = True):
        self.interface = interface
        self._generator = generator
        self.noise = noise
        # Payload buffers, reused once nothing refers to them: the data of a transfer reaches
        # the host when it reaps (a view into the buffer until then), and a host that reaps
        # late (pylon at an acquisition's start) must still get its frame's own bytes.
        self._buffers: list[bytearray] = []

    @property
    def generator(self):
        """Built on the first frame: its prebuilt scenes cost time and memory."""
        if self._generator is None:
            from ..frames.generator import FrameGenerator
            self._generator = FrameGenerator()
        return self._generator

    def _fill_buffer(self, image, tail: bytes) -> memoryview:
        size = len(image) + len(tail)
        buffer = next((b for b in self._buffers if len(b) == size and not _referenced(b)),
                      None)
        if buffer is None:
            buffer = bytearray(size)
            # (buffers of another size go: a settings change; the pool stays small)
            self._buffers = [b for b in self._buffers if len(b) == size][-MAX_BUFFERS + 1:]
            self._buffers.append(buffer)
        buffer[:len(image)] = image
        buffer[len(image):] = tail
        return memoryview(buffer)

    def prepare(self, settings: dict) -> None:
        """Build what frames with these settings need before they are due (a generator
        without the method needs nothing)."""
        prepare = getattr(self.generator, "prepare", None)
        if prepare is not None:
            prepare(image_settings(settings, self.noise))

    @staticmethod
    def payload_size(record: FrameRecord) -> int:
        return record.settings["PayloadSize"]

    def build(self, record: FrameRecord) -> Block:
        s = record.settings
        settings = image_settings(s, self.noise)
        frame_index = record.block_id if s["TestImageSelector"] == "Off" else s["TestImageFrame"]
        if "ImageSource" in s:   # (the scene the frame was exposed to, which it keeps)
            image = self.generator.render(settings, frame_index, record.timestamp_ns,
                                          s["ImageSource"])
        else:
            image = self.generator.render(settings, frame_index, record.timestamp_ns)
        payload_type = sp.PAYLOAD_IMAGE
        layout_id = None
        tail = b""
        if s["ChunkModeActive"]:
            payload_type = sp.PAYLOAD_IMAGE_EXTENDED_CHUNK
            layout_id = chunk_layout_id(s["ChunksEnabled"])
            tail = chunk_tail(record, memoryview(image), tuple(s["ChunksEnabled"]))
        views_stable = getattr(self.generator, "views_stable", None)
        if views_stable is not None and views_stable(settings):
            # prebuilt frame data that stays put: sent as it is, the chunks after it
            payload = JoinedPayload(memoryview(image), tail) if tail else memoryview(image)
        else:
            payload = self._fill_buffer(image, tail)
        leader = sp.ImageLeader(
            block_id=record.block_id, timestamp_ns=record.timestamp_ns,
            pixel_format=table.BY_NAME["PixelFormat"].entry(s["PixelFormat"]).value,
            width=s["Width"], height=s["Height"], offset_x=s["OffsetX"],
            offset_y=s["OffsetY"], payload_type=payload_type).pack()

        def trailer(valid: int, status: int) -> bytes:
            lines = s["Height"] if status == sp.STATUS_SUCCESS else min(
                s["Height"], valid // max(1, len(image) // max(1, s["Height"])))
            return sp.ImageTrailer(record.block_id, valid, lines, status, layout_id).pack()

        return plan_block(record, payload, self.interface, leader, trailer)
