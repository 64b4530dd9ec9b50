// The abuse limits against the real server on loopback: origins, trusted proxies, message and
// byte rates, join attempts. Each limit is shown to bite, to be counted, and to leave the
// connection usable. Nothing here asserts a timing.
#include "support/raw_http.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <thread>

using namespace roomcast;
using namespace roomcast::test;
using json = nlohmann::json;

namespace {

std::string upgrade_request(std::uint16_t port, std::string const& extra) {
    return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           extra + "\r\n";
}

}  // namespace

TEST(Origins, AForeignPageGets403AndIsCounted) {
    running_server s;
    auto const reply =
        raw_exchange(s.port(), upgrade_request(s.port(), "Origin: https://evil.example\r\n"));
    EXPECT_EQ(status_of(reply), 403) << reply;
    EXPECT_NE(body_of(reply).find("origin not allowed"), std::string::npos);
    EXPECT_EQ(s.get().counters().upgrades_refused_origin.load(), 1u);
    EXPECT_EQ(metric(s.port(), "roomcast_upgrades_refused_origin_total"), 1);
    // "null" (sandboxed frames, file: pages) is foreign too.
    EXPECT_EQ(status_of(raw_exchange(s.port(), upgrade_request(s.port(), "Origin: null\r\n"))),
              403);
}

TEST(Origins, OwnOriginPublicUrlAndListedOriginsAreAllowed) {
    auto cfg = test_config();
    cfg.public_url = "https://photos.example.com";
    cfg.allowed_origins = "https://friend.example";
    running_server s(cfg);
    std::string const own = "http://127.0.0.1:" + std::to_string(s.port());
    for (auto const& origin :
         {own, std::string("https://photos.example.com"), std::string("https://friend.example")}) {
        // (Host as a browser sends it, with the port; throws if the upgrade is refused.)
        ws_client c(s.port(),
                    {{"Host", "127.0.0.1:" + std::to_string(s.port())}, {"Origin", origin}});
        EXPECT_EQ(c.join("o")["type"], "joined") << origin;
    }
    ws_client no_origin(s.port());  // not a browser: no Origin, allowed
    EXPECT_EQ(no_origin.join("o")["type"], "joined");
    EXPECT_THROW(ws_client(s.port(), {{"Origin", "https://stranger.example"}}), std::runtime_error);
    EXPECT_EQ(s.get().counters().upgrades_refused_origin.load(), 1u);
}

TEST(Origins, StarAllowsAnyOrigin) {
    auto cfg = test_config();
    cfg.allowed_origins = "*";
    running_server s(cfg);
    ws_client c(s.port(), {{"Origin", "https://anywhere.example"}});
    EXPECT_EQ(c.join("o")["type"], "joined");
}

TEST(TrustedProxies, ForwardedClientsAreLimitedEachOnTheirOwn) {
    auto cfg = test_config();
    cfg.trusted_proxies = "127.0.0.1";
    cfg.max_connections_per_ip = 1;
    running_server s(cfg);
    // Three upgrades through "the proxy" (127.0.0.1): two different clients pass, though the
    // proxy's own address is far over the per-address limit of 1 ...
    ws_client a(s.port(), {{"X-Forwarded-For", "203.0.113.1"}});
    ws_client b(s.port(), {{"X-Forwarded-For", "198.51.100.7, 203.0.113.2"}});
    EXPECT_EQ(a.join("p")["type"], "joined");
    EXPECT_EQ(b.join("p")["type"], "joined");
    // ... and a second connection of one client is refused with 429, and counted.
    auto const rejected = s.get().counters().connections_rejected.load();
    auto const reply = raw_exchange(
        s.port(), upgrade_request(s.port(), "X-Forwarded-For: 10.9.9.9, 203.0.113.1\r\n"));
    EXPECT_EQ(status_of(reply), 429) << reply;
    EXPECT_EQ(s.get().counters().connections_rejected.load(), rejected + 1);
}

TEST(TrustedProxies, ForwardedForFromAnUntrustedPeerIsIgnored) {
    auto cfg = test_config();
    cfg.max_connections_per_ip = 1;  // no trusted proxies: every client is its TCP peer
    running_server s(cfg);
    ws_client a(s.port(), {{"X-Forwarded-For", "203.0.113.1"}});
    EXPECT_EQ(a.join("p")["type"], "joined");
    // Claiming another address does not help: 127.0.0.1 already has its one connection.
    EXPECT_THROW(ws_client(s.port(), {{"X-Forwarded-For", "203.0.113.2"}}), std::runtime_error);
}

TEST(JoinLimit, AttemptsPerAddressAreCappedTheConnectionLivesOn) {
    auto cfg = test_config();
    cfg.max_joins_per_minute = 3;
    running_server s(cfg);
    ws_client c(s.port());
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(c.join("room-" + std::to_string(i))["type"], "joined") << i;
    c.send_json({{"type", "join"}, {"room", "room-3"}});
    auto const err = c.read_until("error");
    EXPECT_EQ(err["code"], "rate-limited");
    EXPECT_GT(err["retry_after_ms"].get<std::int64_t>(), 0);
    // The limit is the address's, not the connection's: a new connection is refused too.
    ws_client d(s.port());
    d.send_json({{"type", "join"}, {"room", "room-0"}});
    EXPECT_EQ(d.read_until("error")["code"], "rate-limited");
    // The first connection is still in room-2 and still works.
    c.send_json({{"type", "leave"}});
    EXPECT_EQ(c.read_until("left")["room"], "room-2");
    EXPECT_EQ(s.get().counters().joins_refused.load(), 2u);
    EXPECT_EQ(metric(s.port(), "roomcast_errors_total{code=\"rate-limited\"}"), 2);
}

