#pragma once

#include <roomcast/protocol/frame.hpp>

#include <cstddef>
#include <vector>

namespace roomcast::transport {

/**
 * One connection's outgoing frames: a FIFO bounded in bytes, written in batches.
 *
 * Pure (no Asio, no lock): the session guards it with its own mutex. Frames are shared
 * pointers, so a frame broadcast to N peers is queued N times but stored once.
 *
 * Ownership of a batch in flight: begin_write() MOVES the batch's frames out, into a vector
 * the writer owns and keeps until its write has completed, whatever happens to this queue
 * meanwhile (take_pending() for a held seat, clear_pending() on close). The queue only keeps
 * counting the batch's bytes until end_write(). So nothing the queue does can free a buffer
 * the kernel is still reading from. Empty queues hold no heap memory.
 */
class send_queue {
  public:
    struct limits {
        std::size_t high_water = 4u << 20;  // congested() above this
        std::size_t max_bytes = 80u << 20;  // push() refuses past this
        std::size_t max_batch = 32;         // frames per gathered write
    };

    enum class push_result {
        queued,    // behind others, or a write is in flight
        start,     // the queue was idle: the caller must start the write loop
        overflow,  // refused: the queue would pass max_bytes (nothing was queued)
    };

    explicit send_queue(limits l) : limits_(l) {}

    /** Appends f unless that would pass max_bytes. `force` ignores the cap (close frames). */
    push_result push(protocol::frame_ptr f, bool force = false);

    /**
     * Moves up to max_batch pending frames into `batch` (cleared first), which the caller owns
     * until the write completes; marks the queue writing. Requires !writing().
     */
    void begin_write(std::vector<protocol::frame_ptr>& batch);

    /** The batch's write completed (or failed): its bytes leave the count. */
    void end_write();

    /** Drops every pending frame (not the batch in flight). Returns how many were dropped. */
    std::size_t clear_pending();

    /** Moves every pending frame out, in order (for a held seat); the batch in flight stays
     * with its writer. */
    std::vector<protocol::frame_ptr> take_pending();

    /** A pending frame changed size by `delta` bytes (the one pong, answering a later ping). */
    void amend(std::ptrdiff_t delta) noexcept {
        bytes_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(bytes_) + delta);
    }

    bool writing() const noexcept { return writing_; }
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
    bool writing_ = false;
    std::size_t inflight_bytes_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace roomcast::transport
