#include "cpu.h"
#include <cstdlib>
#include <cstring>

namespace hcx {

const CpuFeatures& cpu() {
  static CpuFeatures f = [] {
    CpuFeatures c;
    __builtin_cpu_init();
    c.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    c.avx512f = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    c.avx512bf16 = c.avx512f && __builtin_cpu_supports("avx512bf16");
    return c;
  }();
  return f;
}

static Isa max_isa() {
  const auto& c = cpu();
  return c.avx512f ? Isa::Avx512 : c.avx2_fma ? Isa::Avx2 : Isa::Portable;
}

static Isa& current() {
  static Isa cur = [] {
    Isa m = max_isa();
    const char* env = std::getenv("HCX_ISA");
    if (env) {
      if (!std::strcmp(env, "portable")) return Isa::Portable;
      if (!std::strcmp(env, "avx2") && m >= Isa::Avx2) return Isa::Avx2;
    }
    return m;
  }();
  return cur;
}

Isa isa() { return current(); }

void set_isa(int level) {
  Isa m = max_isa();
  Isa want = level <= 0 ? Isa::Portable : level == 1 ? Isa::Avx2 : Isa::Avx512;
  current() = want > m ? m : want;
}

bool use_bf16_dot() { return cpu().avx512bf16 && isa() == Isa::Avx512; }

const char* isa_name() {
  switch (isa()) {
    case Isa::Avx512: return cpu().avx512bf16 ? "avx512+bf16" : "avx512";
    case Isa::Avx2: return "avx2";
    default: return "portable";
  }
}

}  // namespace hcx
