/*
 * Reference timings for `npm run bench`: FFTW 3 (single precision,
 * FFTW_MEASURE plans) and OpenBLAS, single-threaded, on data files the bench
 * writes, so Gantry and the references run on the same bytes.
 *
 *   reference fft  <file> <n0> <n1|1> <batch> <budget_ms>
 *       in-place forward c2c over `batch` contiguous arrays of n0 × n1
 *       (n0 fastest; n1 = 1: a 1D transform), unnormalised, uncentred.
 *   reference gemm <N|T|C> <N|T|C> <m> <n> <k> <fileA> <fileB> <budget_ms>
 *   reference herk <N|C> <n> <k> <fileA> <budget_ms>
 *   reference posv <n> <nrhs> <fileA> <fileB> <budget_ms>
 *
 * Files hold interleaved complex float32, column-major (BART's .cfl layout).
 * Prints one JSON line: {"us": best µs per call, "calls": …, "plan_ms": …}.
 * Build: gcc -O2 reference.c -o reference -lfftw3f -lopenblas -lm
 */
#define _POSIX_C_SOURCE 199309L
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int blasint;
extern void cblas_cgemm(int order, int transa, int transb, blasint m, blasint n, blasint k, const void *alpha, const void *a,
                        blasint lda, const void *b, blasint ldb, const void *beta, void *c, blasint ldc);
extern void cblas_cherk(int order, int uplo, int trans, blasint n, blasint k, float alpha, const void *a, blasint lda, float beta,
                        void *c, blasint ldc);
extern void openblas_set_num_threads(int n);
extern void cpotrf_(const char *uplo, const blasint *n, float *a, const blasint *lda, blasint *info, size_t len);
extern void cpotrs_(const char *uplo, const blasint *n, const blasint *nrhs, const float *a, const blasint *lda, float *b,
                    const blasint *ldb, blasint *info, size_t len);

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *msg) {
  fprintf(stderr, "reference: %s\n", msg);
  exit(2);
}

static float *read_floats(const char *path, size_t count) {
  float *out = fftwf_malloc(count * sizeof(float));
  if (!out) die("out of memory");
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open an input file");
  if (fread(out, sizeof(float), count, f) != count) die("an input file is too short");
  fclose(f);
  return out;
}

typedef void (*work_fn)(void *);

/* Best µs per call: calls per round sized to ~10 ms, rounds until the budget is spent (at least 3). */
static void time_best(work_fn fn, void *ctx, double budget_ms, double plan_ms) {
  fn(ctx);
  int calls = 1;
  for (;;) {
    double t = now_s();
    for (int i = 0; i < calls; i++) fn(ctx);
    if (now_s() - t > 0.01 || calls > (1 << 20)) break;
    calls *= 2;
  }
  double best = 1e30, start = now_s();
  int rounds = 0;
  while (rounds < 3 || (now_s() - start) * 1e3 < budget_ms) {
    double t = now_s();
    for (int i = 0; i < calls; i++) fn(ctx);
    double us = (now_s() - t) * 1e6 / calls;
    if (us < best) best = us;
    rounds++;
  }
  printf("{\"us\":%.4f,\"calls\":%d,\"rounds\":%d,\"plan_ms\":%.1f}\n", best, calls, rounds, plan_ms);
}

typedef struct {
  fftwf_plan plan;
} FftCtx;
static void run_fft(void *p) { fftwf_execute(((FftCtx *)p)->plan); }

typedef struct {
  int ta, tb, m, n, k, lda, ldb;
  float *a, *b, *c;
} GemmCtx;
static void run_gemm(void *p) {
  GemmCtx *g = p;
  const float one[2] = {1, 0}, zero[2] = {0, 0};
  cblas_cgemm(102, g->ta, g->tb, g->m, g->n, g->k, one, g->a, g->lda, g->b, g->ldb, zero, g->c, g->m);
}

typedef struct {
  int trans, n, k, lda;
  float *a, *c;
} HerkCtx;
static void run_herk(void *p) {
  HerkCtx *h = p;
  cblas_cherk(102, 122, h->trans, h->n, h->k, 1.0f, h->a, h->lda, 0.0f, h->c, h->n);
}

