/*
 * ISMRMRD HDF5 datasets for Node (N-API, C).
 *
 * Writing goes through Debian's libismrmrd 1.8 (ismrmrd_append_*,
 * ismrmrd_write_header) so files match the reference implementation's layout.
 * Reading uses the HDF5 C API directly with memory types built from the
 * packed ISMRMRD structs: it reads many rows per H5Dread, bounds-checks every
 * index, and never trusts header sizes over the stored vlen lengths (the 1.8
 * read functions do neither). Acquisition blocks skip HDF5's vlen machinery
 * where the file allows: raw rows by H5Dread_chunk, heap objects by pread
 * (raw_read_block; GANTRY_HDF5_RAW=off turns it off), or, for a file open
 * read-only, by mapping them (raw_map_members; GANTRY_HDF5_MMAP=off).
 *
 * Every failure becomes a JS exception whose text names the file and group;
 * libismrmrd's messages and the HDF5 error stack are collected into it.
 *
 * HDF5 is the serial build, so every HDF5 and libismrmrd call (each exported
 * function, the handle finalizer, and the worker-thread half of
 * readAcquisitionBlock) runs under one recursive process-wide lock.
 * readAcquisitionBlock reads a block of rows on a libuv worker thread into
 * one buffer (the vlen members are allocated from it), so reading overlaps
 * the JS thread's work; the JS side hands out views of that buffer.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise */
#include <node_api.h>
#include <pthread.h>
#include "shared_external.h"
#include <hdf5.h>
#include <ismrmrd/ismrmrd.h>
#include <ismrmrd/dataset.h>
#include <ismrmrd/waveform.h>
#include <ismrmrd/version.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(sizeof(ISMRMRD_AcquisitionHeader) == 340, "acquisition header must be 340 bytes");
_Static_assert(sizeof(ISMRMRD_ImageHeader) == 198, "image header must be 198 bytes");
_Static_assert(sizeof(ISMRMRD_WaveformHeader) == 40, "waveform header must be 40 bytes");

#define ACQ_HEAD 340
#define IMG_HEAD 198
#define WAV_HEAD 40
#define ERR_CAP 2048

#if H5_VERSION_GE(1, 12, 0)
#define RECLAIM_WITH(type, space, dxpl, buf) H5Treclaim((type), (space), (dxpl), (buf))
#else
#define RECLAIM_WITH(type, space, dxpl, buf) H5Dvlen_reclaim((type), (space), (dxpl), (buf))
#endif
#define RECLAIM(type, space, buf) RECLAIM_WITH((type), (space), H5P_DEFAULT, (buf))

/* ------------------------------------------------------------------ lock */

static pthread_mutex_t g_lock;
static pthread_once_t g_lock_once = PTHREAD_ONCE_INIT;

static void lock_init(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&g_lock, &a);
  pthread_mutexattr_destroy(&a);
}

static void hdf5_lock(void) { pthread_mutex_lock(&g_lock); }
static void hdf5_unlock(void) { pthread_mutex_unlock(&g_lock); }

/* ------------------------------------------------------------------ errors */

static char g_err[ERR_CAP];
static size_t g_err_len;

static void err_reset(void) {
  g_err[0] = '\0';
  g_err_len = 0;
}

static void err_add(const char *msg) {
  if (msg == NULL || *msg == '\0' || strstr(g_err, msg) != NULL) return;
  if (g_err_len + 3 >= ERR_CAP) return;
  int n = snprintf(g_err + g_err_len, ERR_CAP - g_err_len, "%s%s", g_err_len ? "; " : "", msg);
  if (n > 0) g_err_len = strlen(g_err);
}

static void on_ismrmrd_error(const char *file, int line, const char *func, int code, const char *msg) {
  (void)file; (void)line; (void)func; (void)code;
  err_add(msg);
}

static void drain_ismrmrd_errors(void) {
  while (ismrmrd_pop_error(NULL, NULL, NULL, NULL, NULL)) {}
}

static herr_t walk_hdf5(unsigned n, const H5E_error2_t *desc, void *data) {
  (void)n; (void)data;
  err_add(desc->desc);
  return 0;
}

/* Moves the current HDF5 error stack into the message buffer. */
static void err_add_hdf5(void) {
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_hdf5, NULL);
  H5Eclear2(H5E_DEFAULT);
}

static napi_value throw_with(napi_env env, const char *code, const char *what) {
  char buf[ERR_CAP + 512];
  drain_ismrmrd_errors();
  snprintf(buf, sizeof buf, "%s: %s", what, g_err_len ? g_err : "unknown HDF5 error");
  napi_throw_error(env, code, buf);
  err_reset();
  return NULL;
}

static napi_value throw_plain(napi_env env, int range, const char *msg) {
  if (range) napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  else napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
  return NULL;
}

#define NAPI_OK(call)                                                   \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      const napi_extended_error_info *info_ = NULL;                     \
      bool pending_ = false;                                            \
      napi_is_exception_pending(env, &pending_);                        \
      if (!pending_) {                                                  \
        napi_get_last_error_info(env, &info_);                          \
        napi_throw_error(env, NULL, info_ && info_->error_message       \
                                        ? info_->error_message          \
                                        : "N-API call failed");         \
      }                                                                 \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

/* ------------------------------------------------------------------ handle */

typedef struct {
  ISMRMRD_Dataset ds;
  bool open;
  bool read_only;
} Handle;

static const napi_type_tag HANDLE_TAG = {0x6a1f0c5e2b7d4a11ULL, 0x93c04e8f5d2b7a63ULL};

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  Handle *h = (Handle *)data;
  hdf5_lock();
  if (h->open) {
    ismrmrd_close_dataset(&h->ds);
    drain_ismrmrd_errors();
    err_reset();
  }
  hdf5_unlock();
  free(h);
}

/* "<file> group <group>" for messages. */
static void where(const Handle *h, char *buf, size_t cap) {
  snprintf(buf, cap, "%s group %s", h->ds.filename ? h->ds.filename : "?", h->ds.groupname ? h->ds.groupname : "?");
}

static char *join_path(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
  char *p = (char *)malloc(n);
  if (p == NULL) return NULL;
  if (c) snprintf(p, n, "%s/%s/%s", a, b, c);
  else snprintf(p, n, "%s/%s", a, b);
  return p;
}

/* True when every component of `path` exists (H5Lexists fails on a missing intermediate). */
static bool path_exists(hid_t fid, const char *path) {
  size_t n = strlen(path);
  char *p = (char *)malloc(n + 1);
  if (p == NULL) return false;
  memcpy(p, path, n + 1);
  bool ok = true;
  for (size_t i = 1; i <= n && ok; i++) {
    if (p[i] == '/' || p[i] == '\0') {
      char saved = p[i];
      p[i] = '\0';
      if (strcmp(p, "/") != 0 && strlen(p) > 0) {
        htri_t e = H5Lexists(fid, p, H5P_DEFAULT);
        if (e <= 0) ok = false;
      }
      p[i] = saved;
    }
  }
  H5Eclear2(H5E_DEFAULT);
  free(p);
  return ok;
}

/* ------------------------------------------------------------------ args */

static napi_value get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < want) return throw_plain(env, 0, "Cannot call ISMRMRD addon function: too few arguments");
  napi_value ok;
  napi_get_boolean(env, true, &ok);
  return ok;
}

static Handle *get_handle(napi_env env, napi_value v) {
  bool tagged = false;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &HANDLE_TAG, &tagged) != napi_ok || !tagged) {
    throw_plain(env, 0, "Cannot use the value as an ISMRMRD dataset handle");
    return NULL;
  }
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    throw_plain(env, 0, "Cannot use the value as an ISMRMRD dataset handle");
    return NULL;
  }
  Handle *h = (Handle *)p;
  if (!h->open) {
    throw_plain(env, 0, "Cannot use an ISMRMRD dataset after close()");
    return NULL;
  }
  return h;
}

/* Returns a malloc'd UTF-8 copy of a JS string, or NULL with an exception pending. */
static char *get_string(napi_env env, napi_value v, const char *what) {
  size_t len = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    char msg[160];
    snprintf(msg, sizeof msg, "Cannot use %s: expected a string", what);
    throw_plain(env, 0, msg);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = (char *)malloc(len + 1);
  if (s == NULL) {
    napi_throw_error(env, NULL, "Cannot allocate memory for a string");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static bool get_index(napi_env env, napi_value v, const char *what, uint32_t *out) {
  double d = -1;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      !(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) {
    char msg[160];
    snprintf(msg, sizeof msg, "Cannot use %s: expected an integer in [0, 2^32)", what);
    throw_plain(env, 1, msg);
    return false;
  }
  *out = (uint32_t)d;
  return true;
}

typedef struct {
  void *data;
  size_t length;     /* elements */
  size_t byte_length;
  napi_typedarray_type type;
} View;

static bool get_view(napi_env env, napi_value v, napi_typedarray_type want, bool any, const char *what, View *out) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) {
    char msg[200];
    snprintf(msg, sizeof msg, "Cannot use %s: expected a typed array", what);
    throw_plain(env, 0, msg);
    return false;
  }
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &offset) != napi_ok) return false;
  if (!any && out->type != want) {
    char msg[200];
    snprintf(msg, sizeof msg, "Cannot use %s: wrong typed array type", what);
    throw_plain(env, 0, msg);
    return false;
  }
  size_t esz = 1;
  switch (out->type) {
    case napi_int16_array: case napi_uint16_array: esz = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: esz = 4; break;
    case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: esz = 8; break;
    default: esz = 1;
  }
  out->byte_length = out->length * esz;
  return true;
}

static napi_value make_bytes(napi_env env, const void *src, size_t n) {
  napi_value ab, ta;
  void *dst = NULL;
  NAPI_OK(napi_create_arraybuffer(env, n, &dst, &ab));
  if (n) memcpy(dst, src, n);
  NAPI_OK(napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &ta));
  return ta;
}

static napi_value make_typed(napi_env env, napi_typedarray_type type, const void *src, size_t count, size_t esz) {
  napi_value ab, ta;
  void *dst = NULL;
  NAPI_OK(napi_create_arraybuffer(env, count * esz, &dst, &ab));
  if (count && src) memcpy(dst, src, count * esz);
  NAPI_OK(napi_create_typedarray(env, type, count, ab, 0, &ta));
  return ta;
}

/* ------------------------------------------------------------------ memory types */

static hid_t arr_t(hid_t base, hsize_t n) {
  return H5Tarray_create2(base, 1, &n);
}

static void ins(hid_t t, const char *name, size_t off, hid_t member) {
  H5Tinsert(t, name, off, member);
}

static void ins_arr(hid_t t, const char *name, size_t off, hid_t base, hsize_t n) {
  hid_t a = arr_t(base, n);
  H5Tinsert(t, name, off, a);
  H5Tclose(a);
}

