// Batched simulated annealing and path-integral simulated quantum annealing of QP-SBGD's per-row
// problems (CUDA C++; compiled by NVRTC through cupy.RawModule, by nvcc in the compile-only tests,
// and by g++ through tests/cuda_emu for the CPU emulation).
//
// The same algorithm, operation for operation, as the numba kernels of
// bnnlab/hardware/annealing/_kernels.py (read that module's docstring for the math): one thread
// per (row, read), t = row * reads + read, grid-stride; spins visited in order; one uniform per
// proposal from SplitMix64(key + counter * golden), the counter being the proposal's position,
// drawn only when needed; the state is the local fields A g (kind 0,
// lsq) or z = X~ g (kind 1, sign). Floating-point operations are in the same order as the numba
// code, so the CPU emulation (g++, no FMA contraction on x86-64 without -march) reproduces numba
// bit for bit; on a GPU, NVRTC's fused multiply-adds and its exp() can round differently, so a
// GPU run equals the CPU one in distribution, not necessarily sample for sample.
//
// Scratch: `work` holds, per thread, the spins and the state (SA: n + size doubles; SQA:
// slices * (n + size)), laid out thread-major. Only builtin types in the signatures (see
// bnnlab/bits/cuda/common.cuh for the rules).

__device__ __forceinline__ double bnn_uniform(unsigned long long key, unsigned long long counter)
{
    unsigned long long z = key + counter * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

// Metropolis with the acceptance truncated below 2^-53: x <= 0, or x < 37.5 and u < exp(-x); the
// uniform of a proposal is drawn at its own counter, only when needed.
__device__ __forceinline__ bool bnn_accept(double x, unsigned long long key,
                                           unsigned long long counter)
{
    if (x <= 0.0) return true;
    if (x >= 37.5) return false;
    return bnn_uniform(key, counter) < exp(-x);
}

__device__ __forceinline__ double bnn_sgn(double v, double eps)
{
    return v + eps >= 0.0 ? 1.0 : -1.0;
}

__device__ void bnn_init_state(int kind, const double* a, const double* xt, long long n,
                               long long bsz, const double* g, double* state)
{
    if (kind == 0) {
        for (long long k = 0; k < n; ++k) {
            double acc = 0.0;
            for (long long i = 0; i < n; ++i) acc += a[k * n + i] * g[i];
            state[k] = acc;
        }
    } else {
        for (long long b = 0; b < bsz; ++b) {
            double acc = 0.0;
            for (long long i = 0; i < n; ++i) acc += xt[b * n + i] * g[i];
            state[b] = acc;
        }
    }
}

__device__ double bnn_delta(int kind, const double* h_r, const double* xt, const double* y_r,
                            double eps, long long n, long long bsz, const double* g,
                            const double* state, long long i)
{
    if (kind == 0) return -2.0 * g[i] * (h_r[i] + 2.0 * state[i]);
    double d = 0.0;
    const double step = -2.0 * g[i];
    for (long long b = 0; b < bsz; ++b) {
        const double old_s = bnn_sgn(state[b], eps);
        const double new_s = bnn_sgn(state[b] + step * xt[b * n + i], eps);
        if (new_s != old_s) d += -2.0 * y_r[b] * (new_s - old_s);
    }
    return d;
}

__device__ void bnn_flip(int kind, const double* a, const double* xt, long long n, long long bsz,
                         double* g, double* state, long long i)
{
    g[i] = -g[i];
    const double two = 2.0 * g[i];
    if (kind == 0) {
        for (long long k = 0; k < n; ++k) state[k] += two * a[i * n + k];  // A symmetric
    } else {
        for (long long b = 0; b < bsz; ++b) state[b] += two * xt[b * n + i];
    }
}

__device__ double bnn_energy(int kind, const double* h_r, double offset_r, const double* y_r,
                             double eps, long long n, long long bsz, const double* g,
                             const double* state)
{
    if (kind == 0) {
        double e = offset_r;
        for (long long i = 0; i < n; ++i) e += g[i] * (state[i] + h_r[i]);
        return e;
    }
    double e = 0.0;
    for (long long b = 0; b < bsz; ++b) {
        const double d = bnn_sgn(state[b], eps) - y_r[b];
        e += d * d;
    }
    return e;
}

extern "C" __global__ void __launch_bounds__(128) bnn_anneal_sa(
    int kind, const double* __restrict__ a, const double* __restrict__ h,
    const double* __restrict__ xt, const double* __restrict__ y, double eps,
    const unsigned long long* __restrict__ keys, const double* __restrict__ betas,
    long long rows, long long reads, long long n, long long bsz, long long sweeps,
    double* __restrict__ work, signed char* __restrict__ out)
{
    const long long size = kind == 0 ? n : bsz;
    const long long total = rows * reads;
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (long long)gridDim.x * blockDim.x) {
        const long long r = t / reads;
        const unsigned long long key = keys[t];
        double* g = work + t * (n + size);
        double* state = g + n;
        for (long long i = 0; i < n; ++i)
            g[i] = bnn_uniform(key, (unsigned long long)i) < 0.5 ? 1.0 : -1.0;
        bnn_init_state(kind, a, xt, n, bsz, g, state);
        const double* h_r = kind == 0 ? h + r * n : h;
        const double* y_r = kind == 1 ? y + r * bsz : y;
        for (long long s = 0; s < sweeps; ++s) {
            const double beta = betas[r * sweeps + s];
            const unsigned long long base = (unsigned long long)(n + s * n);
            for (long long i = 0; i < n; ++i) {
                const double d = bnn_delta(kind, h_r, xt, y_r, eps, n, bsz, g, state, i);
                if (bnn_accept(beta * d, key, base + (unsigned long long)i))
                    bnn_flip(kind, a, xt, n, bsz, g, state, i);
            }
        }
        for (long long i = 0; i < n; ++i) out[t * n + i] = (signed char)g[i];
    }
}

