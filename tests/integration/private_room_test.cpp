// Private rooms against the real daemon: the host, lock, the lobby (knock, admit, deny),
// remove, admissions that let a device back in, a lock that outlives the host's closed tab, and
// every misuse of the host's requests. A newcomer in the lobby must get nothing of the room:
// each check of that reads up to an ordering barrier, so "nothing" means nothing was queued.
#include "support/metrics_scrape.hpp"
#include "support/raw_http.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <roomcast/rooms/room_registry.hpp>

#include <gtest/gtest.h>

#include <set>
#include <thread>

using namespace roomcast;
using namespace roomcast::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string get(std::uint16_t port, std::string const& target) {
    return raw_exchange(
        port, "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
}

config private_config() {
    auto c = test_config();
    c.max_joins_per_minute = 0;
    c.resume_grace = std::chrono::seconds(60);
    return c;
}

json join_with(ws_client& c, json fields) {
    fields["type"] = "join";
    c.send_json(fields);
    for (;;) {
        auto j = c.read_json();
        if (!j.is_object()) return j;
        auto const t = j.value("type", "");
        if (t == "joined" || t == "lobby" || t == "error") return j;
    }
}

// Every message that reached c before an ordering barrier, as JSON (binary: {"binary":n}).
std::vector<json> drain(ws_client& c) {
    std::vector<json> out;
    for (auto& m : c.barrier())
        out.push_back(m.text ? m.json() : json{{"binary", m.data.size()}});
    return out;
}

std::string error_code_of(ws_client& c, json const& request) {
    c.send_json(request);
    auto e = c.read_until("error");
    return e.is_object() ? e.value("code", "") : "(no error)";
}

// The close code c's connection ends with (reading and discarding what comes before).
int close_code_of(ws_client& c) {
    for (int i = 0; i < 100; ++i) {
        auto m = c.read();
        if (m.ec) return static_cast<int>(c.close_reason().code);
    }
    return -1;
}

// A host with a locked room and one more member in it.
struct locked_room {
    ws_client host;
    ws_client member;
    json host_joined;
    json member_joined;
    explicit locked_room(std::uint16_t port, std::string const& room = "priv")
        : host(port), member(port) {
        host_joined = join_with(host, {{"room", room}});
        member_joined = join_with(member, {{"room", room}});
        host.read_until("peer-joined");
        host.send_json({{"type", "lock"}});
        host.read_until("locked");
        member.read_until("locked");
    }
};

}  // namespace

TEST(PrivateRoom, TheMemberWhoseJoinCreatedTheRoomIsItsHost) {
    running_server s(private_config());
    ws_client a(s.port()), b(s.port());
    auto ja = join_with(a, {{"room", "r"}});
    ASSERT_EQ(ja.value("type", ""), "joined");
    EXPECT_EQ(ja["host"], ja["id"]);
    EXPECT_EQ(ja["locked"], false);
    EXPECT_GE(ja.value("host_token", "").size(), 32u);
    EXPECT_GE(ja.value("admission", "").size(), 32u);
    EXPECT_TRUE(ja["lobby"].is_array());
    auto jb = join_with(b, {{"room", "r"}});
    EXPECT_EQ(jb["host"], ja["id"]);
    EXPECT_FALSE(jb.contains("host_token")) << "only the host is given the host token";
    EXPECT_FALSE(jb.contains("lobby"));
    EXPECT_NE(jb.value("admission", ""), ja.value("admission", ""));
}

