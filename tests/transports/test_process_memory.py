"""Direct access to a client's memory: a real second process, read and written as the kernel's
usbfs would copy a URB's data and status."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from u3v_sim.transports.process_memory import ProcessMemory, identify, processes_with_open

# The child holds a buffer and a file open, prints the buffer's address, and prints the
# buffer's contents once told to.
CHILD = """
import ctypes, sys
buffer = ctypes.create_string_buffer(b"client memory: untouched", 64)
handle = open(sys.argv[1], "rb")
print(ctypes.addressof(buffer), flush=True)
sys.stdin.readline()
print(buffer.raw.hex(), flush=True)
"""


@pytest.fixture
def child(tmp_path):
    node = tmp_path / "node"
    node.write_bytes(b"")
    process = subprocess.Popen([sys.executable, "-c", CHILD, str(node)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    address = int(process.stdout.readline())
    yield process, address, str(node)
    process.kill()
    process.wait()


def test_reads_and_writes_pieces_of_another_process(child):
    process, address, _ = child
    memory = ProcessMemory(process.pid)
    assert memory.read(address, 24) == b"client memory: untouched"
    memory.write([(address + 15, memoryview(b"TOUCHED!!")), (address + 40, b"\x01\x02"),
                  (address + 50, b"")])
    process.stdin.write("\n")
    process.stdin.flush()
    after = bytes.fromhex(process.stdout.readline())
    assert after[:24] == b"client memory: TOUCHED!!"
    assert after[40:42] == b"\x01\x02" and after[42:50] == bytes(8)


def test_an_unmapped_address_fails_as_a_kernel_copy_would(child):
    process, _, _ = child
    with pytest.raises(OSError) as raised:
        ProcessMemory(process.pid).read(8, 16)
    assert raised.value.errno == errno.EFAULT


def test_a_vanished_process_is_reported_as_gone(child):
    process, address, _ = child
    process.kill()
    process.wait()
    with pytest.raises(ProcessLookupError):
        ProcessMemory(process.pid).write([(address, b"x")])


def test_the_only_process_with_the_node_open_is_the_client(child):
    process, address, node = child
    assert processes_with_open(node) == [process.pid]
    found = identify(node, address, lambda: pytest.fail("no need to look at memory"))
    assert found is not None and found.pid == process.pid


def test_among_several_openers_the_client_is_told_by_its_memory(child, tmp_path):
    process, address, node = child
    other = subprocess.Popen([sys.executable, "-c", CHILD.replace("untouched", "elsewhere"),
                              node], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        other_address = int(other.stdout.readline())
        assert sorted(processes_with_open(node)) == sorted([process.pid, other.pid])
        found = identify(node, address, lambda: b"client memory: untouched")
        assert found is not None and found.pid == process.pid
        found = identify(node, other_address, lambda: b"client memory: elsewhere")
        assert found is not None and found.pid == other.pid
        assert identify(node, address, lambda: b"nobody holds this URB!!!") is None
    finally:
        other.kill()
        other.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a probe as another user")
def test_a_process_out_of_reach_is_not_taken_for_the_client(child):
    """Without the right to read another process's memory (another user, no CAP_SYS_PTRACE),
    the transport must fall back to umockdev's socket rather than fail every URB."""
    process, address, node = child
    dropped = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
         "--bounding-set=-all", sys.executable, "-c",
         "import sys; from u3v_sim.transports.process_memory import ProcessMemory;"
         f"print(ProcessMemory({process.pid}).reachable({address}))"],
        capture_output=True, text=True, cwd=str(Path(__file__).resolve().parents[2]))
    assert dropped.stdout.strip() == "False", dropped.stderr
    assert ProcessMemory(process.pid).reachable(address)
    assert ProcessMemory(process.pid).reachable(8)  # reachable, the address is just bad
