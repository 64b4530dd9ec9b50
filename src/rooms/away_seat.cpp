#include "roomcast/rooms/away_seat.hpp"

namespace roomcast::rooms {

away_seat::away_seat(std::uint64_t id, std::size_t max_bytes,
                     std::vector<protocol::frame_ptr> pending)
    : id_(id), max_bytes_(max_bytes) {
    for (auto& f : pending)
        deliver(f);
}

void away_seat::deliver(protocol::frame_ptr const& f) {
    std::lock_guard lock(mutex_);
    if (target_) {
        // Forwarding under our lock keeps this frame behind the replayed ones.
        target_->deliver(f);
        return;
    }
    if (overflowed_) {
        ++dropped_;
        return;
    }
    if (bytes_ + f->wire_size() > max_bytes_) {
        overflowed_ = true;
        dropped_ += buffer_.size() + 1;
        buffer_.clear();
        bytes_ = 0;
        return;
    }
    bytes_ += f->wire_size();
    buffer_.push_back(f);
}

bool away_seat::attach(std::shared_ptr<peer> const& p, protocol::frame_ptr const& first,
                       std::size_t& replayed) {
    std::lock_guard lock(mutex_);
    replayed = 0;
    if (overflowed_) return false;
    if (first) p->deliver(first);
    for (auto const& f : buffer_) {
        p->deliver(f);
        ++replayed;
    }
    buffer_.clear();
    bytes_ = 0;
    target_ = p;
    return true;
}

bool away_seat::overflowed() const {
    std::lock_guard lock(mutex_);
    return overflowed_;
}

std::size_t away_seat::dropped() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

std::size_t away_seat::buffered_bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

}  // namespace roomcast::rooms
