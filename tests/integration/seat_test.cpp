// A seat that survives the camera: peer-away, resume with a token, replay in order, release.
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <roomcast/rooms/room_registry.hpp>

#include <gtest/gtest.h>

using namespace roomcast;
using namespace roomcast::test;
using nlohmann::json;

namespace {

config seat_config(std::chrono::milliseconds grace) {
    auto c = test_config();
    c.resume_grace = grace;
    return c;
}

json join_resume(ws_client& c, std::string const& room, std::string const& token) {
    c.send_json({{"type", "join"}, {"room", room}, {"resume", token}});
    return c.read_until("joined");
}

}  // namespace

TEST(Seat, ADroppedMemberIsAwayThenLeftWhenGraceEnds) {
    running_server s(seat_config(std::chrono::milliseconds(300)));
    ws_client a(s.port());
    auto b = std::make_unique<ws_client>(s.port());
    a.join("cam");
    auto jb = b->join("cam");
    ASSERT_TRUE(jb["resume"].is_string());
    EXPECT_EQ(jb["resume"].get<std::string>().size(), 32u);
    auto const bid = b->id();
    EXPECT_EQ(a.read_until("peer-joined")["id"], bid);
    b->drop();
    EXPECT_EQ(a.read_until("peer-away")["id"], bid);
    EXPECT_EQ(a.read_until("peer-left", std::chrono::seconds(10))["id"], bid);
    EXPECT_EQ(s.get().counters().seats_expired.load(), 1u);
}

TEST(Seat, ResumeGivesTheSameIdAndReplaysEverythingInOrder) {
    running_server s(seat_config(std::chrono::seconds(30)));
    ws_client a(s.port());
    auto b = std::make_unique<ws_client>(s.port());
    a.join("cam");
    auto jb = b->join("cam");
    auto const bid = b->id();
    auto const token = jb["resume"].get<std::string>();
    a.read_until("peer-joined");
    b->drop();
    EXPECT_EQ(a.read_until("peer-away")["id"], bid);

    // While b is away, a keeps sending: text and binary, some large.
    std::vector<std::pair<bool, std::string>> sent;
    for (int i = 0; i < 6; ++i) {
        if (i % 2) {
            std::string bin(static_cast<std::size_t>(100000 * i), static_cast<char>('a' + i));
            a.send_binary(bin);
            sent.emplace_back(false, bin);
        } else {
            std::string text = json{{"type", "chunk"}, {"n", i}}.dump();
            a.send_text(text);
            sent.emplace_back(true, text);
        }
    }
    a.barrier();

    ws_client b2(s.port());
    auto j = join_resume(b2, "cam", token);
    EXPECT_EQ(j["resumed"], true);
    EXPECT_EQ(j["id"], bid);
    EXPECT_EQ(j["peers"], json::array({a.id()}));
    EXPECT_TRUE(j["away"].empty());
    ASSERT_TRUE(j["resume"].is_string());
    EXPECT_NE(j["resume"], token) << "the token is replaced on every resume";
    for (auto const& [text, data] : sent) {
        auto m = b2.read();
        ASSERT_FALSE(m.ec) << m.ec.message();
        EXPECT_EQ(m.text, text);
        EXPECT_TRUE(m.data == data);
    }
    EXPECT_EQ(a.read_until("peer-back")["id"], bid);
    // Live again: new frames arrive directly.
    a.send_text(R"({"type":"after"})");
    EXPECT_EQ(b2.read_json()["type"], "after");
    EXPECT_EQ(s.get().counters().seats_resumed.load(), 1u);
    // The old token is spent.
    ws_client b3(s.port());
    auto j3 = join_resume(b3, "cam", token);
    EXPECT_EQ(j3["resumed"], false);
    EXPECT_NE(j3["id"], bid);
}

TEST(Seat, AnUnknownTokenJoinsAfreshAndSeesTheAwaySeat) {
    running_server s(seat_config(std::chrono::seconds(30)));
    ws_client a(s.port());
    auto b = std::make_unique<ws_client>(s.port());
    a.join("cam");
    b->join("cam");
    auto const bid = b->id();
    b->drop();
    a.read_until("peer-away");
    ws_client c(s.port());
    auto j = join_resume(c, "cam", std::string(32, '0'));
    EXPECT_EQ(j["resumed"], false);
    EXPECT_NE(j["id"], bid);
    EXPECT_EQ(j["away"], json::array({bid}));
    auto peers = j["peers"].get<std::vector<std::uint64_t>>();
    EXPECT_EQ(peers.size(), 2u);
}

TEST(Seat, LeaveAndClose1000GiveTheSeatUpAtOnceButGoingAwayHoldsIt) {
    running_server s(seat_config(std::chrono::seconds(30)));
    ws_client a(s.port()), b(s.port()), c(s.port()), d(s.port());
    for (auto* x : {&a, &b, &c, &d})
        x->join("r");
    b.send_json({{"type", "leave"}});
    auto j = a.read_until("peer-left");
    EXPECT_EQ(j["id"], b.id());
    c.close(websocket::close_code::normal);
    j = a.read_until("peer-left");
    EXPECT_EQ(j["id"], c.id());
    d.close(websocket::close_code::going_away);
    j = a.read_until("peer-away");
    EXPECT_EQ(j["id"], d.id());
    EXPECT_EQ(s.get().rooms().held_count(), 1u);
}

TEST(Seat, AFullReplayBufferReleasesTheSeatAndCountsTheLoss) {
    auto cfg = seat_config(std::chrono::seconds(30));
    cfg.resume_buffer_bytes = 64u << 10;
    running_server s(cfg);
    ws_client a(s.port());
    auto b = std::make_unique<ws_client>(s.port());
    a.join("cam");
    auto token = b->join("cam")["resume"].get<std::string>();
    auto const bid = b->id();
    b->drop();
    a.read_until("peer-away");
    a.send_binary(std::string(40u << 10, 'x'));
    a.send_binary(std::string(40u << 10, 'y'));  // 80 KiB > 64 KiB
    EXPECT_EQ(a.read_until("peer-left", std::chrono::seconds(10))["id"], bid);
    EXPECT_EQ(s.get().counters().seats_overflowed.load(), 1u);
    EXPECT_GE(s.get().counters().frames_dropped.load(), 2u);
    ws_client b2(s.port());
    EXPECT_EQ(join_resume(b2, "cam", token)["resumed"], false);
}

TEST(Seat, AHeldSeatMakesWayForALiveMemberInAFullRoom) {
    // A seat can be parked by anyone who joined once, without keeping a connection: it must
    // never keep a live member out (16 parked seats used to make the owner's phone get
    // room-full for the whole grace period).
    auto cfg = seat_config(std::chrono::seconds(30));
    cfg.max_room_members = 2;
    running_server s(cfg);
    ws_client a(s.port());
    auto b = std::make_unique<ws_client>(s.port());
    a.join("two");
    auto token = b->join("two")["resume"].get<std::string>();
    auto const bid = b->id();
    b->drop();
    a.read_until("peer-away");
    ws_client c(s.port());
    auto jc = c.join("two");
    EXPECT_EQ(jc["peers"], json::array({a.id()}));
    EXPECT_EQ(a.read_until("peer-left")["id"], bid);
    EXPECT_EQ(a.read_until("peer-joined")["id"], c.id());
    EXPECT_EQ(s.get().counters().seats_evicted.load(), 1u);
    // The seat is gone: its token no longer resumes, and the room is full of live members.
    ws_client b2(s.port());
    b2.send_json({{"type", "join"}, {"room", "two"}, {"resume", token}});
    EXPECT_EQ(b2.read_json()["code"], "room-full");
}
