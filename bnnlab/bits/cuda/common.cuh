// Shared definitions of the bnnlab bit kernels (CUDA C++, compiled by NVRTC through cupy.RawModule,
// by nvcc in the compile-only tests, and by g++ through tests/cuda_emu/cuda_compat.h).
//
// Rules for every kernel file:
//   * only builtin types in kernel signatures (no <cstdint>: NVRTC has no host headers) and never
//     `long` or plain `char`, whose size or signedness depends on the platform; the launchers pass
//     numpy scalars of exactly these C types (int -> int32, long long -> int64, ...);
//   * every entry point is `extern "C"` (unmangled name for cupy.RawModule.get_function);
//   * grid-stride loops everywhere, so that any grid size gives the same result (the launchers cap
//     the grid at the hardware limits);
//   * bit layout: element t of a row is bit t % 64 (LSB first) of word t / 64; bit 1 encodes +1;
//     padding bits are zero on input and written as zero.
//
// Tiling constants may be overridden with -D (the CPU emulation tests a small configuration too);
// bnnlab/bits/_cuda_sources.py reads the defaults from this file, so Python and CUDA agree.
#ifndef BNNLAB_COMMON_CUH
#define BNNLAB_COMMON_CUH

// Tiled XNOR GEMM: a block of BNN_GEMM_TX x BNN_GEMM_TY threads computes a tile of
// BNN_GEMM_TM x BNN_GEMM_TN outputs, each thread BNN_GEMM_RM x BNN_GEMM_RN of them (register tile,
// strided by the thread grid so that a warp writes consecutive columns). Per step of the k loop the
// block stages BNN_GEMM_KW 64-bit words of each of its TM rows of A and TN rows of B in shared
// memory, word-major ([KW][TM + 1] and [KW][TN + 1], the extra word against bank conflicts of the
// stores): threads of a warp read consecutive words of Bs and broadcast words of As, so the inner
// loop has no bank conflicts. Shared memory: 8 KiB (int32 GEMM), 12 KiB (fused sign, + a TM x TN
// byte tile of flags); 64 registers per thread (ptxas, sm_80), no spills.
#ifndef BNN_GEMM_TX
#define BNN_GEMM_TX 16
#endif
#ifndef BNN_GEMM_TY
#define BNN_GEMM_TY 16
#endif
#ifndef BNN_GEMM_RM
#define BNN_GEMM_RM 4
#endif
#ifndef BNN_GEMM_RN
#define BNN_GEMM_RN 4
#endif
#ifndef BNN_GEMM_KW
#define BNN_GEMM_KW 8
#endif
#define BNN_GEMM_TM (BNN_GEMM_TY * BNN_GEMM_RM)
#define BNN_GEMM_TN (BNN_GEMM_TX * BNN_GEMM_RN)
#define BNN_GEMM_THREADS (BNN_GEMM_TX * BNN_GEMM_TY)

// Threads per block of the one-dimensional kernels and of the block reductions (a power of two).
#ifndef BNN_BLOCK_THREADS
#define BNN_BLOCK_THREADS 256
#endif

__device__ __forceinline__ long long bnn_min_ll(long long a, long long b) { return a < b ? a : b; }

__device__ __forceinline__ long long bnn_max_ll(long long a, long long b) { return a > b ? a : b; }

// Global linear thread index and stride of a one-dimensional grid-stride loop.
__device__ __forceinline__ long long bnn_thread_id()
{
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long bnn_thread_stride() { return (long long)gridDim.x * blockDim.x; }

#endif  // BNNLAB_COMMON_CUH
