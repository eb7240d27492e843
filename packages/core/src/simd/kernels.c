// Training kernels over the tfjs wasm heap, in WebAssembly SIMD. Built by tools/build-simd.mjs
// into kernels-wasm.ts (two variants: one importing a shared memory, for the threaded backend and
// its helper threads, one a plain memory). No data, no stack, no libc: the module owns no memory
// of its own and touches only the ranges its arguments name.
// Every kernel does part `part` of `parts` of its work: a disjoint range of its output, computed in
// an order that does not depend on `parts`, so results are the same on any number of threads.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static inline int split(int n, int part, int parts) { return (int)((long long)n * part / parts); }

// Where part `part` of `parts` starts in n values cut at multiples of 4 (n itself for the last).
static inline int split4(int n, int part, int parts) {
  const int i = 4 * split((n + 3) / 4, part, parts);
  return i < n ? i : n;
}

static void zero(float* p, int count) {
  int i = 0;
  for (; i + 4 <= count; i += 4) wasm_v128_store(p + i, wasm_f32x4_splat(0.0f));
  for (; i < count; i++) p[i] = 0.0f;
}

// The gradient of a 2x2, stride-2 max-pool, images [i0, i1) of n: dy goes to the first maximum of
// each window in row-major order (a later value must be strictly greater to win, as in the cpu
// backend), zeros elsewhere.
EXPORT(maxpool_grad_2x2)
void maxpool_grad_2x2(float* dx, const float* x, const float* dy, int n, int h, int w, int c, int oh, int ow, int part,
                      int parts) {
  const int i0 = split(n, part, parts), i1 = split(n, part + 1, parts);
  const int row = w * c;
  if (2 * oh != h || 2 * ow != w) zero(dx + i0 * h * row, (i1 - i0) * h * row);
  for (int i = i0; i < i1; i++) {
    for (int y = 0; y < oh; y++) {
      for (int xw = 0; xw < ow; xw++) {
        const int base = ((i * h + 2 * y) * w + 2 * xw) * c;
        const float* g = dy + ((i * oh + y) * ow + xw) * c;
        const float* p = x + base;
        float* d = dx + base;
        int ch = 0;
        for (; ch + 4 <= c; ch += 4) {
          v128_t v0 = wasm_v128_load(p + ch), v1 = wasm_v128_load(p + ch + c);
          v128_t v2 = wasm_v128_load(p + ch + row), v3 = wasm_v128_load(p + ch + row + c);
          v128_t s1 = wasm_f32x4_gt(v1, v0);
          v128_t m = wasm_v128_bitselect(v1, v0, s1);
          v128_t s2 = wasm_f32x4_gt(v2, m);
          m = wasm_v128_bitselect(v2, m, s2);
          v128_t s3 = wasm_f32x4_gt(v3, m);
          v128_t gv = wasm_v128_load(g + ch);
          v128_t w3 = s3, w2 = wasm_v128_andnot(s2, s3), w1 = wasm_v128_andnot(wasm_v128_andnot(s1, s2), s3);
          v128_t w0 = wasm_v128_not(wasm_v128_or(wasm_v128_or(s1, s2), s3));
          wasm_v128_store(d + ch, wasm_v128_and(gv, w0));
          wasm_v128_store(d + ch + c, wasm_v128_and(gv, w1));
          wasm_v128_store(d + ch + row, wasm_v128_and(gv, w2));
          wasm_v128_store(d + ch + row + c, wasm_v128_and(gv, w3));
        }
        for (; ch < c; ch++) {
          int best = ch;
          float m = p[ch];
          if (p[ch + c] > m) m = p[ch + c], best = ch + c;
          if (p[ch + row] > m) m = p[ch + row], best = ch + row;
          if (p[ch + row + c] > m) best = ch + row + c;
          d[ch] = d[ch + c] = d[ch + row] = d[ch + row + c] = 0.0f;
          d[best] = g[ch];
        }
      }
    }
  }
}