extern "C" __global__ void __launch_bounds__(128) bnn_anneal_sqa(
    int kind, const double* __restrict__ a, const double* __restrict__ h,
    const double* __restrict__ offset, const double* __restrict__ xt,
    const double* __restrict__ y, double eps, const unsigned long long* __restrict__ keys,
    const double* __restrict__ beta, const double* __restrict__ couplings, long long slices,
    long long rows, long long reads, long long n, long long bsz, long long sweeps,
    double* __restrict__ work, signed char* __restrict__ out)
{
    const long long size = kind == 0 ? n : bsz;
    const long long total = rows * reads;
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < total;
         t += (long long)gridDim.x * blockDim.x) {
        const long long r = t / reads;
        const unsigned long long key = keys[t];
        double* g = work + t * slices * (n + size);  // slices x n spins, then slices x size
        double* state = g + slices * n;
        for (long long k = 0; k < slices; ++k) {
            for (long long i = 0; i < n; ++i)
                g[k * n + i] =
                    bnn_uniform(key, (unsigned long long)(k * n + i)) < 0.5 ? 1.0 : -1.0;
            bnn_init_state(kind, a, xt, n, bsz, g + k * n, state + k * size);
        }
        const double* h_r = kind == 0 ? h + r * n : h;
        const double* y_r = kind == 1 ? y + r * bsz : y;
        const double bp = beta[r] / (double)slices;
        for (long long s = 0; s < sweeps; ++s) {
            const double jp = couplings[r * sweeps + s];
            for (long long k = 0; k < slices; ++k) {
                const long long up = (k + 1) % slices;
                const long long down = (k - 1 + slices) % slices;
                double* gk = g + k * n;
                double* sk = state + k * size;
                const unsigned long long base = (unsigned long long)(slices * n + (s * slices + k) * n);
                for (long long i = 0; i < n; ++i) {
                    double d = bp * bnn_delta(kind, h_r, xt, y_r, eps, n, bsz, gk, sk, i);
                    if (slices > 1) d += 2.0 * jp * gk[i] * (g[up * n + i] + g[down * n + i]);
                    if (bnn_accept(d, key, base + (unsigned long long)i))
                        bnn_flip(kind, a, xt, n, bsz, gk, sk, i);
                }
            }
        }
        long long best = 0;
        double best_e = bnn_energy(kind, h_r, offset[r], y_r, eps, n, bsz, g, state);
        for (long long k = 1; k < slices; ++k) {
            const double e = bnn_energy(kind, h_r, offset[r], y_r, eps, n, bsz, g + k * n,
                                        state + k * size);
            if (e < best_e) {
                best_e = e;
                best = k;
            }
        }
        for (long long i = 0; i < n; ++i) out[t * n + i] = (signed char)g[best * n + i];
    }
}
