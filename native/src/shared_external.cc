// SharedArrayBuffers over memory an addon owns: see shared_external.h. One of
// the two places Gantry's addons use V8's C++ API (with external_memory.cc),
// which Node-API does not cover here.
#include "shared_external.h"

#include <memory>
#include <utility>

#include <v8.h>

extern "C" napi_value gantry_shared_float32(napi_env env, void *data, size_t floats, gantry_release_fn release, void *hint) {
  (void)env;
  v8::Isolate *isolate = v8::Isolate::GetCurrent();
  const size_t bytes = floats * sizeof(float);
  if (isolate == nullptr) {
    release(data, bytes, hint);
    return nullptr;
  }
  v8::Local<v8::SharedArrayBuffer> buffer;
  if (bytes == 0) {
    release(data, bytes, hint);
    buffer = v8::SharedArrayBuffer::New(isolate, 0);
  } else {
    std::unique_ptr<v8::BackingStore> store = v8::SharedArrayBuffer::NewBackingStore(data, bytes, release, hint);
    buffer = v8::SharedArrayBuffer::New(isolate, std::shared_ptr<v8::BackingStore>(std::move(store)));
  }
  v8::Local<v8::Float32Array> array = v8::Float32Array::New(buffer, 0, floats);
  // A napi_value is a v8::Local's slot in the callback's handle scope (Node's v8impl::JsValueFromV8LocalValue).
  return reinterpret_cast<napi_value>(*array);
}
