/* Exact SAGAN attention for one head per image: out = softmax(q k^T) v, no 1/sqrt(d) scaling.

   Why a kernel of our own: the queries and keys are C/8 wide and the values C wide. PyTorch's fused
   CPU kernel needs one width for all three, so q and k had to be zero-padded to C, which doubles the
   work of the forward pass and more than doubles the backward. Here q.k stays DQ wide, the HW x HW
   matrix lives only in 16-key slices (or one QB x L block in the forward), and nothing is
   approximated: results and gradients are as close to float64 as PyTorch's own float32 kernel
   (1e-5 relative; tests/test_attention.py).

   DQ and DV (query/key and value widths) are compile-time constants (-DDQ=4 -DDV=32); L, the number
   of positions, must be a multiple of 16. All arrays are row-major float32:
     q  [B][L][DQ]   kt [B][DQ][L]   v, out, dout, dv [B][L][DV] (position-major: a channels-last
     feature map's own layout, so that training's maps go in and out without a transposing copy)
     lse [B][L] (log2 of each softmax row's sum, with its max, in base 2 as the kernel exponentiates:
     log(sum(exp(s))) * log2(e), saved for the backward)
   Built with -DBF16_DOT (CPUs with AVX-512 BF16, for bf16 training only), the products as wide as the
   values (p v forward; dout v^T and p^T dout backward) take bf16-rounded operands and float32 sums;
   the scores, exp, lse and the q and k gradients stay float32.
   attention_forward and attention_backward do a range of independent tasks; compiled with -fopenmp,
   the *_parallel entry points split all tasks over OpenMP threads. In a PyTorch process those are
   PyTorch's own (it loads the same libgomp), so no thread of ours competes for a core with PyTorch's
   threads, which spin for a while after each of its parallel operations. */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef DQ
#error "compile with -DDQ=<query/key width>"
#endif
#if !defined(DV) || DV % 16
#error "compile with -DDV=<value width, a multiple of 16>"
#endif

#if defined(BF16_DOT) && !(defined(__AVX512BF16__) && defined(__AVX512BW__))
#error "BF16_DOT needs AVX-512 BF16 (avx512_bf16) and BW"
#endif
#if defined(BF16_DOT) && DV % 32
#error "BF16_DOT needs DV, a multiple of 32: dout's pairs along the value width are converted 32 at a time"
#endif

#define W 16                                 /* floats per vector */
#define NV (DV / W)                          /* vectors per value row */
#define QB (DV <= 32 ? 8 : DV <= 64 ? 4 : 2) /* forward query rows per block: accumulators fit in registers */
#define QBB 16                               /* backward query rows per block (the fastest of 4, 8, 16, 32) */

typedef float vf __attribute__((vector_size(64), aligned(4)));
typedef int vi __attribute__((vector_size(64)));

static inline vf splat(float x) { return (vf){0} + x; }

static inline float hsum(vf x) {
  float s = 0.f;
  for (int i = 0; i < W; i++) s += x[i];
  return s;
}

