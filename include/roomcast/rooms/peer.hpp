#pragma once

#include <roomcast/protocol/frame.hpp>

#include <cstdint>
#include <functional>
#include <memory>

namespace roomcast::rooms {

class away_seat;
class room;

/** What the host (or the registry) decided about a member or newcomer (see access_event()). */
enum class access_change {
    admitted,     // the host let this lobby member in: enter the room now
    denied,       // the host refused this lobby member
    removed,      // the host removed this member
    room_ended,   // the host removed this member because it started a new room
    room_closed,  // the locked room this lobby member waited for was let go
};

/**
 * A member of a room, as the registry sees it (Asio's chat_participant). The registry never
 * knows about sockets, so it is unit-tested with fake peers.
 */
class peer {
  public:
    virtual ~peer() = default;

    /** Stable id, unique in the process. */
    virtual std::uint64_t id() const noexcept = 0;

    /**
     * Queues a frame for this peer. Thread-safe; called outside every registry lock; never
     * blocks on I/O. A peer that cannot take the frame (its queue past the hard cap) closes
     * itself and counts the drop: nothing is lost silently.
     */
    virtual void deliver(protocol::frame_ptr const& f) = 0;

    /** True while the peer's queued bytes are above its high-water mark. Thread-safe. */
    virtual bool congested() const noexcept { return false; }

    /**
     * Asks to have `waiter->resume()` called once this peer is no longer congested (or gone).
     * Returns false when it is already uncongested, in which case nothing will be called.
     */
    virtual bool notify_when_drained(std::weak_ptr<peer> /*waiter*/) { return false; }

    /**
     * The host decided about this peer in room `r` (a lobby it waits in, or a room it is a
     * member of). Thread-safe; never called under a registry lock; the peer acts on its own
     * strand, and ignores a change for a room it is no longer waiting for or in.
     */
    virtual void access_event(access_change /*what*/, std::shared_ptr<room> const& /*r*/) {}

    /** Called by a drained peer on one that waited for it: read again. Thread-safe. */
    virtual void resume() {}

    /**
     * A newer connection of the same member (it holds the seat's resume token) takes the seat
     * over while this one still looks alive. In one step, under this peer's own lock (so that
     * its seat cannot be left or parked meanwhile): `commit` moves the registry's entry to a
     * new seat (false: the seat is no longer this peer's, and nothing changes); then what this
     * peer had not yet written goes to the front of that seat, every later frame delivered
     * here goes there too, and this peer closes itself without touching the seat again. False
     * when the peer is closing, is itself taking a seat over, or commit said no. Thread-safe;
     * commit must not call any peer.
     */
    virtual bool yield_seat(
        std::uint64_t /*id*/,
        std::function<bool(std::shared_ptr<away_seat> const&)> const& /*commit*/) {
        return false;
    }
};

}  // namespace roomcast::rooms
