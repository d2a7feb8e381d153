"""vta.compiler: Python builders of VTA programs (inputs from a seeded numpy RNG,
expected outputs from plain numpy), parametrized by config.

A JIT runtime (runtime.py: command stream, automatic dependence tokens, cached
micro-kernels) and the dense and conv2d operators built on it (dense.py, conv2d.py); Apache VTA's hardware tests (ALU, blocked GEMM with virtual threads, plain GEMM), a
padded-load test and the default workload, plus a registry of them by name.
"""
from .alu import ALU_OPS, alu_program
from .builder import ProgramBuilder, tile_acc, tile_inp, tile_wgt
from .conv2d import build_conv2d, conv2d, conv2d_reference
from .dense import build_dense, dense, dense_reference
from .gemm import blocked_gemm, blocked_shape, plain_gemm
from .loads import padded_load_program
from .runtime import Buffer, Kernel, Runtime
from .workloads import WORKLOADS, Workload, build_workload, default_workload, describe, workload_names

__all__ = ["ALU_OPS", "alu_program", "ProgramBuilder", "tile_acc", "tile_inp",
           "tile_wgt", "blocked_gemm", "blocked_shape", "plain_gemm",
           "padded_load_program", "WORKLOADS", "Workload", "build_workload", "default_workload",
           "describe", "workload_names", "Runtime", "Buffer", "Kernel", "build_dense", "dense",
           "dense_reference", "build_conv2d", "conv2d", "conv2d_reference"]
