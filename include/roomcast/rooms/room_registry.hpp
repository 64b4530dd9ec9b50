#pragma once

#include <roomcast/protocol/errc.hpp>
#include <roomcast/protocol/frame.hpp>
#include <roomcast/rooms/peer.hpp>

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace roomcast::rooms {

class room;

/** What a member holds while it is in a room: cheap to broadcast through, no lookup by name. */
using room_handle = std::shared_ptr<room>;

/** A successful join: the room, and the ids of the members who were there before. */
struct join_result {
    room_handle room;
    std::vector<std::uint64_t> others;
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

    /** Adds p to the named room, creating it. Fails with room_full at max_members. */
    boost::system::result<join_result> join(std::string const& name,
                                            std::shared_ptr<peer> const& p);

    /** Removes member `id` from `r`; the room is deleted when it empties. False if absent. */
    bool leave(room_handle const& r, std::uint64_t id);

    /** Delivers f to every member of r except `from`. */
    broadcast_result broadcast(room_handle const& r, std::uint64_t from,
                               protocol::frame_ptr const& f);

    /** The ids of r's members (a snapshot). */
    std::vector<std::uint64_t> members(room_handle const& r) const;

    /** The name r was created with. */
    static std::string const& name(room_handle const& r) noexcept;

    std::size_t room_count() const;
    std::size_t member_count() const;

  private:
    std::size_t max_members_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, room_handle> rooms_;
    std::size_t members_ = 0;
};

}  // namespace roomcast::rooms
