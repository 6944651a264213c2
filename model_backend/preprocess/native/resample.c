/* Pillow 13's 8-bit bicubic resample passes (src/libImaging/Resample.c), vectorised.
 *
 * Same integer arithmetic as Pillow: 22-bit fixed-point coefficients (computed in Python,
 * see __init__.py beside this file), int32 sums started at 1 << 21, shifted right by 22 and clamped to
 * 0..255. Integer sums do not depend on their order, so the lanes below give Pillow's bytes.
 * Pixels are 4 bytes (R, G, B, unused) as in Pillow's RGB images; the unused byte is written 0.
 *
 * bounds[2 * i] is the first input pixel (or row) of output i, bounds[2 * i + 1] how many
 * follow; kk[i * ksize + t] their coefficients. The caller passes pointers already offset to
 * the band it wants, so bands of rows or columns need no copies.
 */
#include <stddef.h>
#include <stdint.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define PRECISION_BITS 22
#define HALF (1 << (PRECISION_BITS - 1))
#define CHUNK 1024 /* bytes of a row summed at once in the vertical pass: accumulators stay in L1 */

static inline uint8_t clip8(int32_t sum) {
    int32_t v = sum >> PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* Horizontal pass: each of `rows` rows of `in` -> `out_width` pixels of `out`.
 * kk4 holds every coefficient repeated 4 times (one per byte of a pixel). */
void resample_horizontal(const uint8_t *in, ptrdiff_t in_stride, uint8_t *out, ptrdiff_t out_stride, int rows,
                         int out_width, const int32_t *bounds, const int32_t *kk4, int ksize) {
    for (int y = 0; y < rows; y++) {
        const uint8_t *src = in + y * in_stride;
        uint8_t *dst = out + y * out_stride;
        for (int xx = 0; xx < out_width; xx++) {
            const uint8_t *p = src + (ptrdiff_t)bounds[2 * xx] * 4;
            const int n = bounds[2 * xx + 1];
            const int32_t *k = kk4 + (ptrdiff_t)xx * ksize * 4;
            int t = 0;
#if defined(__AVX2__)
            __m256i acc = _mm256_setzero_si256();
            for (; t + 1 < n; t += 2) { /* two input pixels (8 bytes) per step */
                __m256i px = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + t * 4)));
                acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(px, _mm256_loadu_si256((const __m256i *)(k + t * 4))));
            }
            __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
            sum = _mm_add_epi32(sum, _mm_set1_epi32(HALF));
            for (; t < n; t++) {
                int32_t one;
                __builtin_memcpy(&one, p + t * 4, 4);
                __m128i px = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(one));
                sum = _mm_add_epi32(sum, _mm_mullo_epi32(px, _mm_loadu_si128((const __m128i *)(k + t * 4))));
            }
            sum = _mm_srai_epi32(sum, PRECISION_BITS);
            __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(sum, sum), _mm_setzero_si128());
            uint32_t pixel = (uint32_t)_mm_cvtsi128_si32(bytes) & 0x00FFFFFFu;
            __builtin_memcpy(dst + xx * 4, &pixel, 4);
#else
            int32_t s0 = HALF, s1 = HALF, s2 = HALF;
            for (; t < n; t++) {
                const int32_t kt = k[t * 4];
                s0 += p[t * 4 + 0] * kt;
                s1 += p[t * 4 + 1] * kt;
                s2 += p[t * 4 + 2] * kt;
            }
            dst[xx * 4 + 0] = clip8(s0);
            dst[xx * 4 + 1] = clip8(s1);
            dst[xx * 4 + 2] = clip8(s2);
            dst[xx * 4 + 3] = 0;
#endif
        }
    }
}

/* Vertical pass: `out_rows` rows of `width` pixels; output row i sums input rows
 * bounds[2i] .. bounds[2i] + bounds[2i+1] - 1. Plain loops: the compiler vectorises them. */
void resample_vertical(const uint8_t *in, ptrdiff_t in_stride, uint8_t *out, ptrdiff_t out_stride, int out_rows,
                       int width, const int32_t *bounds, const int32_t *kk, int ksize) {
    int32_t acc[CHUNK];
    const int nbytes = width * 4;
    for (int yy = 0; yy < out_rows; yy++) {
        const uint8_t *first = in + (ptrdiff_t)bounds[2 * yy] * in_stride;
        const int n = bounds[2 * yy + 1];
        const int32_t *k = kk + (ptrdiff_t)yy * ksize;
        uint8_t *dst = out + yy * out_stride;
        for (int start = 0; start < nbytes; start += CHUNK) {
            const int len = nbytes - start < CHUNK ? nbytes - start : CHUNK;
            for (int i = 0; i < len; i++) acc[i] = HALF;
            for (int t = 0; t < n; t++) {
                const uint8_t *row = first + t * in_stride + start;
                const int32_t kt = k[t];
                for (int i = 0; i < len; i++) acc[i] += row[i] * kt;
            }
            for (int i = 0; i < len; i++) dst[start + i] = clip8(acc[i]);
            for (int i = 3; i < len; i += 4) dst[start + i] = 0;
        }
    }
}
