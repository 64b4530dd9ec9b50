// The relay against the real server on 127.0.0.1:0 with real WebSocket clients.
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <roomcast/rooms/room_registry.hpp>

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

using namespace roomcast;
using namespace roomcast::test;
using nlohmann::json;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xFF);
    return s;
}

std::string error_code_of(json const& j) {
    return j.is_object() && j.value("type", "") == "error" ? j.value("code", "") : "";
}

}  // namespace

TEST(Relay, JoinRepliesWithIdAndPeersAndAnnounces) {
    running_server s;
    ws_client a(s.port()), b(s.port());
    auto ja = a.join("room-1");
    ASSERT_EQ(ja["type"], "joined");
    EXPECT_EQ(ja["room"], "room-1");
    EXPECT_TRUE(ja["peers"].empty());
    auto jb = b.join("room-1");
    ASSERT_EQ(jb["type"], "joined");
    EXPECT_EQ(jb["peers"], json::array({a.id()}));
    EXPECT_NE(a.id(), b.id());
    auto pj = a.read_json();
    EXPECT_EQ(pj["type"], "peer-joined");
    EXPECT_EQ(pj["id"], b.id());
}

TEST(Relay, TextRelayReachesEveryOtherMemberUnchangedAndNeverTheSender) {
    running_server s;
    ws_client a(s.port()), b(s.port()), c(s.port());
    a.join("r");
    b.join("r");
    c.join("r");
    // Weird but valid JSON: the bytes must come out exactly as they went in.
    std::string const frame =
        R"({ "type":"image" ,"data":"data:image/png;base64,iVBOR\u00e9w0=","x":[1,{"y":null}] })";
    a.send_text(frame);
    // The sender's barrier first: once it returns, the frame sits in every recipient's queue.
    for (auto& m : a.barrier())
        EXPECT_NE(m.json().value("type", ""), "image") << m.data;
    for (auto* r : {&b, &c}) {
        auto got = r->barrier();
        std::vector<std::string> texts;
        for (auto& m : got)
            if (m.json().value("type", "") == "image") texts.push_back(m.data);
        ASSERT_EQ(texts.size(), 1u);
        EXPECT_EQ(texts[0], frame);
    }
}

TEST(Relay, ForgedServerFramesAreRefusedAndNeverReachThePeers) {
    running_server s;
    ws_client a(s.port()), b(s.port());
    a.join("forge");
    b.join("forge");
    a.read_until("peer-joined");
    std::string const big(1u << 20, 'A');
    std::vector<std::string> const forged = {
        R"({"type":"peer-left","id":1})",
        R"({"type":"joined","room":"forge","id":1,"peers":[],"resume":"mine"})",
        R"({"type":"error","code":"room-full","message":"x"})",
        R"({"t\u0079pe":"peer\u002dleft","id":1})",
        R"({"type":"image","type":"peer-away","id":1})",
        "\xEF\xBB\xBF{\"type\":\"kicked\"}",
        R"({"data":")" + big + R"(","type":"taken-over"})",
    };
    for (auto const& f : forged) {
        a.send_text(f);
        EXPECT_EQ(error_code_of(a.read_json()), "reserved-type") << f.substr(0, 80);
    }
    // A nested server type is data, and is relayed.
    std::string const nested = R"({"type":"image","data":{"type":"peer-left","id":1}})";
    a.send_text(nested);
    a.barrier();
    auto got = b.barrier();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, nested);
}

TEST(Relay, BinaryRelayIsByteForByte) {
    running_server s;
    ws_client a(s.port()), b(s.port());
    a.join("bin");
    b.join("bin");
    a.read_until("peer-joined");
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{125}, std::size_t{126},
                             std::size_t{65535}, std::size_t{65536}, std::size_t{3u << 20}}) {
        auto const payload = random_bytes(size, static_cast<unsigned>(size));
        a.send_binary(payload);
        auto m = b.read(10s);
        ASSERT_FALSE(m.ec) << m.ec.message();
        EXPECT_FALSE(m.text);
        EXPECT_EQ(m.data.size(), payload.size());
        EXPECT_TRUE(m.data == payload) << "size " << size;
    }
    for (auto& m : a.barrier())
        EXPECT_TRUE(m.text) << "binary echoed to sender";
}

TEST(Relay, RoomsAreIsolated) {
    running_server s;
    ws_client a(s.port()), b(s.port()), c(s.port()), d(s.port());
    a.join("one");
    b.join("one");
    c.join("two");
    d.join("two");
    a.send_text(R"({"type":"image","data":"for room one"})");
    a.barrier();  // a's frame has been delivered to every queue it was going to reach
    d.send_text(R"({"type":"image","data":"for room two"})");
    d.barrier();
    auto got = c.barrier();
    for (auto& m : got)
        EXPECT_EQ(m.data.find("room one"), std::string::npos) << m.data;
    bool saw_two = false;
    for (auto& m : got)
        saw_two |= m.data.find("room two") != std::string::npos;
    EXPECT_TRUE(saw_two);
    bool saw_one = false;
    for (auto& m : b.barrier())
        saw_one |= m.data.find("room one") != std::string::npos;
    EXPECT_TRUE(saw_one);
}

