"""Started by VirtualBoardTransport in a pseudo-terminal: runs the MicroPython unix port.

Kept as a plain script (not imported through the package) so that the child starts fast.
"""
import os
import signal
import sys

# The relay delivers Ctrl-C as SIGINT only while MicroPython's own handler is installed;
# between runs the signal must do nothing rather than kill the interpreter.
signal.signal(signal.SIGINT, signal.SIG_IGN)

parent_pid = int(sys.argv[1])
if sys.platform.startswith("linux"):
    import ctypes

    PR_SET_PDEATHSIG = 1
    # No process may outlive the kernel, even when the kernel is killed hard.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
if os.getppid() != parent_pid:
    sys.exit(0)

import micropython_unix  # noqa: E402  (after the guards: it is the slow import)

sys.argv = ["micropython"]
sys.exit(micropython_unix.main())
