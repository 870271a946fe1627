"""TCP settings for a link to a board: quick exchanges, and noticing a board that vanished.

A board that loses Wi-Fi or power sends no FIN: without help a read waits forever (the seed
kernel's "hang after a drop"). MicroPython's websocket ignores WebSocket pings, but every
TCP/IP stack (lwIP included) answers TCP keepalive probes, so the OS can tell us instead.

A board's lwIP keeps Nagle's algorithm on: it holds a small segment back until the previous one
is acknowledged, and Linux delays acknowledgements by up to 40 ms. Every cell with output
stalled that long (45 ms against 6 for a silent cell) until we acknowledged at once.
"""
from __future__ import annotations

import socket

#: Seconds of silence before the first probe, seconds between probes, probes before giving up:
#: a vanished board is noticed after about IDLE + INTERVAL * COUNT = 11 s.
KEEPALIVE_IDLE = 5
KEEPALIVE_INTERVAL = 2
KEEPALIVE_COUNT = 3
#: Sent data that stays unacknowledged this long also ends the connection (a write to a
#: vanished board would otherwise retry for many minutes).
UNACKNOWLEDGED_LIMIT_MS = 15_000


def detect_dead_peer(sock: socket.socket) -> None:
    """Make reads and writes on `sock` fail within seconds once the peer is gone."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    # Not every platform has every knob (macOS lacks TCP_USER_TIMEOUT): set what exists.
    for name, value in (("TCP_KEEPIDLE", KEEPALIVE_IDLE), ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
                        ("TCP_KEEPCNT", KEEPALIVE_COUNT), ("TCP_USER_TIMEOUT", UNACKNOWLEDGED_LIMIT_MS)):
        option = getattr(socket, name, None)
        if option is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
            except OSError:
                pass


def exchange_quickly(sock: socket.socket) -> None:
    """No Nagle delay on what we send, and no delayed acknowledgement of what we receive."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    acknowledge_at_once(sock)


def acknowledge_at_once(sock: socket.socket) -> None:
    """Linux leaves quick-ack mode by itself: call again after each receive. Elsewhere nothing."""
    option = getattr(socket, "TCP_QUICKACK", None)
    if option is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)
        except OSError:
            pass