static hid_t acq_head_type(void) {
  typedef ISMRMRD_AcquisitionHeader H;
  typedef ISMRMRD_EncodingCounters C;
  hid_t idx = H5Tcreate(H5T_COMPOUND, sizeof(C));
  ins(idx, "kspace_encode_step_1", offsetof(C, kspace_encode_step_1), H5T_NATIVE_UINT16);
  ins(idx, "kspace_encode_step_2", offsetof(C, kspace_encode_step_2), H5T_NATIVE_UINT16);
  ins(idx, "average", offsetof(C, average), H5T_NATIVE_UINT16);
  ins(idx, "slice", offsetof(C, slice), H5T_NATIVE_UINT16);
  ins(idx, "contrast", offsetof(C, contrast), H5T_NATIVE_UINT16);
  ins(idx, "phase", offsetof(C, phase), H5T_NATIVE_UINT16);
  ins(idx, "repetition", offsetof(C, repetition), H5T_NATIVE_UINT16);
  ins(idx, "set", offsetof(C, set), H5T_NATIVE_UINT16);
  ins(idx, "segment", offsetof(C, segment), H5T_NATIVE_UINT16);
  ins_arr(idx, "user", offsetof(C, user), H5T_NATIVE_UINT16, ISMRMRD_USER_INTS);

  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(H));
  ins(t, "version", offsetof(H, version), H5T_NATIVE_UINT16);
  ins(t, "flags", offsetof(H, flags), H5T_NATIVE_UINT64);
  ins(t, "measurement_uid", offsetof(H, measurement_uid), H5T_NATIVE_UINT32);
  ins(t, "scan_counter", offsetof(H, scan_counter), H5T_NATIVE_UINT32);
  ins(t, "acquisition_time_stamp", offsetof(H, acquisition_time_stamp), H5T_NATIVE_UINT32);
  ins_arr(t, "physiology_time_stamp", offsetof(H, physiology_time_stamp), H5T_NATIVE_UINT32, ISMRMRD_PHYS_STAMPS);
  ins(t, "number_of_samples", offsetof(H, number_of_samples), H5T_NATIVE_UINT16);
  ins(t, "available_channels", offsetof(H, available_channels), H5T_NATIVE_UINT16);
  ins(t, "active_channels", offsetof(H, active_channels), H5T_NATIVE_UINT16);
  ins_arr(t, "channel_mask", offsetof(H, channel_mask), H5T_NATIVE_UINT64, ISMRMRD_CHANNEL_MASKS);
  ins(t, "discard_pre", offsetof(H, discard_pre), H5T_NATIVE_UINT16);
  ins(t, "discard_post", offsetof(H, discard_post), H5T_NATIVE_UINT16);
  ins(t, "center_sample", offsetof(H, center_sample), H5T_NATIVE_UINT16);
  ins(t, "encoding_space_ref", offsetof(H, encoding_space_ref), H5T_NATIVE_UINT16);
  ins(t, "trajectory_dimensions", offsetof(H, trajectory_dimensions), H5T_NATIVE_UINT16);
  ins(t, "sample_time_us", offsetof(H, sample_time_us), H5T_NATIVE_FLOAT);
  ins_arr(t, "position", offsetof(H, position), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "read_dir", offsetof(H, read_dir), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "phase_dir", offsetof(H, phase_dir), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "slice_dir", offsetof(H, slice_dir), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "patient_table_position", offsetof(H, patient_table_position), H5T_NATIVE_FLOAT, 3);
  ins(t, "idx", offsetof(H, idx), idx);
  ins_arr(t, "user_int", offsetof(H, user_int), H5T_NATIVE_INT32, ISMRMRD_USER_INTS);
  ins_arr(t, "user_float", offsetof(H, user_float), H5T_NATIVE_FLOAT, ISMRMRD_USER_FLOATS);
  H5Tclose(idx);
  return t;
}

typedef struct {
  ISMRMRD_AcquisitionHeader head;
  hvl_t traj;
  hvl_t data;
} AcqRow;

static hid_t acq_row_type(void) {
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(AcqRow));
  hid_t head = acq_head_type();
  hid_t vl = H5Tvlen_create(H5T_NATIVE_FLOAT);
  ins(t, "head", offsetof(AcqRow, head), head);
  ins(t, "traj", offsetof(AcqRow, traj), vl);
  ins(t, "data", offsetof(AcqRow, data), vl);
  H5Tclose(vl);
  H5Tclose(head);
  return t;
}

static hid_t wav_head_type(void) {
  typedef ISMRMRD_WaveformHeader H;
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(H));
  ins(t, "version", offsetof(H, version), H5T_NATIVE_UINT16);
  ins(t, "flags", offsetof(H, flags), H5T_NATIVE_UINT64);
  ins(t, "measurement_uid", offsetof(H, measurement_uid), H5T_NATIVE_UINT32);
  ins(t, "scan_counter", offsetof(H, scan_counter), H5T_NATIVE_UINT32);
  ins(t, "time_stamp", offsetof(H, time_stamp), H5T_NATIVE_UINT32);
  ins(t, "number_of_samples", offsetof(H, number_of_samples), H5T_NATIVE_UINT16);
  ins(t, "channels", offsetof(H, channels), H5T_NATIVE_UINT16);
  ins(t, "sample_time_us", offsetof(H, sample_time_us), H5T_NATIVE_FLOAT);
  ins(t, "waveform_id", offsetof(H, waveform_id), H5T_NATIVE_UINT16);
  return t;
}

typedef struct {
  ISMRMRD_WaveformHeader head;
  hvl_t data;
} WavRow;

static hid_t wav_row_type(void) {
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(WavRow));
  hid_t head = wav_head_type();
  hid_t vl = H5Tvlen_create(H5T_NATIVE_UINT32);
  ins(t, "head", offsetof(WavRow, head), head);
  ins(t, "data", offsetof(WavRow, data), vl);
  H5Tclose(vl);
  H5Tclose(head);
  return t;
}

static hid_t img_head_type(void) {
  typedef ISMRMRD_ImageHeader H;
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(H));
  ins(t, "version", offsetof(H, version), H5T_NATIVE_UINT16);
  ins(t, "data_type", offsetof(H, data_type), H5T_NATIVE_UINT16);
  ins(t, "flags", offsetof(H, flags), H5T_NATIVE_UINT64);
  ins(t, "measurement_uid", offsetof(H, measurement_uid), H5T_NATIVE_UINT32);
  ins_arr(t, "matrix_size", offsetof(H, matrix_size), H5T_NATIVE_UINT16, 3);
  ins_arr(t, "field_of_view", offsetof(H, field_of_view), H5T_NATIVE_FLOAT, 3);
  ins(t, "channels", offsetof(H, channels), H5T_NATIVE_UINT16);
  ins_arr(t, "position", offsetof(H, position), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "read_dir", offsetof(H, read_dir), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "phase_dir", offsetof(H, phase_dir), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "slice_dir", offsetof(H, slice_dir), H5T_NATIVE_FLOAT, 3);
  ins_arr(t, "patient_table_position", offsetof(H, patient_table_position), H5T_NATIVE_FLOAT, 3);
  ins(t, "average", offsetof(H, average), H5T_NATIVE_UINT16);
  ins(t, "slice", offsetof(H, slice), H5T_NATIVE_UINT16);
  ins(t, "contrast", offsetof(H, contrast), H5T_NATIVE_UINT16);
  ins(t, "phase", offsetof(H, phase), H5T_NATIVE_UINT16);
  ins(t, "repetition", offsetof(H, repetition), H5T_NATIVE_UINT16);
  ins(t, "set", offsetof(H, set), H5T_NATIVE_UINT16);
  ins(t, "acquisition_time_stamp", offsetof(H, acquisition_time_stamp), H5T_NATIVE_UINT32);
  ins_arr(t, "physiology_time_stamp", offsetof(H, physiology_time_stamp), H5T_NATIVE_UINT32, ISMRMRD_PHYS_STAMPS);
  ins(t, "image_type", offsetof(H, image_type), H5T_NATIVE_UINT16);
  ins(t, "image_index", offsetof(H, image_index), H5T_NATIVE_UINT16);
  ins(t, "image_series_index", offsetof(H, image_series_index), H5T_NATIVE_UINT16);
  ins_arr(t, "user_int", offsetof(H, user_int), H5T_NATIVE_INT32, ISMRMRD_USER_INTS);
  ins_arr(t, "user_float", offsetof(H, user_float), H5T_NATIVE_FLOAT, ISMRMRD_USER_FLOATS);
  ins(t, "attribute_string_len", offsetof(H, attribute_string_len), H5T_NATIVE_UINT32);
  return t;
}

static hid_t complex_type(hid_t part, size_t part_size) {
  hid_t t = H5Tcreate(H5T_COMPOUND, 2 * part_size);
  H5Tinsert(t, "real", 0, part);
  H5Tinsert(t, "imag", part_size, part);
  return t;
}

/* Memory type of one pixel for an ISMRMRD data_type, or -1. */
static hid_t pixel_type(uint16_t data_type) {
  switch (data_type) {
    case ISMRMRD_USHORT: return H5Tcopy(H5T_NATIVE_UINT16);
    case ISMRMRD_SHORT: return H5Tcopy(H5T_NATIVE_INT16);
    case ISMRMRD_UINT: return H5Tcopy(H5T_NATIVE_UINT32);
    case ISMRMRD_INT: return H5Tcopy(H5T_NATIVE_INT32);
    case ISMRMRD_FLOAT: return H5Tcopy(H5T_NATIVE_FLOAT);
    case ISMRMRD_DOUBLE: return H5Tcopy(H5T_NATIVE_DOUBLE);
    case ISMRMRD_CXFLOAT: return complex_type(H5T_NATIVE_FLOAT, sizeof(float));
    case ISMRMRD_CXDOUBLE: return complex_type(H5T_NATIVE_DOUBLE, sizeof(double));
    default: return -1;
  }
}

/* Variable-length C string type with the given character set. */
static hid_t vstring_type(H5T_cset_t cset) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, cset);
  return t;
}

/* ------------------------------------------------------------------ open / close */

/* open(path, group, mode): mode 0 = existing (read-write, else read-only), 1 = create if needed, 2 = read-only. */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  uint32_t mode = 0;
  char *path = get_string(env, argv[0], "path");
  if (!path) return NULL;
  char *group = get_string(env, argv[1], "group");
  if (!group) { free(path); return NULL; }
  if (!get_index(env, argv[2], "mode", &mode) || mode > 2) {
    free(path); free(group);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    return pending ? NULL : throw_plain(env, 1, "Cannot open ISMRMRD dataset: mode must be 0, 1 or 2");
  }

  err_reset();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  char what[1024];
  snprintf(what, sizeof what, "Cannot open ISMRMRD dataset %s group %s", path, group);

  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  hid_t fid = -1;
  bool read_only = false;
  bool exists = access(path, F_OK) == 0;
  if (mode == 2) {
    fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    read_only = true;
  } else if (exists) {
    fid = H5Fopen(path, H5F_ACC_RDWR, fapl);
    if (fid < 0 && mode == 0) {
      H5Eclear2(H5E_DEFAULT);
      fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
      read_only = true;
    }
  } else if (mode == 1) {
    fid = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
  } else {
    err_add("no such file");
  }
  if (fid < 0) {
    if (mode == 2 && !exists) err_add("no such file");
    err_add_hdf5();
    H5Pclose(fapl);
    free(path); free(group);
    return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  }
  H5Pclose(fapl);

  hid_t gid = -1;
  if (path_exists(fid, group)) gid = H5Gopen2(fid, group, H5P_DEFAULT);
  if (gid < 0 && mode == 1) {
    H5Eclear2(H5E_DEFAULT);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    gid = H5Gcreate2(fid, group, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    H5Pclose(lcpl);
  } else if (gid < 0) {
    err_add("no such group");
  }
  if (gid < 0) {
    err_add_hdf5();
    H5Fclose(fid);
    H5Eclear2(H5E_DEFAULT);
    free(path); free(group);
    return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  }
  H5Gclose(gid);

  Handle *h = (Handle *)calloc(1, sizeof(Handle));
  if (h == NULL || ismrmrd_init_dataset(&h->ds, path, group) != ISMRMRD_NOERROR) {
    H5Fclose(fid);
    free(h); free(path); free(group);
    err_add("out of memory");
    return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  }
  free(path); free(group);
  h->ds.fileid = fid;
  h->open = true;
  h->read_only = read_only;

  napi_value ext;
  if (napi_create_external(env, h, handle_finalize, NULL, &ext) != napi_ok) {
    handle_finalize(env, h, NULL);
    napi_throw_error(env, NULL, "Cannot create an ISMRMRD dataset handle");
    return NULL;
  }
  NAPI_OK(napi_type_tag_object(env, ext, &HANDLE_TAG));
  return ext;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  napi_valuetype t;
  void *p = NULL;
  bool tagged = false;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &HANDLE_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) {
    return throw_plain(env, 0, "Cannot use the value as an ISMRMRD dataset handle");
  }
  Handle *h = (Handle *)p;
  if (!h->open) return NULL;
  char what[1024];
  snprintf(what, sizeof what, "Cannot close ISMRMRD dataset %s group %s", h->ds.filename, h->ds.groupname);
  err_reset();
  h->open = false;
  if (ismrmrd_close_dataset(&h->ds) != ISMRMRD_NOERROR) {
    err_add_hdf5();
    return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  }
  drain_ismrmrd_errors();
  return NULL;
}

