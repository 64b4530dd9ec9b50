#include "roomcast/transport/conn_limiter.hpp"

namespace roomcast::transport {

conn_ticket& conn_ticket::operator=(conn_ticket&& o) noexcept {
    if (this != &o) {
        if (owner_) owner_->release(address_);
        owner_ = o.owner_;
        address_ = std::move(o.address_);
        o.owner_ = nullptr;
    }
    return *this;
}

conn_ticket::~conn_ticket() {
    if (owner_) owner_->release(address_);
}

conn_ticket conn_limiter::try_acquire(std::string const& address, refusal& why) {
    std::lock_guard lock(mutex_);
    if (total_ >= max_total_) {
        why = refusal::total;
        return {};
    }
    auto& n = per_address_[address];
    if (n >= max_per_address_) {
        why = refusal::per_address;
        return {};
    }
    ++n;
    ++total_;
    why = refusal::none;
    return conn_ticket(this, address);
}

void conn_limiter::release(std::string const& address) {
    std::lock_guard lock(mutex_);
    --total_;
    auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
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
