// A reader that stops reading must not grow the server's memory without bound, must be
// disconnected, and must not stop the others in its room from receiving.
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <array>
#include <thread>

using namespace roomcast;
using namespace roomcast::test;

namespace {

/** Upgrades a raw socket with a tiny receive buffer, joins `room`, and never reads again. */
tcp::socket stalled_client(net::io_context& ioc, std::uint16_t port, std::string const& room) {
    tcp::socket s(ioc);
    s.open(tcp::v4());
    s.set_option(net::socket_base::receive_buffer_size(4096));
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    std::string const req =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    net::write(s, net::buffer(req));
    // A masked text frame {"type":"join","room":...}.
    std::string const payload = R"({"type":"join","room":")" + room + "\"}";
    std::string frame;
    frame += static_cast<char>(0x81);
    frame += static_cast<char>(0x80 | payload.size());
    char const key[4] = {1, 2, 3, 4};
    frame.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame += static_cast<char>(payload[i] ^ key[i % 4]);
    net::write(s, net::buffer(frame));
    return s;
}

}  // namespace

TEST(Backpressure, StalledReaderIsClosedOthersReceiveEverythingMemoryBounded) {
    auto cfg = test_config();
    cfg.max_message_bytes = 64u << 10;
    cfg.send_high_water_bytes = 256u << 10;
    cfg.send_max_bytes = 1u << 20;
    cfg.send_timeout = std::chrono::milliseconds(500);
    running_server s(cfg);

    net::io_context ioc;
    ws_client sender(s.port()), good(s.port());
    sender.join("bp");
    good.join("bp");
    auto stalled = stalled_client(ioc, s.port(), "bp");
    EXPECT_EQ(sender.read_until("peer-joined")["id"], good.id());
    auto const stalled_id = sender.read_until("peer-joined")["id"];

    // 24 MiB in 384 frames: far more than the kernel buffers and the queue limits hold.
    constexpr int frames = 384;
    std::string payload(60u << 10, 'p');
    int received = 0;
    bool ok = true;
    for (int i = 0; i < frames && ok; ++i) {
        std::memcpy(payload.data(), &i, sizeof i);
        sender.send_binary(payload, std::chrono::seconds(30));
        // The good reader keeps up; every frame arrives, in order.
        for (;;) {
            auto m = good.read(std::chrono::seconds(30));
            if (m.ec) {
                ok = false;
                ADD_FAILURE() << "good reader: " << m.ec.message() << " after " << received;
                break;
            }
            if (m.text) continue;  // presence messages
            int seq;
            std::memcpy(&seq, m.data.data(), sizeof seq);
            EXPECT_EQ(seq, received);
            ++received;
            break;
        }
    }
    EXPECT_EQ(received, frames);
    // Dropped for making no progress; its seat is held (bounded) in case it comes back.
    EXPECT_EQ(sender.read_until("peer-away", std::chrono::seconds(30))["id"], stalled_id);

    auto const& c = s.get().counters();
    EXPECT_EQ(c.close_slow_reader.load(), 1u);
    // Bounded: no connection ever held more than the hard cap plus one frame.
    EXPECT_LE(c.queued_bytes_peak.load(),
              static_cast<std::int64_t>(cfg.send_max_bytes + cfg.max_message_bytes));
    EXPECT_GE(c.read_pauses.load(), 1u);
    // Nothing was lost silently: what the stalled reader did not get is counted.
    EXPECT_GE(c.frames_dropped.load() + c.close_slow_reader.load(), 1u);
}