static napi_value js_is_read_only(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  if (!get_args(env, info, 1, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  NAPI_OK(napi_get_boolean(env, h->read_only, &out));
  return out;
}

static bool require_writable(napi_env env, Handle *h, const char *what) {
  if (!h->read_only) return true;
  err_reset();
  err_add("the file is open read-only");
  throw_with(env, "ERR_ISMRMRD_HDF5", what);
  return false;
}

/* ------------------------------------------------------------------ header */

static napi_value js_read_header(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  if (!get_args(env, info, 1, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  char loc[1024], what[1200];
  where(h, loc, sizeof loc);
  snprintf(what, sizeof what, "Cannot read the XML header of %s", loc);
  err_reset();
  char *path = join_path(h->ds.groupname, "xml", NULL);
  if (!path) return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  if (!path_exists(h->ds.fileid, path)) {
    free(path);
    NAPI_OK(napi_get_null(env, &out));
    return out;
  }
  hid_t did = H5Dopen2(h->ds.fileid, path, H5P_DEFAULT);
  free(path);
  if (did < 0) { err_add_hdf5(); return throw_with(env, "ERR_ISMRMRD_HDF5", what); }
  hid_t ftype = H5Dget_type(did);
  hid_t space = H5Dget_space(did);
  hssize_t npoints = H5Sget_simple_extent_npoints(space);
  napi_value result = NULL;
  if (H5Tget_class(ftype) != H5T_STRING) {
    err_add("xml is not a string dataset");
  } else if (npoints != 1) {
    err_add("xml must hold exactly one string");
  } else if (H5Tis_variable_str(ftype) > 0) {
    hid_t mtype = vstring_type(H5Tget_cset(ftype));
    char *s = NULL;
    if (H5Dread(did, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0) {
      err_add_hdf5();
    } else {
      if (s) napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &result);
      else napi_get_null(env, &result);
      RECLAIM(mtype, space, &s);
    }
    H5Tclose(mtype);
  } else {
    size_t size = H5Tget_size(ftype);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, size + 1);
    H5Tset_cset(mtype, H5Tget_cset(ftype));
    H5Tset_strpad(mtype, H5T_STR_NULLTERM);
    char *s = (char *)calloc(size + 2, 1);
    if (s && H5Dread(did, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) >= 0) {
      size_t n = strlen(s);
      while (n > 0 && s[n - 1] == ' ') n--;
      napi_create_string_utf8(env, s, n, &result);
    } else {
      err_add_hdf5();
    }
    free(s);
    H5Tclose(mtype);
  }
  H5Sclose(space);
  H5Tclose(ftype);
  H5Dclose(did);
  if (result == NULL) return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  return result;
}

static napi_value js_write_header(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  char loc[1024], what[1200];
  where(h, loc, sizeof loc);
  snprintf(what, sizeof what, "Cannot write the XML header of %s", loc);
  if (!require_writable(env, h, what)) return NULL;
  char *xml = get_string(env, argv[1], "xml");
  if (!xml) return NULL;
  err_reset();
  int rc = ismrmrd_write_header(&h->ds, xml);
  free(xml);
  if (rc != ISMRMRD_NOERROR) { err_add_hdf5(); return throw_with(env, "ERR_ISMRMRD_HDF5", what); }
  drain_ismrmrd_errors();
  return NULL;
}

/* ------------------------------------------------------------------ counts */

/* Length of the first dimension of dataset `path`; 0 when it does not exist; -1 on error. */
static int64_t rows_of(hid_t fid, const char *path) {
  if (!path_exists(fid, path)) return 0;
  hid_t did = H5Dopen2(fid, path, H5P_DEFAULT);
  if (did < 0) { err_add_hdf5(); return -1; }
  hid_t space = H5Dget_space(did);
  int rank = H5Sget_simple_extent_ndims(space);
  int64_t n = -1;
  if (rank >= 1) {
    hsize_t dims[H5S_MAX_RANK];
    H5Sget_simple_extent_dims(space, dims, NULL);
    n = (int64_t)dims[0];
  } else {
    err_add("dataset is not an array");
  }
  H5Sclose(space);
  H5Dclose(did);
  return n;
}

static napi_value count_var(napi_env env, Handle *h, const char *var, const char *leaf, const char *noun) {
  char loc[1024], what[1400];
  where(h, loc, sizeof loc);
  snprintf(what, sizeof what, "Cannot count %s in %s", noun, loc);
  err_reset();
  char *path = join_path(h->ds.groupname, var, leaf);
  if (!path) return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  int64_t n = rows_of(h->ds.fileid, path);
  free(path);
  if (n < 0) return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  napi_value out;
  NAPI_OK(napi_create_double(env, (double)n, &out));
  return out;
}

static napi_value js_acquisition_count(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  return h ? count_var(env, h, "data", NULL, "acquisitions") : NULL;
}

static napi_value js_waveform_count(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  return h ? count_var(env, h, "waveforms", NULL, "waveforms") : NULL;
}

static napi_value js_image_count(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  char *var = get_string(env, argv[1], "image variable name");
  if (!var) return NULL;
  napi_value out = count_var(env, h, var, "header", "images");
  free(var);
  return out;
}

/* ------------------------------------------------------------------ row reads */

typedef struct {
  hid_t did, filespace, memspace;
} Rows;

/* Opens `path` and selects rows [start, start+count) of its first dimension; the rest of each row is selected whole. */
static bool rows_open(hid_t fid, const char *path, uint32_t start, uint32_t count, int want_rank, const hsize_t *want_tail,
                      Rows *r, bool *out_of_range) {
  r->did = r->filespace = r->memspace = -1;
  *out_of_range = false;
  if (!path_exists(fid, path)) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s does not exist", path);
    err_add(msg);
    *out_of_range = true;
    return false;
  }
  r->did = H5Dopen2(fid, path, H5P_DEFAULT);
  if (r->did < 0) { err_add_hdf5(); return false; }
  r->filespace = H5Dget_space(r->did);
  int rank = H5Sget_simple_extent_ndims(r->filespace);
  if (rank != want_rank) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s has rank %d, expected %d", path, rank, want_rank);
    err_add(msg);
    return false;
  }
  hsize_t dims[H5S_MAX_RANK], offset[H5S_MAX_RANK], cnt[H5S_MAX_RANK];
  H5Sget_simple_extent_dims(r->filespace, dims, NULL);
  if ((uint64_t)start + count > dims[0]) {
    char msg[200];
    snprintf(msg, sizeof msg, "rows %u..%llu requested but %s holds %llu", start,
             (unsigned long long)start + count, path, (unsigned long long)dims[0]);
    err_add(msg);
    *out_of_range = true;
    return false;
  }
  offset[0] = start;
  cnt[0] = count;
  for (int i = 1; i < rank; i++) {
    if (want_tail && dims[i] != want_tail[i - 1]) {
      char msg[300];
      snprintf(msg, sizeof msg, "%s dimension %d is %llu but the header implies %llu", path, i,
               (unsigned long long)dims[i], (unsigned long long)want_tail[i - 1]);
      err_add(msg);
      return false;
    }
    offset[i] = 0;
    cnt[i] = dims[i];
  }
  if (H5Sselect_hyperslab(r->filespace, H5S_SELECT_SET, offset, NULL, cnt, NULL) < 0) { err_add_hdf5(); return false; }
  r->memspace = H5Screate_simple(rank, cnt, NULL);
  return r->memspace >= 0;
}

static void rows_close(Rows *r) {
  if (r->memspace >= 0) H5Sclose(r->memspace);
  if (r->filespace >= 0) H5Sclose(r->filespace);
  if (r->did >= 0) H5Dclose(r->did);
  r->did = r->filespace = r->memspace = -1;
}

static bool get_range(napi_env env, napi_value *argv, uint32_t *start, uint32_t *count) {
  return get_index(env, argv[0], "start", start) && get_index(env, argv[1], "count", count);
}

/* Reads rows [start, start+count) of dataset `<group>/<leaf>` (rank 1) with memory type `mtype` into a new array of
   `row_size`-byte rows, vlen members allocated as `dxpl` says. NULL on failure, with the reason collected and *code set
   (ERR_OUT_OF_RANGE for a missing dataset or rows past its end). On success the caller reclaims the vlen members with
   RECLAIM_WITH(mtype, r->memspace, dxpl, rows), frees the array and calls rows_close(r). */
static void *read_rows(Handle *h, const char *leaf, uint32_t start, uint32_t count, hid_t mtype, size_t row_size,
                       hid_t dxpl, Rows *r, const char **code) {
  *code = "ERR_ISMRMRD_HDF5";
  r->did = r->filespace = r->memspace = -1;
  char *path = join_path(h->ds.groupname, leaf, NULL);
  if (!path) { err_add("out of memory"); return NULL; }
  bool oor = false;
  bool ok = rows_open(h->ds.fileid, path, start, count, 1, NULL, r, &oor);
  free(path);
  if (!ok) {
    if (oor) *code = "ERR_OUT_OF_RANGE";
    rows_close(r);
    return NULL;
  }
  void *rows = calloc(count ? count : 1, row_size);
  if (rows == NULL) err_add("out of memory");
  else if (H5Dread(r->did, mtype, r->memspace, r->filespace, dxpl, rows) < 0) err_add_hdf5();
  else return rows;
  free(rows);
  rows_close(r);
  return NULL;
}

/* Fails a row read: the pending N-API exception, or a plain error naming `noun`. */
static napi_value fail_js_rows(napi_env env, const char *noun) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    char msg[120];
    snprintf(msg, sizeof msg, "Cannot create JS arrays for %s", noun);
    napi_throw_error(env, NULL, msg);
  }
  return NULL;
}

/* "Cannot read NOUN a..b from FILE group G" */
static void read_what(const Handle *h, const char *noun, uint32_t start, uint32_t count, char *buf, size_t cap) {
  char loc[1024];
  where(h, loc, sizeof loc);
  snprintf(buf, cap, "Cannot read %s %u..%llu from %s", noun, start, (unsigned long long)start + count, loc);
}

/* readAcquisitions(h, start, count) → [{head: Uint8Array(340), traj: Float32Array, data: Float32Array}] */
static napi_value js_read_acquisitions(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  uint32_t start, count;
  if (!get_range(env, argv + 1, &start, &count)) return NULL;
  char what[1400];
  read_what(h, "acquisitions", start, count, what, sizeof what);
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, count, &arr));
  if (count == 0) return arr;
  err_reset();
  Rows r;
  const char *code;
  hid_t mtype = acq_row_type();
  AcqRow *rows = (AcqRow *)read_rows(h, "data", start, count, mtype, sizeof(AcqRow), H5P_DEFAULT, &r, &code);
  if (!rows) { H5Tclose(mtype); return throw_with(env, code, what); }
  bool fail = false;
  for (uint32_t i = 0; i < count && !fail; i++) {
    napi_value obj, head, traj, data;
    head = make_bytes(env, &rows[i].head, ACQ_HEAD);
    traj = head ? make_typed(env, napi_float32_array, rows[i].traj.p, rows[i].traj.len, sizeof(float)) : NULL;
    data = traj ? make_typed(env, napi_float32_array, rows[i].data.p, rows[i].data.len, sizeof(float)) : NULL;
    if (!data || napi_create_object(env, &obj) != napi_ok || napi_set_named_property(env, obj, "head", head) != napi_ok ||
        napi_set_named_property(env, obj, "traj", traj) != napi_ok ||
        napi_set_named_property(env, obj, "data", data) != napi_ok || napi_set_element(env, arr, i, obj) != napi_ok) {
      fail = true;
    }
  }
  RECLAIM(mtype, r.memspace, rows);
  free(rows);
  H5Tclose(mtype);
  rows_close(&r);
  H5Eclear2(H5E_DEFAULT);
  return fail ? fail_js_rows(env, "acquisitions") : arr;
}