TEST(Relay, PresenceOnLeaveCloseAndDrop) {
    running_server s;
    ws_client a(s.port()), b(s.port()), c(s.port());
    auto d = std::make_unique<ws_client>(s.port());
    a.join("p");
    b.join("p");
    c.join("p");
    d->join("p");
    auto const bid = b.id(), cid = c.id(), did = d->id();

    b.send_json({{"type", "leave"}});
    auto left = b.read_until("left");
    EXPECT_EQ(left["room"], "p");
    auto pl = a.read_until("peer-left");
    EXPECT_EQ(pl["id"], bid);

    c.close();
    pl = a.read_until("peer-left");
    EXPECT_EQ(pl["id"], cid);

    d->drop();  // no close frame: the seat is held for it (tests/integration/seat_test.cpp)
    pl = a.read_until("peer-away");
    EXPECT_EQ(pl["id"], did);

    // Leaving twice is an error, and the connection lives on.
    b.send_json({{"type", "leave"}});
    EXPECT_EQ(error_code_of(b.read_json()), "not-joined");
    EXPECT_EQ(b.join("p")["type"], "joined");
}

TEST(Relay, EveryErrorIsAnsweredAndTheConnectionLivesOn) {
    auto cfg = test_config();
    cfg.max_room_members = 2;
    running_server s(cfg);
    ws_client a(s.port());

    struct bad {
        std::string frame;
        std::string code;
    };
    std::vector<bad> const cases = {
        {"{", "bad-json"},
        {"not json", "bad-json"},
        {R"({"type":"join","room":"x"} trailing)", "bad-json"},
        {"[]", "bad-message"},
        {"42", "bad-message"},
        {R"("join")", "bad-message"},
        {"{}", "bad-message"},
        {R"({"type":1})", "bad-message"},
        {R"({"type":null})", "bad-message"},
        {R"({"type":"join"})", "bad-message"},
        {R"({"type":"join","room":5})", "bad-message"},
        {R"({"type":"join","room":"r","resume":7})", "bad-message"},
        {R"({"type":"join","room":""})", "bad-room"},
        {R"({"type":"join","room":"a/b"})", "bad-room"},
        {R"({"type":"join","room":"../x"})", "bad-room"},
        {R"({"type":"join","room":"caf\u00e9"})", "bad-room"},
        {R"({"type":"join","room":")" + std::string(129, 'a') + "\"}", "bad-room"},
        {R"({"type":"image","data":"x"})", "not-joined"},
        {R"({"type":"leave"})", "not-joined"},
    };
    for (auto const& c : cases) {
        a.send_text(c.frame);
        auto j = a.read_json();
        EXPECT_EQ(error_code_of(j), c.code) << c.frame << " -> " << j.dump();
        EXPECT_TRUE(j.contains("message"));
    }
    a.send_binary("raw");
    EXPECT_EQ(error_code_of(a.read_json()), "not-joined");

    // A 128-character room is fine.
    EXPECT_EQ(a.join(std::string(128, 'Z'))["type"], "joined");
    ws_client b(s.port()), c(s.port());
    EXPECT_EQ(b.join("full")["type"], "joined");
    EXPECT_EQ(c.join("full")["type"], "joined");
    ws_client d(s.port());
    d.join(std::string(128, 'Z'));  // a's current room
    a.read_until("peer-joined");
    a.send_json({{"type", "join"}, {"room", "full"}});
    EXPECT_EQ(error_code_of(a.read_json()), "room-full");
    // Still in its old room after a refused join: d still hears it, and no peer-left came.
    a.send_text(R"({"type":"still-here"})");
    a.barrier();
    bool heard = false;
    for (auto& m : d.barrier()) {
        EXPECT_NE(m.json().value("type", ""), "peer-left");
        heard |= m.json().value("type", "") == "still-here";
    }
    EXPECT_TRUE(heard);
    EXPECT_EQ(a.join("elsewhere")["type"], "joined");
}

