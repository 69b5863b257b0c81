"""The machine a measurement ran on: CPU model, the CPU features speed depends on, software.

A speed ratio means little without its machine: bfloat16 is fast only where the CPU has
AVX512-BF16 or AMX, so every benchmark's JSON names the CPU and these flags.
"""

import importlib.metadata
import os
import platform

CPUINFO = "/proc/cpuinfo"
# The `/proc/cpuinfo` flags that decide which kernels run fast: AVX2 / FMA (float32 on
# every recent x86), AVX-512, and bfloat16 in AVX-512 (AVX512-BF16) or AMX tiles.
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
_PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "numpy")


def cpu_info(path=CPUINFO):
    """The CPU model name and which of `SPEED_FLAGS` it has, read from `/proc/cpuinfo`.

    Returns:
        {"cpu": model name (or `platform`'s guess where the file is missing), "cpu_flags":
        {flag: bool} for every `SPEED_FLAGS` entry (all None where the file is missing)}.
    """
    model, present = None, None
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and present is None:
                    present = set(value.split())
    except OSError:
        pass
    return {"cpu": model or platform.processor() or platform.machine(),
            "cpu_flags": {flag: None if present is None else flag in present
                          for flag in SPEED_FLAGS}}


def describe_flags(cpu_flags):
    """`cpu_flags` of `cpu_info` as one line: the flags present, "none" or "unknown"."""
    if any(value is None for value in cpu_flags.values()):
        return "unknown"
    return " ".join(flag for flag, present in cpu_flags.items() if present) or "none"


def machine_info():
    """The hardware and software a measurement ran on: `cpu_info`, cores, system, versions."""
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {**cpu_info(), "cpu_count": os.cpu_count(), "system": platform.platform(),
            "python": platform.python_version(), "packages": versions}
