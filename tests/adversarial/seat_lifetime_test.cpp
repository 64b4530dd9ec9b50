// Critical finding of the adversarial review: a parked seat freed the write still in flight.
// When a member's connection ended without leave/1000 while a write to it was half done,
// park_seat() MOVED the frames of that write into the away seat; the old socket kept writing
// from memory the seat then freed (when it overflowed, when a resumed connection had sent and
// released them, and at once for non-data frames). The attacker's own connection read back
// heap bytes, among them another room's relayed text. Under ASan: heap-use-after-free READ in
// sendmsg. Each test below builds that worst interleaving on purpose: the recipient's receive
// window is kept shut so the server's write to it stays half done, then the close arrives,
// then the seat lets go of its frames and other rooms churn the heap, and only then does the
// recipient read. Every byte it reads must be what was sent to it.
#include "support/raw_ws.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <poll.h>

using namespace roomcast;
using namespace roomcast::test;

namespace {

config lifetime_config() {
    auto c = test_config();
    c.resume_grace = std::chrono::seconds(60);
    c.resume_buffer_bytes = 256u << 10;  // small: the seat overflows on purpose
    c.max_held_bytes_per_ip = 64u << 20;
    c.close_timeout = std::chrono::seconds(60);  // the old socket stays open while we work
    c.send_timeout = std::chrono::seconds(60);
    c.send_high_water_bytes = 64u << 20;
    c.send_max_bytes = 128u << 20;
    c.max_message_bytes = 32u << 20;
    c.max_joins_per_minute = 0;
    c.max_messages_per_second = 0;
    return c;
}

// Larger than any loopback send buffer plus a 4 KiB receive window: the write cannot finish.
constexpr std::size_t big = 12u << 20;

std::string pattern_of(char c, std::size_t n) {
    return std::string(n, c);
}

/** Waits until the server has started writing to `c` (bytes are waiting in its socket). */
void wait_until_server_writes(raw_ws& c) {
    pollfd p{c.fd(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 10000), 0) << "the server never started writing";
}

/** Frees and reuses heap memory: two members of another room swap large text frames. */
void churn_another_room(std::uint16_t port) {
    ws_client x(port), y(port);
    x.join("elsewhere");
    y.join("elsewhere");
    for (int i = 0; i < 6; ++i) {
        std::string secret = "{\"type\":\"secret\",\"data\":\"" + pattern_of('S', big / 4) + "\"}";
        x.send_text(secret);
        auto m = y.read(std::chrono::seconds(20));
        ASSERT_FALSE(m.ec);
    }
}

/** Reads the frame the server was writing when the close came: it must be intact. */
void expect_intact(raw_ws& c, char fill, std::size_t n) {
    for (;;) {
        auto f = c.read_frame(std::chrono::seconds(30));
        ASSERT_TRUE(f) << "the connection ended before the frame in flight arrived";
        if (f->opcode != 0x2) continue;  // presence and replies before it
        ASSERT_EQ(f->payload.size(), n);
        std::size_t bad = 0;
        for (char ch : f->payload)
            bad += ch != fill;
        ASSERT_EQ(bad, 0u) << "bytes that were never sent to this connection";
        return;
    }
}

}  // namespace

TEST(SeatLifetime, AWriteInFlightSurvivesItsSeatOverflowing) {
    running_server s(lifetime_config());
    ws_client a(s.port());
    a.join("r1");
    raw_ws b(s.port(), 4096);
    ASSERT_TRUE(b.join("r1").is_object());
    a.read_until("peer-joined");

    a.send_binary(pattern_of('P', big));
    wait_until_server_writes(b);      // the 12 MiB write is half done and stays so
    ASSERT_TRUE(b.send_close(1001));  // a tab going away: the seat is held
    ASSERT_TRUE(a.read_until("peer-away", std::chrono::seconds(10)).is_object());
    // More than the seat may keep (the frame in flight alone is): it overflows and lets go of
    // every frame it had.
    a.send_binary(pattern_of('Q', 300u << 10));
    ASSERT_TRUE(a.read_until("peer-left", std::chrono::seconds(10)).is_object());
    churn_another_room(s.port());

    expect_intact(b, 'P', big);
    EXPECT_EQ(b.read_close(std::chrono::seconds(30)), 1001);
}

TEST(SeatLifetime, AWriteInFlightSurvivesAResumedConnectionReleasingItsFrames) {
    auto cfg = lifetime_config();
    cfg.resume_buffer_bytes = 32u << 20;  // room for the frame in flight: it is replayed
    running_server s(cfg);
    ws_client a(s.port());
    a.join("r1");
    raw_ws b(s.port(), 4096);
    auto jb = b.join("r1");
    ASSERT_TRUE(jb.is_object());
    auto const token = jb["resume"].get<std::string>();
    a.read_until("peer-joined");

    a.send_binary(pattern_of('P', big));
    wait_until_server_writes(b);
    ASSERT_TRUE(b.send_close(1001));
    ASSERT_TRUE(a.read_until("peer-away", std::chrono::seconds(10)).is_object());
    {
        // The same member comes back on a new connection: the frame is replayed to it, sent,
        // and released there, all while the old write is still half done.
        raw_ws b2(s.port());
        auto j = b2.join("r1", token);
        ASSERT_EQ(j["resumed"], true);
        expect_intact(b2, 'P', big);
        a.read_until("peer-back");
        b2.send_close(1000);
        b2.read_close();
    }
    churn_another_room(s.port());
    expect_intact(b, 'P', big);
}

TEST(SeatLifetime, AServerFrameBehindTheWriteInFlightIsNotFreedByTheSeat) {
    // The seat keeps only data frames: a server reply in the same gathered write used to be
    // freed the moment the seat was parked.
    running_server s(lifetime_config());
    ws_client a(s.port());
    a.join("r1");
    raw_ws b(s.port(), 4096);
    ASSERT_TRUE(b.join("r1").is_object());
    a.read_until("peer-joined");

    a.send_binary(pattern_of('0', big));  // batch 0: stalls
    wait_until_server_writes(b);
    a.send_binary(pattern_of('1', big));  // pending behind it
    a.barrier();                          // the server relayed both
    auto const errors = s.get().counters().protocol_errors.load();
    ASSERT_TRUE(b.send_text("{}"));  // its error reply queues behind frame 1
    auto const end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (s.get().counters().protocol_errors.load() == errors &&
           std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GT(s.get().counters().protocol_errors.load(), errors);
    // Reading frame 0 in full lets the next gathered write start: [frame 1, error], stalled
    // inside frame 1.
    expect_intact(b, '0', big);
    wait_until_server_writes(b);
    ASSERT_TRUE(b.send_close(1001));
    ASSERT_TRUE(a.read_until("peer-away", std::chrono::seconds(10)).is_object());
    churn_another_room(s.port());

    expect_intact(b, '1', big);
    auto f = b.read_frame(std::chrono::seconds(30));
    ASSERT_TRUE(f);
    ASSERT_EQ(f->opcode, 0x1);
    auto j = f->json();
    ASSERT_TRUE(j.is_object()) << "the error reply came back as garbage";
    EXPECT_EQ(j["type"], "error");
    EXPECT_EQ(j["code"], "bad-message");
}
