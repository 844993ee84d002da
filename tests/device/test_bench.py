"""The machine line every benchmark prints: CPU and its int8 dot-product instructions."""

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