TEST(Relay, OversizedMessageClosesWith1009) {
    auto cfg = test_config();
    cfg.max_message_bytes = 1024;
    cfg.send_max_bytes = 1u << 20;
    cfg.send_high_water_bytes = 64u << 10;
    running_server s(cfg);
    ws_client a(s.port()), b(s.port());
    a.join("big");
    b.join("big");
    a.send_binary(std::string(1024, 'x'));  // exactly the limit: relayed
    auto m = b.read();
    ASSERT_FALSE(m.ec);
    EXPECT_EQ(m.data.size(), 1024u);
    a.send_binary(std::string(1025, 'x'));
    ws_message r;
    for (int i = 0; i < 10 && !r.ec; ++i)
        r = a.read(5s);  // skip peer-joined
    ASSERT_TRUE(r.ec);
    EXPECT_EQ(r.ec, websocket::error::closed);
    EXPECT_EQ(a.close_reason().code, 1009);
    auto pl = b.read_until("peer-left");
    EXPECT_EQ(pl["id"], a.id());
    EXPECT_EQ(s.get().counters().close_too_big.load(), 1u);
}

TEST(Relay, SwitchingRoomsMovesTheConnection) {
    running_server s;
    ws_client a(s.port()), b(s.port()), c(s.port());
    a.join("r1");
    b.join("r1");
    c.join("r2");
    a.read_until("peer-joined");
    auto j = a.join("r2");
    ASSERT_EQ(j["type"], "joined");
    EXPECT_EQ(j["room"], "r2");
    EXPECT_EQ(j["peers"], json::array({c.id()}));
    EXPECT_EQ(b.read_until("peer-left")["id"], a.id());
    EXPECT_EQ(c.read_until("peer-joined")["id"], a.id());
    // Joining the room it is in changes nothing and answers again.
    auto again = a.join("r2");
    EXPECT_EQ(again["type"], "joined");
    EXPECT_EQ(again["id"], j["id"]);
    a.send_text(R"({"type":"image","data":"in r2"})");
    a.barrier();
    for (auto& m : b.barrier())
        EXPECT_EQ(m.data.find("in r2"), std::string::npos);
}

TEST(Relay, HundredsOfClientsInManyRoomsWithNoCrossTalk) {
    auto cfg = test_config();
    cfg.max_joins_per_minute = 0;  // 240 joins from one address in a second
    running_server s(cfg);
    constexpr int rooms = 60, per_room = 4;
    std::vector<std::unique_ptr<ws_client>> clients;
    for (int r = 0; r < rooms; ++r)
        for (int i = 0; i < per_room; ++i) {
            clients.push_back(std::make_unique<ws_client>(s.port()));
            ASSERT_EQ(clients.back()->join("room-" + std::to_string(r))["type"], "joined");
        }
    // Everyone sends one tagged frame.
    for (std::size_t k = 0; k < clients.size(); ++k)
        clients[k]->send_json({{"type", "tag"}, {"room", int(k) / per_room}, {"from", int(k)}});
    // Barrier 1 on everyone: every tagged frame has been handed to its recipients' queues.
    std::vector<std::vector<json>> got(clients.size());
    for (std::size_t k = 0; k < clients.size(); ++k)
        for (auto& m : clients[k]->barrier())
            got[k].push_back(m.json());
    // Barrier 2: collects the rest, in order, with nothing left in flight.
    for (std::size_t k = 0; k < clients.size(); ++k)
        for (auto& m : clients[k]->barrier())
            got[k].push_back(m.json());

    for (std::size_t k = 0; k < clients.size(); ++k) {
        std::set<int> from;
        for (auto const& j : got[k]) {
            if (j.value("type", "") != "tag") continue;
            EXPECT_EQ(j["room"], int(k) / per_room) << "cross talk into client " << k;
            EXPECT_NE(j["from"], int(k)) << "echo to client " << k;
            EXPECT_TRUE(from.insert(j["from"].get<int>()).second) << "duplicate";
        }
        EXPECT_EQ(from.size(), std::size_t{per_room - 1}) << "client " << k;
    }
    EXPECT_EQ(s.get().rooms().room_count(), std::size_t{rooms});
    EXPECT_EQ(s.get().rooms().member_count(), std::size_t{rooms * per_room});
}

TEST(Relay, ServerPingsAndClosesAConnectionThatNeverAnswers) {
    auto cfg = test_config();
    cfg.ping_interval = std::chrono::milliseconds(100);
    cfg.ping_timeout = std::chrono::milliseconds(200);
    running_server s(cfg);

    // A raw client that completes the upgrade and then never reads or answers a ping.
    net::io_context ioc;
    tcp::socket raw(ioc);
    raw.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), s.port()));
    std::string const req =
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    net::write(raw, net::buffer(req));

    // A real client keeps answering pings while it reads.
    ws_client alive(s.port());
    alive.join("hb");
    auto const deadline = std::chrono::steady_clock::now() + 10s;
    while (s.get().counters().close_heartbeat.load() == 0 &&
           std::chrono::steady_clock::now() < deadline)
        alive.barrier();  // reading keeps Beast answering pings
    EXPECT_EQ(s.get().counters().close_heartbeat.load(), 1u);
    // The live client is still served.
    EXPECT_EQ(alive.join("hb2")["type"], "joined");
}
