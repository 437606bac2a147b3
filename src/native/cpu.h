// Run-time CPU feature selection: kernels are compiled for several targets in one binary
// (function target attributes) and the best one the processor supports is chosen at load.
#pragma once
namespace hcx {
enum class Isa { Portable = 0, Avx2 = 1, Avx512 = 2 };
struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512f = false;
  bool avx512bf16 = false;
};
const CpuFeatures& cpu();
// The ISA kernels use; HCX_ISA=portable|avx2|avx512 lowers it (for tests and benchmarks).
Isa isa();
bool use_bf16_dot();  // avx512bf16 available and not disabled
void set_isa(int level);  // clamp to what the CPU supports
const char* isa_name();
}  // namespace hcx
