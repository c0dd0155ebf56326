// XNOR/popcount GEMM of bit-packed +-1 matrices.
//
//   dot[i, j] = sum_t a[i, t] * b[j, t] = k - 2 * popcount(a_i XOR b_j)
//
// a: uint64 (m, nw) and b: uint64 (n, nw), row-major, nw = ceil(k / 64), zero padding bits (so the
// XOR of two padding bits is 0 and never counts). Two outputs:
//   bnn_xnor_gemm_*       int32 (m, n), the dot products;
//   bnn_xnor_gemm_sign_*  uint64 (m, ceil(n / 64)), bit j of row i = dot[i, j] >= thr[j], packed
//                         along j like every bnnlab bit array (padding bits 0); no (m, n) integer
//                         array is ever written.
// Two launch shapes, chosen by the host from (m, n):
//   *_tiled  2-D grid of (ceil(n / TN), ceil(m / TM)) blocks of TX x TY threads (see common.cuh):
//            shared-memory staging of A and B, register tile, __popcll in the inner loop;
//   *_thin   1-D grid-stride loop, one thread per output (or per output word for the sign
//            kernel); for products with few rows or columns, where a 64 x 64 tile would idle.
#include "common.cuh"

// Shared tiles are [KW][ROWS + 1]: the extra word per k row puts the KW words a thread group
// stores for one matrix row in distinct banks (without it they are ROWS words apart: one bank).
#define BNN_GEMM_LDA (BNN_GEMM_TM + 1)
#define BNN_GEMM_LDB (BNN_GEMM_TN + 1)

// Stage words w0 .. w0 + KW - 1 of rows r0 .. r0 + ROWS - 1 of src (rows x nw) into the
// word-major shared tile dst[KW][LD], zero outside src. Word index fastest: a warp reads KW
// consecutive words of a row.
template <int ROWS, int LD>
__device__ __forceinline__ void bnn_stage(
    const unsigned long long* __restrict__ src, long long rows, long long r0, long long nw,
    long long w0, unsigned long long (*dst)[LD], int tid)
{
    for (int idx = tid; idx < ROWS * BNN_GEMM_KW; idx += BNN_GEMM_THREADS) {
        const int row = idx / BNN_GEMM_KW;
        const int kw = idx % BNN_GEMM_KW;
        const long long gr = r0 + row;
        const long long gw = w0 + kw;
        dst[kw][row] = (gr < rows && gw < nw) ? src[gr * nw + gw] : 0ULL;
    }
}

// Accumulate the popcounts of one TM x TN output tile whose first row is m0 and first column n0.
// Every thread of the block must call it (it synchronises); acc[r][c] receives
// popcount(a[m0 + ty + r * TY] ^ b[n0 + tx + c * TX]); rows or columns past m or n read as zero
// words and their results are discarded by the caller.
__device__ __forceinline__ void bnn_gemm_tile(
    const unsigned long long* __restrict__ a, const unsigned long long* __restrict__ b, long long m,
    long long n, long long nw, long long m0, long long n0,
    unsigned long long (*As)[BNN_GEMM_LDA], unsigned long long (*Bs)[BNN_GEMM_LDB],
    int (*acc)[BNN_GEMM_RN])
{
    const int tx = threadIdx.x;
    const int ty = threadIdx.y;
    const int tid = ty * BNN_GEMM_TX + tx;
    for (int r = 0; r < BNN_GEMM_RM; ++r)
        for (int c = 0; c < BNN_GEMM_RN; ++c) acc[r][c] = 0;

    for (long long w0 = 0; w0 < nw; w0 += BNN_GEMM_KW) {
        bnn_stage<BNN_GEMM_TM, BNN_GEMM_LDA>(a, m, m0, nw, w0, As, tid);
        bnn_stage<BNN_GEMM_TN, BNN_GEMM_LDB>(b, n, n0, nw, w0, Bs, tid);
        __syncthreads();  // the tile is complete before anyone reads it
#pragma unroll
        for (int kw = 0; kw < BNN_GEMM_KW; ++kw) {
            unsigned long long av[BNN_GEMM_RM];
            unsigned long long bv[BNN_GEMM_RN];
#pragma unroll
            for (int r = 0; r < BNN_GEMM_RM; ++r) av[r] = As[kw][ty + r * BNN_GEMM_TY];
#pragma unroll
            for (int c = 0; c < BNN_GEMM_RN; ++c) bv[c] = Bs[kw][tx + c * BNN_GEMM_TX];
#pragma unroll
            for (int r = 0; r < BNN_GEMM_RM; ++r)
#pragma unroll
                for (int c = 0; c < BNN_GEMM_RN; ++c) acc[r][c] += __popcll(av[r] ^ bv[c]);
        }
        __syncthreads();  // everyone is done reading before the next step overwrites the tile
    }
}

