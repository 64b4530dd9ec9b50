#include <roomcast/transport/rate_limit.hpp>

#include <gtest/gtest.h>

namespace {

using namespace roomcast::transport;
using namespace std::chrono_literals;

}  // namespace

TEST(TokenBucket, AllowsTheBurstThenTheRate) {
    auto const t0 = rate_clock::time_point{} + 1h;
    token_bucket b(10, 10, t0);  // 10 a second, burst 10
    for (int i = 0; i < 10; ++i)
        EXPECT_TRUE(b.take(1, t0)) << i;
    EXPECT_FALSE(b.take(1, t0));  // the 11th: in debt by 1
    EXPECT_EQ(b.wait(t0), 100ms);
    EXPECT_EQ(b.wait(t0 + 50ms), 50ms);
    EXPECT_EQ(b.wait(t0 + 100ms), 0ms);
    EXPECT_TRUE(b.take(1, t0 + 200ms));   // 1 token refilled
    EXPECT_FALSE(b.take(1, t0 + 200ms));  // and spent
    // It refills to the burst, not beyond.
    EXPECT_DOUBLE_EQ(b.balance(t0 + 1h), 10);
}

TEST(TokenBucket, ALargeTakeGoesIntoDebtAndTheWaitPaysItOff) {
    auto const t0 = rate_clock::time_point{} + 1h;
    token_bucket b(1000, 1000, t0);  // bytes: 1000 a second
    EXPECT_FALSE(b.take(5000, t0));  // one 5000-byte message is never split
    EXPECT_EQ(b.wait(t0), 4000ms);
    EXPECT_TRUE(b.take(0, t0 + 4s));
}

TEST(TokenBucket, RateZeroIsUnlimited) {
    auto const t0 = rate_clock::time_point{} + 1h;
    token_bucket b(0, 0, t0);
    EXPECT_FALSE(b.limited());
    for (int i = 0; i < 100000; ++i)
        ASSERT_TRUE(b.take(1e9, t0));
    EXPECT_EQ(b.wait(t0), 0ms);
    EXPECT_FALSE(token_bucket{}.limited());
}

TEST(AddressLimiter, EachAddressHasItsOwnBudgetAndRefusalsCostNothing) {
    auto const t0 = rate_clock::time_point{} + 1h;
    address_limiter l(3, 100);  // 3 a minute
    std::chrono::milliseconds retry{};
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(l.try_take("a", t0, retry));
    EXPECT_FALSE(l.try_take("a", t0, retry));
    EXPECT_EQ(retry, 20000ms);  // one attempt every 20 s
    // Refused attempts do not dig deeper: after 20 s exactly one more is allowed.
    for (int i = 0; i < 50; ++i)
        EXPECT_FALSE(l.try_take("a", t0 + 1s, retry));
    EXPECT_TRUE(l.try_take("a", t0 + 20s, retry));
    EXPECT_FALSE(l.try_take("a", t0 + 20s, retry));
    EXPECT_TRUE(l.try_take("b", t0, retry));  // another address is unaffected
}

TEST(AddressLimiter, TheTableIsBoundedAndIdleAddressesAreSwept) {
    auto const t0 = rate_clock::time_point{} + 1h;
    address_limiter l(60, 4);
    std::chrono::milliseconds retry{};
    for (int i = 0; i < 4; ++i)
        ASSERT_TRUE(l.try_take("addr" + std::to_string(i), t0, retry));
    EXPECT_EQ(l.tracked(), 4u);
    // Full of addresses that are still paying back: a fifth is refused, not tracked.
    EXPECT_FALSE(l.try_take("new", t0, retry));
    EXPECT_GT(retry.count(), 0);
    EXPECT_EQ(l.tracked(), 4u);
    // A second later every bucket is full again (1 a second): they are swept, the new one fits.
    EXPECT_TRUE(l.try_take("new", t0 + 1s, retry));
    EXPECT_EQ(l.tracked(), 1u);
}

TEST(AddressLimiter, ZeroIsUnlimited) {
    address_limiter l(0, 1);
    std::chrono::milliseconds retry{};
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(l.try_take("x" + std::to_string(i), rate_clock::now(), retry));
    EXPECT_EQ(l.tracked(), 0u);
}

TEST(AddressLimiter, AFullTableIsSweptAtMostOnceASecond) {
    // With the table full, each new address would otherwise walk it all under the lock.
    auto const t0 = rate_clock::time_point{} + 1h;
    address_limiter l(6000, 2);  // 100 a second: a used token is back in 10 ms
    std::chrono::milliseconds retry{};
    ASSERT_TRUE(l.try_take("a", t0, retry));
    ASSERT_TRUE(l.try_take("b", t0, retry));
    EXPECT_FALSE(l.try_take("new", t0, retry));          // swept now: nothing idle yet
    EXPECT_FALSE(l.try_take("new", t0 + 100ms, retry));  // idle by now, but no sweep yet
    EXPECT_TRUE(l.try_take("new", t0 + 1s, retry));
}
