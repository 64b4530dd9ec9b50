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

/** Someone waiting in a locked room's lobby, as the host is told of them. */
struct knock {
    std::uint64_t id = 0;
    std::string name;  // what the newcomer offered (opaque to the server)
};

/**
 * What a join brings for the room's access rules (private rooms, docs/PROTOCOL.md): the
 * proofs it offers, and the fresh tokens the caller drew for it (the registry draws nothing).
 */
struct join_access {
    std::string host_token;  // proves the host: the room's own token, or one the name derives from
    std::string admission;   // from an earlier `joined`: enters the locked room again
    std::string name;        // offered to the host in a knock
    std::string fresh_host_token;  // the host token of a room this join creates (if none offered)
    std::string fresh_admission;   // this member's admission, if it brings no valid one
};

/** A successful join: the room, and the ids of the members who were there before. */
struct join_result {
    room_handle room;
    std::vector<std::uint64_t> others;    // every other member, away ones included
    std::vector<std::uint64_t> away;      // those of `others` whose seat is held for them
    std::optional<evicted_seat> evicted;  // the room was full: this held seat made way
    // Access (private rooms).
    bool in_lobby = false;            // the room is locked: waiting for the host (nothing else set)
    std::shared_ptr<peer> host_peer;  // in_lobby: the live host, to be sent the knock
    bool host = false;                // this member is the room's host
    bool host_moved = false;          // it became host by proof: tell the others
    std::string host_token;           // host only: the token that proves it (keep it)
    std::uint64_t host_id = 0;        // the host's member id; 0 while the host is not in the room
    bool locked = false;
    std::string admission;     // this member's: enters the room when locked, until removed
    std::vector<knock> lobby;  // host only: who waits
};

/** What the host's remove() did. */
struct removal {
    std::shared_ptr<peer> p;     // the removed member's live connection, if any (tell it)
    bool locked_now = false;     // the room was unlocked: remove() locked it (tell every member)
    std::size_t dropped = 0;     // frames its held seat kept and never delivered
    bool seat_released = false;  // it was away: its held seat was released
};

/** What unlock() did: the lobby's members, all admitted (each enters on its own strand). */
struct unlock_result {
    std::vector<std::shared_ptr<peer>> admitted;
};

