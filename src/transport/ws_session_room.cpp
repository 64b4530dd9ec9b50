// basic_ws_session: what a client's message means. Text goes through protocol::parse (join,
// leave, or relay); binary is relayed as it is; and a member's seat is held when its
// connection ends without a leave, and taken back with its resume token.
#include "roomcast/transport/ws_session.hpp"

#include "ws_session_detail.hpp"

#include <roomcast/log.hpp>

#include <spdlog/spdlog.h>

namespace roomcast::transport {

template <class Stream>
memory_charge basic_ws_session<Stream>::frame_charge(std::size_t capacity) {
    // The message's memory moves from the reader to the frame, and its charge with it: still
    // this address's (max-message-bytes-per-ip) until the last recipient is done with it, so
    // an address cannot pile up memory in queues it never reads either. What arrived within
    // the last read was not charged yet: it is now, forced, since the bytes exist.
    auto& mem = ctx_.counters.memory;
    std::size_t const moved = std::min(partial_charged_, capacity);
    partial_charged_ -= moved;
    mem.transfer(memory_kind::partial_messages, memory_kind::frames, moved);
    if (std::size_t const extra = capacity - moved) {
        mem.charge(memory_kind::frames, extra);
        usage_->message_bytes.fetch_add(extra, std::memory_order_relaxed);
    }
    return memory_charge(mem, memory_kind::frames, capacity, usage_);
}

template <class Stream>
bool basic_ws_session<Stream>::ignored_as_replaced() {
    // Once a newer connection has our seat, what this one still reads (before its 4001 goes
    // out) is not acted on: not relayed under the member's id, not a join or leave. Counted.
    if (!replaced()) return false;
    ctx_.counters.frames_dropped.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("ws {} {}: message ignored: this connection was replaced", id_, remote_);
    return true;
}

template <class Stream>
bool basic_ws_session<Stream>::on_message(std::string&& payload, bool text) {
    if (state_ != state::open) return true;  // after our close frame: ignore data
    if (ignored_as_replaced()) return true;
    ctx_.counters.messages_in.fetch_add(1, std::memory_order_relaxed);
    if (!text) {
        if (!room_) {
            reply_error(lobby_ ? protocol::errc::in_lobby : protocol::errc::not_joined);
            return true;
        }
        std::size_t const capacity = payload.capacity();
        relay(protocol::make_frame(std::move(payload), false, last_heard_, frame_charge(capacity)));
        return true;
    }
    auto parsed = protocol::parse(payload);
    if (!parsed) {
        auto const code = static_cast<protocol::errc>(parsed.error().value());
        spdlog::debug("ws {} {}: {}", id_, remote_, protocol::wire_code(code));
        reply_error(code);
        return true;
    }
    std::visit(
        [&](auto&& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::join_msg>) {
                on_join(std::move(m));
            } else if constexpr (std::is_same_v<T, protocol::leave_msg>) {
                on_leave();
            } else if constexpr (std::is_same_v<T, protocol::access_msg>) {
                on_access(m);
            } else if (!room_) {
                reply_error(lobby_ ? protocol::errc::in_lobby : protocol::errc::not_joined);
            } else {
                std::size_t const capacity = payload.capacity();
                relay(protocol::make_frame(std::move(payload), true, last_heard_,
                                           frame_charge(capacity)));
            }
        },
        std::move(*parsed));
    return true;
}

template <class Stream>
bool basic_ws_session<Stream>::on_chunked_message(std::vector<protocol::payload_chunk>&& chunks) {
    // A large binary message, relayed in the chunks it was read into: never copied.
    if (state_ != state::open) return true;
    if (ignored_as_replaced()) return true;
    ctx_.counters.messages_in.fetch_add(1, std::memory_order_relaxed);
    if (!room_) {
        reply_error(lobby_ ? protocol::errc::in_lobby : protocol::errc::not_joined);
        return true;
    }
    std::size_t capacity = 0;
    for (auto const& c : chunks)
        capacity += c.capacity;
    relay(protocol::make_frame(std::move(chunks), false, last_heard_, frame_charge(capacity)));
    return true;
}

