#include "roomcast/transport/ws_session.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <array>

namespace roomcast::transport {

namespace {

using clock = std::chrono::steady_clock;

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

// Errors that are an ordinary end of a connection, logged at debug only.
bool benign(error_code ec) {
    return ec == net::error::operation_aborted || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::bad_descriptor || ec == net::error::not_connected ||
           ec == net::ssl::error::stream_truncated;
}

protocol::frame_ptr control_frame(ws::opcode op, std::string payload) {
    auto f = std::make_shared<protocol::out_frame>();
    f->payload = std::move(payload);
    f->text = false;
    f->header_size =
        static_cast<std::uint8_t>(ws::encode_header(f->header.data(), op, true, f->payload.size()));
    return f;
}

// 128 bits from the CSPRNG, hex: the secret that takes a seat back.
std::string new_token() {
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
    static char const hex[] = "0123456789abcdef";
    std::string t;
    t.reserve(32);
    for (unsigned char c : raw) {
        t += hex[c >> 4];
        t += hex[c & 15];
    }
    return t;
}

// Only data frames are replayed to a resumed seat: not the 101, pings, pongs or close.
bool is_data_frame(protocol::frame_ptr const& f) {
    if (f->header_size == 0 || f->private_reply) return false;
    auto const op = f->header[0] & 0x0F;
    return op == 0x1 || op == 0x2;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xFF);
    p.append(reason.substr(0, 123));
    return p;
}

}  // namespace

template <class Stream>
class basic_ws_session<Stream>::reader_events final : public ws::frame_reader::events {
  public:
    explicit reader_events(basic_ws_session& s) : s_(s) {}
    bool on_message(std::string&& payload, bool text) override {
        s_.message_budget_.take(1, s_.last_heard_);
        return s_.on_message(std::move(payload), text);
    }
    bool on_ping(std::string_view payload) override {
        s_.message_budget_.take(1, s_.last_heard_);
        // At most one pong waits in the queue (RFC 6455 §5.5.3 lets us answer only the latest
        // ping), so a client flooding pings while not reading cannot grow our memory.
        if (s_.state_ == state::open && !s_.pong_frame_)
            s_.enqueue_control(ws::opcode::pong, std::string(payload));
        return true;
    }
    bool on_pong() override {
        s_.message_budget_.take(1, s_.last_heard_);
        s_.ping_outstanding_ = false;
        return true;
    }
    void on_close(std::uint16_t code, std::string_view) override { s_.on_peer_close(code); }

  private:
    basic_ws_session& s_;
};

template <class Stream>
basic_ws_session<Stream>::basic_ws_session(Stream&& stream, context& ctx, conn_ticket ticket,
                                           std::string remote)
    : socket_(std::move(stream)),
      ctx_(ctx),
      ticket_(std::move(ticket)),
      remote_(std::move(remote)),
      id_(ctx.next_id()),
      reader_(ctx.cfg.max_message_bytes),
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
    last_heard_ = clock::now();
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
    if (!leftover.empty()) {
        // Bytes the HTTP parser read past the request are WebSocket bytes read from the client.
        ctx_.counters.bytes_in.fetch_add(leftover.size(), std::memory_order_relaxed);
        reader_events ev(*this);
        auto st = reader_.feed(leftover.data(), leftover.size(), ev);
        if (st != ws::frame_reader::status::ok) return process(st);
    }
    read_now();  // the client may have sent frames right behind its upgrade request
}

// ---------------------------------------------------------------------------------------------
// Read side

