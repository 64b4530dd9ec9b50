#pragma once
// TLS clients for tests: one HTTPS request, and a WSS client (Beast websocket over
// ssl_stream). Both verify the server against a PEM certificate given as the only trusted CA,
// and the host name 127.0.0.1 against its subjectAltName. Every operation has a deadline.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include "ws_client.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace roomcast::test {

namespace tls_detail {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
}  // namespace tls_detail

/** A client context that trusts exactly `ca_pem` and checks the peer's name. */
inline std::unique_ptr<boost::asio::ssl::context> trusting(std::string const& ca_pem) {
    using namespace tls_detail;
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->add_certificate_authority(net::buffer(ca_pem));
    ctx->set_verify_mode(ssl::verify_peer);
    return ctx;
}

struct https_result {
    boost::system::error_code ec;  // connect, handshake, write or read failure
    int status = 0;
    std::string body;
    std::string content_type;
};

/** GET `target` over TLS from 127.0.0.1:`port`. */
inline https_result https_get(std::uint16_t port, std::string const& target,
                              boost::asio::ssl::context& ctx,
                              std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
    using namespace tls_detail;
    net::io_context ioc;
    beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
    s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    https_result r;
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::connection, "close");
    http::response<http::string_body> res;
    beast::flat_buffer buf;
    beast::get_lowest_layer(s).expires_after(deadline);
    beast::get_lowest_layer(s).async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](boost::system::error_code ec) {
            if (ec) return void(r.ec = ec);
            s.async_handshake(ssl::stream_base::client, [&](boost::system::error_code ec2) {
                if (ec2) return void(r.ec = ec2);
                http::async_write(s, req, [&](boost::system::error_code ec3, std::size_t) {
                    if (ec3) return void(r.ec = ec3);
                    http::async_read(s, buf, res, [&](boost::system::error_code ec4, std::size_t) {
                        if (ec4) return void(r.ec = ec4);
                        r.status = res.result_int();
                        r.body = res.body();
                        r.content_type = std::string(res[http::field::content_type]);
                    });
                });
            });
        });
    ioc.run();
    return r;
}

/** The TLS step of a WebSocket client: the handshake, checking the name 127.0.0.1. */
template <>
struct client_layer<boost::beast::ssl_stream<boost::beast::tcp_stream>> {
    template <class Done>
    static void async_secure(boost::beast::ssl_stream<boost::beast::tcp_stream>& s, Done&& done) {
        s.set_verify_callback(boost::asio::ssl::host_name_verification("127.0.0.1"));
        s.async_handshake(boost::asio::ssl::stream_base::client, std::forward<Done>(done));
    }
};

/** A WebSocket client over TLS, trusting the context it is made with: wss_client(port, ctx). */
using wss_client = basic_ws_client<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace roomcast::test