// Grid-stride walk over the output tiles of the block: stage and accumulate each tile, then hand
// its popcounts to epilogue(m0, n0, acc) (called by every thread of the block).
template <typename Epilogue>
__device__ __forceinline__ void bnn_gemm_tiles(
    const unsigned long long* __restrict__ a, const unsigned long long* __restrict__ b, long long m,
    long long n, long long nw, Epilogue epilogue)
{
    __shared__ unsigned long long As[BNN_GEMM_KW][BNN_GEMM_LDA];
    __shared__ unsigned long long Bs[BNN_GEMM_KW][BNN_GEMM_LDB];
    const long long mt = (m + BNN_GEMM_TM - 1) / BNN_GEMM_TM;
    const long long nt = (n + BNN_GEMM_TN - 1) / BNN_GEMM_TN;
    for (long long bm = blockIdx.y; bm < mt; bm += gridDim.y) {
        for (long long bn = blockIdx.x; bn < nt; bn += gridDim.x) {
            int acc[BNN_GEMM_RM][BNN_GEMM_RN];
            bnn_gemm_tile(a, b, m, n, nw, bm * BNN_GEMM_TM, bn * BNN_GEMM_TN, As, Bs, acc);
            epilogue(bm * BNN_GEMM_TM, bn * BNN_GEMM_TN, acc);
        }
    }
}

extern "C" __global__ void __launch_bounds__(BNN_GEMM_THREADS) bnn_xnor_gemm_tiled(
    const unsigned long long* __restrict__ a, const unsigned long long* __restrict__ b,
    int* __restrict__ out, long long m, long long n, long long nw, int k)
{
    bnn_gemm_tiles(a, b, m, n, nw, [&](long long m0, long long n0, int (*acc)[BNN_GEMM_RN]) {
        for (int r = 0; r < BNN_GEMM_RM; ++r) {
            const long long i = m0 + threadIdx.y + r * BNN_GEMM_TY;
            for (int c = 0; c < BNN_GEMM_RN; ++c) {
                const long long j = n0 + threadIdx.x + c * BNN_GEMM_TX;
                if (i < m && j < n) out[i * n + j] = k - 2 * acc[r][c];
            }
        }
    });
}

#if BNN_GEMM_TN % 64 != 0
#error "BNN_GEMM_TN must be a multiple of 64: a block of the sign kernel writes whole output words"
#endif

extern "C" __global__ void __launch_bounds__(BNN_GEMM_THREADS) bnn_xnor_gemm_sign_tiled(
    const unsigned long long* __restrict__ a, const unsigned long long* __restrict__ b,
    const int* __restrict__ thr, unsigned long long* __restrict__ out, long long m, long long n,
    long long nw, int k)
{
    __shared__ unsigned char flag[BNN_GEMM_TM][BNN_GEMM_TN];
    const int words_per_tile = BNN_GEMM_TN / 64;
    const long long nwo = (n + 63) / 64;
    const int tid = threadIdx.y * BNN_GEMM_TX + threadIdx.x;
    bnn_gemm_tiles(a, b, m, n, nw, [&](long long m0, long long n0, int (*acc)[BNN_GEMM_RN]) {
        for (int r = 0; r < BNN_GEMM_RM; ++r) {
            const int li = threadIdx.y + r * BNN_GEMM_TY;
            for (int c = 0; c < BNN_GEMM_RN; ++c) {
                const int lj = threadIdx.x + c * BNN_GEMM_TX;
                const long long j = n0 + lj;
                flag[li][lj] = (j < n && k - 2 * acc[r][c] >= thr[j]) ? 1 : 0;
            }
        }
        __syncthreads();  // all flags of the tile are set before they are gathered
        for (int idx = tid; idx < BNN_GEMM_TM * words_per_tile; idx += BNN_GEMM_THREADS) {
            const int li = idx / words_per_tile;
            const int q = idx % words_per_tile;
            const long long i = m0 + li;
            const long long wo = n0 / 64 + q;
            if (i < m && wo < nwo) {
                unsigned long long word = 0ULL;
                for (int bit = 0; bit < 64; ++bit)
                    word |= (unsigned long long)flag[li][q * 64 + bit] << bit;
                out[i * nwo + wo] = word;
            }
        }
        __syncthreads();  // the flags are gathered before the next tile overwrites them
    });
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_xnor_gemm_thin(
    const unsigned long long* __restrict__ a, const unsigned long long* __restrict__ b,
    int* __restrict__ out, long long m, long long n, long long nw, int k)
{
    const long long total = m * n;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const unsigned long long* ar = a + (t / n) * nw;
        const unsigned long long* br = b + (t % n) * nw;
        int ones = 0;
        for (long long w = 0; w < nw; ++w) ones += __popcll(ar[w] ^ br[w]);
        out[t] = k - 2 * ones;
    }
}

extern "C" __global__ void __launch_bounds__(BNN_BLOCK_THREADS) bnn_xnor_gemm_sign_thin(
    const unsigned long long* __restrict__ a, const unsigned long long* __restrict__ b,
    const int* __restrict__ thr, unsigned long long* __restrict__ out, long long m, long long n,
    long long nw, int k)
{
    const long long nwo = (n + 63) / 64;
    const long long total = m * nwo;
    for (long long t = bnn_thread_id(); t < total; t += bnn_thread_stride()) {
        const unsigned long long* ar = a + (t / nwo) * nw;
        const long long j0 = (t % nwo) * 64;
        const long long bits = bnn_min_ll(64, n - j0);
        unsigned long long word = 0ULL;
        for (long long bit = 0; bit < bits; ++bit) {
            const unsigned long long* br = b + (j0 + bit) * nw;
            int ones = 0;
            for (long long w = 0; w < nw; ++w) ones += __popcll(ar[w] ^ br[w]);
            word |= (unsigned long long)(k - 2 * ones >= thr[j0 + bit]) << bit;
        }
        out[t] = word;
    }
}