/** How many rooms, lobbies and admissions the access rules may keep. */
struct access_limits {
    std::size_t max_lobby = 8;        // newcomers waiting per room (more: lobby-full)
    std::size_t max_admissions = 32;  // per room, the oldest absent member's go first
    std::size_t max_dormant = 1000;   // locked rooms kept with no member in them
    std::chrono::milliseconds retention{std::chrono::hours(24)};  // how long such a room is kept
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
    bool sender_absent = false;  // from_member, and `from` is not a member: nothing delivered
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
    explicit room_registry(std::size_t max_members, access_limits access = {})
        : max_members_(max_members), access_(access) {}

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
                                            std::string token = {}, join_access access = {});

    // ---- Access: host, lock, lobby (room_access.cpp) ----
    //
    // A room has a host: the member whose join created it, or one that proves it with the host
    // token (the room's own, or a token T such that the room's name is host_room_name(T)). The
    // host may lock the room: a join without the host token or an admission then waits in the
    // lobby, gets nothing of the room (no frame, no presence) and knocks (join_result.host_peer)
    // until the host admits or denies it. A locked room left empty is kept (dormant) for
    // access_limits::retention, so that the lock outlives the host's closed tab. Every call
    // below that the host makes fails with errc::not_host when `by` is not the host.

    /** Locks r (idempotent). */
    boost::system::result<void> lock(room_handle const& r, std::uint64_t by);
    /** Unlocks r and admits everyone in its lobby; not_locked when it is not locked. */
    boost::system::result<unlock_result> unlock(room_handle const& r, std::uint64_t by);
    /** Admits lobby member `id`: it enters on its own strand (enter()); unknown_id if none. */
    boost::system::result<std::shared_ptr<peer>> admit(room_handle const& r, std::uint64_t by,
                                                       std::uint64_t id);
    /** Takes `id` out of the lobby, refused; unknown_id if it is not waiting there. */
    boost::system::result<std::shared_ptr<peer>> deny(room_handle const& r, std::uint64_t by,
                                                      std::uint64_t id);
    /** Removes member `id` (not the host): its seat and resume token go, its admission is
     * revoked, and an unlocked room is locked (a link alone would let it back). */
    boost::system::result<removal> remove(room_handle const& r, std::uint64_t by, std::uint64_t id);
    /** An admitted lobby member comes in (as join() does, with `token` as its resume token).
     * unknown_id when it is not in r's lobby (denied or gone meanwhile);
     * std::errc::operation_in_progress when its entry there is a newer, unadmitted one (it
     * knocked again after the host's admit): it goes on waiting. */
    boost::system::result<join_result> enter(room_handle const& r, std::shared_ptr<peer> const& p,
                                             std::string token, std::string fresh_admission);
    /** Lobby member `id` gives up waiting (`was_waiting`: it was there, not yet admitted).
     * Returns the live host to tell (or null). */
    std::shared_ptr<peer> leave_lobby(room_handle const& r, std::uint64_t id, peer const* holder,
                                      bool& was_waiting);
    /** Drops dormant rooms past their retention (or over the cap); returns who still waited
     * in their lobbies, and for which room (to be sent access_change::room_closed). */
    std::vector<std::pair<std::shared_ptr<peer>, room_handle>> expire_rooms(clock::time_point now);
    /** Member `id`'s view of r's access (join_result's host, locked, admission and, for the
     * host, host_token and lobby): for a resumed seat's `joined`. */
    join_result describe(room_handle const& r, std::uint64_t id) const;
    /** The live host of r, if it is in the room. */
    std::shared_ptr<peer> host_of(room_handle const& r) const;
    /** Locked rooms with no member, kept for their host. */
    std::size_t dormant_count() const;

    /** The room name a host token T proves: "p", then the first half of
     * SHA-256("roomcast host v1\0" ‖ T) in lowercase hex (33 characters, 128 bits). */
    static std::string host_room_name(std::string_view host_token);
    /** True when `name` has the form of host_room_name(): such a room belongs to the holder of
     * the token it derives from. Created by anyone else, it is locked and has no host until
     * that holder comes (who enters first waits in its lobby), so nobody can squat it. */
    static bool is_host_room_name(std::string_view name) noexcept;

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

    /** Points member `id` straight at `p` again (after the seat replayed into it). False when
     * it is no member any more (the host removed it while it was taking the seat back). */
    bool unpark(room_handle const& r, std::uint64_t id, std::shared_ptr<peer> const& p);

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
    bool leave(room_handle const& r, std::uint64_t id, peer const* holder = nullptr,
               bool forget = false);

    /** Delivers f to every member of r except `from`. With `from_member`, nothing unless
     * `from` is a member (a relayed frame of a member removed meanwhile: delivered == 0). */
    broadcast_result broadcast(room_handle const& r, std::uint64_t from,
                               protocol::frame_ptr const& f, bool from_member = false);

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
    /** Drops member `id` from r (and r from the map when it empties, unless it is locked: then
     * it is kept, dormant); its seat, if away, goes to `later`. Needs mutex_ held. */
    bool remove_locked(room_handle const& r, std::uint64_t id, seat_releaser& later);
    /** True when `host_token` proves the host of r. */
    static bool proves_host(room const& r, std::string_view host_token);
    /** join()'s lock rule for a non-host, under mutex_: true when p may enter (the room is
     * unlocked, or p brings a valid admission); false when it waits in the lobby (added, with
     * out.in_lobby and out.host_peer set) or cannot (ec: lobby_full). */
    bool admit_locked(room& r, std::shared_ptr<peer> const& p, join_access const& a,
                      join_result& out, boost::system::error_code& ec);
    /** Adds p to r (a held seat makes way when full); false when full. Needs mutex_. */
    bool add_member_locked(room_handle const& rh, std::shared_ptr<peer> const& p, std::string token,
                           join_result& out, seat_releaser& later);
    /** After p (member `id`) entered r: the host role when `host`, its admission (`brought` if
     * it is a valid one, else `fresh`), and out's access fields. Needs mutex_. */
    void finish_entry_locked(room& r, std::uint64_t id, bool host, std::string const& brought,
                             std::string fresh, join_result& out);
    /** Fills out's host, locked, admission and lobby for member `id` of r. Needs mutex_. */
    void describe_locked(room const& r, std::uint64_t id, join_result& out) const;
    /** The room has no member left and is locked: keep it, drop the oldest dormant at the cap. */
    void make_dormant_locked(room_handle const& r);
    /** A member entered r: it is no longer dormant. */
    void wake_locked(room_handle const& r);

    std::size_t max_members_;
    access_limits access_;
    // Dormant rooms, oldest first (expiry and the cap take from the front).
    std::map<std::pair<clock::time_point, room const*>, room_handle> dormant_;
    // Lobby members of dormant rooms dropped at the cap, for the next expire_rooms() to tell.
    std::vector<std::pair<std::weak_ptr<peer>, room_handle>> closed_lobbies_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, room_handle> rooms_;
    std::size_t members_ = 0;
    // Held seats by (room, member id), so expire() looks at these alone. Ids are random and
    // unique within a room only.
    std::map<std::pair<room const*, std::uint64_t>, room_handle> held_;
};

}  // namespace roomcast::rooms
