// External-memory accounting of SharedArrayBuffers: see external_memory.h.
// Uses V8's C++ API (weak handles, AdjustAmountOfExternalAllocatedMemory),
// as shared_external.cc does: Node-API's napi_adjust_external_memory has no
// way to give the bytes back when the buffer dies.
#include "external_memory.h"

#include <cstdint>
#include <cstring>

#include <v8.h>

namespace {

// One tracked buffer: a weak handle and the bytes it reported.
struct Tracked {
  v8::Global<v8::SharedArrayBuffer> handle;
  int64_t bytes;
};

// A first-pass weak callback runs inside the collection that found the
// buffer dead, before V8 sets the external-memory level its next trigger is
// measured from; a finalizer run later (FinalizationRegistry, Node-API
// finalizers) would lower the total after that, and the next trigger would
// wait for that much more memory each time. The callback only resets the
// handle and lowers the count (an atomic update, no collection).
void Released(const v8::WeakCallbackInfo<Tracked> &info) {
  Tracked *tracked = info.GetParameter();
  info.GetIsolate()->AdjustAmountOfExternalAllocatedMemory(-tracked->bytes);
  tracked->handle.Reset();
  delete tracked;
}

}  // namespace

extern "C" int gantry_track_external(napi_env env, napi_value value) {
  (void)env;
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  if (isolate == nullptr || value == nullptr) return 0;
  // A napi_value is a v8::Local's slot in the callback's handle scope (Node's v8impl::V8LocalValueFromJsValue).
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(value), "a v8::Local is one pointer");
  memcpy(static_cast<void *>(&local), &value, sizeof(value));
  if (!local->IsSharedArrayBuffer()) return 0;
  v8::Local<v8::SharedArrayBuffer> buffer = local.As<v8::SharedArrayBuffer>();
  Tracked *tracked = new Tracked();
  tracked->bytes = static_cast<int64_t>(buffer->ByteLength());
  tracked->handle.Reset(isolate, buffer);
  tracked->handle.SetWeak(tracked, Released, v8::WeakCallbackType::kParameter);
  isolate->AdjustAmountOfExternalAllocatedMemory(tracked->bytes);
  return 1;
}
