#include <roomcast/memory_budget.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace {

using roomcast::address_ledger;
using roomcast::address_usage;
using roomcast::memory_budget;
using roomcast::memory_charge;
using roomcast::memory_kind;

TEST(MemoryBudget, ChargesUpToTheLimitAndNoFurther) {
    memory_budget b(1000);
    EXPECT_TRUE(b.try_charge(memory_kind::partial_messages, 600));
    EXPECT_TRUE(b.try_charge(memory_kind::frames, 400));
    EXPECT_FALSE(b.try_charge(memory_kind::frames, 1));  // exactly at the limit: no more
    EXPECT_EQ(b.used(), 1000u);
    EXPECT_EQ(b.used(memory_kind::partial_messages), 600u);
    EXPECT_EQ(b.used(memory_kind::frames), 400u);
    b.release(memory_kind::partial_messages, 600);
    EXPECT_EQ(b.used(), 400u);
    EXPECT_TRUE(b.try_charge(memory_kind::partial_messages, 600));
}

TEST(MemoryBudget, ForcedChargesPassTheLimitAndNearLimitSaysSo) {
    memory_budget b(1000, 0.9);
    EXPECT_FALSE(b.near_limit());
    b.charge(memory_kind::connections, 899);
    EXPECT_FALSE(b.near_limit());
    b.charge(memory_kind::connections, 1);
    EXPECT_TRUE(b.near_limit());
    b.charge(memory_kind::frames, 500);  // what exists is counted, whatever the limit
    EXPECT_EQ(b.used(), 1400u);
    EXPECT_FALSE(b.try_charge(memory_kind::frames, 1));
}

TEST(MemoryBudget, AChargeGivesItselfBack) {
    memory_budget b(1000);
    {
        b.charge(memory_kind::frames, 100);
        memory_charge c(b, memory_kind::frames, 100);
        c.grow(50);
        EXPECT_EQ(b.used(), 150u);
        memory_charge moved = std::move(c);
        EXPECT_EQ(c.bytes(), 0u);
        EXPECT_EQ(moved.bytes(), 150u);
        memory_charge assigned;
        assigned = std::move(moved);
        EXPECT_EQ(b.used(), 150u);
    }
    EXPECT_EQ(b.used(), 0u);
    EXPECT_EQ(b.used(memory_kind::frames), 0u);
}

TEST(MemoryBudget, ConcurrentChargesNeverLoseBytesAndNeverPassTheLimitForLong) {
    memory_budget b(1u << 20);
    std::vector<std::thread> pool;
    std::atomic<std::size_t> granted{0};
    for (int t = 0; t < 4; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                if (b.try_charge(memory_kind::frames, 100)) {
                    granted.fetch_add(1);
                    b.release(memory_kind::frames, 100);
                }
            }
        });
    for (auto& t : pool)
        t.join();
    EXPECT_EQ(b.used(), 0u);
    EXPECT_EQ(granted.load(), 80000u);  // 400 at most at once: always under 1 MiB
}

TEST(AddressUsage, TryAddRespectsItsCapAndZeroMeansNone) {
    std::atomic<std::size_t> v{0};
    EXPECT_TRUE(address_usage::try_add(v, 10, 15));
    EXPECT_FALSE(address_usage::try_add(v, 6, 15));
    EXPECT_EQ(v.load(), 10u);
    EXPECT_TRUE(address_usage::try_add(v, 1000000, 0));
}

TEST(AddressLedger, OneEntryPerAddressWhileHeldThenSwept) {
    address_ledger l;
    auto a1 = l.get("192.0.2.1");
    auto a2 = l.get("192.0.2.1");
    EXPECT_EQ(a1, a2);
    auto b = l.get("2001:db8:1:2::/64");
    EXPECT_NE(a1, b);
    EXPECT_EQ(l.tracked(), 2u);
    a1.reset();
    a2.reset();
    EXPECT_EQ(l.tracked(), 1u);
    // Many short-lived addresses do not grow the table without bound.
    for (int i = 0; i < 10000; ++i)
        (void)l.get("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
    EXPECT_EQ(l.tracked(), 1u);
}

struct fake_root {
    std::filesystem::path dir;
    explicit fake_root(std::string const& name = "a")
        : dir(std::filesystem::temp_directory_path() /
              ("roomcast-mem-" + std::to_string(::getpid()) + "-" + name)) {
        std::filesystem::create_directories(dir / "proc");
    }
    ~fake_root() { std::filesystem::remove_all(dir); }
    void write(std::string const& rel, std::string const& text) {
        std::filesystem::create_directories((dir / rel).parent_path());
        std::ofstream(dir / rel) << text;
    }
};

TEST(MemoryLimit, PhysicalMemoryWithoutACgroupLimit) {
    fake_root r;
    r.write("proc/meminfo", "MemTotal:       2048000 kB\nMemFree: 1 kB\n");
    r.write("sys/fs/cgroup/memory.max", "max\n");
    EXPECT_EQ(roomcast::detect_memory_limit(r.dir.string()), 2048000u * 1024);
    EXPECT_EQ(roomcast::default_memory_budget(r.dir.string()), 2048000u * 512);
}

TEST(MemoryLimit, TheCgroupLimitWhenSmaller) {
    fake_root r;
    r.write("proc/meminfo", "MemTotal:       2048000 kB\n");
    r.write("sys/fs/cgroup/memory.max", "536870912\n");
    EXPECT_EQ(roomcast::detect_memory_limit(r.dir.string()), 536870912u);
    fake_root v1("v1");
    v1.write("proc/meminfo", "MemTotal:       2048000 kB\n");
    v1.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "268435456\n");
    EXPECT_EQ(roomcast::detect_memory_limit(v1.dir.string()), 268435456u);
    // v1 says "unlimited" with a huge number: physical memory wins.
    v1.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    EXPECT_EQ(roomcast::detect_memory_limit(v1.dir.string()), 2048000u * 1024);
}

TEST(MemoryLimit, NothingKnownGivesAGibibyteBudget) {
    fake_root r;
    EXPECT_EQ(roomcast::detect_memory_limit(r.dir.string()), 0u);
    EXPECT_EQ(roomcast::default_memory_budget(r.dir.string()), 1u << 30);
}

TEST(MemoryLimit, ThisMachineHasOne) {
    EXPECT_GT(roomcast::detect_memory_limit(), 0u);
}

}  // namespace
