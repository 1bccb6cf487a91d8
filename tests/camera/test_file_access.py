"""File access through the official GenApi's FileProtocolAdapter (what pylon's CFileAccess
and the GenICam file streams use): UserData written, read back and kept over a restart, user
sets read as files and refused for writing."""

from __future__ import annotations

import json

from genicam import genapi

from genapi_host import connect_node_map
from u3v_sim.camera.camera import Camera
from u3v_sim.transports.inproc import InProcessHost


def adapter_for(node_map):
    adapter = genapi.FileProtocolAdapter()
    adapter.attach(node_map.pointer)
    return adapter


def test_user_data_is_written_read_back_and_kept_over_a_restart(tmp_path):
    state = tmp_path / "state"
    camera = Camera(serial="40012345", state_dir=state)
    node_map, _ = connect_node_map(InProcessHost(camera))
    files = adapter_for(node_map)
    data = bytes(range(256)) * 40                                  # 10 KiB: several buffers
    assert files.open_file("UserData", "w")
    assert files.write(data, 0, "UserData") == len(data)
    assert files.close_file("UserData")
    assert (state / "userdata.bin").stat().st_mode & 0o777 == 0o600

    restarted = Camera(serial="40012345", state_dir=state)
    node_map, _ = connect_node_map(InProcessHost(restarted))
    files = adapter_for(node_map)
    assert files.open_file("UserData", "r")
    back = files.read(len(data), 0, "UserData")
    assert files.close_file("UserData")
    assert back[0] == len(data) and bytes(back[1]) == data      # (count, bytes)


def test_a_saved_user_set_reads_as_a_file_and_cannot_be_written(node_map):
    node_map.Width.value = 2048
    node_map.UserSetSelector.value = "UserSet2"
    node_map.UserSetSave.execute()
    files = adapter_for(node_map)
    node_map.FileSelector.value = "UserSet2"
    size = node_map.FileSize.value
    assert files.open_file("UserSet2", "r")
    text = files.read(size, 0, "UserSet2")
    files.close_file("UserSet2")
    assert text[0] == size
    saved = json.loads(bytes(text[1]))
    assert saved["Width"] == {"": 2048}
    assert not files.open_file("UserSet2", "w")
    assert node_map.FileOperationStatus.value == "Failure"
