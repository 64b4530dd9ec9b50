// The registry's access rules alone (rooms/room_access.cpp), with fake peers: who hosts, who
// waits, what a lobby member receives (nothing), the caps on lobbies, admissions and dormant
// rooms, and the races between the host's decisions and a newcomer going.
#include <roomcast/rooms/room_registry.hpp>

#include <roomcast/protocol/errc.hpp>
#include <roomcast/protocol/frame.hpp>
#include <roomcast/rooms/away_seat.hpp>
#include <roomcast/rooms/peer.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using roomcast::protocol::errc;
using roomcast::protocol::make_frame;
using roomcast::rooms::access_change;
using roomcast::rooms::access_limits;
using roomcast::rooms::join_access;
using roomcast::rooms::peer;
using roomcast::rooms::room_handle;
using roomcast::rooms::room_registry;

class fake_peer final : public peer {
  public:
    explicit fake_peer(std::uint64_t id) : id_(id) {}
    std::uint64_t id() const noexcept override { return id_; }
    void deliver(roomcast::protocol::frame_ptr const&) override { ++frames; }
    void access_event(access_change what, room_handle const&) override {
        std::lock_guard lock(mutex);
        events.push_back(what);
    }
    std::atomic<int> frames{0};
    std::mutex mutex;
    std::vector<access_change> events;

  private:
    std::uint64_t id_;
};

std::shared_ptr<fake_peer> make(std::uint64_t id) {
    return std::make_shared<fake_peer>(id);
}

join_access fresh(std::string admission = "adm", std::string host = "hosttoken") {
    join_access a;
    a.fresh_admission = std::move(admission);
    a.fresh_host_token = std::move(host);
    return a;
}

// A join that brings `admission` (and is given `fresh_one` if that is spent or refused).
join_access bringing(std::string admission, std::string fresh_one) {
    join_access a = fresh(std::move(fresh_one));
    a.admission = std::move(admission);
    return a;
}

}  // namespace

TEST(RoomAccess, AHostTokenDerivesItsRoomNameWithSha256) {
    // Vectors from Python: "p" + hashlib.sha256(b"roomcast host v1\0" + T).hexdigest()[:32]
    EXPECT_EQ(room_registry::host_room_name("abc"), "pbf7ddc260468903bdb6991624e4087e4");
    EXPECT_EQ(room_registry::host_room_name("0123456789abcdef0123456789abcdef"),
              "pf72d4d4e8099a1b49d4bd35a4809a69c");
    EXPECT_NE(room_registry::host_room_name("abd"), room_registry::host_room_name("abc"));
    EXPECT_TRUE(room_registry::is_host_room_name(room_registry::host_room_name("abc")));
    for (auto name : {"bf7ddc260468903bdb6991624e4087e4", "pbf7ddc260468903bdb6991624e4087e",
                      "pBF7DDC260468903BDB6991624E4087E4", "qbf7ddc260468903bdb6991624e4087e4",
                      "pbf7ddc260468903bdb6991624e4087e4a", "kitchen-42"})
        EXPECT_FALSE(room_registry::is_host_room_name(name)) << name;
}

TEST(RoomAccess, ARoomNamedByAHostTokenIsNobodysElseWhoeverCreatesItWaitsForItsHolder) {
    // After a restart (or once its dormant state was let go) the room does not exist; a former
    // member who knows its name must not create it, host it and let in whom it likes.
    room_registry reg(8);
    std::string const token = "0123456789abcdef0123456789abcdef";
    std::string const name = room_registry::host_room_name(token);
    auto squatter = make(1), stranger = make(2), owner = make(3);
    join_access own_token = fresh("a1", "squattertoken");
    own_token.host_token = "squattertoken";  // a token of its own choosing
    auto js = reg.join(name, squatter, "t1", own_token);
    ASSERT_TRUE(js);
    EXPECT_TRUE(js->in_lobby) << "it waits: the room is locked, and it is not the host";
    EXPECT_EQ(reg.dormant_count(), 1u) << "kept for its holder, as a closed tab's room";
    auto jn = reg.join(name, stranger, "t2", fresh("a2"));
    ASSERT_TRUE(jn);
    EXPECT_TRUE(jn->in_lobby);

    join_access proof = fresh("a3");
    proof.host_token = token;
    auto jo = reg.join(name, owner, "t3", proof);
    ASSERT_TRUE(jo);
    EXPECT_FALSE(jo->in_lobby);
    EXPECT_TRUE(jo->host);
    EXPECT_TRUE(jo->locked);
    EXPECT_EQ(jo->host_token, token) << "its token, not one a squatter chose";
    EXPECT_TRUE(jo->others.empty()) << "nobody got in before the host";
    ASSERT_EQ(jo->lobby.size(), 2u) << "both wait to be asked about";
    EXPECT_EQ(reg.dormant_count(), 0u);
    // The squatter's token proves nothing, from another connection either.
    auto again = make(4);
    join_access retry = fresh("a4", "x");
    retry.host_token = "squattertoken";
    auto ja = reg.join(name, again, "t4", retry);
    ASSERT_TRUE(ja);
    EXPECT_TRUE(ja->in_lobby);
    EXPECT_EQ(squatter->frames, 0);
    EXPECT_EQ(stranger->frames, 0);
}

