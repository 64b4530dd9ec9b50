#include <roomcast/transport/conn_limiter.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using roomcast::transport::conn_limiter;
using roomcast::transport::conn_ticket;
using refusal = conn_limiter::refusal;

conn_ticket take(conn_limiter& l, std::string const& addr) {
    refusal why = refusal::total;
    conn_ticket t = l.try_acquire(addr, why);
    EXPECT_TRUE(t) << addr;
    EXPECT_EQ(why, refusal::none);
    return t;
}

refusal refused(conn_limiter& l, std::string const& addr) {
    refusal why = refusal::none;
    conn_ticket t = l.try_acquire(addr, why);
    EXPECT_FALSE(t) << addr;
    EXPECT_TRUE(t.address().empty());
    return why;
}

TEST(ConnLimiter, EmptyTicket) {
    conn_ticket t;
    EXPECT_FALSE(t);
    EXPECT_TRUE(t.address().empty());
}

TEST(ConnLimiter, CountsTotalAndPerAddress) {
    conn_limiter l(10, 3);
    EXPECT_EQ(l.total(), 0u);
    EXPECT_EQ(l.count("1.2.3.4"), 0u);
    auto a = take(l, "1.2.3.4");
    EXPECT_EQ(a.address(), "1.2.3.4");
    auto b = take(l, "1.2.3.4");
    auto c = take(l, "::1");
    EXPECT_EQ(l.total(), 3u);
    EXPECT_EQ(l.count("1.2.3.4"), 2u);
    EXPECT_EQ(l.count("::1"), 1u);
    EXPECT_EQ(l.count("5.6.7.8"), 0u);
}

TEST(ConnLimiter, PerAddressLimit) {
    conn_limiter l(100, 2);
    auto a = take(l, "10.0.0.1");
    auto b = take(l, "10.0.0.1");
    EXPECT_EQ(refused(l, "10.0.0.1"), refusal::per_address);
    EXPECT_EQ(l.count("10.0.0.1"), 2u);
    EXPECT_EQ(l.total(), 2u);
    // Other addresses are unaffected.
    auto c = take(l, "10.0.0.2");
    auto d = take(l, "10.0.0.2");
    EXPECT_EQ(refused(l, "10.0.0.2"), refusal::per_address);
    // Addresses are compared exactly.
    auto e = take(l, "10.0.0.10");
    EXPECT_EQ(l.total(), 5u);
}

TEST(ConnLimiter, TotalLimit) {
    conn_limiter l(3, 10);
    auto a = take(l, "a");
    auto b = take(l, "b");
    auto c = take(l, "c");
    EXPECT_EQ(refused(l, "d"), refusal::total);
    EXPECT_EQ(refused(l, "a"), refusal::total);
    EXPECT_EQ(l.total(), 3u);
    EXPECT_EQ(l.count("d"), 0u);  // a refusal does not count
}

TEST(ConnLimiter, TotalIsCheckedBeforePerAddress) {
    conn_limiter l(2, 2);
    auto a = take(l, "x");
    auto b = take(l, "x");
    EXPECT_EQ(refused(l, "x"), refusal::total);
}

TEST(ConnLimiter, RefusalResetsWhyOnSuccess) {
    conn_limiter l(1, 1);
    refusal why = refusal::per_address;
    auto t = l.try_acquire("a", why);
    EXPECT_TRUE(t);
    EXPECT_EQ(why, refusal::none);
}

TEST(ConnLimiter, ReleasedOnDestruction) {
    conn_limiter l(2, 1);
    {
        auto a = take(l, "a");
        auto b = take(l, "b");
        EXPECT_EQ(refused(l, "c"), refusal::total);
        EXPECT_EQ(refused(l, "a"), refusal::total);
    }
    EXPECT_EQ(l.total(), 0u);
    EXPECT_EQ(l.count("a"), 0u);
    EXPECT_EQ(l.count("b"), 0u);
    auto c = take(l, "c");
    auto a = take(l, "a");
    EXPECT_EQ(l.total(), 2u);
}

TEST(ConnLimiter, PerAddressSlotFreedOnDestruction) {
    conn_limiter l(10, 1);
    {
        auto a = take(l, "a");
        EXPECT_EQ(refused(l, "a"), refusal::per_address);
    }
    auto again = take(l, "a");
    EXPECT_EQ(l.count("a"), 1u);
}

TEST(ConnLimiter, MoveConstructionTransfersTheSlot) {
    conn_limiter l(5, 5);
    auto a = take(l, "a");
    conn_ticket moved(std::move(a));
    EXPECT_TRUE(moved);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): a moved-from ticket is empty
    EXPECT_EQ(moved.address(), "a");
    EXPECT_EQ(l.total(), 1u);
    { conn_ticket sink(std::move(moved)); }
    EXPECT_EQ(l.total(), 0u);
    EXPECT_EQ(l.count("a"), 0u);
}

