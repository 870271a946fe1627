"""The MicroPython snippets the file service runs on the board.

Every snippet must compile on the micro:bit's MicroPython 1.9.2 with about 8 KB of free RAM
(no f-strings, no `with` around files that lack __exit__, short code), and print its answer
as one Python literal that the host reads with ast.literal_eval. Names on the board start
with `_mpk_`, modules too (`import os as _mpk_os`), so that they do not clash with the user's
variables between cells, and a cell never works only because %ls happened to import os.

Paths and data reach the board as Python literals built here with repr() or
`bytes_literal`, never pasted into code as they are.
"""
from __future__ import annotations

#: One byte per byte where possible: a bytes literal with escapes only for what the
#: raw REPL or the lexer would take as something else: 0x00 (ends the source on the unix
#: port), 0x01-0x04 (raw REPL control codes: reset, exit, clear, end), the two line ends, the
#: quote and the backslash. About 1.1 bytes on the wire per random byte, against 1.33 for base64.
_ESCAPED = {0: b"\\x00", 1: b"\\x01", 2: b"\\x02", 3: b"\\x03", 4: b"\\x04",
            10: b"\\n", 13: b"\\r", 39: b"\\'", 92: b"\\\\"}
_BYTE_LITERAL_TABLE = [_ESCAPED.get(value, bytes([value])) for value in range(256)]

#: Window bits of the deflate streams the host makes: a 1 KB window keeps the board's
#: decompressor small enough for an ESP8266.
DEFLATE_WINDOW_BITS = 10

#: What the board has; printed as a dict. mem is the free heap, for the chunk size.
PROBE = """import os as _mpk_os,gc as _mpk_gc
_mpk_gc.collect()
_mpk_r={'mem':_mpk_gc.mem_free(),
 'os':[n for n in ('rename','stat','mkdir','rmdir','ilistdir','statvfs','size') if hasattr(_mpk_os,n)]}
for _mpk_k,_mpk_m,_mpk_a in (('hash','hashlib','sha256'),('hash','uhashlib','sha256'),
  ('base64','binascii','b2a_base64'),('base64','ubinascii','b2a_base64'),('deflate','deflate','DeflateIO')):
 try:
  if _mpk_k not in _mpk_r and hasattr(__import__(_mpk_m),_mpk_a):
   _mpk_r[_mpk_k]=_mpk_m
 except ImportError:
  pass
print(repr(_mpk_r))
del _mpk_r,_mpk_k,_mpk_m,_mpk_a
"""

#: A function `_mpk_h(path, offset)` that returns the SHA-256 digest of a file from `offset` on.
_HASH_FUNCTION = """def _mpk_h(p,o):
 import {hash}
 h={hash}.sha256()
 b=bytearray(512)
 f=open(p,'rb')
 while 1:
  n=f.readinto(b)
  if not n:
   break
  if o>=n:
   o-=n
   continue
  h.update(memoryview(b)[o:n])
  o=0
 f.close()
 return h.digest()
"""

#: Closes the file a transfer left open, if any.
CLOSE_OPEN_FILE = "try:\n _mpk_f.close()\nexcept Exception:\n pass\n"


#: Copies the open file `_mpk_s` into `_mpk_w` (a write method), 512 bytes at a time
#: (no memoryview: the micro:bit's firmware has none).
_COPY_LOOP = """_mpk_b=bytearray(512)
while 1:
 _mpk_n=_mpk_s.readinto(_mpk_b)
 if not _mpk_n:
  break
 _mpk_w(_mpk_b if _mpk_n==512 else _mpk_b[:_mpk_n])
_mpk_s.close()
"""


#: A file system that runs full may write less than asked without an error (micro:bit).
_CHECKED_WRITE = "def _mpk_c(d):\n if _mpk_w(d)!=len(d):\n  raise OSError(28)\n"


def bytes_literal(data: bytes) -> bytes:
    """`data` as a MicroPython bytes literal that survives the raw REPL byte for byte."""
    return b"b'" + b"".join(_BYTE_LITERAL_TABLE[value] for value in data) + b"'"


def probe() -> str:
    return PROBE


def describe(path: str, hash_module: str | None, has_stat: bool) -> str:
    """Prints None (missing) or (is_directory, size, sha256 digest or None)."""
    if not has_stat:  # micro:bit: a flat file system with os.size only
        return (f"import os as _mpk_os\nprint(repr((False,_mpk_os.size({path!r}),None) if {path!r} in _mpk_os.listdir() else None))")
    digest = f"_mpk_h({path!r},0)" if hash_module else "None"
    return ((_HASH_FUNCTION.format(hash=hash_module) if hash_module else "")
            + f"import os as _mpk_os\ntry:\n _mpk_t=_mpk_os.stat({path!r})\nexcept OSError:\n _mpk_t=None\n"
            f"if _mpk_t is None:\n print('None')\nelif _mpk_t[0]&0x4000:\n print(repr((True,0,None)))\n"
            f"else:\n print(repr((False,_mpk_t[6],{digest})))\n")


