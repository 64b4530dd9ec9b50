#include <roomcast/transport/send_queue.hpp>

#include <roomcast/protocol/frame.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace {

using roomcast::protocol::frame_ptr;
using roomcast::protocol::make_frame;
using roomcast::transport::send_queue;
using push_result = send_queue::push_result;

// A frame whose wire size is exactly `wire` bytes (2-byte header for wire <= 127).
frame_ptr frame_of_wire_size(std::size_t wire, char fill = 'x') {
    std::size_t const payload = wire <= 127 ? wire - 2 : wire <= 65539 ? wire - 4 : wire - 10;
    auto f = make_frame(std::string(payload, fill), true);
    EXPECT_EQ(f->wire_size(), wire);
    return f;
}

frame_ptr numbered(int i) {
    return make_frame(std::to_string(i), true);
}

// The writer's side of begin_write(): the batch is the caller's until the write completes.
std::vector<frame_ptr> take(send_queue& q) {
    std::vector<frame_ptr> batch;
    q.begin_write(batch);
    return batch;
}

send_queue::limits lim(std::size_t high, std::size_t max, std::size_t batch = 32) {
    send_queue::limits l;
    l.high_water = high;
    l.max_bytes = max;
    l.max_batch = batch;
    return l;
}

TEST(SendQueue, DefaultLimits) {
    send_queue::limits l;
    EXPECT_EQ(l.high_water, 4u << 20);
    EXPECT_EQ(l.max_bytes, 80u << 20);
    EXPECT_EQ(l.max_batch, 32u);
}

TEST(SendQueue, StartsIdle) {
    send_queue q(lim(100, 1000));
    EXPECT_TRUE(q.idle());
    EXPECT_FALSE(q.writing());
    EXPECT_FALSE(q.has_pending());
    EXPECT_EQ(q.pending_frames(), 0u);
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_FALSE(q.congested());
    EXPECT_EQ(q.clear_pending(), 0u);
}

TEST(SendQueue, StartThenQueued) {
    send_queue q(lim(1000, 10000));
    EXPECT_EQ(q.push(numbered(1)), push_result::start);
    EXPECT_EQ(q.push(numbered(2)), push_result::queued);  // pending, not yet writing
    EXPECT_FALSE(q.idle());
    EXPECT_FALSE(q.writing());
    auto batch = take(q);
    EXPECT_EQ(batch.size(), 2u);
    EXPECT_TRUE(q.writing());
    EXPECT_EQ(q.push(numbered(3)), push_result::queued);  // a write is in flight
    q.end_write();
    EXPECT_TRUE(q.has_pending());
    EXPECT_FALSE(q.writing());
    EXPECT_EQ(q.push(numbered(4)), push_result::queued);  // still pending frames
    take(q);
    q.end_write();
    EXPECT_TRUE(q.idle());
    EXPECT_EQ(q.push(numbered(5)), push_result::start);  // idle again
}

TEST(SendQueue, FifoAcrossBatches) {
    send_queue q(lim(1u << 20, 1u << 20, 4));
    std::vector<frame_ptr> pushed;
    for (int i = 0; i < 23; ++i) {
        pushed.push_back(numbered(i));
        q.push(pushed.back());
    }
    std::vector<frame_ptr> written;
    int batches = 0;
    while (q.has_pending()) {
        auto batch = take(q);
        EXPECT_LE(batch.size(), 4u);
        EXPECT_FALSE(batch.empty());
        written.insert(written.end(), batch.begin(), batch.end());
        // Frames pushed during a write come after everything already queued.
        if (batches == 2) {
            pushed.push_back(numbered(100));
            EXPECT_EQ(q.push(pushed.back()), push_result::queued);
        }
        q.end_write();
        ++batches;
    }
    EXPECT_EQ(written, pushed);
    EXPECT_EQ(batches, 6);  // 24 frames in batches of 4
    EXPECT_TRUE(q.idle());
}

TEST(SendQueue, MaxBatchRespected) {
    for (std::size_t batch_size : {1u, 2u, 32u}) {
        send_queue q(lim(1u << 20, 1u << 20, batch_size));
        for (int i = 0; i < 70; ++i)
            q.push(numbered(i));
        std::size_t total = 0;
        int expected_next = 0;
        while (q.has_pending()) {
            std::size_t const before = q.pending_frames();
            auto batch = take(q);
            EXPECT_EQ(batch.size(), std::min(batch_size, before));
            EXPECT_EQ(q.pending_frames(), before - batch.size());
            for (auto const& f : batch)
                EXPECT_EQ(f->payload, std::to_string(expected_next++));
            total += batch.size();
            q.end_write();
        }
        EXPECT_EQ(total, 70u);
    }
}

