#include <roomcast/rooms/room_registry.hpp>

#include <roomcast/protocol/codec.hpp>
#include <roomcast/protocol/errc.hpp>
#include <roomcast/protocol/frame.hpp>
#include <roomcast/rooms/away_seat.hpp>
#include <roomcast/rooms/peer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using roomcast::protocol::errc;
using roomcast::protocol::frame_ptr;
using roomcast::protocol::make_frame;
using roomcast::rooms::peer;
using roomcast::rooms::room_handle;
using roomcast::rooms::room_registry;

/** Records what it is given. Thread-safe. */
class fake_peer final : public peer {
  public:
    explicit fake_peer(std::uint64_t id) : id_(id) {}

    std::uint64_t id() const noexcept override { return id_; }

    void deliver(frame_ptr const& f) override {
        {
            std::lock_guard lock(mutex_);
            frames_.push_back(f);
        }
        if (congest_after_ != 0 && count() >= congest_after_) congested_ = true;
        if (on_deliver) on_deliver(f);
    }

    bool congested() const noexcept override { return congested_.load(); }

    void set_congested(bool c) { congested_ = c; }
    /** Becomes congested once it holds n frames (0: never by itself). */
    void congest_after(std::size_t n) { congest_after_ = n; }

    std::size_t count() const {
        std::lock_guard lock(mutex_);
        return frames_.size();
    }
    std::vector<frame_ptr> frames() const {
        std::lock_guard lock(mutex_);
        return frames_;
    }

    std::function<void(frame_ptr const&)> on_deliver;  // set before sharing across threads

  private:
    std::uint64_t const id_;
    mutable std::mutex mutex_;
    std::vector<frame_ptr> frames_;
    std::atomic<bool> congested_{false};
    std::size_t congest_after_ = 0;
};

std::shared_ptr<fake_peer> make_peer(std::uint64_t id) {
    return std::make_shared<fake_peer>(id);
}

frame_ptr text(std::string s) {
    return make_frame(std::move(s), true);
}

room_handle join_ok(room_registry& reg, std::string const& name, std::shared_ptr<peer> const& p,
                    std::vector<std::uint64_t> const& expected_others) {
    auto r = reg.join(name, p);
    EXPECT_TRUE(r.has_value()) << "join " << name << " by " << p->id();
    if (!r.has_value()) return nullptr;
    EXPECT_EQ(r->others, expected_others) << "join " << name << " by " << p->id();
    EXPECT_TRUE(r->room);
    return r->room;
}

// ---------------------------------------------------------------------------------------------
// Join / leave

TEST(RoomRegistry, EmptyRegistry) {
    room_registry reg(4);
    EXPECT_EQ(reg.room_count(), 0u);
    EXPECT_EQ(reg.member_count(), 0u);
    EXPECT_TRUE(reg.members(nullptr).empty());
    EXPECT_FALSE(reg.leave(nullptr, 1));
    auto b = reg.broadcast(nullptr, 1, text("x"));
    EXPECT_EQ(b.delivered, 0u);
    EXPECT_FALSE(b.congested);
}

TEST(RoomRegistry, JoinReportsOthersInJoinOrder) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2), p3 = make_peer(3);
    auto r1 = join_ok(reg, "lobby", p1, {});
    auto r2 = join_ok(reg, "lobby", p2, {1});
    auto r3 = join_ok(reg, "lobby", p3, {1, 2});
    EXPECT_EQ(r1, r2);
    EXPECT_EQ(r2, r3);
    EXPECT_EQ(room_registry::name(r1), "lobby");
    EXPECT_EQ(reg.members(r1), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(reg.room_count(), 1u);
    EXPECT_EQ(reg.member_count(), 3u);
    // Joining delivers nothing by itself (announcing is the session's job).
    EXPECT_EQ(p1->count(), 0u);
    EXPECT_EQ(p2->count(), 0u);
}

TEST(RoomRegistry, LeaveRemovesOnlyThatMember) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2), p3 = make_peer(3);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    join_ok(reg, "a", p3, {1, 2});
    EXPECT_TRUE(reg.leave(r, 2));
    EXPECT_EQ(reg.members(r), (std::vector<std::uint64_t>{1, 3}));
    EXPECT_EQ(reg.member_count(), 2u);
    EXPECT_EQ(reg.room_count(), 1u);
    // A newcomer sees the remaining members.
    auto p4 = make_peer(4);
    join_ok(reg, "a", p4, {1, 3});
}