/* readWaveforms(h, start, count) → [{head: Uint8Array(40), data: Uint32Array}] */
static napi_value js_read_waveforms(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  uint32_t start, count;
  if (!get_range(env, argv + 1, &start, &count)) return NULL;
  char what[1400];
  read_what(h, "waveforms", start, count, what, sizeof what);
  napi_value arr;
  NAPI_OK(napi_create_array_with_length(env, count, &arr));
  if (count == 0) return arr;
  err_reset();
  Rows r;
  const char *code;
  hid_t mtype = wav_row_type();
  WavRow *rows = (WavRow *)read_rows(h, "waveforms", start, count, mtype, sizeof(WavRow), H5P_DEFAULT, &r, &code);
  if (!rows) { H5Tclose(mtype); return throw_with(env, code, what); }
  bool fail = false;
  for (uint32_t i = 0; i < count && !fail; i++) {
    napi_value obj, head, data;
    head = make_bytes(env, &rows[i].head, WAV_HEAD);
    data = head ? make_typed(env, napi_uint32_array, rows[i].data.p, rows[i].data.len, sizeof(uint32_t)) : NULL;
    if (!data || napi_create_object(env, &obj) != napi_ok || napi_set_named_property(env, obj, "head", head) != napi_ok ||
        napi_set_named_property(env, obj, "data", data) != napi_ok || napi_set_element(env, arr, i, obj) != napi_ok) {
      fail = true;
    }
  }
  RECLAIM(mtype, r.memspace, rows);
  free(rows);
  H5Tclose(mtype);
  rows_close(&r);
  H5Eclear2(H5E_DEFAULT);
  return fail ? fail_js_rows(env, "waveforms") : arr;
}

/* ------------------------------------------------------------------ block reads */

/* Vlen members of a block are allocated from one arena sized from the headers; past its end (a header that
   understates its row) they fall back to malloc and the block is compacted into an exact arena afterwards. */
typedef struct {
  char *base;
  size_t used, cap;
  bool overflowed;
} Arena;

static void *arena_alloc(size_t n, void *info) {
  Arena *a = (Arena *)info;
  n = (n + 3) & ~(size_t)3;
  if (a->used + n <= a->cap) {
    void *p = a->base + a->used;
    a->used += n;
    return p;
  }
  a->overflowed = true;
  return malloc(n ? n : 1);
}

static bool in_arena(const Arena *a, const void *p) {
  return p != NULL && (const char *)p >= a->base && (const char *)p < a->base + a->cap;
}

static void arena_free(void *p, void *info) {
  if (!in_arena((const Arena *)info, p)) free(p);
}

/* Sample buffers of blocks are recycled: JS drops a block's buffer when the GC finalizes it, and the next block
   reuses it instead of faulting in fresh pages (a 590 MB file passes through a few buffers, not 590 MB of new memory).
   Each buffer carries its capacity in a 16-byte prefix; at most POOL_MAX of at most POOL_KEEP_MAX_BYTES wait for reuse. */
#define POOL_MAX 4
#define POOL_MIN_BYTES ((size_t)8 << 20)
#define POOL_PREFIX 16
#define ARENA_MAX_BYTES ((size_t)256 << 20)
#define POOL_KEEP_MAX_BYTES ((size_t)32 << 20) /* larger buffers (a whole file read at once) are freed, not kept */
static pthread_mutex_t g_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_pool[POOL_MAX];
static int g_pool_n;

static size_t pool_capacity(const void *data) { return *(const size_t *)((const char *)data - POOL_PREFIX); }

/* A buffer of at least `bytes` (NULL when out of memory). */
static void *pool_take(size_t bytes) {
  pthread_mutex_lock(&g_pool_lock);
  int best = -1;
  for (int i = 0; i < g_pool_n; i++) {
    size_t cap = pool_capacity(g_pool[i]);
    if (cap >= bytes && (best < 0 || cap < pool_capacity(g_pool[best]))) best = i;
  }
  char *data = NULL;
  if (best >= 0) {
    data = g_pool[best];
    g_pool[best] = g_pool[--g_pool_n];
  }
  pthread_mutex_unlock(&g_pool_lock);
  if (data) return data;
  size_t cap = bytes < POOL_MIN_BYTES ? POOL_MIN_BYTES : bytes;
  char *raw = (char *)malloc(cap + POOL_PREFIX);
  if (!raw) return NULL;
  *(size_t *)raw = cap;
  return raw + POOL_PREFIX;
}

/* Returns a buffer from pool_take (NULL is ignored). */
static void pool_give(void *data) {
  if (!data) return;
  pthread_mutex_lock(&g_pool_lock);
  if (g_pool_n < POOL_MAX && pool_capacity(data) <= POOL_KEEP_MAX_BYTES) {
    g_pool[g_pool_n++] = (char *)data;
    data = NULL;
  }
  pthread_mutex_unlock(&g_pool_lock);
  if (data) free((char *)data - POOL_PREFIX);
}

/* One block: `count` rows; heads packed (count × 340 bytes); traj and data of row i at floats[layout[4i]] (length
   layout[4i+1]) and floats[layout[4i+2]] (length layout[4i+3]). */
typedef struct {
  uint32_t count;
  uint8_t *heads;
  float *floats;
  size_t nfloats;
  uint32_t *layout;
  size_t mapped; /* > 0: floats is a private mapping of the file of this many bytes (see raw_map_members), not pooled */
} Block;

static void block_free(Block *b) {
  free(b->heads); free(b->layout);
  if (b->mapped) munmap(b->floats, b->mapped);
  else pool_give(b->floats);
  memset(b, 0, sizeof *b);
}

/* Floats a row's header implies (trajectory, then data), saturating. */
static uint64_t implied_floats(const ISMRMRD_AcquisitionHeader *hd) {
  uint64_t ns = hd->number_of_samples;
  return ns * hd->trajectory_dimensions + 2 * ns * hd->active_channels;
}

/* ------------------------------------------------------------------ raw vlen reads */

/* The vlen members (traj, data) of ISMRMRD's acquisition rows live in HDF5 global heap collections. HDF5's own vlen
   read brings each collection into its metadata cache (a zeroed allocation, a pread, a copy) and copies the object out
   once more: about 1 s of CPU for a 590 MB file here. When the file allows it (sec2 driver, rows chunked without
   filters, vlen members of little-endian float32) raw_read_block takes each row's raw bytes with H5Dread_chunk, reads
   the global heap IDs from them and preads each object straight into the block's arena: one copy from the page
   cache. Anything unexpected makes it return false, and the block is read through HDF5 as before (the same bytes:
   tested against GANTRY_HDF5_RAW=off, which turns this path off). */

typedef struct {
  int fd;
  haddr_t base;               /* userblock size: file addresses are relative to it */
  size_t sizeof_addr, sizeof_size;
  size_t row_size;            /* bytes of one stored row */
  size_t member_off[2];       /* offsets of the traj and data heap IDs in a stored row */
  size_t head_off;            /* offset of the header, stored exactly as the packed 340-byte struct */
  hsize_t chunk_rows;
} RawLayout;

static uint64_t le_uint(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

static bool raw_enabled(void) {
  const char *v = getenv("GANTRY_HDF5_RAW");
  if (v && strcmp(v, "off") == 0) return false;
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1; /* heap IDs and floats are read as stored: little-endian hosts only */
}

/* True when dataset `did` of file `fid` can be read raw; fills *L. Clears any HDF5 error it causes. */
static bool raw_layout(hid_t fid, hid_t did, RawLayout *L) {
  bool ok = false;
  hid_t fapl = -1, fcpl = -1, dcpl = -1, ftype = -1;
  memset(L, 0, sizeof *L);
  L->fd = -1;
  fapl = H5Fget_access_plist(fid);
  if (fapl < 0 || H5Pget_driver(fapl) != H5FD_SEC2) goto done;
  void *vfd = NULL;
  if (H5Fget_vfd_handle(fid, fapl, &vfd) < 0 || vfd == NULL) goto done;
  L->fd = *(int *)vfd;
  fcpl = H5Fget_create_plist(fid);
  hsize_t userblock = 0;
  if (fcpl < 0 || H5Pget_sizes(fcpl, &L->sizeof_addr, &L->sizeof_size) < 0 || H5Pget_userblock(fcpl, &userblock) < 0) goto done;
  if (L->sizeof_addr < 2 || L->sizeof_addr > 8 || L->sizeof_size < 2 || L->sizeof_size > 8) goto done;
  L->base = (haddr_t)userblock;
  dcpl = H5Dget_create_plist(did);
  if (dcpl < 0 || H5Pget_layout(dcpl) != H5D_CHUNKED || H5Pget_nfilters(dcpl) != 0) goto done;
  if (H5Pget_chunk(dcpl, 1, &L->chunk_rows) != 1 || L->chunk_rows == 0 || L->chunk_rows > 4096) goto done;
  ftype = H5Dget_type(did);
  if (ftype < 0 || H5Tget_class(ftype) != H5T_COMPOUND) goto done;
  L->row_size = H5Tget_size(ftype);
  int hidx = H5Tget_member_index(ftype, "head");
  if (hidx < 0) goto done;
  hid_t hft = H5Tget_member_type(ftype, (unsigned)hidx);
  hid_t hmt = acq_head_type();
  bool same = hft >= 0 && hmt >= 0 && H5Tget_size(hft) == ACQ_HEAD && H5Tequal(hft, hmt) > 0;
  if (hmt >= 0) H5Tclose(hmt);
  if (hft >= 0) H5Tclose(hft);
  if (!same) goto done;
  L->head_off = H5Tget_member_offset(ftype, (unsigned)hidx);
  if (L->head_off + ACQ_HEAD > L->row_size) goto done;
  const char *names[2] = {"traj", "data"};
  for (int m = 0; m < 2; m++) {
    int idx = H5Tget_member_index(ftype, names[m]);
    if (idx < 0 || H5Tget_member_class(ftype, (unsigned)idx) != H5T_VLEN) goto done;
    hid_t mt = H5Tget_member_type(ftype, (unsigned)idx);
    hid_t super = mt >= 0 ? H5Tget_super(mt) : -1;
    bool f32 = super >= 0 && H5Tequal(super, H5T_IEEE_F32LE) > 0;
    if (super >= 0) H5Tclose(super);
    if (mt >= 0) H5Tclose(mt);
    if (!f32) goto done;
    L->member_off[m] = H5Tget_member_offset(ftype, (unsigned)idx);
    if (L->member_off[m] + 4 + L->sizeof_addr + 4 > L->row_size) goto done;
  }
  ok = true;
done:
  if (ftype >= 0) H5Tclose(ftype);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (fcpl >= 0) H5Pclose(fcpl);
  if (fapl >= 0) H5Pclose(fapl);
  H5Eclear2(H5E_DEFAULT);
  return ok;
}

static bool pread_full(int fd, void *buf, size_t n, uint64_t at) {
  char *p = (char *)buf;
  while (n > 0) {
    ssize_t got = pread(fd, p, n, (off_t)at);
    if (got <= 0) return false;
    p += got; n -= (size_t)got; at += (uint64_t)got;
  }
  return true;
}

/* The last global heap collection read whole (for objects that are not the first of their collection). */
typedef struct {
  uint64_t addr;
  uint8_t *bytes;
  size_t size;
} HeapCache;

#define HEAP_COLLECTION_MAX ((size_t)64 << 20)

/* Copies object `index` (of `bytes` bytes) of the collection at file address `addr` to `dst`, reading the collection
   whole (cached for the next object). */
static bool heap_object_walk(const RawLayout *L, HeapCache *c, uint64_t addr, uint32_t index, size_t bytes, void *dst) {
  const size_t hdr = (8 + L->sizeof_size + 7) & ~(size_t)7, objhdr = 8 + L->sizeof_size;
  if (c->bytes == NULL || c->addr != addr) {
    uint8_t head[16];
    if (!pread_full(L->fd, head, 8 + L->sizeof_size, L->base + addr) || memcmp(head, "GCOL", 4) != 0 || head[4] != 1) return false;
    uint64_t size = le_uint(head + 8, L->sizeof_size);
    if (size < hdr || size > HEAP_COLLECTION_MAX) return false;
    uint8_t *buf = (uint8_t *)realloc(c->bytes, (size_t)size);
    if (!buf) return false;
    c->bytes = buf;
    c->addr = addr;
    c->size = (size_t)size;
    if (!pread_full(L->fd, c->bytes, c->size, L->base + addr)) { c->addr = 0; c->size = 0; return false; }
  }
  size_t p = hdr;
  while (p + objhdr <= c->size) {
    uint32_t idx = (uint32_t)le_uint(c->bytes + p, 2);
    uint64_t size = le_uint(c->bytes + p + 8, L->sizeof_size);
    if (idx == 0) return false; /* free space: the rest of the collection */
    if (size > c->size - p - objhdr) return false;
    if (idx == index) {
      if (size != bytes) return false;
      memcpy(dst, c->bytes + p + objhdr, bytes);
      return true;
    }
    p += objhdr + ((size + 7) & ~(uint64_t)7);
  }
  return false;
}

/* One vlen member's global heap ID as stored. */
typedef struct {
  uint64_t len, addr;
  uint32_t index;
} RawId;

static bool map_enabled(void) {
  const char *v = getenv("GANTRY_HDF5_MMAP");
  return !(v && strcmp(v, "off") == 0);
}

/* The members of a block mapped instead of copied: when every member of rows ids[0, n) is the first object of its
   heap collection, at a float-aligned place, and together they fill most of the file range from the first to the
   last (as when a writer appends rows one after another), that range is mapped privately (copy on write: a consumer
   may write into its samples; a read-only file open stays untouched) and its page-table entries filled here, on the
   reading thread (MADV_POPULATE_READ: read-only entries to the page cache's pages, no copy and no zeroed pages).
   The block's floats are that mapping (layout: members' offsets in it), unmapped when JS frees the block. False
   (nothing mapped) when anything is not as expected; the caller then preads into an arena. (A file truncated by
   another process while its blocks are mapped would make their pages fault; files being read are not expected to
   shrink, and files this process has open for writing are never mapped.) */
static bool raw_map_members(const RawLayout *L, const RawId *ids, uint32_t n, size_t pre, uint64_t room, uint32_t *layout,
                            float **floats, size_t *mapped) {
  const size_t hdr = (8 + L->sizeof_size + 7) & ~(size_t)7;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t k = 0; k < 2 * (size_t)n; k++) {
    const RawId *r = ids + k;
    if (r->len == 0) continue;
    uint64_t at = L->base + r->addr;
    if ((at + pre) % sizeof(float) != 0 || r->len > UINT32_MAX) return false;
    uint64_t end = at + pre + r->len * sizeof(float);
    if (at < lo) lo = at;
    if (end > hi) hi = end;
  }
  long page = sysconf(_SC_PAGESIZE);
  if (hi == 0 || page <= 0) return false;
  uint64_t from = lo - lo % (uint64_t)page;
  uint64_t span = hi - from;
  struct stat st;
  /* Mapped bytes past the end of the file would fault (SIGBUS) when touched: the whole range must lie in it. */
  if (span > room + room / 4 + 16 * (uint64_t)page || span > ARENA_MAX_BYTES || fstat(L->fd, &st) != 0 ||
      (uint64_t)st.st_size < hi)
    return false;
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif
  void *m = mmap(NULL, (size_t)span, PROT_READ | PROT_WRITE, MAP_PRIVATE, L->fd, (off_t)from);
  if (m == MAP_FAILED) return false;
  /* Every page is read here or the block is read by pread instead: a page that could not be read (an I/O error, a
     kernel without MADV_POPULATE_READ) must not fault later in JS, where it would be SIGBUS rather than an error. */
  if (madvise(m, (size_t)span, MADV_POPULATE_READ) != 0) {
    munmap(m, (size_t)span);
    return false;
  }
  const uint8_t *base = (const uint8_t *)m;
  for (uint32_t i = 0; i < n; i++) {
    for (int k = 0; k < 2; k++) {
      const RawId *r = ids + 2 * (size_t)i + k;
      uint32_t *l = layout + 4 * (size_t)i + 2 * k;
      if (r->len == 0) { l[0] = 0; l[1] = 0; continue; }
      size_t bytes = (size_t)r->len * sizeof(float);
      const uint8_t *c = base + (L->base + r->addr - from);
      if (!(memcmp(c, "GCOL", 4) == 0 && c[4] == 1 && le_uint(c + hdr, 2) == r->index &&
            le_uint(c + hdr + 8, L->sizeof_size) == bytes && le_uint(c + 8, L->sizeof_size) >= pre + bytes)) {
        munmap(m, (size_t)span);
        return false;
      }
      l[0] = (uint32_t)((L->base + r->addr + pre - from) / sizeof(float));
      l[1] = (uint32_t)r->len;
    }
  }
  *floats = (float *)m;
  *mapped = (size_t)span;
  return true;
}

