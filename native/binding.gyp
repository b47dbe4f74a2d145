{
  "targets": [
    {
      "target_name": "ismrmrd_hdf5",
      "sources": ["src/ismrmrd_hdf5.c", "src/shared_external.cc"],
      "include_dirs": [
        "<!@(pkg-config --cflags-only-I hdf5 2>/dev/null | sed 's/-I//g' || true)",
        "/usr/include/hdf5/serial"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-pthread", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_c": ["-std=c11"],
      "ldflags": ["-pthread"],
      "libraries": [
        "-lismrmrd",
        "<!@(pkg-config --libs hdf5 2>/dev/null || echo -lhdf5_serial)"
      ]
    }
  ]
}
