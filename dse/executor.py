"""The one parallel executor of vta-dse sweeps and bench/'s fuzz campaigns: local worker
processes by default, or a Dask distributed cluster (``--scheduler tcp://HOST:PORT``).

Both give a ``concurrent.futures``-style object (``submit``, futures for ``as_completed``), so
callers do not care which one runs their tasks. Tasks and results must be picklable; on Dask
the workers import the task's function by module name (they need the same checkout installed).
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from vta.isa import VTAError


class ExecutorError(VTAError):
    """The executor cannot start (Dask missing, scheduler unreachable)."""


@contextmanager
def executor(jobs=None, scheduler=None, connect_timeout=20):
    """Local processes (``jobs``, default the CPU count), or the Dask cluster at ``scheduler``."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError("--scheduler needs Dask distributed (pip install distributed)") from None
        try:
            client = Client(scheduler, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError) as e:
            raise ExecutorError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
    else:
        with ProcessPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as ex:
            yield ex