TEST(RoomRegistry, LeaveOfNonMemberReturnsFalse) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "a", p1, {});
    EXPECT_FALSE(reg.leave(r, 2));  // never joined
    EXPECT_FALSE(reg.leave(r, 0));
    EXPECT_TRUE(reg.leave(r, 1));
    EXPECT_FALSE(reg.leave(r, 1));  // already left
    EXPECT_EQ(reg.member_count(), 0u);
}

TEST(RoomRegistry, LeaveOfMemberOfAnotherRoomReturnsFalse) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto ra = join_ok(reg, "a", p1, {});
    auto rb = join_ok(reg, "b", p2, {});
    EXPECT_FALSE(reg.leave(ra, 2));
    EXPECT_FALSE(reg.leave(rb, 1));
    EXPECT_EQ(reg.members(ra), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(reg.members(rb), (std::vector<std::uint64_t>{2}));
    EXPECT_EQ(reg.member_count(), 2u);
}

TEST(RoomRegistry, RoomDeletedWhenEmpty) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "temp", p1, {});
    join_ok(reg, "temp", p2, {1});
    join_ok(reg, "other", make_peer(9), {});
    EXPECT_EQ(reg.room_count(), 2u);
    EXPECT_TRUE(reg.leave(r, 1));
    EXPECT_EQ(reg.room_count(), 2u);
    EXPECT_TRUE(reg.leave(r, 2));
    EXPECT_EQ(reg.room_count(), 1u);
    EXPECT_TRUE(reg.members(r).empty());
    // Joining the name again makes a fresh room; the old handle is dead.
    auto p3 = make_peer(3);
    auto r2 = join_ok(reg, "temp", p3, {});
    EXPECT_NE(r2, r);
    EXPECT_EQ(reg.room_count(), 2u);
    EXPECT_FALSE(reg.leave(r, 3));  // the stale handle does not know the new member
    EXPECT_EQ(reg.broadcast(r, 0, text("stale")).delivered, 0u);
    EXPECT_EQ(p3->count(), 0u);
    // And leaving through the stale handle did not delete the new room.
    EXPECT_EQ(reg.room_count(), 2u);
    EXPECT_EQ(reg.members(r2), (std::vector<std::uint64_t>{3}));
}

TEST(RoomRegistry, SwitchRooms) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2), p3 = make_peer(3);
    auto ra = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    auto rb = join_ok(reg, "b", p3, {});
    // p1 moves from a to b: leave then join, as the session does.
    EXPECT_TRUE(reg.leave(ra, 1));
    join_ok(reg, "b", p1, {3});
    EXPECT_EQ(reg.members(ra), (std::vector<std::uint64_t>{2}));
    EXPECT_EQ(reg.members(rb), (std::vector<std::uint64_t>{3, 1}));
    EXPECT_EQ(reg.member_count(), 3u);
    EXPECT_EQ(reg.room_count(), 2u);
    reg.broadcast(rb, 3, text("to b"));
    EXPECT_EQ(p1->count(), 1u);
    EXPECT_EQ(p2->count(), 0u);
}

TEST(RoomRegistry, RoomNamesAreCaseSensitiveAndExact) {
    room_registry reg(8);
    auto r1 = join_ok(reg, "Room", make_peer(1), {});
    auto r2 = join_ok(reg, "room", make_peer(2), {});
    auto r3 = join_ok(reg, "room-", make_peer(3), {});
    EXPECT_NE(r1, r2);
    EXPECT_NE(r2, r3);
    EXPECT_EQ(reg.room_count(), 3u);
}

// ---------------------------------------------------------------------------------------------
// Capacity

TEST(RoomRegistry, RoomFullAtTheLimitAndStateUnchanged) {
    room_registry reg(3);
    std::vector<std::shared_ptr<fake_peer>> p;
    for (std::uint64_t i = 1; i <= 5; ++i)
        p.push_back(make_peer(i));
    auto r = join_ok(reg, "small", p[0], {});
    join_ok(reg, "small", p[1], {1});
    join_ok(reg, "small", p[2], {1, 2});
    auto full = reg.join("small", p[3]);
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error(), errc::room_full);
    EXPECT_EQ(reg.members(r), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(reg.member_count(), 3u);
    EXPECT_EQ(reg.room_count(), 1u);
    // The refused peer is not a member: broadcasts do not reach it, leave says false.
    reg.broadcast(r, 1, text("hi"));
    EXPECT_EQ(p[3]->count(), 0u);
    EXPECT_FALSE(reg.leave(r, 4));
    // Other rooms are unaffected by one being full.
    join_ok(reg, "big", p[3], {});
    // Room for one again after a leave.
    EXPECT_TRUE(reg.leave(r, 2));
    join_ok(reg, "small", p[4], {1, 3});
    EXPECT_FALSE(reg.join("small", p[1]).has_value());
}