TEST(PrivateRoom, ANewcomerToALockedRoomWaitsAndGetsNothingOfTheRoom) {
    running_server s(private_config());
    locked_room room(s.port());
    ws_client stranger(s.port());
    auto j = join_with(stranger, {{"room", "priv"}, {"name", "Chrome on Android"}});
    ASSERT_EQ(j.value("type", ""), "lobby") << j.dump();
    EXPECT_EQ(j.value("room", ""), "priv");
    auto const sid = j["id"].get<std::uint64_t>();
    EXPECT_FALSE(j.contains("peers")) << "no presence of the members";

    auto knock = room.host.read_until("knock");
    ASSERT_TRUE(knock.is_object());
    EXPECT_EQ(knock["id"], sid);
    EXPECT_EQ(knock["name"], "Chrome on Android");

    // The room goes on: text, binary and presence. None of it reaches the newcomer.
    room.member.send_json({{"type", "image"}, {"data", "secret"}});
    room.member.send_binary(std::string(1000, 'x'));
    ws_client other(s.port());
    ASSERT_EQ(join_with(other, {{"room", "priv"}, {"admission", "nope"}}).value("type", ""),
              "lobby");
    room.member.close();
    EXPECT_EQ(room.host.read_until("image").value("data", ""), "secret");
    for (auto const& m : drain(stranger))
        ADD_FAILURE() << "the newcomer got " << m.dump();
    // Nor do the members hear of it.
    for (auto const& m : drain(room.host))
        EXPECT_NE(m.value("type", ""), "peer-joined") << m.dump();

    // And it can send nothing into the room.
    EXPECT_EQ(error_code_of(stranger, {{"type", "image"}, {"data", "x"}}), "in-lobby");
    stranger.send_binary("bytes");
    EXPECT_EQ(stranger.read_until("error").value("code", ""), "in-lobby");
    EXPECT_EQ(error_code_of(stranger, {{"type", "lock"}}), "in-lobby");
    for (auto const& m : drain(room.host))
        EXPECT_NE(m.value("type", ""), "image") << "relayed from the lobby: " << m.dump();
}

TEST(PrivateRoom, AdmittedNewcomersEnterWithAnAdmissionThatLetsThemBackLater) {
    running_server s(private_config());
    locked_room room(s.port());
    ws_client phone(s.port());
    auto const sid = join_with(phone, {{"room", "priv"}})["id"].get<std::uint64_t>();
    room.host.read_until("knock");
    room.host.send_json({{"type", "admit"}, {"id", sid}});
    auto joined = phone.read_until("joined");
    ASSERT_TRUE(joined.is_object());
    EXPECT_EQ(joined["id"], sid);
    EXPECT_EQ(joined["locked"], true);
    EXPECT_EQ(joined["host"], room.host_joined["id"]);
    EXPECT_EQ(joined["peers"].size(), 2u);
    auto const admission = joined.value("admission", "");
    ASSERT_FALSE(admission.empty());
    EXPECT_EQ(room.host.read_until("peer-joined")["id"], sid);
    EXPECT_EQ(room.member.read_until("peer-joined")["id"], sid);
    room.host.send_json({{"type", "photo"}, {"n", 1}});
    EXPECT_EQ(phone.read_until("photo")["n"], 1);

    // The tab is closed (no leave): another day, its admission lets it in without a knock.
    phone.close(beast::websocket::close_code::normal);
    room.host.read_until("peer-left");
    ws_client again(s.port());
    auto back = join_with(again, {{"room", "priv"}, {"admission", admission}});
    ASSERT_EQ(back.value("type", ""), "joined") << back.dump();
    auto const renewed = back.value("admission", "");
    EXPECT_FALSE(renewed.empty());
    EXPECT_NE(renewed, admission) << "an admission is spent when used";
    for (auto const& m : drain(room.host))
        EXPECT_NE(m.value("type", ""), "knock") << m.dump();
    // A copy of the spent one opens nothing.
    ws_client copy(s.port());
    EXPECT_EQ(join_with(copy, {{"room", "priv"}, {"admission", admission}}).value("type", ""),
              "lobby");

    // A deliberate leave gives the admission up: the next join knocks.
    again.send_json({{"type", "leave"}});
    again.read_until("left");
    ws_client later(s.port());
    EXPECT_EQ(join_with(later, {{"room", "priv"}, {"admission", renewed}}).value("type", ""),
              "lobby");
}

TEST(PrivateRoom, ADeniedNewcomerIsToldAndClosedWith4003) {
    running_server s(private_config());
    locked_room room(s.port());
    ws_client stranger(s.port());
    auto const sid = join_with(stranger, {{"room", "priv"}})["id"].get<std::uint64_t>();
    room.host.read_until("knock");
    room.host.send_json({{"type", "deny"}, {"id", sid}});
    EXPECT_EQ(room.host.read_until("denied")["id"], sid);
    auto d = stranger.read_until("denied");
    EXPECT_EQ(d.value("room", ""), "priv");
    EXPECT_EQ(close_code_of(stranger), 4003);
    EXPECT_EQ(error_code_of(room.host, {{"type", "admit"}, {"id", sid}}), "unknown-id");
    auto const m = scrape(s.port());
    EXPECT_EQ(sample(m, "roomcast_access_events_total{event=\"denied\"}"), 1);
    EXPECT_EQ(sample(m, "roomcast_access_events_total{event=\"knock\"}"), 1);
}

