/*
 * Gantry's native numeric kernels: an N-API addon in plain C over Debian's
 * FFTW 3 (single precision) and OpenBLAS.
 *
 *   fftc(data, dims, axesMask, inverse[, src])   centred unitary FFT in place, or from src
 *   cgemm(...), cherk(...), cposv(...)    OpenBLAS / its LAPACK, one thread
 *   channelSum(...), channelSumInto(...)  per-pixel channel sums (GRAPPA unmixing, coil combination)
 *   channelSumStrided(...)                channelSumInto with channel strides of their own (lattice unwrap)
 *   coilMapInati(...)                     Inati coil maps (the TypeScript algorithm, same sums)
 *   rootSumOfSquares(...)                 coil combination by root sum of squares (same sums as TypeScript)
 *   magnitude(src, dst)                   |z| of complex pixels (same bits as TypeScript)
 *   copyBlocks(dst, d0, ds, src, s0, ss, len, count)  strided block copy (memcpy; shared memory too)
 *   fillZero(dst)                         memset to 0 (shared memory too)
 *   addInto(dst, d0, src, s0, length)     dst[d0 + i] += src[s0 + i] (float32 sums, as JavaScript's)
 *   setWisdomFile(path | null)            where FFT plans are kept (see below)
 *   retainFreedMemory(bytes)              keep big freed blocks for reuse (glibc)
 *   trackSharedMemory(buffer)             count a SharedArrayBuffer as V8 external memory while alive
 *   scaleInto(dst, src, factor)           dst = src·factor, rounded to float32
 *   toFixedPoint(src, out, mode, ...)     float pixels clamped and rounded to integers (FloatToUShort…)
 *   trimFreedMemory()                     give free heap pages back to the system (glibc malloc_trim)
 *   info()                                library versions and the BLAS core
 *
 * Arrays are column-major, interleaved complex float32 (re, im), as in
 * src/kernels. The JavaScript side (src/kernels/native.ts) checks shapes and
 * extents before calling; the checks here only guard memory safety.
 *
 * Centring without extra passes. With h = ⌊n/2⌋, S_h the cyclic shift
 * (S_h x)[t] = x[(t + h) mod n] and D the diagonal of φ[t] = e^{±2πi·h·t/n}
 * (+ forward, − inverse), Gadgetron's centred transform
 * fftshift ∘ F ∘ ifftshift = S_{−h} F S_h equals F D S_h: one gather that
 * shifts, multiplies by φ (±1 for even n) and by the unitary scale, then a
 * plain DFT, and nothing after. Per axis of a multi-axis transform the
 * factors multiply, because each acts on its own index.
 *
 * Layout. The gather writes into an aligned scratch buffer whose strides
 * are padded to an odd number of cache lines (power-of-two strides thrash
 * the cache sets, and FFTW's planner then picks slow plans for columns). The
 * DFT is a sequence of rank-1 FFTW plans, one per axis, in decreasing axis
 * order, all in place on the scratch except the axis-0 pass, which goes out
 * of place to the caller's array (or, when that is not 16-byte aligned, to
 * a second aligned scratch that is then copied); without an axis-0 pass the
 * lines are copied back. Blocks (the sub-arrays spanned by the transformed
 * axes) go through in chunks of a fixed count per geometry, the last chunk
 * padded, so every block is transformed by the same plan whatever the batch
 * size or the caller's alignment.
 *
 * Determinism. FFTW_MEASURE times candidate plans, so two processes can pick
 * different algorithms and round differently. Here a plan is rebuilt from a
 * wisdom file: the first process that needs a geometry locks the file,
 * measures, writes the wisdom back, and rebuilds its own plans from that
 * wisdom, as every later process does (FFTW_WISDOM_ONLY). The planner always
 * starts from exactly the file's wisdom (fftwf_forget_wisdom, then import),
 * so a plan depends on the problem and the file, not on what this process
 * planned before. Small chunks, or no usable file, get FFTW_ESTIMATE plans
 * from empty wisdom, which involve no timing at all. OpenBLAS runs with one
 * thread, so its sums are in a fixed order.
 */
#define _DEFAULT_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <fcntl.h>
#include <sys/file.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "external_memory.h"

/* OpenBLAS entry points, declared here so the build does not depend on which cblas.h is on the include path. */
typedef int blasint;
enum { CBLAS_COL_MAJOR = 102, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112, CBLAS_CONJ_TRANS = 113, CBLAS_UPPER = 121, CBLAS_LOWER = 122 };
extern void cblas_cgemm(int order, int transa, int transb, blasint m, blasint n, blasint k, const void *alpha, const void *a,
                        blasint lda, const void *b, blasint ldb, const void *beta, void *c, blasint ldc);
extern void cblas_cherk(int order, int uplo, int trans, blasint n, blasint k, float alpha, const void *a, blasint lda, float beta,
                        void *c, blasint ldc);
extern void openblas_set_num_threads(int n);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);
extern void cpotrf_(const char *uplo, const blasint *n, float *a, const blasint *lda, blasint *info, size_t uplo_len);
extern void cpotrs_(const char *uplo, const blasint *n, const blasint *nrhs, const float *a, const blasint *lda, float *b,
                    const blasint *ldb, blasint *info, size_t uplo_len);

#define PI 3.14159265358979323846
#define MAX_RANK 16
#ifndef CHUNK_BYTES
#define CHUNK_BYTES (32 * 1024)
#endif
#define PLAN_CACHE 48

/* FFTW's planner (and plan destruction) is not thread-safe; execution is. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Quiet measurements. FFTW_MEASURE picks a plan by timing candidates, and
 * timings taken while this process's other threads compute are distorted:
 * plans measured during a two-thread reconstruction ran 1.5–1.7× slower than
 * those measured on an idle machine, and the wisdom file keeps them. So the
 * kernels that compute (registered through computing_call, and fftc's
 * execution) count themselves in `computing`; a measurement waits until none
 * is under way and holds new ones back until it is done (a few hundred ms,
 * once per geometry). The one measuring thread is never inside a kernel:
 * fftc plans before it computes, and no other kernel plans.
 */
static pthread_mutex_t quiet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quiet_cond = PTHREAD_COND_INITIALIZER;
static int computing = 0;
static int measuring = 0;

static void compute_enter(void) {
  pthread_mutex_lock(&quiet_lock);
  while (measuring > 0) pthread_cond_wait(&quiet_cond, &quiet_lock);
  computing++;
  pthread_mutex_unlock(&quiet_lock);
}

static void compute_leave(void) {
  pthread_mutex_lock(&quiet_lock);
  if (--computing == 0) pthread_cond_broadcast(&quiet_cond);
  pthread_mutex_unlock(&quiet_lock);
}

static void measure_begin(void) {
  pthread_mutex_lock(&quiet_lock);
  measuring++;
  while (computing > 0) pthread_cond_wait(&quiet_cond, &quiet_lock);
  pthread_mutex_unlock(&quiet_lock);
}

static void measure_end(void) {
  pthread_mutex_lock(&quiet_lock);
  measuring--;
  pthread_cond_broadcast(&quiet_cond);
  pthread_mutex_unlock(&quiet_lock);
}

/* The wisdom file (NULL: none) and the wisdom last read from or written to it; guarded by planner_lock. */
static char *wisdom_path = NULL;
static char *wisdom_text = NULL;
/* Chunks smaller than this (complex elements) are planned with FFTW_ESTIMATE, never measured. */
#define TUNE_MIN_ELEMENTS 2048

typedef struct {
  int rank;              /* dims[0..rank-1] span one block; rank - 1 is the last transformed axis */
  size_t dims[MAX_RANK];
  unsigned axes;         /* bitmask of transformed axes (each of length > 1) */
  int inverse;
  size_t block;          /* complex elements per block in the caller's (dense) layout */
  size_t stride[MAX_RANK];/* the scratch layout: padded strides of dims 0..rank-1 */
  size_t block_stride;   /* scratch elements between blocks */
  size_t count;          /* blocks per chunk */
  int real_phase;        /* every transformed length is even: φ = ±1 */
  double *phase[MAX_RANK];/* complex φ per transformed axis (odd lengths present), else NULL */
  float *sign0;          /* real case, axis 0 transformed: (−1)^t interleaved, 2·dims[0] floats */
  double scale;          /* Π 1/√n */
  int npasses;
  int last_out_of_place; /* axis 0 is transformed: the last pass writes the dense result */
  fftwf_plan passes[MAX_RANK];
  unsigned long long used;
} FftGeometry;

typedef struct {
  float *scratch;
  float *scratch2;
  size_t capacity;       /* complex elements in each scratch */
  FftGeometry *plans[PLAN_CACHE];
  int nplans;
  unsigned long long clock;
} KernelState;

static void destroy_geometry(FftGeometry *g) {
  if (!g) return;
  pthread_mutex_lock(&planner_lock);
  for (int i = 0; i < g->npasses; i++)
    if (g->passes[i]) fftwf_destroy_plan(g->passes[i]);
  pthread_mutex_unlock(&planner_lock);
  for (int i = 0; i < MAX_RANK; i++) free(g->phase[i]);
  free(g->sign0);
  free(g);
}

static void state_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  KernelState *s = data;
  for (int i = 0; i < s->nplans; i++) destroy_geometry(s->plans[i]);
  fftwf_free(s->scratch);
  fftwf_free(s->scratch2);
  free(s);
}

static int ensure_scratch(KernelState *s, size_t elements) {
  if (s->capacity >= elements) return 1;
  fftwf_free(s->scratch);
  fftwf_free(s->scratch2);
  s->scratch = fftwf_malloc(elements * 2 * sizeof(float));
  s->scratch2 = fftwf_malloc(elements * 2 * sizeof(float));
  if (!s->scratch || !s->scratch2) {
    fftwf_free(s->scratch);
    fftwf_free(s->scratch2);
    s->scratch = s->scratch2 = NULL;
    s->capacity = 0;
    return 0;
  }
  s->capacity = elements;
  return 1;
}

