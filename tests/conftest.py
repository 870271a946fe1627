"""Shared fixtures: real testbeds, and kernels driven through jupyter_client.

In CI (CI=true) a testbed that cannot start is a failure, not a skip.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernel_driver import KernelSession  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_testbed(reason: str | None) -> None:
    """Skip when a testbed cannot run here (reason given); in CI, fail instead."""
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"testbed missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def own_state_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What kernels keep across restarts (last port, temporary files to remove) goes to a
    folder of this test run, never to the user's own ~/.local/state."""
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="session", autouse=True)
def installed_kernelspec() -> None:
    """Tests drive the kernel through the kernelspec a user would install."""
    from metakernel_micropython.install import install

    install(prefix=sys.prefix)


@pytest.fixture
def kernel() -> Iterator[KernelSession]:
    session = KernelSession()
    yield session
    session.close()


@pytest.fixture(scope="module")
def module_kernel() -> Iterator[KernelSession]:
    """One kernel, no board, for all the tests of a module (a kernel takes seconds to start)."""
    session = KernelSession()
    yield session
    session.close()


@pytest.fixture
def board_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "board"
    folder.mkdir()
    return folder


@pytest.fixture
def virtual_kernel(kernel: KernelSession, board_dir: Path) -> KernelSession:
    """A kernel connected to a fresh virtual board whose file system is `board_dir`."""
    from metakernel_micropython.transport.virtual_board import unavailable_reason

    require_testbed(unavailable_reason())
    result = kernel.run(f"%virtualboard --dir {board_dir}")
    assert result.status == "ok", result.error_text
    return kernel


@pytest.fixture(scope="session")
def microbit() -> Iterator[object]:
    """The BBC micro:bit's MicroPython 1.9.2 under QEMU, shared by the session (it boots slowly)."""
    from testbeds.qemu_microbit import MicrobitQemu, qemu_available

    require_testbed(qemu_available())
    with MicrobitQemu() as board:
        yield board


@pytest.fixture
def microbit_kernel(kernel: KernelSession, microbit: object) -> KernelSession:
    """A kernel connected over serial to the micro:bit under QEMU.

    The micro:bit is shared by the session; if an earlier test left it hung (a 1.9.2 board can
    hang for good on a cell too large for its RAM), it is reset first, as a user would.
    """
    connect = f"%serialconnect --port {microbit.port}"  # type: ignore[attr-defined]
    result = kernel.run(connect, timeout=120)
    if result.status != "ok":
        microbit.restart()  # type: ignore[attr-defined]
        result = kernel.run(connect, timeout=120)
    assert result.status == "ok", result.error_text
    return kernel


@pytest.fixture(params=["virtual", "microbit"])
def board_kernel(request: pytest.FixtureRequest) -> KernelSession:
    """The same test on every testbed that runs MicroPython: the virtual board and the micro:bit."""
    return request.getfixturevalue(f"{request.param}_kernel")
