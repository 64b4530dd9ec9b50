// basic_ws_session: the read loop. Bytes from the socket go to the frame reader, whose events
// land in ws_session_room.cpp; the rate budgets and the memory of messages being received are
// kept here.
#include "roomcast/transport/ws_session.hpp"

#include "ws_session_detail.hpp"

#include <roomcast/log.hpp>

#include <spdlog/spdlog.h>

#include <array>

namespace roomcast::transport {

namespace {

// Bytes read per syscall into the thread's shared buffer. Idle connections hold no read
// buffer at all: they wait for readability, and only a partial message keeps memory.
constexpr std::size_t read_chunk = 64 * 1024;
// Payload left in a frame above which the socket reads straight into the message.
constexpr std::size_t direct_min = 16 * 1024;
// Reads per wake-up before yielding to other connections on this thread.
constexpr int reads_per_wakeup = 8;
// TLS: bytes one async read may decrypt into; one TLS record holds at most 16 KiB.
constexpr std::size_t tls_read_chunk = 16 * 1024;

char* thread_read_buffer() {
    thread_local std::array<char, read_chunk> buf;
    return buf.data();
}

}  // namespace

template <class Stream>
class basic_ws_session<Stream>::reader_events final : public ws::frame_reader::events {
  public:
    explicit reader_events(basic_ws_session& s) : s_(s) {}
    bool on_message(std::string&& payload, bool text) override {
        return s_.on_message(std::move(payload), text);
    }
    bool on_chunked_message(std::vector<protocol::payload_chunk>&& chunks) override {
        return s_.on_chunked_message(std::move(chunks));
    }
    bool on_ping(std::string_view payload) override {
        // At most one pong waits in the queue, answering the latest ping (RFC 6455 §5.5.3),
        // so a client flooding pings while not reading cannot grow our memory.
        if (s_.state_ == state::open) s_.queue_pong(payload);
        return true;
    }
    bool on_pong() override {
        s_.ping_outstanding_ = false;
        return true;
    }
    void on_close(std::uint16_t code, std::string_view) override { s_.on_peer_close(code); }
    // Every frame costs one message of the budget, continuation frames included: a message
    // split into a million one-byte fragments is a million frames to parse.
    void on_frame() override { s_.message_budget_.take(1, s_.last_heard_); }
    bool on_grow(std::size_t total) override { return s_.charge_partial(total); }