/*
 * A scratch stride of at least x complex elements that is an odd number of
 * 64-byte cache lines (x ≡ 8 mod 16), so that the elements of a column fall
 * in every cache set: power-of-two strides thrash the L1 sets, and they are
 * what sends FFTW_ESTIMATE plans of strided columns 7–10× over MEASURE.
 */
static size_t padded(size_t x) {
  if (x < 16) return x;
  return x + ((24 - x % 16) % 16);
}

typedef struct {
  int rank;
  fftwf_iodim64 dims[MAX_RANK];
  fftwf_iodim64 loops[MAX_RANK + 1];
  int nl;
  int oop;
} PassSpec;

/* Starts the planner from exactly the wisdom of the file (or none), so a plan never depends on what was planned before. */
static void reset_wisdom(int with_file) {
  fftwf_forget_wisdom();
  if (with_file && wisdom_text) fftwf_import_wisdom_from_string(wisdom_text);
}

/* Reads the whole wisdom file under a shared (or the caller's exclusive) lock; NULL when empty or unreadable. */
static char *read_wisdom_fd(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (64 << 20)) return NULL;
  char *text = malloc((size_t)st.st_size + 1);
  if (!text) return NULL;
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = pread(fd, text + got, (size_t)st.st_size - got, (off_t)got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  text[got] = 0;
  return text;
}

static void destroy_passes(FftGeometry *g) {
  for (int i = 0; i < g->npasses; i++) {
    if (g->passes[i]) fftwf_destroy_plan(g->passes[i]);
    g->passes[i] = NULL;
  }
}

static int make_passes(KernelState *s, FftGeometry *g, const PassSpec *specs, int k, int inverse, unsigned flags) {
  g->npasses = k;
  for (int p = 0; p < k; p++) {
    fftwf_complex *in = (fftwf_complex *)s->scratch;
    fftwf_complex *out = specs[p].oop ? (fftwf_complex *)s->scratch2 : in;
    g->passes[p] = fftwf_plan_guru64_dft(specs[p].rank, specs[p].dims, specs[p].nl, specs[p].loops, in, out,
                                         inverse ? FFTW_BACKWARD : FFTW_FORWARD, flags);
    if (!g->passes[p]) {
      destroy_passes(g);
      return 0;
    }
  }
  return 1;
}

/*
 * Plans the passes (planner_lock held). With a wisdom file: a plan the file
 * knows is rebuilt from it; otherwise, for chunks worth it, the file is
 * locked, re-read, and the passes are measured (FFTW_MEASURE), the wisdom is
 * written back, and the plans are rebuilt from that wisdom — so this process
 * runs exactly the plans every later process will rebuild. Without a file,
 * or for small chunks, FFTW_ESTIMATE from empty wisdom. Either way a plan is
 * a function of the problem and the file, never of timing in this process.
 */
static int plan_passes(KernelState *s, FftGeometry *g, const PassSpec *specs, int k, int inverse, int worth_tuning) {
  if (wisdom_path && worth_tuning) {
    reset_wisdom(1);
    if (make_passes(s, g, specs, k, inverse, FFTW_MEASURE | FFTW_WISDOM_ONLY)) return 1;
    /* Measure only where the result can be written for the next process: otherwise plans would differ between processes. */
    int fd = open(wisdom_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && flock(fd, LOCK_EX) == 0) {
      char *text = read_wisdom_fd(fd);
      if (text) {
        free(wisdom_text);
        wisdom_text = text;
      }
      reset_wisdom(1);
      int found = make_passes(s, g, specs, k, inverse, FFTW_MEASURE | FFTW_WISDOM_ONLY);
      int measured = 0;
      if (!found) {
        measure_begin();
        measured = make_passes(s, g, specs, k, inverse, FFTW_MEASURE);
        measure_end();
      }
      if (measured) {
        destroy_passes(g);
        char *fresh = fftwf_export_wisdom_to_string();
        size_t len = fresh ? strlen(fresh) : 0;
        if (fresh && ftruncate(fd, 0) == 0 && pwrite(fd, fresh, len, 0) == (ssize_t)len && fsync(fd) == 0) {
          free(wisdom_text);
          wisdom_text = fresh;
          reset_wisdom(1);
          found = make_passes(s, g, specs, k, inverse, FFTW_MEASURE | FFTW_WISDOM_ONLY);
        } else {
          /* Not written: put back what the file held, so no plan depends on this process's measurements. */
          free(fresh);
          if (wisdom_text) {
            size_t old = strlen(wisdom_text);
            if (ftruncate(fd, 0) != 0 || pwrite(fd, wisdom_text, old, 0) != (ssize_t)old) {
              /* the file is now empty or partial; a later reader re-measures */
            }
          }
        }
      }
      flock(fd, LOCK_UN);
      close(fd);
      if (found) return 1;
    } else if (fd >= 0) {
      close(fd);
    }
  }
  reset_wisdom(0);
  return make_passes(s, g, specs, k, inverse, FFTW_ESTIMATE);
}

/* Sets the wisdom file (NULL or "": none) and reads it; returns 1 when it can be read or created. */
static int set_wisdom_file(const char *path) {
  pthread_mutex_lock(&planner_lock);
  free(wisdom_path);
  free(wisdom_text);
  wisdom_path = NULL;
  wisdom_text = NULL;
  int ok = 1;
  if (path && *path) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (flock(fd, LOCK_SH) == 0) {
        wisdom_text = read_wisdom_fd(fd);
        flock(fd, LOCK_UN);
      }
      close(fd);
      wisdom_path = strdup(path);
    } else {
      ok = 0;
    }
  }
  pthread_mutex_unlock(&planner_lock);
  return ok;
}

/*
 * Plans for one geometry: one rank-1 pass per transformed axis over a chunk
 * of `count` blocks in the padded scratch layout, in decreasing axis order.
 * When axis 0 is transformed its pass comes last and goes out of place
 * from the scratch to a dense array (the caller's, or scratch2); otherwise
 * every pass runs in place and the lines are copied back.
 */
static FftGeometry *make_geometry(KernelState *s, int rank, const size_t *dims, unsigned axes, int inverse) {
  PassSpec est[MAX_RANK];
  FftGeometry *g = calloc(1, sizeof *g);
  if (!g) return NULL;
  g->rank = rank;
  g->axes = axes;
  g->inverse = inverse;
  size_t block = 1;
  size_t dense[MAX_RANK];
  g->real_phase = 1;
  double scale = 1.0;
  size_t st = 1;
  for (int i = 0; i < rank; i++) {
    g->dims[i] = dims[i];
    dense[i] = block;
    block *= dims[i];
    g->stride[i] = st;
    st = padded(st * dims[i]);
    if (axes & (1u << i)) {
      scale /= sqrt((double)dims[i]);
      if (dims[i] % 2) g->real_phase = 0;
    }
  }
  g->block = block;
  g->block_stride = rank == 1 ? dims[0] : st;
  g->scale = scale;
  size_t count = CHUNK_BYTES / (block * 2 * sizeof(float));
  if (count < 1) count = 1;
  size_t p2 = 1;
  while (p2 * 2 <= count) p2 *= 2;
  g->count = p2;
  g->last_out_of_place = (axes & 1u) != 0;
  if (!ensure_scratch(s, g->block_stride * g->count > block * g->count ? g->block_stride * g->count : block * g->count)) {
    free(g);
    return NULL;
  }
  if (g->real_phase) {
    if (axes & 1u) {
      g->sign0 = malloc(2 * dims[0] * sizeof(float));
      if (!g->sign0) goto fail;
      for (size_t t = 0; t < dims[0]; t++) g->sign0[2 * t] = g->sign0[2 * t + 1] = (t & 1) ? -1.0f : 1.0f;
    }
  } else {
    for (int i = 0; i < rank; i++) {
      if (!(axes & (1u << i))) continue;
      size_t n = dims[i], h = n / 2;
      g->phase[i] = malloc(2 * n * sizeof(double));
      if (!g->phase[i]) goto fail;
      for (size_t t = 0; t < n; t++) {
        size_t r = (h * t) % n;
        double angle = (inverse ? -2.0 : 2.0) * PI * (double)r / (double)n;
        g->phase[i][2 * t] = r == 0 ? 1.0 : 2 * r == n ? -1.0 : cos(angle);
        g->phase[i][2 * t + 1] = r == 0 || 2 * r == n ? 0.0 : sin(angle);
      }
    }
  }
  int order[MAX_RANK], k = 0;
  for (int i = rank - 1; i >= 0; i--)
    if (axes & (1u << i)) order[k++] = i;
  for (int p = 0; p < k; p++) {
    int a = order[p];
    int oop = p == k - 1 && g->last_out_of_place;
    PassSpec *ps = &est[p];
    ps->rank = 1;
    ps->dims[0].n = (ptrdiff_t)dims[a];
    ps->dims[0].is = (ptrdiff_t)g->stride[a];
    ps->dims[0].os = (ptrdiff_t)(oop ? dense[a] : g->stride[a]);
    ps->nl = 0;
    for (int i = 0; i < rank; i++) {
      if (i == a) continue;
      ps->loops[ps->nl].n = (ptrdiff_t)dims[i];
      ps->loops[ps->nl].is = (ptrdiff_t)g->stride[i];
      ps->loops[ps->nl].os = (ptrdiff_t)(oop ? dense[i] : g->stride[i]);
      ps->nl++;
    }
    if (g->count > 1) {
      ps->loops[ps->nl].n = (ptrdiff_t)g->count;
      ps->loops[ps->nl].is = (ptrdiff_t)g->block_stride;
      ps->loops[ps->nl].os = (ptrdiff_t)(oop ? block : g->block_stride);
      ps->nl++;
    }
    ps->oop = oop;
  }
  pthread_mutex_lock(&planner_lock);
  int ok = plan_passes(s, g, est, k, inverse, block * g->count >= TUNE_MIN_ELEMENTS);
  pthread_mutex_unlock(&planner_lock);
  if (!ok) goto fail;
  return g;
fail:
  destroy_geometry(g);
  return NULL;
}