/* Reads rows [start, start+count) of `<group>/data` raw (see above) into *b: as many rows as read_block would take
   (max_bytes of implied samples, at least one). False when anything is not as expected (b is then empty); the caller
   reads the block through HDF5, which also reports any real error. Caller holds the lock. */
static bool raw_read_block(Handle *h, uint32_t start, uint32_t count, uint64_t max_bytes, Block *b) {
  memset(b, 0, sizeof *b);
  if (!raw_enabled() || !h->open || count == 0) return false;
  char *path = join_path(h->ds.groupname, "data", NULL);
  hid_t fid = h->ds.fileid;
  hid_t did = path && path_exists(fid, path) ? H5Dopen2(fid, path, H5P_DEFAULT) : -1;
  free(path);
  if (did < 0) { H5Eclear2(H5E_DEFAULT); return false; }
  RawLayout L;
  bool ok = raw_layout(fid, did, &L);
  /* The heap is read behind HDF5's back: write out anything it still holds. */
  unsigned intent = 0;
  if (ok && (H5Fget_intent(fid, &intent) < 0 || ((intent & H5F_ACC_RDWR) && H5Fflush(fid, H5F_SCOPE_LOCAL) < 0))) ok = false;
  const size_t hdr = (8 + L.sizeof_size + 7) & ~(size_t)7, objhdr = 8 + L.sizeof_size, pre = hdr + objhdr;
  const size_t chunk_bytes = (size_t)L.chunk_rows * L.row_size;
  uint8_t *chunk = ok ? (uint8_t *)malloc(chunk_bytes) : NULL;
  uint8_t *heads = ok ? (uint8_t *)malloc((size_t)count * ACQ_HEAD + 1) : NULL;
  RawId *ids = ok ? (RawId *)malloc((size_t)count * 2 * sizeof(RawId)) : NULL;
  ok = ok && chunk && heads && ids;
  /* Pass 1: the rows' raw bytes: headers and heap IDs. */
  uint32_t n = 0;
  uint64_t total = 0, room = 0;
  hsize_t have = (hsize_t)-1; /* first row of the chunk in `chunk` */
  for (uint32_t i = 0; ok && i < count; i++) {
    hsize_t row = (hsize_t)start + i;
    hsize_t first = row - row % L.chunk_rows;
    if (first != have) {
      hsize_t stored = 0;
      uint32_t filters = 0;
      ok = H5Dget_chunk_storage_size(did, &first, &stored) >= 0 && stored == chunk_bytes &&
           H5Dread_chunk(did, H5P_DEFAULT, &first, &filters, chunk) >= 0 && filters == 0;
      have = first;
      if (!ok) break;
    }
    const uint8_t *raw = chunk + (size_t)(row - first) * L.row_size;
    uint8_t *head = heads + (size_t)i * ACQ_HEAD;
    memcpy(head, raw + L.head_off, ACQ_HEAD);
    uint64_t f = implied_floats((const ISMRMRD_AcquisitionHeader *)head);
    if (i > 0 && (total + f) * sizeof(float) > max_bytes) break;
    total += f;
    for (int m = 0; m < 2; m++) {
      const uint8_t *id = raw + L.member_off[m];
      RawId *r = ids + 2 * (size_t)i + m;
      r->len = le_uint(id, 4);
      r->addr = le_uint(id + 4, L.sizeof_addr);
      r->index = (uint32_t)le_uint(id + 4 + L.sizeof_addr, 4);
      room += pre + r->len * sizeof(float);
    }
    n++;
  }
  ok = ok && n > 0 && room <= ARENA_MAX_BYTES;
  uint32_t *layout = ok ? (uint32_t *)malloc((size_t)n * 4 * sizeof(uint32_t) + 1) : NULL;
  ok = ok && layout;
  /* Pass 2, mapped (files open read-only): the members where they lie in the file. */
  float *map = NULL;
  size_t mapped = 0;
  if (ok && !(intent & H5F_ACC_RDWR) && map_enabled() && raw_map_members(&L, ids, n, pre, room, layout, &map, &mapped)) {
    free(chunk);
    free(ids);
    H5Dclose(did);
    H5Eclear2(H5E_DEFAULT);
    b->count = n;
    b->heads = heads;
    b->floats = map;
    b->nfloats = mapped / sizeof(float);
    b->layout = layout;
    b->mapped = mapped;
    return true;
  }
  /* Pass 2: the members from their heap collections into one arena. */
  Arena arena = {NULL, 0, 0, false};
  if (ok) {
    arena.base = (char *)pool_take((size_t)room);
    arena.cap = arena.base ? pool_capacity(arena.base) : 0;
    ok = arena.base != NULL;
  }
  HeapCache cache = {0, NULL, 0};
  for (uint32_t i = 0; ok && i < n; i++) {
    for (int m = 0; ok && m < 2; m++) {
      const RawId *r = ids + 2 * (size_t)i + m;
      uint32_t *l = layout + 4 * (size_t)i + 2 * m;
      if (r->len == 0) { l[0] = 0; l[1] = 0; continue; }
      size_t bytes = (size_t)r->len * sizeof(float);
      size_t at = arena.used;
      if (r->len > UINT32_MAX || at + pre + bytes > arena.cap || (at + pre) / sizeof(float) > UINT32_MAX) { ok = false; break; }
      uint8_t *dst = (uint8_t *)arena.base + at;
      /* Usually the object is the first of its collection: one read brings the collection's and the object's headers
         (into the gap before the object's place) and the object itself. */
      if (!(cache.bytes && cache.addr == r->addr) &&
          pread_full(L.fd, dst, pre + bytes, L.base + r->addr) && memcmp(dst, "GCOL", 4) == 0 && dst[4] == 1 &&
          le_uint(dst + hdr, 2) == r->index && le_uint(dst + hdr + 8, L.sizeof_size) == bytes &&
          le_uint(dst + 8, L.sizeof_size) >= pre + bytes) {
        /* in place */
      } else if (!heap_object_walk(&L, &cache, r->addr, r->index, bytes, dst + pre)) {
        ok = false;
        break;
      }
      l[0] = (uint32_t)((at + pre) / sizeof(float));
      l[1] = (uint32_t)r->len;
      arena.used = at + pre + bytes;
    }
  }
  free(cache.bytes);
  free(chunk);
  free(ids);
  H5Dclose(did);
  H5Eclear2(H5E_DEFAULT);
  if (!ok) {
    free(heads);
    free(layout);
    pool_give(arena.base);
    return false;
  }
  b->count = n;
  b->heads = heads;
  b->floats = (float *)arena.base;
  b->nfloats = arena.used / sizeof(float);
  b->layout = layout;
  return true;
}

/* Reads rows [start, start+count) of `<group>/data`, fewer when their headers imply more than max_bytes of samples
   (at least one). Caller holds the lock. False with the reason collected and *code set. */
