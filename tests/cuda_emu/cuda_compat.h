// CUDA-to-C++ compatibility header: compiles the bnnlab .cu kernels with g++ for the CPU.
//
// Kernels see the CUDA built-ins they use: threadIdx/blockIdx (thread-local), blockDim/gridDim,
// __syncthreads, __popcll/__popc and the atomics below; __global__/__device__/__forceinline__ and
// __launch_bounds__ vanish, and __shared__ becomes `static`: one instance, shared by the threads of
// the running block, which is exactly CUDA's per-block shared memory because the emulator runs the
// blocks of a grid one after the other. The execution model (one std::thread per CUDA thread, a
// std::barrier per block, the schedules) lives in emu_runtime.cpp, compiled once into its own
// shared library: this header stays light so that every kernel file compiles in well under a second.
#ifndef BNNLAB_CUDA_COMPAT_H
#define BNNLAB_CUDA_COMPAT_H

#include <cmath>  // the device math functions kernels call (exp), from the host's libm
using std::exp;

struct dim3 {
    unsigned int x, y, z;
};

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __shared__ static
#define __launch_bounds__(...)

extern thread_local dim3 threadIdx;
extern thread_local dim3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

extern "C" void bnn_emu_syncthreads();
extern "C" int bnn_emu_run(void (*kernel)(void**), void** args, unsigned gx, unsigned gy,
                           unsigned gz, unsigned bx, unsigned by, unsigned bz, int mode);

inline void __syncthreads() { bnn_emu_syncthreads(); }

inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __popc(unsigned int x) { return __builtin_popcount(x); }

inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v)
{
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicOr(unsigned long long* p, unsigned long long v)
{
    return __atomic_fetch_or(p, v, __ATOMIC_RELAXED);
}

#endif  // BNNLAB_CUDA_COMPAT_H