TEST(ConnLimiter, MoveAssignmentReleasesTheOldSlot) {
    conn_limiter l(5, 5);
    auto a = take(l, "a");
    auto b = take(l, "b");
    EXPECT_EQ(l.total(), 2u);
    a = std::move(b);  // a's slot for "a" is released, b's slot for "b" moves into a
    EXPECT_EQ(l.total(), 1u);
    EXPECT_EQ(l.count("a"), 0u);
    EXPECT_EQ(l.count("b"), 1u);
    EXPECT_TRUE(a);
    EXPECT_EQ(a.address(), "b");
    EXPECT_FALSE(b);    // NOLINT(bugprone-use-after-move)
    a = conn_ticket{};  // assigning an empty ticket releases too
    EXPECT_FALSE(a);
    EXPECT_EQ(l.total(), 0u);
    EXPECT_EQ(l.count("b"), 0u);
}

TEST(ConnLimiter, MoveAssignmentIntoEmptyTicket) {
    conn_limiter l(5, 5);
    conn_ticket holder;
    holder = take(l, "a");
    EXPECT_TRUE(holder);
    EXPECT_EQ(l.total(), 1u);
    holder = take(l, "a");  // the old one is released, the new one kept
    EXPECT_EQ(l.total(), 1u);
    EXPECT_EQ(l.count("a"), 1u);
}

TEST(ConnLimiter, SelfMoveAssignmentKeepsTheSlot) {
    conn_limiter l(5, 5);
    auto a = take(l, "a");
    conn_ticket& ref = a;
    a = std::move(ref);
    EXPECT_TRUE(a);
    EXPECT_EQ(a.address(), "a");
    EXPECT_EQ(l.total(), 1u);
    EXPECT_EQ(l.count("a"), 1u);
}

TEST(ConnLimiter, TicketsInAVectorSurviveReallocation) {
    conn_limiter l(1000, 1000);
    std::vector<conn_ticket> v;
    for (int i = 0; i < 100; ++i)
        v.push_back(take(l, "addr" + std::to_string(i % 7)));
    EXPECT_EQ(l.total(), 100u);
    v.erase(v.begin(), v.begin() + 30);
    EXPECT_EQ(l.total(), 70u);
    v.clear();
    EXPECT_EQ(l.total(), 0u);
    for (int i = 0; i < 7; ++i)
        EXPECT_EQ(l.count("addr" + std::to_string(i)), 0u);
}

TEST(ConnLimiter, ConcurrentAcquireAndReleaseNeverExceedLimits) {
    constexpr int threads = 4, rounds = 2000;
    conn_limiter l(6, 2);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::vector<conn_ticket> held;
            for (int i = 0; i < rounds; ++i) {
                refusal why = refusal::none;
                auto tk = l.try_acquire(i % 2 ? "shared" : "t" + std::to_string(t), why);
                if (tk) {
                    EXPECT_EQ(why, refusal::none);
                    held.push_back(std::move(tk));
                } else {
                    EXPECT_NE(why, refusal::none);
                }
                EXPECT_LE(l.total(), 6u);
                EXPECT_LE(l.count("shared"), 2u);
                if (held.size() > 2 || (i % 5 == 0 && !held.empty())) held.erase(held.begin());
            }
        });
    }
    for (auto& th : pool)
        th.join();
    EXPECT_EQ(l.total(), 0u);
    EXPECT_EQ(l.count("shared"), 0u);
}

}  // namespace

TEST(ConnLimiter, AProxyCountsInTheTotalOnlyAndItsClientsPerAddressOnceKnown) {
    conn_limiter l(10, 2);
    refusal why{};
    // Three connections from one trusted proxy: over the per-address limit of 2, still admitted.
    auto p1 = l.try_acquire("10.0.0.1", why, false);
    auto p2 = l.try_acquire("10.0.0.1", why, false);
    auto p3 = l.try_acquire("10.0.0.1", why, false);
    ASSERT_TRUE(p1 && p2 && p3);
    EXPECT_EQ(l.count("10.0.0.1"), 0u);
    EXPECT_EQ(l.total(), 3u);
    // The forwarded client is counted; a third connection from it is refused, and the
    // refused ticket keeps its old binding.
    EXPECT_TRUE(l.rebind(p1, "203.0.113.9", why));
    EXPECT_TRUE(l.rebind(p2, "203.0.113.9", why));
    EXPECT_FALSE(l.rebind(p3, "203.0.113.9", why));
    EXPECT_EQ(why, refusal::per_address);
    EXPECT_EQ(p3.address(), "10.0.0.1");
    EXPECT_EQ(l.count("203.0.113.9"), 2u);
    EXPECT_TRUE(l.rebind(p3, "198.51.100.4", why));
    // Rebinding to the same address again is a no-op; moving releases the old place.
    EXPECT_TRUE(l.rebind(p1, "203.0.113.9", why));
    EXPECT_EQ(l.count("203.0.113.9"), 2u);
    EXPECT_TRUE(l.rebind(p1, "198.51.100.4", why));
    EXPECT_EQ(l.count("203.0.113.9"), 1u);
    EXPECT_EQ(l.count("198.51.100.4"), 2u);
    p1 = conn_ticket{};
    p2 = conn_ticket{};
    p3 = conn_ticket{};
    EXPECT_EQ(l.total(), 0u);
    EXPECT_EQ(l.count("203.0.113.9"), 0u);
    EXPECT_EQ(l.count("198.51.100.4"), 0u);
}