template <class Stream>
bool basic_ws_session<Stream>::resume_seat(protocol::join_msg const& j) {
    auto token = detail::new_token();
    auto c = ctx_.rooms.claim(j.room, *j.resume, token);
    bool taken_over = false;
    if (!c) {
        // Not away: maybe the member's old connection still looks alive (a tab closed without
        // a close frame reaching us, a phone that changed networks). Its token holder is back,
        // so the seat moves here now instead of after a heartbeat timeout and a grace period.
        auto live = ctx_.rooms.find_live(j.room, *j.resume);
        if (live && live->p.get() == this) return false;
        if (live) {
            {
                // While we take a seat over, no one takes ours (two members swapping tokens
                // would otherwise forward into each other for ever).
                std::lock_guard lock(out_mutex_);
                if (yielded_.load(std::memory_order_relaxed)) return false;
                taking_over_ = true;
            }
            bool const yielded =
                live->p->yield_seat(live->id, [&](std::shared_ptr<rooms::away_seat> const& seat) {
                    c = ctx_.rooms.hand_over(live->room, live->id, live->p.get(), seat, token);
                    return c.has_value();
                });
            {
                std::lock_guard lock(out_mutex_);
                taking_over_ = false;
            }
            taken_over = yielded;
        }
        if (!c) {
            // Not live (any more), or closing: if its connection parked the seat since the
            // first claim, that happened in the same step as it stopped accepting (park_seat),
            // so the seat is claimable now. A seat only goes live -> away -> claimed, or live
            // -> gone: one more claim sees it if it is there.
            c = ctx_.rooms.claim(j.room, *j.resume, token);
        }
        if (!c) return false;
    }
    leave_room(true);
    auto const old_id = id_;
    id_ = c->id;
    auto joined =
        joined_frame(j.room, c->others, c->away, token, true, ctx_.rooms.describe(c->room, c->id));
    std::size_t replayed = 0;
    // The seat hands over under its own lock: the joined reply, then what it kept, then
    // whatever arrives later, all in order.
    if (!c->seat->attach(this->shared_from_this(), joined, replayed)) {
        id_ = old_id;
        spdlog::info("ws {} {}: seat {} in {} overflowed before it was resumed; joining afresh",
                     id_, remote_, c->id, j.room);
        return false;
    }
    room_ = c->room;
    resume_token_ = std::move(token);
    update_message_limit();
    if (!ctx_.rooms.unpark(room_, id_, this->shared_from_this())) {
        // The host removed this member while we were taking its seat back: we are told now,
        // as a live member would have been (nothing is announced to the room).
        end_as_removed();
        return true;
    }
    if (taken_over)
        ctx_.counters.seats_taken_over.fetch_add(1, std::memory_order_relaxed);
    else
        ctx_.counters.seats_resumed.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.frames_replayed.fetch_add(replayed, std::memory_order_relaxed);
    // After a take-over too: the member's device is (re)connected now; its peers may have
    // work to resume with it.
    ctx_.rooms.broadcast(room_, id_, protocol::encode_peer_back(id_));
    spdlog::debug("ws {} {} {} its seat in {} ({} frames replayed)", id_, remote_,
                  taken_over ? "took over" : "resumed", j.room, replayed);
    return true;
}

template <class Stream>
bool basic_ws_session<Stream>::yield_seat(
    std::uint64_t id, std::function<bool(std::shared_ptr<rooms::away_seat> const&)> const& commit) {
    // Called from the newer connection's strand. The seat carries this connection's unwritten
    // frames to it, then forwards; it is attached within the same hand-over, so it is not
    // held against the seat caps. All under out_mutex_, which our own leave and park take
    // too: the registry entry, our queue and `accepting_` change together.
    auto seat = std::make_shared<rooms::away_seat>(id, ctx_.seats, usage_, ctx_.counters.held);
    seat->hold(false);
    {
        std::lock_guard lock(out_mutex_);
        if (!accepting_ || parked_ || taking_over_) return false;
        // The registry points at the seat from here: frames delivered after this go to it
        // directly, and ours, which are older, go in front of them.
        if (!commit(seat)) return false;
        auto unwritten = take_unwritten_locked();
        if (!seat->prepend(unwritten)) {
            // Not reachable: the seat was made above and is attached only after we return.
            ctx_.counters.frames_dropped.fetch_add(unwritten.size(), std::memory_order_relaxed);
            spdlog::error("ws {} {}: hand-over seat refused {} unwritten frames", id_, remote_,
                          unwritten.size());
        }
        parked_ = seat;
        yielded_.store(true, std::memory_order_release);
    }
    net::post(socket_.get_executor(), [self = this->shared_from_this()] { self->on_replaced(); });
    return true;
}

