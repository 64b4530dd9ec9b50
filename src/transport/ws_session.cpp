// basic_ws_session: lifetime, heartbeat and closing. The read loop, the meaning of messages
// and the write loop are in ws_session_read.cpp, ws_session_room.cpp and ws_session_write.cpp.
#include "roomcast/transport/ws_session.hpp"

#include "ws_session_detail.hpp"

#include <roomcast/log.hpp>

#include <spdlog/spdlog.h>

namespace roomcast::transport {

template <class Stream>
basic_ws_session<Stream>::basic_ws_session(Stream&& stream, context& ctx, conn_ticket ticket,
                                           std::string remote)
    : socket_(std::move(stream)),
      ctx_(ctx),
      ticket_(std::move(ticket)),
      remote_(std::move(remote)),
      usage_(ctx.ledger.get(ticket_.address())),
      id_(context::next_id()),
      reader_(std::min(ctx.cfg.max_message_bytes, protocol::max_envelope_bytes)),
      queue_({ctx.cfg.send_high_water_bytes, ctx.cfg.send_max_bytes, 32}),
      heartbeat_timer_(socket_.get_executor()),
      write_timer_(socket_.get_executor()),
      wait_timer_(socket_.get_executor()) {
    auto const now = clock::now();
    auto const msgs = static_cast<double>(ctx.cfg.max_messages_per_second);
    auto const bytes = static_cast<double>(ctx.cfg.max_bytes_per_second);
    message_budget_ = token_bucket(msgs, msgs, now);
    byte_budget_ = token_bucket(bytes, bytes, now);
    ctx_.counters.websockets_open.fetch_add(1, std::memory_order_relaxed);
}

template <class Stream>
basic_ws_session<Stream>::~basic_ws_session() {
    // Backstop: every path out already left the room, but a missed one must not leave a ghost.
    leave_room(true);
    charge_partial(0);
    ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(queue_.bytes()),
                                         std::memory_order_relaxed);
    ctx_.counters.websockets_open.fetch_sub(1, std::memory_order_relaxed);
    ctx_.tracker.remove(tracker_key_);
    wake_waiters();
    spdlog::debug("ws {} {} closed", id_, remote_);
}

template <class Stream>
void basic_ws_session<Stream>::run(std::string handshake_response, std::string leftover) {
    // Already on the strand: the http_session that owned this socket called us from it.
    if constexpr (!is_tls) {
        error_code ec;
        socket_.non_blocking(true, ec);
        if (ec) return fail(ec, "non_blocking");
    }
    last_heard_ = tick_at_ = clock::now();
    tracker_key_ = ctx_.tracker.add(this->weak_from_this());
    spdlog::debug("ws {} {} open", id_, remote_);

    // The 101 response goes through the send queue like any frame (no WebSocket header).
    auto res = std::make_shared<protocol::out_frame>();
    res->payload = std::move(handshake_response);
    {
        std::lock_guard lock(out_mutex_);
        queue_.push(res, true);
        ctx_.counters.queued_bytes.fetch_add(static_cast<std::int64_t>(res->wire_size()),
                                             std::memory_order_relaxed);
        write_scheduled_ = true;
    }
    do_write();

    arm_heartbeat();
    start_reading(leftover);
}

// ---------------------------------------------------------------------------------------------
// Heartbeat, and the pace of messages being received

template <class Stream>
void basic_ws_session<Stream>::arm_heartbeat() {
    auto const wait = ping_outstanding_ ? ctx_.cfg.ping_timeout : ctx_.cfg.ping_interval;
    heartbeat_timer_.expires_after(wait);
    heartbeat_timer_.async_wait(
        [self = this->shared_from_this()](error_code ec) { self->on_heartbeat(ec); });
}