  private:
    basic_ws_session& s_;
};

template <class Stream>
void basic_ws_session<Stream>::start_reading(std::string const& leftover) {
    if (!leftover.empty()) {
        // Bytes the HTTP parser read past the request are WebSocket bytes read from the client.
        reader_events ev(*this);
        auto st = reader_.feed(leftover.data(), leftover.size(), ev);
        if (!after_read(leftover.size(), st)) return;
    }
    read_now();  // the client may have sent frames right behind its upgrade request
}

template <class Stream>
void basic_ws_session<Stream>::do_read() {
    if (reading_ || state_ == state::closed || peer_closed_) return;
    if ((paused_ || throttled_) && state_ == state::open) return;
    reading_ = true;
    if constexpr (is_tls) {
        // One async read at a time, into the message itself when a large payload is under
        // way, else into this session's buffer (never the thread's: the read is in flight
        // while other sessions on this thread run). While a direct read is in flight, nothing
        // may touch the reader's buffers (nothing on this strand does: it is idle until then).
        reader_events ev(*this);
        auto direct =
            reader_.fail_code() != 0 ? std::span<char>{} : reader_.direct_target(direct_min, &ev);
        tls_direct_ = !direct.empty();
        net::mutable_buffer target;
        if (tls_direct_) {
            target = net::buffer(direct.data(), direct.size());
        } else {
            if (!tls_buf_) tls_buf_ = std::make_unique<char[]>(tls_read_chunk);
            target = net::buffer(tls_buf_.get(), tls_read_chunk);
        }
        socket_.async_read_some(target,
                                [self = this->shared_from_this()](error_code ec, std::size_t n) {
                                    self->on_tls_read(ec, n);
                                });
    } else {
        // Wait for readability with a 1-byte MSG_PEEK receive: it consumes nothing, so an idle
        // connection still holds no read buffer, and unlike async_wait it is a real read
        // operation that Asio runs speculatively, so data that arrived before it was armed (an
        // edge already spent under epoll's edge-triggered mode) is seen at once instead of
        // never.
        socket_.async_receive(net::buffer(&peek_byte_, 1), tcp::socket::message_peek,
                              [self = this->shared_from_this()](error_code ec, std::size_t) {
                                  self->on_readable(ec);
                              });
    }
}

template <class Stream>
void basic_ws_session<Stream>::read_now() {
    if constexpr (is_tls) {
        // No readiness edge to miss: an async read sees what OpenSSL or the socket holds.
        do_read();
        return;
    } else {
        if (reading_ || state_ == state::closed || peer_closed_) return;
        if ((paused_ || throttled_) && state_ == state::open) return;
        // Asio's epoll registration is edge-triggered: bytes already waiting in the socket
        // raise no new edge, so wherever we stopped before seeing EAGAIN we must try a read,
        // not wait.
        reading_ = true;
        net::post(socket_.get_executor(),
                  [self = this->shared_from_this()] { self->on_readable({}); });
    }
}

template <class Stream>
void basic_ws_session<Stream>::on_readable(error_code ec) {
    if constexpr (is_tls) {
        return;  // TLS reads complete in on_tls_read
    } else {
        reading_ = false;
        if (ec) return fail(ec, "read");
        if (state_ == state::closed) return;

        reader_events ev(*this);
        bool const discard = reader_.fail_code() != 0;  // after a protocol error: drain to EOF
        for (int i = 0; i < reads_per_wakeup; ++i) {
            error_code rec;
            std::size_t n = 0;
            bool full = false;
            auto st = ws::frame_reader::status::ok;
            auto direct = discard ? std::span<char>{} : reader_.direct_target(direct_min, &ev);
            if (!direct.empty()) {
                n = socket_.read_some(net::buffer(direct.data(), direct.size()), rec);
                if (rec == net::error::would_block || rec == net::error::try_again)
                    return do_read();
                if (rec) return fail(rec, "read");
                full = n == direct.size();
                last_heard_ = clock::now();
                st = reader_.commit_direct(n, ev);
            } else {
                char* buf = thread_read_buffer();
                n = socket_.read_some(net::buffer(buf, read_chunk), rec);
                if (rec == net::error::would_block || rec == net::error::try_again)
                    return do_read();
                if (rec) return fail(rec, "read");
                full = n == read_chunk;
                last_heard_ = clock::now();
                if (!discard) st = reader_.feed(buf, n, ev);
            }
            if (!after_read(n, st)) return;
            if (!full) {
                // A short read took all there was; data arriving later raises a new edge.
                do_read();
                return;
            }
        }
        // Budget spent with data possibly left: yield to other connections, then read again.
        read_now();
    }
}

template <class Stream>
void basic_ws_session<Stream>::on_tls_read(error_code ec, std::size_t n) {
    reading_ = false;
    if (ec) return fail(ec, "read");
    if (state_ == state::closed) return;
    reader_events ev(*this);
    last_heard_ = clock::now();
    auto st = ws::frame_reader::status::ok;
    if (tls_direct_)
        st = reader_.commit_direct(n, ev);
    else if (reader_.fail_code() == 0)  // after a protocol error: drain to the close
        st = reader_.feed(tls_buf_.get(), n, ev);
    tls_direct_ = false;
    if (after_read(n, st)) do_read();
}

template <class Stream>
bool basic_ws_session<Stream>::after_read(std::size_t n, ws::frame_reader::status st) {
    ctx_.counters.bytes_in.fetch_add(n, std::memory_order_relaxed);
    bytes_read_ += n;
    byte_budget_.take(static_cast<double>(n), last_heard_);
    if (st != ws::frame_reader::status::ok) {
        process(st);
        return false;
    }
    // What a message under way holds now (growth past 64 KiB was charged as it happened; a
    // small remainder waiting for its next read is charged here).
    if (reader_.fail_code() == 0 && !charge_partial(reader_.buffered_bytes())) {
        process_refused_memory();
        return false;
    }
    if (state_ == state::closed || peer_closed_) return false;
    if (paused_ && state_ == state::open) return false;  // resume() reads again
    return !throttle_if_over(last_heard_);               // else the throttle timer reads again
}

template <class Stream>
bool basic_ws_session<Stream>::throttle_if_over(clock::time_point now) {
    if (state_ != state::open) return false;  // a closing connection drains at full speed
    auto const wait = std::max(message_budget_.wait(now), byte_budget_.wait(now));
    if (wait.count() <= 0) return false;
    throttled_ = true;
    window_stalled_by_us_ = true;
    ctx_.counters.rate_limited.fetch_add(1, std::memory_order_relaxed);
    if (!throttle_logged_) {
        throttle_logged_ = true;  // once per connection: a flooder must not flood the log
        spdlog::info(
            "ws {} {}: over max-messages-per-second ({}) or max-bytes-per-second ({}); "
            "reading paused for {} ms (logged once per connection, counted each time)",
            id_, remote_, ctx_.cfg.max_messages_per_second, ctx_.cfg.max_bytes_per_second,
            wait.count());
    }
    wait_timer_.expires_after(wait);  // open, so the timer is not timing a close
    wait_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
        if (ec || !self->throttled_ || self->state_ != state::open) return;
        self->throttled_ = false;
        self->read_now();
    });
    return true;
}