template <class Stream>
void basic_ws_session<Stream>::on_replaced() {
    // Whatever room we are still in: the yielded seat is the newer connection's and the
    // registry's holder check keeps us off it; a room joined in the meantime we really leave.
    leave_room(true);
    keep_seat_ = false;
    if (state_ != state::open) return;
    ctx_.counters.close_replaced.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("ws {} {}: replaced by a newer connection of this member", id_, remote_);
    close_with(ws::close_code::replaced, "replaced by a newer connection", false);
}

template <class Stream>
std::vector<protocol::frame_ptr> basic_ws_session<Stream>::take_unwritten_locked() {
    accepting_ = false;
    std::vector<protocol::frame_ptr> out;
    // The frames of the write in flight are COPIED, never moved: batch_ keeps them until
    // on_write, since the kernel may still be reading them. Those the kernel has taken in full
    // are not kept (the client may still have lost them with the connection; it only ever
    // gets duplicates, never gaps, around a resume).
    std::size_t at = 0;
    for (auto const& f : batch_) {
        at += f->wire_size();
        if (at > batch_written_ && detail::is_data_frame(f)) out.push_back(f);
    }
    std::size_t const before = queue_.bytes();
    auto pending = queue_.take_pending();
    ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                         std::memory_order_relaxed);
    for (auto& f : pending)
        if (detail::is_data_frame(f)) out.push_back(std::move(f));
    pong_waiting_.reset();
    return out;
}

template <class Stream>
void basic_ws_session<Stream>::announce_evicted(rooms::room_handle const& r,
                                                rooms::evicted_seat const& e) {
    ctx_.counters.seats_evicted.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.frames_dropped.fetch_add(e.dropped, std::memory_order_relaxed);
    spdlog::info("seat {} in {} released to let a member into the full room ({} frames lost)", e.id,
                 rooms::room_registry::name(r), e.dropped);
    ctx_.rooms.broadcast(r, id_, protocol::encode_peer_left(e.id));
}