TEST(JoinLimit, BehindATrustedProxyEachClientHasItsOwnBudget) {
    auto cfg = test_config();
    cfg.max_joins_per_minute = 1;
    cfg.trusted_proxies = "127.0.0.0/8";
    running_server s(cfg);
    ws_client a(s.port(), {{"X-Forwarded-For", "203.0.113.1"}});
    ws_client b(s.port(), {{"X-Forwarded-For", "203.0.113.2"}});
    EXPECT_EQ(a.join("j")["type"], "joined");
    EXPECT_EQ(b.join("j")["type"], "joined");
    a.send_json({{"type", "join"}, {"room", "k"}});
    EXPECT_EQ(a.read_until("error")["code"], "rate-limited");
}

TEST(RateLimit, AFastSenderIsSlowedNotDroppedAndEveryMessageArrives) {
    auto cfg = test_config();
    cfg.max_messages_per_second = 20;  // burst 20: 100 messages take ~4 s of budget
    running_server s(cfg);
    ws_client sender(s.port()), receiver(s.port());
    sender.join("r");
    receiver.join("r");
    sender.read_until("peer-joined");
    constexpr int n = 100;
    for (int i = 0; i < n; ++i)
        sender.send_json({{"type", "n"}, {"i", i}});
    for (int i = 0; i < n; ++i) {
        auto const j = receiver.read_until("n", std::chrono::seconds(30));
        ASSERT_EQ(j["i"], i);
    }
    // All 100 may arrive in one read, and what one read holds is relayed before the session
    // checks its budget: the receiver may hold message 99 before the counter moves. A message
    // sent now is read only after that check has run (one strand per connection, reads in
    // order), so receiving it orders the counter before the assertion.
    sender.send_json({{"type", "after"}});
    receiver.read_until("after", std::chrono::seconds(30));
    EXPECT_GT(s.get().counters().rate_limited.load(), 0u);
    EXPECT_GT(metric(s.port(), "roomcast_rate_limited_total"), 0);
    EXPECT_EQ(s.get().counters().frames_dropped.load(), 0u);
    // Still open, still relaying.
    receiver.send_json({{"type", "back"}});
    EXPECT_EQ(sender.read_until("back")["type"], "back");
}

TEST(RateLimit, BytesPerSecondSlowsALargeSenderAndLosesNothing) {
    auto cfg = test_config();
    cfg.max_bytes_per_second = 256u << 10;
    running_server s(cfg);
    ws_client sender(s.port()), receiver(s.port());
    sender.join("b");
    receiver.join("b");
    sender.read_until("peer-joined");
    std::string payload(128u << 10, 'x');
    for (int i = 0; i < 8; ++i) {  // 1 MiB at 256 KiB/s
        payload[0] = static_cast<char>('a' + i);
        sender.send_binary(payload, std::chrono::seconds(30));
    }
    for (int i = 0; i < 8; ++i) {
        ws_message m;
        do {
            m = receiver.read(std::chrono::seconds(30));
            ASSERT_FALSE(m.ec) << m.ec.message();
        } while (m.text);
        ASSERT_EQ(m.data.size(), payload.size());
        EXPECT_EQ(m.data[0], static_cast<char>('a' + i));
    }
    EXPECT_GT(s.get().counters().rate_limited.load(), 0u);
}

TEST(RelayLatency, EachDeliveryIsObservedInTheHistogram) {
    running_server s;
    ws_client a(s.port()), b(s.port()), c(s.port());
    a.join("h");
    b.join("h");
    c.join("h");
    a.read_until("peer-joined");
    a.read_until("peer-joined");
    for (int i = 0; i < 5; ++i)
        a.send_json({{"type", "t"}, {"i", i}});
    for (int i = 0; i < 5; ++i) {
        b.read_until("t");
        c.read_until("t");
    }
    // 5 messages × 2 recipients; the server's own frames (joined, peer-joined) are not relays.
    // A write is observed when its completion runs, which may be just after the client read
    // the bytes: wait (bounded) for the count rather than race it.
    std::string text;
    std::smatch m;
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::regex const count("roomcast_relay_latency_seconds_count (\\d+)");
    for (;;) {
        text = body_of(raw_exchange(s.port(),
                                    "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
                                    "Connection: close\r\n\r\n"));
        if ((std::regex_search(text, m, count) && m[1] == "10") ||
            std::chrono::steady_clock::now() >= deadline)
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(std::regex_search(text, m, count)) << text;
    EXPECT_EQ(std::stoi(m[1]), 10);
    EXPECT_NE(text.find("roomcast_relay_latency_seconds_bucket{le=\"+Inf\"} 10"),
              std::string::npos);
}

TEST(Admission, TheTotalConnectionLimitAnswers503AndFreesOnClose) {
    auto cfg = test_config();
    cfg.max_connections = 2;
    running_server s(cfg);
    auto a = std::make_unique<ws_client>(s.port());
    ws_client b(s.port());
    auto const reply = raw_exchange(s.port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    EXPECT_EQ(status_of(reply), 503) << reply;
    EXPECT_NE(reply.find("Retry-After"), std::string::npos);
    EXPECT_EQ(s.get().counters().connections_rejected.load(), 1u);
    // A closed connection gives its place back (the close completes asynchronously).
    a->close();
    a.reset();
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (status != 200 && std::chrono::steady_clock::now() < deadline) {
        status = status_of(raw_exchange(
            s.port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(status, 200);
}