template <class Stream>
bool basic_ws_session<Stream>::charge_partial(std::size_t total) {
    if (total <= partial_charged_) {
        std::size_t const d = partial_charged_ - total;
        if (d) {
            usage_->message_bytes.fetch_sub(d, std::memory_order_relaxed);
            ctx_.counters.memory.release(memory_kind::partial_messages, d);
            partial_charged_ = total;
        }
        return true;
    }
    std::size_t const d = total - partial_charged_;
    if (!address_usage::try_add(usage_->message_bytes, d, ctx_.cfg.max_message_bytes_per_ip)) {
        refused_by_address_ = true;
        return false;
    }
    if (!ctx_.counters.memory.try_charge(memory_kind::partial_messages, d)) {
        usage_->message_bytes.fetch_sub(d, std::memory_order_relaxed);
        refused_by_address_ = false;
        return false;
    }
    partial_charged_ = total;
    return true;
}

template <class Stream>
void basic_ws_session<Stream>::process_refused_memory() {
    // A message that cannot get memory: 1013, "try again later". Its buffers are freed and
    // nothing more is parsed (what still arrives is drained until the close), and the seat is
    // kept: the client may come back when there is room.
    reader_.stop(ws::close_code::try_again_later, "server busy: try again later");
    charge_partial(0);
    ctx_.counters.close_try_again.fetch_add(1, std::memory_order_relaxed);
    // Counted always, logged the first time and then sampled: a client can repeat this.
    if (refused_by_address_) {
        if (auto const s = count_sampled(ctx_.counters.messages_refused_address); s.log)
            spdlog::warn(
                "ws {} {}: its address holds {} bytes of messages being received or not yet "
                "written to their recipients (max-message-bytes-per-ip {}); closing with 1013 "
                "({} such, sampled)",
                id_, remote_, usage_->message_bytes.load(std::memory_order_relaxed),
                ctx_.cfg.max_message_bytes_per_ip, s.count);
    } else {
        if (auto const s = count_sampled(ctx_.counters.messages_refused_process); s.log)
            spdlog::warn(
                "ws {} {}: memory budget reached ({} of {} bytes in use); closing with 1013 "
                "({} such, sampled)",
                id_, remote_, ctx_.counters.memory.used(), ctx_.counters.memory.limit(), s.count);
    }
    close_with(ws::close_code::try_again_later, "server busy: try again later", false, true);
    do_read();  // drain until the client closes, as after a protocol error
}

template <class Stream>
void basic_ws_session<Stream>::process(ws::frame_reader::status st) {
    if (st == ws::frame_reader::status::failed) {
        auto const code = reader_.fail_code();
        if (code == ws::close_code::try_again_later) return process_refused_memory();
        charge_partial(reader_.buffered_bytes());  // the failed message's memory is gone
        char const* reason = reader_.fail_reason();
        if (code == ws::close_code::too_big) {
            if (!room_) reason = "join a room first: messages before a join are at most 4096 bytes";
            if (auto const s = count_sampled(ctx_.counters.close_too_big); s.log)
                spdlog::info(
                    "ws {} {}: message over {} bytes, closing with 1009 ({} such, sampled)", id_,
                    remote_, reader_.max_message(), s.count);
        } else {
            if (auto const s = count_sampled(ctx_.counters.close_protocol); s.log)
                spdlog::info("ws {} {}: protocol error ({}), closing with {} ({} such, sampled)",
                             id_, remote_, reason, code, s.count);
        }
        close_with(code, reason, false);
        do_read();  // keep draining until the client closes, so our close frame is not reset
        return;
    }
    // stopped: a close frame arrived (on_peer_close did the work) or we are closing.
    if (!peer_closed_) do_read();
}

template <class Stream>
void basic_ws_session<Stream>::update_message_limit() {
    reader_.set_max_message(
        room_ ? ctx_.cfg.max_message_bytes
              : std::min(ctx_.cfg.max_message_bytes, protocol::max_envelope_bytes));
}

template class basic_ws_session<tcp::socket>;
template class basic_ws_session<tls_stream>;

}  // namespace roomcast::transport
