// The registry's record of one room: its members (copy-on-write, for lock-free broadcasts) and
// its access state (host, lock, lobby, admissions). Private to src/rooms/.
#pragma once

#include "roomcast/rooms/room_registry.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace roomcast::rooms {

struct member {
    std::uint64_t id;
    std::weak_ptr<peer> p;
    // Who `p` is, for identity checks only (never dereferenced: it may be mid-destruction).
    peer const* holder = nullptr;
    std::string token;
    // Set while the member's connection is gone: the seat (owned here) stands in for it.
    std::shared_ptr<away_seat> away;
    room_registry::clock::time_point deadline{};
    bool claimed = false;  // a resuming connection is taking the seat back
};
using member_list = std::vector<member>;

/** A newcomer waiting in a locked room's lobby. */
struct lobby_entry {
    std::uint64_t id = 0;
    std::weak_ptr<peer> p;
    peer const* holder = nullptr;  // identity only
    std::string name;
    bool admitted = false;  // the host admitted it; it enters on its own strand
};

/** A member's pass into the locked room (see join_access::admission). */
struct admission {
    std::string token;
    std::uint64_t member = 0;  // the member id it last entered as
};

// The member list is replaced, never modified, so a broadcast can walk its snapshot with no
// lock held while joins and leaves build the next version. Everything else is guarded by the
// registry's lock.
class room {
  public:
    explicit room(std::string n) : name(std::move(n)), members(std::make_shared<member_list>()) {}

    std::string const name;
    mutable std::mutex mutex;                    // guards `members` (the pointer)
    std::shared_ptr<member_list const> members;  // written under the registry lock too

    // Access, under the registry lock.
    std::string host_token;  // proves the host (besides a token the name derives from)
    std::uint64_t host = 0;  // the host's member id while it is a member, else 0
    bool locked = false;
    std::vector<lobby_entry> lobby;
    std::vector<admission> admissions;  // oldest first
    bool dormant = false;               // locked, no member: kept for the host until
    room_registry::clock::time_point dormant_since{};
};

}  // namespace roomcast::rooms
