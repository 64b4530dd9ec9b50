#pragma once

#include <roomcast/protocol/frame.hpp>

#include <cstddef>
#include <span>
#include <vector>

namespace roomcast::transport {

/**
 * One connection's outgoing frames: a FIFO bounded in bytes, written in batches.
 *
 * Pure (no Asio, no lock): the session guards it with its own mutex. Frames are shared
 * pointers, so a frame broadcast to N peers is queued N times but stored once. The batch being
 * written stays owned here until end_write(), so its buffers stay valid during the write.
 * Empty queues hold no heap memory.
 */
class send_queue {
  public:
    struct limits {
        std::size_t high_water = 4u << 20;  // congested() above this
        std::size_t max_bytes = 80u << 20;  // push() refuses past this
        std::size_t max_batch = 32;         // frames per gathered write (2 buffers each)
    };

    enum class push_result {
        queued,    // behind others, or a write is in flight
        start,     // the queue was idle: the caller must start the write loop
        overflow,  // refused: the queue would pass max_bytes (nothing was queued)
    };

    explicit send_queue(limits l) : limits_(l) {}

    /** Appends f unless that would pass max_bytes. `force` ignores the cap (close frames). */
    push_result push(protocol::frame_ptr f, bool force = false);

    /** Moves up to max_batch pending frames into the in-flight batch. Requires !writing(). */
    std::span<protocol::frame_ptr const> begin_write();

    /** Releases the in-flight batch after its write completed. */
    void end_write();

    /** Drops every pending frame (not the in-flight batch). Returns how many were dropped. */
    std::size_t clear_pending();

    /**
     * Every frame, in flight and pending, in order (for a held seat). Pending frames are
     * removed; the in-flight batch is only copied, since a write may still be reading its
     * buffers: it leaves the queue at end_write() as usual.
     */
    std::vector<protocol::frame_ptr> take_all();

    bool writing() const noexcept { return !inflight_.empty(); }
    bool has_pending() const noexcept { return head_ < pending_.size(); }
    bool idle() const noexcept { return !writing() && !has_pending(); }
    std::size_t pending_frames() const noexcept { return pending_.size() - head_; }

    /** Bytes queued, pending plus in flight, as they go on the wire. */
    std::size_t bytes() const noexcept { return bytes_; }
    bool congested() const noexcept { return bytes_ > limits_.high_water; }

  private:
    void release_if_idle();

    limits limits_;
    std::vector<protocol::frame_ptr> pending_;
    std::size_t head_ = 0;  // pending_[head_..] are waiting
    std::vector<protocol::frame_ptr> inflight_;
    std::size_t inflight_bytes_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace roomcast::transport