static FftGeometry *find_geometry(KernelState *s, int rank, const size_t *dims, unsigned axes, int inverse) {
  for (int i = 0; i < s->nplans; i++) {
    FftGeometry *g = s->plans[i];
    if (g->rank != rank || g->axes != axes || g->inverse != inverse) continue;
    if (memcmp(g->dims, dims, (size_t)rank * sizeof(size_t)) != 0) continue;
    g->used = ++s->clock;
    return g;
  }
  FftGeometry *g = make_geometry(s, rank, dims, axes, inverse);
  if (!g) return NULL;
  g->used = ++s->clock;
  if (s->nplans == PLAN_CACHE) {
    int oldest = 0;
    for (int i = 1; i < s->nplans; i++)
      if (s->plans[i]->used < s->plans[oldest]->used) oldest = i;
    destroy_geometry(s->plans[oldest]);
    s->plans[oldest] = s->plans[--s->nplans];
  }
  s->plans[s->nplans++] = g;
  return g;
}

/*
 * y = scale·Π φ_a[t_a]·x[shifted] for `blocks` consecutive dense blocks of x,
 * written in the padded scratch layout of y. Walks lines along axis 0.
 * The source is read in memory order (the shifted index is the
 * destination's), one stream for the hardware prefetcher: with each line's
 * second half read first, gathers of 384- and 512-point lines took 1.7×
 * as long. An AVX2 clone where the CPU has it: the same multiplications
 * (no FMA), so the same bits, 1.5–1.9× faster than the SSE2 baseline.
 */
__attribute__((target_clones("avx2", "default"))) static void gather(const FftGeometry *g, const float *restrict x, float *restrict y, size_t blocks) {
  const int rank = g->rank;
  const size_t n0 = g->dims[0];
  const int t0 = (g->axes & 1u) != 0;
  const size_t h0 = t0 ? n0 / 2 : 0;
  const size_t lines_per_block = g->block / n0;
  size_t idx[MAX_RANK] = {0};
  size_t src_stride[MAX_RANK];
  size_t st = n0;
  for (int i = 1; i < rank; i++) {
    src_stride[i] = st;
    st *= g->dims[i];
  }
  for (size_t b = 0; b < blocks; b++) {
    const float *xb = x + 2 * b * g->block;
    float *yb = y + 2 * b * g->block_stride;
    for (int i = 0; i < rank; i++) idx[i] = 0;
    for (size_t line = 0; line < lines_per_block; line++) {
      size_t src = 0, dst = 0;
      double cre = g->scale, cim = 0.0;
      int parity = 0;
      for (int i = 1; i < rank; i++) {
        /* idx counts source lines, so the block is read in memory order; a transformed axis's destination index is
           t = idx + n − ⌊n/2⌋ (mod n), whose source, shifted by ⌊n/2⌋, is idx itself. */
        const size_t u = idx[i];
        size_t t = u;
        if (g->axes & (1u << i)) {
          const size_t n = g->dims[i];
          t = u + n - n / 2;
          if (t >= n) t -= n;
        }
        dst += t * g->stride[i];
        src += u * src_stride[i];
        if (g->axes & (1u << i)) {
          if (g->real_phase) {
            parity ^= (int)(t & 1);
          } else {
            double pr = g->phase[i][2 * t], pi = g->phase[i][2 * t + 1];
            double r = cre * pr - cim * pi;
            cim = cre * pi + cim * pr;
            cre = r;
          }
        }
      }
      const float *restrict xs = xb + 2 * src;
      float *restrict yd = yb + 2 * dst;
      if (g->real_phase) {
        const float c = (float)(parity ? -cre : cre);
        if (t0) {
          const float *restrict sg = g->sign0;
          const size_t first = n0 - h0;
          /* The source line in memory order: its first half lands in the second part of the scratch line. */
          for (size_t j = 0; j < 2 * h0; j++) yd[2 * first + j] = c * sg[2 * first + j] * xs[j];
          for (size_t j = 0; j < 2 * first; j++) yd[j] = c * sg[j] * xs[2 * h0 + j];
        } else {
          for (size_t j = 0; j < 2 * n0; j++) yd[j] = c * xs[j];
        }
      } else if (t0) {
        const double *ph = g->phase[0];
        /* t from n0 − h0 reads the source from u = 0: in memory order, as above. */
        for (size_t k = 0; k < n0; k++) {
          size_t t = k + n0 - h0;
          if (t >= n0) t -= n0;
          size_t u = t + h0;
          if (u >= n0) u -= n0;
          double fr = cre * ph[2 * t] - cim * ph[2 * t + 1];
          double fi = cre * ph[2 * t + 1] + cim * ph[2 * t];
          double xr = xs[2 * u], xi = xs[2 * u + 1];
          yd[2 * t] = (float)(fr * xr - fi * xi);
          yd[2 * t + 1] = (float)(fr * xi + fi * xr);
        }
      } else {
        for (size_t t = 0; t < n0; t++) {
          double xr = xs[2 * t], xi = xs[2 * t + 1];
          yd[2 * t] = (float)(cre * xr - cim * xi);
          yd[2 * t + 1] = (float)(cre * xi + cim * xr);
        }
      }
      for (int i = 1; i < rank; i++) {
        if (++idx[i] < g->dims[i]) break;
        idx[i] = 0;
      }
    }
  }
}

/* Copies `blocks` blocks from the padded scratch layout back to dense x. */
static void scatter(const FftGeometry *g, const float *restrict y, float *restrict x, size_t blocks) {
  const int rank = g->rank;
  const size_t n0 = g->dims[0];
  const size_t lines_per_block = g->block / n0;
  size_t idx[MAX_RANK] = {0};
  for (size_t b = 0; b < blocks; b++) {
    const float *yb = y + 2 * b * g->block_stride;
    float *xb = x + 2 * b * g->block;
    for (int i = 0; i < rank; i++) idx[i] = 0;
    for (size_t line = 0; line < lines_per_block; line++) {
      size_t src = 0;
      for (int i = 1; i < rank; i++) src += idx[i] * g->stride[i];
      memcpy(xb + 2 * line * n0, yb + 2 * src, 2 * n0 * sizeof(float));
      for (int i = 1; i < rank; i++) {
        if (++idx[i] < g->dims[i]) break;
        idx[i] = 0;
      }
    }
  }
}

/*
 * Transforms `outer` consecutive blocks of `src` into `dst` (the same array for in place). The gather reads
 * `src` once into the scratch, so a separate source costs no copy, and the bits are those of copying it first.
 */
static void run_fft(KernelState *s, const FftGeometry *g, const float *src, float *data, size_t outer) {
  for (size_t first = 0; first < outer; first += g->count) {
    size_t blocks = outer - first < g->count ? outer - first : g->count;
    float *x = data + 2 * first * g->block;
    gather(g, src + 2 * first * g->block, s->scratch, blocks);
    if (blocks < g->count) {
      size_t used = blocks * g->block_stride, all = g->count * g->block_stride;
      memset(s->scratch + 2 * used, 0, 2 * (all - used) * sizeof(float));
    }
    fftwf_complex *in = (fftwf_complex *)s->scratch;
    int inplace = g->npasses - (g->last_out_of_place ? 1 : 0);
    for (int p = 0; p < inplace; p++) fftwf_execute_dft(g->passes[p], in, in);
    if (!g->last_out_of_place) {
      scatter(g, s->scratch, x, blocks);
      continue;
    }
    int direct = blocks == g->count && ((uintptr_t)x & 15u) == 0;
    fftwf_complex *out = direct ? (fftwf_complex *)x : (fftwf_complex *)s->scratch2;
    fftwf_execute_dft(g->passes[g->npasses - 1], in, out);
    if (!direct) memcpy(x, s->scratch2, 2 * blocks * g->block * sizeof(float));
  }
}

/* The N-API surface (a C-only build of the FFT core for experiments defines GANTRY_KERNELS_CORE_ONLY). */
#ifndef GANTRY_KERNELS_CORE_ONLY
static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_GANTRY_KERNELS", msg);
  return NULL;
}
static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_GANTRY_KERNELS", msg);
  return NULL;
}

static KernelState *get_state(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) != napi_ok) return NULL;
  return data;
}

/* The data and element count of a typed array of the given type; 0 if `v` is not one. */
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **ptr, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, ptr, &ab, &off) != napi_ok || type != want) return 0;
  return 1;
}

static int get_f32(napi_env env, napi_value v, float **ptr, size_t *len) {
  void *p;
  if (!get_typed(env, v, napi_float32_array, &p, len)) return 0;
  *ptr = p;
  return 1;
}

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int64(env, v, out) == napi_ok;
}

static int get_f64(napi_env env, napi_value v, double *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_double(env, v, out) == napi_ok;
}

