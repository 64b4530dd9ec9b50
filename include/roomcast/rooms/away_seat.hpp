#pragma once

#include <roomcast/memory_budget.hpp>
#include <roomcast/rooms/peer.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

namespace roomcast::rooms {

/** How much held seats may keep: per seat, per client address and for the whole process. */
struct seat_limits {
    std::size_t per_seat_bytes = 4u << 20;
    std::size_t per_address_bytes = 16u << 20;  // 0: no cap
    std::size_t per_address_seats = 8;          // 0: no cap
    std::size_t total_bytes = 256u << 20;       // 0: no cap
    std::size_t total_seats = 10000;            // 0: no cap
};

/**
 * Stands in a room for a member whose connection dropped, for the grace period.
 *
 * Everything relayed to it is buffered in order, bounded in bytes: per seat, per the owner's
 * client address and for the process (seat_limits). Past a bound it keeps nothing more: it is
 * marked overflowed, the loss is counted, and the registry releases the seat at its next
 * expiry pass. When the member comes back, attach() replays the buffer into the new
 * connection and then forwards later frames straight through, so order is kept across the
 * hand-over. Thread-safe.
 *
 * The seat counts itself against its address and the process from hold() until
 * release_hold() (the seat was taken back, expired, overflowed or evicted), whichever comes
 * first; its frames are shared with other queues, so giving them up frees only what no one
 * else holds (a write in flight keeps its own references).
 */
class away_seat final : public peer {
  public:
    away_seat(std::uint64_t id, seat_limits const& limits, std::shared_ptr<address_usage> owner,
              seat_totals& totals);
    ~away_seat() override;

    /** Takes a seat from the owner's address and the process; false (nothing taken) when
     * either is at its seat cap. Call once, before the seat is parked.
     * `within_caps` false: a seat that only carries frames from one live connection to its
     * successor, attached within the same hand-over (see peer::yield_seat), is not held
     * against the caps and keeps everything it is given (those frames are already charged to
     * the memory budget, and they were bounded by the send queue they came from). */
    bool hold(bool within_caps = true);
    /** Gives back the seat and every byte it kept. Idempotent. */
    void release_hold();

    std::uint64_t id() const noexcept override { return id_; }
    void deliver(protocol::frame_ptr const& f) override;
    /** Puts `older` (in their order) before everything delivered so far: the frames a
     * yielding connection had not written, which precede what reached the seat directly.
     * Only before attach(), on a hand-over seat (hold(false)); false (and nothing taken)
     * otherwise, which the caller counts as dropped: a state no caller should reach. */
    [[nodiscard]] bool prepend(std::vector<protocol::frame_ptr> const& older);

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
    void overflow_locked();
    void give_back_bytes_locked();

    std::uint64_t const id_;
    seat_limits const limits_;
    std::shared_ptr<address_usage> const owner_;
    seat_totals& totals_;
    mutable std::mutex mutex_;
    std::deque<protocol::frame_ptr> buffer_;
    std::size_t bytes_ = 0;
    // Written under mutex_, read without it: the registry asks for these under its own lock,
    // and must never take a seat's lock there (attach() delivers to a session under the
    // seat's lock, and a session may call the registry under its own: lock order).
    std::atomic<std::size_t> dropped_{0};
    std::atomic<bool> overflowed_{false};
    bool holding_ = false;
    bool capped_ = true;  // the seat caps apply (false for a hand-over seat)
    std::shared_ptr<peer> target_;
};

}  // namespace roomcast::rooms
