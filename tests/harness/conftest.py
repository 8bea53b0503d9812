# The harness's own suite (run by CTest as harness-pytest, tests/CMakeLists.txt): the package
# python/mm_pyhost from this tree, the mm-pyhost of this build ($MM_PYHOST).
import fcntl
import os
import shutil
import socket
import tempfile

import pytest

EXAMPLE_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "demo")

pytest_plugins = ["pytester"]

# The hosts' control sockets go to a folder of this run, not the user's runtime folder.
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="mmpy-harness-run-")


def pytest_sessionfinish(session):
    shutil.rmtree(os.environ["XDG_RUNTIME_DIR"], ignore_errors=True)


@pytest.fixture
def example_dir(tmp_path):
    """A show folder with the documentation's example module, unchanged."""
    shutil.copy(os.path.join(EXAMPLE_DIR, "example.py"), tmp_path / "example.py")
    return tmp_path


@pytest.fixture
def lighting_desk():
    """The TCP server on localhost:8990 the example module connects to at import. Other tests
    of the suite listen there too; a lock file takes turns (tests/support/port_lock.h)."""
    with open("/tmp/mmpy-tests-port-8990.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 8990))
        server.listen(1)
        try:
            yield server
        finally:
            server.close()
