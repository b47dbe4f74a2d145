/*
 * SharedArrayBuffers over memory an addon owns (shared_external.cc).
 *
 * Node-API makes external ArrayBuffers only. V8 counts the bytes of every
 * young (non-shared) ArrayBuffer, external ones included, and once 32 MB of
 * them are alive, each ArrayBuffer that JavaScript allocates first runs a
 * young-generation collection ("external memory pressure"). Blocks read from a
 * file at GB/s kept the main thread in such collections; a SharedArrayBuffer
 * is not counted, and compute threads can read it without a copy.
 */
#ifndef GANTRY_SHARED_EXTERNAL_H
#define GANTRY_SHARED_EXTERNAL_H

#include <node_api.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called once the last view of the memory anywhere (any thread) is gone: `data` and `bytes` as given, and `hint`. */
typedef void (*gantry_release_fn)(void *data, size_t bytes, void *hint);

/*
 * A Float32Array of `floats` over a new SharedArrayBuffer on `data` (4 × floats
 * bytes), which JavaScript then owns: `release` is called for it from whichever
 * thread drops the last reference, so it must be thread-safe. NULL (and `data`
 * released) when the array cannot be made. Call from a Node-API callback on a
 * JavaScript thread.
 */
napi_value gantry_shared_float32(napi_env env, void *data, size_t floats, gantry_release_fn release, void *hint);

#ifdef __cplusplus
}
#endif

#endif