TEST(PrivateRoom, AKnockIsWithdrawnWhenTheNewcomerGoes) {
    running_server s(private_config());
    locked_room room(s.port());
    {
        ws_client stranger(s.port());
        auto const sid = join_with(stranger, {{"room", "priv"}})["id"].get<std::uint64_t>();
        EXPECT_EQ(room.host.read_until("knock")["id"], sid);
        stranger.drop();  // no close frame: the tab died
        EXPECT_EQ(room.host.read_until("knock-withdrawn")["id"], sid);
        EXPECT_EQ(error_code_of(room.host, {{"type", "admit"}, {"id", sid}}), "unknown-id");
    }
}

TEST(PrivateRoom, AHostStartingANewRoomSaysSoInItsRemoveAndOnlyTheServerTellsTheMember) {
    running_server s(private_config());
    ws_client host(s.port()), b(s.port()), c(s.port());
    join_with(host, {{"room", "r"}});
    auto const bid = join_with(b, {{"room", "r"}})["id"].get<std::uint64_t>();
    join_with(c, {{"room", "r"}});
    // A member cannot say it: the reason is in the server's own `removed`, never relayed.
    c.send_json({{"type", "removed"}, {"room", "r"}, {"reason", "room-ended"}});
    EXPECT_EQ(c.read_until("error")["code"], "reserved-type");
    host.send_json({{"type", "remove"}, {"id", bid}, {"reason", "room-ended"}});
    EXPECT_EQ(host.read_until("removed")["id"], bid);
    auto told = b.read_until("removed");
    EXPECT_EQ(told.value("room", ""), "r");
    EXPECT_EQ(told.value("reason", ""), "room-ended");
    EXPECT_EQ(close_code_of(b), 4004);
    EXPECT_EQ(error_code_of(host, {{"type", "remove"}, {"id", 12}, {"reason", "because"}}),
              "bad-message");
}

TEST(PrivateRoom, RemovingAMemberClosesItRevokesItsSeatAndAdmissionAndLocksTheRoom) {
    running_server s(private_config());
    ws_client host(s.port()), b(s.port()), c(s.port());
    auto jh = join_with(host, {{"room", "r"}});
    auto jb = join_with(b, {{"room", "r"}});
    join_with(c, {{"room", "r"}});
    auto const bid = jb["id"].get<std::uint64_t>();
    auto const resume = jb.value("resume", "");
    auto const admission = jb.value("admission", "");
    host.read_until("peer-joined");
    host.read_until("peer-joined");

    host.send_json({{"type", "remove"}, {"id", bid}});
    EXPECT_EQ(host.read_until("removed")["id"], bid);
    EXPECT_EQ(b.read_until("removed").value("room", ""), "r");
    EXPECT_EQ(close_code_of(b), 4004);
    auto left = c.read_until("peer-left");
    EXPECT_EQ(left["id"], bid);
    EXPECT_EQ(left["removed"], true);
    // The room was unlocked: a link alone would let it back, so removing locks it.
    EXPECT_TRUE(c.read_until("locked").is_object());
    EXPECT_TRUE(host.read_until("locked").is_object());

    // Neither its resume token, nor its admission, nor the link lets it back in.
    ws_client back(s.port());
    auto r1 = join_with(back, {{"room", "r"}, {"resume", resume}, {"admission", admission}});
    EXPECT_EQ(r1.value("type", ""), "lobby") << r1.dump();
    EXPECT_EQ(host.read_until("knock")["id"], r1["id"]);
    host.send_json({{"type", "photo"}});
    c.read_until("photo");
    for (auto const& m : drain(back))
        ADD_FAILURE() << "the removed device got " << m.dump();
    EXPECT_EQ(sample(scrape(s.port()), "roomcast_access_events_total{event=\"removed\"}"), 1);
    (void)jh;
}