TEST(RoomRegistry, LimitOfTwo) {
    room_registry reg(2);
    auto r = join_ok(reg, "pair", make_peer(1), {});
    join_ok(reg, "pair", make_peer(2), {1});
    auto third = reg.join("pair", make_peer(3));
    ASSERT_FALSE(third.has_value());
    EXPECT_EQ(third.error(), errc::room_full);
    EXPECT_EQ(reg.members(r).size(), 2u);
}

TEST(RoomRegistry, ZeroLimitRefusesAndCreatesNoRoom) {
    room_registry reg(0);
    auto j = reg.join("nobody", make_peer(1));
    ASSERT_FALSE(j.has_value());
    EXPECT_EQ(j.error(), errc::room_full);
    EXPECT_EQ(reg.room_count(), 0u);
    EXPECT_EQ(reg.member_count(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Broadcast

TEST(RoomRegistry, BroadcastExcludesSenderAndSharesTheFrame) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2), p3 = make_peer(3);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    join_ok(reg, "a", p3, {1, 2});
    auto f = text(R"({"type":"chat"})");
    auto b = reg.broadcast(r, 2, f);
    EXPECT_EQ(b.delivered, 2u);
    EXPECT_FALSE(b.congested);
    EXPECT_EQ(p2->count(), 0u);
    ASSERT_EQ(p1->count(), 1u);
    ASSERT_EQ(p3->count(), 1u);
    EXPECT_EQ(p1->frames()[0], f);  // the same shared frame, not a copy
    EXPECT_EQ(p3->frames()[0], f);
}

TEST(RoomRegistry, BroadcastFromNonMemberReachesEveryone) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    EXPECT_EQ(reg.broadcast(r, 99, text("server")).delivered, 2u);
    EXPECT_EQ(p1->count(), 1u);
    EXPECT_EQ(p2->count(), 1u);
}

TEST(RoomRegistry, BroadcastToLoneMemberDeliversNothing) {
    room_registry reg(8);
    auto p1 = make_peer(1);
    auto r = join_ok(reg, "solo", p1, {});
    auto b = reg.broadcast(r, 1, text("echo?"));
    EXPECT_EQ(b.delivered, 0u);
    EXPECT_EQ(p1->count(), 0u);
}

TEST(RoomRegistry, BroadcastPreservesOrderPerRecipient) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    std::vector<frame_ptr> sent;
    for (int i = 0; i < 50; ++i) {
        sent.push_back(text(std::to_string(i)));
        reg.broadcast(r, 1, sent.back());
    }
    EXPECT_EQ(p2->frames(), sent);
    EXPECT_EQ(p1->count(), 0u);
}

TEST(RoomRegistry, RoomsAreIsolated) {
    room_registry reg(8);
    auto a1 = make_peer(1), a2 = make_peer(2), b1 = make_peer(3), b2 = make_peer(4);
    auto ra = join_ok(reg, "a", a1, {});
    join_ok(reg, "a", a2, {1});
    auto rb = join_ok(reg, "b", b1, {});
    join_ok(reg, "b", b2, {3});
    EXPECT_EQ(reg.broadcast(ra, 1, text("for a")).delivered, 1u);
    EXPECT_EQ(reg.broadcast(rb, 4, text("for b")).delivered, 1u);
    ASSERT_EQ(a2->count(), 1u);
    ASSERT_EQ(b1->count(), 1u);
    EXPECT_EQ(a2->frames()[0]->payload, "for a");
    EXPECT_EQ(b1->frames()[0]->payload, "for b");
    EXPECT_EQ(a1->count(), 0u);
    EXPECT_EQ(b2->count(), 0u);
}

