#pragma once
// A small Beast WebSocket client for tests, over plain TCP (ws_client) or TLS (wss_client, in
// tls_client.hpp). Every operation has a deadline: a bug fails the test instead of hanging CI.
// Each client runs its own io_context, driven by the test thread.

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio::ssl {
class context;  // named by the TLS constructor only; tls_client.hpp includes the definition
}

namespace roomcast::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

struct ws_message {
    boost::system::error_code ec;  // set when the read failed (closed, timeout, ...)
    bool text = false;
    std::string data;
    nlohmann::json json() const { return nlohmann::json::parse(data, nullptr, false); }
};

/**
 * What differs between the layers under the WebSocket: the step between the TCP connect and
 * the upgrade. Specialised for TLS in tls_client.hpp (the handshake, checking the server's
 * name).
 */
template <class NextLayer>
struct client_layer;

template <>
struct client_layer<beast::tcp_stream> {
    template <class Done>
    static void async_secure(beast::tcp_stream&, Done&& done) {
        done(boost::system::error_code{});  // nothing between connect and upgrade
    }
};

template <class NextLayer>
class basic_ws_client {
  public:
    using headers = std::vector<std::pair<std::string, std::string>>;
    using stream_type = websocket::stream<NextLayer>;

    explicit basic_ws_client(std::uint16_t port, std::chrono::milliseconds deadline = 5s)
        : basic_ws_client(port, headers{}, deadline) {}

    /** Upgrades with `extra` request headers (Origin, X-Forwarded-For, ...). */
    basic_ws_client(std::uint16_t port, headers const& extra,
                    std::chrono::milliseconds deadline = 5s)
        : ws_(ioc_) {
        open(port, extra, deadline);
    }

    /** Over TLS: the stream is made with `tls`, a client context (see tls_client.hpp). */
    basic_ws_client(std::uint16_t port, boost::asio::ssl::context& tls,
                    std::chrono::milliseconds deadline = 5s)
        : ws_(ioc_, tls) {
        open(port, headers{}, deadline);
    }

    void send_text(std::string const& s, std::chrono::milliseconds deadline = 10s) {
        write(s, true, deadline);
    }
    void send_binary(std::string const& s, std::chrono::milliseconds deadline = 10s) {
        write(s, false, deadline);
    }
    void send_json(nlohmann::json const& j) { send_text(j.dump()); }

    /** The next message, or a message with ec set (closed, timeout). */
    ws_message read(std::chrono::milliseconds deadline = 5s) {
        ws_message m;
        beast::flat_buffer buf;
        run([&](auto done) {
            beast::get_lowest_layer(ws_).expires_after(deadline);
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

    /** The next message as JSON (null JSON when the read failed or it was not JSON). */
    nlohmann::json read_json(std::chrono::milliseconds deadline = 5s) {
        ws_message m = read(deadline);
        if (m.ec || !m.text) return nlohmann::json();
        return m.json();
    }

    /** Reads until a message of `type` arrives; others are skipped. Null JSON on failure. */
    nlohmann::json read_until(std::string const& type, std::chrono::milliseconds deadline = 5s) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) return nlohmann::json();
            ws_message m = read(left);
            if (m.ec) return nlohmann::json();
            if (!m.text) continue;
            auto j = m.json();
            if (j.is_object() && j.value("type", "") == type) return j;
        }
    }

    /** Joins a room; returns the "joined" reply (null JSON on anything else). */
    nlohmann::json join(std::string const& room) {
        send_json({{"type", "join"}, {"room", room}});
        nlohmann::json j = read_json();
        if (j.is_object() && j.value("type", "") == "joined") id_ = j["id"].get<std::uint64_t>();
        return j;
    }

    /**
     * An ordering barrier: sends a frame the server answers with an error, and returns every
     * message that arrived before that answer. Everything the server queued for this client
     * before it handled the barrier is in the result; nothing is left behind.
     */
    std::vector<ws_message> barrier(std::chrono::milliseconds deadline = 10s) {
        send_text("{}");
        std::vector<ws_message> before;
        auto const end = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) throw std::runtime_error("barrier: deadline passed");
            ws_message m = read(left);
            if (m.ec) throw std::runtime_error("barrier: " + m.ec.message());
            auto j = m.text ? m.json() : nlohmann::json();
            if (j.is_object() && j.value("type", "") == "error" &&
                j.value("code", "") == "bad-message")
                return before;
            before.push_back(std::move(m));
        }
    }

    void close(websocket::close_code code = websocket::close_code::normal) {
        boost::system::error_code ec;
        run([&](auto done) {
            beast::get_lowest_layer(ws_).expires_after(5s);
            ws_.async_close(code, [done, &ec](boost::system::error_code e) {
                ec = e;
                done();
            });
        });
    }

    /** Drops the TCP connection without a close frame. */
    void drop() { beast::get_lowest_layer(ws_).close(); }

    websocket::close_reason close_reason() const { return ws_.reason(); }
    std::uint64_t id() const { return id_; }
    stream_type& stream() { return ws_; }

  private:
    void open(std::uint16_t port, headers const& extra, std::chrono::milliseconds deadline) {
        auto& s = beast::get_lowest_layer(ws_);
        boost::system::error_code ec;
        run([&](auto done) {
            s.expires_after(deadline);
            s.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                            [done, &ec](boost::system::error_code e) {
                                ec = e;
                                done();
                            });
        });
        if (ec) throw std::runtime_error("connect: " + ec.message());
        s.socket().set_option(tcp::no_delay(true));
        run([&](auto done) {
            s.expires_after(deadline);
            client_layer<NextLayer>::async_secure(ws_.next_layer(),
                                                  [done, &ec](boost::system::error_code e) {
                                                      ec = e;
                                                      done();
                                                  });
        });
        if (ec) throw std::runtime_error("TLS handshake: " + ec.message());
        ws_.set_option(websocket::stream_base::decorator([extra](websocket::request_type& req) {
            for (auto const& [name, value] : extra)
                req.set(name, value);
        }));
        ws_.auto_fragment(false);
        ws_.read_message_max(64u << 20);
        run([&](auto done) {
            s.expires_after(deadline);
            ws_.async_handshake("127.0.0.1", "/ws", [done, &ec](boost::system::error_code e) {
                ec = e;
                done();
            });
        });
        if (ec) throw std::runtime_error("handshake: " + ec.message());
        s.expires_never();
    }

    void write(std::string const& s, bool text, std::chrono::milliseconds deadline) {
        boost::system::error_code ec;
        ws_.text(text);
        run([&](auto done) {
            beast::get_lowest_layer(ws_).expires_after(deadline);
            ws_.async_write(net::buffer(s), [done, &ec](boost::system::error_code e, std::size_t) {
                ec = e;
                done();
            });
        });
        beast::get_lowest_layer(ws_).expires_never();
        if (ec) throw std::runtime_error("write: " + ec.message());
    }

    // Starts an operation and drives this client's io_context until it completes. The
    // operation's own deadline (tcp_stream expiry) bounds the wait.
    template <class Start>
    void run(Start start) {
        bool finished = false;
        ioc_.restart();
        start([&finished] { finished = true; });
        while (!finished && ioc_.run_one() > 0) {
        }
    }

    net::io_context ioc_;
    stream_type ws_;
    std::uint64_t id_ = 0;
};

using ws_client = basic_ws_client<beast::tcp_stream>;

}  // namespace roomcast::test
