{
  "targets": [
    {
      "target_name": "gantry_kernels",
      "sources": ["../src/gantry_kernels.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-O3", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags!": ["-O2"],
      "libraries": ["-lfftw3f", "-lopenblas", "-lm", "-lpthread"]
    }
  ]
}
