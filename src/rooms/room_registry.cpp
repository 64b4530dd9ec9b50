#include "roomcast/rooms/room_registry.hpp"

#include "room.hpp"

#include <openssl/crypto.h>

#include <algorithm>

namespace roomcast::rooms {

boost::system::result<join_result> room_registry::join(std::string const& name,
                                                       std::shared_ptr<peer> const& p,
                                                       std::string token, join_access access) {
    seat_releaser later;  // after the lock: destroyed after it
    std::lock_guard lock(mutex_);
    auto& slot = rooms_[name];
    bool const created = !slot;
    // A room named by a host token (host_room_name) is that token's holder's alone: created by
    // anyone else (after a restart, or once its dormant state was let go) it starts locked,
    // with no host and no host token but the one its name derives from, and the newcomer waits
    // in its lobby for the holder. Otherwise its first member could hold the room, with a
    // token of its own choosing, and let in whom it likes before the real host is back.
    bool const claimed =
        created && is_host_room_name(name) && host_room_name(access.host_token) != name;
    if (created) {
        slot = std::make_shared<room>(name);
        if (claimed)
            slot->locked = true;
        else
            slot->host_token =
                access.host_token.empty() ? std::move(access.fresh_host_token) : access.host_token;
    }
    room_handle const rh = slot;  // `slot` may go with the map entry below; rh keeps the room
    room& r = *rh;
    auto forget_if_new = [&] {
        if (created) rooms_.erase(name);
    };

    join_result out;
    for (auto const& m : *r.members)
        if (m.id == p->id()) return std::make_error_code(std::errc::file_exists);
    for (auto const& e : r.lobby)
        if (e.id == p->id()) return std::make_error_code(std::errc::file_exists);
    boost::system::error_code ec;
    bool const host = (created && !claimed) || proves_host(r, access.host_token);
    if (!host && !admit_locked(r, p, access, out, ec)) {
        if (ec) {
            forget_if_new();
            return ec;
        }
        if (created) make_dormant_locked(rh);  // claimed: kept for its host, as a closed tab's
        out.room = rh;
        return out;  // in the lobby
    }
    if (!add_member_locked(rh, p, std::move(token), out, later)) {
        forget_if_new();
        return protocol::errc::room_full;
    }
    if (host && r.host_token.empty()) r.host_token = access.host_token;  // a claimed room's
    finish_entry_locked(r, p->id(), host, access.admission, std::move(access.fresh_admission), out);
    return out;
}

bool room_registry::add_member_locked(room_handle const& rh, std::shared_ptr<peer> const& p,
                                      std::string token, join_result& out, seat_releaser& later) {
    room& r = *rh;
    if (r.members->size() >= max_members_) {
        // Full: a held seat makes way for a live member, the one parked longest ago first.
        member const* oldest = nullptr;
        for (auto const& m : *r.members)
            if (m.away && !m.claimed && (!oldest || m.deadline < oldest->deadline)) oldest = &m;
        if (!oldest) return false;
        // (Its frames are released under this lock: the seat's own mutex and atomics only.)
        out.evicted = evicted_seat{oldest->id, oldest->away->dropped()};
        auto const id = oldest->id;
        held_.erase({&r, id});
        remove_locked(rh, id, later);
        rooms_[r.name] = rh;  // back in the map if that emptied it (a room of one)
    }
    auto const& old = *r.members;
    out.room = rh;
    out.others.reserve(old.size());
    for (auto const& m : old) {
        out.others.push_back(m.id);
        if (m.away) out.away.push_back(m.id);
    }

    auto next = std::make_shared<member_list>();
    next->reserve(old.size() + 1);
    *next = old;
    next->push_back({p->id(), p, p.get(), std::move(token), nullptr, {}, false});
    {
        std::lock_guard rl(r.mutex);
        r.members = std::move(next);
    }
    ++members_;
    wake_locked(rh);
    return true;
}

bool room_registry::leave(room_handle const& r, std::uint64_t id, peer const* holder, bool forget) {
    if (!r) return false;
    seat_releaser later;  // after the lock: destroyed after it
    std::lock_guard lock(mutex_);
    if (holder) {
        auto const& list = *r->members;
        auto it =
            std::find_if(list.begin(), list.end(), [id](member const& m) { return m.id == id; });
        if (it == list.end() || it->holder != holder) return false;
    }
    if (!remove_locked(r, id, later)) return false;
    held_.erase({r.get(), id});
    if (forget) std::erase_if(r->admissions, [id](admission const& a) { return a.member == id; });
    return true;
}

room_registry::seat_releaser::~seat_releaser() {
    for (auto const& s : seats)
        s->release_hold();
}

bool room_registry::remove_locked(room_handle const& r, std::uint64_t id, seat_releaser& later) {
    auto const& old = *r->members;
    auto it = std::find_if(old.begin(), old.end(), [id](member const& m) { return m.id == id; });
    if (it == old.end()) return false;
    // A seat leaving the room gives back what it held (its frames stay alive where others,
    // or a write in flight, still hold them), once the registry lock is let go.
    if (it->away) later.seats.push_back(it->away);
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
    if (id == r->host) r->host = 0;
    if (empty) {
        if (r->locked) {
            make_dormant_locked(r);  // the lock outlives the host's closed tab
        } else if (r->lobby.empty()) {
            // (A lobby just unlocked is still entering: the room stays until it has.)
            auto found = rooms_.find(r->name);
            if (found != rooms_.end() && found->second == r) rooms_.erase(found);
        }
    }
    return true;
}

namespace {
// Replaces the member list of r with a copy in which `edit` changed member `id`.
template <class Edit>
bool edit_member(room& r, std::uint64_t id, Edit edit) {
    auto const& old = *r.members;
    auto it = std::find_if(old.begin(), old.end(), [id](member const& m) { return m.id == id; });
    if (it == old.end()) return false;
    auto next = std::make_shared<member_list>(old);
    edit((*next)[static_cast<std::size_t>(it - old.begin())]);
    std::lock_guard rl(r.mutex);
    r.members = std::move(next);
    return true;
}
}  // namespace

bool room_registry::park(room_handle const& r, std::uint64_t id, std::shared_ptr<away_seat> seat,
                         clock::time_point deadline, peer const* holder) {
    if (!r) return false;
    std::lock_guard lock(mutex_);
    if (holder) {
        auto const& list = *r->members;
        auto it =
            std::find_if(list.begin(), list.end(), [id](member const& m) { return m.id == id; });
        if (it == list.end() || it->holder != holder) return false;
    }
    bool const ok = edit_member(*r, id, [&](member& m) {
        m.p = seat;
        m.holder = seat.get();
        m.away = seat;
        m.deadline = deadline;
        m.claimed = false;
    });
    if (ok) held_[{r.get(), id}] = r;
    return ok;
}

std::optional<claim_result> room_registry::claim(std::string const& name, std::string const& token,
                                                 std::string const& new_token) {
    if (token.empty()) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto found = rooms_.find(name);
    if (found == rooms_.end()) return std::nullopt;
    room_handle const r = found->second;
    auto const& list = *r->members;
    auto it = std::find_if(list.begin(), list.end(), [&](member const& m) {
        return m.away && !m.claimed && m.token.size() == token.size() &&
               CRYPTO_memcmp(m.token.data(), token.data(), token.size()) == 0;
    });
    if (it == list.end() || it->away->overflowed()) return std::nullopt;
    claim_result out;
    out.room = r;
    out.id = it->id;
    out.seat = it->away;
    for (auto const& m : list) {
        if (m.id == out.id) continue;
        out.others.push_back(m.id);
        if (m.away) out.away.push_back(m.id);
    }
    edit_member(*r, out.id, [&](member& m) {
        m.claimed = true;
        m.token = new_token;
    });
    return out;
}

std::optional<live_member> room_registry::find_live(std::string const& name,
                                                    std::string const& token) const {
    if (token.empty()) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto found = rooms_.find(name);
    if (found == rooms_.end()) return std::nullopt;
    for (auto const& m : *found->second->members) {
        if (m.away || m.claimed || m.token.size() != token.size() ||
            CRYPTO_memcmp(m.token.data(), token.data(), token.size()) != 0)
            continue;
        auto p = m.p.lock();
        if (!p) return std::nullopt;  // its connection is going: it leaves or parks itself
        return live_member{found->second, m.id, std::move(p)};
    }
    return std::nullopt;
}

std::optional<claim_result> room_registry::hand_over(room_handle const& r, std::uint64_t id,
                                                     peer const* holder,
                                                     std::shared_ptr<away_seat> seat,
                                                     std::string const& new_token) {
    if (!r || !seat) return std::nullopt;
    std::lock_guard lock(mutex_);
    auto const& list = *r->members;
    auto it = std::find_if(list.begin(), list.end(), [id](member const& m) { return m.id == id; });
    if (it == list.end() || it->holder != holder || it->away) return std::nullopt;
    claim_result out;
    out.room = r;
    out.id = id;
    out.seat = seat;
    for (auto const& m : list) {
        if (m.id == id) continue;
        out.others.push_back(m.id);
        if (m.away) out.away.push_back(m.id);
    }
    edit_member(*r, id, [&](member& m) {
        m.p = seat;
        m.holder = seat.get();
        m.away = seat;
        m.deadline = clock::time_point::max();  // claimed: the caller attaches at once
        m.claimed = true;
        m.token = new_token;
    });
    held_[{r.get(), id}] = r;
    return out;
}

bool room_registry::unpark(room_handle const& r, std::uint64_t id, std::shared_ptr<peer> const& p) {
    if (!r) return false;
    std::lock_guard lock(mutex_);
    bool const ok = edit_member(*r, id, [&](member& m) {
        m.p = p;
        m.holder = p.get();
        m.away.reset();
        m.claimed = false;
    });
    held_.erase({r.get(), id});
    return ok;
}

std::vector<released_seat> room_registry::expire(
    clock::time_point now, std::function<void(released_seat const&)> const& counted) {
    std::vector<released_seat> out;
    seat_releaser later;  // after the lock: destroyed after it
    std::lock_guard lock(mutex_);
    for (auto it = held_.begin(); it != held_.end();) {
        auto const id = it->first.second;
        room_handle const r = it->second;
        auto const& list = *r->members;
        auto m =
            std::find_if(list.begin(), list.end(), [id](member const& x) { return x.id == id; });
        if (m == list.end() || !m->away) {
            it = held_.erase(it);
            continue;
        }
        bool const over = m->away->overflowed();
        // An overflowed seat goes at once (even if claimed: its resume fails and rejoins).
        if (!over && (m->claimed || now < m->deadline)) {
            ++it;
            continue;
        }
        out.push_back({r, id, over, m->away->dropped()});
        if (counted) counted(out.back());
        it = held_.erase(it);
        remove_locked(r, id, later);
    }
    return out;
}

std::size_t room_registry::held_count() const {
    std::lock_guard lock(mutex_);
    return held_.size();
}

broadcast_result room_registry::broadcast(room_handle const& r, std::uint64_t from,
                                          protocol::frame_ptr const& f, bool from_member) {
    broadcast_result out;
    if (!r) return out;
    std::shared_ptr<member_list const> snapshot;
    {
        std::lock_guard rl(r->mutex);
        snapshot = r->members;
    }
    if (from_member && std::none_of(snapshot->begin(), snapshot->end(),
                                    [from](member const& m) { return m.id == from; })) {
        out.sender_absent = true;
        return out;
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

roster room_registry::roster(room_handle const& r) const {
    rooms::roster out;
    if (!r) return out;
    std::shared_ptr<member_list const> snapshot;
    {
        std::lock_guard rl(r->mutex);
        snapshot = r->members;
    }
    for (auto const& m : *snapshot) {
        out.ids.push_back(m.id);
        if (m.away) out.away.push_back(m.id);
    }
    return out;
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
