"""Driving the installed kernel the way Jupyter does, through jupyter_client."""
from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import KernelManager, start_new_kernel

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CellResult:
    """What a user sees below a cell."""

    status: str
    stdout: str = ""
    stderr: str = ""
    result: str | None = None  #: text/plain of the Out[n] value
    error: dict[str, Any] | None = None  #: ename, evalue, traceback
    displays: list[dict[str, Any]] = field(default_factory=list)
    payload: list[dict[str, Any]] = field(default_factory=list)
    stream_messages: list[tuple[str, str]] = field(default_factory=list)

    @property
    def error_text(self) -> str:
        if not self.error:
            return ""
        return _ANSI.sub("", "\n".join(self.error.get("traceback") or [self.error.get("evalue", "")]))

    @property
    def help_text(self) -> str:
        return "\n".join(item["data"].get("text/plain", "") for item in self.payload if "data" in item)


class KernelSession:
    """One running MicroPython kernel and its client."""

    def __init__(self, kernel_name: str = "micropython", env: dict[str, str] | None = None) -> None:
        """`env`: the kernel's whole environment (kept across restarts), else the test's."""
        self.manager: KernelManager
        options = {"env": env} if env is not None else {}
        self.manager, self.client = start_new_kernel(kernel_name=kernel_name, startup_timeout=60, **options)

    def run(self, code: str, timeout: float = 60, stdin_reply: str | None = None,
            on_message: Callable[[dict[str, Any]], None] | None = None) -> CellResult:
        """Run a cell; `on_message` sees each output message as it arrives (to act mid-cell)."""
        messages: list[dict[str, Any]] = []

        def answer_input(message: dict[str, Any]) -> None:
            self.client.input(stdin_reply if stdin_reply is not None else "")

        def keep(message: dict[str, Any]) -> None:
            messages.append(message)
            if on_message is not None:
                on_message(message)

        reply = self.client.execute_interactive(
            code, output_hook=keep, timeout=timeout,
            allow_stdin=stdin_reply is not None, stdin_hook=answer_input if stdin_reply is not None else None,
        )
        result = CellResult(status=reply["content"]["status"], payload=reply["content"].get("payload", []))
        for message in messages:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                text = _ANSI.sub("", content["text"])
                result.stream_messages.append((content["name"], text))
                if content["name"] == "stdout":
                    result.stdout += text
                else:
                    result.stderr += text
            elif kind == "execute_result":
                result.result = content["data"].get("text/plain")
            elif kind == "error":
                result.error = content
            elif kind in ("display_data", "update_display_data"):
                result.displays.append(content)
        return result

    def interrupt(self) -> None:
        self.manager.interrupt_kernel()

    def close(self) -> None:
        """Shut the kernel down as Jupyter does; safe to call twice."""
        if not self.manager.has_kernel:
            return
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)


@contextlib.contextmanager
def connected_kernel(connect_cell: str, env: dict[str, str] | None = None) -> Iterator[KernelSession]:
    """A kernel that ran `connect_cell` successfully, shut down on leaving."""
    session = KernelSession(env=env)
    try:
        connected = session.run(connect_cell, timeout=120)
        assert connected.status == "ok", connected.error_text
        yield session
    finally:
        session.close()
