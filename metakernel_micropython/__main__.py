"""`python -m metakernel_micropython install [--user|--sys-prefix|--prefix P]`, or run the kernel."""
import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "install":
        from .install import main as install

        install(sys.argv[2:])
        return
    from .kernel import MicroPythonKernel

    MicroPythonKernel.run_as_main()


if __name__ == "__main__":
    main()
