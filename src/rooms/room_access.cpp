// The room registry's access rules: the host, the lock, the lobby and admissions (private
// rooms, docs/PROTOCOL.md "Private rooms"). Everything here runs under the registry lock and
// never calls a peer: the live peers it returns are told by the caller, after the lock.
#include "roomcast/rooms/room_registry.hpp"

#include "room.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

namespace roomcast::rooms {

namespace {

bool same_secret(std::string_view a, std::string_view b) noexcept {
    return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Member `by` is r's host (ids are never 0; a room with no host in it has host 0).
bool hosts(room const& r, std::uint64_t by) noexcept {
    return by != 0 && r.host == by;
}

template <class List>
auto find_id(List& list, std::uint64_t id) {
    return std::find_if(list.begin(), list.end(), [id](auto const& x) { return x.id == id; });
}

// Member `id` is in r now: present, or away with its seat held.
bool in_room(room const& r, std::uint64_t id) {
    auto const& list = *r.members;
    return find_id(list, id) != list.end();
}

}  // namespace

std::string room_registry::host_room_name(std::string_view host_token) {
    static constexpr char domain[] = "roomcast host v1";  // and its NUL: a separator
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool const ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, domain, sizeof domain) == 1 &&
                    EVP_DigestUpdate(ctx, host_token.data(), host_token.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, digest, &len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || len < 16) return {};  // never equal to a valid room name
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(33, 'p');
    for (std::size_t i = 0; i < 16; ++i) {
        out[1 + 2 * i] = hex[digest[i] >> 4];
        out[2 + 2 * i] = hex[digest[i] & 15];
    }
    return out;
}

bool room_registry::is_host_room_name(std::string_view name) noexcept {
    if (name.size() != 33 || name[0] != 'p') return false;
    return std::all_of(name.begin() + 1, name.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool room_registry::proves_host(room const& r, std::string_view host_token) {
    if (host_token.empty()) return false;
    if (same_secret(r.host_token, host_token)) return true;
    auto const derived = host_room_name(host_token);
    return derived.size() == r.name.size() &&
           CRYPTO_memcmp(derived.data(), r.name.data(), derived.size()) == 0;
}

bool room_registry::admit_locked(room& r, std::shared_ptr<peer> const& p, join_access const& a,
                                 join_result& out, boost::system::error_code& ec) {
    if (!r.locked) return true;
    // An admission whose member is in the room now (present, or its seat held) is in use: a
    // second connection with it would be a second member on one device's pass, and removing
    // the first would leave the copy in. It knocks instead.
    for (auto const& adm : r.admissions)
        if (same_secret(adm.token, a.admission) && !in_room(r, adm.member)) return true;
    if (r.lobby.size() >= access_.max_lobby) {
        ec = protocol::errc::lobby_full;
        return false;
    }
    r.lobby.push_back({p->id(), p, p.get(), a.name, false});
    out.in_lobby = true;
    auto const& list = *r.members;
    if (auto h = find_id(list, r.host); h != list.end() && !h->away) out.host_peer = h->p.lock();
    return false;
}

void room_registry::finish_entry_locked(room& r, std::uint64_t id, bool host,
                                        std::string const& brought, std::string fresh,
                                        join_result& out) {
    if (host) {
        out.host_moved = r.host != 0 && r.host != id;
        r.host = id;
    }
    auto adm = std::find_if(r.admissions.begin(), r.admissions.end(), [&](admission const& x) {
        return same_secret(x.token, brought) && (x.member == id || !in_room(r, x.member));
    });
    if (adm != r.admissions.end()) {
        // Used: it is spent, and the member gets a new one. So an admission is one device's,
        // bound to one member id at a time: a copy used again, or by a second connection, is
        // worth nothing, and remove() of that id revokes the only live one.
        adm->member = id;
        if (!fresh.empty()) adm->token = std::move(fresh);
        out.admission = adm->token;
    } else if (!fresh.empty()) {
        if (r.admissions.size() >= access_.max_admissions) {
            // At the cap: the oldest admission of a device not in the room now goes.
            auto const& list = *r.members;
            auto gone = std::find_if(r.admissions.begin(), r.admissions.end(), [&](auto const& x) {
                return x.member != id && find_id(list, x.member) == list.end();
            });
            r.admissions.erase(gone != r.admissions.end() ? gone : r.admissions.begin());
        }
        r.admissions.push_back({fresh, id});
        out.admission = std::move(fresh);
    }
    describe_locked(r, id, out);
}

void room_registry::describe_locked(room const& r, std::uint64_t id, join_result& out) const {
    out.host = id != 0 && r.host == id;
    out.host_id = r.host;
    out.locked = r.locked;
    for (auto const& a : r.admissions)
        if (a.member == id) out.admission = a.token;
    if (out.host) {
        out.host_token = r.host_token;
        for (auto const& e : r.lobby)
            if (!e.admitted) out.lobby.push_back({e.id, e.name});
    }
}

join_result room_registry::describe(room_handle const& r, std::uint64_t id) const {
    join_result out;
    if (!r) return out;
    std::lock_guard lock(mutex_);
    describe_locked(*r, id, out);
    return out;
}

void room_registry::make_dormant_locked(room_handle const& r) {
    if (r->dormant) return;
    r->dormant = true;
    r->dormant_since = clock::now();
    dormant_[{r->dormant_since, r.get()}] = r;
    while (dormant_.size() > access_.max_dormant) {
        // The oldest goes; whoever waited in its lobby is told at the next expire_rooms().
        room_handle const old = dormant_.begin()->second;
        dormant_.erase(dormant_.begin());
        old->dormant = false;
        for (auto const& e : old->lobby)
            closed_lobbies_.emplace_back(e.p, old);
        old->lobby.clear();
        auto found = rooms_.find(old->name);
        if (found != rooms_.end() && found->second == old) rooms_.erase(found);
    }
}

void room_registry::wake_locked(room_handle const& r) {
    if (!r->dormant) return;
    dormant_.erase({r->dormant_since, r.get()});
    r->dormant = false;
}

boost::system::result<void> room_registry::lock(room_handle const& r, std::uint64_t by) {
    if (!r) return protocol::errc::not_host;
    std::lock_guard lock(mutex_);
    if (!hosts(*r, by)) return protocol::errc::not_host;
    if (!r->locked) {
        // Only the devices in the room now (and those the host admits later) may come back by
        // themselves: admissions collected while the room was open by devices since gone are
        // forgotten, so joining an open room many times stockpiles nothing.
        auto const& list = *r->members;
        std::erase_if(r->admissions,
                      [&](admission const& a) { return find_id(list, a.member) == list.end(); });
    }
    r->locked = true;
    return {};
}

boost::system::result<unlock_result> room_registry::unlock(room_handle const& r, std::uint64_t by) {
    if (!r) return protocol::errc::not_host;
    std::lock_guard lock(mutex_);
    if (!hosts(*r, by)) return protocol::errc::not_host;
    if (!r->locked) return protocol::errc::not_locked;
    r->locked = false;
    unlock_result out;
    std::erase_if(r->lobby, [&](lobby_entry& e) {
        auto p = e.p.lock();
        if (!p) return true;
        e.admitted = true;
        out.admitted.push_back(std::move(p));
        return false;
    });
    return out;
}

boost::system::result<std::shared_ptr<peer>> room_registry::admit(room_handle const& r,
                                                                  std::uint64_t by,
                                                                  std::uint64_t id) {
    if (!r) return protocol::errc::not_host;
    std::lock_guard lock(mutex_);
    if (!hosts(*r, by)) return protocol::errc::not_host;
    auto e = find_id(r->lobby, id);
    if (e == r->lobby.end() || e->admitted) return protocol::errc::unknown_id;
    auto p = e->p.lock();
    if (!p) {
        r->lobby.erase(e);
        return protocol::errc::unknown_id;
    }
    e->admitted = true;
    return p;
}

boost::system::result<std::shared_ptr<peer>> room_registry::deny(room_handle const& r,
                                                                 std::uint64_t by,
                                                                 std::uint64_t id) {
    if (!r) return protocol::errc::not_host;
    std::lock_guard lock(mutex_);
    if (!hosts(*r, by)) return protocol::errc::not_host;
    auto e = find_id(r->lobby, id);
    if (e == r->lobby.end()) return protocol::errc::unknown_id;
    auto p = e->p.lock();
    r->lobby.erase(e);
    if (!p) return protocol::errc::unknown_id;
    return p;
}

boost::system::result<removal> room_registry::remove(room_handle const& r, std::uint64_t by,
                                                     std::uint64_t id) {
    if (!r) return protocol::errc::not_host;
    seat_releaser later;  // after the lock: destroyed after it
    std::lock_guard lock(mutex_);
    if (!hosts(*r, by)) return protocol::errc::not_host;
    if (id == by) return protocol::errc::unknown_id;  // the host leaves instead
    auto const& list = *r->members;
    auto m = find_id(list, id);
    removal out;
    if (m == list.end()) {
        // Not in the room now: a device that was (its seat gone) and holds an admission. The
        // host removes it by the id it last had: the admission is revoked.
        auto const n =
            std::erase_if(r->admissions, [id](admission const& a) { return a.member == id; });
        if (n == 0) return protocol::errc::unknown_id;
        if (!r->locked) r->locked = out.locked_now = true;
        return out;
    }
    if (m->away) {
        out.dropped = m->away->dropped();  // the seat itself is released with the member
        out.seat_released = true;
    } else
        out.p = m->p.lock();
    held_.erase({r.get(), id});
    remove_locked(r, id, later);
    std::erase_if(r->admissions, [id](admission const& a) { return a.member == id; });
    if (!r->locked) {
        r->locked = true;
        out.locked_now = true;
    }
    return out;
}

boost::system::result<join_result> room_registry::enter(room_handle const& r,
                                                        std::shared_ptr<peer> const& p,
                                                        std::string token,
                                                        std::string fresh_admission) {
    if (!r || !p) return protocol::errc::unknown_id;
    seat_releaser later;  // after the lock: destroyed after it
    std::lock_guard lock(mutex_);
    auto e = find_id(r->lobby, p->id());
    if (e == r->lobby.end() || e->holder != p.get()) return protocol::errc::unknown_id;
    // Its entry is a newer one than the host admitted (it knocked again meanwhile): it waits.
    if (!e->admitted) return std::make_error_code(std::errc::operation_in_progress);
    r->lobby.erase(e);
    auto found = rooms_.find(r->name);
    if (found == rooms_.end())
        rooms_[r->name] = r;  // emptied and let go while it entered: it is the room again
    else if (found->second != r)
        return protocol::errc::unknown_id;
    join_result out;
    for (auto const& m : *r->members)
        if (m.id == p->id()) return std::make_error_code(std::errc::file_exists);
    if (!add_member_locked(r, p, std::move(token), out, later)) {
        if (r->members->empty() && r->lobby.empty() && !r->locked) rooms_.erase(r->name);
        return protocol::errc::room_full;
    }
    finish_entry_locked(*r, p->id(), false, {}, std::move(fresh_admission), out);
    return out;
}

std::shared_ptr<peer> room_registry::leave_lobby(room_handle const& r, std::uint64_t id,
                                                 peer const* holder, bool& was_waiting) {
    was_waiting = false;
    if (!r) return nullptr;
    std::lock_guard lock(mutex_);
    auto e = find_id(r->lobby, id);
    if (e == r->lobby.end() || e->holder != holder) return nullptr;
    bool const waiting = !e->admitted;
    was_waiting = waiting;
    r->lobby.erase(e);
    if (r->members->empty() && r->lobby.empty() && !r->locked) {
        auto found = rooms_.find(r->name);
        if (found != rooms_.end() && found->second == r) rooms_.erase(found);
    }
    if (!waiting) return nullptr;  // the host already let it in: nothing to withdraw
    auto const& list = *r->members;
    auto h = find_id(list, r->host);
    return h != list.end() && !h->away ? h->p.lock() : nullptr;
}

std::vector<std::pair<std::shared_ptr<peer>, room_handle>> room_registry::expire_rooms(
    clock::time_point now) {
    std::vector<std::pair<std::weak_ptr<peer>, room_handle>> waiting;
    {
        std::lock_guard lock(mutex_);
        waiting.swap(closed_lobbies_);
        while (!dormant_.empty() && now - dormant_.begin()->first.first >= access_.retention) {
            room_handle const r = dormant_.begin()->second;
            dormant_.erase(dormant_.begin());
            r->dormant = false;
            for (auto const& e : r->lobby)
                waiting.emplace_back(e.p, r);
            r->lobby.clear();
            auto found = rooms_.find(r->name);
            if (found != rooms_.end() && found->second == r) rooms_.erase(found);
        }
    }
    std::vector<std::pair<std::shared_ptr<peer>, room_handle>> out;
    for (auto& [w, r] : waiting)
        if (auto p = w.lock()) out.emplace_back(std::move(p), std::move(r));
    return out;
}

std::shared_ptr<peer> room_registry::host_of(room_handle const& r) const {
    if (!r) return nullptr;
    std::lock_guard lock(mutex_);
    auto const& list = *r->members;
    auto h = find_id(list, r->host);
    return h != list.end() && !h->away ? h->p.lock() : nullptr;
}

std::size_t room_registry::dormant_count() const {
    std::lock_guard lock(mutex_);
    return dormant_.size();
}

}  // namespace roomcast::rooms
