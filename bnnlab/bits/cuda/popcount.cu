// Popcount reductions of bit-packed arrays a: uint64 (rows, nw), zero padding bits.
//
//   rows: out[r] = sum_w popcount(a[r, w])                  (int64)
//   cols: out[t] = #{r : bit t of row r is 1}, t < k         (int64, accumulated atomically)
//
// Launch shapes, chosen by the host:
//   bnn_popcount_rows_thread  one thread per row (short rows, nw <= 8);
//   bnn_popcount_rows_block   one block per row, threads stride over the words, shared-memory tree
//                             reduction (long rows); blockDim.x must be BNN_BLOCK_THREADS;
//   bnn_popcount_cols         threads over columns (x), blocks over chunks of `chunk` rows (y); each
//                             thread sums its chunk and atomically adds it to out[t], which the host
//                             zeroes first. The threads of a warp read the same word (a broadcast).
#include "common.cuh"

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_popcount_rows_thread(
    const unsigned long long* __restrict__ a, long long* __restrict__ out, long long rows,
    long long nw)
{
    for (long long r = bnn_thread_id(); r < rows; r += bnn_thread_stride()) {
        long long s = 0;
        for (long long w = 0; w < nw; ++w) s += __popcll(a[r * nw + w]);
        out[r] = s;
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_popcount_rows_block(
    const unsigned long long* __restrict__ a, long long* __restrict__ out, long long rows,
    long long nw)
{
    __shared__ long long part[BNN_BLOCK_THREADS];
    const int tid = threadIdx.x;
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        long long s = 0;
        for (long long w = tid; w < nw; w += BNN_BLOCK_THREADS) s += __popcll(a[r * nw + w]);
        part[tid] = s;
        __syncthreads();
        for (int half = BNN_BLOCK_THREADS / 2; half > 0; half >>= 1) {
            if (tid < half) part[tid] += part[tid + half];
            __syncthreads();
        }
        if (tid == 0) out[r] = part[0];
        __syncthreads();  // part[0] is read before the next row overwrites it
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_popcount_cols(
    const unsigned long long* __restrict__ a, unsigned long long* __restrict__ out, long long rows,
    long long nw, long long k, long long chunk)
{
    const long long chunks = (rows + chunk - 1) / chunk;
    for (long long t = bnn_thread_id(); t < k; t += bnn_thread_stride()) {
        const unsigned long long* col = a + (t >> 6);
        const int shift = (int)(t & 63);
        for (long long q = blockIdx.y; q < chunks; q += gridDim.y) {
            const long long r1 = bnn_min_ll(rows, (q + 1) * chunk);
            unsigned long long s = 0ULL;
            for (long long r = q * chunk; r < r1; ++r) s += (col[r * nw] >> shift) & 1ULL;
            if (s != 0ULL) atomicAdd(&out[t], s);
        }
    }
}