typedef struct {
  int n, nrhs;
  const float *a0, *b0;
  float *a, *b;
} PosvCtx;
static void run_posv(void *p) {
  PosvCtx *s = p;
  memcpy(s->a, s->a0, 2 * sizeof(float) * (size_t)s->n * s->n);
  memcpy(s->b, s->b0, 2 * sizeof(float) * (size_t)s->n * s->nrhs);
  blasint info = 0;
  cpotrf_("L", &s->n, s->a, &s->n, &info, 1);
  if (info == 0) cpotrs_("L", &s->n, &s->nrhs, s->a, &s->n, s->b, &s->n, &info, 1);
  if (info != 0) die("cposv: the matrix is not positive definite");
}

static int trans_code(const char *s) {
  if (!strcmp(s, "N")) return 111;
  if (!strcmp(s, "T")) return 112;
  if (!strcmp(s, "C")) return 113;
  die("op must be N, T or C");
  return 0;
}

int main(int argc, char **argv) {
  openblas_set_num_threads(1);
  if (argc >= 7 && !strcmp(argv[1], "fft")) {
    int n0 = atoi(argv[3]), n1 = atoi(argv[4]), batch = atoi(argv[5]);
    double budget = atof(argv[6]);
    size_t per = (size_t)n0 * (size_t)n1;
    float *file = read_floats(argv[2], 2 * per * (size_t)batch);
    fftwf_complex *data = fftwf_malloc(sizeof(fftwf_complex) * per * (size_t)batch);
    int dims2[2] = {n1, n0};
    double t = now_s();
    fftwf_plan plan = n1 > 1 ? fftwf_plan_many_dft(2, dims2, batch, data, NULL, 1, (int)per, data, NULL, 1, (int)per, FFTW_FORWARD, FFTW_MEASURE)
                             : fftwf_plan_many_dft(1, &n0, batch, data, NULL, 1, n0, data, NULL, 1, n0, FFTW_FORWARD, FFTW_MEASURE);
    double plan_ms = (now_s() - t) * 1e3;
    if (!plan) die("FFTW could not plan");
    memcpy(data, file, 2 * sizeof(float) * per * (size_t)batch);
    FftCtx ctx = {plan};
    time_best(run_fft, &ctx, budget, plan_ms);
    return 0;
  }
  if (argc >= 10 && !strcmp(argv[1], "gemm")) {
    GemmCtx g;
    g.ta = trans_code(argv[2]);
    g.tb = trans_code(argv[3]);
    g.m = atoi(argv[4]);
    g.n = atoi(argv[5]);
    g.k = atoi(argv[6]);
    int ar = g.ta == 111 ? g.m : g.k, ac = g.ta == 111 ? g.k : g.m;
    int br = g.tb == 111 ? g.k : g.n, bc = g.tb == 111 ? g.n : g.k;
    g.lda = ar;
    g.ldb = br;
    g.a = read_floats(argv[7], 2 * (size_t)ar * ac);
    g.b = read_floats(argv[8], 2 * (size_t)br * bc);
    g.c = fftwf_malloc(2 * sizeof(float) * (size_t)g.m * g.n);
    time_best(run_gemm, &g, atof(argv[9]), 0);
    return 0;
  }
  if (argc >= 7 && !strcmp(argv[1], "herk")) {
    HerkCtx h;
    h.trans = trans_code(argv[2]);
    h.n = atoi(argv[3]);
    h.k = atoi(argv[4]);
    int ar = h.trans == 111 ? h.n : h.k, ac = h.trans == 111 ? h.k : h.n;
    h.lda = ar;
    h.a = read_floats(argv[5], 2 * (size_t)ar * ac);
    h.c = fftwf_malloc(2 * sizeof(float) * (size_t)h.n * h.n);
    time_best(run_herk, &h, atof(argv[6]), 0);
    return 0;
  }
  if (argc >= 7 && !strcmp(argv[1], "posv")) {
    PosvCtx s;
    s.n = atoi(argv[2]);
    s.nrhs = atoi(argv[3]);
    s.a0 = read_floats(argv[4], 2 * (size_t)s.n * s.n);
    s.b0 = read_floats(argv[5], 2 * (size_t)s.n * s.nrhs);
    s.a = fftwf_malloc(2 * sizeof(float) * (size_t)s.n * s.n);
    s.b = fftwf_malloc(2 * sizeof(float) * (size_t)s.n * s.nrhs);
    time_best(run_posv, &s, atof(argv[6]), 0);
    return 0;
  }
  fprintf(stderr, "usage: reference fft|gemm|herk|posv … (see the comment at the top of bench/c/reference.c)\n");
  return 2;
}