TEST(PrivateRoom, UnlockLetsEveryoneWaitingIn) {
    running_server s(private_config());
    locked_room room(s.port());
    ws_client a(s.port()), b(s.port());
    auto const aid = join_with(a, {{"room", "priv"}})["id"].get<std::uint64_t>();
    auto const bid = join_with(b, {{"room", "priv"}})["id"].get<std::uint64_t>();
    room.host.send_json({{"type", "unlock"}});
    EXPECT_EQ(a.read_until("joined")["id"], aid);
    EXPECT_EQ(b.read_until("joined")["id"], bid);
    EXPECT_TRUE(room.member.read_until("unlocked").is_object());
    std::set<std::uint64_t> entered;
    for (int i = 0; i < 2; ++i)
        entered.insert(room.host.read_until("peer-joined")["id"].get<std::uint64_t>());
    EXPECT_EQ(entered, (std::set<std::uint64_t>{aid, bid}));
    ws_client c(s.port());
    EXPECT_EQ(join_with(c, {{"room", "priv"}}).value("type", ""), "joined");
}

TEST(PrivateRoom, EveryMisuseOfTheHostsRequestsHasItsError) {
    running_server s(private_config());
    ws_client loner(s.port());
    EXPECT_EQ(error_code_of(loner, {{"type", "lock"}}), "not-joined");
    EXPECT_EQ(error_code_of(loner, {{"type", "admit"}, {"id", 1}}), "not-joined");

    ws_client host(s.port()), member(s.port());
    auto jh = join_with(host, {{"room", "r"}});
    auto jm = join_with(member, {{"room", "r"}});
    auto const hid = jh["id"].get<std::uint64_t>();
    auto const mid = jm["id"].get<std::uint64_t>();
    // Not the host.
    for (auto const& req :
         {json{{"type", "lock"}}, json{{"type", "unlock"}}, json{{"type", "admit"}, {"id", hid}},
          json{{"type", "deny"}, {"id", hid}}, json{{"type", "remove"}, {"id", hid}}})
        EXPECT_EQ(error_code_of(member, req), "not-host") << req.dump();
    // Not locked; unknown ids; the host cannot remove itself.
    EXPECT_EQ(error_code_of(host, {{"type", "unlock"}}), "not-locked");
    EXPECT_EQ(error_code_of(host, {{"type", "admit"}, {"id", mid}}), "unknown-id");
    EXPECT_EQ(error_code_of(host, {{"type", "deny"}, {"id", 12345}}), "unknown-id");
    EXPECT_EQ(error_code_of(host, {{"type", "remove"}, {"id", 12345}}), "unknown-id");
    EXPECT_EQ(error_code_of(host, {{"type", "remove"}, {"id", hid}}), "unknown-id");
    // Malformed: no id, not an integer, negative, past 2^53; bad tokens; a long name.
    EXPECT_EQ(error_code_of(host, {{"type", "admit"}}), "bad-message");
    EXPECT_EQ(error_code_of(host, {{"type", "admit"}, {"id", "1"}}), "bad-message");
    EXPECT_EQ(error_code_of(host, {{"type", "deny"}, {"id", -1}}), "bad-message");
    EXPECT_EQ(error_code_of(host, {{"type", "remove"}, {"id", 1.5}}), "bad-message");
    EXPECT_EQ(error_code_of(host, {{"type", "remove"}, {"id", 9007199254740992ull}}),
              "bad-message");
    ws_client odd(s.port());
    EXPECT_EQ(error_code_of(odd, {{"type", "join"}, {"room", "r"}, {"host_token", "a b"}}),
              "bad-message");
    EXPECT_EQ(error_code_of(odd, {{"type", "join"}, {"room", "r"}, {"admission", 7}}),
              "bad-message");
    EXPECT_EQ(
        error_code_of(odd, {{"type", "join"}, {"room", "r"}, {"name", std::string(257, 'n')}}),
        "bad-message");
    // None of it was relayed.
    for (auto const& m : drain(member)) {
        auto const t = m.value("type", "");
        EXPECT_TRUE(t == "error" || t == "locked" || t == "peer-joined") << m.dump();
        EXPECT_NE(t, "lock");
    }
    // A wrong host token is no host token: the member joins as a member.
    ws_client guess(s.port());
    auto g = join_with(guess, {{"room", "r"}, {"host_token", std::string(32, 'a')}});
    EXPECT_EQ(g["host"], hid);
    EXPECT_FALSE(g.contains("host_token"));
}

