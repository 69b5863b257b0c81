"""The machine a measurement ran on: CPU model, the CPU features speed depends on, software.

A speed ratio means little without its machine: bfloat16 is fast only where the CPU has
AVX512-BF16 or AMX, int8 matrix products gain from VNNI, and two VMs that both call their
CPU "AMD EPYC" can be generations apart (family 23 model 1 is the first Zen, whose AVX2
units are half as wide as later ones), so every benchmark's JSON names the CPU, its
family / model / stepping and these flags.
"""

import importlib.metadata
import os
import platform

CPUINFO = "/proc/cpuinfo"
# The `/proc/cpuinfo` flags that decide which kernels run fast: AVX2 / FMA (float32 on
# every recent x86), AVX-512, int8 dot products (VNNI, in AVX-512 or AVX), and bfloat16 in
# AVX-512 (AVX512-BF16) or AMX tiles.
SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16",
               "amx_tile", "amx_bf16")
# `/proc/cpuinfo` keys that name the CPU generation where the model name does not.
_GENERATION_KEYS = {"cpu family": "family", "model": "model", "stepping": "stepping"}
_PACKAGES = ("tensorflow", "keras", "ai-edge-litert", "numpy")


def cpu_info(path=CPUINFO):
    """The CPU model name, generation and which of `SPEED_FLAGS` it has, from `/proc/cpuinfo`.

    Returns:
        {"cpu": model name (or `platform`'s guess where the file is missing), "cpu_id":
        e.g. "family 23 model 1 stepping 2" (None where the file does not say), "cpu_flags":
        {flag: bool} for every `SPEED_FLAGS` entry (all None where the file is missing)}.
    """
    model, present, generation = None, None, {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and present is None:
                    present = set(value.split())
                elif key in _GENERATION_KEYS and _GENERATION_KEYS[key] not in generation:
                    generation[_GENERATION_KEYS[key]] = value.strip()
    except OSError:
        pass
    cpu_id = " ".join(f"{name} {generation[name]}" for name in _GENERATION_KEYS.values()
                      if name in generation) or None
    return {"cpu": model or platform.processor() or platform.machine(), "cpu_id": cpu_id,
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


def describe_machine(machine):
    """A `machine_info` dict as one line: CPU, its generation, cores and speed flags."""
    cpu = machine["cpu"]
    if machine.get("cpu_id"):
        cpu += f" ({machine['cpu_id']})"
    flags = machine.get("cpu_flags")
    return (f"{cpu}, {machine['cpu_count']} cores"
            + (f", flags: {describe_flags(flags)}" if flags else ""))
