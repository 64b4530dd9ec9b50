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

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

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

/** A WebSocket client over TLS: the calls of ws_client that the TLS tests need. */
class wss_client {
  public:
    using stream_type =
        tls_detail::websocket::stream<tls_detail::beast::ssl_stream<tls_detail::beast::tcp_stream>>;

    wss_client(std::uint16_t port, boost::asio::ssl::context& ctx,
               std::chrono::milliseconds deadline = std::chrono::seconds(5))
        : ws_(ioc_, ctx) {
        using namespace tls_detail;
        auto& low = beast::get_lowest_layer(ws_);
        ws_.next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
        boost::system::error_code ec;
        low.expires_after(deadline);
        run([&](auto done) {
            low.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                              [done, &ec](boost::system::error_code e) {
                                  ec = e;
                                  done();
                              });
        });
        if (ec) throw std::runtime_error("connect: " + ec.message());
        low.socket().set_option(tcp::no_delay(true));
        run([&](auto done) {
            ws_.next_layer().async_handshake(ssl::stream_base::client,
                                             [done, &ec](boost::system::error_code e) {
                                                 ec = e;
                                                 done();
                                             });
        });
        if (ec) throw std::runtime_error("TLS handshake: " + ec.message());
        ws_.auto_fragment(false);
        ws_.read_message_max(64u << 20);
        run([&](auto done) {
            ws_.async_handshake("127.0.0.1", "/ws", [done, &ec](boost::system::error_code e) {
                ec = e;
                done();
            });
        });
        if (ec) throw std::runtime_error("WebSocket handshake: " + ec.message());
        low.expires_never();
    }

    void send_text(std::string const& s) { write(s, true); }
    void send_binary(std::string const& s) { write(s, false); }
    void send_json(nlohmann::json const& j) { send_text(j.dump()); }

    struct message {
        boost::system::error_code ec;
        bool text = false;
        std::string data;
    };

    message read(std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
        using namespace tls_detail;
        message m;
        beast::flat_buffer buf;
        beast::get_lowest_layer(ws_).expires_after(deadline);
        run([&](auto done) {
            ws_.async_read(buf, [done, &m](boost::system::error_code e, std::size_t) {
                m.ec = e;
                done();
            });
        });
        beast::get_lowest_layer(ws_).expires_never();
        if (!m.ec) {
            m.text = ws_.got_text();
            m.data = beast::buffers_to_string(buf.data());
        }
        return m;
    }

    /** Reads until a text message of `type`; binary and other types are skipped. */
    nlohmann::json read_until(std::string const& type,
                              std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) return nlohmann::json();
            auto m = read(left);
            if (m.ec) return nlohmann::json();
            if (!m.text) continue;
            auto j = nlohmann::json::parse(m.data, nullptr, false);
            if (j.is_object() && j.value("type", "") == type) return j;
        }
    }

    nlohmann::json join(std::string const& room) {
        send_json({{"type", "join"}, {"room", room}});
        auto j = read_until("joined");
        if (j.is_object()) id_ = j["id"].get<std::uint64_t>();
        return j;
    }

    void close(tls_detail::websocket::close_code code = tls_detail::websocket::close_code::normal) {
        using namespace tls_detail;
        beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(5));
        run([&](auto done) {
            ws_.async_close(code, [done](boost::system::error_code) { done(); });
        });
    }

    std::uint64_t id() const { return id_; }
    stream_type& stream() { return ws_; }

  private:
    void write(std::string const& s, bool text) {
        using namespace tls_detail;
        boost::system::error_code ec;
        ws_.text(text);
        beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
        run([&](auto done) {
            ws_.async_write(net::buffer(s), [done, &ec](boost::system::error_code e, std::size_t) {
                ec = e;
                done();
            });
        });
        beast::get_lowest_layer(ws_).expires_never();
        if (ec) throw std::runtime_error("write: " + ec.message());
    }

    // Drives this client's io_context until the operation completes; the tcp_stream expiry
    // set by the caller bounds the wait.
    template <class Start>
    void run(Start start) {
        bool finished = false;
        ioc_.restart();
        start([&finished] { finished = true; });
        while (!finished && ioc_.run_one() > 0) {
        }
    }

    boost::asio::io_context ioc_;
    stream_type ws_;
    std::uint64_t id_ = 0;
};

}  // namespace roomcast::test