TEST(RoomRegistry, ExpiredPeersAreSkipped) {
    room_registry reg(8);
    auto p1 = make_peer(1), p3 = make_peer(3);
    auto p2 = make_peer(2);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    join_ok(reg, "a", p3, {1, 2});
    p2.reset();  // the session is gone without leaving
    auto b = reg.broadcast(r, 1, text("x"));
    EXPECT_EQ(b.delivered, 1u);
    EXPECT_EQ(p3->count(), 1u);
    // The expired member can still be removed by id, and then the room is consistent.
    EXPECT_TRUE(reg.leave(r, 2));
    EXPECT_EQ(reg.members(r), (std::vector<std::uint64_t>{1, 3}));
    EXPECT_EQ(reg.member_count(), 2u);
}

TEST(RoomRegistry, AllPeersExpiredDeliversNothing) {
    room_registry reg(8);
    room_handle r;
    {
        auto p1 = make_peer(1), p2 = make_peer(2);
        r = join_ok(reg, "a", p1, {});
        join_ok(reg, "a", p2, {1});
    }
    auto b = reg.broadcast(r, 0, text("x"));
    EXPECT_EQ(b.delivered, 0u);
    EXPECT_FALSE(b.congested);
}

TEST(RoomRegistry, BroadcastReportsACongestedRecipient) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2), p3 = make_peer(3);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    join_ok(reg, "a", p3, {1, 2});
    p3->set_congested(true);
    auto b = reg.broadcast(r, 1, text("x"));
    EXPECT_EQ(b.delivered, 2u);  // a congested peer is still delivered to
    EXPECT_EQ(b.congested, p3);
    EXPECT_EQ(p3->count(), 1u);

    // Nobody congested: nothing reported.
    p3->set_congested(false);
    EXPECT_FALSE(reg.broadcast(r, 1, text("y")).congested);

    // The sender's own congestion is not reported (it is not a recipient).
    p1->set_congested(true);
    EXPECT_FALSE(reg.broadcast(r, 1, text("z")).congested);
    EXPECT_EQ(reg.broadcast(r, 2, text("w")).congested, p1);
}

TEST(RoomRegistry, CongestionIsCheckedAfterDelivery) {
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    p2->congest_after(2);  // this frame's delivery pushes it over
    EXPECT_FALSE(reg.broadcast(r, 1, text("1")).congested);
    EXPECT_EQ(reg.broadcast(r, 1, text("2")).congested, p2);
}

TEST(RoomRegistry, SeveralCongestedRecipientsReportOne) {
    room_registry reg(8);
    std::vector<std::shared_ptr<fake_peer>> p;
    room_handle r;
    for (std::uint64_t i = 1; i <= 4; ++i) {
        p.push_back(make_peer(i));
        auto j = reg.join("a", p.back());
        ASSERT_TRUE(j.has_value());
        r = j->room;
        if (i > 1) p.back()->set_congested(true);
    }
    auto b = reg.broadcast(r, 1, text("x"));
    EXPECT_EQ(b.delivered, 3u);
    ASSERT_TRUE(b.congested);
    EXPECT_NE(b.congested, p[0]);
    EXPECT_TRUE(b.congested->congested());
}

