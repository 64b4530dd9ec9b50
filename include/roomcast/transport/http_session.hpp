#pragma once

#include <roomcast/net.hpp>
#include <roomcast/transport/context.hpp>
#include <roomcast/transport/tls.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>

namespace roomcast::transport {

/**
 * One HTTP/1.1 connection: reads requests with header, body and time limits, serves the
 * static client and /healthz, and hands a valid WebSocket upgrade on /ws to a ws_session.
 *
 * `Stream` is beast::tcp_stream (plain) or tls_stream. Every connection starts plain; when the
 * server has TLS on, the plain session first looks at the opening bytes and, for a TLS
 * ClientHello, hands the connection (and those bytes) to a TLS session, which does the
 * handshake within http_timeout and then serves the same requests the same way.
 */
template <class Stream>
class basic_http_session : public stoppable,
                           public std::enable_shared_from_this<basic_http_session<Stream>> {
  public:
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

    /** A freshly accepted connection. */
    basic_http_session(tcp::socket&& socket, context& ctx, conn_ticket ticket);
    /** A connection found to open with a TLS handshake; `read` holds the bytes looked at. */
    basic_http_session(beast::tcp_stream&& stream, beast::flat_buffer&& read, context& ctx,
                       conn_ticket ticket, std::string remote);
    ~basic_http_session() override;

    void run();
    void stop() override;

  private:
    using request = http::request<http::string_body>;

    void do_detect();
    void on_detect(error_code ec, bool tls);
    void on_handshake(error_code ec, std::size_t used);
    void do_read();
    void do_read_header();
    void on_read_header(error_code ec, std::size_t n);
    void on_header(std::size_t bytes);
    void on_read_error(error_code ec);
    void handle(request&& req, bool has_body);
    void upgrade(request&& req);
    void note_refusal(std::atomic<std::uint64_t>& counted, char const* kind,
                      std::string_view detail);
    std::optional<net::ip::address> known_client(request const& req);
    void send(http::response<http::string_body>&& res);
    void send_file(request const& req, static_files::file const& f);
    void on_write(bool keep_alive, error_code ec, std::size_t);
    void fail(error_code ec, char const* what);
    tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::size_t scanned_ = 0;  // bytes of buffer_ searched for the header's end so far
    context& ctx_;
    conn_ticket ticket_;
    std::string remote_;
    std::uint64_t tracker_key_ = 0;
    std::shared_ptr<void> response_;  // the response being written
    bool stopping_ = false;
};

/** Every accepted connection starts here (the listener, the fuzz target). */
using http_session = basic_http_session<beast::tcp_stream>;
using https_session = basic_http_session<tls_stream>;

extern template class basic_http_session<beast::tcp_stream>;
extern template class basic_http_session<tls_stream>;

}  // namespace roomcast::transport
