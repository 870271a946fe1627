"""Jupyter's own conformance checks (jupyter_kernel_test), on a virtual board."""
from __future__ import annotations

import unittest

import jupyter_kernel_test

from metakernel_micropython.transport.virtual_board import unavailable_reason


@unittest.skipIf(unavailable_reason() is not None, str(unavailable_reason()))
class MicroPythonKernelConformance(jupyter_kernel_test.KernelTests):
    kernel_name = "micropython"
    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_execute_result = [
        {"code": "1+2", "result": "3"},
        {"code": "x = [1, 2]\nx + [3]", "result": "[1, 2, 3]"},
        {"code": "'text'", "result": "'text'"},
    ]
    code_generate_error = "raise ValueError('boom')"
    # Host-side Python (%%python) reaches the notebook like IPython's: stderr and rich displays.
    code_stderr = "%%python\nimport sys\nprint('careful', file=sys.stderr)"
    code_display_data = [
        {"code": "%%python\nfrom IPython.display import HTML, display\ndisplay(HTML('<b>board</b>'))",
         "mime": "text/html"},
    ]
    # Completion and inspection are answered by the board itself.
    completion_samples = [{"text": "pri", "matches": {"print"}}, {"text": "import os\nos.lis", "matches": {"os.listdir"}}]
    code_inspect_sample = "print"
    code_page_something = "print?"
    complete_code_samples = ["1", "print('hello, world')", "def f(x):\n    return x", "%lsmagic\n"]
    incomplete_code_samples = ["def f(x):", "for i in range(3):", "x = [1,"]
    invalid_code_samples = ["1 +* 2", "def def"]
    # metakernel keeps a plain history list: no tail or search requests.
    supported_history_operations = ()

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        reply = cls.kc.execute_interactive("%virtualboard", timeout=60)
        assert reply["content"]["status"] == "ok"
