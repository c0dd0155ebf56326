// Exact corrections for ternary operands (sign(0) = 0) of the bit-packed product and update.
//
// A ternary row a in {-1, 0, +1}^k is held as its packed ties-+1 sign a1 (bit 1 where a >= 0) and
// its zero mask z_a, so a = a1 - z_a; the weights likewise as packed ties-+1 rows b1 of sign(W)^T
// and the zeros of W. With the zero masks packed like the operands (bit t of word t / 64),
//
//   inputs:  dot[i, j] -= sum_{t: z_a[i, t]} b1[j, t]
//                      =  sum_w 2 popcount(za[i, w] & b[j, w]) - popcount(za[i, w])
//   weights: dot[i, j] -= sum_{t: z_w[t, j], not z_a[i, t]} a1[i, t]
//                      =  sum_w 2 popcount(live & a[i, w]) - popcount(live),
//            live = zw[j, w] & ~za[i, w]
//
// (a +1 bit counts +1, a 0 bit -1: 2 * #ones - #bits), and the update H += step x1^T E computed on
// the ties-+1 inputs is corrected by H[i, :] -= step E[s, :] for every zero input (s, i).
//
// One thread per output element (j fastest) walks the words or the batch in order: no atomics on
// the results, so every launch shape gives the same integers. The host (bnnlab/bits/ops.py) checks
// that no result leaves its type. Only the zero-weight mask is built with atomicOr (bits are set,
// never counted, so the order does not matter).
#include "common.cuh"

// mask[rows[p], cols[p] / 64] |= 1 << (cols[p] % 64) for p < count (mask zeroed by the host).
extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_positions_mask(
    unsigned long long* __restrict__ mask, const long long* __restrict__ rows,
    const long long* __restrict__ cols, long long count, long long nw)
{
    for (long long p = bnn_thread_id(); p < count; p += bnn_thread_stride()) {
        const long long c = cols[p];
        atomicOr(&mask[rows[p] * nw + (c >> 6)], 1ULL << (int)(c & 63));
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_subtract_zero_inputs(
    int* __restrict__ dot, const unsigned long long* __restrict__ za,
    const unsigned long long* __restrict__ b, long long m, long long n, long long nw)
{
    const long long total = m * n;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const long long i = t / n;
        const long long j = t % n;
        long long s = 0;
        for (long long w = 0; w < nw; ++w) {
            const unsigned long long z = za[i * nw + w];
            if (z != 0ULL) s += 2LL * __popcll(z & b[j * nw + w]) - __popcll(z);
        }
        dot[t] -= (int)s;
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_subtract_zero_weights(
    int* __restrict__ dot, const unsigned long long* __restrict__ a,
    const unsigned long long* __restrict__ za, const unsigned long long* __restrict__ zw,
    long long m, long long n, long long nw)
{
    const long long total = m * n;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const long long i = t / n;
        const long long j = t % n;
        long long s = 0;
        for (long long w = 0; w < nw; ++w) {
            const unsigned long long live = zw[j * nw + w] & ~za[i * nw + w];
            if (live != 0ULL) s += 2LL * __popcll(live & a[i * nw + w]) - __popcll(live);
        }
        dot[t] -= (int)s;
    }
}

template <typename T>
__device__ __forceinline__ void bnn_subtract_zero_update(
    T* __restrict__ h, const bool* __restrict__ x_zero, const signed char* __restrict__ e,
    long long n_in, long long n_out, long long batch, long long step)
{
    const long long total = n_in * n_out;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const long long i = t / n_out;
        const long long j = t % n_out;
        long long v = h[t];
        for (long long s = 0; s < batch; ++s) {
            if (x_zero[s * n_in + i]) v -= step * e[s * n_out + j];
        }
        h[t] = (T)v;
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_subtract_zero_update_i16(
    short* __restrict__ h, const bool* __restrict__ x_zero, const signed char* __restrict__ e,
    long long n_in, long long n_out, long long batch, long long step)
{
    bnn_subtract_zero_update<short>(h, x_zero, e, n_in, n_out, batch, step);
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_subtract_zero_update_i32(
    int* __restrict__ h, const bool* __restrict__ x_zero, const signed char* __restrict__ e,
    long long n_in, long long n_out, long long batch, long long step)
{
    bnn_subtract_zero_update<int>(h, x_zero, e, n_in, n_out, batch, step);
}
