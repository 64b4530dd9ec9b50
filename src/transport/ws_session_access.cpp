// basic_ws_session: private rooms. The host's requests (lock, unlock, admit, deny, remove), a
// newcomer waiting in a locked room's lobby, and what the host decided about us. The rules
// themselves are the registry's (rooms/room_access.cpp); this file says who is told what.
//
// A newcomer in the lobby gets nothing of the room: it is no member, so no broadcast reaches
// it, and the host's knock is sent to the host alone. The host's decisions reach the newcomer
// (or the removed member) through peer::access_event(), on that connection's own strand.
#include "roomcast/transport/ws_session.hpp"

#include "ws_session_detail.hpp"

#include <spdlog/spdlog.h>

namespace roomcast::transport {

template <class Stream>
protocol::frame_ptr basic_ws_session<Stream>::joined_frame(std::string_view room,
                                                           std::span<std::uint64_t const> peers,
                                                           std::span<std::uint64_t const> away,
                                                           std::string_view resume, bool resumed,
                                                           rooms::join_result const& a) const {
    std::vector<std::pair<std::uint64_t, std::string>> lobby;
    lobby.reserve(a.lobby.size());
    for (auto const& k : a.lobby)
        lobby.emplace_back(k.id, k.name);
    protocol::joined_access access{a.host_id, a.locked, a.admission, a.host, a.host_token, lobby};
    return protocol::encode_joined(room, id_, peers, away, resume, resumed, access);
}

template <class Stream>
void basic_ws_session<Stream>::announce_host(rooms::join_result const& a, bool proved) {
    if (!a.host) return;
    if (proved && (a.host_moved || !a.others.empty()))
        ctx_.counters.hosts_proved.fetch_add(1, std::memory_order_relaxed);
    // The others learn who hosts (it may have been away, or another connection).
    if (!a.others.empty()) ctx_.rooms.broadcast(room_, id_, protocol::encode_host(id_));
}

template <class Stream>
void basic_ws_session<Stream>::wait_in_lobby(std::string_view room, std::string_view name,
                                             rooms::join_result&& j) {
    lobby_ = std::move(j.room);
    update_message_limit();
    ctx_.counters.lobby_knocks.fetch_add(1, std::memory_order_relaxed);
    reply(protocol::encode_lobby(room, id_));
    // The name goes to the host alone; with no host in the room, it reads the lobby from its
    // `joined` when it comes back.
    if (j.host_peer) j.host_peer->deliver(protocol::encode_knock(id_, name));
    spdlog::debug("ws {} {}: waiting in the lobby of {}", id_, remote_, room);
}

template <class Stream>
void basic_ws_session<Stream>::leave_lobby() {
    if (!lobby_) return;
    auto r = std::move(lobby_);
    lobby_.reset();
    bool was_waiting = false;
    auto host = ctx_.rooms.leave_lobby(r, id_, this, was_waiting);
    if (was_waiting) ctx_.counters.lobby_withdrawn.fetch_add(1, std::memory_order_relaxed);
    if (host) host->deliver(protocol::encode_knock_withdrawn(id_));
}

template <class Stream>
void basic_ws_session<Stream>::on_access(protocol::access_msg const& m) {
    using kind = protocol::access_msg::kind;
    if (lobby_) {
        reply_error(protocol::errc::in_lobby);
        return;
    }
    if (!room_) {
        reply_error(protocol::errc::not_joined);
        return;
    }
    auto const& name = rooms::room_registry::name(room_);
    switch (m.what) {
        case kind::lock: {
            if (auto res = ctx_.rooms.lock(room_, id_); !res) {
                reply_error(static_cast<protocol::errc>(res.error().value()));
                return;
            }
            ctx_.counters.rooms_locked.fetch_add(1, std::memory_order_relaxed);
            // Every member hears it, the host too (that is its answer).
            ctx_.rooms.broadcast(room_, 0, protocol::encode_locked(true));
            spdlog::debug("ws {} {}: locked {}", id_, remote_, name);
            return;
        }
        case kind::unlock: {
            auto res = ctx_.rooms.unlock(room_, id_);
            if (!res) {
                reply_error(static_cast<protocol::errc>(res.error().value()));
                return;
            }
            ctx_.counters.rooms_unlocked.fetch_add(1, std::memory_order_relaxed);
            ctx_.rooms.broadcast(room_, 0, protocol::encode_locked(false));
            for (auto const& p : res->admitted)
                p->access_event(rooms::access_change::admitted, room_);
            spdlog::debug("ws {} {}: unlocked {} ({} waiting let in)", id_, remote_, name,
                          res->admitted.size());
            return;
        }
        case kind::admit: {
            auto res = ctx_.rooms.admit(room_, id_, m.id);
            if (!res) {
                reply_error(static_cast<protocol::errc>(res.error().value()));
                return;
            }
            // The answer is its peer-joined, once it has entered on its own strand.
            (*res)->access_event(rooms::access_change::admitted, room_);
            spdlog::debug("ws {} {}: admitted {} into {}", id_, remote_, m.id, name);
            return;
        }
        case kind::deny: {
            auto res = ctx_.rooms.deny(room_, id_, m.id);
            if (!res) {
                reply_error(static_cast<protocol::errc>(res.error().value()));
                return;
            }
            (*res)->access_event(rooms::access_change::denied, room_);
            reply(protocol::encode_denied(m.id));
            spdlog::debug("ws {} {}: denied {} entry to {}", id_, remote_, m.id, name);
            return;
        }
        case kind::remove: {
            auto res = ctx_.rooms.remove(room_, id_, m.id);
            if (!res) {
                reply_error(static_cast<protocol::errc>(res.error().value()));
                return;
            }
            ctx_.counters.members_removed.fetch_add(1, std::memory_order_relaxed);
            if (res->seat_released)
                ctx_.counters.seats_removed.fetch_add(1, std::memory_order_relaxed);
            if (res->dropped) {
                ctx_.counters.frames_dropped.fetch_add(res->dropped, std::memory_order_relaxed);
                spdlog::info("ws {} {}: removed member {} of {}: {} frames its seat held dropped",
                             id_, remote_, m.id, name, res->dropped);
            }
            if (res->p)
                res->p->access_event(
                    m.room_ended ? rooms::access_change::room_ended : rooms::access_change::removed,
                    room_);
            reply(protocol::encode_removed(m.id));
            ctx_.rooms.broadcast(room_, id_, protocol::encode_peer_left(m.id, true));
            if (res->locked_now) {
                ctx_.counters.rooms_locked.fetch_add(1, std::memory_order_relaxed);
                ctx_.rooms.broadcast(room_, 0, protocol::encode_locked(true));
            }
            spdlog::debug("ws {} {}: removed {} from {}", id_, remote_, m.id, name);
            return;
        }
    }
}

template <class Stream>
void basic_ws_session<Stream>::access_event(rooms::access_change what,
                                            rooms::room_handle const& r) {
    net::post(socket_.get_executor(),
              [self = this->shared_from_this(), what, r] { self->on_access_change(what, r); });
}

template <class Stream>
void basic_ws_session<Stream>::on_access_change(rooms::access_change what,
                                                rooms::room_handle const& r) {
    if (state_ != state::open || replaced()) return;
    switch (what) {
        case rooms::access_change::admitted:
            if (lobby_ == r) enter_admitted(r);
            return;
        case rooms::access_change::denied:
        case rooms::access_change::room_closed: {
            if (lobby_ != r) return;
            lobby_.reset();  // the registry already took us out of the lobby
            update_message_limit();
            auto const& name = rooms::room_registry::name(r);
            bool const denied = what == rooms::access_change::denied;
            (denied ? ctx_.counters.lobby_denied : ctx_.counters.lobby_room_closed)
                .fetch_add(1, std::memory_order_relaxed);
            reply(denied ? protocol::encode_denied_you(name) : protocol::encode_room_closed(name));
            keep_seat_ = false;
            close_with(denied ? ws::close_code::denied : ws::close_code::room_closed,
                       denied ? "the host did not let you in" : "the room was closed", true);
            return;
        }
        case rooms::access_change::removed:
        case rooms::access_change::room_ended:
            if (room_ == r) end_as_removed(what == rooms::access_change::room_ended);
            return;
    }
}

template <class Stream>
void basic_ws_session<Stream>::end_as_removed(bool room_ended) {
    // The registry already removed us (seat, token, admission): no leave, no peer-left.
    auto const r = std::move(room_);
    room_.reset();
    resume_token_.clear();
    update_message_limit();
    reply(protocol::encode_removed_you(rooms::room_registry::name(r), room_ended));
    keep_seat_ = false;
    close_with(ws::close_code::removed, "removed from the room by its host", true);
}

template <class Stream>
void basic_ws_session<Stream>::enter_admitted(rooms::room_handle const& r) {
    auto const name = rooms::room_registry::name(r);
    auto token = detail::new_token();
    auto joined = ctx_.rooms.enter(r, this->shared_from_this(), token, detail::new_token());
    if (!joined && joined.error() == std::errc::operation_in_progress) return;  // still waiting
    lobby_.reset();
    if (!joined) {
        // Gone while it was let in (the room full, or closed): say so and end, as a denial.
        ctx_.counters.lobby_room_closed.fetch_add(1, std::memory_order_relaxed);
        if (joined.error() == protocol::errc::room_full)
            reply_error(protocol::errc::room_full);
        else
            reply(protocol::encode_room_closed(name));
        update_message_limit();
        return;
    }
    ctx_.counters.lobby_admitted.fetch_add(1, std::memory_order_relaxed);
    room_ = std::move(joined->room);
    resume_token_ = std::move(token);
    update_message_limit();
    reply(joined_frame(name, joined->others, joined->away, resume_token_, false, *joined));
    if (joined->evicted) announce_evicted(room_, *joined->evicted);
    ctx_.rooms.broadcast(room_, id_, protocol::encode_peer_joined(id_));
    spdlog::debug("ws {} {}: let into {} ({} others)", id_, remote_, name, joined->others.size());
}

template class basic_ws_session<tcp::socket>;
template class basic_ws_session<tls_stream>;

}  // namespace roomcast::transport
