"""For the Aravis client scripts (Debian's python3, imported from the scripts' folder): chunks
enabled through the ChunkSelector/ChunkEnable features, and frames grabbed with Aravis's own
chunk parser."""

from gi.repository import Aravis


def enable_chunks(device, chunks) -> None:
    """Each of ``chunks`` (ChunkSelector entries) enabled, then ChunkModeActive."""
    for chunk in chunks:
        device.set_string_feature_value("ChunkSelector", chunk)
        device.set_boolean_feature_value("ChunkEnable", True)
    device.set_boolean_feature_value("ChunkModeActive", True)


def chunk_frames(camera, count: int, buffers: int, describe) -> list:
    """``describe(buffer, parser)`` for each of ``count`` frames (None for a frame that did
    not come within 3 s or did not succeed), streamed into ``buffers`` buffers."""
    parser = camera.create_chunk_parser()
    stream = camera.create_stream(None, None)
    payload = camera.get_payload()
    for _ in range(buffers):
        stream.push_buffer(Aravis.Buffer.new_allocate(payload))
    camera.start_acquisition()
    frames = []
    for _ in range(count):
        buffer = stream.timeout_pop_buffer(3_000_000)
        if buffer is None or buffer.get_status() != Aravis.BufferStatus.SUCCESS:
            frames.append(None)
            continue
        frames.append(describe(buffer, parser))
        stream.push_buffer(buffer)
    camera.stop_acquisition()
    return frames
