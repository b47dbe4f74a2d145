{
  "targets": [
    {
      "target_name": "gantry_kernels",
      "sources": ["../src/gantry_kernels.c", "../src/external_memory.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O3", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=c11"],
      "cflags!": ["-O2"],
      "libraries": ["-lfftw3f", "-lopenblas", "-lm", "-lpthread"]
    }
  ]
}
