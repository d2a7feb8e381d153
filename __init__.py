"""vta-cosim: design, simulate and synthesize the Versatile Tensor Accelerator.

The repository root is the import package ``vta``; its folders are subpackages
(``vta.isa``, ``vta.assembler``, ``vta.tlm``, ``vta.rtl``, ``vta.compiler``).
"""
from pathlib import Path

__version__ = "0.1.0"

#: Folder holding the bundled YAML hardware configs.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
