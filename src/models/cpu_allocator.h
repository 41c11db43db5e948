// A caching allocator for libtorch's CPU tensors: freed buffers of 128 KiB and more are kept and handed out again
// for the next tensor of their size class, instead of going back to the system.
//
// Why: glibc gives large blocks back to the system (munmap) as soon as they are freed, so every training step maps
// its activations and gradients afresh and takes a page fault per 4 KiB page as it first writes them. On the 2-core
// virtual machines Cadenza is developed and tested on those faults cost more than the arithmetic: bench_models'
// training step (CADENZA_CPU_ALLOCATOR=system against this allocator, docs/threading.md) took 10.3-10.6 s against
// 2.9-3.4 s for the transformer, whose (batch, heads, T, T) attention tensors are 32 MiB each, and 1.3-1.5 s against
// 0.8-0.9 s for the lstm. PyTorch's CUDA allocator caches for the same reason; on the CPU PyTorch leaves it to jemalloc
// or tcmalloc, which a user cannot be asked to preload.
//
// No libtorch in this header: it is included by code that must not compile torch.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cadenza::models {

struct CpuAllocatorStats {
  bool installed = false;
  std::size_t cached_bytes = 0;  // held for reuse now
  std::size_t cache_limit = 0;   // at most this many bytes are held
  std::uint64_t reused = 0;      // large allocations served from the cache
  std::uint64_t fresh = 0;       // large allocations that asked the system
  std::uint64_t released = 0;    // freed large buffers given back because the cache was full
  std::uint64_t swept = 0;       // cached buffers given back because nobody asked for them for a long time
};

// Smallest request the cache handles; smaller ones go to the system allocator as before.
inline constexpr std::size_t kCachedAllocationMin = std::size_t{128} << 10;

// A cached buffer that no request took in kCpuCacheStaleAfter large allocations goes back to the system; the cache
// looks for such buffers every kCpuCacheSweepEvery large allocations. A training step reuses its buffers every step,
// so they stay; the buffers of a validation pass every few hundred steps, or of a decoder's KV cache as it grew, go,
// and the process keeps about its peak use rather than the peaks of every phase added up.
inline constexpr std::uint64_t kCpuCacheStaleAfter = 4096;
inline constexpr std::uint64_t kCpuCacheSweepEvery = 256;

// The size class a request of `bytes` (>= kCachedAllocationMin) is rounded up to: 8 classes per power of two
// (at most 12.5% more than asked), so buffers that grow step by step (a decoder's KV cache) still find one.
std::size_t cpu_allocation_size_class(std::size_t bytes);

// Makes the caching allocator libtorch's CPU allocator for this process (once; later calls do nothing), holding at
// most `cache_limit_bytes` of freed buffers (0: a quarter of the machine's memory, at most 4 GiB). Buffers in use
// are not limited: the cache only keeps what the process's peak use already took. CADENZA_CPU_ALLOCATOR=system in
// the environment leaves libtorch's own allocator in place (for comparison, or if a problem is suspected);
// CADENZA_CPU_CACHE_MB=N sets the limit. Returns a description for logs, e.g. "caching CPU allocator (up to 4096 MiB)".
const char* install_caching_cpu_allocator(std::size_t cache_limit_bytes = 0);

CpuAllocatorStats caching_cpu_allocator_stats();

// Gives every cached buffer back to the system (the allocator stays installed).
void release_cached_cpu_memory();

}  // namespace cadenza::models