TEST(Backpressure, ManySendersIntoAStalledReaderHitTheHardCap) {
    auto cfg = test_config();
    cfg.max_message_bytes = 64u << 10;
    cfg.send_high_water_bytes = 512u << 10;
    cfg.send_max_bytes = 512u << 10;
    cfg.send_timeout = std::chrono::seconds(30);  // the cap, not the timer, must trip
    running_server s(cfg);

    net::io_context ioc;
    std::vector<std::unique_ptr<ws_client>> senders;
    for (int i = 0; i < 6; ++i) {
        senders.push_back(std::make_unique<ws_client>(s.port()));
        senders.back()->join("cap");
    }
    auto stalled = stalled_client(ioc, s.port(), "cap");
    std::string const payload(64u << 10, 'q');
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    // Each round every sender sends one frame, so the stalled queue takes six at once.
    for (int round = 0; round < 200 && s.get().counters().close_slow_reader.load() == 0 &&
                        std::chrono::steady_clock::now() < deadline;
         ++round) {
        for (auto& c : senders)
            c->send_binary(payload, std::chrono::seconds(30));
        for (auto& c : senders)
            c->barrier(std::chrono::seconds(30));  // drain their inboxes
    }
    auto const& c = s.get().counters();
    EXPECT_EQ(c.close_slow_reader.load(), 1u);
    EXPECT_GE(c.frames_dropped.load(), 1u);
    EXPECT_LE(c.queued_bytes_peak.load(),
              static_cast<std::int64_t>(cfg.send_max_bytes + cfg.max_message_bytes));
}

TEST(Backpressure, APingFloodFromAClientThatDoesNotReadStaysBounded) {
    auto cfg = test_config();
    cfg.max_messages_per_second = 0;  // this is about the pong bound, not the rate limit
    running_server s(cfg);
    net::io_context ioc;
    auto raw = stalled_client(ioc, s.port(), "pings");
    // 60 000 masked pings with 125-byte payloads (7.9 MB, more than the kernel buffers hold
    // for the pongs), never reading a pong.
    std::string frame;
    frame += static_cast<char>(0x89);
    frame += static_cast<char>(0x80 | 125);
    frame.append("\x01\x02\x03\x04", 4);
    frame.append(125, 'p');
    std::string burst;
    for (int i = 0; i < 1000; ++i)
        burst += frame;
    std::uint64_t const before = s.get().counters().bytes_in.load();
    for (int i = 0; i < 60; ++i)
        net::write(raw, net::buffer(burst));
    auto const want = before + 60 * burst.size();
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (s.get().counters().bytes_in.load() < want && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GE(s.get().counters().bytes_in.load(), want) << "server did not read the flood";
    // At most one pong waits in the server's queue, whatever the kernel buffers hold.
    EXPECT_LE(s.get().counters().queued_bytes.load(), 1024);
}

TEST(Backpressure, FramesThatArriveWithTheUpgradeRequestAreReadAndCounted) {
    // The HTTP parser's first read can take WebSocket frames sent right behind the request
    // (it reads 512 bytes at first); those bytes must be parsed and counted like any others.
    // (The ping flood above once looked stalled because they were not counted.)
    running_server s;
    std::uint64_t const before = s.get().counters().bytes_in.load();
    net::io_context ioc;
    tcp::socket raw(ioc);
    raw.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), s.port()));
    std::string wire =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    std::string ping;
    ping += static_cast<char>(0x89);
    ping += static_cast<char>(0x80 | 3);
    ping.append("\x01\x02\x03\x04", 4);
    ping += static_cast<char>('a' ^ 1);
    ping += static_cast<char>('b' ^ 2);
    ping += static_cast<char>('c' ^ 3);
    wire += ping;
    net::write(raw, net::buffer(wire));  // one write: the ping travels with the request

    // Read the 101 and then the pong for "abc" (5 bytes: 0x8A 0x03 a b c).
    std::string got;
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    raw.non_blocking(true);
    std::array<char, 1024> buf{};
    while (got.find(std::string("\x8a\x03"
                                "abc",
                                5)) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        auto const n = raw.read_some(net::buffer(buf), ec);
        if (ec == net::error::would_block) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
        }
        ASSERT_FALSE(ec) << ec.message();
        got.append(buf.data(), n);
    }
    ASSERT_NE(got.find("HTTP/1.1 101"), std::string::npos) << got;
    ASSERT_NE(got.find(std::string("\x8a\x03"
                                   "abc",
                                   5)),
              std::string::npos)
        << "no pong";
    EXPECT_EQ(s.get().counters().bytes_in.load(), before + ping.size());
}