TEST(RoomAccess, ARoomNamedByAHostTokenCreatedByItsHolderIsItsOwnAndOtherNamesAreFirstCome) {
    room_registry reg(8);
    std::string const token = "fedcba9876543210fedcba9876543210";
    join_access proof = fresh("a1");
    proof.host_token = token;
    auto jo = reg.join(room_registry::host_room_name(token), make(1), "t1", proof);
    ASSERT_TRUE(jo);
    EXPECT_TRUE(jo->host);
    EXPECT_FALSE(jo->locked) << "locking is the host's to ask";
    EXPECT_EQ(jo->host_token, token);
    // A hand-named room is its creator's, with the token it offers (as before).
    join_access chosen = fresh("a2");
    chosen.host_token = "mytoken";
    auto jk = reg.join("kitchen-42", make(2), "t2", chosen);
    ASSERT_TRUE(jk);
    EXPECT_TRUE(jk->host);
    EXPECT_EQ(jk->host_token, "mytoken");
    EXPECT_EQ(reg.dormant_count(), 0u);
}

TEST(RoomAccess, TheCreatorHostsAndALockedRoomPutsNewcomersInTheLobby) {
    room_registry reg(8);
    auto h = make(1), m = make(2), n = make(3);
    auto jh = reg.join("r", h, "t1", fresh("a1", "H"));
    ASSERT_TRUE(jh);
    EXPECT_TRUE(jh->host);
    EXPECT_EQ(jh->host_token, "H");
    EXPECT_EQ(jh->admission, "a1");
    auto jm = reg.join("r", m, "t2", fresh("a2"));
    ASSERT_TRUE(jm);
    EXPECT_FALSE(jm->host);
    EXPECT_TRUE(jm->host_token.empty());
    EXPECT_EQ(jm->host_id, 1u);
    EXPECT_EQ(reg.lock(jm->room, 2).error(), errc::not_host);
    ASSERT_TRUE(reg.lock(jh->room, 1));

    auto jn = reg.join("r", n, "t3", fresh("a3"));
    ASSERT_TRUE(jn);
    EXPECT_TRUE(jn->in_lobby);
    EXPECT_EQ(jn->host_peer, h);
    EXPECT_EQ(reg.member_count(), 2u) << "a lobby member is no member";
    // Broadcasts, from the host or a member, reach the members only.
    reg.broadcast(jh->room, 1, make_frame("x", true));
    reg.broadcast(jh->room, 2, make_frame("y", true));
    reg.broadcast(jh->room, 0, make_frame("z", true));
    EXPECT_EQ(n->frames, 0);
    EXPECT_EQ(m->frames, 2);
    EXPECT_EQ(h->frames, 2);
    // The host sees who waits.
    auto view = reg.describe(jh->room, 1);
    ASSERT_EQ(view.lobby.size(), 1u);
    EXPECT_EQ(view.lobby[0].id, 3u);
    EXPECT_TRUE(reg.describe(jh->room, 2).lobby.empty());
}