static inline float hmax(vf x) {
  float m = x[0];
  for (int i = 1; i < W; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/* 2^x to ~2 ulp for x <= 127, NaN staying NaN: x = n + f, |f| <= 1/2, a degree-5 polynomial in f
   (fitted here for the least relative error on [-1/2, 1/2]: 2.3e-7 in float32), times 2^n. The kernel
   exponentiates in base 2, exp(s - m) = 2^(s log2(e) - m log2(e)), so that one multiply-add forms the
   argument and no range reduction by ln 2 is needed: 10 instructions per 16 values against 14 for
   exp(x) by a Taylor series in x - n ln 2. With the (B, L, DV) layout of the same change, 8 images at
   64x64 in the bf16 build on the two cores of the Zen 4 EPYC: forward 49.5 -> 42.5 ms, backward
   117 -> 110 ms (float32 build: 66.8 -> 59.1, 141 -> 140). Where AVX-512 exists, its instructions do
   the clamping, rounding and scaling (which flushes to 0 far below -126). */
#define LOG2E 1.44269504088896341f

static inline vf pow2_poly(vf f) {
  return 1.0000001192092896f +
         f * (0.6931469440460205f +
              f * (0.24022120237350464f + f * (0.05550713092088699f + f * (0.009675541892647743f + f * 0.001327647129073739f))));
}

#ifdef __AVX512F__
#include <immintrin.h>

static inline vf vmax(vf a, vf b) { return (vf)_mm512_max_ps((__m512)a, (__m512)b); }

static inline vf vexp2(vf x) {
  __m512 y = _mm512_max_ps(_mm512_set1_ps(-1000.f), (__m512)x); /* max returns its 2nd operand for NaN */
  __m512 n = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT);
  return (vf)_mm512_scalef_ps((__m512)pow2_poly((vf)_mm512_sub_ps(y, n)), n);
}
#else
/* mask ? a : b, lane by lane (C has no vector conditional operator) */
static inline vf blend(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

static inline vf vmax(vf a, vf b) { return blend(a > b, a, b); }

/* 2^n through the exponent bits; below -126 the result flushes to 0 (as float32 does just after) */
static inline vf vexp2(vf x) {
  vi tiny = x < -126.f; /* false for NaN, which stays NaN */
  x = blend(tiny, splat(-126.f), x);
  vf t = x + 12582912.f; /* round(x) in the low mantissa bits */
  vf n = t - 12582912.f;
  vi scale = ((vi)t - (vi)splat(12582912.f)) << 23;
  vf e = (vf)((vi)pow2_poly(x - n) + scale);
  return blend(tiny, splat(0.f), e);
}
#endif

static inline vf load(const float *p) { return *(const vf *)p; }
static inline void store(float *p, vf x) { *(vf *)p = x; }

#ifdef BF16_DOT
typedef __m512bh vb; /* 16 pairs of bf16 */

/* rows a and b (16 floats each) as 16 pairs (a[m], b[m]), rounded to nearest even */
static inline vb pairs(vf a, vf b) {
  const __m512i order = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22,
                                         6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return (vb)_mm512_permutexvar_epi16(order, (__m512i)_mm512_cvtne2ps_pbh((__m512)b, (__m512)a));
}

static inline vb broadcast_pair(unsigned word) { return (vb)_mm512_set1_epi32((int)word); }

static inline vf dot2(vf acc, vb a, vb b) { return (vf)_mm512_dpbf16_ps((__m512)acc, a, b); }
#endif

/* Scores of `rows` query rows (qrow: rows x DQ) against keys j0..j0+15. Always inlined with a
   constant `rows`, so the loops unroll and s stays in registers. */
static inline __attribute__((always_inline)) void scores(int rows, const float *qrow, const float *kt, int L,
                                                         int j0, vf *s) {
  for (int i = 0; i < rows; i++) s[i] = splat(0.f);
  for (int c = 0; c < DQ; c++) {
    vf k = load(kt + (long)c * L + j0);
    for (int i = 0; i < rows; i++) s[i] += qrow[i * DQ + c] * k;
  }
}

#ifdef BF16_DOT
typedef unsigned short pelem; /* the forward's probabilities: bf16, the operand of the p v dot products */
static inline void put(pelem *p, vf e) { _mm256_storeu_si256((__m256i *)p, (__m256i)_mm512_cvtneps_pbh((__m512)e)); }
#else
typedef float pelem;
static inline void put(pelem *p, vf e) { store(p, e); }
#endif

/* The forward's pass over the keys of QB query rows: p = 2^(s log2(e) - m) into p (rows LP apart), and
   its row sums, as vectors, into zv. */
static inline __attribute__((always_inline)) void exponentiate(const float *qrow, const float *kt, int L,
                                                               const float *m, vf *zv, pelem *p, long LP) {
  vf s[QB];
  for (int i = 0; i < QB; i++) zv[i] = splat(0.f);
  for (int j = 0; j < L; j += W) {
    scores(QB, qrow, kt, L, j, s);
    for (int i = 0; i < QB; i++) {
      vf e = vexp2(s[i] * LOG2E - m[i]); /* exp(s - max): a multiply-add and 2^x */
      zv[i] += e;
      put(p + i * LP + j, e);
    }
  }
}

/* Query rows per forward task: the caller splits B * L / QB tasks. */
int attention_query_block(void) { return QB; }

/* Forward tasks [t0, t1): task t is query block (t % (L / QB)) of image t / (L / QB). Returns 0, or -1
   when out of memory. */
int attention_forward(const float *q, const float *kt, const float *v, float *out, float *lse, int L, long t0,
                      long t1) {
  const long LP = L + W; /* rows of p padded by a cache line, as in the backward (no measured gain here) */
#ifdef BF16_DOT
  /* p v as bf16 dot products over pairs of keys: p rounded to bf16, v as words (v[j][c], v[j + 1][c]).
     27 % less time than float32 for 8 images at 64x64 on the Zen 5 EPYC; 0.2 % relative error. */
  unsigned *vpair = malloc(sizeof(unsigned) * L * DV / 2);
  long paired = -1; /* the image vpair holds */
  if (vpair == NULL) return -1;
#endif
  pelem *p = malloc(sizeof(pelem) * QB * LP); /* the block's probabilities, QB x L */
  if (p == NULL) {
#ifdef BF16_DOT
    free(vpair);
#endif
    return -1;
  }
  int nblk = L / QB;
  long bounded = -1; /* the image whose kmax and kmin these are */
  float kmax[DQ], kmin[DQ];
  for (long t = t0; t < t1; t++) {
    long b = t / nblk;
    int i0 = (int)(t % nblk) * QB;
    const float *ktb = kt + b * DQ * L, *vals = v + b * L * DV;
    float qrow[QB][DQ];
    memcpy(qrow, q + (b * L + i0) * DQ, sizeof qrow);
    /* 1. a bound on each row's maximum, so that exp never overflows: q.k <= sum over c of q[c] times
       k's largest (q[c] >= 0) or smallest (q[c] < 0) value in channel c, over all keys of the image. */
    if (bounded != b) {
      for (int c = 0; c < DQ; c++) {
        vf hi = splat(-INFINITY), lo = splat(INFINITY);
        for (int j = 0; j < L; j += W) {
          vf k = load(ktb + (long)c * L + j);
          hi = vmax(hi, k), lo = -vmax(-lo, -k);
        }
        kmax[c] = hmax(hi), kmin[c] = -hmax(-lo);
      }
      bounded = b;
    }
    float m[QB]; /* in base 2: the bound times log2(e) */
    for (int i = 0; i < QB; i++) {
      float bound = 0.f;
      for (int c = 0; c < DQ; c++) bound += qrow[i][c] * (qrow[i][c] >= 0.f ? kmax[c] : kmin[c]);
      m[i] = bound * LOG2E;
    }
    /* 2. unnormalised probabilities and their sums */
    vf zv[QB];
    float z[QB];
    exponentiate(&qrow[0][0], ktb, L, m, zv, p, LP);
    int loose = 0;
    for (int i = 0; i < QB; i++) loose |= (z[i] = hsum(zv[i])) < 0x1p-60f;
    if (loose) {
      /* The bound passed a row's maximum by more than 60 (base 2): its small terms would flush to zero.
         Rare (q and k far from aligned); then the exact maxima, and the same pass again. */
      vf s[QB], mv[QB];
      for (int i = 0; i < QB; i++) mv[i] = splat(-INFINITY);
      for (int j = 0; j < L; j += W) {
        scores(QB, &qrow[0][0], ktb, L, j, s);
        for (int i = 0; i < QB; i++) mv[i] = vmax(s[i], mv[i]);
      }
      for (int i = 0; i < QB; i++) m[i] = hmax(mv[i]) * LOG2E;
      exponentiate(&qrow[0][0], ktb, L, m, zv, p, LP);
      for (int i = 0; i < QB; i++) z[i] = hsum(zv[i]);
    }
    /* 3. out = p v / sum, accumulated over the keys in registers */
    vf acc[QB][NV];
    memset(acc, 0, sizeof acc);
#ifdef BF16_DOT
    if (paired != b) {
      for (int j = 0; j < L; j += 2)
        for (int c = 0; c < NV; c++)
          _mm512_storeu_si512(vpair + (long)j * DV / 2 + c * W,
                              (__m512i)pairs(load(vals + (long)j * DV + c * W), load(vals + (long)(j + 1) * DV + c * W)));
      paired = b;
    }
    for (int j = 0; j < L; j += 2) {
      vb vj[NV];
      for (int c = 0; c < NV; c++) vj[c] = (vb)_mm512_loadu_si512(vpair + (long)j * DV / 2 + c * W);
      for (int i = 0; i < QB; i++) {
        unsigned word;
        memcpy(&word, p + i * LP + j, sizeof word);
        for (int c = 0; c < NV; c++) acc[i][c] = dot2(acc[i][c], broadcast_pair(word), vj[c]);
      }
    }
#else
    for (int j = 0; j < L; j++) {
      vf vj[NV];
      for (int c = 0; c < NV; c++) vj[c] = load(vals + (long)j * DV + c * W);
      for (int i = 0; i < QB; i++)
        for (int c = 0; c < NV; c++) acc[i][c] += p[i * LP + j] * vj[c];
    }
#endif
    for (int i = 0; i < QB; i++) {
      for (int c = 0; c < NV; c++) store(out + (b * L + i0 + i) * DV + c * W, acc[i][c] * (1.f / z[i]));
      lse[b * L + i0 + i] = m[i] + log2f(z[i]);
    }
  }
  free(p);
#ifdef BF16_DOT
  free(vpair);
#endif
  return 0;
}

/* Backward for images [b0, b1). dout [B][L][DV] is the output's gradient and delta [B][L] the row sums
   of dout * out. Writes dq [B][L][DQ], dkt [B][DQ][L], dv [B][L][DV] (overwritten, not accumulated).
   In the -DBF16_DOT build the two products as wide as the values (dp = dout v^T and dv = p^T dout, 84 %
   of the work at 64x64) are AVX-512 BF16 dot products of p and dout rounded to bf16 (to nearest even):
   two multiply-adds per float32 lane per instruction, float32 sums; 55 against 71 ms for 8 images at
   64x64 on the two cores of the Zen 5 EPYC. Used only under bf16 autocast (--precision), where the
   convolutions around it already round their inputs to bf16. */
void attention_backward(const float *q, const float *kt, const float *v, const float *lse, const float *dout,
                        const float *delta, float *dq, float *dkt, float *dv, int L, long b0, long b1) {
  /* Every block of query rows reads all DV rows of v and accumulates all DV rows of dv. L floats apart
     (L a power of two) those rows all fall into one L1 set and evict each other: copies padded by a
     cache line per row do not (the float32 backward of 8 images at 64x64 on one Zen 5 core: 142 -> 122
     ms). They are transposed copies: the loops below read v and write dv by value channel. */
  const long LP = L + W;
#ifdef BF16_DOT
  unsigned *vp = malloc(sizeof(unsigned) * (DV / 2) * LP); /* word (c2, j): (v[j][2 c2], v[j][2 c2 + 1]) */
#else
  float *vp = malloc(sizeof(float) * DV * LP); /* v, transposed: row c is v[.][c] */
#endif
  float *dvp = malloc(sizeof(float) * DV * LP); /* dv, transposed, accumulated */
  if (vp == NULL || dvp == NULL) abort(); /* 1 MB at 64x64: the caller's tensors took far more */
  for (long b = b0; b < b1; b++) {
    const float *ktb = kt + b * DQ * L, *vimg = v + b * L * DV;
    float *dktb = dkt + b * DQ * L;
    for (int j = 0; j < L; j++) {
      const float *row = vimg + (long)j * DV;
#ifdef BF16_DOT
      unsigned words[DV / 2] __attribute__((aligned(64))); /* consecutive bf16 are (c, c + 1) pairs */
      for (int c = 0; c < DV; c += 2 * W)
        _mm512_store_si512(words + c / 2, (__m512i)_mm512_cvtne2ps_pbh((__m512)load(row + c + W), (__m512)load(row + c)));
      for (int c2 = 0; c2 < DV / 2; c2++) vp[c2 * LP + j] = words[c2];
#else
      for (int c = 0; c < DV; c++) vp[c * LP + j] = row[c];
#endif
    }
    memset(dktb, 0, sizeof(float) * DQ * L);
    memset(dvp, 0, sizeof(float) * DV * LP);
    for (int i0 = 0; i0 < L; i0 += QBB) {
      float qrow[QBB][DQ], go[QBB][DV], lrow[QBB], drow[QBB];
      memcpy(qrow, q + (b * L + i0) * DQ, sizeof qrow);
      memcpy(go, dout + (b * L + i0) * DV, sizeof go);
      memcpy(lrow, lse + b * L + i0, sizeof lrow);
      memcpy(drow, delta + b * L + i0, sizeof drow);
#ifdef BF16_DOT
      /* dout as pairs along the value width (for dp) and along the rows (for dv) */
      unsigned go_c[QBB][DV / 2] __attribute__((aligned(64)));
      unsigned go_r[QBB / 2][DV] __attribute__((aligned(64)));
      for (int i = 0; i < QBB; i++)
        for (int c = 0; c < DV; c += 2 * W) { /* consecutive bf16 are (c, c + 1) pairs */
          vb even = (vb)_mm512_cvtne2ps_pbh((__m512)load(&go[i][c + W]), (__m512)load(&go[i][c]));
          _mm512_store_si512(&go_c[i][c / 2], (__m512i)even);
        }
      for (int i = 0; i < QBB; i += 2)
        for (int c = 0; c < DV; c += W)
          _mm512_store_si512(&go_r[i / 2][c], (__m512i)pairs(load(&go[i][c]), load(&go[i + 1][c])));
#endif
      vf gq[QBB][DQ];
      memset(gq, 0, sizeof gq);
      for (int j = 0; j < L; j += W) {
        vf s[QBB], dp[QBB];
        scores(QBB, &qrow[0][0], ktb, L, j, s);
        for (int i = 0; i < QBB; i++) s[i] = vexp2(s[i] * LOG2E - lrow[i]), dp[i] = splat(0.f); /* s is now p */
        /* dv[c][j] += sum over rows of dout[i][c] p[i][j] and dp[i][j] = sum over c of dout[i][c] v[j][c].
           dv sums over the block's rows: two partial sums (even and odd rows) halve the chain of
           dependent multiply-adds, whose latency bounded the loop (16 deep: backward 128 -> 121 ms). */
#ifdef BF16_DOT
        vb pp[QBB / 2];
        for (int i = 0; i < QBB; i += 2) pp[i / 2] = pairs(s[i], s[i + 1]);
        for (int c = 0; c < DV; c++) {
          vf gv = load(dvp + c * LP + j), gw = splat(0.f);
          for (int i2 = 0; i2 < QBB / 2; i2 += 2) {
            gv = dot2(gv, broadcast_pair(go_r[i2][c]), pp[i2]);
            gw = dot2(gw, broadcast_pair(go_r[i2 + 1][c]), pp[i2 + 1]);
          }
          store(dvp + c * LP + j, gv + gw);
        }
        for (int c2 = 0; c2 < DV / 2; c2++) {
          vb vc = (vb)_mm512_loadu_si512(vp + c2 * LP + j);
          for (int i = 0; i < QBB; i++) dp[i] = dot2(dp[i], broadcast_pair(go_c[i][c2]), vc);
        }
#else
        for (int c = 0; c < DV; c++) {
          vf vc = load(vp + c * LP + j);
          vf gv = load(dvp + c * LP + j), gw = splat(0.f);
          for (int i = 0; i < QBB; i += 2) {
            dp[i] += go[i][c] * vc, gv += go[i][c] * s[i];
            dp[i + 1] += go[i + 1][c] * vc, gw += go[i + 1][c] * s[i + 1];
          }
          store(dvp + c * LP + j, gv + gw);
        }
#endif
        for (int i = 0; i < QBB; i++) dp[i] = s[i] * (dp[i] - drow[i]); /* dp is now d(scores) */
        for (int c = 0; c < DQ; c++) {
          vf kc = load(ktb + (long)c * L + j);
          vf gk = load(dktb + (long)c * L + j), gl = splat(0.f);
          for (int i = 0; i < QBB; i += 2) {
            gq[i][c] += dp[i] * kc, gk += qrow[i][c] * dp[i];
            gq[i + 1][c] += dp[i + 1] * kc, gl += qrow[i + 1][c] * dp[i + 1];
          }
          store(dktb + (long)c * L + j, gk + gl);
        }
      }
      for (int i = 0; i < QBB; i++)
        for (int c = 0; c < DQ; c++) dq[(b * L + i0 + i) * DQ + c] = hsum(gq[i][c]);
    }
    for (int j = 0; j < L; j++)
      for (int c = 0; c < DV; c++) dv[(b * L + j) * DV + c] = dvp[c * LP + j];
  }
  free(vp);
  free(dvp);
}

#ifdef _OPENMP
#include <omp.h>

/* All B * L / QB forward tasks on `threads` OpenMP threads, an equal range each. */
int attention_forward_parallel(const float *q, const float *kt, const float *v, float *out, float *lse, int L,
                               long tasks, int threads) {
  int status = 0;
#pragma omp parallel num_threads(threads) reduction(| : status)
  {
    long n = omp_get_num_threads(), i = omp_get_thread_num();
    status |= attention_forward(q, kt, v, out, lse, L, tasks * i / n, tasks * (i + 1) / n);
  }
  return status;
}

/* The backward of all `batch` images on `threads` OpenMP threads. */
void attention_backward_parallel(const float *q, const float *kt, const float *v, const float *lse,
                                 const float *dout, const float *delta, float *dq, float *dkt, float *dv, int L,
                                 long batch, int threads) {
#pragma omp parallel num_threads(threads)
  {
    long n = omp_get_num_threads(), i = omp_get_thread_num();
    attention_backward(q, kt, v, lse, dout, delta, dq, dkt, dv, L, batch * i / n, batch * (i + 1) / n);
  }
}
#endif