static bool read_block(Handle *h, uint32_t start, uint32_t count, uint64_t max_bytes, Block *b, const char **code) {
  memset(b, 0, sizeof *b);
  *code = "ERR_ISMRMRD_HDF5";
  if (!h->open) { err_add("the dataset was closed"); return false; }
  if (count == 0) {
    b->heads = (uint8_t *)malloc(1); b->floats = (float *)pool_take(sizeof(float)); b->layout = (uint32_t *)malloc(sizeof(uint32_t));
    if (b->heads && b->floats && b->layout) return true;
    err_add("out of memory");
    block_free(b);
    return false;
  }
  if (raw_read_block(h, start, count, max_bytes, b)) return true;
  /* Pass 1: the headers alone (compound member subset: no vlen data is read), to size the block and the arena. */
  hid_t htype = H5Tcreate(H5T_COMPOUND, ACQ_HEAD);
  hid_t head = acq_head_type();
  H5Tinsert(htype, "head", 0, head);
  H5Tclose(head);
  Rows r;
  uint8_t *heads = (uint8_t *)read_rows(h, "data", start, count, htype, ACQ_HEAD, H5P_DEFAULT, &r, code);
  H5Tclose(htype);
  if (!heads) return false;
  rows_close(&r);
  uint64_t total = 0;
  uint32_t n = 0;
  for (; n < count; n++) {
    uint64_t f = implied_floats((const ISMRMRD_AcquisitionHeader *)(heads + (size_t)n * ACQ_HEAD));
    if (n > 0 && (total + f) * sizeof(float) > max_bytes) break;
    total += f;
  }
  free(heads);
  /* Pass 2: the n rows, vlen members into the arena. */
  Arena arena = {NULL, 0, 0, false};
  /* Capped: a header claiming absurd sizes must not reserve gigabytes; what does not fit falls back to malloc. */
  uint64_t want = total * sizeof(float);
  arena.base = (char *)pool_take(want > ARENA_MAX_BYTES ? ARENA_MAX_BYTES : (size_t)want);
  arena.cap = arena.base ? pool_capacity(arena.base) : 0;
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  hid_t mtype = acq_row_type();
  AcqRow *rows = NULL;
  bool keep_arena = false;
  bool ok = arena.base != NULL && dxpl >= 0 && H5Pset_vlen_mem_manager(dxpl, arena_alloc, &arena, arena_free, &arena) >= 0;
  if (!ok) err_add("out of memory");
  else rows = (AcqRow *)read_rows(h, "data", start, n, mtype, sizeof(AcqRow), dxpl, &r, code);
  ok = rows != NULL;
  if (ok) {
    b->count = n;
    b->heads = (uint8_t *)malloc((size_t)n * ACQ_HEAD + 1);
    b->layout = (uint32_t *)malloc((size_t)n * 4 * sizeof(uint32_t) + 1);
    size_t exact = 0;
    for (uint32_t i = 0; i < n; i++) exact += rows[i].traj.len + rows[i].data.len;
    if (!b->heads || !b->layout) { err_add("out of memory"); ok = false; }
    else if (exact > UINT32_MAX || arena.used / sizeof(float) > UINT32_MAX) { err_add("block too large"); ok = false; }
    else if (!arena.overflowed) {
      /* Every member came from the arena, in some order: the offsets are where they landed. */
      b->floats = (float *)arena.base;
      b->nfloats = arena.used / sizeof(float); /* every member lies below the arena's high-water mark */
      keep_arena = true;
      for (uint32_t i = 0; i < n; i++) {
        uint32_t *l = b->layout + 4 * (size_t)i;
        l[0] = rows[i].traj.len ? (uint32_t)(((float *)rows[i].traj.p) - b->floats) : 0;
        l[1] = (uint32_t)rows[i].traj.len;
        l[2] = rows[i].data.len ? (uint32_t)(((float *)rows[i].data.p) - b->floats) : 0;
        l[3] = (uint32_t)rows[i].data.len;
      }
    } else {
      /* Some header lied about its sizes: copy every member into an exact buffer. */
      b->floats = (float *)pool_take(exact * sizeof(float));
      b->nfloats = exact;
      if (!b->floats) { err_add("out of memory"); ok = false; }
      size_t at = 0;
      for (uint32_t i = 0; ok && i < n; i++) {
        uint32_t *l = b->layout + 4 * (size_t)i;
        l[0] = (uint32_t)at; l[1] = (uint32_t)rows[i].traj.len;
        if (rows[i].traj.len) memcpy(b->floats + at, rows[i].traj.p, rows[i].traj.len * sizeof(float));
        at += rows[i].traj.len;
        l[2] = (uint32_t)at; l[3] = (uint32_t)rows[i].data.len;
        if (rows[i].data.len) memcpy(b->floats + at, rows[i].data.p, rows[i].data.len * sizeof(float));
        at += rows[i].data.len;
      }
    }
    for (uint32_t i = 0; ok && i < n; i++) memcpy(b->heads + (size_t)i * ACQ_HEAD, &rows[i].head, ACQ_HEAD);
    RECLAIM_WITH(mtype, r.memspace, dxpl, rows);
    free(rows);
    rows_close(&r);
  }
  H5Tclose(mtype);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (!keep_arena) pool_give(arena.base);
  H5Eclear2(H5E_DEFAULT);
  if (!ok) block_free(b);
  return ok;
}

/*
 * GC accounting of the blocks. V8 counts an external backing store's bytes as
 * external memory, and every 64 MB of growth starts a full (mark-compact)
 * collection; it also counts young ArrayBuffers' bytes, and once 32 MB of them
 * are alive every ArrayBuffer JavaScript allocates first runs a young-generation
 * collection. A block's samples are therefore a SharedArrayBuffer (counted by
 * neither); its small headers and layout arrays are external buffers whose bytes
 * are taken off the external count when made and put back when freed.
 */
static void free_external(napi_env env, void *data, void *hint) {
  free(data);
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, (int64_t)(uintptr_t)hint, &adjusted);
}

static void pool_release(void *data, size_t bytes, void *hint) { pool_give(data); }

static void mapped_release(void *data, size_t bytes, void *hint) { munmap(data, bytes); }

/* A typed array over malloc'd `data`, which JS then owns; NULL (data freed) on failure. */
static napi_value take_typed(napi_env env, napi_typedarray_type type, void *data, size_t count, size_t esz) {
  size_t bytes = count * esz;
  napi_value ab, ta;
  if (napi_create_external_arraybuffer(env, data, bytes, free_external, (void *)(uintptr_t)bytes, &ab) != napi_ok) {
    free(data);
    return NULL;
  }
  int64_t adjusted = 0;
  napi_adjust_external_memory(env, -(int64_t)bytes, &adjusted);
  if (napi_create_typedarray(env, type, count, ab, 0, &ta) != napi_ok) return NULL;
  return ta;
}

/* {heads: Uint8Array(count × 340), floats: Float32Array, layout: Uint32Array(4 × count)}; JS takes the block's memory. */
static napi_value block_to_js(napi_env env, Block *b) {
  napi_value obj, heads, floats, layout;
  uint8_t *hp = b->heads; float *fp = b->floats; uint32_t *lp = b->layout;
  uint32_t n = b->count; size_t nf = b->nfloats;
  bool mapped = b->mapped > 0;
  memset(b, 0, sizeof *b);
  heads = take_typed(env, napi_uint8_array, hp, (size_t)n * ACQ_HEAD, 1);
  /* The samples (pooled or mapped) become a SharedArrayBuffer (shared_external.h): no young-generation collection
     for them, and compute threads read the readouts where they lie. */
  floats = gantry_shared_float32(env, fp, nf, mapped ? mapped_release : pool_release, NULL);
  layout = take_typed(env, napi_uint32_array, lp, (size_t)n * 4, sizeof(uint32_t));
  if (!heads || !floats || !layout || napi_create_object(env, &obj) != napi_ok ||
      napi_set_named_property(env, obj, "heads", heads) != napi_ok ||
      napi_set_named_property(env, obj, "floats", floats) != napi_ok ||
      napi_set_named_property(env, obj, "layout", layout) != napi_ok) {
    return fail_js_rows(env, "an acquisition block");
  }
  return obj;
}

static bool get_block_args(napi_env env, napi_value *argv, uint32_t *start, uint32_t *count, uint64_t *max_bytes) {
  double d = 0;
  if (!get_range(env, argv, start, count)) return false;
  if (napi_get_value_double(env, argv[2], &d) != napi_ok || !(d >= 1)) {
    throw_plain(env, 1, "Cannot read an acquisition block: maxBytes must be a number >= 1");
    return false;
  }
  *max_bytes = d >= 1.8e19 ? UINT64_MAX : (uint64_t)d;
  return true;
}

/* readAcquisitionBlockSync(h, start, count, maxBytes) → block (see block_to_js) */
static napi_value js_read_acquisition_block_sync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  uint32_t start, count;
  uint64_t max_bytes;
  if (!get_block_args(env, argv + 1, &start, &count, &max_bytes)) return NULL;
  char what[1400];
  read_what(h, "acquisitions", start, count, what, sizeof what);
  err_reset();
  Block b;
  const char *code;
  if (!read_block(h, start, count, max_bytes, &b, &code)) return throw_with(env, code, what);
  return block_to_js(env, &b);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref handle_ref;
  Handle *h;
  uint32_t start, count;
  uint64_t max_bytes;
  Block block;
  bool ok;
  const char *code;
  char what[1400];
  char message[ERR_CAP + 1500];
} BlockWork;

static void block_execute(napi_env env, void *data) {
  (void)env;
  BlockWork *w = (BlockWork *)data;
  hdf5_lock();
  err_reset();
  w->ok = read_block(w->h, w->start, w->count, w->max_bytes, &w->block, &w->code);
  if (!w->ok) {
    drain_ismrmrd_errors();
    snprintf(w->message, sizeof w->message, "%s: %s", w->what, g_err_len ? g_err : "unknown HDF5 error");
  }
  err_reset();
  hdf5_unlock();
}

static void block_complete(napi_env env, napi_status status, void *data) {
  BlockWork *w = (BlockWork *)data;
  napi_value result = NULL, code, msg;
  if (status == napi_ok && w->ok) {
    result = block_to_js(env, &w->block);
  } else {
    if (status != napi_ok) snprintf(w->message, sizeof w->message, "%s: the read was cancelled", w->what);
    if (napi_create_string_utf8(env, w->code ? w->code : "ERR_ISMRMRD_HDF5", NAPI_AUTO_LENGTH, &code) == napi_ok &&
        napi_create_string_utf8(env, w->message, NAPI_AUTO_LENGTH, &msg) == napi_ok) {
      napi_create_error(env, code, msg, &result);
    }
  }
  if (result == NULL) {
    /* A JS exception is pending (allocation failed): turn it into the rejection. */
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &result);
    else napi_get_undefined(env, &result);
    napi_reject_deferred(env, w->deferred, result);
  } else if (status == napi_ok && w->ok) {
    napi_resolve_deferred(env, w->deferred, result);
  } else {
    napi_reject_deferred(env, w->deferred, result);
  }
  block_free(&w->block);
  napi_delete_reference(env, w->handle_ref);
  napi_delete_async_work(env, w->work);
  free(w);
}

/* readAcquisitionBlock(h, start, count, maxBytes) → Promise<block>: read on a worker thread. */
static napi_value js_read_acquisition_block(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  BlockWork *w = (BlockWork *)calloc(1, sizeof *w);
  if (!w) { napi_throw_error(env, NULL, "Cannot allocate an acquisition block read"); return NULL; }
  if (!get_block_args(env, argv + 1, &w->start, &w->count, &w->max_bytes)) { free(w); return NULL; }
  w->h = h;
  read_what(h, "acquisitions", w->start, w->count, w->what, sizeof w->what);
  napi_value promise, name;
  if (napi_create_reference(env, argv[0], 1, &w->handle_ref) != napi_ok) { free(w); return NULL; }
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "gantry:readAcquisitionBlock", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, block_execute, block_complete, w, &w->work) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_reference(env, w->handle_ref);
    free(w);
    return fail_js_rows(env, "an acquisition block");
  }
  return promise;
}