// out[r, j] = big[r, j] (op) small[j], or small[j] (op) big[r, j] when small_first, for rows
// [r0, r1) of `rows`. op: 0 add, 1 sub, 2 mul. The per-channel broadcasts of batch norm.
EXPORT(channel_binary)
void channel_binary(float* out, const float* big, const float* small, int rows, int c, int op, int small_first, int part,
                    int parts) {
  const int r0 = split(rows, part, parts), r1 = split(rows, part + 1, parts);
  const int sub_rev = op == 1 && small_first;
  for (int r = r0; r < r1; r++) {
    const float* s = big + r * c;
    float* o = out + r * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) {
      v128_t a = wasm_v128_load(s + j), b = wasm_v128_load(small + j);
      v128_t v = op == 0 ? wasm_f32x4_add(a, b) : op == 2 ? wasm_f32x4_mul(a, b) : sub_rev ? wasm_f32x4_sub(b, a) : wasm_f32x4_sub(a, b);
      wasm_v128_store(o + j, v);
    }
    for (; j < c; j++) o[j] = op == 0 ? s[j] + small[j] : op == 2 ? s[j] * small[j] : sub_rev ? small[j] - s[j] : s[j] - small[j];
  }
}

// Column sums of x [rows, c], in two steps that keep the order of additions independent of the
// thread count: column_block_sums writes the sums of each block of SUM_BLOCK rows to
// partial[block, c] (the part's blocks), then column_sum adds those up block by block.
#define SUM_BLOCK 256
EXPORT(column_block_sums)
void column_block_sums(float* partial, const float* x, int rows, int c, int part, int parts) {
  const int blocks = (rows + SUM_BLOCK - 1) / SUM_BLOCK;
  const int b0 = split(blocks, part, parts), b1 = split(blocks, part + 1, parts);
  const int cv = c & ~3;
  for (int b = b0; b < b1; b++) {
    const int r0 = b * SUM_BLOCK, r1 = r0 + SUM_BLOCK < rows ? r0 + SUM_BLOCK : rows;
    float* out = partial + (long)b * c;
    // Eight vectors (32 channels) at a time, summed over the block's rows in registers.
    for (int j = 0; j < cv; j += 32) {
      const int nv = cv - j >= 32 ? 8 : (cv - j) / 4;
      v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      const float* p = x + (long)r0 * c + j;
      if (nv == 8) {
        for (int r = r0; r < r1; r++, p += c) {
          a0 = wasm_f32x4_add(a0, wasm_v128_load(p));
          a1 = wasm_f32x4_add(a1, wasm_v128_load(p + 4));
          a2 = wasm_f32x4_add(a2, wasm_v128_load(p + 8));
          a3 = wasm_f32x4_add(a3, wasm_v128_load(p + 12));
          a4 = wasm_f32x4_add(a4, wasm_v128_load(p + 16));
          a5 = wasm_f32x4_add(a5, wasm_v128_load(p + 20));
          a6 = wasm_f32x4_add(a6, wasm_v128_load(p + 24));
          a7 = wasm_f32x4_add(a7, wasm_v128_load(p + 28));
        }
        wasm_v128_store(out + j + 16, a4);
        wasm_v128_store(out + j + 20, a5);
        wasm_v128_store(out + j + 24, a6);
        wasm_v128_store(out + j + 28, a7);
      } else {
        for (int r = r0; r < r1; r++, p += c) {
          a0 = wasm_f32x4_add(a0, wasm_v128_load(p));
          if (nv > 1) a1 = wasm_f32x4_add(a1, wasm_v128_load(p + 4));
          if (nv > 2) a2 = wasm_f32x4_add(a2, wasm_v128_load(p + 8));
          if (nv > 3) a3 = wasm_f32x4_add(a3, wasm_v128_load(p + 12));
          if (nv > 4) a4 = wasm_f32x4_add(a4, wasm_v128_load(p + 16));
          if (nv > 5) a5 = wasm_f32x4_add(a5, wasm_v128_load(p + 20));
          if (nv > 6) a6 = wasm_f32x4_add(a6, wasm_v128_load(p + 24));
        }
        if (nv > 4) wasm_v128_store(out + j + 16, a4);
        if (nv > 5) wasm_v128_store(out + j + 20, a5);
        if (nv > 6) wasm_v128_store(out + j + 24, a6);
      }
      wasm_v128_store(out + j, a0);
      if (nv > 1) wasm_v128_store(out + j + 4, a1);
      if (nv > 2) wasm_v128_store(out + j + 8, a2);
      if (nv > 3) wasm_v128_store(out + j + 12, a3);
    }
    for (int j = cv; j < c; j++) {
      float a = 0;
      for (int r = r0; r < r1; r++) a += x[(long)r * c + j];
      out[j] = a;
    }
  }
}

