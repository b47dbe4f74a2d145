/*
 * External-memory accounting of SharedArrayBuffers (external_memory.cc).
 *
 * V8 counts neither the bytes nor the number of SharedArrayBuffers, so the
 * shared memory that data pass through (blocks read from a file, readouts
 * after oversampling removal: GBs per study) never starts a collection, and
 * dead buffers wait for one that the small JavaScript heap starts. A tracked
 * buffer's bytes are reported to V8 as external memory while it is alive; V8
 * starts an incremental, concurrent marking each time that total has grown by
 * 64 MB since its last full collection.
 */
#ifndef GANTRY_EXTERNAL_MEMORY_H
#define GANTRY_EXTERNAL_MEMORY_H

#include <node_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Reports the bytes of `value`, a SharedArrayBuffer, to the current
 * isolate as external memory until the buffer is collected (each call
 * counts once more: track a buffer once). Returns 1 when tracked, 0 when
 * `value` is not a SharedArrayBuffer or there is no isolate. Call from a
 * Node-API callback on a JavaScript thread.
 */
int gantry_track_external(napi_env env, napi_value value);

#ifdef __cplusplus
}
#endif

#endif