TEST(RoomAccess, AdmitThenEnterMakesAMemberDenyOrGoingMakesNone) {
    room_registry reg(8);
    auto h = make(1), n = make(3), d = make(4);
    auto jh = reg.join("r", h, "t1", fresh("a1"));
    ASSERT_TRUE(reg.lock(jh->room, 1));
    ASSERT_TRUE(reg.join("r", n, "t3", fresh())->in_lobby);
    ASSERT_TRUE(reg.join("r", d, "t4", fresh())->in_lobby);
    EXPECT_EQ(reg.enter(jh->room, n, "t3", "a3").error(), std::errc::operation_in_progress)
        << "not admitted: it goes on waiting";
    auto admitted = reg.admit(jh->room, 1, 3);
    ASSERT_TRUE(admitted);
    EXPECT_EQ(*admitted, n);
    EXPECT_EQ(reg.admit(jh->room, 1, 3).error(), errc::unknown_id) << "admitted once";
    auto e = reg.enter(jh->room, n, "t3", "a3");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->others, std::vector<std::uint64_t>{1});
    EXPECT_EQ(e->admission, "a3");
    EXPECT_TRUE(e->locked);
    EXPECT_EQ(reg.member_count(), 2u);

    ASSERT_TRUE(reg.deny(jh->room, 1, 4));
    EXPECT_EQ(reg.enter(jh->room, d, "t4", "a4").error(), errc::unknown_id);
    EXPECT_EQ(reg.deny(jh->room, 1, 4).error(), errc::unknown_id);
    bool waiting = true;
    EXPECT_EQ(reg.leave_lobby(jh->room, 4, d.get(), waiting), nullptr);
    EXPECT_FALSE(waiting);
}

TEST(RoomAccess, ARemovedMemberRelaysNothingEvenBeforeItHearsOfIt) {
    room_registry reg(8);
    auto h = make(1), m = make(2), o = make(3);
    auto jh = reg.join("r", h, "t1", fresh("a1"));
    reg.join("r", m, "t2", fresh("a2"));
    reg.join("r", o, "t3", fresh("a3"));
    auto rem = reg.remove(jh->room, 1, 2);
    ASSERT_TRUE(rem);
    EXPECT_EQ(rem->p, m);
    EXPECT_TRUE(rem->locked_now);
    // Its session still holds the room handle for a moment: what it relays goes nowhere.
    auto b = reg.broadcast(jh->room, 2, make_frame("late", false), true);
    EXPECT_TRUE(b.sender_absent);
    EXPECT_EQ(b.delivered, 0u);
    EXPECT_EQ(o->frames, 0);
    // Its admission is revoked; its resume token too (no seat to claim).
    auto back = make(5);
    join_access a = fresh();
    a.admission = "a2";
    EXPECT_TRUE(reg.join("r", back, "t5", a)->in_lobby);
    EXPECT_FALSE(reg.claim("r", "t2", "new"));
    EXPECT_EQ(reg.remove(jh->room, 1, 1).error(), errc::unknown_id);
    EXPECT_EQ(reg.remove(jh->room, 3, 1).error(), errc::not_host);
}

TEST(RoomAccess, AnAdmissionInUseByAMemberInTheRoomLetsNoSecondConnectionIn) {
    // A copy of a member's admission (or a second tab without the seat) must not make a second
    // member on one device's pass: removing the first would leave the copy in.
    room_registry reg(8);
    auto h = make(1), m = make(2), clone = make(3), open_clone = make(4);
    auto jh = reg.join("r", h, "t1", fresh("H1"));
    ASSERT_TRUE(reg.join("r", m, "t2", fresh("M1")));
    join_access copy = bringing("M1", "C1");
    // The room is open: the copy enters as anyone would, but does not take M's admission.
    auto jo = reg.join("r", open_clone, "t4", copy);
    ASSERT_TRUE(jo);
    EXPECT_FALSE(jo->in_lobby);
    EXPECT_EQ(jo->admission, "C1") << "a fresh one of its own";
    EXPECT_EQ(reg.describe(jh->room, 2).admission, "M1") << "M keeps its own";
    ASSERT_TRUE(reg.lock(jh->room, 1));
    auto jc = reg.join("r", clone, "t3", copy);
    ASSERT_TRUE(jc);
    EXPECT_TRUE(jc->in_lobby) << "in use by member 2: the copy knocks";
    EXPECT_EQ(clone->frames, 0);
    // (Once M and its seat are gone, the admission is M's device's way back: the next test.)
}

