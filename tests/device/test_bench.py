"""The machine line every benchmark prints: CPU and its int8 dot-product instructions."""

import json

from edgefer.device.bench import cpu_description, machine

X86_VNNI = "processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n"
X86_AVX2 = "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 fma avx2\n"
PI5 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes crc32 atomics fphp asimdhp asimdrdm lrcpc dcpop asimddp\n" \
      "CPU part\t: 0xd0b\n"
PI4 = "processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU part\t: 0xd08\n"


def test_int8_dot_product_instructions_are_named():
    assert cpu_description(X86_VNNI) == ("AMD EPYC 9R14", "AVX-512 VNNI")
    assert cpu_description(X86_AVX2) == ("AMD EPYC", "none (AVX2)")
    assert cpu_description(PI5) == ("0xd0b", "Arm dot product")
    assert cpu_description(PI4) == ("0xd08", "none")


def test_machine_line_names_this_host():
    line = machine()
    assert "cores" in line and "int8 dot product:" in line


def test_bench_records_every_bundled_model_for_the_models_command(tmp_path):
    from helpers import edgefer_without_tensorflow

    out = tmp_path / "latency.json"
    result = edgefer_without_tensorflow("bench", "--all-models", "--record", str(out), "--runs", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads(out.read_text())
    assert set(record["models"]) == {"fer2013-fast", "fer2013-lite0", "ferplus-lite0"}
    assert all(ms["1_thread"] > 0 and ms["2_threads"] > 0 for ms in record["models"].values())
    assert "int8 dot product" in record["machine"]
    refused = edgefer_without_tensorflow("bench", "--record", str(out))
    assert refused.returncode == 2 and "--record needs --all-models" in refused.stderr
