#pragma once

#include <roomcast/rooms/peer.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace roomcast::rooms {

/**
 * Stands in a room for a member whose connection dropped, for the grace period.
 *
 * Everything relayed to it is buffered in order, bounded in bytes. Past the bound it keeps
 * nothing more: it is marked overflowed, the loss is counted, and the registry releases the
 * seat at its next expiry pass. When the member comes back, attach() replays the buffer into
 * the new connection and then forwards later frames straight through, so order is kept
 * across the hand-over. Thread-safe.
 */
class away_seat final : public peer {
  public:
    away_seat(std::uint64_t id, std::size_t max_bytes, std::vector<protocol::frame_ptr> pending);

    std::uint64_t id() const noexcept override { return id_; }
    void deliver(protocol::frame_ptr const& f) override;

    /**
     * Delivers `first` (the reply that tells the member it is back), replays the buffer into
     * `p` in order, and forwards every later frame to it.
     * `replayed` is set to the number of frames replayed. False when the seat overflowed
     * (nothing is replayed then: the member must start over).
     */
    bool attach(std::shared_ptr<peer> const& p, protocol::frame_ptr const& first,
                std::size_t& replayed);

    bool overflowed() const;
    /** Frames this seat had to drop (on overflow). */
    std::size_t dropped() const;
    std::size_t buffered_bytes() const;

  private:
    std::uint64_t const id_;
    std::size_t const max_bytes_;
    mutable std::mutex mutex_;
    std::deque<protocol::frame_ptr> buffer_;
    std::size_t bytes_ = 0;
    std::size_t dropped_ = 0;
    bool overflowed_ = false;
    std::shared_ptr<peer> target_;
};

}  // namespace roomcast::rooms
