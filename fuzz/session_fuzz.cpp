// libFuzzer: the whole connection, from bytes. The input is everything one client sends on a
// fresh connection (HTTP request, upgrade, WebSocket frames, in any state), through the real
// http_session and ws_session, the protocol, the room registry and the send queues, while a
// second client sits joined in room "f" and receives whatever is relayed to it. Each input
// must end with both connections closed by the server within a bounded time, and never crash
// (ASan/UBSan). The sockets are a Unix socketpair: no network, and nothing to time out on.
#include <roomcast/rooms/room_registry.hpp>
#include <roomcast/stats.hpp>
#include <roomcast/transport/context.hpp>
#include <roomcast/transport/http_session.hpp>

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

using namespace roomcast;
using tcp = boost::asio::ip::tcp;
namespace net = boost::asio;

config make_config() {
    config c;
    c.max_message_bytes = 64u << 10;  // small limits, so inputs reach them
    c.send_high_water_bytes = 32u << 10;
    c.send_max_bytes = 256u << 10;
    c.http_header_limit = 2048;
    c.http_body_limit = 256;
    c.http_timeout = std::chrono::milliseconds(500);
    c.close_timeout = std::chrono::milliseconds(50);
    c.send_timeout = std::chrono::milliseconds(500);
    c.resume_buffer_bytes = 128u << 10;
    c.max_room_members = 4;
    c.max_joins_per_minute = 0;  // one address for every input
    c.max_messages_per_second = 0;
    return c;
}

// The server's shared state, built once: every input's sessions end before it returns.
struct server_state {
    config cfg = make_config();
    stats counters;
    rooms::room_registry registry{cfg.max_room_members};
    transport::static_files files;  // empty: every file request is a 404
    transport::conn_limiter limiter{1000, 1000};
    transport::session_tracker tracker;
    transport::policies policy;
    transport::address_limiter joins{0, 16};
    transport::context ctx{cfg, registry, counters, files, limiter, tracker, policy, joins};
    server_state() { spdlog::set_level(spdlog::level::off); }
};

server_state& state() {
    static server_state s;
    return s;
}

std::string masked_text(std::string const& payload) {
    std::string f;
    f += static_cast<char>(0x81);
    f += static_cast<char>(0x80 | payload.size());  // < 126 here
    char const key[4] = {0x11, 0x22, 0x33, 0x44};
    f.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        f += static_cast<char>(payload[i] ^ key[i % 4]);
    return f;
}

std::string const& peer_bytes() {
    static std::string const b =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
        masked_text(R"({"type":"join","room":"f"})");
    return b;
}

/** One client: writes `bytes`, half-closes when told, reads until EOF. */
struct client {
    tcp::socket sock;
    std::string out;
    std::array<char, 16384> buf{};
    bool eof = false;

    explicit client(net::io_context& ioc, int fd) : sock(ioc) { sock.assign(tcp::v4(), fd); }

    void start(std::string bytes, bool half_close) {
        out = std::move(bytes);
        net::async_write(sock, net::buffer(out),
                         [this, half_close](boost::system::error_code ec, std::size_t) {
                             if (!ec && half_close) sock.shutdown(tcp::socket::shutdown_send, ec);
                         });
        read();
    }
    void read() {
        sock.async_read_some(net::buffer(buf), [this](boost::system::error_code ec, std::size_t) {
            if (ec) {
                eof = true;
                return;
            }
            read();
        });
    }
};

/** A connected pair: the server end goes to an http_session, the other is the client's. */
int open_session(net::io_context& ioc) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    auto& st = state();
    tcp::socket server_end(ioc);
    server_end.assign(tcp::v4(), fds[0]);
    transport::conn_limiter::refusal why{};
    auto ticket = st.limiter.try_acquire("fuzz", why);
    if (!ticket) std::abort();  // every earlier input's connections were given back
    std::make_shared<transport::http_session>(std::move(server_end), st.ctx, std::move(ticket))
        ->run();
    return fds[1];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto& st = state();
    {
        net::io_context ioc;
        client peer(ioc, open_session(ioc));
        client fuzz(ioc, open_session(ioc));
        peer.start(peer_bytes(), false);
        fuzz.start(std::string(reinterpret_cast<char const*>(data), size), true);
        // Until the server has closed the fuzzed connection (it must: we half-closed it), then
        // the peer's; bounded, and a connection the server never closes is a finding.
        auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!fuzz.eof && std::chrono::steady_clock::now() < deadline)
            ioc.run_one_for(std::chrono::milliseconds(20));
        if (!fuzz.eof) std::abort();  // the server left a half-closed connection open
        boost::system::error_code ec;
        peer.sock.shutdown(tcp::socket::shutdown_send, ec);
        while (!peer.eof && std::chrono::steady_clock::now() < deadline)
            ioc.run_one_for(std::chrono::milliseconds(20));
        if (!peer.eof) std::abort();
        ioc.poll();  // what is ready now; pending timers die with the io_context, and with
                     // them the last references to the sessions
    }
    // Seats held for dropped members, and locked rooms kept empty for their host (dormant),
    // would outlive the input: release them now (past --resume-grace and --room-retention).
    auto const later = std::chrono::steady_clock::now() + std::chrono::hours(49);
    (void)st.registry.expire(later);
    (void)st.registry.expire_rooms(later);
    if (st.limiter.total() != 0 || st.registry.room_count() != 0) std::abort();  // a leak
    return 0;
}
