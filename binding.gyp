{
  "targets": [{
    "target_name": "hcx_native",
    "sources": [
      "src/native/addon.cc",
      "src/native/threadpool.cc",
      "src/native/cpu.cc",
      "src/native/gemm.cc",
      "src/native/gemm_skinny.cc",
      "src/native/peak.cc",
      "src/native/elementwise.cc",
      "src/native/reduce.cc",
      "src/native/norm.cc",
      "src/native/rope.cc",
      "src/native/softmax_xent.cc",
      "src/native/attention.cc",
      "src/native/paged_attention.cc",
      "src/native/paged_attention_512.cc",
      "src/native/optim.cc",
      "src/native/embedding.cc",
      "src/native/bf16.cc",
      "src/native/bf16_prepacked.cc",
      "src/native/decode_ops.cc",
      "src/native/dequant.cc"
    ],
    "cflags_cc!": ["-fno-exceptions", "-O2", "-O0"],
    "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden", "-pthread", "-Wno-psabi"],
    "ldflags": ["-pthread"],
    "defines": ["NAPI_VERSION=8"]
  }]
}