TEST(RoomRegistry, PeerCodeRunsWithNoRegistryLockHeld) {
    // A recipient that re-enters the registry from deliver() must not deadlock.
    room_registry reg(8);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "a", p1, {});
    join_ok(reg, "a", p2, {1});
    std::size_t seen_rooms = 0;
    std::vector<std::uint64_t> seen_members;
    p2->on_deliver = [&](frame_ptr const&) {
        seen_rooms = reg.room_count();
        seen_members = reg.members(r);
        EXPECT_TRUE(reg.leave(r, 2));
        auto j = reg.join("elsewhere", p2);
        EXPECT_TRUE(j.has_value());
    };
    auto b = reg.broadcast(r, 1, text("x"));
    EXPECT_EQ(b.delivered, 1u);
    EXPECT_EQ(seen_rooms, 1u);
    EXPECT_EQ(seen_members, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(reg.members(r), (std::vector<std::uint64_t>{1}));
    EXPECT_EQ(reg.room_count(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Concurrency (run under the tsan preset too)

TEST(RoomRegistry, ConcurrentJoinLeaveBroadcast) {
    constexpr int threads = 4;
    constexpr int peers_per_thread = 3;
    constexpr int rounds = 300;
    char const* const names[] = {"r0", "r1", "r2"};
    room_registry reg(5);  // small enough that room_full happens too

    std::atomic<std::size_t> joins{0}, fulls{0}, deliveries{0};
    std::atomic<bool> stop_reader{false};
    std::vector<std::shared_ptr<fake_peer>> all;
    for (int t = 0; t < threads; ++t)
        for (int k = 0; k < peers_per_thread; ++k)
            all.push_back(make_peer(static_cast<std::uint64_t>(100 * (t + 1) + k)));

    auto worker = [&](int t) {
        std::vector<room_handle> in(peers_per_thread);
        for (int i = 0; i < rounds; ++i) {
            int const k = i % peers_per_thread;
            auto& me = all[static_cast<std::size_t>(t * peers_per_thread + k)];
            if (in[k]) {
                auto b = reg.broadcast(in[k], me->id(), text("m"));
                deliveries += b.delivered;
                EXPECT_LE(b.delivered, 4u);
                if ((i + t) % 3 == 0) {
                    EXPECT_TRUE(reg.leave(in[k], me->id()));
                    in[k].reset();
                }
            } else {
                auto j = reg.join(names[(i + t) % 3], me);
                if (j.has_value()) {
                    ++joins;
                    EXPECT_LE(j->others.size(), 4u);
                    in[k] = j->room;
                } else {
                    EXPECT_EQ(j.error(), errc::room_full);
                    ++fulls;
                }
            }
        }
        for (int k = 0; k < peers_per_thread; ++k) {
            if (in[k]) {
                EXPECT_TRUE(reg.leave(
                    in[k], all[static_cast<std::size_t>(t * peers_per_thread + k)]->id()));
            }
        }
    };
    // A reader walking the registry meanwhile.
    std::thread reader([&] {
        int loops = 0;
        while (!stop_reader.load() && loops < 100000) {
            EXPECT_LE(reg.member_count(), static_cast<std::size_t>(threads * peers_per_thread));
            EXPECT_LE(reg.room_count(), 3u);
            ++loops;
        }
    });
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back(worker, t);
    for (auto& th : pool)
        th.join();
    stop_reader = true;
    reader.join();

    EXPECT_GT(joins.load(), 0u);
    EXPECT_EQ(reg.member_count(), 0u);
    EXPECT_EQ(reg.room_count(), 0u);
    std::size_t received = 0;
    for (auto const& p : all)
        received += p->count();
    EXPECT_EQ(received, deliveries.load());
}

TEST(RoomRegistry, ConcurrentBroadcastsToOneRoomDeliverEverything) {
    constexpr int senders = 4;
    constexpr int per_sender = 500;
    room_registry reg(16);
    std::vector<std::shared_ptr<fake_peer>> p;
    room_handle r;
    for (int i = 0; i < senders + 1; ++i) {
        p.push_back(make_peer(static_cast<std::uint64_t>(i + 1)));
        auto j = reg.join("hub", p.back());
        ASSERT_TRUE(j.has_value());
        r = j->room;
    }
    std::vector<std::thread> pool;
    for (int s = 0; s < senders; ++s) {
        pool.emplace_back([&, s] {
            for (int i = 0; i < per_sender; ++i)
                reg.broadcast(r, static_cast<std::uint64_t>(s + 1), text("x"));
        });
    }
    for (auto& th : pool)
        th.join();
    // The listener (last peer) got every frame; each sender got everyone else's.
    EXPECT_EQ(p.back()->count(), static_cast<std::size_t>(senders * per_sender));
    for (int s = 0; s < senders; ++s)
        EXPECT_EQ(p[static_cast<std::size_t>(s)]->count(),
                  static_cast<std::size_t>((senders - 1) * per_sender));
}

}  // namespace

namespace {
roomcast::seat_totals test_totals;

std::shared_ptr<roomcast::rooms::away_seat> seat(std::uint64_t id, std::size_t max_bytes) {
    roomcast::rooms::seat_limits lim;
    lim.per_seat_bytes = max_bytes;
    auto s = std::make_shared<roomcast::rooms::away_seat>(id, lim, nullptr, test_totals);
    EXPECT_TRUE(s->hold());
    return s;
}
}  // namespace

TEST(RoomRegistry, ExpireReleasesHeldSeatsAtTheirDeadlineAndCountsEachAsItGoes) {
    room_registry reg(4);
    auto p1 = make_peer(1), p2 = make_peer(2), p3 = make_peer(3);
    auto r = join_ok(reg, "cam", p1, {});
    join_ok(reg, "cam", p2, {1});
    join_ok(reg, "cam", p3, {1, 2});
    auto const t0 = room_registry::clock::now();
    ASSERT_TRUE(reg.park(r, 2, seat(2, 1024), t0 + std::chrono::seconds(10)));
    ASSERT_TRUE(reg.park(r, 3, seat(3, 1024), t0 + std::chrono::seconds(20)));
    EXPECT_FALSE(reg.park(r, 9, seat(9, 1024), t0));
    EXPECT_EQ(reg.held_count(), 2u);
    EXPECT_EQ(reg.member_count(), 3u);  // held seats are members

    std::vector<std::uint64_t> counted;
    auto count = [&](roomcast::rooms::released_seat const& s) { counted.push_back(s.id); };
    EXPECT_TRUE(reg.expire(t0, count).empty());
    EXPECT_TRUE(counted.empty());

    auto out = reg.expire(t0 + std::chrono::seconds(15), count);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].id, 2u);
    EXPECT_FALSE(out[0].overflowed);
    EXPECT_EQ(out[0].room, r);
    EXPECT_EQ(counted, (std::vector<std::uint64_t>{2}));
    EXPECT_EQ(reg.held_count(), 1u);
    EXPECT_EQ(reg.members(r), (std::vector<std::uint64_t>{1, 3}));

    // Without a counter it releases just the same.
    out = reg.expire(t0 + std::chrono::seconds(25));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].id, 3u);
    EXPECT_EQ(reg.held_count(), 0u);
    EXPECT_EQ(reg.members(r), (std::vector<std::uint64_t>{1}));
}

