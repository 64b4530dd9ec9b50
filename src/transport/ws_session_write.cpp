// basic_ws_session: the write side. deliver() is called from any thread (the registry's
// broadcast); everything else runs on the strand. Each write sends what is queued in one
// gathered write; a recipient that cannot keep up pauses its senders, and one that stays slow
// is closed so that its room goes on.
#include "roomcast/transport/ws_session.hpp"

#include "ws_session_detail.hpp"

#include <roomcast/log.hpp>

#include <spdlog/spdlog.h>

namespace roomcast::transport {

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
        pong_waiting_.reset();
        ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                             std::memory_order_relaxed);
        dropped_ += n;
        ctx_.counters.frames_dropped.fetch_add(n, std::memory_order_relaxed);
        congested_.store(queue_.congested(), std::memory_order_relaxed);
        lock.unlock();
        net::post(socket_.get_executor(), [self = this->shared_from_this()] {
            if (auto const s = count_sampled(self->ctx_.counters.close_slow_reader); s.log)
                spdlog::warn(
                    "ws {} {}: send queue past {} bytes, closing with 1008 ({} frames dropped; "
                    "{} slow readers closed, sampled)",
                    self->id_, self->remote_, self->ctx_.cfg.send_max_bytes,
                    self->dropped_.load(std::memory_order_relaxed), s.count);
            self->close_with(ws::close_code::policy_error, "client too slow", false);
        });
        return;
    }
    auto const size = static_cast<std::int64_t>(f->wire_size());
    ctx_.counters.queued_bytes.fetch_add(size, std::memory_order_relaxed);
    ctx_.counters.deliveries.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.bytes_delivered.fetch_add(f->payload_size(), std::memory_order_relaxed);
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
    if (waiters_.empty()) waited_since_ = clock::now();  // senders start waiting on us
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
        if (!waiters_.empty()) waited_ += clock::now() - waited_since_;
        ws.swap(waiters_);
    }
    for (auto& w : ws)
        if (auto p = w.lock()) p->resume();
}

