// The caching CPU allocator: size classes, reuse of a freed buffer, the cache limit, the raw interface, small
// requests passed through, and many threads allocating at once. One process installs it once, with a 16 MiB cache
// (CADENZA_CPU_CACHE_MB, set before the first install), so the limit is reached with a few tensors.
#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "models/cpu_allocator.h"

namespace cadenza::models {
namespace {

constexpr std::size_t kMiB = std::size_t{1} << 20;

class CachingCpuAllocatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("CADENZA_CPU_CACHE_MB", "16", 1);
    ::unsetenv("CADENZA_CPU_ALLOCATOR");
    description_ = install_caching_cpu_allocator();
  }
  void SetUp() override { release_cached_cpu_memory(); }

  static std::string description_;
};
std::string CachingCpuAllocatorTest::description_;

// A float tensor of exactly `bytes` bytes.
torch::Tensor tensor_of_bytes(std::size_t bytes) {
  return torch::empty({static_cast<int64_t>(bytes / 4)});
}

TEST(CpuAllocationSizeClass, RoundsUpToOneOfEightClassesPerPowerOfTwo) {
  EXPECT_EQ(cpu_allocation_size_class(1), kCachedAllocationMin);
  EXPECT_EQ(cpu_allocation_size_class(128 * 1024), 128u * 1024);
  EXPECT_EQ(cpu_allocation_size_class(128 * 1024 + 1), 144u * 1024);  // steps of 16 KiB between 128 and 256 KiB
  EXPECT_EQ(cpu_allocation_size_class(1000000), 1048576u);            // 16 steps of 64 KiB
  EXPECT_EQ(cpu_allocation_size_class(32 * kMiB), 32 * kMiB);
  EXPECT_EQ(cpu_allocation_size_class(32 * kMiB + 1), 36 * kMiB);  // steps of 4 MiB between 32 and 64 MiB
  EXPECT_EQ(cpu_allocation_size_class(63 * kMiB), 64 * kMiB);
}

TEST_F(CachingCpuAllocatorTest, IsInstalledWithTheLimitFromTheEnvironment) {
  EXPECT_EQ(description_, "caching CPU allocator (up to 16 MiB)");
  const auto stats = caching_cpu_allocator_stats();
  EXPECT_TRUE(stats.installed);
  EXPECT_EQ(stats.cache_limit, 16 * kMiB);
  EXPECT_NE(c10::GetCPUAllocator()->raw_deleter(), nullptr);
}

TEST_F(CachingCpuAllocatorTest, AFreedBufferIsHandedOutAgainForATensorOfItsSizeClass) {
  const auto before = caching_cpu_allocator_stats();
  void* first = nullptr;
  {
    auto a = tensor_of_bytes(4 * kMiB);
    a.fill_(1.0f);
    first = a.data_ptr();
  }
  EXPECT_EQ(caching_cpu_allocator_stats().cached_bytes, 4 * kMiB);
  // 4 MiB - 4 bytes falls in the same class as 4 MiB.
  auto b = tensor_of_bytes(4 * kMiB - 4);
  EXPECT_EQ(b.data_ptr(), first);
  const auto after = caching_cpu_allocator_stats();
  EXPECT_EQ(after.fresh - before.fresh, 1u);
  EXPECT_EQ(after.reused - before.reused, 1u);
  EXPECT_EQ(after.cached_bytes, 0u);
  // What the buffer held before does not show through an initialising factory.
  auto c = tensor_of_bytes(4 * kMiB);
  c.fill_(7.0f);
  c = torch::Tensor();
  auto zeros = torch::zeros({static_cast<int64_t>(kMiB)});
  EXPECT_EQ(zeros.abs().sum().item<float>(), 0.0f);
}

TEST_F(CachingCpuAllocatorTest, BuffersBeyondTheLimitGoBackToTheSystem) {
  const auto before = caching_cpu_allocator_stats();
  {
    std::vector<torch::Tensor> held;
    for (int i = 0; i < 3; ++i) held.push_back(tensor_of_bytes(8 * kMiB));
  }
  const auto after = caching_cpu_allocator_stats();
  EXPECT_EQ(after.cached_bytes, 16 * kMiB) << "two of the three 8 MiB buffers fit the 16 MiB cache";
  EXPECT_EQ(after.released - before.released, 1u);
  release_cached_cpu_memory();
  EXPECT_EQ(caching_cpu_allocator_stats().cached_bytes, 0u);
}

TEST_F(CachingCpuAllocatorTest, ABufferNobodyAsksForGoesBackToTheSystem) {
  const auto before = caching_cpu_allocator_stats();
  { auto once = tensor_of_bytes(4 * kMiB); }
  EXPECT_EQ(caching_cpu_allocator_stats().cached_bytes, 4 * kMiB);
  // One 256 KiB buffer, asked for and freed again and again: it stays; the 4 MiB one goes at the first sweep after
  // kCpuCacheStaleAfter large allocations.
  for (std::uint64_t i = 0; i < kCpuCacheStaleAfter + kCpuCacheSweepEvery; ++i) {
    auto busy = tensor_of_bytes(256 * 1024);
  }
  const auto after = caching_cpu_allocator_stats();
  EXPECT_EQ(after.cached_bytes, 256u * 1024);
  EXPECT_EQ(after.swept - before.swept, 1u);
  EXPECT_EQ(after.fresh - before.fresh, 2u) << "the 4 MiB buffer and the 256 KiB one, once each";
}

TEST_F(CachingCpuAllocatorTest, SmallRequestsAreNotCached) {
  const auto before = caching_cpu_allocator_stats();
  { auto small = tensor_of_bytes(kCachedAllocationMin - 64); }
  const auto after = caching_cpu_allocator_stats();
  EXPECT_EQ(after.cached_bytes, 0u);
  EXPECT_EQ(after.fresh, before.fresh);
  EXPECT_EQ(after.reused, before.reused);
}

TEST_F(CachingCpuAllocatorTest, TheRawInterfaceReturnsLargeBuffersToTheCacheAndFreesSmallOnes) {
  c10::Allocator* allocator = c10::GetCPUAllocator();
  void* large = allocator->raw_allocate(2 * kMiB);
  void* small = allocator->raw_allocate(1024);
  ASSERT_NE(large, nullptr);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(large) % 64, 0u);
  allocator->raw_deallocate(large);
  allocator->raw_deallocate(small);
  EXPECT_EQ(caching_cpu_allocator_stats().cached_bytes, 2 * kMiB);
}

TEST_F(CachingCpuAllocatorTest, ThreadsAllocatingAtOnceNeverShareABuffer) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 150;
  const auto before = caching_cpu_allocator_stats();
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &mismatches] {
      for (int round = 0; round < kRounds; ++round) {
        // Sizes from 256 KiB to 1.25 MiB, in classes the threads share.
        const int64_t floats = (64 + 64 * ((round + t) % 5)) * 1024;
        auto mine = torch::empty({floats});
        mine.fill_(static_cast<float>(t));
        std::this_thread::yield();
        const float* values = mine.data_ptr<float>();
        for (int64_t i = 0; i < floats; ++i) {
          if (values[i] != static_cast<float>(t)) {
            ++mismatches;
            break;
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  const auto after = caching_cpu_allocator_stats();
  // Every buffer asked for was either fresh or reused, and most were reused.
  const std::uint64_t served = (after.fresh - before.fresh) + (after.reused - before.reused);
  EXPECT_EQ(served, static_cast<std::uint64_t>(kThreads * kRounds));
  EXPECT_GT(after.reused - before.reused, served / 2);
}

}  // namespace
}  // namespace cadenza::models