// Batch norm's centred sums, per block of SUM_BLOCK rows of x [rows, c] (column_sum adds the
// blocks up), for the part's blocks. Without dy: partial[block, j] = sum of (x - mean[j])^2.
// With dy [rows, c]: partial[block, j] = sum of dy, partial[block, c + j] = sum of
// dy * (x - mean[j]). Eight channels at a time, summed over the block's rows in registers.
EXPORT(column_block_centred_sums)
void column_block_centred_sums(float* partial, const float* x, const float* mean, const float* dy, int rows, int c,
                               int part, int parts) {
  const int blocks = (rows + SUM_BLOCK - 1) / SUM_BLOCK;
  const int b0 = split(blocks, part, parts), b1 = split(blocks, part + 1, parts);
  const int width = dy ? 2 * c : c;
  const int cv = c & ~7;
  for (int b = b0; b < b1; b++) {
    const int r0 = b * SUM_BLOCK, r1 = r0 + SUM_BLOCK < rows ? r0 + SUM_BLOCK : rows;
    float* out = partial + (long)b * width;
    for (int j = 0; j < cv; j += 8) {
      const v128_t m0 = wasm_v128_load(mean + j), m1 = wasm_v128_load(mean + j + 4);
      v128_t s0 = wasm_f32x4_splat(0.0f), s1 = s0, t0 = s0, t1 = s0;
      const float* p = x + (long)r0 * c + j;
      if (dy) {
        const float* g = dy + (long)r0 * c + j;
        for (int r = r0; r < r1; r++, p += c, g += c) {
          const v128_t g0 = wasm_v128_load(g), g1 = wasm_v128_load(g + 4);
          s0 = wasm_f32x4_add(s0, g0);
          s1 = wasm_f32x4_add(s1, g1);
          t0 = wasm_f32x4_add(t0, wasm_f32x4_mul(g0, wasm_f32x4_sub(wasm_v128_load(p), m0)));
          t1 = wasm_f32x4_add(t1, wasm_f32x4_mul(g1, wasm_f32x4_sub(wasm_v128_load(p + 4), m1)));
        }
        wasm_v128_store(out + c + j, t0), wasm_v128_store(out + c + j + 4, t1);
      } else {
        for (int r = r0; r < r1; r++, p += c) {
          const v128_t d0 = wasm_f32x4_sub(wasm_v128_load(p), m0), d1 = wasm_f32x4_sub(wasm_v128_load(p + 4), m1);
          s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(d0, d0));
          s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(d1, d1));
        }
      }
      wasm_v128_store(out + j, s0), wasm_v128_store(out + j + 4, s1);
    }
    for (int j = cv; j < c; j++) {
      float s = 0, t = 0;
      for (int r = r0; r < r1; r++) {
        const float d = x[(long)r * c + j] - mean[j];
        if (dy) s += dy[(long)r * c + j], t += dy[(long)r * c + j] * d;
        else s += d * d;
      }
      out[j] = s;
      if (dy) out[c + j] = t;
    }
  }
}

// out[r, j] = x[r, j] * a[j] + b[j], plus dy[r, j] * k[j] when dy is given, for the part's rows
// of `rows`: batch norm's forward pass and its input gradient, each in one pass.
EXPORT(channel_affine)
void channel_affine(float* out, const float* x, const float* a, const float* b, const float* dy, const float* k, int rows,
                    int c, int part, int parts) {
  const int r0 = split(rows, part, parts), r1 = split(rows, part + 1, parts);
  for (int r = r0; r < r1; r++) {
    const long o = (long)r * c;
    int j = 0;
    if (dy) {
      for (; j + 4 <= c; j += 4) {
        const v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + o + j), wasm_v128_load(a + j)), wasm_v128_load(b + j));
        wasm_v128_store(out + o + j, wasm_f32x4_add(v, wasm_f32x4_mul(wasm_v128_load(dy + o + j), wasm_v128_load(k + j))));
      }
      for (; j < c; j++) out[o + j] = x[o + j] * a[j] + b[j] + dy[o + j] * k[j];
    } else {
      for (; j + 4 <= c; j += 4)
        wasm_v128_store(out + o + j, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(x + o + j), wasm_v128_load(a + j)), wasm_v128_load(b + j)));
      for (; j < c; j++) out[o + j] = x[o + j] * a[j] + b[j];
    }
  }
}