template <class Stream>
bool basic_ws_session<Stream>::check_message_rate(clock::time_point now) {
    // A message that was under way at the last tick and still is must have received at least
    // message-min-rate bytes a second since, unless we ourselves stopped reading (a paused
    // sender or the rate limit): one byte every few seconds must not pin a buffer for hours.
    bool const in_message = reader_.in_message();
    bool const judged = ctx_.cfg.message_min_rate != 0 && in_message && tick_in_message_ &&
                        !window_stalled_by_us_ && !paused_ && !throttled_;
    auto const elapsed = std::chrono::duration<double>(now - tick_at_).count();
    auto const received = bytes_read_ - tick_bytes_read_;
    tick_at_ = now;
    tick_bytes_read_ = bytes_read_;
    tick_in_message_ = in_message;
    window_stalled_by_us_ = paused_ || throttled_;
    if (!judged) return true;
    auto const needed = static_cast<double>(ctx_.cfg.message_min_rate) * elapsed;
    if (static_cast<double>(received) >= needed) return true;
    if (auto const s = count_sampled(ctx_.counters.close_slow_sender); s.log)
        spdlog::info(
            "ws {} {}: message arriving at {:.0f} B/s, under message-min-rate ({} B/s); closing "
            "with 1008 ({} bytes of it held; {} such closes, sampled)",
            id_, remote_, static_cast<double>(received) / elapsed, ctx_.cfg.message_min_rate,
            reader_.message_bytes(), s.count);
    close_with(ws::close_code::policy_error, "message too slow", false);
    return false;
}

template <class Stream>
void basic_ws_session<Stream>::on_heartbeat(error_code ec) {
    if (ec || state_ != state::open) return;
    auto const now = clock::now();
    if (!check_message_rate(now)) return;
    if (paused_ || throttled_) {
        // We stopped reading this client ourselves (a recipient is congested, or the client is
        // over its rate limit), so its pongs sit unread in the socket: silence is ours.
        last_heard_ = now;
        ping_outstanding_ = false;
    }
    if (ping_outstanding_) {
        if (last_heard_ >= ping_sent_) {
            ping_outstanding_ = false;  // any bytes count as a sign of life
        } else if (now - ping_sent_ >= ctx_.cfg.ping_timeout) {
            if (auto const s = count_sampled(ctx_.counters.close_heartbeat); s.log)
                spdlog::info("ws {} {}: no pong within {} ms, closing ({} such, sampled)", id_,
                             remote_, ctx_.cfg.ping_timeout.count(), s.count);
            return finish_close("heartbeat timeout");
        }
    }
    if (!ping_outstanding_ && now - last_heard_ >= ctx_.cfg.ping_interval) {
        enqueue_control(ws::opcode::ping, {});
        ping_outstanding_ = true;
        ping_sent_ = now;
    }
    arm_heartbeat();
}

// ---------------------------------------------------------------------------------------------
// Closing

template <class Stream>
void basic_ws_session<Stream>::stop() {
    net::post(socket_.get_executor(), [self = this->shared_from_this()] {
        if (self->state_ != state::open) return;
        self->ctx_.counters.close_shutdown.fetch_add(1, std::memory_order_relaxed);
        self->close_with(ws::close_code::going_away, "server shutting down", true);
    });
}

template <class Stream>
void basic_ws_session<Stream>::close_with(std::uint16_t code, std::string_view reason, bool flush,
                                          bool keep_seat) {
    if (state_ != state::open) return;
    state_ = state::closing;
    if (keep_seat)
        park_seat();
    else
        leave_room(true);
    keep_seat_ = false;
    std::size_t dropped = 0;
    {
        std::lock_guard lock(out_mutex_);
        accepting_ = false;
        if (!flush) {
            // Only what is pending: the batch in flight is batch_'s until its write ends.
            std::size_t const before = queue_.bytes();
            dropped = queue_.clear_pending();
            pong_waiting_.reset();
            ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                                 std::memory_order_relaxed);
        }
    }
    if (dropped) {
        ctx_.counters.frames_dropped.fetch_add(dropped, std::memory_order_relaxed);
        spdlog::info("ws {} {}: closing, {} queued frames dropped", id_, remote_, dropped);
    }
    wake_waiters();  // senders paused on us must not wait for a queue that will never drain
    enqueue_control(ws::opcode::close, detail::close_payload(code, reason));
    // Re-arming cancels a throttle wait: a closing connection is read at full speed.
    wait_timer_.expires_after(ctx_.cfg.close_timeout);
    wait_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
        if (!ec) self->finish_close(self->close_sent_ ? nullptr : "close timeout");
    });
}