TEST(PrivateRoom, ALobbyHoldsAtMostMaxLobbyNewcomers) {
    auto c = private_config();
    c.max_lobby = 2;
    running_server s(c);
    locked_room room(s.port());
    ws_client a(s.port()), b(s.port()), d(s.port());
    EXPECT_EQ(join_with(a, {{"room", "priv"}}).value("type", ""), "lobby");
    EXPECT_EQ(join_with(b, {{"room", "priv"}}).value("type", ""), "lobby");
    auto full = join_with(d, {{"room", "priv"}});
    EXPECT_EQ(full.value("code", ""), "lobby-full") << full.dump();
    // The connection lives on: another room is fine.
    EXPECT_EQ(join_with(d, {{"room", "elsewhere"}}).value("type", ""), "joined");
}

TEST(PrivateRoom, TheLockOutlivesTheHostsClosedTabAndTheHostFindsWhoWaited) {
    running_server s(private_config());
    std::string host_token;
    {
        locked_room room(s.port());
        host_token = room.host_joined.value("host_token", "");
        room.member.close();
        room.host.close();
    }
    // Nobody is in the room; it is kept, locked.
    auto const until = std::chrono::steady_clock::now() + 5s;
    while (sample(scrape(s.port()), "roomcast_rooms_dormant") != 1 &&
           std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(20ms);
    ASSERT_EQ(sample(scrape(s.port()), "roomcast_rooms_dormant"), 1);

    ws_client stranger(s.port());
    auto w = join_with(stranger, {{"room", "priv"}, {"name", "someone"}});
    ASSERT_EQ(w.value("type", ""), "lobby") << "a closed tab must not unlock the room";
    auto const sid = w["id"].get<std::uint64_t>();

    ws_client host(s.port());
    auto j = join_with(host, {{"room", "priv"}, {"host_token", host_token}});
    ASSERT_EQ(j.value("type", ""), "joined");
    EXPECT_EQ(j["host"], j["id"]);
    EXPECT_EQ(j["locked"], true);
    ASSERT_EQ(j["lobby"].size(), 1u);
    EXPECT_EQ(j["lobby"][0]["id"], sid);
    EXPECT_EQ(j["lobby"][0]["name"], "someone");
    host.send_json({{"type", "admit"}, {"id", sid}});
    EXPECT_EQ(stranger.read_until("joined")["id"], sid);
    EXPECT_EQ(sample(scrape(s.port()), "roomcast_rooms_dormant"), 0);
}

TEST(PrivateRoom, ARoomNamedByAHostTokenCannotBeSquattedWhoeverOpensItFirstWaitsForItsHolder) {
    running_server s(private_config());
    std::string const token = "0123456789abcdef0123456789abcdef";
    std::string const room = rooms::room_registry::host_room_name(token);
    ASSERT_EQ(room, "pf72d4d4e8099a1b49d4bd35a4809a69c");  // SHA-256 test vector (hashlib)
    // A former member knows the name; the room is gone (a restart, or let go): it opens it
    // first, offering a host token of its own choosing.
    ws_client first(s.port());
    first.send_json({{"type", "join"}, {"room", room}, {"host_token", "attackerchosen123"}});
    auto lf = first.read_until("lobby");
    EXPECT_EQ(lf["room"], room) << "it waits: it is not the host, and the room is locked";
    EXPECT_EQ(sample(scrape(s.port()), "roomcast_rooms_dormant"), 1);
    ws_client owner(s.port());
    auto jo = join_with(owner, {{"room", room}, {"host_token", token}});
    EXPECT_EQ(jo["host"], jo["id"]);
    EXPECT_EQ(jo["locked"], true);
    EXPECT_EQ(jo["host_token"], token);
    EXPECT_TRUE(jo["peers"].empty()) << jo.dump();
    ASSERT_EQ(jo["lobby"].size(), 1u) << jo.dump();
    EXPECT_EQ(jo["lobby"][0]["id"], lf["id"]);
    // Its chosen token does not make a second connection host either.
    ws_client second(s.port());
    second.send_json({{"type", "join"}, {"room", room}, {"host_token", "attackerchosen123"}});
    second.read_until("lobby");
    EXPECT_EQ(owner.read_until("knock")["id"].is_number(), true);
    owner.send_json({{"type", "deny"}, {"id", lf["id"]}});
    EXPECT_EQ(close_code_of(first), 4003);
}

TEST(PrivateRoom, ApiRoomMintsARoomItsHostTokenProvesAcrossARestart) {
    std::string room, token;
    {
        running_server s(private_config());
        auto r = get(s.port(), "/api/room");
        ASSERT_EQ(status_of(r), 200);
        EXPECT_NE(r.find("Cache-Control: no-store"), std::string::npos) << r;
        auto j = json::parse(body_of(r), nullptr, false);
        room = j.value("room", "");
        token = j.value("host_token", "");
        ASSERT_EQ(token.size(), 32u);
        EXPECT_EQ(room, rooms::room_registry::host_room_name(token));
        auto again = json::parse(body_of(get(s.port(), "/api/room")), nullptr, false);
        EXPECT_NE(again.value("host_token", ""), token) << "a fresh token every time";
    }
    // Another server (a restart): a phone comes back first; it waits for the desktop, whose
    // token makes it the host, and is asked about again (admissions died with the server).
    running_server s(private_config());
    ws_client phone(s.port()), desk(s.port());
    phone.send_json({{"type", "join"}, {"room", room}, {"name", "Chrome on Android"}});
    auto lp = phone.read_until("lobby");
    auto jd = join_with(desk, {{"room", room}, {"host_token", token}});
    EXPECT_EQ(jd["host"], jd["id"]);
    EXPECT_EQ(jd["host_token"], token);
    ASSERT_EQ(jd["lobby"].size(), 1u) << jd.dump();
    EXPECT_EQ(jd["lobby"][0]["name"], "Chrome on Android");
    desk.send_json({{"type", "admit"}, {"id", lp["id"]}});
    EXPECT_EQ(phone.read_until("joined")["host"], jd["id"]);
}

TEST(PrivateRoom, NewcomersStillWaitingWhenALockedEmptyRoomIsLetGoAreToldAndClosed) {
    auto c = private_config();
    c.room_retention = 300ms;
    c.resume_grace = 200ms;
    running_server s(c);
    ws_client stranger(s.port());
    {
        locked_room room(s.port());
        room.member.close();
        room.host.close();
        ASSERT_EQ(join_with(stranger, {{"room", "priv"}}).value("type", ""), "lobby");
    }
    auto closed = stranger.read_until("room-closed", 10s);
    EXPECT_EQ(closed.value("room", ""), "priv");
    EXPECT_EQ(close_code_of(stranger), 4005);
    // The room is gone: the next join creates it afresh, unlocked.
    ws_client next(s.port());
    auto j = join_with(next, {{"room", "priv"}});
    EXPECT_EQ(j["locked"], false);
    EXPECT_EQ(j["host"], j["id"]);
}

TEST(PrivateRoom, AResumedHostGetsItsTokenAndTheLobbyBack) {
    running_server s(private_config());
    locked_room room(s.port());
    auto const resume = room.host_joined.value("resume", "");
    ws_client stranger(s.port());
    auto const sid = join_with(stranger, {{"room", "priv"}})["id"].get<std::uint64_t>();
    room.host.read_until("knock");
    room.host.drop();
    room.member.read_until("peer-away");
    ws_client back(s.port());
    auto j = join_with(back, {{"room", "priv"}, {"resume", resume}});
    ASSERT_EQ(j.value("type", ""), "joined");
    EXPECT_EQ(j["resumed"], true);
    EXPECT_EQ(j["host"], j["id"]);
    EXPECT_EQ(j.value("host_token", ""), room.host_joined.value("host_token", ""));
    ASSERT_EQ(j["lobby"].size(), 1u);
    EXPECT_EQ(j["lobby"][0]["id"], sid);
}