TEST(SendQueue, BatchStaysValidUntilEndWrite) {
    send_queue q(lim(1u << 20, 1u << 20, 8));
    for (int i = 0; i < 8; ++i)
        q.push(numbered(i));
    auto batch = take(q);
    ASSERT_EQ(batch.size(), 8u);
    // Pushing many more frames (and clearing them) must not disturb the in-flight batch.
    for (int i = 0; i < 3000; ++i)
        q.push(numbered(1000 + i));
    EXPECT_EQ(q.clear_pending(), 3000u);
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(batch[static_cast<std::size_t>(i)]->payload, std::to_string(i));
    q.end_write();
}

TEST(SendQueue, TheBatchInFlightIsTheWritersNotTheQueues) {
    // The regression behind a use-after-free: parking a seat used to MOVE the frames of the
    // write in flight out of the queue, so the seat could free what the kernel was reading.
    // Now the queue hands the batch over at begin_write and nothing it does touches it again.
    send_queue q(lim(1u << 20, 1u << 20, 2));
    q.push(numbered(0));
    q.push(numbered(1));
    q.push(numbered(2));
    std::vector<frame_ptr> batch;
    q.begin_write(batch);
    ASSERT_EQ(batch.size(), 2u);
    std::weak_ptr<roomcast::protocol::out_frame const> in_flight = batch[0];
    auto pending = q.take_pending();  // what a held seat takes
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0]->payload, "2");
    pending.clear();  // the seat overflows and lets go of what it took
    EXPECT_EQ(q.clear_pending(), 0u);
    EXPECT_FALSE(in_flight.expired());  // still alive: the writer holds it
    EXPECT_EQ(batch[0]->payload, "0");
    EXPECT_EQ(q.bytes(), batch[0]->wire_size() + batch[1]->wire_size());
    q.end_write();
    EXPECT_EQ(q.bytes(), 0u);
    batch.clear();  // the write completed: only now may it go
    EXPECT_TRUE(in_flight.expired());
}

TEST(SendQueue, TakePendingLeavesTheInFlightBytesCounted) {
    send_queue q(lim(1u << 20, 1u << 20, 1));
    auto a = frame_of_wire_size(10), b = frame_of_wire_size(20), c = frame_of_wire_size(30);
    q.push(a);
    q.push(b);
    q.push(c);
    auto batch = take(q);
    auto moved = q.take_pending();
    EXPECT_EQ(moved.size(), 2u);
    EXPECT_EQ(moved[0], b);
    EXPECT_EQ(moved[1], c);
    EXPECT_EQ(q.bytes(), 10u);
    EXPECT_TRUE(q.writing());
    q.end_write();
    EXPECT_TRUE(q.idle());
}

TEST(SendQueue, AmendTracksAFrameThatChangedSize) {
    send_queue q(lim(100, 1000));
    q.push(frame_of_wire_size(10));
    q.amend(5);
    EXPECT_EQ(q.bytes(), 15u);
    q.amend(-7);
    EXPECT_EQ(q.bytes(), 8u);
}

TEST(SendQueue, BytesAccounting) {
    send_queue q(lim(1u << 20, 1u << 20, 2));
    auto a = frame_of_wire_size(10), b = frame_of_wire_size(20), c = frame_of_wire_size(130),
         d = frame_of_wire_size(70000);
    q.push(a);
    EXPECT_EQ(q.bytes(), 10u);
    q.push(b);
    q.push(c);
    q.push(d);
    EXPECT_EQ(q.bytes(), 10u + 20 + 130 + 70000);
    take(q);                                       // a, b in flight
    EXPECT_EQ(q.bytes(), 10u + 20 + 130 + 70000);  // in-flight bytes still count
    q.end_write();
    EXPECT_EQ(q.bytes(), 130u + 70000);
    take(q);  // c, d
    q.push(a);
    EXPECT_EQ(q.bytes(), 130u + 70000 + 10);
    EXPECT_EQ(q.clear_pending(), 1u);  // drops a, keeps the in-flight c, d
    EXPECT_EQ(q.bytes(), 130u + 70000);
    q.end_write();
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_TRUE(q.idle());
}

