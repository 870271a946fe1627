"""The framework floor: a MetaKernel subclass that answers `2` without any board."""
from metakernel import MetaKernel


class FloorKernel(MetaKernel):
    implementation = "floor"
    implementation_version = "0"
    language = "python"
    language_info = {"name": "python", "mimetype": "text/x-python", "file_extension": ".py"}
    banner = "floor"

    def do_execute_direct(self, code: str, silent: bool = False) -> str:
        return "2"


if __name__ == "__main__":
    FloorKernel.run_as_main()