template <class Stream>
void basic_ws_session<Stream>::on_join(protocol::join_msg&& j) {
    // Every attempt counts, resumes too: room names and resume tokens must not be guessable
    // by trying many.
    std::chrono::milliseconds retry{};
    if (!ctx_.joins.try_take(ticket_.address(), clock::now(), retry)) {
        auto const n = ctx_.counters.joins_refused.fetch_add(1, std::memory_order_relaxed);
        if (n % 100 == 0)
            spdlog::info(
                "ws {} {}: join refused: over {} join attempts a minute ({} refused in "
                "all; logged every 100th)",
                id_, remote_, ctx_.cfg.max_joins_per_minute, n + 1);
        reply_error(protocol::errc::rate_limited, static_cast<std::uint64_t>(retry.count()));
        return;
    }
    // A resume brings back what the seat already held: it is let in even near the budget.
    if (j.resume && resume_seat(j)) return;
    if (replaced()) return;  // our own seat was taken over meanwhile: this join is moot
    if (room_ && rooms::room_registry::name(room_) == j.room) {
        // Already there: answer again, change nothing.
        auto who = ctx_.rooms.roster(room_);
        std::erase(who.ids, id_);
        reply(joined_frame(j.room, who.ids, who.away, resume_token_, false,
                           ctx_.rooms.describe(room_, id_)));
        return;
    }
    if (lobby_ && rooms::room_registry::name(lobby_) == j.room && j.host_token.empty() &&
        j.admission.empty()) {
        // Already waiting there: say so again (the host was asked once).
        reply(protocol::encode_lobby(j.room, id_));
        return;
    }
    if (ctx_.counters.memory.near_limit()) {
        if (auto const s = count_sampled(ctx_.counters.joins_refused_memory); s.log)
            spdlog::warn(
                "ws {} {}: join refused: memory budget nearly used ({} of {} bytes; {} "
                "refused in all, logged the first and every {}th)",
                id_, remote_, ctx_.counters.memory.used(), ctx_.counters.memory.limit(), s.count,
                refusal_log_every);
        reply_error(protocol::errc::server_busy, 1000);
        return;
    }
    // Join the new room first: a refused join (room-full) leaves the connection where it was.
    auto token = detail::new_token();
    // Waiting in a lobby (another room's, or this one's and now with a host token or an
    // admission): give that up first. The id is the same, and a lobby entry holds nothing a
    // refused join would want back (the host is told the knock was withdrawn).
    leave_lobby();
    rooms::join_access access{j.host_token, j.admission, j.name, detail::new_token(),
                              detail::new_token()};
    auto joined = ctx_.rooms.join(j.room, this->shared_from_this(), token, access);
    if (!joined && joined.error() == std::errc::file_exists) {
        // Another member of that room drew the same random id (about 1 in 10^14): draw again.
        // The id names this connection in its current room too, so it leaves that first.
        leave_room(true);
        id_ = context::next_id();
        joined = ctx_.rooms.join(j.room, this->shared_from_this(), token, std::move(access));
    }
    if (!joined) {
        auto const code = joined.error() == protocol::errc::lobby_full ? protocol::errc::lobby_full
                                                                       : protocol::errc::room_full;
        spdlog::info("ws {} {}: room {}: {}", id_, remote_, j.room, protocol::wire_code(code));
        reply_error(code);
        return;
    }
    leave_room(true);
    if (joined->in_lobby) {
        wait_in_lobby(j.room, j.name, std::move(*joined));
        return;
    }
    room_ = std::move(joined->room);
    resume_token_ = std::move(token);
    update_message_limit();
    reply(joined_frame(j.room, joined->others, joined->away, resume_token_, false, *joined));
    if (joined->evicted) announce_evicted(room_, *joined->evicted);
    ctx_.rooms.broadcast(room_, id_, protocol::encode_peer_joined(id_));
    announce_host(*joined, !j.host_token.empty());
    spdlog::debug("ws {} {} joined {} ({} others{})", id_, remote_, j.room, joined->others.size(),
                  joined->host ? ", host" : "");
}

template <class Stream>
void basic_ws_session<Stream>::on_leave() {
    if (!room_ && lobby_) {
        std::string const name = rooms::room_registry::name(lobby_);
        leave_lobby();
        reply(protocol::encode_left(name));
        return;
    }
    if (!room_) {
        reply_error(protocol::errc::not_joined);
        return;
    }
    std::string const name = rooms::room_registry::name(room_);
    leave_room(true, true);  // a deliberate leave: its admission goes too
    reply(protocol::encode_left(name));
}

template <class Stream>
void basic_ws_session<Stream>::leave_room(bool announce, bool forget) {
    leave_lobby();
    if (!room_) return;
    auto r = std::move(room_);
    room_.reset();
    update_message_limit();
    bool left = false;
    {
        // Only while the seat is still ours (after a take-over it is the newer connection's),
        // and under out_mutex_ like yield_seat, so that a take-over and our leaving never cross.
        std::lock_guard lock(out_mutex_);
        left = ctx_.rooms.leave(r, id_, this, forget);
    }
    if (left && announce) ctx_.rooms.broadcast(r, id_, protocol::encode_peer_left(id_));
}