TEST(SendQueue, SameFrameQueuedTwiceCountsTwice) {
    send_queue q(lim(1000, 1000));
    auto f = frame_of_wire_size(100);
    q.push(f);
    q.push(f);
    EXPECT_EQ(q.bytes(), 200u);
    EXPECT_EQ(q.pending_frames(), 2u);
}

TEST(SendQueue, OverflowRefusesWithoutQueuing) {
    send_queue q(lim(50, 100, 32));
    EXPECT_EQ(q.push(frame_of_wire_size(60)), push_result::start);
    EXPECT_EQ(q.push(frame_of_wire_size(40)), push_result::queued);  // exactly at max: fine
    EXPECT_EQ(q.bytes(), 100u);
    EXPECT_EQ(q.push(frame_of_wire_size(2)), push_result::overflow);
    EXPECT_EQ(q.bytes(), 100u);
    EXPECT_EQ(q.pending_frames(), 2u);
    auto batch = take(q);
    EXPECT_EQ(batch.size(), 2u);
    // In-flight bytes still count toward the cap.
    EXPECT_EQ(q.push(frame_of_wire_size(2)), push_result::overflow);
    EXPECT_EQ(q.pending_frames(), 0u);
    q.end_write();
    EXPECT_EQ(q.push(frame_of_wire_size(100)), push_result::start);
}

TEST(SendQueue, OverflowOnAnIdleQueueLeavesItIdle) {
    send_queue q(lim(10, 100));
    EXPECT_EQ(q.push(frame_of_wire_size(101)), push_result::overflow);
    EXPECT_TRUE(q.idle());
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_EQ(q.push(frame_of_wire_size(100)), push_result::start);
}

TEST(SendQueue, ForceBypassesTheCap) {
    send_queue q(lim(50, 100));
    EXPECT_EQ(q.push(frame_of_wire_size(100)), push_result::start);
    EXPECT_EQ(q.push(frame_of_wire_size(4)), push_result::overflow);
    EXPECT_EQ(q.push(frame_of_wire_size(4), /*force=*/true), push_result::queued);
    EXPECT_EQ(q.bytes(), 104u);
    EXPECT_EQ(q.pending_frames(), 2u);
    // Force on an idle queue over the cap still says start.
    send_queue q2(lim(1, 2));
    EXPECT_EQ(q2.push(frame_of_wire_size(10), true), push_result::start);
    EXPECT_EQ(q2.bytes(), 10u);
    EXPECT_TRUE(q2.congested());
}

TEST(SendQueue, CongestedStrictlyAboveHighWater) {
    send_queue q(lim(100, 1000, 1));
    q.push(frame_of_wire_size(60));
    EXPECT_FALSE(q.congested());
    q.push(frame_of_wire_size(40));
    EXPECT_EQ(q.bytes(), 100u);
    EXPECT_FALSE(q.congested());  // at the mark is not above it
    q.push(frame_of_wire_size(2));
    EXPECT_TRUE(q.congested());
    take(q);  // the 60 in flight: still counted
    EXPECT_TRUE(q.congested());
    q.end_write();
    EXPECT_EQ(q.bytes(), 42u);
    EXPECT_FALSE(q.congested());
}

TEST(SendQueue, ClearPendingNeverDropsTheInFlightBatch) {
    send_queue q(lim(1000, 10000, 3));
    for (int i = 0; i < 10; ++i)
        q.push(numbered(i));
    auto batch = take(q);
    ASSERT_EQ(batch.size(), 3u);
    std::size_t const inflight_bytes =
        batch[0]->wire_size() + batch[1]->wire_size() + batch[2]->wire_size();
    EXPECT_EQ(q.clear_pending(), 7u);
    EXPECT_TRUE(q.writing());
    EXPECT_FALSE(q.has_pending());
    EXPECT_FALSE(q.idle());
    EXPECT_EQ(q.bytes(), inflight_bytes);
    EXPECT_EQ(batch[0]->payload, "0");
    EXPECT_EQ(batch[2]->payload, "2");
    // A close frame can still be queued after clearing, behind the in-flight batch.
    EXPECT_EQ(q.push(numbered(99), true), push_result::queued);
    q.end_write();
    auto next = take(q);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0]->payload, "99");
    q.end_write();
    EXPECT_TRUE(q.idle());
    EXPECT_EQ(q.bytes(), 0u);
}