TEST(RoomAccess, AnAdmissionIsSpentWhenUsedAndLockingForgetsThoseOfDevicesGone) {
    room_registry reg(8);
    auto h = make(1), a = make(2), s1 = make(3), s2 = make(4);
    auto jh = reg.join("r", h, "t1", fresh("H1"));
    auto ja = reg.join("r", a, "t2", fresh("A1"));
    // A stranger joins the open room twice and goes: two admissions, both forgotten at the lock.
    for (auto const& s : {s1, s2}) {
        auto js = reg.join("r", s, "ts", fresh(s == s1 ? "S1" : "S2"));
        ASSERT_TRUE(reg.leave(js->room, s->id()));
    }
    ASSERT_TRUE(reg.lock(jh->room, 1));
    for (std::string adm : {"S1", "S2"}) {
        auto p = make(10);
        join_access with = bringing(adm, "X");
        EXPECT_TRUE(reg.join("r", p, "t", with)->in_lobby) << adm;
        bool w = false;
        reg.leave_lobby(jh->room, 10, p.get(), w);
    }
    // A's own admission works once, and is replaced: a copy used again is worth nothing.
    ASSERT_TRUE(reg.leave(ja->room, 2));
    auto a2 = make(5);
    join_access with_a1 = bringing("A1", "A2");
    auto back = reg.join("r", a2, "t5", with_a1);
    ASSERT_FALSE(back->in_lobby);
    EXPECT_EQ(back->admission, "A2");
    auto copy = make(6);
    join_access again = bringing("A1", "A3");
    EXPECT_TRUE(reg.join("r", copy, "t6", again)->in_lobby);
    // Removed while absent (by the id it last had): its admission goes.
    ASSERT_TRUE(reg.leave(jh->room, 5));
    auto rem = reg.remove(jh->room, 1, 5);
    ASSERT_TRUE(rem);
    EXPECT_EQ(rem->p, nullptr);
    auto third = make(7);
    join_access with_a2 = bringing("A2", "A4");
    EXPECT_TRUE(reg.join("r", third, "t7", with_a2)->in_lobby);
    EXPECT_EQ(reg.remove(jh->room, 1, 5).error(), errc::unknown_id);
}

TEST(RoomAccess, ASeatTakenBackWhileItsMemberIsRemovedIsNotUnparked) {
    room_registry reg(8);
    auto h = make(1), m = make(2);
    auto jh = reg.join("r", h, "t1", fresh());
    reg.join("r", m, "t2", fresh());
    roomcast::seat_totals totals;
    auto seat = std::make_shared<roomcast::rooms::away_seat>(
        2, roomcast::rooms::seat_limits{}, std::make_shared<roomcast::address_usage>(), totals);
    ASSERT_TRUE(seat->hold());
    ASSERT_TRUE(reg.park(jh->room, 2, seat, room_registry::clock::now() + std::chrono::hours(1)));
    auto c = reg.claim("r", "t2", "t2b");
    ASSERT_TRUE(c);
    auto rem = reg.remove(jh->room, 1, 2);
    ASSERT_TRUE(rem);
    EXPECT_TRUE(rem->seat_released);
    auto m2 = make(2);
    EXPECT_FALSE(reg.unpark(c->room, 2, m2)) << "the resuming connection must learn it is out";
    EXPECT_EQ(reg.members(jh->room), std::vector<std::uint64_t>{1});
}

TEST(RoomAccess, AdmissionsAreCappedTheOldestAbsentGoingFirst) {
    access_limits lim;
    lim.max_admissions = 2;
    room_registry reg(8, lim);
    auto h = make(1), a = make(2), b = make(3);
    auto jh = reg.join("r", h, "t1", fresh("A1"));
    auto ja = reg.join("r", a, "t2", fresh("A2"));
    ASSERT_TRUE(reg.leave(ja->room, 2));  // gone, admission kept
    reg.join("r", b, "t3", fresh("A3"));  // at the cap: A2 (absent) goes, not A1 (present)
    ASSERT_TRUE(reg.lock(jh->room, 1));
    auto again = make(4);
    join_access with_a2 = bringing("A2", "A4");
    EXPECT_TRUE(reg.join("r", again, "t4", with_a2)->in_lobby);
    EXPECT_EQ(reg.describe(jh->room, 1).admission, "A1");
}

