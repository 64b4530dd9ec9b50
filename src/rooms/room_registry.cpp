#include "roomcast/rooms/room_registry.hpp"

#include <algorithm>

namespace roomcast::rooms {

struct member {
    std::uint64_t id;
    std::weak_ptr<peer> p;
};
using member_list = std::vector<member>;

// The member list is replaced, never modified, so a broadcast can walk its snapshot with no
// lock held while joins and leaves build the next version.
class room {
  public:
    explicit room(std::string n) : name(std::move(n)), members(std::make_shared<member_list>()) {}

    std::string const name;
    mutable std::mutex mutex;                    // guards `members` (the pointer)
    std::shared_ptr<member_list const> members;  // written under the registry lock too
};

boost::system::result<join_result> room_registry::join(std::string const& name,
                                                       std::shared_ptr<peer> const& p) {
    std::lock_guard lock(mutex_);
    auto& slot = rooms_[name];
    if (!slot) slot = std::make_shared<room>(name);
    room& r = *slot;

    auto const& old = *r.members;
    if (old.size() >= max_members_) {
        if (old.empty()) rooms_.erase(name);
        return protocol::errc::room_full;
    }
    join_result out;
    out.room = slot;
    out.others.reserve(old.size());
    for (auto const& m : old)
        out.others.push_back(m.id);

    auto next = std::make_shared<member_list>();
    next->reserve(old.size() + 1);
    *next = old;
    next->push_back({p->id(), p});
    {
        std::lock_guard rl(r.mutex);
        r.members = std::move(next);
    }
    ++members_;
    return out;
}

bool room_registry::leave(room_handle const& r, std::uint64_t id) {
    if (!r) return false;
    std::lock_guard lock(mutex_);
    auto const& old = *r->members;
    auto it = std::find_if(old.begin(), old.end(), [id](member const& m) { return m.id == id; });
    if (it == old.end()) return false;
    auto next = std::make_shared<member_list>();
    next->reserve(old.size() - 1);
    for (auto const& m : old)
        if (m.id != id) next->push_back(m);
    bool const empty = next->empty();
    {
        std::lock_guard rl(r->mutex);
        r->members = std::move(next);
    }
    --members_;
    if (empty) {
        auto found = rooms_.find(r->name);
        if (found != rooms_.end() && found->second == r) rooms_.erase(found);
    }
    return true;
}

broadcast_result room_registry::broadcast(room_handle const& r, std::uint64_t from,
                                          protocol::frame_ptr const& f) {
    broadcast_result out;
    if (!r) return out;
    std::shared_ptr<member_list const> snapshot;
    {
        std::lock_guard rl(r->mutex);
        snapshot = r->members;
    }
    for (auto const& m : *snapshot) {
        if (m.id == from) continue;
        if (auto sp = m.p.lock()) {
            sp->deliver(f);
            ++out.delivered;
            if (!out.congested && sp->congested()) out.congested = std::move(sp);
        }
    }
    return out;
}

std::vector<std::uint64_t> room_registry::members(room_handle const& r) const {
    std::vector<std::uint64_t> ids;
    if (!r) return ids;
    std::shared_ptr<member_list const> snapshot;
    {
        std::lock_guard rl(r->mutex);
        snapshot = r->members;
    }
    for (auto const& m : *snapshot)
        ids.push_back(m.id);
    return ids;
}

std::string const& room_registry::name(room_handle const& r) noexcept {
    return r->name;
}

std::size_t room_registry::room_count() const {
    std::lock_guard lock(mutex_);
    return rooms_.size();
}

std::size_t room_registry::member_count() const {
    std::lock_guard lock(mutex_);
    return members_;
}

}  // namespace roomcast::rooms
