"""The machine every benchmark names: CPU model and the flags speed depends on."""

from nlu_tf.benchmark.machine import (SPEED_FLAGS, cpu_info, describe_flags, describe_machine,
                                      machine_info)

SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni avx_vnni avx512_bf16 amx_bf16 amx_tile amx_int8

processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 amx_bf16 amx_tile amx_int8
"""
EPYC = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 23\nmodel\t\t: 1\n"
        "model name\t: AMD EPYC\nstepping\t: 2\nflags\t\t: fpu sse2 avx2 fma\n\n"
        "processor\t: 1\ncpu family\t: 25\nmodel\t\t: 1\n")


def test_cpu_info_reads_the_model_and_the_bf16_and_amx_flags(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(SAPPHIRE_RAPIDS)
    info = cpu_info(str(path))
    assert info["cpu"] == "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"
    assert info["cpu_flags"] == {flag: True for flag in SPEED_FLAGS}
    path.write_text(EPYC)
    info = cpu_info(str(path))
    assert info["cpu"] == "AMD EPYC"
    # The first processor's generation: two VMs both named "AMD EPYC" are told apart.
    assert info["cpu_id"] == "family 23 model 1 stepping 2"
    assert info["cpu_flags"] == {flag: flag in ("avx2", "fma") for flag in SPEED_FLAGS}
    assert describe_flags(info["cpu_flags"]) == "avx2 fma"
    assert describe_machine({**info, "cpu_count": 2}) == (
        "AMD EPYC (family 23 model 1 stepping 2), 2 cores, flags: avx2 fma")


def test_missing_cpuinfo_gives_unknown_flags_not_false_ones(tmp_path):
    info = cpu_info(str(tmp_path / "none"))
    assert info["cpu"] and set(info["cpu_flags"].values()) == {None}
    assert info["cpu_id"] is None
    assert describe_flags(info["cpu_flags"]) == "unknown"
    assert describe_machine({**info, "cpu_count": 1}).endswith("1 cores, flags: unknown")


def test_machine_info_names_the_cpu_its_flags_and_the_packages():
    info = machine_info()
    assert set(info["cpu_flags"]) == set(SPEED_FLAGS)
    assert info["cpu"] and info["cpu_count"] >= 1 and info["packages"]["tensorflow"]
