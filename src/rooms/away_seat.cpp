#include "roomcast/rooms/away_seat.hpp"

namespace roomcast::rooms {

away_seat::away_seat(std::uint64_t id, seat_limits const& limits,
                     std::shared_ptr<address_usage> owner, seat_totals& totals)
    : id_(id), limits_(limits), owner_(std::move(owner)), totals_(totals) {}

away_seat::~away_seat() {
    release_hold();
}

bool away_seat::hold(bool within_caps) {
    std::lock_guard lock(mutex_);
    if (holding_) return true;
    if (!within_caps) {
        capped_ = false;
        holding_ = true;
        return true;
    }
    if (owner_ && !address_usage::try_add(owner_->held_seats, 1, limits_.per_address_seats))
        return false;
    if (!address_usage::try_add(totals_.seats, 1, limits_.total_seats)) {
        if (owner_) owner_->held_seats.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    holding_ = true;
    return true;
}

void away_seat::release_hold() {
    std::lock_guard lock(mutex_);
    give_back_bytes_locked();
    buffer_.clear();
    if (!holding_) return;
    holding_ = false;
    if (!capped_) return;
    if (owner_) owner_->held_seats.fetch_sub(1, std::memory_order_relaxed);
    totals_.seats.fetch_sub(1, std::memory_order_relaxed);
}

void away_seat::give_back_bytes_locked() {
    if (bytes_ == 0) return;
    if (owner_) owner_->held_bytes.fetch_sub(bytes_, std::memory_order_relaxed);
    totals_.bytes.fetch_sub(bytes_, std::memory_order_relaxed);
    bytes_ = 0;
}

void away_seat::overflow_locked() {
    dropped_.fetch_add(buffer_.size() + 1, std::memory_order_release);
    overflowed_.store(true, std::memory_order_release);
    buffer_.clear();
    give_back_bytes_locked();
}

void away_seat::deliver(protocol::frame_ptr const& f) {
    std::lock_guard lock(mutex_);
    if (target_) {
        // Forwarding under our lock keeps this frame behind the replayed ones.
        target_->deliver(f);
        return;
    }
    if (overflowed_.load(std::memory_order_relaxed) || !holding_) {
        dropped_.fetch_add(1, std::memory_order_release);
        return;
    }
    if (!capped_) {
        buffer_.push_back(f);
        return;
    }
    std::size_t const n = f->wire_size();
    if (bytes_ + n > limits_.per_seat_bytes) return overflow_locked();
    if (owner_ && !address_usage::try_add(owner_->held_bytes, n, limits_.per_address_bytes))
        return overflow_locked();
    if (!address_usage::try_add(totals_.bytes, n, limits_.total_bytes)) {
        if (owner_) owner_->held_bytes.fetch_sub(n, std::memory_order_relaxed);
        return overflow_locked();
    }
    bytes_ += n;
    buffer_.push_back(f);
}

bool away_seat::prepend(std::vector<protocol::frame_ptr> const& older) {
    std::lock_guard lock(mutex_);
    if (!holding_ || capped_ || target_) return false;  // only a hand-over seat, before attach
    buffer_.insert(buffer_.begin(), older.begin(), older.end());
    return true;
}

bool away_seat::attach(std::shared_ptr<peer> const& p, protocol::frame_ptr const& first,
                       std::size_t& replayed) {
    std::lock_guard lock(mutex_);
    replayed = 0;
    if (overflowed_.load(std::memory_order_relaxed)) return false;
    if (first) p->deliver(first);
    for (auto const& f : buffer_) {
        p->deliver(f);
        ++replayed;
    }
    buffer_.clear();
    give_back_bytes_locked();
    if (holding_ && !capped_) {
        holding_ = false;
    } else if (holding_) {
        // The member is back: the seat no longer counts as held.
        holding_ = false;
        if (owner_) owner_->held_seats.fetch_sub(1, std::memory_order_relaxed);
        totals_.seats.fetch_sub(1, std::memory_order_relaxed);
    }
    target_ = p;
    return true;
}

bool away_seat::overflowed() const {
    return overflowed_.load(std::memory_order_acquire);
}

std::size_t away_seat::dropped() const {
    return dropped_.load(std::memory_order_acquire);
}

std::size_t away_seat::buffered_bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

}  // namespace roomcast::rooms
