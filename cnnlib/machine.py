"""What machine this is, for training choices and for every printed timing.

Machines of one kind differ in CPU model: the same training step runs 2-3x faster on an AVX-512
CPU with native bfloat16 than on an AVX2-only one. Timings are printed with ``describe_cpu()``,
and ``fit`` uses bfloat16 autocast on a CPU only where ``cpu_bf16_native()`` says the CPU
computes bfloat16 itself (AVX-512 BF16 or AMX); elsewhere bfloat16 is emulated and slower.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

__all__ = ["cpu_bf16_native", "cpu_flags", "cpu_model", "describe_cpu", "vector_extensions"]

# /proc/cpuinfo flag -> the name people use, in the order printed
EXTENSIONS = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx512f": "AVX-512F",
    "avx512_vnni": "AVX-512 VNNI",
    "avx512_bf16": "AVX-512 BF16",
    "amx_bf16": "AMX-BF16",
    "amx_tile": "AMX",
}


@lru_cache(maxsize=1)
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else the platform's word for it)."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags() -> set[str]:
    """The CPU's feature flags (/proc/cpuinfo); empty where the system does not list them."""
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def vector_extensions() -> list[str]:
    """The vector extensions that matter for training speed, e.g. ``["AVX2", "FMA", "AVX-512F"]``."""
    flags = cpu_flags()
    return [name for flag, name in EXTENSIONS.items() if flag in flags]


def cpu_bf16_native() -> bool:
    """True where the CPU computes bfloat16 in hardware (AVX-512 BF16 or AMX-BF16)."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def describe_cpu(threads: int | None = None) -> str:
    """One line for a timing: model, vector extensions, threads used and cores, e.g.
    ``AMD EPYC (AVX2, FMA, AVX-512F, AVX-512 BF16), 2 threads of 2 cores``."""
    if threads is None:
        import torch

        threads = torch.get_num_threads()
    ext = ", ".join(vector_extensions()) or "no AVX2"
    return f"{cpu_model()} ({ext}), {threads} threads of {os.cpu_count()} cores"
