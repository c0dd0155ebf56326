// Packing of boolean rows into uint64 words and back.
//
//   out[r, w] = sum_{b < 64, 64 w + b < k} x[r, 64 w + b] << b      (padding bits 0)
//   x[r, t]   = (words[r, t / 64] >> (t % 64)) & 1
//
// x: bool (rows, k), words: uint64 (rows, nw) with nw = ceil(k / 64), both row-major. One thread per
// output word (pack) or per output element (unpack), one-dimensional grid-stride loops.
#include "common.cuh"

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_pack_last(
    const bool* __restrict__ x, unsigned long long* __restrict__ out, long long rows, long long k,
    long long nw)
{
    const long long total = rows * nw;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const long long c0 = (t % nw) * 64;
        const bool* src = x + (t / nw) * k + c0;
        const long long bits = bnn_min_ll(64, k - c0);
        unsigned long long word = 0ULL;
        for (long long bit = 0; bit < bits; ++bit)
            word |= (unsigned long long)(src[bit] ? 1 : 0) << bit;
        out[t] = word;
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_unpack_last(
    const unsigned long long* __restrict__ words, bool* __restrict__ out, long long rows,
    long long k, long long nw)
{
    const long long total = rows * k;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const long long r = t / k;
        const long long c = t % k;
        out[t] = ((words[r * nw + (c >> 6)] >> (c & 63)) & 1ULL) != 0ULL;
    }
}