/* fftc(data: Float32Array, dims: number[], axesMask: number, inverse: boolean): undefined */
static napi_value js_fftc(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_type(env, "Cannot apply fftc: expected (data, dims, axesMask, inverse[, src])");
  float *data;
  size_t len;
  if (!get_f32(env, argv[0], &data, &len)) return throw_type(env, "Cannot apply fftc: data is not a Float32Array");
  /* Optional source of the same length: data = F(src), src unchanged (src === data is in place). */
  float *src = data;
  napi_valuetype src_type = napi_undefined;
  if (argc >= 5 && napi_typeof(env, argv[4], &src_type) == napi_ok && src_type != napi_undefined) {
    size_t slen;
    if (!get_f32(env, argv[4], &src, &slen)) return throw_type(env, "Cannot apply fftc: src is not a Float32Array");
    if (slen != len) return throw_range(env, "Cannot apply fftc: src and data differ in length");
    if (src != data && src < data + len && data < src + slen) return throw_range(env, "Cannot apply fftc: src and data overlap");
  }
  bool is_array;
  uint32_t rank;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &rank) != napi_ok)
    return throw_type(env, "Cannot apply fftc: dims is not an array");
  if (rank > MAX_RANK) return throw_range(env, "Cannot apply fftc: more than 16 dimensions");
  size_t dims[MAX_RANK];
  size_t total = 1;
  for (uint32_t i = 0; i < rank; i++) {
    napi_value e;
    int64_t d;
    if (napi_get_element(env, argv[1], i, &e) != napi_ok || !get_i64(env, e, &d) || d < 1 || d > INT32_MAX)
      return throw_range(env, "Cannot apply fftc: a dimension is not a positive 32-bit integer");
    dims[i] = (size_t)d;
    total *= (size_t)d;
  }
  int64_t mask64;
  if (!get_i64(env, argv[2], &mask64) || mask64 < 0 || mask64 >= (1ll << rank))
    return throw_range(env, "Cannot apply fftc: the axes mask names an axis the array does not have");
  bool inverse;
  if (napi_get_value_bool(env, argv[3], &inverse) != napi_ok) return throw_type(env, "Cannot apply fftc: inverse is not a boolean");
  if (len != 2 * total) return throw_range(env, "Cannot apply fftc: data length does not match the dimensions");
  unsigned axes = 0;
  int last = -1;
  for (uint32_t i = 0; i < rank; i++) {
    if ((mask64 >> i) & 1 && dims[i] > 1) {
      axes |= 1u << i;
      last = (int)i;
    }
  }
  if (last < 0) {
    if (src != data) memcpy(data, src, len * sizeof(float));
    return NULL;
  }
  KernelState *s = get_state(env);
  if (!s) return throw_type(env, "Cannot apply fftc: the kernels addon has no state");
  int brank = last + 1;
  size_t block = 1;
  for (int i = 0; i < brank; i++) block *= dims[i];
  FftGeometry *g = find_geometry(s, brank, dims, axes, inverse ? 1 : 0);
  if (!g) {
    napi_throw_error(env, "ERR_GANTRY_KERNELS", "Cannot apply fftc: FFTW could not plan the transform or memory ran out");
    return NULL;
  }
  compute_enter();
  run_fft(s, g, src, data, total / block);
  compute_leave();
  return NULL;
}

static int get_trans(napi_env env, napi_value v, int *out) {
  int64_t t;
  if (!get_i64(env, v, &t) || t < 0 || t > 2) return 0;
  *out = t == 0 ? CBLAS_NO_TRANS : t == 1 ? CBLAS_TRANS : CBLAS_CONJ_TRANS;
  return 1;
}

/* Does a column-major rows × cols matrix with leading dimension ld fit in len floats? */
static int fits(int64_t rows, int64_t cols, int64_t ld, size_t len) {
  if (rows < 0 || cols < 0 || ld < 1 || ld < rows || ld > INT32_MAX) return 0;
  if (rows == 0 || cols == 0) return 1;
  uint64_t need = 2 * ((uint64_t)ld * (uint64_t)(cols - 1) + (uint64_t)rows);
  return need <= len;
}

/* cgemm(opA, opB, m, n, k, alphaRe, alphaIm, a, lda, b, ldb, betaRe, betaIm, c, ldc), op: 0 N, 1 T, 2 C */
static napi_value js_cgemm(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value argv[15];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 15) return throw_type(env, "Cannot apply cgemm: expected 15 arguments");
  int ta, tb;
  int64_t m, n, k, lda, ldb, ldc;
  double ar, ai, br, bi;
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!get_trans(env, argv[0], &ta) || !get_trans(env, argv[1], &tb)) return throw_range(env, "Cannot apply cgemm: bad op");
  if (!get_i64(env, argv[2], &m) || !get_i64(env, argv[3], &n) || !get_i64(env, argv[4], &k) || m < 0 || n < 0 || k < 0 ||
      m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
    return throw_range(env, "Cannot apply cgemm: bad sizes");
  if (!get_f64(env, argv[5], &ar) || !get_f64(env, argv[6], &ai) || !get_f64(env, argv[11], &br) || !get_f64(env, argv[12], &bi))
    return throw_type(env, "Cannot apply cgemm: alpha and beta must be numbers");
  if (!get_f32(env, argv[7], &a, &la) || !get_f32(env, argv[9], &b, &lb) || !get_f32(env, argv[13], &c, &lc))
    return throw_type(env, "Cannot apply cgemm: matrices must be Float32Arrays");
  if (!get_i64(env, argv[8], &lda) || !get_i64(env, argv[10], &ldb) || !get_i64(env, argv[14], &ldc))
    return throw_type(env, "Cannot apply cgemm: leading dimensions must be integers");
  int64_t arows = ta == CBLAS_NO_TRANS ? m : k, acols = ta == CBLAS_NO_TRANS ? k : m;
  int64_t brows = tb == CBLAS_NO_TRANS ? k : n, bcols = tb == CBLAS_NO_TRANS ? n : k;
  if (!fits(arows, acols, lda, la) || !fits(brows, bcols, ldb, lb) || !fits(m, n, ldc, lc))
    return throw_range(env, "Cannot apply cgemm: a matrix does not fit its array");
  if (m == 0 || n == 0) return NULL;
  float alpha[2] = {(float)ar, (float)ai}, beta[2] = {(float)br, (float)bi};
  cblas_cgemm(CBLAS_COL_MAJOR, ta, tb, (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c,
              (blasint)ldc);
  return NULL;
}

/* cherk(upper, trans, n, k, alpha, a, lda, beta, c, ldc), trans: 0 N (C = αAAᴴ + βC), 2 C (C = αAᴴA + βC) */
static napi_value js_cherk(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 10) return throw_type(env, "Cannot apply cherk: expected 10 arguments");
  bool upper;
  int64_t trans, n, k, lda, ldc;
  double alpha, beta;
  float *a, *c;
  size_t la, lc;
  if (napi_get_value_bool(env, argv[0], &upper) != napi_ok) return throw_type(env, "Cannot apply cherk: upper must be a boolean");
  if (!get_i64(env, argv[1], &trans) || (trans != 0 && trans != 2)) return throw_range(env, "Cannot apply cherk: bad trans");
  if (!get_i64(env, argv[2], &n) || !get_i64(env, argv[3], &k) || n < 0 || k < 0 || n > INT32_MAX || k > INT32_MAX)
    return throw_range(env, "Cannot apply cherk: bad sizes");
  if (!get_f64(env, argv[4], &alpha) || !get_f64(env, argv[7], &beta)) return throw_type(env, "Cannot apply cherk: alpha and beta must be numbers");
  if (!get_f32(env, argv[5], &a, &la) || !get_f32(env, argv[8], &c, &lc)) return throw_type(env, "Cannot apply cherk: matrices must be Float32Arrays");
  if (!get_i64(env, argv[6], &lda) || !get_i64(env, argv[9], &ldc)) return throw_type(env, "Cannot apply cherk: leading dimensions must be integers");
  int64_t arows = trans == 0 ? n : k, acols = trans == 0 ? k : n;
  if (!fits(arows, acols, lda, la) || !fits(n, n, ldc, lc)) return throw_range(env, "Cannot apply cherk: a matrix does not fit its array");
  if (n == 0) return NULL;
  cblas_cherk(CBLAS_COL_MAJOR, upper ? CBLAS_UPPER : CBLAS_LOWER, trans == 0 ? CBLAS_NO_TRANS : CBLAS_CONJ_TRANS, (blasint)n, (blasint)k,
              (float)alpha, a, (blasint)lda, (float)beta, c, (blasint)ldc);
  return NULL;
}

/* cposv(upper, n, nrhs, a, lda, b, ldb) → 0, or the LAPACK info (> 0: not positive definite at that pivot) */
static napi_value js_cposv(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) return throw_type(env, "Cannot apply cposv: expected 7 arguments");
  bool upper;
  int64_t n, nrhs, lda, ldb;
  float *a, *b;
  size_t la, lb;
  if (napi_get_value_bool(env, argv[0], &upper) != napi_ok) return throw_type(env, "Cannot apply cposv: upper must be a boolean");
  if (!get_i64(env, argv[1], &n) || !get_i64(env, argv[2], &nrhs) || n < 0 || nrhs < 0 || n > INT32_MAX || nrhs > INT32_MAX)
    return throw_range(env, "Cannot apply cposv: bad sizes");
  if (!get_f32(env, argv[3], &a, &la) || !get_f32(env, argv[5], &b, &lb)) return throw_type(env, "Cannot apply cposv: matrices must be Float32Arrays");
  if (!get_i64(env, argv[4], &lda) || !get_i64(env, argv[6], &ldb)) return throw_type(env, "Cannot apply cposv: leading dimensions must be integers");
  if (!fits(n, n, lda, la) || !fits(n, nrhs, ldb, lb)) return throw_range(env, "Cannot apply cposv: a matrix does not fit its array");
  blasint info_ = 0;
  if (n > 0) {
    blasint bn = (blasint)n, br = (blasint)nrhs, bla = (blasint)lda, blb = (blasint)ldb;
    const char *uplo = upper ? "U" : "L";
    cpotrf_(uplo, &bn, a, &bla, &info_, 1);
    if (info_ == 0 && nrhs > 0) cpotrs_(uplo, &bn, &br, a, &bla, b, &blb, &info_, 1);
  }
  napi_value out;
  napi_create_int32(env, (int32_t)info_, &out);
  return out;
}

/*
 * Per-pixel channel sums for GRAPPA unmixing and coil combination:
 *
 *   dst[p] = (float)(scale · Σ_{c < channels} op(u_c[p])·a_c[p]),  op = conj or identity,
 *
 * u and a hold `channels` planes of `vol` interleaved complex values. Each
 * pixel's sum runs over the channels in order in double precision as
 * acc = (acc + ur·ar) − ui·ai (imaginary: (acc + ur·ai) + ui·ar), the
 * expression the TypeScript fallback evaluates, so both give the same bits
 * (the products of float32 values are exact in double; no FMA contraction
 * on the baseline x86-64 target). Pixels go in blocks so the accumulators
 * stay in L1 while the channel planes stream by.
 */
#define CHANNEL_SUM_BLOCK 512

