#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace roomcast::transport {

using rate_clock = std::chrono::steady_clock;

/**
 * A token bucket: `rate` tokens a second, holding at most `burst`. take() may drive the
 * balance below zero (a message is never split); the caller then waits wait() before taking
 * again, so the long-run rate holds whatever the sizes. rate 0: unlimited. Not thread-safe.
 */
class token_bucket {
  public:
    token_bucket() = default;
    token_bucket(double rate, double burst, rate_clock::time_point now)
        : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

    bool limited() const noexcept { return rate_ > 0; }

    /** Takes n tokens (refilling first); false if the balance is now below zero. */
    bool take(double n, rate_clock::time_point now) noexcept;
    /** Tokens now, after refilling (negative while in debt). */
    double balance(rate_clock::time_point now) const noexcept;
    /** How long until the balance is back to zero (0 when it is not negative). */
    std::chrono::milliseconds wait(rate_clock::time_point now) noexcept;

  private:
    void refill(rate_clock::time_point now) noexcept;
    double rate_ = 0;
    double burst_ = 0;
    double tokens_ = 0;
    rate_clock::time_point last_{};
};

/**
 * One token bucket per client address (join attempts per minute), thread-safe, bounded: at
 * most `max_addresses` buckets are kept; full buckets (idle addresses) are swept when the
 * table is full, and if it is still full the attempt is refused (fail closed, counted by the
 * caller) rather than letting a flood of addresses grow memory.
 */
class address_limiter {
  public:
    address_limiter(double per_minute, std::size_t max_addresses)
        : per_second_(per_minute / 60.0), burst_(per_minute), max_(max_addresses) {}

    bool limited() const noexcept { return per_second_ > 0; }

    /** Takes one attempt for `address`; false if over the limit (retry_after set). */
    bool try_take(std::string const& address, rate_clock::time_point now,
                  std::chrono::milliseconds& retry_after);
    std::size_t tracked() const;

  private:
    double per_second_;
    double burst_;
    std::size_t max_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, token_bucket> buckets_;
    rate_clock::time_point last_sweep_{};
};

}  // namespace roomcast::transport