template <class Stream>
void basic_ws_session<Stream>::do_read() {
    if (reading_ || state_ == state::closed || peer_closed_) return;
    if ((paused_ || throttled_) && state_ == state::open) return;
    reading_ = true;
    if constexpr (is_tls) {
        // One async read at a time, into the message itself when a large payload is under
        // way, else into this session's buffer (never the thread's: the read is in flight
        // while other sessions on this thread run).
        auto direct =
            reader_.fail_code() != 0 ? std::span<char>{} : reader_.direct_target(direct_min);
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
        // Asio's epoll registration is edge-triggered: bytes already waiting in the socket raise no
        // new edge, so wherever we stopped before seeing EAGAIN we must try a read, not wait.
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
            auto direct = discard ? std::span<char>{} : reader_.direct_target(direct_min);
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
    if (after_read(n, st)) do_read();
}

template <class Stream>
bool basic_ws_session<Stream>::after_read(std::size_t n, ws::frame_reader::status st) {
    ctx_.counters.bytes_in.fetch_add(n, std::memory_order_relaxed);
    byte_budget_.take(static_cast<double>(n), last_heard_);
    if (st != ws::frame_reader::status::ok) {
        process(st);
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
void basic_ws_session<Stream>::process(ws::frame_reader::status st) {
    if (st == ws::frame_reader::status::failed) {
        auto const code = reader_.fail_code();
        if (code == ws::close_code::too_big) {
            ctx_.counters.close_too_big.fetch_add(1, std::memory_order_relaxed);
            spdlog::info("ws {} {}: message over {} bytes, closing with 1009", id_, remote_,
                         ctx_.cfg.max_message_bytes);
        } else {
            ctx_.counters.close_protocol.fetch_add(1, std::memory_order_relaxed);
            spdlog::info("ws {} {}: protocol error ({}), closing with {}", id_, remote_,
                         reader_.fail_reason(), code);
        }
        close_with(code, reader_.fail_reason(), false);
        do_read();  // keep draining until the client closes, so our close frame is not reset
        return;
    }
    // stopped: a close frame arrived (on_peer_close did the work) or we are closing.
    if (!peer_closed_) do_read();
}

template <class Stream>
bool basic_ws_session<Stream>::on_message(std::string&& payload, bool text) {
    if (state_ != state::open) return true;  // after our close frame: ignore data
    ctx_.counters.messages_in.fetch_add(1, std::memory_order_relaxed);
    if (!text) {
        relay(std::move(payload), false);
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
            if constexpr (std::is_same_v<T, protocol::join_msg>)
                on_join(std::move(m));
            else if constexpr (std::is_same_v<T, protocol::leave_msg>)
                on_leave();
            else
                relay(std::move(payload), true);
        },
        std::move(*parsed));
    return true;
}

template <class Stream>
bool basic_ws_session<Stream>::resume_seat(protocol::join_msg const& j) {
    auto token = new_token();
    auto c = ctx_.rooms.claim(j.room, *j.resume, token);
    if (!c) return false;
    leave_room(true);
    auto const old_id = id_;
    id_ = c->id;
    auto joined = protocol::encode_joined(j.room, id_, c->others, c->away, token, true);
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
    ctx_.rooms.unpark(room_, id_, this->shared_from_this());
    ctx_.counters.seats_resumed.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.frames_replayed.fetch_add(replayed, std::memory_order_relaxed);
    ctx_.rooms.broadcast(room_, id_, protocol::encode_peer_back(id_));
    spdlog::debug("ws {} {} resumed its seat in {} ({} frames replayed)", id_, remote_, j.room,
                  replayed);
    return true;
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
    if (j.resume && resume_seat(j)) return;
    if (room_ && rooms::room_registry::name(room_) == j.room) {
        // Already there: answer again, change nothing.
        auto ids = ctx_.rooms.members(room_);
        std::erase(ids, id_);
        reply(protocol::encode_joined(j.room, id_, ids, {}, resume_token_));
        return;
    }
    // Join the new room first: a refused join (room-full) leaves the connection where it was.
    auto token = new_token();
    auto joined = ctx_.rooms.join(j.room, this->shared_from_this(), token);
    if (!joined) {
        spdlog::info("ws {} {}: room {} is full", id_, remote_, j.room);
        reply_error(protocol::errc::room_full);
        return;
    }
    leave_room(true);
    room_ = std::move(joined->room);
    resume_token_ = std::move(token);
    reply(protocol::encode_joined(j.room, id_, joined->others, joined->away, resume_token_));
    ctx_.rooms.broadcast(room_, id_, protocol::encode_peer_joined(id_));
    spdlog::debug("ws {} {} joined {} ({} others)", id_, remote_, j.room, joined->others.size());
}

template <class Stream>
void basic_ws_session<Stream>::on_leave() {
    if (!room_) {
        reply_error(protocol::errc::not_joined);
        return;
    }
    std::string const name = rooms::room_registry::name(room_);
    leave_room(true);
    reply(protocol::encode_left(name));
}

template <class Stream>
void basic_ws_session<Stream>::leave_room(bool announce) {
    if (!room_) return;
    auto r = std::move(room_);
    room_.reset();
    if (ctx_.rooms.leave(r, id_) && announce)
        ctx_.rooms.broadcast(r, id_, protocol::encode_peer_left(id_));
}

template <class Stream>
void basic_ws_session<Stream>::park_seat() {
    if (!room_) return;
    auto seat = std::make_shared<rooms::away_seat>(id_, ctx_.cfg.resume_buffer_bytes,
                                                   std::vector<protocol::frame_ptr>{});
    {
        // One critical section: from here on every deliver() lands in the seat, after the
        // frames that were queued (and maybe not received) on this connection. The seat is
        // new and unshared, so taking its lock under ours cannot deadlock.
        std::lock_guard lock(out_mutex_);
        accepting_ = false;
        std::size_t const before = queue_.bytes();
        auto pending = queue_.take_all();
        ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                             std::memory_order_relaxed);
        for (auto const& f : pending)
            if (is_data_frame(f)) seat->deliver(f);
        parked_ = seat;
    }
    auto r = std::move(room_);
    room_.reset();
    auto const deadline = std::chrono::steady_clock::now() + ctx_.cfg.resume_grace;
    if (!ctx_.rooms.park(r, id_, seat, deadline)) return;
    ctx_.counters.seats_held.fetch_add(1, std::memory_order_relaxed);
    ctx_.rooms.broadcast(r, id_, protocol::encode_peer_away(id_));
    spdlog::debug("ws {} {}: connection lost; seat in {} held for {} ms", id_, remote_,
                  rooms::room_registry::name(r), ctx_.cfg.resume_grace.count());
}

template <class Stream>
void basic_ws_session<Stream>::relay(std::string&& payload, bool text) {
    if (!room_) {
        reply_error(protocol::errc::not_joined);
        return;
    }
    // One frame, shared by every recipient: the sender's bytes, with the header made once.
    auto frame = protocol::make_frame(std::move(payload), text, last_heard_);
    auto res = ctx_.rooms.broadcast(room_, id_, frame);
    if (res.delivered) ctx_.counters.frames_relayed.fetch_add(1, std::memory_order_relaxed);
    if (res.congested && res.congested->notify_when_drained(this->weak_from_this())) {
        // A recipient is over its high-water mark: stop reading so TCP pushes back on the
        // sender, instead of queueing without bound or dropping.
        paused_ = true;
        ctx_.counters.read_pauses.fetch_add(1, std::memory_order_relaxed);
    }
}

template <class Stream>
void basic_ws_session<Stream>::reply(protocol::frame_ptr const& f) {
    deliver(f);
}

template <class Stream>
void basic_ws_session<Stream>::reply_error(protocol::errc code, std::uint64_t retry_after_ms) {
    ctx_.counters.protocol_errors.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.errors_by_code[static_cast<std::size_t>(code)].fetch_add(
        1, std::memory_order_relaxed);
    reply(protocol::encode_error(code, retry_after_ms));
}

// ---------------------------------------------------------------------------------------------
// Write side

template <class Stream>
void basic_ws_session<Stream>::deliver(protocol::frame_ptr const& f) {
    std::unique_lock lock(out_mutex_);
    if (parked_) {
        auto seat = parked_;
        lock.unlock();
        seat->deliver(f);
        return;
    }
    if (!accepting_) {
        ++dropped_;
        ctx_.counters.frames_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    auto const r = queue_.push(f);
    if (r == send_queue::push_result::overflow) {
        // Past the hard cap: this client cannot keep up. Drop what is queued (counted), send
        // 1008 after the frame in flight, and let the room go on without it.
        accepting_ = false;
        std::size_t const before = queue_.bytes();
        std::size_t const n = queue_.clear_pending() + 1;
        ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                             std::memory_order_relaxed);
        dropped_ += n;
        ctx_.counters.frames_dropped.fetch_add(n, std::memory_order_relaxed);
        congested_.store(queue_.congested(), std::memory_order_relaxed);
        lock.unlock();
        net::post(socket_.get_executor(), [self = this->shared_from_this()] {
            self->ctx_.counters.close_slow_reader.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn(
                "ws {} {}: send queue past {} bytes, closing with 1008 ({} frames dropped)",
                self->id_, self->remote_, self->ctx_.cfg.send_max_bytes,
                self->dropped_.load(std::memory_order_relaxed));
            self->close_with(ws::close_code::policy_error, "client too slow", false);
        });
        return;
    }
    auto const size = static_cast<std::int64_t>(f->wire_size());
    ctx_.counters.queued_bytes.fetch_add(size, std::memory_order_relaxed);
    ctx_.counters.deliveries.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.bytes_delivered.fetch_add(f->payload.size(), std::memory_order_relaxed);
    ctx_.counters.note_queue_depth(static_cast<std::int64_t>(queue_.bytes()));
    if (queue_.congested()) congested_.store(true, std::memory_order_relaxed);
    if (!write_scheduled_) {
        write_scheduled_ = true;
        lock.unlock();
        net::post(socket_.get_executor(), [self = this->shared_from_this()] { self->do_write(); });
    }
}

template <class Stream>
bool basic_ws_session<Stream>::congested() const noexcept {
    return congested_.load(std::memory_order_relaxed);
}

template <class Stream>
bool basic_ws_session<Stream>::notify_when_drained(std::weak_ptr<rooms::peer> waiter) {
    std::lock_guard lock(out_mutex_);
    if (!queue_.congested() || !accepting_) return false;
    waiters_.push_back(std::move(waiter));
    return true;
}

template <class Stream>
void basic_ws_session<Stream>::resume() {
    net::post(socket_.get_executor(), [self = this->shared_from_this()] {
        if (!self->paused_) return;
        self->paused_ = false;
        self->read_now();  // bytes may have waited in the socket the whole time
    });
}

template <class Stream>
void basic_ws_session<Stream>::wake_waiters() {
    std::vector<std::weak_ptr<rooms::peer>> ws;
    {
        std::lock_guard lock(out_mutex_);
        ws.swap(waiters_);
    }
    for (auto& w : ws)
        if (auto p = w.lock()) p->resume();
}

template <class Stream>
void basic_ws_session<Stream>::enqueue_control(ws::opcode op, std::string payload) {
    auto f = control_frame(op, std::move(payload));
    if (op == ws::opcode::close) close_frame_ = f;
    if (op == ws::opcode::pong) pong_frame_ = f;
    bool start = false;
    {
        std::lock_guard lock(out_mutex_);
        queue_.push(f, true);  // control frames are tiny and must get through
        ctx_.counters.queued_bytes.fetch_add(static_cast<std::int64_t>(f->wire_size()),
                                             std::memory_order_relaxed);
        if (!write_scheduled_) write_scheduled_ = start = true;
    }
    if (start) do_write();
}

template <class Stream>
void basic_ws_session<Stream>::do_write() {
    if (writing_ || state_ == state::closed) return;
    bool has_close = false;
    {
        std::lock_guard lock(out_mutex_);
        if (queue_.writing() || !queue_.has_pending()) {
            write_scheduled_ = queue_.writing();
            return;
        }
        auto batch = queue_.begin_write();
        wbufs_.clear();
        for (auto const& f : batch) {
            if (f->header_size) wbufs_.emplace_back(f->header.data(), f->header_size);
            if (!f->payload.empty()) wbufs_.emplace_back(f->payload.data(), f->payload.size());
            if (f == close_frame_) has_close = true;
            if (f == pong_frame_) pong_in_batch_ = true;
            if (f->born != clock::time_point{}) batch_born_.push_back(f->born);
        }
    }
    close_in_batch_ = has_close;
    writing_ = true;
    last_progress_ = clock::now();
    arm_write_watchdog();
    socket_.async_write_some(
        std::span<net::const_buffer const>(wbufs_),
        [self = this->shared_from_this()](error_code ec, std::size_t n) { self->on_write(ec, n); });
}

template <class Stream>
void basic_ws_session<Stream>::on_write(error_code ec, std::size_t n) {
    writing_ = false;
    if (ec) return fail(ec, "write");
    last_progress_ = clock::now();

    // Drop what was written; continue with the rest of the batch.
    std::size_t i = 0;
    while (i < wbufs_.size() && n >= wbufs_[i].size())
        n -= wbufs_[i++].size();
    if (i < wbufs_.size()) {
        wbufs_[i] += n;
        wbufs_.erase(wbufs_.begin(), wbufs_.begin() + static_cast<std::ptrdiff_t>(i));
        writing_ = true;
        socket_.async_write_some(std::span<net::const_buffer const>(wbufs_),
                                 [self = this->shared_from_this()](error_code ec2, std::size_t n2) {
                                     self->on_write(ec2, n2);
                                 });
        return;
    }
    wbufs_.clear();
    if (!batch_born_.empty()) {
        auto const now = clock::now();
        for (auto const born : batch_born_)
            ctx_.counters.relay_latency.observe(now - born);
        batch_born_.clear();
    }
    if (pong_in_batch_) {
        pong_in_batch_ = false;
        pong_frame_.reset();
    }

    bool more = false;
    bool drained = false;
    {
        std::lock_guard lock(out_mutex_);
        std::size_t const before = queue_.bytes();
        queue_.end_write();
        ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                             std::memory_order_relaxed);
        bool const c = queue_.congested();
        congested_.store(c, std::memory_order_relaxed);
        drained = !c && !waiters_.empty();
        more = queue_.has_pending();
        if (!more) write_scheduled_ = false;
    }
    if (drained) wake_waiters();

    if (close_in_batch_) {
        close_in_batch_ = false;
        close_sent_ = true;
        // Our close frame is out: half-close so the client sees EOF after it, then wait
        // (bounded by wait_timer_) for its close frame or EOF. TLS cannot half-close under
        // a read (close_notify is a shutdown that also reads), so it only waits.
        if constexpr (!is_tls) {
            error_code ignored;
            socket_.shutdown(tcp::socket::shutdown_send, ignored);
        }
        if (peer_closed_) return finish_close(nullptr);
        do_read();
        return;
    }
    if (more) do_write();
}