/* acc[2i..2i+1] += op(u_c)·a_c for the n pixels from p0, channels in order (the expression of the header above). */
__attribute__((target_clones("avx2", "default"))) static void channel_sum_block(double *restrict acc, const float *restrict u, const float *restrict a, size_t u_stride, size_t a_stride,
                              size_t p0, size_t n, size_t channels, double su) {
  for (size_t c = 0; c < channels; c++) {
    const float *restrict uc = u + 2 * (u_stride * c + p0);
    const float *restrict ac = a + 2 * (a_stride * c + p0);
    for (size_t i = 0; i < n; i++) {
      const double ur = uc[2 * i], ui = su * uc[2 * i + 1];
      const double ar = ac[2 * i], ai = ac[2 * i + 1];
      const double re = acc[2 * i] + ur * ar, im = acc[2 * i + 1] + ur * ai;
      acc[2 * i] = re - ui * ai;
      acc[2 * i + 1] = im + ui * ar;
    }
  }
}

static void channel_sum(const float *restrict u, const float *restrict a, size_t vol, size_t channels, int conj_u, double scale,
                        float *restrict dst) {
  double acc[2 * CHANNEL_SUM_BLOCK]; /* interleaved (re, im), as the operands: the compiler pairs the two halves in one vector */
  const double su = conj_u ? -1.0 : 1.0;
  for (size_t p0 = 0; p0 < vol; p0 += CHANNEL_SUM_BLOCK) {
    const size_t n = vol - p0 < CHANNEL_SUM_BLOCK ? vol - p0 : CHANNEL_SUM_BLOCK;
    for (size_t i = 0; i < 2 * n; i++) acc[i] = 0.0;
    channel_sum_block(acc, u, a, vol, vol, p0, n, channels, su);
    for (size_t i = 0; i < 2 * n; i++) dst[2 * p0 + i] = (float)(acc[i] * scale);
  }
}

/* The same sums continued in a caller's float64 accumulator acc (vol interleaved complex values): channels may come in
   pieces; channel c of u and a starts u_stride and a_stride complex values after channel c − 1. */
static void channel_sum_into(const float *restrict u, const float *restrict a, size_t vol, size_t channels, int conj_u, double *restrict acc,
                             size_t u_stride, size_t a_stride) {
  const double su = conj_u ? -1.0 : 1.0;
  for (size_t p0 = 0; p0 < vol; p0 += CHANNEL_SUM_BLOCK) {
    const size_t n = vol - p0 < CHANNEL_SUM_BLOCK ? vol - p0 : CHANNEL_SUM_BLOCK;
    channel_sum_block(acc + 2 * p0, u, a, u_stride, a_stride, p0, n, channels, su);
  }
}

static int get_f64arr(napi_env env, napi_value v, double **ptr, size_t *len) {
  void *p;
  if (!get_typed(env, v, napi_float64_array, &p, len)) return 0;
  *ptr = p;
  return 1;
}

/* Reads (u, a, vol, channels, conjU) of the channel sums, u and a at least vol·channels values long (their lengths in
   *lu, *la); 0 after throwing. */
static int channel_sum_args(napi_env env, napi_value *argv, const char *what, float **u, float **a, size_t *lu, size_t *la, int64_t *vol,
                            int64_t *channels, bool *conj_u) {
  char msg[160];
  if (!get_f32(env, argv[0], u, lu) || !get_f32(env, argv[1], a, la)) {
    snprintf(msg, sizeof msg, "Cannot apply %s: u and a must be Float32Arrays", what);
    throw_type(env, msg);
    return 0;
  }
  if (!get_i64(env, argv[2], vol) || !get_i64(env, argv[3], channels) || *vol < 0 || *channels < 0 || *vol > INT32_MAX || *channels > INT32_MAX) {
    snprintf(msg, sizeof msg, "Cannot apply %s: bad sizes", what);
    throw_range(env, msg);
    return 0;
  }
  if (napi_get_value_bool(env, argv[4], conj_u) != napi_ok) {
    snprintf(msg, sizeof msg, "Cannot apply %s: conjU must be a boolean", what);
    throw_type(env, msg);
    return 0;
  }
  uint64_t need = 2 * (uint64_t)*vol * (uint64_t)*channels;
  if (*lu < need || *la < need) {
    snprintf(msg, sizeof msg, "Cannot apply %s: u or a is too short", what);
    throw_range(env, msg);
    return 0;
  }
  return 1;
}

/* channelSum(u, a, vol, channels, conjU, scale, dst: Float32Array): see channel_sum */
static napi_value js_channel_sum(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 7) return throw_type(env, "Cannot apply channelSum: expected (u, a, vol, channels, conjU, scale, dst)");
  float *u, *a, *dst;
  size_t ld, lu, la;
  int64_t vol, channels;
  bool conj_u;
  double scale;
  if (!channel_sum_args(env, argv, "channelSum", &u, &a, &lu, &la, &vol, &channels, &conj_u)) return NULL;
  if (!get_f64(env, argv[5], &scale)) return throw_type(env, "Cannot apply channelSum: scale must be a number");
  if (!get_f32(env, argv[6], &dst, &ld)) return throw_type(env, "Cannot apply channelSum: dst must be a Float32Array");
  if (ld < 2 * (uint64_t)vol) return throw_range(env, "Cannot apply channelSum: dst is too short");
  channel_sum(u, a, (size_t)vol, (size_t)channels, conj_u, scale, dst);
  return NULL;
}

/* channelSumInto(u, a, vol, channels, conjU, acc: Float64Array) and channelSumStrided(…, acc, uStride, aStride): see
   channel_sum_into (channelSumInto: both strides vol). */
static napi_value channel_sum_into_call(napi_env env, napi_callback_info info, bool strided) {
  const char *what = strided ? "channelSumStrided" : "channelSumInto";
  char msg[160];
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < (strided ? 8u : 6u)) {
    snprintf(msg, sizeof msg, "Cannot apply %s: expected (u, a, vol, channels, conjU, acc%s)", what, strided ? ", uStride, aStride" : "");
    return throw_type(env, msg);
  }
  float *u, *a;
  double *acc;
  size_t lacc, lu, la;
  int64_t vol, channels;
  bool conj_u;
  /* Strides ≥ vol need at least the vol·channels values these checks ask for; the stride checks below ask the rest. */
  if (!channel_sum_args(env, argv, what, &u, &a, &lu, &la, &vol, &channels, &conj_u)) return NULL;
  int64_t strides[2] = {vol, vol};
  for (int k = 0; strided && k < 2; k++) {
    snprintf(msg, sizeof msg, "Cannot apply %s: a channel stride is not an integer from vol to 2^31 − 1", what);
    if (!get_i64(env, argv[6 + k], &strides[k]) || strides[k] < vol || strides[k] > INT32_MAX) return throw_range(env, msg);
  }
  snprintf(msg, sizeof msg, "Cannot apply %s: acc must be a Float64Array of at least vol complex values", what);
  if (!get_f64arr(env, argv[5], &acc, &lacc) || lacc < 2 * (uint64_t)vol) return throw_type(env, msg);
  if (channels > 0 && vol > 0) {
    uint64_t need_u = 2 * ((uint64_t)strides[0] * (uint64_t)(channels - 1) + (uint64_t)vol);
    uint64_t need_a = 2 * ((uint64_t)strides[1] * (uint64_t)(channels - 1) + (uint64_t)vol);
    snprintf(msg, sizeof msg, "Cannot apply %s: u or a is too short", what);
    if (lu < need_u || la < need_a) return throw_range(env, msg);
  }
  channel_sum_into(u, a, (size_t)vol, (size_t)channels, conj_u, acc, (size_t)strides[0], (size_t)strides[1]);
  return NULL;
}

static napi_value js_channel_sum_into(napi_env env, napi_callback_info info) { return channel_sum_into_call(env, info, false); }
static napi_value js_channel_sum_strided(napi_env env, napi_callback_info info) { return channel_sum_into_call(env, info, true); }

/*
 * Root sum of squares along one axis (coil combination):
 * dst[stride·(i + inner·o)] = √(Σ_c |src[i + inner·(c + n·o)]|²), the sum in
 * float64 in channel order from 0, as rootSumOfSquares in
 * src/kernels/complex-ops.ts (same bits: the products of float32 values are
 * exact in float64, and there is no FMA contraction).
 */
#define RSS_BLOCK 1024
/* √(sum)/divisor in float64, rounded once (divisor 1: the root itself); an AVX2 clone where the CPU has it, the same
   operations in the same order, so the same bits. */
__attribute__((target_clones("avx2", "default"))) static void root_sum_of_squares(const float *restrict src, size_t inner, size_t n, size_t outer, float *restrict dst,
                                                                                 size_t stride, double divisor) {
  double acc[RSS_BLOCK];
  for (size_t o = 0; o < outer; o++) {
    for (size_t i0 = 0; i0 < inner; i0 += RSS_BLOCK) {
      const size_t len = inner - i0 < RSS_BLOCK ? inner - i0 : RSS_BLOCK;
      for (size_t i = 0; i < len; i++) acc[i] = 0;
      for (size_t c = 0; c < n; c++) {
        const float *restrict s = src + 2 * (i0 + inner * (c + n * o));
        for (size_t i = 0; i < len; i++) {
          const double re = s[2 * i], im = s[2 * i + 1];
          acc[i] += re * re + im * im;
        }
      }
      float *restrict d = dst + stride * (i0 + inner * o);
      for (size_t i = 0; i < len; i++) d[stride * i] = (float)(sqrt(acc[i]) / divisor);
    }
  }
}