TEST(RoomAccess, DormantRoomsAreCappedAndTheirLobbiesTold) {
    access_limits lim;
    lim.max_dormant = 1;
    lim.retention = std::chrono::hours(1);
    room_registry reg(8, lim);
    std::vector<std::shared_ptr<fake_peer>> keep;
    for (std::string name : {"one", "two"}) {
        auto h = make(1), w = make(9);
        keep.push_back(w);
        auto jh = reg.join(name, h, "t", fresh());
        ASSERT_TRUE(reg.lock(jh->room, 1));
        ASSERT_TRUE(reg.join(name, w, "tw", fresh())->in_lobby);
        ASSERT_TRUE(reg.leave(jh->room, 1));
    }
    EXPECT_EQ(reg.dormant_count(), 1u);
    EXPECT_EQ(reg.room_count(), 1u);
    auto told = reg.expire_rooms(room_registry::clock::now());
    ASSERT_EQ(told.size(), 1u) << "the first room's waiting newcomer";
    EXPECT_EQ(told[0].first, keep[0]);
    // Past the retention, the other goes too.
    told = reg.expire_rooms(room_registry::clock::now() + std::chrono::hours(2));
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].first, keep[1]);
    EXPECT_EQ(reg.room_count(), 0u);
    EXPECT_EQ(reg.dormant_count(), 0u);
}

TEST(RoomAccess, TheHostsDecisionsRacingNewcomersComingAndGoingLeaveNoGhost) {
    // Newcomers knock and give up on one thread while the host admits, denies and removes on
    // another and a member broadcasts on a third: at the end every lobby and member count adds
    // up, and no lobby member ever received a frame. (TSan runs this too.)
    room_registry reg(64);
    auto h = make(1), talker = make(2);
    auto jh = reg.join("r", h, "t1", fresh());
    reg.join("r", talker, "t2", fresh());
    ASSERT_TRUE(reg.lock(jh->room, 1));
    room_handle const room = jh->room;
    std::atomic<bool> stop{false};
    std::vector<std::shared_ptr<fake_peer>> waiting;
    std::mutex wm;
    std::thread knockers([&] {
        for (std::uint64_t i = 100; i < 400; ++i) {
            auto p = make(i);
            auto j = reg.join("r", p, "t", fresh());
            if (!j || !j->in_lobby) continue;
            {
                std::lock_guard lock(wm);
                waiting.push_back(p);
            }
            if (i % 3 == 0) {
                bool w = false;
                reg.leave_lobby(room, i, p.get(), w);
            }
        }
        stop = true;
    });
    std::thread host([&] {
        // Passes over every id while the newcomers come (bounded: 2000 passes at most).
        for (int pass = 0; pass < 2000 && !stop.load(); ++pass) {
            for (std::uint64_t id = 100; id < 400; ++id) {
                if (id % 2 == 0) {
                    if (auto p = reg.admit(room, 1, id)) {
                        auto e = reg.enter(room, *p, "t", "a");
                        if (e && id % 4 == 0) reg.remove(room, 1, id);
                    }
                } else {
                    reg.deny(room, 1, id);
                }
            }
        }
    });
    std::thread chatter([&] {
        for (int i = 0; i < 2000; ++i)
            reg.broadcast(room, 2, make_frame("x", true), true);
    });
    knockers.join();
    host.join();
    chatter.join();
    std::size_t in_room = reg.members(room).size();
    EXPECT_EQ(reg.member_count(), in_room);
    auto view = reg.describe(room, 1);
    for (auto const& p : waiting) {
        bool const member = [&] {
            for (auto id : reg.members(room))
                if (id == p->id()) return true;
            return false;
        }();
        bool const lobby = [&] {
            for (auto const& k : view.lobby)
                if (k.id == p->id()) return true;
            return false;
        }();
        EXPECT_FALSE(member && lobby) << p->id();
        if (!member) {
            // Odd ids were only ever denied or gave up: never a member, never a frame.
            if (p->id() % 2 == 1) EXPECT_EQ(p->frames, 0) << p->id();
        }
    }
}
