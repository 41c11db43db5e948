// The caching CPU allocator (cpu_allocator.h says why): large freed buffers wait in a cache keyed by size class.
#include "models/cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/torch_compat.h"

namespace cadenza::models {

// Same alignment as libtorch's own CPU allocator (c10's gAlignment: 64 bytes, for AVX-512 loads).
constexpr std::size_t kAlignment = 64;

std::size_t cpu_allocation_size_class(std::size_t bytes) {
  if (bytes <= kCachedAllocationMin) return kCachedAllocationMin;
  // 8 classes between consecutive powers of two: round up to a multiple of 2^(floor(log2(bytes)) - 3).
  int top_bit = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes));
  const std::size_t step = std::size_t{1} << (top_bit - 3);
  return (bytes + step - 1) / step * step;
}

namespace {

void* system_allocate(std::size_t bytes) {
  void* data = nullptr;
  // posix_memalign with size 0 may return nullptr; libtorch asks for 0 bytes for empty tensors.
  if (posix_memalign(&data, kAlignment, bytes == 0 ? kAlignment : bytes) != 0 || data == nullptr)
    throw std::bad_alloc();
  return data;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(std::size_t limit) {
    counters_.installed = true;
    counters_.cache_limit = limit;
  }

  c10::DataPtr CADENZA_ALLOCATOR_ALLOCATE(bytes) override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (bytes < kCachedAllocationMin) {
      void* data = system_allocate(bytes);
      return {data, data, &release_small, cpu};
    }
    const std::size_t size = cpu_allocation_size_class(bytes);
    void* data = nullptr;
    std::vector<void*> stale;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++clock_;
      auto found = free_.find(size);
      if (found != free_.end() && !found->second.empty()) {
        data = found->second.back().data;
        found->second.pop_back();
        counters_.cached_bytes -= size;
        ++counters_.reused;
        live_[data] = size;
      } else {
        ++counters_.fresh;
      }
      if (clock_ % kCpuCacheSweepEvery == 0) take_stale(stale);
    }
    for (void* block : stale) std::free(block);
    if (data == nullptr) {
      try {
        data = system_allocate(size);
      } catch (const std::bad_alloc&) {
        // Out of memory while buffers wait in the cache: give them back and try once more.
        release_all();
        data = system_allocate(size);
      }
      std::lock_guard<std::mutex> lock(mutex_);
      live_[data] = size;
    }
    return {data, data, &release_large, cpu};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release_any; }

#if CADENZA_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    std::memcpy(dest, src, count);
  }
#endif

  CpuAllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counters_;
  }

  void release_all() const {
    std::vector<void*> blocks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [size, list] : free_)
        for (const Cached& cached : list) blocks.push_back(cached.data);
      free_.clear();
      counters_.cached_bytes = 0;
    }
    for (void* block : blocks) std::free(block);
  }

  static CachingCpuAllocator* instance;

 private:
  static void release_small(void* data) {
    std::free(data);
  }

  static void release_large(void* data) {
    instance->give_back(data);
  }

  // raw_deallocate() has only the pointer: a large buffer is one the allocator lists as live.
  static void release_any(void* data) {
    if (!instance->give_back(data)) std::free(data);
  }

  // Takes a large buffer back into the cache, or frees it if the cache is full. False if `data` is not one of ours.
  bool give_back(void* data) const {
    bool keep = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto live = live_.find(data);
      if (live == live_.end()) return false;
      const std::size_t size = live->second;
      live_.erase(live);
      if (counters_.cached_bytes + size <= counters_.cache_limit) {
        free_[size].push_back({data, clock_});
        counters_.cached_bytes += size;
        keep = true;
      } else {
        ++counters_.released;
      }
    }
    if (!keep) std::free(data);
    return true;
  }

  // Moves the cached buffers nobody asked for in kCpuCacheStaleAfter large allocations into `out` (to be freed
  // outside the lock). Each list is in the order its buffers were freed, so the stale ones are a prefix.
  void take_stale(std::vector<void*>& out) const {
    for (auto& [size, list] : free_) {
      std::size_t stale = 0;
      while (stale < list.size() && list[stale].freed_at + kCpuCacheStaleAfter <= clock_) ++stale;
      for (std::size_t i = 0; i < stale; ++i) out.push_back(list[i].data);
      list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(stale));
      counters_.cached_bytes -= stale * size;
      counters_.swept += stale;
    }
  }

  struct Cached {
    void* data;
    std::uint64_t freed_at;  // clock_ when it was given back
  };

  // mutable: libtorch 1.13 declares allocate() const.
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, std::size_t> live_;      // large buffers handed out -> their size class
  mutable std::map<std::size_t, std::vector<Cached>> free_;  // size class -> buffers waiting, oldest first
  mutable std::uint64_t clock_ = 0;                          // large allocations so far
  mutable CpuAllocatorStats counters_;                       // what stats() reports, kept as it changes
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

std::size_t default_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  const std::size_t most = std::size_t{4} << 30;
  if (pages <= 0 || page_size <= 0) return most;
  return std::min(most, static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size) / 4);
}

std::size_t limit_from_environment(std::size_t fallback) {
  const char* text = std::getenv("CADENZA_CPU_CACHE_MB");
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long mb = std::strtoull(text, &end, 10);
  // A value that does not parse keeps the default, and says so, rather than failing a run over a tuning knob.
  if (end == text || *end != '\0') {
    std::fprintf(stderr, "cadenza: CADENZA_CPU_CACHE_MB=\"%s\" is not a whole number of MiB; keeping %zu MiB\n", text,
                 fallback >> 20);
    return fallback;
  }
  return static_cast<std::size_t>(mb) << 20;
}

}  // namespace

const char* install_caching_cpu_allocator(std::size_t cache_limit_bytes) {
  static std::once_flag once;
  static std::string description;
  std::call_once(once, [cache_limit_bytes] {
    const char* choice = std::getenv("CADENZA_CPU_ALLOCATOR");
    if (choice != nullptr && std::string(choice) == "system") {
      description = "libtorch's CPU allocator (CADENZA_CPU_ALLOCATOR=system)";
      return;
    }
    const std::size_t limit = limit_from_environment(cache_limit_bytes > 0 ? cache_limit_bytes : default_limit());
    // Never destroyed: tensors may be freed during static destruction, after any owner of the allocator is gone.
    CachingCpuAllocator::instance = new CachingCpuAllocator(limit);
    // Priority above the default allocator's 0; buffers allocated before keep their own deleter.
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
    description = "caching CPU allocator (up to " + std::to_string(limit >> 20) + " MiB)";
  });
  return description.c_str();
}

CpuAllocatorStats caching_cpu_allocator_stats() {
  if (CachingCpuAllocator::instance == nullptr) return {};
  return CachingCpuAllocator::instance->stats();
}

void release_cached_cpu_memory() {
  if (CachingCpuAllocator::instance != nullptr) CachingCpuAllocator::instance->release_all();
}

}  // namespace cadenza::models
