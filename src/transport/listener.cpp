#include "roomcast/transport/listener.hpp"

#include <roomcast/log.hpp>
#include <roomcast/transport/http_session.hpp>

#include <spdlog/spdlog.h>

namespace roomcast::transport {

// ---------------------------------------------------------------------------------------------
// session_tracker

std::uint64_t session_tracker::add(std::weak_ptr<stoppable> s) {
    std::uint64_t key;
    bool stop_now;
    {
        std::lock_guard lock(mutex_);
        key = next_++;
        live_.emplace(key, s);
        stop_now = stopping_.load();
    }
    // A connection that arrives during shutdown is told to stop at once.
    if (stop_now)
        if (auto sp = s.lock()) sp->stop();
    return key;
}

void session_tracker::remove(std::uint64_t key) {
    std::function<void()> done;
    {
        std::lock_guard lock(mutex_);
        if (live_.erase(key) == 0) return;
        if (stopping_ && live_.empty()) done = std::move(on_empty_);
    }
    if (done) done();
}

void session_tracker::stop_all(std::function<void()> on_empty) {
    std::vector<std::weak_ptr<stoppable>> snapshot;
    std::function<void()> done;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        snapshot.reserve(live_.size());
        for (auto const& [k, w] : live_)
            snapshot.push_back(w);
        if (live_.empty())
            done = std::move(on_empty);
        else
            on_empty_ = std::move(on_empty);
    }
    // Outside the lock: stop() posts to each session's strand.
    for (auto const& w : snapshot)
        if (auto sp = w.lock()) sp->stop();
    if (done) done();
}

std::size_t session_tracker::size() const {
    std::lock_guard lock(mutex_);
    return live_.size();
}

// ---------------------------------------------------------------------------------------------
// listener

listener::listener(net::io_context& ioc, context& ctx)
    : ioc_(ioc),
      ctx_(ctx),
      acceptor_(net::make_strand(ioc)),
      retry_timer_(acceptor_.get_executor()) {}

error_code listener::open(tcp::endpoint const& ep) {
    error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (ec) return ec;
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return ec;
    acceptor_.bind(ep, ec);
    if (ec) return ec;
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    return ec;
}

tcp::endpoint listener::local_endpoint() const {
    error_code ec;
    return acceptor_.local_endpoint(ec);
}

void listener::run() {
    net::dispatch(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void listener::stop() {
    net::post(acceptor_.get_executor(), [self = shared_from_this()] {
        error_code ignored;
        self->acceptor_.close(ignored);
        self->retry_timer_.cancel();
    });
}

void listener::do_accept() {
    if (!acceptor_.is_open()) return;
    // Each connection gets its own strand: its handlers never run concurrently.
    acceptor_.async_accept(net::make_strand(ioc_),
                           [self = shared_from_this()](error_code ec, tcp::socket s) {
                               self->on_accept(ec, std::move(s));
                           });
}

void listener::refuse(tcp::socket& socket, char const* status_line) {
    // Best effort, never blocking: a short answer so a browser shows something, then close.
    std::string msg = std::string("HTTP/1.1 ") + status_line +
                      "\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 5\r\n\r\n";
    error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(net::buffer(msg), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

void listener::on_accept(error_code ec, tcp::socket socket) {
    if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
        // EMFILE and friends: re-arming at once would spin. Wait, then try again.
        spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
        retry_timer_.expires_after(std::chrono::milliseconds(100));
        retry_timer_.async_wait([self = shared_from_this()](error_code e) {
            if (!e) self->do_accept();
        });
        return;
    }
    ctx_.counters.connections_accepted.fetch_add(1, std::memory_order_relaxed);

    error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);  // Nagle + delayed ACK costs 40 ms a frame
    auto const ep = socket.remote_endpoint(opt_ec);
    if (opt_ec) {
        do_accept();
        return;
    }
    auto const addr = unmapped(ep.address());

    // Near the memory budget a new connection is refused before it costs anything: the
    // memory left is for the transfers already under way.
    if (ctx_.counters.memory.near_limit()) {
        if (auto const s = count_sampled(ctx_.counters.connections_refused_memory); s.log)
            spdlog::warn(
                "refused connection from {}: memory budget nearly used ({} of {} bytes; "
                "{} refused so far)",
                addr.to_string(), ctx_.counters.memory.used(), ctx_.counters.memory.limit(),
                s.count);
        refuse(socket, "503 Service Unavailable");
        do_accept();
        return;
    }

    // A trusted proxy carries many clients: each is counted per address once its request
    // names it (http_session rebinds the ticket); the proxy itself counts only in the total.
    conn_limiter::refusal why{};
    auto ticket =
        ctx_.limiter.try_acquire(address_key(addr), why, !ctx_.policy.proxies.trusts(addr));
    if (!ticket) {
        // Counted always; logged for the first and then every refusal_log_every-th, so a
        // flood cannot flood the log too.
        if (auto const s = count_sampled(ctx_.counters.connections_rejected); s.log)
            spdlog::warn("refused connection from {}: {} ({} refused so far)", addr.to_string(),
                         why == conn_limiter::refusal::total ? "max-connections reached"
                                                             : "max-connections-per-ip reached",
                         s.count);
        refuse(socket, why == conn_limiter::refusal::total ? "503 Service Unavailable"
                                                           : "429 Too Many Requests");
    } else {
        ctx_.counters.memory.charge(memory_kind::connections, connection_cost::plain);
        ticket.memory =
            memory_charge(ctx_.counters.memory, memory_kind::connections, connection_cost::plain);
        std::make_shared<http_session>(std::move(socket), ctx_, std::move(ticket))->run();
    }
    do_accept();
}

}  // namespace roomcast::transport