/* rootSumOfSquares(src, inner, n, outer, dst, stride, divisor = 1): each root divided by `divisor` (> 0) before rounding */
static napi_value js_root_sum_of_squares(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_type(env, "Cannot compute root sum of squares: expected (src, inner, n, outer, dst, stride)");
  float *src, *dst;
  size_t lsrc, ldst;
  int64_t inner, n, outer, stride;
  if (!get_f32(env, argv[0], &src, &lsrc) || !get_f32(env, argv[4], &dst, &ldst))
    return throw_type(env, "Cannot compute root sum of squares: src and dst must be Float32Arrays");
  if (!get_i64(env, argv[1], &inner) || !get_i64(env, argv[2], &n) || !get_i64(env, argv[3], &outer) || !get_i64(env, argv[5], &stride) ||
      inner < 0 || n < 0 || outer < 0 || stride < 1 || stride > 64 || (outer > 0 && inner > ((int64_t)1 << 48) / outer))
    return throw_range(env, "Cannot compute root sum of squares: bad sizes");
  const uint64_t count = (uint64_t)inner * (uint64_t)outer; /* < 2^48 */
  if (n > 0 && count > 0 && (uint64_t)lsrc / 2 / (uint64_t)n < count) return throw_range(env, "Cannot compute root sum of squares: src is too short");
  if (count > 0 && ldst < (uint64_t)stride * (count - 1) + 1) return throw_range(env, "Cannot compute root sum of squares: dst is too short");
  double divisor = 1;
  if (argc >= 7 && (!get_f64(env, argv[6], &divisor) || !(divisor > 0) || !isfinite(divisor)))
    return throw_range(env, "Cannot compute root sum of squares: the divisor must be a positive finite number");
  root_sum_of_squares(src, (size_t)inner, (size_t)n, (size_t)outer, dst, (size_t)stride, divisor);
  return NULL;
}

/* dst[i] = √(re² + im²) of n interleaved complex values, in float64, rounded to float32. The AVX2 clone computes
   the same correctly rounded square roots four at a time (no errno to set: -fno-math-errno). */
__attribute__((target_clones("avx2", "default"))) static void magnitudes(const float *restrict src, float *restrict dst, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double re = src[2 * i], im = src[2 * i + 1];
    dst[i] = (float)sqrt(re * re + im * im);
  }
}

/* magnitude(src, dst): dst[i] = √(re² + im²) in float64, rounded to float32 (as complexToReal in src/gadgets/image-pixels.ts). */
static napi_value js_magnitude(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return throw_type(env, "Cannot compute magnitudes: expected (src, dst)");
  float *src, *dst;
  size_t lsrc, ldst;
  if (!get_f32(env, argv[0], &src, &lsrc) || !get_f32(env, argv[1], &dst, &ldst))
    return throw_type(env, "Cannot compute magnitudes: src and dst must be Float32Arrays");
  if (ldst < lsrc / 2) return throw_range(env, "Cannot compute magnitudes: dst is too short");
  magnitudes(src, dst, lsrc / 2);
  return NULL;
}

/* Reads argv[i] as a non-negative integer (a float64 that is whole and below 2^53). */
static bool get_index(napi_env env, napi_value v, uint64_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 9007199254740991.0 || d != (double)(uint64_t)d) return false;
  *out = (uint64_t)d;
  return true;
}

/*
 * copyBlocks(dst, dstStart, dstStride, src, srcStart, srcStride, length, count):
 * for k < count, dst[dstStart + k·dstStride + i] = src[srcStart + k·srcStride + i], i < length (floats).
 * A plain memcpy per block: TypedArray.prototype.set between SharedArrayBuffers copies word by word
 * with relaxed atomics, several times slower.
 */
static napi_value js_copy_blocks(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 8) return throw_type(env, "Cannot copy blocks: expected (dst, dstStart, dstStride, src, srcStart, srcStride, length, count)");
  float *dst, *src;
  size_t ldst, lsrc;
  if (!get_f32(env, argv[0], &dst, &ldst) || !get_f32(env, argv[3], &src, &lsrc))
    return throw_type(env, "Cannot copy blocks: dst and src must be Float32Arrays");
  uint64_t d0, ds, s0, ss, len, count;
  if (!get_index(env, argv[1], &d0) || !get_index(env, argv[2], &ds) || !get_index(env, argv[4], &s0) || !get_index(env, argv[5], &ss) ||
      !get_index(env, argv[6], &len) || !get_index(env, argv[7], &count))
    return throw_type(env, "Cannot copy blocks: starts, strides, length and count must be non-negative integers");
  if (count == 0 || len == 0) return NULL;
  const uint64_t big = (uint64_t)1 << 50;
  if (ds > big || ss > big || count > big || len > big) return throw_range(env, "Cannot copy blocks: sizes out of range");
  if (d0 + (count - 1) * ds + len > ldst) return throw_range(env, "Cannot copy blocks: dst is too short");
  if (s0 + (count - 1) * ss + len > lsrc) return throw_range(env, "Cannot copy blocks: src is too short");
  for (uint64_t k = 0; k < count; k++) memmove(dst + d0 + k * ds, src + s0 + k * ss, (size_t)len * sizeof(float));
  return NULL;
}

/*
 * addInto(dst, dstStart, src, srcStart, length): dst[dstStart + i] += src[srcStart + i] for i < length, each sum
 * rounded to float32 (the bits of JavaScript's Float32Array update: a sum of two floats rounds the same through
 * float64). For averaging buffers in shared memory, which V8 reads and writes element by element.
 */
static napi_value js_add_into(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5) return throw_type(env, "Cannot add arrays: expected (dst, dstStart, src, srcStart, length)");
  float *dst, *src;
  size_t ldst, lsrc;
  if (!get_f32(env, argv[0], &dst, &ldst) || !get_f32(env, argv[2], &src, &lsrc)) return throw_type(env, "Cannot add arrays: dst and src must be Float32Arrays");
  uint64_t d0, s0, len;
  if (!get_index(env, argv[1], &d0) || !get_index(env, argv[3], &s0) || !get_index(env, argv[4], &len))
    return throw_type(env, "Cannot add arrays: starts and length must be non-negative integers");
  if (d0 > ldst || len > ldst - d0 || s0 > lsrc || len > lsrc - s0) return throw_range(env, "Cannot add arrays: the range does not fit");
  float *restrict d = dst + d0;
  const float *restrict a = src + s0;
  for (uint64_t i = 0; i < len; i++) d[i] += a[i];
  return NULL;
}

/*
 * scaleInto(dst, src, factor): dst[i] = src[i]·factor for i < src.length, each product of the float and the double
 * factor rounded once to float32 (JavaScript's Float32Array store of the same product).
 */
static napi_value js_scale_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *dst, *src;
  size_t ldst, lsrc;
  double factor;
  if (argc < 3 || !get_f32(env, argv[0], &dst, &ldst) || !get_f32(env, argv[1], &src, &lsrc) || !get_f64(env, argv[2], &factor))
    return throw_type(env, "Cannot scale: expected (dst: Float32Array, src: Float32Array, factor: number)");
  if (ldst < lsrc) return throw_range(env, "Cannot scale: dst is shorter than src");
  for (size_t i = 0; i < lsrc; i++) dst[i] = (float)((double)src[i] * factor);
  return NULL;
}

/* One pixel of toFixedPoint: clamp to [lo, hi] (hi wins when lo > hi), round half away from zero, and reduce modulo
   2^32 as JavaScript's integer conversions do (NaN and ±∞ give 0); the low 16 or 32 bits are the stored value. */
static inline uint64_t fixed_round(double v, double lo, double hi) {
  const double low = v < lo ? lo : v;
  const double c = low > hi ? hi : low;
  const double a = fabs(c);
  const double t = floor(a);
  const double r = t + (a - t >= 0.5 ? 1.0 : 0.0);
  if (!isfinite(r)) return 0;
  const double w = r >= 4294967296.0 ? fmod(r, 4294967296.0) : r; /* exact: r is an integer */
  return c < 0 ? (uint64_t)(-(int64_t)w) : (uint64_t)w;
}

/* The loop of toFixedPoint below into 16-bit (bytes 2) or 32-bit (4) integers: the low bits of fixed_round's value are
   stored whether the type is signed or not. The AVX2 clone rounds with the SSE4.1 instruction instead of a call to
   libm's floor (the same exact result). */
__attribute__((target_clones("avx2", "default"))) static void to_fixed_point(const float *restrict src, size_t n, void *restrict out, int bytes, int m,
                                                                            double lo, double hi, double offset) {
  for (size_t i = 0; i < n; i++) {
    const double x = (double)src[i];
    const double v = m == 0 ? fabs(x) : m == 1 ? x + offset : (x * offset) / M_PI + offset;
    const uint64_t r = fixed_round(v, lo, hi);
    if (bytes == 2) ((uint16_t *)out)[i] = (uint16_t)r;
    else ((uint32_t *)out)[i] = (uint32_t)r;
  }
}

/*
 * toFixedPoint(src: Float32Array, out: Uint16Array|Int16Array|Uint32Array|Int32Array, mode, min, max, offset):
 * out[i] = round(clamp(x)) with x = |src[i]| (mode 0, magnitude), src[i] + offset (1, real or imaginary) or
 * src[i]·offset/π + offset (2, phase), in double as JavaScript evaluates it, stored with JavaScript's wrap-around
 * integer conversion (src/gadgets/float-to-fixed-point.ts).
 */
static napi_value js_to_fixed_point(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *src;
  size_t n, lout;
  double mode, lo, hi, offset;
  if (argc < 6 || !get_f32(env, argv[0], &src, &n) || !get_f64(env, argv[2], &mode) || !get_f64(env, argv[3], &lo) ||
      !get_f64(env, argv[4], &hi) || !get_f64(env, argv[5], &offset) || !(mode == 0 || mode == 1 || mode == 2))
    return throw_type(env, "Cannot convert to fixed point: expected (src: Float32Array, out, mode 0|1|2, min, max, offset)");
  napi_typedarray_type type;
  void *out;
  napi_value ab;
  size_t off;
  bool is_typed = false;
  if (napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[1], &type, &lout, &out, &ab, &off) != napi_ok ||
      !(type == napi_uint16_array || type == napi_int16_array || type == napi_uint32_array || type == napi_int32_array))
    return throw_type(env, "Cannot convert to fixed point: out must be a Uint16Array, Int16Array, Uint32Array or Int32Array");
  if (lout < n) return throw_range(env, "Cannot convert to fixed point: out is shorter than src");
  to_fixed_point(src, n, out, type == napi_uint16_array || type == napi_int16_array ? 2 : 4, (int)mode, lo, hi, offset);
  return NULL;
}

/*
 * weightedCopy(dst, dstStart, src, srcStart, length, w, weights, weightsStart): for i < length complex values,
 * dst[dstStart + 2i + k] = src[srcStart + 2i + k]·(w·weights[weightsStart + i]) for k = 0, 1, the weight formed in
 * float64 and the product rounded once to float32 (the expression of the TypeScript fallback in src/kernels/copy.ts:
 * a reference line windowed by a filter, for coil maps).
 */