TEST(RoomRegistry, AnOverflowedSeatIsReleasedBeforeItsDeadlineWithItsLoss) {
    room_registry reg(4);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "cam", p1, {});
    join_ok(reg, "cam", p2, {1});
    auto const t0 = room_registry::clock::now();
    ASSERT_TRUE(reg.park(r, 2, seat(2, 8), t0 + std::chrono::hours(1)));
    reg.broadcast(r, 1, text("12345"));
    reg.broadcast(r, 1, text("67890"));  // 10 bytes > 8: the seat overflows
    reg.broadcast(r, 1, text("abc"));
    std::size_t lost = 0;
    auto out = reg.expire(t0, [&](roomcast::rooms::released_seat const& s) { lost = s.dropped; });
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].overflowed);
    EXPECT_EQ(out[0].dropped, lost);
    EXPECT_GE(lost, 2u);
    EXPECT_EQ(reg.held_count(), 0u);
    EXPECT_EQ(reg.members(r), (std::vector<std::uint64_t>{1}));
}

TEST(RoomRegistry, AFullRoomReleasesItsOldestHeldSeatForALiveJoiner) {
    room_registry reg(3);
    auto p1 = make_peer(1), p2 = make_peer(2), p3 = make_peer(3), p4 = make_peer(4);
    auto r = join_ok(reg, "cam", p1, {});
    join_ok(reg, "cam", p2, {1});
    join_ok(reg, "cam", p3, {1, 2});
    auto const t0 = room_registry::clock::now();
    auto s3 = seat(3, 1024), s2 = seat(2, 1024);
    ASSERT_TRUE(reg.park(r, 3, s3, t0 + std::chrono::seconds(20)));
    ASSERT_TRUE(reg.park(r, 2, s2, t0 + std::chrono::seconds(30)));
    reg.broadcast(r, 1, text("kept for 3"));
    EXPECT_EQ(s3->buffered_bytes(), text("kept for 3")->wire_size());
    auto j = reg.join("cam", p4, "t4");
    ASSERT_TRUE(j);
    ASSERT_TRUE(j->evicted);
    EXPECT_EQ(j->evicted->id, 3u);  // parked first: earliest deadline
    EXPECT_EQ(j->others, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(j->away, (std::vector<std::uint64_t>{2}));
    EXPECT_EQ(reg.held_count(), 1u);
    EXPECT_EQ(s3->buffered_bytes(), 0u);  // gave back what it held
    // Only live members left besides seat 2: the next joiner takes seat 2's place.
    auto p5 = make_peer(5);
    auto j5 = reg.join("cam", p5, "t5");
    ASSERT_TRUE(j5);
    ASSERT_TRUE(j5->evicted);
    EXPECT_EQ(j5->evicted->id, 2u);
    // No held seat left: a live member is never evicted.
    auto j6 = reg.join("cam", make_peer(6), "t6");
    ASSERT_FALSE(j6);
    EXPECT_EQ(j6.error(), errc::room_full);
}

TEST(RoomRegistry, ASeatBeingResumedIsNotEvicted) {
    room_registry reg(2);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "cam", p1, {});
    ASSERT_TRUE(reg.join("cam", p2, "tok"));
    ASSERT_TRUE(reg.park(r, 2, seat(2, 1024), room_registry::clock::now() + std::chrono::hours(1)));
    ASSERT_TRUE(reg.claim("cam", "tok", "tok2"));  // a resume is under way
    auto j = reg.join("cam", make_peer(3), "t3");
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error(), errc::room_full);
}