def list_directory(path: str, recursive: bool, has_ilistdir: bool, has_stat: bool) -> str:
    """Prints one literal per line: (path, is_directory, size); directories first walked on the board."""
    if not has_stat:
        return "import os as _mpk_os\nfor _mpk_n in _mpk_os.listdir():\n print(repr((_mpk_n,False,_mpk_os.size(_mpk_n))))\n"
    entries = ("_mpk_os.ilistdir(d)" if has_ilistdir
               else "((n,_mpk_os.stat(_mpk_j(d,n))[0]) for n in _mpk_os.listdir(d))")
    return (f"import os as _mpk_os\ndef _mpk_j(d,n):\n return n if d in ('','.') else d.rstrip('/')+'/'+n\n"
            f"def _mpk_l(d):\n for e in {entries}:\n  p=_mpk_j(d,e[0])\n  k=e[1]&0x4000!=0\n"
            f"  print(repr((p,k,0 if k else _mpk_os.stat(p)[6])))\n"
            f"  if k and {recursive!r}:\n   _mpk_l(p)\n"
            f"_mpk_os.stat({path!r})\n_mpk_l({path!r})\n")


def make_directory(path: str) -> str:
    return f"import os as _mpk_os\n_mpk_os.mkdir({path!r})\n"


def remove(path: str, recursive: bool) -> str:
    """Removes a file, or a directory (with what is in it when `recursive`)."""
    return (f"import os as _mpk_os\ndef _mpk_d(p):\n if _mpk_os.stat(p)[0]&0x4000:\n"
            f"  if {recursive!r}:\n   for n in _mpk_os.listdir(p):\n    _mpk_d(p.rstrip('/')+'/'+n)\n"
            f"  _mpk_os.rmdir(p)\n else:\n  _mpk_os.remove(p)\n_mpk_d({path!r})\n")


def remove_file(path: str) -> str:
    """Works where os.stat is missing (micro:bit)."""
    return f"import os as _mpk_os\n_mpk_os.remove({path!r})\n"


def usage(path: str) -> str:
    """Prints (block size, total blocks, free blocks) of the file system that holds `path`."""
    return f"import os as _mpk_os\n_mpk_v=_mpk_os.statvfs({path!r})\nprint(repr((_mpk_v[0],_mpk_v[2],_mpk_v[3])))\n"


def open_for_writing(temporary: str, copy_from: str | None, inflate: bool) -> str:
    """Opens `temporary` as `_mpk_f` (write method `_mpk_w`), starting with a copy of
    `copy_from` (for appending); with `inflate`, defines `_mpk_z` to inflate a raw deflate chunk."""
    code = f"_mpk_f=open({temporary!r},'wb')\n_mpk_w=_mpk_f.write\n" + _CHECKED_WRITE
    if copy_from is not None:
        code += f"_mpk_s=open({copy_from!r},'rb')\n" + _COPY_LOOP
    if inflate:
        code += ("import io as _mpk_io,deflate as _mpk_zl\ndef _mpk_z(d):\n"
                 f" return _mpk_zl.DeflateIO(_mpk_io.BytesIO(d),_mpk_zl.RAW,{DEFLATE_WINDOW_BITS}).read()\n")
    return code


def write_chunk(payload: bytes, deflated: bool) -> bytes:
    literal = bytes_literal(payload)
    return b"_mpk_c(_mpk_z(" + literal + b"))" if deflated else b"_mpk_c(" + literal + b")"


def close_written(path: str, offset: int, hash_module: str | None, has_stat: bool) -> str:
    """Closes `_mpk_f` (if open) and prints (size, digest of the bytes from `offset` or None)."""
    size = f"_mpk_os.stat({path!r})[6]" if has_stat else f"_mpk_os.size({path!r})"
    digest = f"_mpk_h({path!r},{offset})" if hash_module else "None"
    return ((_HASH_FUNCTION.format(hash=hash_module) if hash_module else "")
            + CLOSE_OPEN_FILE + f"import os as _mpk_os\nprint(repr(({size},{digest})))\n")


def discard(temporary: str) -> str:
    """Closes the file a transfer left open (if any) and removes `temporary` (if there)."""
    return CLOSE_OPEN_FILE + f"import os as _mpk_os\ntry:\n _mpk_os.remove({temporary!r})\nexcept OSError:\n pass\n"


def rename(source: str, destination: str) -> str:
    return f"import os as _mpk_os\n_mpk_os.rename({source!r},{destination!r})\n"


def copy_over(source: str, destination: str) -> str:
    """For firmware without os.rename: copy the verified temporary file over the destination,
    all in one run on the board, remove it, and print the new size."""
    return (f"import os as _mpk_os\n_mpk_s=open({source!r},'rb')\n_mpk_f=open({destination!r},'wb')\n_mpk_w=_mpk_f.write\n"
            + _COPY_LOOP + f"_mpk_f.close()\n_mpk_os.remove({source!r})\nprint(_mpk_os.size({destination!r}))\n")


def open_for_reading(path: str) -> str:
    return f"_mpk_f=open({path!r},'rb')\n"


def read_chunk(size: int, base64_module: str | None) -> str:
    """Prints the next `size` bytes of `_mpk_f`: base64 text, else a bytes literal; empty at the end."""
    if base64_module:
        return (f"import {base64_module} as _mpk_b64\n_mpk_d=_mpk_f.read({size})\n"
                f"if _mpk_d:\n print(_mpk_b64.b2a_base64(_mpk_d).decode(),end='')\n")
    return f"print(repr(_mpk_f.read({size})))\n"


def run_file(path: str) -> str:
    """Runs a board file in the REPL's globals, as if its text were a cell."""
    return f"exec(open({path!r}).read())\n"