static napi_value js_weighted_copy(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "Cannot copy with weights: expected (dst: Float32Array, dstStart, src: Float32Array, srcStart, length, w, weights: Float64Array, weightsStart)";
  if (argc < 8) return throw_type(env, usage);
  float *dst, *src;
  void *wp;
  size_t ldst, lsrc, lw;
  double w;
  uint64_t d0, s0, len, w0;
  if (!get_f32(env, argv[0], &dst, &ldst) || !get_f32(env, argv[2], &src, &lsrc) || !get_typed(env, argv[6], napi_float64_array, &wp, &lw) ||
      !get_f64(env, argv[5], &w) || !get_index(env, argv[1], &d0) || !get_index(env, argv[3], &s0) || !get_index(env, argv[4], &len) ||
      !get_index(env, argv[7], &w0))
    return throw_type(env, usage);
  if (d0 > ldst || 2 * len > ldst - d0 || s0 > lsrc || 2 * len > lsrc - s0 || w0 > lw || len > lw - w0)
    return throw_range(env, "Cannot copy with weights: the range does not fit the arrays");
  const double *restrict weights = (const double *)wp + w0;
  float *restrict d = dst + d0;
  const float *restrict a = src + s0;
  for (uint64_t i = 0; i < len; i++) {
    const double f = w * weights[i];
    d[2 * i] = (float)((double)a[2 * i] * f);
    d[2 * i + 1] = (float)((double)a[2 * i + 1] * f);
  }
  return NULL;
}

/*
 * noiseCovariance(data, samples, channels, acc): acc(i, j) += Σ_s conj(D(s, i))·D(s, j) for one readout D
 * (samples × channels, interleaved complex float32, channel planes), acc channels × channels column-major complex
 * float64; each pair's sum runs over the samples in order from 0, and is added to acc(i, j) and (conjugated) to
 * acc(j, i): the operations of accumulateNoiseCovariance in src/kernels/noise-whitening.ts, so the same bits. Four
 * pairs at a time, for four independent chains of additions.
 */
/* acc(i, j) += re + i·im and, off the diagonal, acc(j, i) += re − i·im. */
static inline void add_pair(double *restrict acc, size_t channels, size_t i, size_t j, double re, double im) {
  const size_t ij = 2 * (i + channels * j), ji = 2 * (j + channels * i);
  acc[ij] += re;
  acc[ij + 1] += im;
  if (i != j) {
    acc[ji] += re;
    acc[ji + 1] -= im;
  }
}

static void noise_covariance(const float *restrict data, size_t samples, size_t channels, double *restrict acc) {
  for (size_t j = 0; j < channels; j++) {
    const float *restrict b = data + 2 * samples * j;
    size_t i = 0;
    for (; i + 4 <= j + 1; i += 4) {
      const float *a0 = data + 2 * samples * i, *a1 = a0 + 2 * samples, *a2 = a1 + 2 * samples, *a3 = a2 + 2 * samples;
      double re0 = 0, im0 = 0, re1 = 0, im1 = 0, re2 = 0, im2 = 0, re3 = 0, im3 = 0;
      for (size_t t = 0; t < samples; t++) {
        const double br = b[2 * t], bi = b[2 * t + 1];
        re0 += (double)a0[2 * t] * br + (double)a0[2 * t + 1] * bi;
        im0 += (double)a0[2 * t] * bi - (double)a0[2 * t + 1] * br;
        re1 += (double)a1[2 * t] * br + (double)a1[2 * t + 1] * bi;
        im1 += (double)a1[2 * t] * bi - (double)a1[2 * t + 1] * br;
        re2 += (double)a2[2 * t] * br + (double)a2[2 * t + 1] * bi;
        im2 += (double)a2[2 * t] * bi - (double)a2[2 * t + 1] * br;
        re3 += (double)a3[2 * t] * br + (double)a3[2 * t + 1] * bi;
        im3 += (double)a3[2 * t] * bi - (double)a3[2 * t + 1] * br;
      }
      add_pair(acc, channels, i, j, re0, im0);
      add_pair(acc, channels, i + 1, j, re1, im1);
      add_pair(acc, channels, i + 2, j, re2, im2);
      add_pair(acc, channels, i + 3, j, re3, im3);
    }
    for (; i <= j; i++) {
      const float *a = data + 2 * samples * i;
      double re = 0, im = 0;
      for (size_t t = 0; t < samples; t++) {
        const double br = b[2 * t], bi = b[2 * t + 1];
        re += (double)a[2 * t] * br + (double)a[2 * t + 1] * bi;
        im += (double)a[2 * t] * bi - (double)a[2 * t + 1] * br;
      }
      add_pair(acc, channels, i, j, re, im);
    }
  }
}

static napi_value js_noise_covariance(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  const char *usage = "Cannot accumulate noise: expected (data: Float32Array, samples, channels, acc: Float64Array)";
  if (argc < 4) return throw_type(env, usage);
  float *data;
  void *accp;
  size_t ldata, lacc;
  uint64_t samples, channels;
  if (!get_f32(env, argv[0], &data, &ldata) || !get_index(env, argv[1], &samples) || !get_index(env, argv[2], &channels) ||
      !get_typed(env, argv[3], napi_float64_array, &accp, &lacc))
    return throw_type(env, usage);
  if (channels > 65536 || samples > ((uint64_t)1 << 40) || (channels > 0 && ldata / 2 / channels < samples) || lacc != 2 * channels * channels)
    return throw_range(env, "Cannot accumulate noise: the arrays do not match samples × channels");
  noise_covariance(data, (size_t)samples, (size_t)channels, (double *)accp);
  return NULL;
}

/* fillZero(dst): every float of dst set to +0. */
static napi_value js_fill_zero(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *dst;
  size_t ldst;
  if (argc < 1 || !get_f32(env, argv[0], &dst, &ldst)) return throw_type(env, "Cannot fill with zeros: expected a Float32Array");
  memset(dst, 0, ldst * sizeof(float));
  return NULL;
}

/*
 * One pixel of Inati: power iterations on the packed upper triangle R
 * (pair p = i + j(j+1)/2 for i ≤ j, R_ij = Σ x_i·conj(x_j)) starting from S,
 * the map into v. The same operations in the same order as inatiPixel in
 * src/kernels/coil-maps.ts (atan2/cos/sin are the C library's).
 */
static void inati_pixel(const double *R, const double *S, size_t cha, int power, double *v, double *w) {
  double trace = 0;
  for (size_t c = 0; c < cha; c++) trace += R[2 * (c + c * (c + 1) / 2)];
  if (!(trace > 0)) {
    for (size_t k = 0; k < 2 * cha; k++) v[k] = 0;
    return;
  }
  double norm = 0;
  for (size_t k = 0; k < 2 * cha; k++) norm += S[k] * S[k];
  norm = sqrt(norm);
  if (norm > 0) {
    for (size_t k = 0; k < 2 * cha; k++) v[k] = S[k] / norm;
  } else {
    for (size_t k = 0; k < 2 * cha; k++) v[k] = 0;
    for (size_t c = 0; c < cha; c++) v[2 * c] = 1 / sqrt((double)cha);
  }
  for (int it = 0; it < power; it++) {
    double wn = 0;
    for (size_t i = 0; i < cha; i++) {
      double re = 0, im = 0;
      for (size_t j = 0; j < cha; j++) {
        double rr, ri;
        if (i <= j) {
          const size_t p = i + j * (j + 1) / 2;
          rr = R[2 * p];
          ri = R[2 * p + 1];
        } else {
          const size_t p = j + i * (i + 1) / 2;
          rr = R[2 * p];
          ri = -R[2 * p + 1];
        }
        const double vr = v[2 * j], vi = v[2 * j + 1];
        re += rr * vr - ri * vi;
        im += rr * vi + ri * vr;
      }
      w[2 * i] = re;
      w[2 * i + 1] = im;
      wn += re * re + im * im;
    }
    wn = sqrt(wn);
    if (!(wn > 0)) break;
    for (size_t k = 0; k < 2 * cha; k++) v[k] = w[k] / wn;
  }
  double pr = 0, pi = 0;
  for (size_t c = 0; c < cha; c++) {
    const double sr = S[2 * c], si = S[2 * c + 1], vr = v[2 * c], vi = v[2 * c + 1];
    pr += sr * vr - si * vi;
    pi += sr * vi + si * vr;
  }
  const double phi = atan2(pi, pr), cr = cos(phi), ci = sin(phi);
  for (size_t c = 0; c < cha; c++) {
    const double vr = v[2 * c], vi = -v[2 * c + 1];
    v[2 * c] = vr * cr - vi * ci;
    v[2 * c + 1] = vr * ci + vi * cr;
  }
}

static size_t wrap(ptrdiff_t i, size_t n) {
  ptrdiff_t m = i % (ptrdiff_t)n;
  return (size_t)(m < 0 ? m + (ptrdiff_t)n : m);
}

/*
 * Inati coil maps of images [RO, E1, E2, CHA] into dst (same shape), window
 * half-widths h (RO, E1) and hz (E2), `power` iterations: the algorithm of
 * coilMapInati in src/kernels/coil-maps.ts with its sums in the same order
 * (per row, window rows summed per readout column, then a running sum along
 * the readout). Returns 0, or −1 when memory runs out.
 */