TEST(RoomRegistry, ARoomOfOneWhoseOnlyMemberIsAHeldSeatStillWorks) {
    room_registry reg(2);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "solo", p1, {});
    ASSERT_TRUE(reg.join("solo", p2, "t"));
    auto const t = room_registry::clock::now() + std::chrono::hours(1);
    ASSERT_TRUE(reg.park(r, 1, seat(1, 1024), t));
    ASSERT_TRUE(reg.park(r, 2, seat(2, 1024), t));
    auto p3 = make_peer(3), p4 = make_peer(4);
    ASSERT_TRUE(reg.join("solo", p3, "t3"));
    ASSERT_TRUE(reg.join("solo", p4, "t4"));
    EXPECT_EQ(reg.room_count(), 1u);
    EXPECT_EQ(reg.member_count(), 2u);
    EXPECT_EQ(reg.held_count(), 0u);
}

TEST(RoomRegistry, ADuplicateIdInARoomIsRefused) {
    room_registry reg(4);
    join_ok(reg, "cam", make_peer(7), {});
    auto j = reg.join("cam", make_peer(7), "t");
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error(), std::errc::file_exists);
    join_ok(reg, "other", make_peer(7), {});  // unique per room only
}

TEST(RoomRegistry, RosterSaysWhoIsAway) {
    room_registry reg(4);
    auto r = join_ok(reg, "cam", make_peer(1), {});
    join_ok(reg, "cam", make_peer(2), {1});
    ASSERT_TRUE(reg.park(r, 2, seat(2, 1024), room_registry::clock::now() + std::chrono::hours(1)));
    auto who = reg.roster(r);
    EXPECT_EQ(who.ids, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(who.away, (std::vector<std::uint64_t>{2}));
}

TEST(AwaySeat, CapsPerSeatPerAddressAndProcess) {
    using roomcast::rooms::away_seat;
    roomcast::seat_totals totals;
    roomcast::rooms::seat_limits lim;
    lim.per_seat_bytes = 1000;
    lim.per_address_bytes = 1500;
    lim.per_address_seats = 2;
    lim.total_bytes = 1800;
    lim.total_seats = 3;
    auto home = std::make_shared<roomcast::address_usage>();
    auto other = std::make_shared<roomcast::address_usage>();
    auto a = std::make_shared<away_seat>(1, lim, home, totals);
    auto b = std::make_shared<away_seat>(2, lim, home, totals);
    auto c = std::make_shared<away_seat>(3, lim, home, totals);
    ASSERT_TRUE(a->hold());
    ASSERT_TRUE(b->hold());
    EXPECT_FALSE(c->hold());  // a third seat for the same address
    EXPECT_EQ(home->held_seats.load(), 2u);
    auto d = std::make_shared<away_seat>(4, lim, other, totals);
    auto e = std::make_shared<away_seat>(5, lim, other, totals);
    ASSERT_TRUE(d->hold());
    EXPECT_FALSE(e->hold());  // the process has 3
    EXPECT_EQ(totals.seats.load(), 3u);

    auto f = [](std::size_t n) { return make_frame(std::string(n - 4, 'z'), false); };  // n wire
    a->deliver(f(900));
    EXPECT_EQ(a->buffered_bytes(), 900u);
    a->deliver(f(200));  // past its own 1000
    EXPECT_TRUE(a->overflowed());
    EXPECT_EQ(home->held_bytes.load(), 0u);
    b->deliver(f(800));
    d->deliver(f(900));
    EXPECT_EQ(totals.bytes.load(), 1700u);
    d->deliver(f(200));  // the process would pass 1800
    EXPECT_TRUE(d->overflowed());
    EXPECT_FALSE(b->overflowed());
    EXPECT_EQ(totals.bytes.load(), 800u);

    b->release_hold();
    b->release_hold();  // idempotent
    EXPECT_EQ(home->held_seats.load(), 1u);
    EXPECT_EQ(home->held_bytes.load(), 0u);
    a.reset();  // destroying a seat gives back what it holds
    EXPECT_EQ(home->held_seats.load(), 0u);
    d.reset();
    EXPECT_EQ(totals.seats.load(), 0u);
    EXPECT_EQ(totals.bytes.load(), 0u);
}

TEST(RoomRegistry, ALiveSeatIsFoundByItsTokenAndHandedOverOnlyByItsHolder) {
    room_registry reg(4);
    auto p1 = make_peer(1), p2 = make_peer(2);
    auto r = join_ok(reg, "cam", p1, {});
    ASSERT_TRUE(reg.join("cam", p2, "tok2"));
    EXPECT_FALSE(reg.find_live("cam", "tok3"));
    EXPECT_FALSE(reg.find_live("other", "tok2"));
    auto live = reg.find_live("cam", "tok2");
    ASSERT_TRUE(live);
    EXPECT_EQ(live->id, 2u);
    EXPECT_EQ(live->p, p2);
    EXPECT_FALSE(reg.claim("cam", "tok2", "x")) << "claim() takes away seats only";

    // Someone else cannot hand p2's seat over, and p2's seat cannot be handed over twice.
    auto s = seat(2, 1024);
    EXPECT_FALSE(reg.hand_over(r, 2, p1.get(), s, "new"));
    auto c = reg.hand_over(r, 2, p2.get(), s, "new");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->id, 2u);
    EXPECT_EQ(c->others, (std::vector<std::uint64_t>{1}));
    EXPECT_FALSE(reg.hand_over(r, 2, p2.get(), seat(2, 1024), "again"));
    EXPECT_FALSE(reg.find_live("cam", "new")) << "being resumed: not live, not claimable";
    EXPECT_FALSE(reg.claim("cam", "new", "x"));

    // The old holder can no longer leave or park the seat; the new one attaches and owns it.
    EXPECT_FALSE(reg.leave(r, 2, p2.get()));
    EXPECT_FALSE(reg.park(r, 2, seat(2, 1024), room_registry::clock::now(), p2.get()));
    auto p2b = make_peer(2);
    std::size_t replayed = 0;
    reg.broadcast(r, 1, text("while handing over"));
    ASSERT_TRUE(s->attach(p2b, nullptr, replayed));
    EXPECT_EQ(replayed, 1u);
    reg.unpark(r, 2, p2b);
    EXPECT_EQ(reg.held_count(), 0u);
    EXPECT_FALSE(reg.leave(r, 2, p2.get()));
    EXPECT_EQ(reg.member_count(), 2u);
    ASSERT_TRUE(reg.find_live("cam", "new"));
    EXPECT_TRUE(reg.leave(r, 2, p2b.get()));
    EXPECT_EQ(reg.member_count(), 1u);
}

