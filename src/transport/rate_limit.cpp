#include "roomcast/transport/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace roomcast::transport {

void token_bucket::refill(rate_clock::time_point now) noexcept {
    if (now <= last_) return;
    double const dt = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + dt * rate_);
    last_ = now;
}

bool token_bucket::take(double n, rate_clock::time_point now) noexcept {
    if (rate_ <= 0) return true;
    refill(now);
    tokens_ -= n;
    return tokens_ >= 0;
}

double token_bucket::balance(rate_clock::time_point now) const noexcept {
    if (now <= last_) return tokens_;
    double const dt = std::chrono::duration<double>(now - last_).count();
    return std::min(burst_, tokens_ + dt * rate_);
}

std::chrono::milliseconds token_bucket::wait(rate_clock::time_point now) noexcept {
    if (rate_ <= 0) return std::chrono::milliseconds(0);
    refill(now);
    if (tokens_ >= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(-tokens_ / rate_ * 1000)));
}

bool address_limiter::try_take(std::string const& address, rate_clock::time_point now,
                               std::chrono::milliseconds& retry_after) {
    retry_after = std::chrono::milliseconds(0);
    if (per_second_ <= 0) return true;
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(address);
    if (it == buckets_.end()) {
        // Sweep idle addresses at most once a second: with the table full of busy ones, every
        // attempt from a new address would otherwise walk the whole table under the lock.
        if (buckets_.size() >= max_ && now - last_sweep_ >= std::chrono::seconds(1)) {
            last_sweep_ = now;
            std::erase_if(buckets_, [&](auto& kv) { return kv.second.balance(now) >= burst_; });
        }
        if (buckets_.size() >= max_) {
            retry_after = std::chrono::milliseconds(static_cast<std::int64_t>(1000 / per_second_));
            return false;
        }
        it = buckets_.emplace(address, token_bucket(per_second_, burst_, now)).first;
    }
    // A refused attempt costs nothing: the bucket is only debited when it has a token.
    if (auto const have = it->second.balance(now); have < 1) {
        auto const missing = 1 - have;
        retry_after = std::chrono::milliseconds(
            static_cast<std::int64_t>(std::ceil(missing / per_second_ * 1000)));
        return false;
    }
    it->second.take(1, now);
    return true;
}

std::size_t address_limiter::tracked() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace roomcast::transport
