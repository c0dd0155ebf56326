// Execution model of the CUDA emulation (see cuda_compat.h): compiled once into a shared library
// that every emulated kernel library links against.
//
//   * one std::thread per CUDA thread of a block; the same threads run every block of the grid, one
//     block after the other (blocks sequential, the threads of a block concurrent);
//   * __syncthreads() is a std::barrier of the block's threads; a thread that returns from the kernel
//     leaves it (arrive_and_drop), as an exited thread does on sm_70+;
//   * three schedules: FREE (the OS schedules the threads), FORWARD and REVERSE (a baton, one
//     binary semaphore per thread, lets exactly one thread run at a time, in thread order or reverse
//     thread order, from one barrier to the next). The serial schedules turn a missing
//     __syncthreads into a deterministic wrong result instead of a race that shows only sometimes.
#include <barrier>
#include <memory>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>

#include "cuda_compat.h"

thread_local dim3 threadIdx{0, 0, 0};
thread_local dim3 blockIdx{0, 0, 0};
dim3 blockDim{1, 1, 1};
dim3 gridDim{1, 1, 1};

namespace bnn_emu {

enum Mode { FREE = 0, FORWARD = 1, REVERSE = 2 };

struct Block;
Block* g_block = nullptr;
thread_local int t_rank = 0;  // position of this thread in the serial order

struct FirstTurn {  // barrier completion: the next phase starts with the first live rank
    Block* b;
    void operator()() noexcept;
};

// State of the running block: the __syncthreads barrier and, in the serial modes, the baton.
struct Block {
    int n;
    int mode;
    std::mutex mu;
    std::vector<char> alive;                                 // by rank
    std::vector<std::unique_ptr<std::binary_semaphore>> go;  // the baton, one per rank
    std::barrier<FirstTurn> bar;

    Block(int n_, int mode_) : n(n_), mode(mode_), alive(n_, 1), bar(n_, FirstTurn{this})
    {
        for (int r = 0; r < n; ++r) go.emplace_back(new std::binary_semaphore(r == 0 ? 1 : 0));
    }
    bool serial() const { return mode != FREE; }
    void hand_to_live_from(int r)  // wake the first live rank >= r, if any (caller holds mu)
    {
        while (r < n && !alive[r]) ++r;
        if (r < n) go[r]->release();
    }
    void first_turn()
    {
        if (!serial()) return;
        std::lock_guard<std::mutex> lock(mu);
        hand_to_live_from(0);
    }
    void pass_turn(bool leaving)
    {
        std::lock_guard<std::mutex> lock(mu);
        if (leaving) alive[t_rank] = 0;
        hand_to_live_from(t_rank + 1);
    }
    void wait_turn() { go[t_rank]->acquire(); }
    void sync()
    {
        if (serial()) pass_turn(false);
        bar.arrive_and_wait();
        if (serial()) wait_turn();
    }
    void leave()
    {
        if (serial()) pass_turn(true);
        bar.arrive_and_drop();
    }
};

void FirstTurn::operator()() noexcept { b->first_turn(); }

// Completion of the barrier between blocks: a fresh block state for the next block.
struct NextBlock {
    std::unique_ptr<Block>* slot;
    int n, mode;
    void operator()() noexcept
    {
        slot->reset(new Block(n, mode));
        g_block = slot->get();
    }
};

using Thunk = void (*)(void**);

// Run `kernel(args)` on a grid x block launch; returns 0, or -1 for an invalid configuration.
int run(Thunk kernel, void** args, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
               unsigned by, unsigned bz, int mode)
{
    const long long nt = (long long)bx * by * bz;
    if (nt < 1 || nt > 1024 || gx < 1 || gy < 1 || gz < 1) return -1;
    const int n = (int)nt;
    gridDim = dim3{gx, gy, gz};
    blockDim = dim3{bx, by, bz};
    std::unique_ptr<Block> block;
    NextBlock next_block{&block, n, mode};
    next_block();
    std::barrier<NextBlock> between(n, next_block);  // every thread has left the block
    std::vector<std::thread> threads;
    threads.reserve(n);
    for (int id = 0; id < n; ++id) {
        threads.emplace_back([=, &between]() {
            threadIdx = dim3{id % bx, (id / bx) % by, id / (bx * by)};
            t_rank = mode == REVERSE ? n - 1 - id : id;
            for (unsigned z = 0; z < gz; ++z)
                for (unsigned y = 0; y < gy; ++y)
                    for (unsigned x = 0; x < gx; ++x) {
                        blockIdx = dim3{x, y, z};
                        Block* b = g_block;
                        if (b->serial()) b->wait_turn();
                        kernel(args);
                        b->leave();
                        between.arrive_and_wait();
                    }
        });
    }
    for (auto& t : threads) t.join();
    g_block = nullptr;
    return 0;
}

}  // namespace bnn_emu

extern "C" void bnn_emu_syncthreads() { bnn_emu::g_block->sync(); }

extern "C" int bnn_emu_run(void (*kernel)(void**), void** args, unsigned gx, unsigned gy,
                           unsigned gz, unsigned bx, unsigned by, unsigned bz, int mode)
{
    return bnn_emu::run(kernel, args, gx, gy, gz, bx, by, bz, mode);
}