TEST(AwaySeat, AHandOverSeatIsNotHeldAgainstTheCapsAndKeepsEverything) {
    using roomcast::rooms::away_seat;
    roomcast::seat_totals totals;
    roomcast::rooms::seat_limits lim;
    lim.per_seat_bytes = 10;
    lim.per_address_seats = 1;
    auto home = std::make_shared<roomcast::address_usage>();
    away_seat held(1, lim, home, totals);
    ASSERT_TRUE(held.hold());
    away_seat carrier(2, lim, home, totals);
    ASSERT_TRUE(carrier.hold(false));  // over the address's one seat: still taken
    EXPECT_EQ(home->held_seats.load(), 1u);
    carrier.deliver(text("longer than ten bytes"));
    EXPECT_FALSE(carrier.overflowed());
    auto p = std::make_shared<fake_peer>(2);
    std::size_t replayed = 0;
    ASSERT_TRUE(carrier.attach(p, nullptr, replayed));
    EXPECT_EQ(replayed, 1u);
    EXPECT_EQ(home->held_seats.load(), 1u);
    EXPECT_EQ(home->held_bytes.load(), 0u);
    // Once attached (or on a seat that is not a hand-over's) nothing can be put in front.
    EXPECT_FALSE(carrier.prepend({text("late")}));
    EXPECT_FALSE(held.prepend({text("not a hand-over")}));
}