// out[j] = scale * sum over blocks of partial[block, j], block by block; the part's channels.
EXPORT(column_sum)
void column_sum(float* out, const float* partial, int blocks, int c, float scale, int part, int parts) {
  const int j0 = split(c, part, parts), j1 = split(c, part + 1, parts);
  for (int j = j0; j < j1; j++) {
    float a = 0;
    for (int b = 0; b < blocks; b++) a += partial[(long)b * c + j];
    out[j] = a * scale;
  }
}

// The filter gradient of a 2-D convolution (NHWC input x [n, h, w, ci], output gradient
// dy [n, oh, ow, co], filter [kh, kw, ci, co]) computed directly:
//   dw[u, v, k, o] = sum over i, y, x of x[i, y*sh + u - pt, x*sw + v - pl, k] * dy[i, y, x, o],
// positions outside the input contributing nothing. The images are cut into `blocks` contiguous
// ranges; block b writes its sum to partial[b, kh, kw, ci, co] (column_sum then adds the blocks
// in order: the sums depend on `blocks`, never on the thread count). `parts` is a multiple of
// `blocks`: each block's filter is further cut into parts / blocks ranges of units (one filter
// position and up to 4 input channels, a contiguous stretch of the output). Registers hold a tile
// of 4 input channels x 8 output channels; images go one by one, so that one image of x and dy
// stays in cache across the units, and each part reads its images once. co must be a multiple of 8.
EXPORT(conv_filter_grad)
void conv_filter_grad(float* partial, const float* x, const float* dy, int n, int h, int w, int ci, int oh, int ow,
                      int co, int kh, int kw, int sh, int sw, int pt, int pl, int blocks, int part, int parts) {
  const int groups = parts / blocks, b = part / groups, g = part % groups;
  const int quads = (ci + 3) / 4, units = kh * kw * quads;
  const int t0 = split(units, g, groups), t1 = split(units, g + 1, groups);
  float* dw = partial + (long)b * kh * kw * ci * co;
  for (int t = t0; t < t1; t++) {
    const int k0 = 4 * (t % quads), k1 = k0 + 4 < ci ? k0 + 4 : ci;
    zero(dw + ((t / quads) * ci + k0) * co, (k1 - k0) * co);
  }
  for (int i = split(n, b, blocks); i < split(n, b + 1, blocks); i++) {
    for (int t = t0; t < t1; t++) {
      const int u = t / quads / kw, v = t / quads % kw, k = 4 * (t % quads);
      // Output columns whose input column x*sw + v - pl lies in [0, w).
      int x0 = 0, x1 = ow;
      while (x0 < ow && x0 * sw + v - pl < 0) x0++;
      while (x1 > x0 && (x1 - 1) * sw + v - pl >= w) x1--;
      for (int o = 0; o < co; o += 8) {
        if (k + 4 <= ci) {
          float* d = dw + ((u * kw + v) * ci + k) * co + o;
          v128_t a00 = wasm_v128_load(d), a01 = wasm_v128_load(d + 4);
          v128_t a10 = wasm_v128_load(d + co), a11 = wasm_v128_load(d + co + 4);
          v128_t a20 = wasm_v128_load(d + 2 * co), a21 = wasm_v128_load(d + 2 * co + 4);
          v128_t a30 = wasm_v128_load(d + 3 * co), a31 = wasm_v128_load(d + 3 * co + 4);
          for (int y = 0; y < oh; y++) {
            const int sy = y * sh + u - pt;
            if (sy < 0 || sy >= h) continue;
            const float* xp = x + (((long)i * h + sy) * w + x0 * sw + v - pl) * ci + k;
            const float* gp = dy + (((long)i * oh + y) * ow + x0) * co + o;
            for (int xo = x0; xo < x1; xo++, xp += sw * ci, gp += co) {
              const v128_t g0 = wasm_v128_load(gp), g1 = wasm_v128_load(gp + 4);
              v128_t s = wasm_f32x4_splat(xp[0]);
              a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(s, g0));
              a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(s, g1));
              s = wasm_f32x4_splat(xp[1]);
              a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(s, g0));
              a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(s, g1));
              s = wasm_f32x4_splat(xp[2]);
              a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(s, g0));
              a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(s, g1));
              s = wasm_f32x4_splat(xp[3]);
              a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(s, g0));
              a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(s, g1));
            }
          }
          wasm_v128_store(d, a00), wasm_v128_store(d + 4, a01);
          wasm_v128_store(d + co, a10), wasm_v128_store(d + co + 4, a11);
          wasm_v128_store(d + 2 * co, a20), wasm_v128_store(d + 2 * co + 4, a21);
          wasm_v128_store(d + 3 * co, a30), wasm_v128_store(d + 3 * co + 4, a31);
          continue;
        }
        // The last, partial group of input channels, one at a time.
        for (int kk = k; kk < ci; kk++) {
          float* d = dw + ((u * kw + v) * ci + kk) * co + o;
          v128_t a0 = wasm_v128_load(d), a1 = wasm_v128_load(d + 4);
          for (int y = 0; y < oh; y++) {
            const int sy = y * sh + u - pt;
            if (sy < 0 || sy >= h) continue;
            const float* xp = x + (((long)i * h + sy) * w + x0 * sw + v - pl) * ci + kk;
            const float* gp = dy + (((long)i * oh + y) * ow + x0) * co + o;
            for (int xo = x0; xo < x1; xo++, xp += sw * ci, gp += co) {
              const v128_t s = wasm_f32x4_splat(xp[0]);
              a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(gp)));
              a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(gp + 4)));
            }
          }
          wasm_v128_store(d, a0), wasm_v128_store(d + 4, a1);
        }
      }
    }
  }
}

