#pragma once

#include <roomcast/config.hpp>
#include <roomcast/rooms/room_registry.hpp>
#include <roomcast/stats.hpp>
#include <roomcast/transport/client_address.hpp>
#include <roomcast/transport/conn_limiter.hpp>
#include <roomcast/transport/host_policy.hpp>
#include <roomcast/transport/origin_policy.hpp>
#include <roomcast/transport/rate_limit.hpp>
#include <roomcast/transport/static_files.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace boost::asio::ssl {
class context;
}

namespace roomcast::transport {

/** A live connection the server can ask to wind down (BeastLounge's on_stop). */
class stoppable {
  public:
    virtual ~stoppable() = default;
    /** Thread-safe: posts onto the connection's strand. */
    virtual void stop() = 0;
};

/**
 * Every live connection, HTTP or WebSocket, held weakly, so shutdown can reach the ones that
 * are in no room. Calls `on_empty` once, from whatever thread removes the last one after
 * stop_all() was called.
 */
class session_tracker {
  public:
    std::uint64_t add(std::weak_ptr<stoppable> s);
    void remove(std::uint64_t key);
    /** Stops every session now and every one added later. */
    void stop_all(std::function<void()> on_empty);
    std::size_t size() const;
    bool stopping() const noexcept { return stopping_.load(); }

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<stoppable>> live_;
    std::uint64_t next_ = 1;
    std::atomic<bool> stopping_{false};
    std::function<void()> on_empty_;
};

/** The client-facing policies parsed from the configuration once, at start. */
struct policies {
    trusted_proxies proxies;
    origin_policy origins;
    host_policy hosts;         // which Host names are answered
    address_set metrics_from;  // who may read /metrics
};

/** What a connection is charged to the memory budget for itself, whatever it does. */
struct connection_cost {
    /** Plain TCP: the session, the HTTP parser's buffers while it is HTTP, timers, strand. */
    static constexpr std::size_t plain = 16u << 10;
    /** Added for TLS: OpenSSL's and Asio's record buffers (~92 KB measured, DEPLOY.md). */
    static constexpr std::size_t tls_extra = 96u << 10;
};

/** What every session needs from the server; outlives all of them. */
struct context {
    /** Sets the memory budget's limit (--memory-budget, or the default from the machine) in
     * `s`, and the seat limits derived from it. */
    context(config const& c, rooms::room_registry& r, roomcast::stats& s, static_files const& f,
            conn_limiter& l, session_tracker& t, policies const& p, address_limiter& j);

    config const& cfg;
    rooms::room_registry& rooms;
    roomcast::stats& counters;
    static_files const& files;
    conn_limiter& limiter;
    session_tracker& tracker;
    policies const& policy;
    address_limiter& joins;  // join attempts per client address
    address_ledger ledger;   // what each client address holds (partial messages, seats)
    rooms::seat_limits seats;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    std::atomic<std::uint16_t> port{0};  // the port actually bound
    // Set before the listener runs when TLS is on: a connection whose first byte is a TLS
    // handshake is served over it; others stay plain. Null: every connection is plain.
    boost::asio::ssl::context* tls = nullptr;
    own_addresses interfaces;  // this machine's addresses: IP-literal Hosts naming us

    /**
     * A fresh member id: 53 random bits from the CSPRNG (an exact integer in JavaScript), so
     * ids say nothing about how many connections the server has had and cannot be guessed.
     * Unique within a room (the registry refuses a duplicate and the session draws again).
     */
    static std::uint64_t next_id();
};

}  // namespace roomcast::transport