// ---------------------------------------------------------------------------------------------
// Timers and closing

template <class Stream>
void basic_ws_session<Stream>::arm_heartbeat() {
    auto const wait = ping_outstanding_ ? ctx_.cfg.ping_timeout : ctx_.cfg.ping_interval;
    heartbeat_timer_.expires_after(wait);
    heartbeat_timer_.async_wait(
        [self = this->shared_from_this()](error_code ec) { self->on_heartbeat(ec); });
}

template <class Stream>
void basic_ws_session<Stream>::on_heartbeat(error_code ec) {
    if (ec || state_ != state::open) return;
    auto const now = clock::now();
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
            ctx_.counters.close_heartbeat.fetch_add(1, std::memory_order_relaxed);
            spdlog::info("ws {} {}: no pong within {} ms, closing", id_, remote_,
                         ctx_.cfg.ping_timeout.count());
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

template <class Stream>
void basic_ws_session<Stream>::arm_write_watchdog() {
    if (watchdog_armed_) return;
    watchdog_armed_ = true;
    write_timer_.expires_after(ctx_.cfg.send_timeout);
    write_timer_.async_wait(
        [self = this->shared_from_this()](error_code ec) { self->on_write_watchdog(ec); });
}

template <class Stream>
void basic_ws_session<Stream>::on_write_watchdog(error_code ec) {
    watchdog_armed_ = false;
    if (ec || state_ == state::closed || !writing_) return;
    auto const stalled = clock::now() - last_progress_;
    if (stalled >= ctx_.cfg.send_timeout) {
        // The client stopped reading: nothing more can be written to it, so not even a close
        // frame would arrive. Drop the connection; the others in the room go on.
        ctx_.counters.close_slow_reader.fetch_add(1, std::memory_order_relaxed);
        std::size_t queued;
        {
            std::lock_guard lock(out_mutex_);
            queued = queue_.pending_frames();
        }
        spdlog::warn(
            "ws {} {}: no write progress for {} ms, closing (slow reader; {} frames "
            "queued are dropped)",
            id_, remote_, ctx_.cfg.send_timeout.count(), queued);
        return finish_close("send timeout");
    }
    watchdog_armed_ = true;
    write_timer_.expires_after(ctx_.cfg.send_timeout -
                               std::chrono::duration_cast<std::chrono::milliseconds>(stalled));
    write_timer_.async_wait(
        [self = this->shared_from_this()](error_code ec2) { self->on_write_watchdog(ec2); });
}

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
            std::size_t const before = queue_.bytes();
            dropped = queue_.clear_pending();
            ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                                 std::memory_order_relaxed);
        }
    }
    if (dropped) {
        ctx_.counters.frames_dropped.fetch_add(dropped, std::memory_order_relaxed);
        spdlog::info("ws {} {}: closing, {} queued frames dropped", id_, remote_, dropped);
    }
    wake_waiters();  // senders paused on us must not wait for a queue that will never drain
    enqueue_control(ws::opcode::close, close_payload(code, reason));
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
        // Answer with the same code (RFC 6455 §5.5.1), then close once it is written. Only
        // a deliberate 1000 gives the seat up; a tab going away (1001) or an error may return.
        close_with(code == 1005 ? ws::close_code::normal : code, {}, false, code != 1000);
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
    raw_socket().shutdown(tcp::socket::shutdown_both, ignored);
    raw_socket().close(ignored);
    wake_waiters();
}

template <class Stream>
void basic_ws_session<Stream>::fail(error_code ec, char const* what) {
    if (state_ == state::closed) return;
    if (benign(ec) || state_ == state::closing)
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

template class basic_ws_session<tcp::socket>;
template class basic_ws_session<tls_stream>;

}  // namespace roomcast::transport
