#pragma once
// A small Beast WebSocket client for tests. Every operation has a deadline: a bug fails the
// test instead of hanging CI. Each client runs its own io_context, driven by the test thread.

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

class ws_client {
  public:
    using headers = std::vector<std::pair<std::string, std::string>>;

    explicit ws_client(std::uint16_t port, std::chrono::milliseconds deadline = 5s)
        : ws_client(port, headers{}, deadline) {}

    /** Upgrades with `extra` request headers (Origin, X-Forwarded-For, ...). */
    ws_client(std::uint16_t port, headers const& extra, std::chrono::milliseconds deadline = 5s)
        : ws_(ioc_) {
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
        auto m = read(deadline);
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
            auto m = read(left);
            if (m.ec) return nlohmann::json();
            if (!m.text) continue;
            auto j = m.json();
            if (j.is_object() && j.value("type", "") == type) return j;
        }
    }

    /** Joins a room; returns the "joined" reply (null JSON on anything else). */
    nlohmann::json join(std::string const& room) {
        send_json({{"type", "join"}, {"room", room}});
        auto j = read_json();
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
            auto m = read(left);
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
    websocket::stream<beast::tcp_stream>& stream() { return ws_; }

  private:
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
    websocket::stream<beast::tcp_stream> ws_;
    std::uint64_t id_ = 0;
};

/** Runs a server in-process on 127.0.0.1 with an ephemeral port. */
}  // namespace roomcast::test