template <class Stream>
void basic_ws_session<Stream>::on_peer_close(std::uint16_t code) {
    peer_closed_ = true;
    if (state_ == state::open) {
        // Answer with the same code (RFC 6455 §5.5.1), then close once it is written. A
        // deliberate close gives the seat up at once: 1000, or none at all (what a browser's
        // ws.close() sends); a tab going away (1001) or an error may come back.
        bool const deliberate = code == ws::close_code::normal || code == 1005;
        close_with(code == 1005 ? ws::close_code::normal : code, {}, false, !deliberate);
        return;
    }
    if (close_sent_) finish_close(nullptr);
    // Otherwise our close frame is still queued; on_write finishes when it is out.
}

template <class Stream>
void basic_ws_session<Stream>::finish_close(char const* why) {
    if (state_ == state::closed) return;
    state_ = state::closed;
    // A drop, a stall or a missed heartbeat: the phone may be in its camera app.
    if (keep_seat_)
        park_seat();
    else
        leave_room(true);
    std::size_t dropped = 0;
    {
        std::lock_guard lock(out_mutex_);
        accepting_ = false;
        std::size_t const before = queue_.bytes();
        dropped = queue_.clear_pending();
        pong_waiting_.reset();
        ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                             std::memory_order_relaxed);
    }
    if (dropped) {
        ctx_.counters.frames_dropped.fetch_add(dropped, std::memory_order_relaxed);
        spdlog::info("ws {} {}: {} queued frames dropped at close", id_, remote_, dropped);
    }
    if (why) spdlog::debug("ws {} {}: closing ({})", id_, remote_, why);
    error_code ignored;
    heartbeat_timer_.cancel();
    write_timer_.cancel();
    wait_timer_.cancel();
    if constexpr (is_tls) {
        if (peer_closed_ && !reading_ && !writing_) {
            // A clean end, nothing in flight: a best-effort close_notify, bounded by
            // close_timeout (the tcp_stream's expiry); the socket closes when it is done.
            auto& lowest = beast::get_lowest_layer(socket_);
            lowest.expires_after(ctx_.cfg.close_timeout);
            socket_.async_shutdown([self = this->shared_from_this()](error_code) {
                beast::get_lowest_layer(self->socket_).close();
            });
            wake_waiters();
            return;
        }
    }
    // Closing aborts the read and the write in flight; their handlers still run (holding
    // this session, and batch_ its frames) and see the error.
    raw_socket().shutdown(tcp::socket::shutdown_both, ignored);
    raw_socket().close(ignored);
    wake_waiters();
}

template <class Stream>
void basic_ws_session<Stream>::fail(error_code ec, char const* what) {
    if (state_ == state::closed) return;
    if (detail::benign(ec) || state_ == state::closing)
        spdlog::debug("ws {} {}: {}: {}", id_, remote_, what, ec.message());
    else
        spdlog::warn("ws {} {}: {}: {}", id_, remote_, what, ec.message());
    finish_close(what);
}

template <class Stream>
tcp::socket& basic_ws_session<Stream>::raw_socket() noexcept {
    if constexpr (is_tls)
        return beast::get_lowest_layer(socket_).socket();
    else
        return socket_;
}

// Each of the four files instantiates the members it defines.
template class basic_ws_session<tcp::socket>;
template class basic_ws_session<tls_stream>;

}  // namespace roomcast::transport
