// Integer outer-product update of gradient-free training, with per-sample saturation:
//
//   for b = 0, 1, ..., B - 1 (in order), for every (i, j) with e[b, j] != 0:
//       h[i, j] = clip(h[i, j] + step * x[b, i] * e[b, j], lo, hi)
//
// i.e. H += step * X^T E computed as a saturating counter, exactly as the numpy reference
// (bnnlab/bits/_numpy.py). x: uint64 (B, xw) packed +-1 (bit 1 = +1), e: int8 (B, n_out) in
// {-1, 0, +1}, h: int16 or int32 (n_in, n_out) updated in place. Only integer increments, no floats.
// The host guarantees lo <= h <= hi on entry and lo, hi within the range of h's type, and passes
// step <= hi - lo + 1 (a larger step saturates identically), so the int64 arithmetic cannot overflow.
//
// One thread per element of h (j fastest: the reads of e[b, :] and the read-modify-write of h are
// coalesced, the word of x[b, :] is a broadcast within a warp); each thread walks the batch in
// order, which is what makes the saturation sequential per sample.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void bnn_outer_update(
    T* __restrict__ h, const unsigned long long* __restrict__ x, const signed char* __restrict__ e,
    long long n_in, long long n_out, long long batch, long long xw, long long step, long long lo,
    long long hi)
{
    const long long total = n_in * n_out;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const long long i = t / n_out;
        const long long j = t % n_out;
        const unsigned long long* xcol = x + (i >> 6);
        const int shift = (int)(i & 63);
        long long v = h[t];
        for (long long s = 0; s < batch; ++s) {
            const int ev = e[s * n_out + j];
            if (ev != 0) {
                const int sign = ((xcol[s * xw] >> shift) & 1ULL) ? ev : -ev;
                v += sign * step;
                v = v < lo ? lo : (v > hi ? hi : v);
            }
        }
        h[t] = (T)v;
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_outer_update_i16(
    short* __restrict__ h, const unsigned long long* __restrict__ x,
    const signed char* __restrict__ e, long long n_in, long long n_out, long long batch,
    long long xw, long long step, long long lo, long long hi)
{
    bnn_outer_update<short>(h, x, e, n_in, n_out, batch, xw, step, lo, hi);
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_outer_update_i32(
    int* __restrict__ h, const unsigned long long* __restrict__ x,
    const signed char* __restrict__ e, long long n_in, long long n_out, long long batch,
    long long xw, long long step, long long lo, long long hi)
{
    bnn_outer_update<int>(h, x, e, n_in, n_out, batch, xw, step, lo, hi);
}
