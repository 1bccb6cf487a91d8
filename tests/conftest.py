import pytest

from genapi_host import EventHost, connect_node_map
from stream_host import ConstantGenerator
from u3v_sim.camera.camera import Camera
from u3v_sim.transports.inproc import InProcessHost


@pytest.fixture
def camera(tmp_path):
    return Camera(serial="40012345", state_dir=tmp_path / "state")


@pytest.fixture
def host(camera):
    return InProcessHost(camera)


@pytest.fixture
def node_map(host):
    node_map, _port = connect_node_map(host)
    return node_map


@pytest.fixture
def rig():
    """A camera with a byte-pattern frame generator, an in-process host and GenApi on it."""
    camera = Camera(serial="40012345", generator=ConstantGenerator())
    host = InProcessHost(camera)
    node_map, _ = connect_node_map(host)
    return camera, host, node_map



@pytest.fixture
def events(rig):
    """GenApi's U3V event adapter on the rig's node map, with the event channel enabled."""
    camera, host, node_map = rig
    event_host = EventHost(host, node_map)
    yield event_host
    event_host.close()
