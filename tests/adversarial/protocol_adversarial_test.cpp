// Medium and low findings of the adversarial review, each from its mechanism: a trickle
// reader stalling its room, pings and fragments that went uncounted, guessable ids, the
// "already there" reply hiding away seats, and per-address limits that an IPv6 host could
// sidestep with a fresh address from its /64.
#include "support/raw_http.hpp"
#include "support/raw_ws.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

using namespace roomcast;
using namespace roomcast::test;

namespace {

constexpr std::size_t KiB = 1u << 10;
constexpr std::size_t MiB = 1u << 20;

}  // namespace

TEST(TrickleReader, AMemberReadingJustEnoughToStayAliveIsClosedAndTheRoomGoesOn) {
    // The review's trickler read 2 MiB every 10 s: the watchdog saw progress, so it kept every
    // sender in its room paused, and an honest receiver got 0.7 MiB in 30 s.
    auto cfg = test_config();
    cfg.send_high_water_bytes = 1 * MiB;
    cfg.send_max_bytes = 64 * MiB;
    // The window send-min-rate is judged over. Long enough that the kernel's send buffer
    // (megabytes on loopback, which wakes a writer only once a third of it is free) shows
    // progress within it at the trickler's pace: this is the reader the old watchdog missed.
    cfg.send_timeout = std::chrono::seconds(8);
    cfg.send_min_rate = 1 * MiB;
    cfg.max_messages_per_second = 0;
    running_server s(cfg);
    ws_client sender(s.port()), honest(s.port());
    sender.join("room");
    honest.join("room");
    raw_ws trickler(s.port(), 4096);
    ASSERT_TRUE(trickler.join("room").is_object());
    sender.read_until("peer-joined");
    sender.read_until("peer-joined");
    honest.read_until("peer-joined");

    constexpr int frames = 320;  // 20 MiB of 64 KiB frames
    std::atomic<int> got{0};
    std::thread reader([&] {
        while (got < frames) {
            auto m = honest.read(std::chrono::seconds(60));
            if (m.ec) return;
            if (!m.text) ++got;
        }
    });
    std::atomic<bool> stop{false};
    std::optional<std::uint16_t> trickler_close;
    std::thread slow([&] {
        // 64 KiB every 200 ms: 320 KiB/s, under send-min-rate, and never stalled.
        char buf[64 * 1024];
        while (!stop) {
            pollfd p{trickler.fd(), POLLIN, 0};
            if (::poll(&p, 1, 200) > 0) {
                auto n = ::recv(trickler.fd(), buf, sizeof buf, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN)) return;
                // A close frame from the server: 0x88 then its length byte, then the code.
                for (ssize_t i = 0; i + 3 < n; ++i)
                    if (static_cast<std::uint8_t>(buf[i]) == 0x88 && buf[i + 1] == 2) {
                        trickler_close = static_cast<std::uint16_t>(
                            (static_cast<std::uint8_t>(buf[i + 2]) << 8) |
                            static_cast<std::uint8_t>(buf[i + 3]));
                        return;
                    }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
    std::string const chunk(64 * KiB, 'c');
    for (int i = 0; i < frames; ++i)
        sender.send_binary(chunk, std::chrono::seconds(60));
    reader.join();
    // The trickler's session ends: a 1008 close frame, which waits behind the megabytes the
    // kernel already holds for it, then the close handshake's timeout.
    auto const end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (s.get().counters().websockets_open.load() > 2 && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
    slow.join();
    EXPECT_EQ(got.load(), frames) << "the honest receiver did not get everything";
    EXPECT_EQ(s.get().counters().close_slow_drain.load(), 1u) << s.get().counters().summary();
    EXPECT_EQ(s.get().counters().close_slow_reader.load(), 0u);  // it was never stalled
    EXPECT_EQ(s.get().counters().websockets_open.load(), 2) << "the trickler is still connected";
    if (trickler_close) EXPECT_EQ(*trickler_close, 1008);
}

TEST(Pings, ABurstOfPingsIsAnsweredWithOnePongForTheLatest) {
    running_server s;
    ws_client a(s.port());
    a.join("p");
    raw_ws b(s.port(), 4096);
    ASSERT_TRUE(b.join("p").is_object());
    a.read_until("peer-joined");
    a.send_binary(std::string(8 * MiB, 'x'));  // b's writes stall behind this
    pollfd p{b.fd(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 10000), 0);
    for (int i = 1; i <= 50; ++i)
        ASSERT_TRUE(b.send_raw(client_frame(0x9, "ping-" + std::to_string(i))));
    b.send_text("{}");  // a barrier: its error reply comes after whatever pong is queued
    std::vector<std::string> pongs;
    for (;;) {
        auto f = b.read_frame(std::chrono::seconds(20));
        ASSERT_TRUE(f);
        if (f->opcode == 0xA) pongs.push_back(f->payload);
        if (f->opcode == 0x1 && f->json().value("code", "") == "bad-message") break;
    }
    ASSERT_FALSE(pongs.empty());
    EXPECT_LE(pongs.size(), 2u);  // one may have been written before the stall
    EXPECT_EQ(pongs.back(), "ping-50") << "the pong must answer the latest ping";
}

TEST(Fragments, EveryContinuationFrameCountsAgainstTheMessageBudget) {
    auto cfg = test_config();
    cfg.max_messages_per_second = 100;
    running_server s(cfg);
    ws_client a(s.port());
    a.join("f");
    raw_ws b(s.port());
    ASSERT_TRUE(b.join("f").is_object());
    // One message of 2 000 one-byte fragments: 2 000 frames, 20 seconds of budget.
    std::string m = client_frame(0x2, "a", false);
    for (int i = 0; i < 1998; ++i)
        m += client_frame(0x0, "b", false);
    m += client_frame(0x0, "c", true);
    ASSERT_TRUE(b.send_raw(m));
    auto const end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (s.get().counters().rate_limited.load() == 0 && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_GE(s.get().counters().rate_limited.load(), 1u);
}

TEST(Ids, MemberIdsAreRandomNotACount) {
    running_server s;
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 40; ++i) {
        ws_client c(s.port());
        ids.push_back(c.join("ids" + std::to_string(i))["id"].get<std::uint64_t>());
    }
    std::set<std::uint64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), ids.size());
    int close_neighbours = 0;
    for (std::size_t i = 1; i < ids.size(); ++i) {
        auto const d = ids[i] > ids[i - 1] ? ids[i] - ids[i - 1] : ids[i - 1] - ids[i];
        if (d < 1000000) ++close_neighbours;
    }
    EXPECT_EQ(close_neighbours, 0) << "consecutive connections got nearby ids";
    EXPECT_GT(*std::max_element(ids.begin(), ids.end()), std::uint64_t{1} << 40);
    EXPECT_LT(*std::max_element(ids.begin(), ids.end()), std::uint64_t{1} << 53);  // JS-safe
}

TEST(Join, AlreadyThereListsTheSeatsThatAreAway) {
    running_server s;
    ws_client a(s.port());
    a.join("here");
    auto b = std::make_unique<ws_client>(s.port());
    b->join("here");
    auto const bid = b->id();
    a.read_until("peer-joined");
    b->drop();
    a.read_until("peer-away");
    a.send_json({{"type", "join"}, {"room", "here"}});
    auto j = a.read_until("joined");
    EXPECT_EQ(j["peers"], nlohmann::json::array({bid}));
    EXPECT_EQ(j["away"], nlohmann::json::array({bid}));
}

TEST(Addresses, AnIPv6Slash64CountsAsOneAddress) {
    // One host is given a whole /64: were each address counted alone, it could open as many
    // connections (and hold as many seats) as it likes.
    auto cfg = test_config();
    cfg.trusted_proxies = "127.0.0.1";
    cfg.max_connections_per_ip = 2;
    running_server s(cfg);
    auto via = [](char const* client) {
        return std::string("X-Forwarded-For: ") + client + "\r\n";
    };
    raw_ws one(s.port(), 0, via("2001:db8:1:2::1"));
    raw_ws two(s.port(), 0, via("2001:db8:1:2:aaaa:bbbb:cccc:dddd"));
    auto const third = raw_exchange(s.port(),
                                    "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                    "Sec-WebSocket-Version: 13\r\n" +
                                        via("2001:db8:1:2::3") + "\r\n");
    EXPECT_EQ(status_of(third), 429) << "a third address of the same /64 got in";
    EXPECT_NO_THROW(raw_ws elsewhere(s.port(), 0, via("2001:db8:1:3::1")));  // another /64
}
