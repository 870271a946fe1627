"""The raw REPL protocol engine, shared by every transport."""
from .board_errors import BoardError, BoardNotAnswering, BoardRebooted, CellTooLarge, ProtocolError
from .raw_repl import RawRepl, RunResult

__all__ = ["BoardError", "BoardNotAnswering", "BoardRebooted", "CellTooLarge", "ProtocolError", "RawRepl", "RunResult"]
