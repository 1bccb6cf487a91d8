"""User sets on disk: a prepared private state directory, atomic 0600 writes, and a clear error
naming the file, set, feature and value for anything the camera would refuse at start."""

import json
import os
import stat

import pytest

from genapi_host import connect_node_map
from u3v_sim.camera.camera import Camera
from u3v_sim.camera.user_sets import FILE_NAME, UserSetError, UserSetStorage, prepare_state_dir
from u3v_sim.transports.inproc import InProcessHost


def saved_file(directory, data) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = data if isinstance(data, (str, bytes)) else json.dumps(data)
    (directory / FILE_NAME).write_bytes(text.encode() if isinstance(text, str) else text)


def test_the_state_dir_is_created_private(tmp_path):
    state = tmp_path / "a" / "b"
    Camera(state_dir=state)
    for directory in (tmp_path / "a", state):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_saved_set_is_written_atomically_0600_and_survives_a_restart(tmp_path):
    state = tmp_path / "state"
    camera = Camera(state_dir=state)
    node_map, _ = connect_node_map(InProcessHost(camera))
    old_umask = os.umask(0)  # the file's mode must not come from the umask
    try:
        node_map.Width.value = 2000
        node_map.UserSetSelector.value = "UserSet1"
        node_map.UserSetSave.execute()
        node_map.UserSetDefault.value = "UserSet1"
    finally:
        os.umask(old_umask)
    path = state / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in state.iterdir()] == [FILE_NAME]  # no temporary file left
    assert json.loads(path.read_text())["sets"]["UserSet1"]["Width"] == {"": 2000}
    assert Camera(state_dir=state).store.get("Width") == 2000


def test_a_link_in_place_of_the_file_is_replaced_not_followed(tmp_path):
    state = tmp_path / "state"
    target = tmp_path / "elsewhere"
    target.write_text(json.dumps({"startup_set": "Default", "sets": {}}))
    state.mkdir(mode=0o700)
    (state / FILE_NAME).symlink_to(target)
    storage = UserSetStorage(state)
    storage.set_startup("UserSet2")
    assert not (state / FILE_NAME).is_symlink()
    assert json.loads(target.read_text())["startup_set"] == "Default"


@pytest.mark.parametrize("content, says", [
    ('{"sets": ', "not valid JSON: Expecting value at line 1 column 10"),
    (b"\xff\xfe", "not UTF-8 text"),
    ("[]", "the top level: Input should be a valid dictionary"),
    ({"sets": {"UserSet1": {"Width": 5}}}, "sets.UserSet1.Width"),
    ({"startup_set": "UserSet1", "colour": 1}, "colour: Extra inputs are not permitted"),
    ({"startup_set": "UserSet7"}, "startup_set 'UserSet7' is not a user set"),
    ({"sets": {"Default": {}}}, "no user set 'Default' can be saved"),
    ({"sets": {"UserSet1": {"Colour": {"": 1}}}},
     "user set UserSet1: Colour is not a feature a user set holds"),
    ({"sets": {"UserSet1": {"Width": {"": "wide"}}}},
     "user set UserSet1: Width = 'wide': not a Integer value"),
    ({"sets": {"UserSet1": {"ReverseX": {"": 1}}}}, "ReverseX = 1: not a Boolean value"),
    ({"sets": {"UserSet1": {"LineMode": {"Line9": "Input"}}}},
     "LineMode has no selector entry 'Line9'"),
    ({"sets": {"UserSet2": {"PixelFormat": {"": "RGB8"}}}},
     "user set UserSet2: PixelFormat = 'RGB8': the camera refuses it: PixelFormat: no entry"),
    ({"startup_set": "UserSet1", "sets": {"UserSet1": {"Width": {"": 99999}}}},
     "user set UserSet1: Width = 99999: the camera refuses it: Width: 99999 above maximum 4104"),
    # each value alone is fine; together (OffsetX 100 leaves room for 4012: 4008 on the grid)
    # they are not
    ({"sets": {"UserSet3": {"Width": {"": 4104}, "OffsetX": {"": 100}}}},
     "user set UserSet3: Width = 4104: the camera refuses it: Width: 4104 above maximum 4008"),
    ({"sets": {"UserSet1": {"LineDebouncerTime": {"Line3": -1.0}}}},
     "LineDebouncerTime[Line3] = -1.0: the camera refuses it"),
])
def test_a_bad_file_is_an_error_naming_it(tmp_path, content, says):
    state = tmp_path / "state"
    saved_file(state, content)
    with pytest.raises(UserSetError) as error:
        Camera(state_dir=state)
    assert str(error.value).startswith(f"{state / FILE_NAME}: ")
    assert says in str(error.value)


def test_a_valid_saved_file_of_every_set_is_accepted(tmp_path):
    """Sets as the camera saves them, with settings that bound each other, load unchanged."""
    state = tmp_path / "state"
    camera = Camera(state_dir=state)
    node_map, _ = connect_node_map(InProcessHost(camera))
    node_map.OffsetX.value = 0
    node_map.Width.value = 4112
    node_map.BinningVertical.value = 2
    node_map.LineSelector.value = "Line3"
    node_map.LineDebouncerTime.value = 12.5
    for name in ("UserSet1", "UserSet2", "UserSet3"):
        node_map.UserSetSelector.value = name
        node_map.UserSetSave.execute()
    node_map.UserSetDefault.value = "UserSet3"
    restarted = Camera(state_dir=state)
    assert (restarted.store.get("Width"), restarted.store.get("OffsetX")) == (4112, 0)
    assert restarted.store.get("LineDebouncerTime", "Line3") == 12.5


def test_a_state_dir_that_is_a_file_is_named(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UserSetError, match=f"state_dir {tmp_path / 'file'}: not a directory"):
        prepare_state_dir(tmp_path / "file")


@pytest.mark.skipif(os.getuid() != 0, reason="making a directory of another user needs root")
def test_a_state_dir_of_another_user_is_refused(tmp_path):
    os.chown(tmp_path, 65534, 65534)
    with pytest.raises(UserSetError, match="owned by uid 65534, not by this user"):
        prepare_state_dir(tmp_path)


def test_an_unwritable_state_dir_is_refused_at_start(tmp_path):
    if os.getuid() == 0:
        path = "/proc/u3v-sim-state"  # root may write anything but a pseudo file system
        with pytest.raises(UserSetError, match=f"state_dir {path}: cannot be created"):
            Camera(state_dir=path)
    else:
        tmp_path.chmod(0o500)
        with pytest.raises(UserSetError, match="not writable"):
            Camera(state_dir=tmp_path)


def test_a_save_that_cannot_be_written_changes_nothing(tmp_path):
    state = tmp_path / "state"
    storage = UserSetStorage(state)
    storage.save("UserSet1", {"Width": {"": 1024}})
    (state / FILE_NAME).unlink()
    state.rmdir()
    (tmp_path / "state").write_text("")  # the directory is gone: the write fails
    with pytest.raises(OSError):
        storage.save("UserSet2", {"Width": {"": 2048}})
    with pytest.raises(OSError):
        storage.set_startup("UserSet1")
    assert list(storage.sets) == ["UserSet1"] and storage.startup_set == "Default"
