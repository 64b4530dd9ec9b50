#include "roomcast/transport/conn_limiter.hpp"

namespace roomcast::transport {

conn_ticket& conn_ticket::operator=(conn_ticket&& o) noexcept {
    if (this != &o) {
        if (owner_) owner_->release(address_, counted_);
        memory = std::move(o.memory);
        owner_ = o.owner_;
        address_ = std::move(o.address_);
        counted_ = o.counted_;
        o.owner_ = nullptr;
    }
    return *this;
}

conn_ticket::~conn_ticket() {
    if (owner_) owner_->release(address_, counted_);
}

conn_ticket conn_limiter::try_acquire(std::string const& address, refusal& why, bool per_address) {
    std::lock_guard lock(mutex_);
    if (total_ >= max_total_) {
        why = refusal::total;
        return {};
    }
    if (per_address) {
        auto it = per_address_.find(address);
        if (it != per_address_.end() && it->second >= max_per_address_) {
            why = refusal::per_address;
            return {};
        }
        ++per_address_[address];
    }
    ++total_;
    why = refusal::none;
    return conn_ticket(this, address, per_address);
}

bool conn_limiter::rebind(conn_ticket& t, std::string const& address, refusal& why) {
    if (!t || (t.counted_ && t.address_ == address)) {
        why = refusal::none;
        return true;
    }
    std::lock_guard lock(mutex_);
    auto it = per_address_.find(address);
    if (it != per_address_.end() && it->second >= max_per_address_) {
        why = refusal::per_address;
        return false;
    }
    ++per_address_[address];
    if (t.counted_) drop_address(t.address_);
    t.address_ = address;
    t.counted_ = true;
    why = refusal::none;
    return true;
}

void conn_limiter::drop_address(std::string const& address) {
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void conn_limiter::release(std::string const& address, bool counted) {
    std::lock_guard lock(mutex_);
    --total_;
    if (counted) drop_address(address);
}

std::size_t conn_limiter::total() const {
    std::lock_guard lock(mutex_);
    return total_;
}

std::size_t conn_limiter::count(std::string const& address) const {
    std::lock_guard lock(mutex_);
    auto it = per_address_.find(address);
    return it == per_address_.end() ? 0 : it->second;
}

}  // namespace roomcast::transport
