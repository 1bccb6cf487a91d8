import pytest

from genapi_host import connect_node_map
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