/* readImages(h, varName, start, count) → [{head: Uint8Array(198), attributes: string|null, data: ArrayBuffer}] */
static napi_value js_read_images(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  uint32_t start, count;
  if (!get_range(env, argv + 2, &start, &count)) return NULL;
  char *var = get_string(env, argv[1], "image variable name");
  if (!var) return NULL;
  char loc[1024], what[1600];
  where(h, loc, sizeof loc);
  snprintf(what, sizeof what, "Cannot read images %u..%llu of %s from %s", start, (unsigned long long)start + count, var, loc);
  napi_value arr;
  if (napi_create_array_with_length(env, count, &arr) != napi_ok) { free(var); return NULL; }
  if (count == 0) { free(var); return arr; }
  err_reset();

  char *hpath = join_path(h->ds.groupname, var, "header");
  char *apath = join_path(h->ds.groupname, var, "attributes");
  char *dpath = join_path(h->ds.groupname, var, "data");
  free(var);
  Rows hr = {-1, -1, -1}, ar = {-1, -1, -1};
  hid_t htype = -1, stype = -1, ftype = -1;
  ISMRMRD_ImageHeader *heads = NULL;
  char **attrs = NULL;
  bool attrs_read = false;
  bool oor = false;
  napi_value result = NULL;
  const char *code = "ERR_ISMRMRD_HDF5";

  if (!hpath || !apath || !dpath) { err_add("out of memory"); goto done; }
  if (!rows_open(h->ds.fileid, hpath, start, count, 1, NULL, &hr, &oor)) { if (oor) code = "ERR_OUT_OF_RANGE"; goto done; }
  htype = img_head_type();
  heads = (ISMRMRD_ImageHeader *)calloc(count, sizeof *heads);
  if (!heads || H5Dread(hr.did, htype, hr.memspace, hr.filespace, H5P_DEFAULT, heads) < 0) { err_add_hdf5(); goto done; }

  if (!rows_open(h->ds.fileid, apath, start, count, 1, NULL, &ar, &oor)) goto done;
  ftype = H5Dget_type(ar.did);
  if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) <= 0) {
    err_add("attributes is not a variable-length string dataset");
    goto done;
  }
  stype = vstring_type(H5Tget_cset(ftype));
  attrs = (char **)calloc(count, sizeof *attrs);
  if (!attrs || H5Dread(ar.did, stype, ar.memspace, ar.filespace, H5P_DEFAULT, attrs) < 0) { err_add_hdf5(); goto done; }
  attrs_read = true;

  for (uint32_t i = 0; i < count; i++) {
    const ISMRMRD_ImageHeader *hd = &heads[i];
    hid_t ptype = pixel_type(hd->data_type);
    if (ptype < 0) {
      char msg[120];
      snprintf(msg, sizeof msg, "image %u has unknown data_type %u", start + i, hd->data_type);
      err_add(msg);
      goto done;
    }
    hsize_t tail[4] = {hd->channels, hd->matrix_size[2], hd->matrix_size[1], hd->matrix_size[0]};
    Rows dr;
    if (!rows_open(h->ds.fileid, dpath, start + i, 1, 5, tail, &dr, &oor)) {
      rows_close(&dr);
      H5Tclose(ptype);
      goto done;
    }
    size_t nbytes = H5Tget_size(ptype) * (size_t)tail[0] * (size_t)tail[1] * (size_t)tail[2] * (size_t)tail[3];
    napi_value ab, obj, head, attr;
    void *buf = NULL;
    bool ok = napi_create_arraybuffer(env, nbytes, &buf, &ab) == napi_ok;
    if (ok && nbytes > 0 && H5Dread(dr.did, ptype, dr.memspace, dr.filespace, H5P_DEFAULT, buf) < 0) {
      err_add_hdf5();
      ok = false;
    }
    rows_close(&dr);
    H5Tclose(ptype);
    if (!ok) goto done;
    head = make_bytes(env, hd, IMG_HEAD);
    if (!head) goto done;
    if (attrs[i]) {
      if (napi_create_string_utf8(env, attrs[i], NAPI_AUTO_LENGTH, &attr) != napi_ok) goto done;
    } else if (napi_get_null(env, &attr) != napi_ok) {
      goto done;
    }
    if (napi_create_object(env, &obj) != napi_ok || napi_set_named_property(env, obj, "head", head) != napi_ok ||
        napi_set_named_property(env, obj, "attributes", attr) != napi_ok ||
        napi_set_named_property(env, obj, "data", ab) != napi_ok || napi_set_element(env, arr, i, obj) != napi_ok) {
      goto done;
    }
  }
  result = arr;

done:
  if (attrs_read) RECLAIM(stype, ar.memspace, attrs);
  free(attrs);
  free(heads);
  if (stype >= 0) H5Tclose(stype);
  if (ftype >= 0) H5Tclose(ftype);
  if (htype >= 0) H5Tclose(htype);
  rows_close(&ar);
  rows_close(&hr);
  free(hpath); free(apath); free(dpath);
  H5Eclear2(H5E_DEFAULT);
  if (result) return result;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) { err_reset(); return NULL; }
  return throw_with(env, code, what);
}

/* ------------------------------------------------------------------ appends */

/* Starts an append: "Cannot append NOUN to FILE group G" into `what`; false (exception thrown) when read-only. */
static bool append_begin(napi_env env, Handle *h, const char *noun, char *what, size_t cap) {
  char loc[1024];
  where(h, loc, sizeof loc);
  snprintf(what, cap, "Cannot append %s to %s", noun, loc);
  return require_writable(env, h, what);
}

/* Ends an append through libismrmrd: throws with the collected reasons unless rc is ISMRMRD_NOERROR. */
static napi_value append_end(napi_env env, int rc, const char *what) {
  if (rc != ISMRMRD_NOERROR) {
    err_add_hdf5();
    return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  }
  drain_ismrmrd_errors();
  return NULL;
}

/* appendAcquisition(h, head: Uint8Array(340), traj: Float32Array, data: Float32Array) */
static napi_value js_append_acquisition(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  View head, traj, data;
  if (!get_view(env, argv[1], napi_uint8_array, false, "acquisition head", &head) ||
      !get_view(env, argv[2], napi_float32_array, false, "acquisition traj", &traj) ||
      !get_view(env, argv[3], napi_float32_array, false, "acquisition data", &data)) {
    return NULL;
  }
  if (head.length != ACQ_HEAD) return throw_plain(env, 1, "Cannot append acquisition: head must be 340 bytes");
  ISMRMRD_Acquisition acq;
  memcpy(&acq.head, head.data, ACQ_HEAD);
  size_t ns = acq.head.number_of_samples;
  size_t want_traj = ns * acq.head.trajectory_dimensions;
  size_t want_data = 2 * ns * acq.head.active_channels;
  char msg[300];
  if (traj.length != want_traj) {
    snprintf(msg, sizeof msg, "Cannot append acquisition: traj length %zu does not match %zu samples x %u dimensions",
             traj.length, ns, acq.head.trajectory_dimensions);
    return throw_plain(env, 1, msg);
  }
  if (data.length != want_data) {
    snprintf(msg, sizeof msg,
             "Cannot append acquisition: data length %zu does not match %zu samples x %u channels x 2 floats",
             data.length, ns, acq.head.active_channels);
    return throw_plain(env, 1, msg);
  }
  char what[1200];
  if (!append_begin(env, h, "acquisition", what, sizeof what)) return NULL;
  acq.traj = (float *)traj.data;
  acq.data = (complex_float_t *)data.data;
  err_reset();
  return append_end(env, ismrmrd_append_acquisition(&h->ds, &acq), what);
}

/* appendWaveform(h, head: Uint8Array(40), data: Uint32Array) */
static napi_value js_append_waveform(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  View head, data;
  if (!get_view(env, argv[1], napi_uint8_array, false, "waveform head", &head) ||
      !get_view(env, argv[2], napi_uint32_array, false, "waveform data", &data)) {
    return NULL;
  }
  if (head.length != WAV_HEAD) return throw_plain(env, 1, "Cannot append waveform: head must be 40 bytes");
  ISMRMRD_Waveform wav;
  memcpy(&wav.head, head.data, WAV_HEAD);
  size_t want = (size_t)wav.head.number_of_samples * wav.head.channels;
  if (data.length != want) {
    char msg[200];
    snprintf(msg, sizeof msg, "Cannot append waveform: data length %zu does not match %u samples x %u channels",
             data.length, wav.head.number_of_samples, wav.head.channels);
    return throw_plain(env, 1, msg);
  }
  char what[1200];
  if (!append_begin(env, h, "waveform", what, sizeof what)) return NULL;
  wav.data = (uint32_t *)data.data;
  err_reset();
  return append_end(env, ismrmrd_append_waveform(&h->ds, &wav), what);
}

/* Checks that an existing image variable's data set can take an image of this shape and type. */
static bool image_var_accepts(hid_t fid, const char *dpath, const ISMRMRD_ImageHeader *hd) {
  if (!path_exists(fid, dpath)) return true;
  hid_t did = H5Dopen2(fid, dpath, H5P_DEFAULT);
  if (did < 0) { err_add_hdf5(); return false; }
  hid_t space = H5Dget_space(did);
  hid_t ftype = H5Dget_type(did);
  hid_t ptype = pixel_type(hd->data_type);
  hsize_t dims[H5S_MAX_RANK];
  int rank = H5Sget_simple_extent_ndims(space);
  bool ok = true;
  char msg[400];
  if (rank != 5) {
    snprintf(msg, sizeof msg, "%s has rank %d, expected 5", dpath, rank);
    err_add(msg);
    ok = false;
  } else {
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (dims[1] != hd->channels || dims[2] != hd->matrix_size[2] || dims[3] != hd->matrix_size[1] ||
        dims[4] != hd->matrix_size[0]) {
      snprintf(msg, sizeof msg,
               "stored images are %llux%llux%llu with %llu channel(s) but this one is %ux%ux%u with %u channel(s)",
               (unsigned long long)dims[4], (unsigned long long)dims[3], (unsigned long long)dims[2],
               (unsigned long long)dims[1], hd->matrix_size[0], hd->matrix_size[1], hd->matrix_size[2], hd->channels);
      err_add(msg);
      ok = false;
    } else if (H5Tequal(ftype, ptype) <= 0) {
      snprintf(msg, sizeof msg, "stored pixels have a different element type than data_type %u", hd->data_type);
      err_add(msg);
      ok = false;
    }
  }
  H5Tclose(ptype);
  H5Tclose(ftype);
  H5Sclose(space);
  H5Dclose(did);
  H5Eclear2(H5E_DEFAULT);
  return ok;
}

/* Checks appendImage's arguments (argv: h, varName, head, attributes, pixels) and fills *im (pixels: a view of
   argv[4]), *var, *attrs (malloc'd; attrs NULL when empty) and `what`. False with a JS exception pending. */
/* Bytes per pixel of an ISMRMRD data type, 0 for an unknown one (here, not libismrmrd's: image_args runs without the lock, and libismrmrd's error stack is shared). */
static size_t image_element_bytes(uint16_t data_type) {
  switch (data_type) {
    case ISMRMRD_USHORT: case ISMRMRD_SHORT: return 2;
    case ISMRMRD_UINT: case ISMRMRD_INT: case ISMRMRD_FLOAT: return 4;
    case ISMRMRD_DOUBLE: case ISMRMRD_CXFLOAT: return 8;
    case ISMRMRD_CXDOUBLE: return 16;
    default: return 0;
  }
}

