#pragma once

#include <roomcast/config.hpp>
#include <roomcast/stats.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace roomcast {

namespace rooms {
class room_registry;
}

/**
 * The daemon: io_context and its threads, the listener, the room registry, and shutdown.
 * Used by main() and, in-process, by the integration tests.
 */
class server {
  public:
    explicit server(config cfg);
    ~server();
    server(server const&) = delete;
    server& operator=(server const&) = delete;

    /** Loads the web root, binds, starts the I/O threads. An error message on failure. */
    std::optional<std::string> start();

    /** The port actually bound (useful with port 0). */
    std::uint16_t port() const noexcept;

    /** SHA-256 of the served TLS certificate ("AB:CD:…"), after start(); empty without TLS. */
    std::string const& tls_fingerprint() const noexcept;

    /**
     * First call: stop accepting, close every WebSocket with 1001, and let the threads return
     * once all connections are gone or shutdown_timeout passed. Second call: stop at once.
     * Thread-safe.
     */
    void shutdown();

    /** SIGINT and SIGTERM call shutdown(). Call before start(). */
    void handle_signals();

    /** Blocks until every I/O thread has returned. */
    void wait();

    stats const& counters() const noexcept;
    rooms::room_registry const& rooms() const noexcept;
    config const& cfg() const noexcept;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/**
 * The web root to serve: cfg.web_root if set; else web/ beside the executable when it holds
 * an index.html; else the source tree's web/.
 */
std::string resolve_web_root(config const& cfg);

}  // namespace roomcast