static int coil_map_inati(const float *im, size_t RO, size_t E1, size_t E2, size_t CHA, size_t h, size_t hz, int power, float *dst) {
  const size_t vol = RO * E1 * E2, npairs = CHA * (CHA + 1) / 2;
  double *colR = malloc(2 * npairs * RO * sizeof(double)), *colS = malloc(2 * CHA * RO * sizeof(double));
  double *R = malloc(2 * npairs * sizeof(double)), *S = malloc(2 * CHA * sizeof(double));
  double *xr = malloc(CHA * sizeof(double)), *xi = malloc(CHA * sizeof(double));
  double *v = malloc(2 * CHA * sizeof(double)), *w = malloc(2 * CHA * sizeof(double));
  int ok = colR && colS && R && S && xr && xi && v && w;
  if (ok) {
    for (size_t e2 = 0; e2 < E2; e2++) {
      for (size_t e1 = 0; e1 < E1; e1++) {
        memset(colR, 0, 2 * npairs * RO * sizeof(double));
        memset(colS, 0, 2 * CHA * RO * sizeof(double));
        for (ptrdiff_t dz = -(ptrdiff_t)hz; dz <= (ptrdiff_t)hz; dz++) {
          const size_t z = wrap((ptrdiff_t)e2 + dz, E2);
          for (ptrdiff_t dy = -(ptrdiff_t)h; dy <= (ptrdiff_t)h; dy++) {
            const size_t y = wrap((ptrdiff_t)e1 + dy, E1);
            const size_t row = RO * (y + E1 * z);
            for (size_t ro = 0; ro < RO; ro++) {
              const size_t pix = row + ro;
              double *cs = colS + 2 * CHA * ro;
              for (size_t c = 0; c < CHA; c++) {
                const double re = im[2 * (pix + vol * c)], iv = im[2 * (pix + vol * c) + 1];
                xr[c] = re;
                xi[c] = iv;
                cs[2 * c] += re;
                cs[2 * c + 1] += iv;
              }
              double *cr = colR + 2 * npairs * ro;
              for (size_t j = 0, p = 0; j < CHA; j++) {
                const double br = xr[j], bi = xi[j];
                for (size_t i = 0; i <= j; i++, p++) {
                  const double ar = xr[i], ai = xi[i];
                  cr[2 * p] = cr[2 * p] + ar * br + ai * bi;
                  cr[2 * p + 1] = cr[2 * p + 1] + ar * bi - ai * br;
                }
              }
            }
          }
        }
        memset(R, 0, 2 * npairs * sizeof(double));
        memset(S, 0, 2 * CHA * sizeof(double));
        for (ptrdiff_t d = -(ptrdiff_t)h; d <= (ptrdiff_t)h; d++) {
          const size_t ro = wrap(d, RO);
          for (size_t k = 0; k < 2 * npairs; k++) R[k] += colR[2 * npairs * ro + k];
          for (size_t k = 0; k < 2 * CHA; k++) S[k] += colS[2 * CHA * ro + k];
        }
        for (size_t ro = 0; ro < RO; ro++) {
          if (ro > 0) {
            const size_t add = wrap((ptrdiff_t)(ro + h), RO), sub = wrap((ptrdiff_t)ro - 1 - (ptrdiff_t)h, RO);
            for (size_t k = 0; k < 2 * npairs; k++) R[k] = R[k] + colR[2 * npairs * add + k] - colR[2 * npairs * sub + k];
            for (size_t k = 0; k < 2 * CHA; k++) S[k] = S[k] + colS[2 * CHA * add + k] - colS[2 * CHA * sub + k];
          }
          inati_pixel(R, S, CHA, power, v, w);
          const size_t pix = ro + RO * (e1 + E1 * e2);
          for (size_t c = 0; c < CHA; c++) {
            dst[2 * (pix + vol * c)] = (float)v[2 * c];
            dst[2 * (pix + vol * c) + 1] = (float)v[2 * c + 1];
          }
        }
      }
    }
  }
  free(colR);
  free(colS);
  free(R);
  free(S);
  free(xr);
  free(xi);
  free(v);
  free(w);
  return ok ? 0 : -1;
}

/* coilMapInati(im, RO, E1, E2, CHA, h, hz, power, dst): see coil_map_inati (CHA ≥ 2) */
static napi_value js_coil_map_inati(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 9) return throw_type(env, "Cannot estimate Inati coil maps: expected (im, RO, E1, E2, CHA, h, hz, power, dst)");
  float *im, *dst;
  size_t li, ld;
  int64_t n[7];
  if (!get_f32(env, argv[0], &im, &li) || !get_f32(env, argv[8], &dst, &ld)) return throw_type(env, "Cannot estimate Inati coil maps: arrays must be Float32Arrays");
  for (int i = 0; i < 7; i++) {
    if (!get_i64(env, argv[1 + i], &n[i]) || n[i] < 0 || n[i] > INT32_MAX) return throw_range(env, "Cannot estimate Inati coil maps: bad sizes");
  }
  if (n[0] < 1 || n[1] < 1 || n[2] < 1 || n[3] < 2 || n[3] > 4096) return throw_range(env, "Cannot estimate Inati coil maps: bad sizes");
  uint64_t need = 2 * (uint64_t)n[0] * (uint64_t)n[1] * (uint64_t)n[2] * (uint64_t)n[3];
  if (li != need || ld != need) return throw_range(env, "Cannot estimate Inati coil maps: an array does not match the dimensions");
  if (coil_map_inati(im, (size_t)n[0], (size_t)n[1], (size_t)n[2], (size_t)n[3], (size_t)n[4], (size_t)n[5], (int)n[6], dst) != 0) {
    napi_throw_error(env, "ERR_GANTRY_KERNELS", "Cannot estimate Inati coil maps: out of memory");
    return NULL;
  }
  return NULL;
}

/* setWisdomFile(path: string | null): boolean */
static napi_value js_set_wisdom_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096] = "";
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t == napi_string) {
    size_t len;
    if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1)
      return throw_range(env, "Cannot use the FFTW wisdom file: the path is too long");
  } else if (t != napi_null && t != napi_undefined) {
    return throw_type(env, "Cannot use the FFTW wisdom file: the path is not a string");
  }
  napi_value out;
  napi_get_boolean(env, set_wisdom_file(path), &out);
  return out;
}

/*
 * retainFreedMemory(bytes: number): boolean
 * Keeps big freed blocks in the process heap instead of giving them back to
 * the kernel (glibc malloc: no mmap for big blocks, trim only above `bytes`
 * of free memory at the top). A reconstruction allocates buffers of hundreds
 * of MB per slice; from mmap, each page is faulted in and zeroed by the
 * kernel on first touch (about 3 µs per 4 KiB page on a KVM guest: 0.25 s
 * per 300 MB buffer), while a reused heap block only needs calloc's memset
 * (about 0.03 s). The cost: memory freed below the heap's top stays mapped
 * and is reused by later allocations. False where the C library has no
 * mallopt (not glibc).
 */
static napi_value js_retain_freed_memory(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t bytes;
  if (argc < 1 || !get_i64(env, argv[0], &bytes) || bytes < 0) return throw_type(env, "Cannot retain freed memory: bytes must be a non-negative integer");
  bool ok = false;
#ifdef __GLIBC__
  if (bytes > INT32_MAX) bytes = INT32_MAX;
  ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, (int)bytes) == 1;
#endif
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

/*
 * trackSharedMemory(buffer: SharedArrayBuffer): boolean — reports the
 * buffer's bytes to V8 as external memory until it is collected
 * (external_memory.cc); false for anything but a SharedArrayBuffer.
 */
static napi_value js_track_shared_memory(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_value out;
  napi_get_boolean(env, argc >= 1 && gantry_track_external(env, argv[0]) == 1, &out);
  return out;
}

/*
 * trimFreedMemory(): gives the free pages inside glibc's heaps back to the
 * system (malloc_trim(0): every arena, also pages in the middle of a heap);
 * true when some were released. Buffers of a few MB (V8's array buffers)
 * come from the heaps and, freed in between live ones, would otherwise stay
 * resident.
 */
static napi_value js_trim_freed_memory(napi_env env, napi_callback_info info) {
  (void)info;
  bool released = false;
#ifdef __GLIBC__
  released = malloc_trim(0) == 1;
#endif
  napi_value out;
  napi_get_boolean(env, released, &out);
  return out;
}

/* info(): { fftw, blasConfig, blasCore, blasThreads } */
static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value obj, v;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, fftwf_version, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "fftw", v);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "blasConfig", v);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "blasCore", v);
  napi_create_int32(env, openblas_get_num_threads(), &v);
  napi_set_named_property(env, obj, "blasThreads", v);
  return obj;
}

/* Runs the kernel entry in the property's data as one that computes (see "Quiet measurements"). */
static napi_value computing_call(napi_env env, napi_callback_info info) {
  void *data = NULL;
  if (napi_get_cb_info(env, info, NULL, NULL, NULL, &data) != napi_ok || data == NULL) return NULL;
  compute_enter();
  napi_value out = ((napi_callback)data)(env, info);
  compute_leave();
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  openblas_set_num_threads(1);
  KernelState *s = calloc(1, sizeof *s);
  if (!s || napi_set_instance_data(env, s, state_finalize, NULL) != napi_ok) {
    free(s);
    napi_throw_error(env, "ERR_GANTRY_KERNELS", "Cannot initialise the kernels addon");
    return NULL;
  }
  napi_property_descriptor props[] = {
      {"fftc", NULL, js_fftc, NULL, NULL, NULL, napi_default, NULL},
      {"cgemm", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_cgemm},
      {"cherk", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_cherk},
      {"cposv", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_cposv},
      {"channelSum", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_channel_sum},
      {"channelSumInto", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_channel_sum_into},
      {"channelSumStrided", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_channel_sum_strided},
      {"coilMapInati", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_coil_map_inati},
      {"rootSumOfSquares", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_root_sum_of_squares},
      {"magnitude", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_magnitude},
      {"copyBlocks", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_copy_blocks},
      {"fillZero", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_fill_zero},
      {"addInto", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_add_into},
      {"scaleInto", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_scale_into},
      {"weightedCopy", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_weighted_copy},
      {"noiseCovariance", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_noise_covariance},
      {"toFixedPoint", NULL, computing_call, NULL, NULL, NULL, napi_default, (void *)js_to_fixed_point},
      {"retainFreedMemory", NULL, js_retain_freed_memory, NULL, NULL, NULL, napi_default, NULL},
      {"trackSharedMemory", NULL, js_track_shared_memory, NULL, NULL, NULL, napi_default, NULL},
      {"trimFreedMemory", NULL, js_trim_freed_memory, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"setWisdomFile", NULL, js_set_wisdom_file, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
#endif
