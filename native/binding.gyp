{
  "targets": [
    {
      "target_name": "ismrmrd_hdf5",
      "sources": ["src/ismrmrd_hdf5.c"],
      "include_dirs": ["/usr/include/hdf5/serial"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": [
        "-lismrmrd",
        "-L/usr/lib/x86_64-linux-gnu/hdf5/serial",
        "-lhdf5"
      ]
    }
  ]
}