TEST(SendQueue, ClearPendingWhenNotWritingMakesItIdle) {
    send_queue q(lim(1000, 10000));
    for (int i = 0; i < 5; ++i)
        q.push(numbered(i));
    EXPECT_EQ(q.clear_pending(), 5u);
    EXPECT_TRUE(q.idle());
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_EQ(q.push(numbered(1)), push_result::start);
}

TEST(SendQueue, ClearPendingAfterPartialBatches) {
    // Some frames already taken (head advanced), then the rest cleared.
    send_queue q(lim(1u << 20, 1u << 20, 2));
    for (int i = 0; i < 9; ++i)
        q.push(frame_of_wire_size(10));
    take(q);
    q.end_write();
    take(q);
    EXPECT_EQ(q.pending_frames(), 5u);
    EXPECT_EQ(q.clear_pending(), 5u);
    EXPECT_EQ(q.bytes(), 20u);
    q.end_write();
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_TRUE(q.idle());
}

TEST(SendQueue, LongBacklogKeepsOrderThroughCompaction) {
    // Enough frames for the pending vector to be compacted while a backlog remains.
    send_queue q(lim(1u << 30, 1u << 30, 7));
    int next_push = 0, next_write = 0;
    for (int round = 0; round < 600; ++round) {
        for (int k = 0; k < 9; ++k)
            q.push(numbered(next_push++));  // backlog grows
        auto batch = take(q);
        for (auto const& f : batch)
            ASSERT_EQ(f->payload, std::to_string(next_write++));
        q.end_write();
    }
    while (q.has_pending()) {
        auto batch = take(q);
        for (auto const& f : batch)
            ASSERT_EQ(f->payload, std::to_string(next_write++));
        q.end_write();
    }
    EXPECT_EQ(next_write, next_push);
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_TRUE(q.idle());
}

TEST(SendQueue, BytesMatchSumOfQueuedFramesUnderRandomOperations) {
    send_queue q(lim(5000, 20000, 5));
    std::vector<frame_ptr> model_pending, model_inflight;
    unsigned state = 12345;
    auto rnd = [&] {
        state = state * 1103515245u + 12345u;
        return (state >> 16) & 0x7FFF;
    };
    auto sum = [](std::vector<frame_ptr> const& v) {
        std::size_t s = 0;
        for (auto const& f : v)
            s += f->wire_size();
        return s;
    };
    for (int step = 0; step < 5000; ++step) {
        unsigned op = rnd() % 10;
        if (op < 6) {
            auto f = make_frame(std::string(rnd() % 300, 'a'), true);
            bool force = rnd() % 20 == 0;
            bool const was_idle = model_pending.empty() && model_inflight.empty();
            std::size_t const before = sum(model_pending) + sum(model_inflight);
            auto r = q.push(f, force);
            if (!force && before + f->wire_size() > 20000) {
                ASSERT_EQ(r, push_result::overflow);
            } else {
                ASSERT_EQ(r, was_idle ? push_result::start : push_result::queued);
                model_pending.push_back(f);
            }
        } else if (op < 8) {
            if (model_inflight.empty()) {
                auto batch = take(q);
                std::size_t take = std::min<std::size_t>(5, model_pending.size());
                ASSERT_EQ(batch.size(), take);
                for (std::size_t i = 0; i < take; ++i)
                    ASSERT_EQ(batch[i], model_pending[i]);
                model_inflight.assign(model_pending.begin(),
                                      model_pending.begin() + static_cast<std::ptrdiff_t>(take));
                model_pending.erase(model_pending.begin(),
                                    model_pending.begin() + static_cast<std::ptrdiff_t>(take));
            } else {
                q.end_write();
                model_inflight.clear();
            }
        } else if (op == 8) {
            if (rnd() % 4 == 0) {
                ASSERT_EQ(q.clear_pending(), model_pending.size());
                model_pending.clear();
            }
        }
        ASSERT_EQ(q.bytes(), sum(model_pending) + sum(model_inflight)) << "step " << step;
        ASSERT_EQ(q.pending_frames(), model_pending.size());
        ASSERT_EQ(q.writing(), !model_inflight.empty());
        ASSERT_EQ(q.congested(), q.bytes() > 5000);
    }
}

}  // namespace
