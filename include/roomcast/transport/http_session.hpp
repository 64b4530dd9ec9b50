#pragma once

#include <roomcast/net.hpp>
#include <roomcast/transport/context.hpp>

#include <memory>
#include <optional>

namespace roomcast::transport {

/**
 * One HTTP/1.1 connection: reads requests with header, body and time limits, serves the
 * static client and /healthz, and hands a valid WebSocket upgrade on /ws to a ws_session.
 */
class http_session : public stoppable, public std::enable_shared_from_this<http_session> {
  public:
    http_session(tcp::socket&& socket, context& ctx, conn_ticket ticket);
    ~http_session() override;

    void run();
    void stop() override;

  private:
    using request = http::request<http::string_body>;

    void do_read();
    void on_read(error_code ec, std::size_t);
    void handle(request&& req);
    void upgrade(request&& req);
    void send(http::response<http::string_body>&& res);
    void send_file(request const& req, static_files::file const& f);
    void on_write(bool keep_alive, error_code ec, std::size_t);
    void fail(error_code ec, char const* what);

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    context& ctx_;
    conn_ticket ticket_;
    std::string remote_;
    std::uint64_t tracker_key_ = 0;
    std::shared_ptr<void> response_;  // the response being written
    bool stopping_ = false;
};

}  // namespace roomcast::transport