// out[i, r, :] = v[i, :] for i < outer, r < rows (each row c values): a broadcast (tfjs's Tile of a
// tensor whose repeated axes have size 1, as in the gradients of Sum and Mean). The part writes
// rows [t0, t1) of the outer * rows output rows.
EXPORT(fill_rows)
void fill_rows(float* out, const float* v, int outer, int rows, int c, int part, int parts) {
  const int total = outer * rows;
  const int t0 = split(total, part, parts), t1 = split(total, part + 1, parts);
  for (int t = t0; t < t1; t++) {
    const float* s = v + (long)(t / rows) * c;
    float* o = out + (long)t * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) wasm_v128_store(o + j, wasm_v128_load(s + j));
    for (; j < c; j++) o[j] = s[j];
  }
}

// out = a (op) b element-wise over n values (op: 0 add, 1 sub, 2 mul); the part's range, cut at
// multiples of 4.
EXPORT(same_binary)
void same_binary(float* out, const float* a, const float* b, int n, int op, int part, int parts) {
  const int i0 = split4(n, part, parts), i1 = split4(n, part + 1, parts);
  int i = i0;
  if (op == 0)
    for (; i + 4 <= i1; i += 4) wasm_v128_store(out + i, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  else if (op == 1)
    for (; i + 4 <= i1; i += 4) wasm_v128_store(out + i, wasm_f32x4_sub(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  else
    for (; i + 4 <= i1; i += 4) wasm_v128_store(out + i, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < i1; i++) out[i] = op == 0 ? a[i] + b[i] : op == 1 ? a[i] - b[i] : a[i] * b[i];
}

// tfjs's Step: out = 1 where x > 0, alpha where x <= 0, NaN where x is NaN (ReLU's gradient mask).
EXPORT(step)
void step(float* out, const float* x, int n, float alpha, int part, int parts) {
  const int i0 = split4(n, part, parts), i1 = split4(n, part + 1, parts);
  const v128_t one = wasm_f32x4_splat(1.0f), al = wasm_f32x4_splat(alpha);
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    const v128_t r = wasm_v128_bitselect(one, al, wasm_f32x4_gt(v, wasm_f32x4_splat(0.0f)));
    // NaN stays NaN (x != x only for NaN).
    wasm_v128_store(out + i, wasm_v128_bitselect(v, r, wasm_f32x4_ne(v, v)));
  }
  for (; i < i1; i++) out[i] = x[i] != x[i] ? x[i] : x[i] > 0 ? 1.0f : alpha;
}

// e^v for 4 lanes: v = n ln 2 + r with |r| <= ln 2 / 2, e^r by a degree-7 polynomial (Cephes'
// expf coefficients; within 2 ulp of the true value), 2^n put straight into the exponent bits
// (as 2^(n-1) * 2 for n > 0, so that n = 128 stays representable). Overflow gives +inf, values
// below e^-87.34 (about 1e-38, the smallest normal float) give 0, NaN stays NaN.
static inline v128_t exp4(v128_t v) {
  const v128_t hi = wasm_f32x4_splat(88.72283905206835f), lo = wasm_f32x4_splat(-87.3365478515625f);
  const v128_t x = wasm_f32x4_max(wasm_f32x4_min(v, hi), lo);
  const v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r), wasm_f32x4_splat(1.0f));
  const v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  const v128_t positive = wasm_i32x4_gt(ni, wasm_i32x4_splat(0));
  // positive lanes are all ones (-1): n - 1 there.
  const v128_t scale = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_add(ni, positive), wasm_i32x4_splat(127)), 23);
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, scale), wasm_v128_bitselect(wasm_f32x4_splat(2.0f), wasm_f32x4_splat(1.0f), positive));
  y = wasm_v128_bitselect(wasm_f32x4_splat(__builtin_inff()), y, wasm_f32x4_gt(v, hi));
  y = wasm_v128_bitselect(wasm_f32x4_splat(0.0f), y, wasm_f32x4_lt(v, lo));
  return wasm_v128_bitselect(v, y, wasm_f32x4_ne(v, v));
}

