#include "roomcast/transport/send_queue.hpp"

#include <algorithm>

namespace roomcast::transport {

namespace {
// Capacity kept across bursts; beyond this an emptied queue gives its memory back.
constexpr std::size_t keep_capacity = 64;
}  // namespace

send_queue::push_result send_queue::push(protocol::frame_ptr f, bool force) {
    std::size_t const n = f->wire_size();
    if (!force && bytes_ + n > limits_.max_bytes) return push_result::overflow;
    bool const was_idle = idle();
    pending_.push_back(std::move(f));
    bytes_ += n;
    return was_idle ? push_result::start : push_result::queued;
}

void send_queue::begin_write(std::vector<protocol::frame_ptr>& batch) {
    std::size_t const take = std::min(limits_.max_batch, pending_frames());
    batch.clear();
    batch.reserve(take);
    inflight_bytes_ = 0;
    for (std::size_t i = 0; i < take; ++i) {
        inflight_bytes_ += pending_[head_]->wire_size();
        batch.push_back(std::move(pending_[head_++]));
    }
    writing_ = take > 0;
    if (head_ == pending_.size()) {
        pending_.clear();
        head_ = 0;
    } else if (head_ >= 1024 && head_ * 2 >= pending_.size()) {
        // Compact now and then so a long backlog does not keep dead slots forever.
        pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

void send_queue::end_write() {
    bytes_ -= inflight_bytes_;
    inflight_bytes_ = 0;
    writing_ = false;
    release_if_idle();
}

std::size_t send_queue::clear_pending() {
    std::size_t dropped = 0;
    for (std::size_t i = head_; i < pending_.size(); ++i) {
        bytes_ -= pending_[i]->wire_size();
        ++dropped;
    }
    pending_.clear();
    head_ = 0;
    release_if_idle();
    return dropped;
}

std::vector<protocol::frame_ptr> send_queue::take_pending() {
    std::vector<protocol::frame_ptr> out;
    out.reserve(pending_frames());
    for (std::size_t i = head_; i < pending_.size(); ++i) {
        bytes_ -= pending_[i]->wire_size();
        out.push_back(std::move(pending_[i]));
    }
    pending_.clear();
    head_ = 0;
    release_if_idle();
    return out;
}

void send_queue::release_if_idle() {
    if (!idle()) return;
    if (pending_.capacity() > keep_capacity) std::vector<protocol::frame_ptr>().swap(pending_);
}

}  // namespace roomcast::transport