template <class Stream>
void basic_ws_session<Stream>::park_seat() {
    leave_lobby();
    if (!room_) return;
    if (replaced()) {
        // The seat went to a newer connection; a room joined since is really left.
        leave_room(true);
        return;
    }
    auto seat = std::make_shared<rooms::away_seat>(id_, ctx_.seats, usage_, ctx_.counters.held);
    if (!seat->hold()) {
        // This address (or the process) holds as many seats as it may: the member leaves.
        if (auto const s = count_sampled(ctx_.counters.seats_refused); s.log)
            spdlog::info(
                "ws {} {}: seat not held: {} seats held for this address (max {}), {} in "
                "all (max {}); {} refused, sampled",
                id_, remote_, usage_->held_seats.load(std::memory_order_relaxed),
                ctx_.cfg.max_held_seats_per_ip,
                ctx_.counters.held.seats.load(std::memory_order_relaxed), ctx_.cfg.max_held_seats,
                s.count);
        leave_room(true);
        return;
    }
    auto r = std::move(room_);
    room_.reset();
    update_message_limit();
    bool parked = false;
    bool left = false;
    {
        // One critical section: from here on every deliver() lands in the seat, after the
        // frames that were queued (and maybe not received) on this connection; and the
        // registry shows the seat away in the same step, so a newer connection that finds us
        // no longer accepting (yield_seat) finds the seat claimable. The seat is new and
        // unshared, and the registry never calls a session under its lock, so taking their
        // locks under ours cannot deadlock.
        std::lock_guard lock(out_mutex_);
        if (yielded_.load(std::memory_order_relaxed)) {
            // A newer connection took the seat since the check above: leave r unless it is
            // that seat (the holder check).
            left = ctx_.rooms.leave(r, id_, this);
        } else {
            for (auto const& f : take_unwritten_locked())
                seat->deliver(f);
            parked_ = seat;
            parked = ctx_.rooms.park(r, id_, seat, clock::now() + ctx_.cfg.resume_grace, this);
        }
    }
    if (left) ctx_.rooms.broadcast(r, id_, protocol::encode_peer_left(id_));
    if (!parked) {
        seat->release_hold();
        return;
    }
    ctx_.counters.seats_held.fetch_add(1, std::memory_order_relaxed);
    ctx_.rooms.broadcast(r, id_, protocol::encode_peer_away(id_));
    spdlog::debug("ws {} {}: connection lost; seat in {} held for {} ms", id_, remote_,
                  rooms::room_registry::name(r), ctx_.cfg.resume_grace.count());
}

template <class Stream>
void basic_ws_session<Stream>::relay(protocol::frame_ptr frame) {
    // One frame, shared by every recipient: the sender's bytes, with the header made once.
    // Only while we are a member: a member the host removed relays nothing more, even before
    // its own strand hears of the removal.
    auto res = ctx_.rooms.broadcast(room_, id_, frame, true);
    if (res.sender_absent) {
        ctx_.counters.frames_dropped.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("ws {} {}: frame not relayed: no longer a member of the room", id_, remote_);
        return;
    }
    if (res.delivered) ctx_.counters.frames_relayed.fetch_add(1, std::memory_order_relaxed);
    if (res.congested && res.congested->notify_when_drained(this->weak_from_this())) {
        // A recipient is over its high-water mark: stop reading so TCP pushes back on the
        // sender, instead of queueing without bound or dropping.
        paused_ = true;
        window_stalled_by_us_ = true;
        ctx_.counters.read_pauses.fetch_add(1, std::memory_order_relaxed);
    }
}

template <class Stream>
void basic_ws_session<Stream>::reply(protocol::frame_ptr const& f) {
    if (replaced()) {
        // Our queue now forwards to the newer connection: our private replies are not its.
        ctx_.counters.frames_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    deliver(f);
}

template <class Stream>
void basic_ws_session<Stream>::reply_error(protocol::errc code, std::uint64_t retry_after_ms) {
    ctx_.counters.protocol_errors.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.errors_by_code[static_cast<std::size_t>(code)].fetch_add(
        1, std::memory_order_relaxed);
    reply(protocol::encode_error(code, retry_after_ms));
}

template class basic_ws_session<tcp::socket>;
template class basic_ws_session<tls_stream>;

}  // namespace roomcast::transport