template <class Stream>
void basic_ws_session<Stream>::enqueue_control(ws::opcode op, std::string payload) {
    auto f = detail::control_frame(op, std::move(payload));
    if (op == ws::opcode::close) close_frame_ = f;
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
void basic_ws_session<Stream>::queue_pong(std::string_view payload) {
    {
        std::lock_guard lock(out_mutex_);
        if (auto& p = pong_waiting_) {
            // A pong is still queued (not yet in a write): it answers this later ping instead.
            // Only this strand ever touches a frame before do_write takes it, under this lock.
            auto const before = static_cast<std::ptrdiff_t>(p->wire_size());
            p->payload.assign(payload);
            p->header_size = static_cast<std::uint8_t>(
                ws::encode_header(p->header.data(), ws::opcode::pong, true, p->payload.size()));
            auto const delta = static_cast<std::ptrdiff_t>(p->wire_size()) - before;
            queue_.amend(delta);
            ctx_.counters.queued_bytes.fetch_add(delta, std::memory_order_relaxed);
            return;
        }
    }
    auto f = detail::control_frame(ws::opcode::pong, std::string(payload));
    bool start = false;
    {
        std::lock_guard lock(out_mutex_);
        pong_waiting_ = f;
        queue_.push(f, true);
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
        // From here until on_write, batch_ owns these frames (see the class comment).
        queue_.begin_write(batch_);
        batch_written_ = 0;
        wbufs_.clear();
        for (auto const& f : batch_) {
            if (f->header_size) wbufs_.emplace_back(f->header.data(), f->header_size);
            if (!f->payload.empty()) wbufs_.emplace_back(f->payload.data(), f->payload.size());
            for (auto const& c : f->chunks)
                wbufs_.emplace_back(c.data.get(), c.size);
            if (f == close_frame_) has_close = true;
            if (f == pong_waiting_) pong_waiting_.reset();  // in a write now: immutable
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
    drained_ += n;
    if (ec) {
        // The write is over (failed or aborted by a close): the kernel no longer reads its
        // buffers, so the batch can go.
        {
            std::lock_guard lock(out_mutex_);
            std::size_t const before = queue_.bytes();
            queue_.end_write();
            ctx_.counters.queued_bytes.fetch_sub(static_cast<std::int64_t>(before - queue_.bytes()),
                                                 std::memory_order_relaxed);
            batch_.clear();
        }
        wbufs_.clear();
        batch_born_.clear();
        return fail(ec, "write");
    }
    last_progress_ = clock::now();
    {
        std::lock_guard lock(out_mutex_);
        batch_written_ += n;
    }

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

    bool more = false;
    bool drained = false;
    {
        std::lock_guard lock(out_mutex_);
        batch_.clear();  // written in full: released (freed if no one else holds them)
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
// Slow recipients

template <class Stream>
void basic_ws_session<Stream>::arm_write_watchdog() {
    if (watchdog_armed_) return;
    watchdog_armed_ = true;
    auto const now = clock::now();
    if (now - drain_window_at_ > ctx_.cfg.send_timeout * 2) {
        // Back from idle: a fresh send-min-rate window.
        drain_window_at_ = now;
        drained_ = 0;
    }
    write_timer_.expires_after(ctx_.cfg.send_timeout);
    write_timer_.async_wait(
        [self = this->shared_from_this()](error_code ec) { self->on_write_watchdog(ec); });
}

template <class Stream>
void basic_ws_session<Stream>::on_write_watchdog(error_code ec) {
    watchdog_armed_ = false;
    if (ec || state_ == state::closed || !writing_) return;
    auto const now = clock::now();
    auto const stalled = now - last_progress_;
    if (stalled >= ctx_.cfg.send_timeout) {
        // The client stopped reading: nothing more can be written to it, so not even a close
        // frame would arrive. Drop the connection; the others in the room go on.
        std::size_t queued;
        {
            std::lock_guard lock(out_mutex_);
            queued = queue_.pending_frames();
        }
        if (auto const s = count_sampled(ctx_.counters.close_slow_reader); s.log)
            spdlog::warn(
                "ws {} {}: no write progress for {} ms, closing (slow reader; {} frames "
                "queued are dropped; {} slow readers closed, sampled)",
                id_, remote_, ctx_.cfg.send_timeout.count(), queued, s.count);
        return finish_close("send timeout");
    }
    auto const window = now - drain_window_at_;
    if (window >= ctx_.cfg.send_timeout) {
        // send-min-rate: a recipient that kept its senders paused for at least half of this
        // window must have read at least send-min-rate bytes a second in it. Otherwise it is
        // what holds its room back (a reader trickling just enough to keep the write alive),
        // and it is closed so that the room goes on.
        clock::duration waited{};
        {
            std::lock_guard lock(out_mutex_);
            waited = waited_;
            if (!waiters_.empty()) {
                waited += now - waited_since_;
                waited_since_ = now;
            }
            waited_ = {};
        }
        auto const secs = std::chrono::duration<double>(window).count();
        auto const drained = drained_;
        drain_window_at_ = now;
        drained_ = 0;
        if (ctx_.cfg.send_min_rate != 0 && waited * 2 >= window &&
            static_cast<double>(drained) < static_cast<double>(ctx_.cfg.send_min_rate) * secs) {
            if (auto const s = count_sampled(ctx_.counters.close_slow_drain); s.log)
                spdlog::warn(
                    "ws {} {}: read {:.0f} B/s while its senders waited {:.0f} % of the time, "
                    "under send-min-rate ({} B/s); closing with 1008 ({} such, sampled)",
                    id_, remote_, static_cast<double>(drained) / secs,
                    100.0 * std::chrono::duration<double>(waited).count() / secs,
                    ctx_.cfg.send_min_rate, s.count);
            close_with(ws::close_code::policy_error, "client too slow", false);
            return;
        }
    }
    watchdog_armed_ = true;
    write_timer_.expires_after(ctx_.cfg.send_timeout -
                               std::chrono::duration_cast<std::chrono::milliseconds>(stalled));
    write_timer_.async_wait(
        [self = this->shared_from_this()](error_code ec2) { self->on_write_watchdog(ec2); });
}

template class basic_ws_session<tcp::socket>;
template class basic_ws_session<tls_stream>;

}  // namespace roomcast::transport
