#pragma once

#include <roomcast/net.hpp>
#include <roomcast/transport/context.hpp>

#include <memory>

namespace roomcast::transport {

/**
 * Accepts TCP connections and hands each, on its own strand, to an http_session.
 * Admission (max connections, per address) happens here, before any byte is read.
 */
class listener : public std::enable_shared_from_this<listener> {
  public:
    listener(net::io_context& ioc, context& ctx);

    /** Binds and listens. Returns the error instead of throwing. */
    error_code open(tcp::endpoint const& ep);

    /** The bound endpoint (the real port when 0 was asked for). */
    tcp::endpoint local_endpoint() const;

    /** Starts the accept loop. */
    void run();

    /** Closes the acceptor; thread-safe. Live sessions are stopped by the tracker. */
    void stop();

  private:
    void do_accept();
    void on_accept(error_code ec, tcp::socket socket);
    void refuse(tcp::socket& socket, char const* status_line);

    net::io_context& ioc_;
    context& ctx_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
};

}  // namespace roomcast::transport