// out[i] = e^x[i] for the part's range of n (see exp4).
EXPORT(exp_values)
void exp_values(float* out, const float* x, int n, int part, int parts) {
  const int i0 = split4(n, part, parts), i1 = split4(n, part + 1, parts);
  int i = i0;
  for (; i + 4 <= i1; i += 4) wasm_v128_store(out + i, exp4(wasm_v128_load(x + i)));
  const int m = i1 - i;
  if (m > 0) {
    // The last 1 to 3 values, through one vector.
    const v128_t e = exp4(wasm_f32x4_make(x[i], m > 1 ? x[i + 1] : 0.0f, m > 2 ? x[i + 2] : 0.0f, 0.0f));
    out[i] = wasm_f32x4_extract_lane(e, 0);
    if (m > 1) out[i + 1] = wasm_f32x4_extract_lane(e, 1);
    if (m > 2) out[i + 2] = wasm_f32x4_extract_lane(e, 2);
  }
}

// out[i, j] = scale * sum over r < rows of x[i, r, j]: a reduction over the middle axes (global
// average pooling); the part's images [i0, i1), each summed in row order.
EXPORT(middle_sum)
void middle_sum(float* out, const float* x, int outer, int rows, int c, float scale, int part, int parts) {
  const int i0 = split(outer, part, parts), i1 = split(outer, part + 1, parts);
  for (int i = i0; i < i1; i++) {
    const float* p = x + (long)i * rows * c;
    float* o = out + (long)i * c;
    int j = 0;
    for (; j + 4 <= c; j += 4) {
      v128_t a = wasm_f32x4_splat(0.0f);
      for (int r = 0; r < rows; r++) a = wasm_f32x4_add(a, wasm_v128_load(p + r * c + j));
      wasm_v128_store(o + j, wasm_f32x4_mul(a, wasm_f32x4_splat(scale)));
    }
    for (; j < c; j++) {
      float a = 0;
      for (int r = 0; r < rows; r++) a += p[r * c + j];
      o[j] = a * scale;
    }
  }
}
