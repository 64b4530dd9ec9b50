#pragma once

#include <roomcast/protocol/errc.hpp>
#include <roomcast/protocol/frame.hpp>
#include <roomcast/rooms/away_seat.hpp>
#include <roomcast/rooms/peer.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace roomcast::rooms {

class room;

/** What a member holds while it is in a room: cheap to broadcast through, no lookup by name. */
using room_handle = std::shared_ptr<room>;

/** A held seat given up so that a live member could join a full room. */
struct evicted_seat {
    std::uint64_t id = 0;
    std::size_t dropped = 0;  // frames relayed to it that it never delivered
};

/** A successful join: the room, and the ids of the members who were there before. */
struct join_result {
    room_handle room;
    std::vector<std::uint64_t> others;    // every other member, away ones included
    std::vector<std::uint64_t> away;      // those of `others` whose seat is held for them
    std::optional<evicted_seat> evicted;  // the room was full: this held seat made way
};

/** Who is in a room: every member's id, and those of them whose seat is held. */
struct roster {
    std::vector<std::uint64_t> ids;
    std::vector<std::uint64_t> away;
};

/** A seat taken back with its resume token (see claim()). */
struct claim_result {
    room_handle room;
    std::uint64_t id = 0;
    std::shared_ptr<away_seat> seat;
    std::vector<std::uint64_t> others;
    std::vector<std::uint64_t> away;
};

/** A live member found by its resume token (see live_member()). */
struct live_member {
    room_handle room;
    std::uint64_t id = 0;
    std::shared_ptr<peer> p;
};

/** A held seat given up by expire(): its grace period ended, or its buffer overflowed. */
struct released_seat {
    room_handle room;
    std::uint64_t id = 0;
    bool overflowed = false;
    std::size_t dropped = 0;  // frames relayed to it that it never delivered
};

/** Result of a broadcast. */
struct broadcast_result {
    std::size_t delivered = 0;
    /** One recipient that was above its high-water mark after delivery, if any. */
    std::shared_ptr<peer> congested;
};

/**
 * The rooms of one process. Thread-safe. Locks guard only the maps; no peer code ever runs
 * under a lock: broadcast takes a snapshot of the members (one shared_ptr copy, the member
 * list is copy-on-write) and delivers after releasing it.
 */
class room_registry {
  public:
    explicit room_registry(std::size_t max_members) : max_members_(max_members) {}

    using clock = std::chrono::steady_clock;

    /**
     * Adds p to the named room, creating it. `token` is the secret that lets this member take
     * its seat back after a drop. At max_members, the held seat (not being resumed) that was
     * parked first is released to make way (a seat never keeps a live member out: seats can
     * be parked by anyone who joined once, connections cannot); with none, fails with
     * room_full. Fails with std::errc::file_exists when p's id is already in the room (ids are
     * random: the caller draws another).
     */
    boost::system::result<join_result> join(std::string const& name, std::shared_ptr<peer> const& p,
                                            std::string token = {});

    /**
     * Holds member `id`'s seat after its connection dropped: the member entry now points at
     * `seat` until `deadline`. False when it is not a member (nothing changes), or when
     * `holder` is given and the seat is no longer that peer's (it was taken over).
     */
    bool park(room_handle const& r, std::uint64_t id, std::shared_ptr<away_seat> seat,
              clock::time_point deadline, peer const* holder = nullptr);

    /**
     * Finds the held seat in room `name` whose token is `token` (compared in constant time)
     * and reserves it for the caller, who must then attach() to the seat and call unpark().
     * The seat's token is replaced by `new_token`. Nothing when there is no such held seat.
     */
    std::optional<claim_result> claim(std::string const& name, std::string const& token,
                                      std::string const& new_token);

    /**
     * The live member of room `name` whose resume token is `token` (compared in constant
     * time): a device that came back while its old connection still looks alive. Nothing
     * when there is none (or its seat is away: claim() takes those).
     */
    std::optional<live_member> find_live(std::string const& name, std::string const& token) const;

    /**
     * The take-over of a live seat: member `id`, still pointing at `holder`, now points at
     * `seat` (which holder yielded, see peer::yield_seat), reserved for the caller as claim()
     * does, with `new_token` as its token. Nothing when the member is gone or no longer
     * holder's (it left or was parked meanwhile).
     */
    std::optional<claim_result> hand_over(room_handle const& r, std::uint64_t id,
                                          peer const* holder, std::shared_ptr<away_seat> seat,
                                          std::string const& new_token);

    /** Points member `id` straight at `p` again (after the seat replayed into it). */
    void unpark(room_handle const& r, std::uint64_t id, std::shared_ptr<peer> const& p);

    /**
     * Releases every held seat past its deadline or overflowed; the caller announces them.
     * `counted` (optional) sees each one under the registry lock, before the lock is let go,
     * so that a reader of held_count() then of the caller's counters never sees a seat gone
     * from the one and not yet in the other. It must only count: no sessions, no registry.
     */
    std::vector<released_seat> expire(
        clock::time_point now, std::function<void(released_seat const&)> const& counted = nullptr);

    /** Seats held right now. */
    std::size_t held_count() const;

    /**
     * Removes member `id` from `r`; the room is deleted when it empties. False if absent, or
     * when `holder` is given and the seat is no longer that peer's (a newer connection of the
     * member took it over: the old one must not remove it).
     */
    bool leave(room_handle const& r, std::uint64_t id, peer const* holder = nullptr);

    /** Delivers f to every member of r except `from`. */
    broadcast_result broadcast(room_handle const& r, std::uint64_t from,
                               protocol::frame_ptr const& f);

    /** The ids of r's members (a snapshot). */
    std::vector<std::uint64_t> members(room_handle const& r) const;
    /** The ids of r's members and which of them are away (a snapshot). */
    rooms::roster roster(room_handle const& r) const;

    /** The name r was created with. */
    static std::string const& name(room_handle const& r) noexcept;

    std::size_t room_count() const;
    std::size_t member_count() const;

  private:
    /** Seats given up under the registry lock, released once it is let go (declared before
     * the lock, so destroyed after it): a seat's lock is never taken under the registry's. */
    struct seat_releaser {
        std::vector<std::shared_ptr<away_seat>> seats;
        ~seat_releaser();
    };
    /** Drops member `id` from r (and r from the map when it empties); its seat, if away, goes
     * to `later`. Needs mutex_ held. */
    bool remove_locked(room_handle const& r, std::uint64_t id, seat_releaser& later);

    std::size_t max_members_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, room_handle> rooms_;
    std::size_t members_ = 0;
    // Held seats by (room, member id), so expire() looks at these alone. Ids are random and
    // unique within a room only.
    std::map<std::pair<room const*, std::uint64_t>, room_handle> held_;
};

}  // namespace roomcast::rooms