static bool image_args(napi_env env, napi_value *argv, Handle **hp, ISMRMRD_Image *im, char **var, char **attrs,
                       char *what, size_t what_cap) {
  Handle *h = get_handle(env, argv[0]);
  if (!h) return false;
  View head, pixels;
  if (!get_view(env, argv[2], napi_uint8_array, false, "image head", &head) ||
      !get_view(env, argv[4], napi_uint8_array, true, "image pixels", &pixels)) {
    return false;
  }
  if (head.length != IMG_HEAD) { throw_plain(env, 1, "Cannot append image: head must be 198 bytes"); return false; }
  memcpy(&im->head, head.data, IMG_HEAD);
  char msg[300];
  size_t esz = image_element_bytes(im->head.data_type);
  if (esz == 0) {
    snprintf(msg, sizeof msg, "Cannot append image: unknown data_type %u", im->head.data_type);
    throw_plain(env, 1, msg);
    return false;
  }
  if (im->head.matrix_size[0] == 0 || im->head.matrix_size[1] == 0 || im->head.matrix_size[2] == 0 ||
      im->head.channels == 0) {
    throw_plain(env, 1, "Cannot append image: matrix_size and channels must be positive");
    return false;
  }
  size_t want = esz * im->head.matrix_size[0] * im->head.matrix_size[1] * im->head.matrix_size[2] * im->head.channels;
  if (pixels.byte_length != want) {
    snprintf(msg, sizeof msg, "Cannot append image: %zu pixel bytes do not match %ux%ux%u x %u channel(s) x %zu bytes",
             pixels.byte_length, im->head.matrix_size[0], im->head.matrix_size[1], im->head.matrix_size[2],
             im->head.channels, esz);
    throw_plain(env, 1, msg);
    return false;
  }
  napi_valuetype at;
  if (napi_typeof(env, argv[3], &at) != napi_ok) { throw_plain(env, 0, "Cannot append image: bad attributes"); return false; }
  char *a = NULL;
  if (at == napi_string) {
    a = get_string(env, argv[3], "image attributes");
    if (!a) return false;
    if (a[0] == '\0') { free(a); a = NULL; }
  } else if (at != napi_null && at != napi_undefined) {
    throw_plain(env, 0, "Cannot append image: attributes must be a string or null");
    return false;
  }
  char *v = get_string(env, argv[1], "image variable name");
  if (!v) { free(a); return false; }
  char loc[1024];
  where(h, loc, sizeof loc);
  snprintf(what, what_cap, "Cannot append image to %s/%s in %s", h->ds.groupname, v, loc);
  if (v[0] == '\0') {
    free(a); free(v);
    throw_plain(env, 1, "Cannot append image: the variable name is empty");
    return false;
  }
  if (!require_writable(env, h, what)) { free(a); free(v); return false; }
  im->attribute_string = a;
  im->head.attribute_string_len = a ? (uint32_t)strlen(a) : 0;
  im->data = pixels.data;
  *hp = h;
  *var = v;
  *attrs = a;
  return true;
}

/* Writes *im to <group>/<var> (caller holds the lock): ISMRMRD_NOERROR, or an error with the reason collected. */
static int image_write(Handle *h, const char *var, ISMRMRD_Image *im) {
  char *dpath = join_path(h->ds.groupname, var, "data");
  bool accept = dpath && image_var_accepts(h->ds.fileid, dpath, &im->head);
  free(dpath);
  return accept ? ismrmrd_append_image(&h->ds, var, im) : ISMRMRD_FILEERROR;
}

/* appendImage(h, varName, head: Uint8Array(198), attributes: string|null, pixels: TypedArray) */
static napi_value js_append_image(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv)) return NULL;
  Handle *h = NULL;
  ISMRMRD_Image im;
  char *var = NULL, *attrs = NULL, what[1500];
  if (!image_args(env, argv, &h, &im, &var, &attrs, what, sizeof what)) return NULL;
  err_reset();
  int rc = image_write(h, var, &im);
  free(attrs);
  free(var);
  return append_end(env, rc, what);
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref handle_ref, pixels_ref;
  Handle *h;
  ISMRMRD_Image im;
  char *var, *attrs;
  bool ok;
  char what[1500];
  char message[ERR_CAP + 1600];
} ImageWork;

static void image_execute(napi_env env, void *data) {
  (void)env;
  ImageWork *w = (ImageWork *)data;
  hdf5_lock();
  err_reset();
  if (!w->h->open) {
    err_add("the dataset was closed");
    w->ok = false;
  } else {
    w->ok = image_write(w->h, w->var, &w->im) == ISMRMRD_NOERROR;
    if (!w->ok) err_add_hdf5();
  }
  drain_ismrmrd_errors();
  if (!w->ok) snprintf(w->message, sizeof w->message, "%s: %s", w->what, g_err_len ? g_err : "unknown HDF5 error");
  err_reset();
  hdf5_unlock();
}

static void image_complete(napi_env env, napi_status status, void *data) {
  ImageWork *w = (ImageWork *)data;
  napi_value result = NULL, code, msg;
  if (status == napi_ok && w->ok) {
    napi_get_undefined(env, &result);
    napi_resolve_deferred(env, w->deferred, result);
  } else {
    if (status != napi_ok) snprintf(w->message, sizeof w->message, "%s: the write was cancelled", w->what);
    if (napi_create_string_utf8(env, "ERR_ISMRMRD_HDF5", NAPI_AUTO_LENGTH, &code) != napi_ok ||
        napi_create_string_utf8(env, w->message, NAPI_AUTO_LENGTH, &msg) != napi_ok ||
        napi_create_error(env, code, msg, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) napi_get_and_clear_last_exception(env, &result);
      else napi_get_undefined(env, &result);
    }
    napi_reject_deferred(env, w->deferred, result);
  }
  free(w->var);
  free(w->attrs);
  napi_delete_reference(env, w->pixels_ref);
  napi_delete_reference(env, w->handle_ref);
  napi_delete_async_work(env, w->work);
  free(w);
}

/* appendImageAsync(h, varName, head, attributes, pixels) → Promise<void>: appendImage on a worker thread. The pixels
   are read there: the caller passes an array nobody changes until the promise settles, and orders its writes (two
   writes in flight at once may land in either order). */
static napi_value js_append_image_async(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv)) return NULL;
  ImageWork *w = (ImageWork *)calloc(1, sizeof *w);
  if (!w) { napi_throw_error(env, NULL, "Cannot allocate an image write"); return NULL; }
  if (!image_args(env, argv, &w->h, &w->im, &w->var, &w->attrs, w->what, sizeof w->what)) { free(w); return NULL; }
  napi_value promise, name;
  if (napi_create_reference(env, argv[0], 1, &w->handle_ref) != napi_ok) goto fail;
  if (napi_create_reference(env, argv[4], 1, &w->pixels_ref) != napi_ok) {
    napi_delete_reference(env, w->handle_ref);
    goto fail;
  }
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "gantry:appendImage", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, image_execute, image_complete, w, &w->work) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok) {
    napi_delete_reference(env, w->pixels_ref);
    napi_delete_reference(env, w->handle_ref);
    goto fail;
  }
  return promise;
fail:
  free(w->var);
  free(w->attrs);
  free(w);
  napi_throw_error(env, NULL, "Cannot queue an image write");
  return NULL;
}

/* ------------------------------------------------------------------ listing */

/* listGroup(h, path) → [{name, kind: 'group'|'dataset'|'other'}]; path is relative to the dataset group unless absolute. */
static napi_value js_list_group(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  Handle *h = get_handle(env, argv[0]);
  if (!h) return NULL;
  char *rel = get_string(env, argv[1], "group path");
  if (!rel) return NULL;
  char *path = rel[0] == '/' ? strdup(rel) : (rel[0] ? join_path(h->ds.groupname, rel, NULL) : strdup(h->ds.groupname));
  char loc[1024], what[1600];
  where(h, loc, sizeof loc);
  snprintf(what, sizeof what, "Cannot list %s in %s", rel, loc);
  free(rel);
  err_reset();
  if (!path) { err_add("out of memory"); return throw_with(env, "ERR_ISMRMRD_HDF5", what); }
  hid_t gid = (strcmp(path, "/") == 0 || path_exists(h->ds.fileid, path)) ? H5Gopen2(h->ds.fileid, path, H5P_DEFAULT) : -1;
  free(path);
  if (gid < 0) {
    err_add("no such group");
    err_add_hdf5();
    return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  }
  H5G_info_t ginfo;
  napi_value arr = NULL;
  if (H5Gget_info(gid, &ginfo) < 0 || napi_create_array_with_length(env, (size_t)ginfo.nlinks, &arr) != napi_ok) {
    err_add_hdf5();
    H5Gclose(gid);
    return throw_with(env, "ERR_ISMRMRD_HDF5", what);
  }
  uint32_t out_i = 0;
  for (hsize_t i = 0; i < ginfo.nlinks; i++) {
    ssize_t n = H5Lget_name_by_idx(gid, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
    if (n < 0) continue;
    char *name = (char *)malloc((size_t)n + 1);
    if (!name) break;
    H5Lget_name_by_idx(gid, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, (size_t)n + 1, H5P_DEFAULT);
    const char *kind = "other";
    hid_t oid = H5Oopen(gid, name, H5P_DEFAULT);
    if (oid >= 0) {
      H5I_type_t it = H5Iget_type(oid);
      kind = it == H5I_GROUP ? "group" : it == H5I_DATASET ? "dataset" : "other";
      H5Oclose(oid);
    }
    napi_value obj, jname, jkind;
    bool ok = napi_create_object(env, &obj) == napi_ok &&
              napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &jname) == napi_ok &&
              napi_create_string_utf8(env, kind, NAPI_AUTO_LENGTH, &jkind) == napi_ok &&
              napi_set_named_property(env, obj, "name", jname) == napi_ok &&
              napi_set_named_property(env, obj, "kind", jkind) == napi_ok &&
              napi_set_element(env, arr, out_i++, obj) == napi_ok;
    free(name);
    if (!ok) { H5Gclose(gid); return NULL; }
  }
  H5Gclose(gid);
  H5Eclear2(H5E_DEFAULT);
  return arr;
}

/* ------------------------------------------------------------------ module */

static napi_value js_library_version(napi_env env, napi_callback_info info) {
  (void)info;
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  char buf[96];
  snprintf(buf, sizeof buf, "libismrmrd %d.%d.%d, HDF5 %u.%u.%u", ISMRMRD_VERSION_MAJOR, ISMRMRD_VERSION_MINOR,
           ISMRMRD_VERSION_PATCH, maj, min, rel);
  napi_value out;
  NAPI_OK(napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &out));
  return out;
}

typedef struct {
  const char *name;
  napi_callback fn;
  /* False for the exports that only check their arguments and queue work (no HDF5 or libismrmrd call, only handle
     fields that change on this thread): waiting for the lock there kept the event loop behind a worker's read or
     write, about 0.6 s of the 16-slice cine scan. */
  bool locked;
} Export;

static const Export EXPORTS[] = {
    {"open", js_open, true},
    {"close", js_close, true},
    {"isReadOnly", js_is_read_only, true},
    {"readHeader", js_read_header, true},
    {"writeHeader", js_write_header, true},
    {"acquisitionCount", js_acquisition_count, true},
    {"readAcquisitions", js_read_acquisitions, true},
    {"readAcquisitionBlockSync", js_read_acquisition_block_sync, true},
    {"readAcquisitionBlock", js_read_acquisition_block, false},
    {"appendAcquisition", js_append_acquisition, true},
    {"waveformCount", js_waveform_count, true},
    {"readWaveforms", js_read_waveforms, true},
    {"appendWaveform", js_append_waveform, true},
    {"imageCount", js_image_count, true},
    {"readImages", js_read_images, true},
    {"appendImage", js_append_image, true},
    {"appendImageAsync", js_append_image_async, false},
    {"listGroup", js_list_group, true},
    {"libraryVersion", js_library_version, true},
};

/* Exports run under the HDF5 lock (a worker thread may be inside a block read or an image write), except the
   queueing ones (Export.locked). */
static napi_value locked_call(napi_env env, napi_callback_info info) {
  void *data = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) != napi_ok || data == NULL) return NULL;
  hdf5_lock();
  napi_value out = ((const Export *)data)->fn(env, info);
  hdf5_unlock();
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  pthread_once(&g_lock_once, lock_init);
  hdf5_lock();
  ismrmrd_set_error_handler(on_ismrmrd_error);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hdf5_unlock();
  enum { N = sizeof EXPORTS / sizeof EXPORTS[0] };
  napi_property_descriptor props[N];
  for (size_t i = 0; i < N; i++) {
    props[i] = (napi_property_descriptor){EXPORTS[i].name, NULL, EXPORTS[i].locked ? locked_call : EXPORTS[i].fn, NULL,
                                          NULL, NULL, napi_enumerable, (void *)&EXPORTS[i]};
  }
  if (napi_define_properties(env, exports, N, props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
