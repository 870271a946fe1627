"""A Jupyter kernel, built on metakernel, that runs notebook cells on a MicroPython board."""
__version__ = "0.1.0"
