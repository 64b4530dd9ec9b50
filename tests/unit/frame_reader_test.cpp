#include <roomcast/ws/frame_reader.hpp>

#include <roomcast/ws/frame.hpp>

#include "support/client_frames.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace roomcast::ws;
using status = frame_reader::status;

// ---------------------------------------------------------------------------------------------
// Building client frames

std::array<std::uint8_t, 4> key_for(std::size_t i) {
    return {static_cast<std::uint8_t>(0x11 * (i + 1)), static_cast<std::uint8_t>(0xA5 ^ i),
            static_cast<std::uint8_t>(0x3C + 7 * i), static_cast<std::uint8_t>(0xF0 - i)};
}

/** A masked client frame with a minimal length encoding. */
std::string frame(opcode op, std::string_view payload, bool fin = true,
                  std::array<std::uint8_t, 4> key = {0x12, 0x34, 0x56, 0x78}) {
    return roomcast::test::client_frame(static_cast<std::uint8_t>(op), payload, fin, key);
}

/** A header announcing `len` bytes, without the payload. */
std::string header_only(opcode op, std::uint64_t len, bool fin = true) {
    return roomcast::test::client_header(static_cast<std::uint8_t>(op), len, fin, {1, 2, 3, 4});
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xFF);
    p += reason;
    return p;
}

std::string pattern(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xFF);
    return s;
}

// ---------------------------------------------------------------------------------------------
// Recording what the reader reports

struct event {
    enum kind { message, ping, pong, close } k;
    std::string payload;
    bool text = false;
    std::uint16_t code = 0;

    bool operator==(event const&) const = default;
};

std::ostream& operator<<(std::ostream& os, event const& e) {
    static char const* names[] = {"message", "ping", "pong", "close"};
    os << names[e.k] << "(" << e.payload.size() << " bytes" << (e.text ? ", text" : "") << ", code "
       << e.code << ")";
    return os;
}

struct recorder final : frame_reader::events {
    std::vector<event> events;
    int stop_after_messages = -1;  // on_message returns false on the Nth message (1-based)
    bool stop_on_ping = false;
    bool stop_on_pong = false;

    bool on_message(std::string&& payload, bool text) override {
        events.push_back({event::message, std::move(payload), text, 0});
        int n = 0;
        for (auto const& e : events)
            n += e.k == event::message;
        return n != stop_after_messages;
    }
    bool on_ping(std::string_view payload) override {
        events.push_back({event::ping, std::string(payload), false, 0});
        return !stop_on_ping;
    }
    bool on_pong() override {
        events.push_back({event::pong, {}, false, 0});
        return !stop_on_pong;
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
        events.push_back({event::close, std::string(reason), false, code});
    }
};

struct outcome {
    std::vector<event> events;
    status st = status::ok;
    std::uint16_t fail_code = 0;
};

/** Feeds `stream` in chunks of the given sizes (the last repeated), stopping on a non-ok status. */
outcome run_chunks(std::string const& stream, std::size_t max_message,
                   std::vector<std::size_t> const& chunks, recorder rec = {}) {
    frame_reader r(max_message);
    outcome out;
    std::size_t pos = 0, ci = 0;
    while (pos < stream.size()) {
        std::size_t n = chunks.empty() ? stream.size() : chunks[std::min(ci, chunks.size() - 1)];
        ++ci;
        n = std::min(n, stream.size() - pos);
        out.st = r.feed(stream.data() + pos, n, rec);
        pos += n;
        if (out.st != status::ok) break;
    }
    out.events = std::move(rec.events);
    out.fail_code = r.fail_code();
    return out;
}

outcome run_all(std::string const& stream, std::size_t max_message = 1u << 20, recorder rec = {}) {
    return run_chunks(stream, max_message, {}, std::move(rec));
}

outcome run_bytewise(std::string const& stream, std::size_t max_message = 1u << 20,
                     recorder rec = {}) {
    return run_chunks(stream, max_message, {1}, std::move(rec));
}

outcome run_random(std::string const& stream, unsigned seed, std::size_t max_message = 1u << 20,
                   recorder rec = {}, std::size_t max_chunk = 50) {
    std::mt19937 rng(seed);
    std::vector<std::size_t> chunks;
    std::size_t total = 0;
    while (total < stream.size()) {
        std::size_t n = 1 + rng() % max_chunk;
        chunks.push_back(n);
        total += n;
    }
    return run_chunks(stream, max_message, chunks, std::move(rec));
}

/** Runs every way of splitting and checks they agree; returns the all-at-once outcome. */
outcome run_every_way(std::string const& stream, std::size_t max_message = 1u << 20,
                      recorder const& rec = {}) {
    outcome all = run_all(stream, max_message, rec);
    outcome one = run_bytewise(stream, max_message, rec);
    EXPECT_EQ(one.events, all.events) << "byte-at-a-time differs";
    EXPECT_EQ(one.st, all.st);
    EXPECT_EQ(one.fail_code, all.fail_code);
    for (unsigned seed = 1; seed <= 20; ++seed) {
        outcome rnd = run_random(stream, seed, max_message, rec);
        EXPECT_EQ(rnd.events, all.events) << "random split, seed " << seed;
        EXPECT_EQ(rnd.st, all.st) << "seed " << seed;
        EXPECT_EQ(rnd.fail_code, all.fail_code) << "seed " << seed;
    }
    return all;
}

event msg(std::string p, bool text) {
    return {event::message, std::move(p), text, 0};
}

// ---------------------------------------------------------------------------------------------
// Plain messages

TEST(FrameReader, SingleTextAndBinaryMessages) {
    std::string stream = frame(opcode::text, "hello") + frame(opcode::binary, pattern(300, 1)) +
                         frame(opcode::text, "") + frame(opcode::binary, "") +
                         frame(opcode::text, std::string(70000, 'z'));
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 5u);
    EXPECT_EQ(o.events[0], msg("hello", true));
    EXPECT_EQ(o.events[1], msg(pattern(300, 1), false));
    EXPECT_EQ(o.events[2], msg("", true));
    EXPECT_EQ(o.events[3], msg("", false));
    EXPECT_EQ(o.events[4], msg(std::string(70000, 'z'), true));
}

TEST(FrameReader, EveryLengthAroundTheEncodingBoundaries) {
    std::string stream;
    std::vector<event> expected;
    std::size_t i = 0;
    for (std::size_t len : {0, 1, 2, 3, 4, 5, 7, 8, 9, 124, 125, 126, 127, 65535, 65536, 65537}) {
        std::string p = pattern(len, static_cast<unsigned>(len));
        stream += frame(opcode::binary, p, true, key_for(i++));
        expected.push_back(msg(p, false));
    }
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::ok);
    EXPECT_EQ(o.events, expected);
}

TEST(FrameReader, ManyMixedFramesRandomSplitsAgree) {
    // A long stream of everything the reader handles, with larger random chunks too.
    std::mt19937 rng(42);
    std::string stream;
    std::vector<event> expected;
    for (std::size_t i = 0; i < 200; ++i) {
        switch (rng() % 5) {
            case 0: {
                std::string p(rng() % 300, 'a' + static_cast<char>(i % 26));
                stream += frame(opcode::text, p, true, key_for(i));
                expected.push_back(msg(p, true));
                break;
            }
            case 1: {
                std::string p = pattern(rng() % 3000, static_cast<unsigned>(i));
                // In two or three fragments.
                std::size_t a = p.size() / 3, b = p.size() / 2;
                stream += frame(opcode::binary, p.substr(0, a), false, key_for(i));
                stream += frame(opcode::ping, "mid", true, key_for(i + 1));
                expected.push_back({event::ping, "mid", false, 0});
                stream += frame(opcode::cont, p.substr(a, b - a), false, key_for(i + 2));
                stream += frame(opcode::cont, p.substr(b), true, key_for(i + 3));
                expected.push_back(msg(p, false));
                break;
            }
            case 2: {
                std::string p = pattern(rng() % 126, static_cast<unsigned>(i));
                stream += frame(opcode::ping, p, true, key_for(i));
                expected.push_back({event::ping, p, false, 0});
                break;
            }
            case 3:
                stream += frame(opcode::pong, pattern(rng() % 10, 1), true, key_for(i));
                expected.push_back({event::pong, {}, false, 0});
                break;
            default: {
                std::string p = pattern(70000 + rng() % 1000, static_cast<unsigned>(i));
                stream += frame(opcode::binary, p, true, key_for(i));
                expected.push_back(msg(p, false));
            }
        }
    }
    outcome all = run_all(stream);
    EXPECT_EQ(all.st, status::ok);
    EXPECT_EQ(all.events, expected);
    for (unsigned seed = 100; seed < 110; ++seed) {
        outcome o = run_random(stream, seed, 1u << 20, {}, 100000);
        EXPECT_EQ(o.st, status::ok);
        EXPECT_EQ(o.events, expected) << "seed " << seed;
    }
    outcome one = run_bytewise(stream);
    EXPECT_EQ(one.events, expected);
}

TEST(FrameReader, FeedingNothingIsFine) {
    frame_reader r(1000);
    recorder rec;
    EXPECT_EQ(r.feed(nullptr, 0, rec), status::ok);
    std::string f = frame(opcode::text, "abc");
    EXPECT_EQ(r.feed(f.data(), 3, rec), status::ok);  // partial header
    EXPECT_EQ(r.feed(f.data() + 3, 0, rec), status::ok);
    EXPECT_EQ(r.feed(f.data() + 3, f.size() - 3, rec), status::ok);
    ASSERT_EQ(rec.events.size(), 1u);
    EXPECT_EQ(rec.events[0], msg("abc", true));
}

// ---------------------------------------------------------------------------------------------
// Fragmentation

TEST(FrameReader, FragmentedTextReassembled) {
    std::string stream = frame(opcode::text, "Hel", false) + frame(opcode::cont, "lo, ", false) +
                         frame(opcode::cont, "", false) + frame(opcode::cont, "world", true);
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], msg("Hello, world", true));
}

TEST(FrameReader, FragmentedBinaryReassembled) {
    std::string p = pattern(200000, 5);
    std::string stream = frame(opcode::binary, p.substr(0, 10), false, key_for(1)) +
                         frame(opcode::cont, p.substr(10, 70000), false, key_for(2)) +
                         frame(opcode::cont, p.substr(70010), true, key_for(3)) +
                         frame(opcode::text, "after");
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 2u);
    EXPECT_EQ(o.events[0], msg(p, false));
    EXPECT_EQ(o.events[1], msg("after", true));
}

TEST(FrameReader, EmptyFirstFragmentAndEmptyLast) {
    std::string stream = frame(opcode::binary, "", false) + frame(opcode::cont, "xyz", false) +
                         frame(opcode::cont, "", true);
    auto o = run_every_way(stream);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], msg("xyz", false));
}

TEST(FrameReader, ControlFramesInterleavedInFragmentedMessage) {
    std::string stream = frame(opcode::text, "ab", false) + frame(opcode::ping, "p1") +
                         frame(opcode::cont, "cd", false) + frame(opcode::pong, "x") +
                         frame(opcode::ping, "") + frame(opcode::cont, "ef", true) +
                         frame(opcode::ping, "p2");
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::ok);
    std::vector<event> expected = {{event::ping, "p1", false, 0},
                                   {event::pong, "", false, 0},
                                   {event::ping, "", false, 0},
                                   msg("abcdef", true),
                                   {event::ping, "p2", false, 0}};
    EXPECT_EQ(o.events, expected);
}

TEST(FrameReader, CloseInsideFragmentedMessageStops) {
    std::string stream = frame(opcode::text, "ab", false) +
                         frame(opcode::close, close_payload(1000, "bye")) +
                         frame(opcode::cont, "cd", true);
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], (event{event::close, "bye", false, 1000}));
}

TEST(FrameReader, ContinuationWithoutStartIs1002) {
    for (bool fin : {true, false}) {
        auto o = run_every_way(frame(opcode::cont, "x", fin));
        EXPECT_EQ(o.st, status::failed);
        EXPECT_EQ(o.fail_code, close_code::protocol_error);
        EXPECT_TRUE(o.events.empty());
    }
    // Also after a complete message.
    auto o = run_every_way(frame(opcode::text, "done") + frame(opcode::cont, "more"));
    EXPECT_EQ(o.st, status::failed);
    EXPECT_EQ(o.fail_code, 1002);
    ASSERT_EQ(o.events.size(), 1u);
}

TEST(FrameReader, NewDataFrameInsideFragmentedIs1002) {
    for (opcode op : {opcode::text, opcode::binary}) {
        for (bool fin : {true, false}) {
            auto o = run_every_way(frame(opcode::binary, "ab", false) + frame(op, "cd", fin));
            EXPECT_EQ(o.st, status::failed);
            EXPECT_EQ(o.fail_code, 1002);
            EXPECT_TRUE(o.events.empty());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Message size

TEST(FrameReader, MessageAtTheLimitIsAccepted) {
    std::size_t const max = 1000;
    auto o = run_every_way(frame(opcode::binary, std::string(max, 'm')), max);
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0].payload.size(), max);
    // Across fragments too.
    o = run_every_way(frame(opcode::text, std::string(600, 'a'), false) +
                          frame(opcode::cont, std::string(400, 'b'), true),
                      max);
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0].payload.size(), max);
}

TEST(FrameReader, MessageOverTheLimitIs1009) {
    std::size_t const max = 1000;
    auto o = run_every_way(frame(opcode::binary, std::string(max + 1, 'm')), max);
    EXPECT_EQ(o.st, status::failed);
    EXPECT_EQ(o.fail_code, close_code::too_big);
    EXPECT_TRUE(o.events.empty());
}

TEST(FrameReader, MessageOverTheLimitIsRefusedAtTheHeader) {
    // The reader fails as soon as the header is in, without waiting for (or buffering) the data.
    frame_reader r(1u << 20);
    recorder rec;
    std::string h = header_only(opcode::binary, (1u << 20) + 1);
    EXPECT_EQ(r.feed(h.data(), h.size(), rec), status::failed);
    EXPECT_EQ(r.fail_code(), 1009);
    EXPECT_STRNE(r.fail_reason(), "");

    frame_reader r2(1u << 20);
    h = header_only(opcode::text, (1ull << 63) - 1);
    EXPECT_EQ(r2.feed(h.data(), h.size(), rec), status::failed);
    EXPECT_EQ(r2.fail_code(), 1009);
}

TEST(FrameReader, MessageOverTheLimitAcrossFragmentsIs1009) {
    std::size_t const max = 1000;
    std::string stream = frame(opcode::text, std::string(500, 'a'), false) +
                         frame(opcode::cont, std::string(500, 'b'), false) +
                         frame(opcode::cont, std::string(1, 'c'), true);
    auto o = run_every_way(stream, max);
    EXPECT_EQ(o.st, status::failed);
    EXPECT_EQ(o.fail_code, 1009);
    EXPECT_TRUE(o.events.empty());
    // A control frame in between does not count toward the message size.
    stream = frame(opcode::text, std::string(900, 'a'), false) +
             frame(opcode::ping, std::string(125, 'p')) +
             frame(opcode::cont, std::string(100, 'b'), true);
    o = run_every_way(stream, max);
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 2u);
    EXPECT_EQ(o.events[1].payload.size(), 1000u);
}

TEST(FrameReader, SizeLimitAppliesPerMessage) {
    std::size_t const max = 100;
    std::string stream;
    for (int i = 0; i < 5; ++i)
        stream += frame(opcode::binary, std::string(100, 'x'));
    auto o = run_every_way(stream, max);
    EXPECT_EQ(o.st, status::ok);
    EXPECT_EQ(o.events.size(), 5u);
}

TEST(FrameReader, HugeAnnouncedLengthDoesNotReserveItAll) {
    // 14 header bytes must not pin the whole announced size.
    std::size_t const max = 64u << 20;
    frame_reader r(max);
    recorder rec;
    std::string h = header_only(opcode::binary, max);
    EXPECT_EQ(r.feed(h.data(), h.size(), rec), status::ok);
    EXPECT_LE(r.buffered_bytes(), 2u << 20);
    std::string some(1000, 'x');
    EXPECT_EQ(r.feed(some.data(), some.size(), rec), status::ok);
    EXPECT_LE(r.buffered_bytes(), 2u << 20);
}

// An adversarial review found the reader grew its buffer to the whole announced size once
// 64 KiB had arrived: 32 connections sending 2 MiB in all pinned 1 GiB. Memory must follow
// what arrived: at most 1.5 × the bytes received + 64 KiB, whatever the header says.
TEST(FrameReader, MemoryFollowsTheBytesThatArriveNotTheAnnouncedLength) {
    std::size_t const max = 32u << 20;
    for (bool direct : {false, true}) {
        frame_reader r(max);
        recorder rec;
        std::string h = header_only(opcode::binary, max);
        ASSERT_EQ(r.feed(h.data(), h.size(), rec), status::ok);
        EXPECT_EQ(r.buffered_bytes(), 0u);  // a header alone costs nothing
        std::size_t received = 0;
        std::string chunk(4096, 'x');
        while (received < (3u << 20)) {
            if (direct) {
                auto t = r.direct_target(1);
                ASSERT_FALSE(t.empty());
                std::size_t const n = std::min<std::size_t>(t.size(), 4096);
                std::memset(t.data(), 'x', n);
                ASSERT_EQ(r.commit_direct(n, rec), status::ok);
                received += n;
            } else {
                ASSERT_EQ(r.feed(chunk.data(), chunk.size(), rec), status::ok);
                received += chunk.size();
            }
            ASSERT_LE(r.buffered_bytes(), received + received / 2 + (64u << 10))
                << "after " << received << " bytes (direct " << direct << ")";
            EXPECT_EQ(r.message_bytes(), received);
        }
        EXPECT_TRUE(r.in_message());
    }
}

/** Grants growth up to a limit, and records what it was asked and what arrived in chunks. */
struct granting_recorder final : frame_reader::events {
    std::size_t limit = 0;
    std::vector<std::size_t> asked;
    std::vector<std::size_t> chunk_sizes;
    std::string chunked_payload;
    std::size_t frames = 0;
    std::size_t messages = 0;
    bool on_message(std::string&&, bool) override {
        ++messages;
        return true;
    }
    bool on_chunked_message(std::vector<roomcast::protocol::payload_chunk>&& chunks) override {
        ++messages;
        for (auto const& c : chunks) {
            chunk_sizes.push_back(c.size);
            EXPECT_LE(c.size, c.capacity);
            chunked_payload.append(c.data.get(), c.size);
        }
        return true;
    }
    bool on_ping(std::string_view) override { return true; }
    bool on_pong() override { return true; }
    void on_close(std::uint16_t, std::string_view) override {}
    void on_frame() override { ++frames; }
    bool on_grow(std::size_t total) override {
        asked.push_back(total);
        return total <= limit;
    }
};

TEST(FrameReader, GrowthPast64KiBAsksFirstAndARefusalFailsWith1013AndFreesTheMessage) {
    frame_reader r(32u << 20);
    granting_recorder g;
    g.limit = 1u << 20;
    std::string const f = frame(opcode::binary, pattern(4u << 20, 3));
    auto const st = r.feed(f.data(), f.size(), g);
    EXPECT_EQ(st, status::failed);
    EXPECT_EQ(r.fail_code(), close_code::try_again_later);
    ASSERT_FALSE(g.asked.empty());
    EXPECT_GT(g.asked.back(), g.limit);  // refused the step that would pass the limit
    for (std::size_t i = 0; i + 1 < g.asked.size(); ++i)
        EXPECT_LE(g.asked[i], g.limit);
    EXPECT_EQ(r.buffered_bytes(), 0u);  // the failed message's memory is gone
    EXPECT_EQ(g.messages, 0u);
}

TEST(FrameReader, SmallMessagesNeverAsk) {
    frame_reader r(32u << 20);
    granting_recorder g;
    g.limit = 0;  // would refuse anything
    std::string stream;
    for (int i = 0; i < 50; ++i)
        stream += frame(opcode::binary, pattern(60000, static_cast<unsigned>(i)));
    EXPECT_EQ(r.feed(stream.data(), stream.size(), g), status::ok);
    EXPECT_EQ(g.messages, 50u);
    EXPECT_TRUE(g.asked.empty());
}

TEST(FrameReader, ALargeBinaryMessageArrivesInChunksWithItsBytesIntact) {
    frame_reader r(32u << 20);
    granting_recorder g;
    g.limit = 64u << 20;
    std::string const big = pattern((5u << 20) + 77, 11);
    std::string const f = frame(opcode::binary, big);
    for (std::size_t at = 0; at < f.size(); at += 65536)
        ASSERT_EQ(r.feed(f.data() + at, std::min<std::size_t>(65536, f.size() - at), g),
                  status::ok);
    EXPECT_EQ(g.messages, 1u);
    EXPECT_EQ(g.chunked_payload, big);
    EXPECT_GE(g.chunk_sizes.size(), 2u);
    EXPECT_LE(g.chunk_sizes.size(), 24u);  // few enough for one gathered write each
    EXPECT_EQ(r.buffered_bytes(), 0u);
}

TEST(FrameReader, AFragmentedMessageThatOutgrowsOneStringKeepsItsBytes) {
    // Small fragments first (one string), then past 64 KiB (chunks): the move between the
    // two must keep every byte, for binary and for text (joined again for the envelope).
    std::string const body = pattern(300000, 5);
    for (auto op : {opcode::binary, opcode::text}) {
        std::string const payload = op == opcode::text ? std::string(300000, 'a') : body;
        std::string stream;
        std::size_t at = 0;
        bool first = true;
        for (std::size_t n : {10u, 1000u, 40000u, 30000u, 100000u}) {
            stream += frame(first ? op : opcode::cont, payload.substr(at, n), false);
            at += n;
            first = false;
        }
        stream += frame(opcode::cont, payload.substr(at), true);
        auto o = run_every_way(stream, 1u << 20);
        ASSERT_EQ(o.st, status::ok);
        ASSERT_EQ(o.events.size(), 1u);
        EXPECT_EQ(o.events[0].payload, payload);
        EXPECT_EQ(o.events[0].text, op == opcode::text);
    }
}

TEST(FrameReader, EveryFrameIsReportedContinuationsIncluded) {
    // A message split into many fragments is that many frames to parse: each one counts
    // against the sender's message budget (the review sent 200 000 uncounted fragments).
    frame_reader r(1u << 20);
    granting_recorder g;
    std::string stream = frame(opcode::text, "a", false);
    for (int i = 0; i < 999; ++i)
        stream += frame(opcode::cont, "b", false);
    stream += frame(opcode::ping, "");
    stream += frame(opcode::cont, "c", true);
    EXPECT_EQ(r.feed(stream.data(), stream.size(), g), status::ok);
    EXPECT_EQ(g.frames, 1002u);
    EXPECT_EQ(g.messages, 1u);
}

TEST(FrameReader, TheLimitCanChangeBetweenMessages) {
    frame_reader r(100);
    recorder rec;
    std::string const ok = frame(opcode::text, std::string(100, 'a'));
    EXPECT_EQ(r.feed(ok.data(), ok.size(), rec), status::ok);
    r.set_max_message(50);
    EXPECT_EQ(r.feed(ok.data(), ok.size(), rec), status::failed);
    EXPECT_EQ(r.fail_code(), close_code::too_big);
}

TEST(FrameReader, StopFailsAtOnceAndFreesTheMessage) {
    frame_reader r(1u << 20);
    recorder rec;
    std::string h = header_only(opcode::binary, 500000) + std::string(200000, 'x');
    ASSERT_EQ(r.feed(h.data(), h.size(), rec), status::ok);
    EXPECT_GT(r.buffered_bytes(), 0u);
    r.stop(close_code::try_again_later, "busy");
    EXPECT_EQ(r.fail_code(), close_code::try_again_later);
    EXPECT_EQ(r.buffered_bytes(), 0u);
    r.stop(close_code::protocol_error, "later");  // the first reason stays
    EXPECT_EQ(r.fail_code(), close_code::try_again_later);
}

TEST(FrameReader, BufferIsReleasedAfterAMessage) {
    frame_reader r(4u << 20);
    recorder rec;
    std::string f = frame(opcode::binary, pattern(3u << 20, 9));
    EXPECT_EQ(r.feed(f.data(), f.size(), rec), status::ok);
    ASSERT_EQ(rec.events.size(), 1u);
    EXPECT_EQ(rec.events[0].payload, pattern(3u << 20, 9));
    EXPECT_LT(r.buffered_bytes(), 1024u);
}

// ---------------------------------------------------------------------------------------------
// UTF-8

TEST(FrameReader, InvalidUtf8TextIs1007) {
    for (std::string bad : {std::string("\xFF"), std::string("ok\xC3"), std::string("\xED\xA0\x80"),
                            std::string("\xC0\xAF")}) {
        auto o = run_every_way(frame(opcode::text, bad));
        EXPECT_EQ(o.st, status::failed);
        EXPECT_EQ(o.fail_code, close_code::bad_payload);
        EXPECT_TRUE(o.events.empty());
    }
}

TEST(FrameReader, InvalidUtf8InBinaryIsFine) {
    auto o = run_every_way(frame(opcode::binary, "\xFF\xFE\xC0"));
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], msg("\xFF\xFE\xC0", false));
}

TEST(FrameReader, Utf8SplitAcrossFragmentsIsFine) {
    // "😀é" split in the middle of both characters.
    std::string const s = "\xF0\x9F\x98\x80\xC3\xA9";
    std::string stream = frame(opcode::text, s.substr(0, 1), false) +
                         frame(opcode::cont, s.substr(1, 2), false) + frame(opcode::ping, "") +
                         frame(opcode::cont, s.substr(3, 2), false) +
                         frame(opcode::cont, s.substr(5), true);
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::ok);
    ASSERT_EQ(o.events.size(), 2u);
    EXPECT_EQ(o.events[1], msg(s, true));
}

TEST(FrameReader, InvalidUtf8AcrossFragmentsIs1007) {
    std::string stream = frame(opcode::text, "ab\xF0\x9F", false) + frame(opcode::cont, "cd", true);
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::failed);
    EXPECT_EQ(o.fail_code, 1007);
}

// ---------------------------------------------------------------------------------------------
// Close frames

TEST(FrameReader, CloseWithCodeAndReason) {
    std::string stream = frame(opcode::close, close_payload(1001, "going \xC3\xA9")) +
                         frame(opcode::text, "ignored after close");
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], (event{event::close, "going \xC3\xA9", false, 1001}));
}

TEST(FrameReader, CloseWithCodeOnly) {
    auto o = run_every_way(frame(opcode::close, close_payload(4000)));
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], (event{event::close, "", false, 4000}));
}

TEST(FrameReader, CloseWithMaximumReason) {
    std::string reason(123, 'r');
    auto o = run_every_way(frame(opcode::close, close_payload(3000, reason)));
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], (event{event::close, reason, false, 3000}));
}

TEST(FrameReader, EmptyCloseIs1005) {
    auto o = run_every_way(frame(opcode::close, ""));
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0], (event{event::close, "", false, 1005}));
}

TEST(FrameReader, OneByteCloseIs1002) {
    auto o = run_every_way(frame(opcode::close, "\x03"));
    EXPECT_EQ(o.st, status::failed);
    EXPECT_EQ(o.fail_code, 1002);
    EXPECT_TRUE(o.events.empty());
}

TEST(FrameReader, InvalidCloseCodeIs1002) {
    for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535}) {
        auto o = run_every_way(frame(opcode::close, close_payload(code, "x")));
        EXPECT_EQ(o.st, status::failed) << code;
        EXPECT_EQ(o.fail_code, 1002) << code;
        EXPECT_TRUE(o.events.empty()) << code;
    }
}

TEST(FrameReader, CloseReasonNotUtf8Is1007) {
    auto o = run_every_way(frame(opcode::close, close_payload(1000, "bad\xFF")));
    EXPECT_EQ(o.st, status::failed);
    EXPECT_EQ(o.fail_code, 1007);
}

// ---------------------------------------------------------------------------------------------
// Ping / pong

TEST(FrameReader, PingPayloadPassedThrough) {
    std::string p = pattern(125, 77);
    std::string stream = frame(opcode::ping, p, true, key_for(3)) + frame(opcode::ping, "") +
                         frame(opcode::pong, "whatever");
    auto o = run_every_way(stream);
    EXPECT_EQ(o.st, status::ok);
    std::vector<event> expected = {
        {event::ping, p, false, 0}, {event::ping, "", false, 0}, {event::pong, "", false, 0}};
    EXPECT_EQ(o.events, expected);
}

// ---------------------------------------------------------------------------------------------
// Header errors surface with the right code

TEST(FrameReader, HeaderErrorsFail) {
    struct c {
        std::string bytes;
        std::uint16_t code;
    };
    std::string unmasked =
        "\x81\x03"
        "abc";
    std::string rsv = frame(opcode::text, "a");
    rsv[0] = static_cast<char>(rsv[0] | 0x40);
    std::string unknown = frame(opcode::text, "a");
    unknown[0] = static_cast<char>(0x83);
    std::string long_ping = frame(opcode::ping, std::string(126, 'x'));
    std::string frag_ping = frame(opcode::ping, "x", false);
    for (auto const& [bytes, code] : std::vector<c>{{unmasked, 1002},
                                                    {rsv, 1002},
                                                    {unknown, 1002},
                                                    {long_ping, 1002},
                                                    {frag_ping, 1002}}) {
        auto o = run_every_way(frame(opcode::text, "first") + bytes);
        EXPECT_EQ(o.st, status::failed);
        EXPECT_EQ(o.fail_code, code);
        ASSERT_EQ(o.events.size(), 1u);
        EXPECT_EQ(o.events[0], msg("first", true));
    }
}

TEST(FrameReader, FailReasonIsSet) {
    frame_reader r(100);
    recorder rec;
    EXPECT_EQ(r.fail_code(), 0);
    std::string f = frame(opcode::cont, "x");
    EXPECT_EQ(r.feed(f.data(), f.size(), rec), status::failed);
    EXPECT_EQ(r.fail_code(), 1002);
    ASSERT_NE(r.fail_reason(), nullptr);
    EXPECT_STRNE(r.fail_reason(), "");
}

// ---------------------------------------------------------------------------------------------
// Handlers stopping the reader

TEST(FrameReader, HandlerReturningFalseStops) {
    std::string stream =
        frame(opcode::text, "one") + frame(opcode::text, "two") + frame(opcode::text, "three");
    recorder rec;
    rec.stop_after_messages = 2;
    auto o = run_every_way(stream, 1000, rec);
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 2u);
    EXPECT_EQ(o.events[1], msg("two", true));
}

TEST(FrameReader, PingOrPongHandlerReturningFalseStops) {
    std::string stream = frame(opcode::ping, "p") + frame(opcode::text, "after");
    recorder rec;
    rec.stop_on_ping = true;
    auto o = run_every_way(stream, 1000, rec);
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0].k, event::ping);

    stream = frame(opcode::pong, "") + frame(opcode::text, "after");
    recorder rec2;
    rec2.stop_on_pong = true;
    o = run_every_way(stream, 1000, rec2);
    EXPECT_EQ(o.st, status::stopped);
    ASSERT_EQ(o.events.size(), 1u);
    EXPECT_EQ(o.events[0].k, event::pong);
}

// ---------------------------------------------------------------------------------------------
// direct_target / commit_direct

/** Reads like the session: into direct_target() when offered, else feed() in chunks. */
outcome run_direct(std::string const& stream, std::size_t max_message, std::size_t direct_min,
                   std::size_t read_chunk, unsigned seed, std::size_t* direct_bytes = nullptr) {
    frame_reader r(max_message);
    recorder rec;
    outcome out;
    std::mt19937 rng(seed);
    std::size_t pos = 0, via_direct = 0;
    while (pos < stream.size()) {
        auto target = r.direct_target(direct_min);
        if (!target.empty()) {
            EXPECT_GE(target.size(), 1u);
            // A short read, as a socket may return.
            std::size_t n = std::min(target.size(), stream.size() - pos);
            if (seed != 0) n = std::min<std::size_t>(n, 1 + rng() % (read_chunk * 2));
            std::memcpy(target.data(), stream.data() + pos, n);
            out.st = r.commit_direct(n, rec);
            via_direct += n;
            pos += n;
        } else {
            std::size_t n = std::min(read_chunk, stream.size() - pos);
            if (seed != 0) n = std::min<std::size_t>(n, 1 + rng() % read_chunk);
            out.st = r.feed(stream.data() + pos, n, rec);
            pos += n;
        }
        if (out.st != status::ok) break;
    }
    if (direct_bytes) *direct_bytes = via_direct;
    out.events = std::move(rec.events);
    out.fail_code = r.fail_code();
    return out;
}

TEST(FrameReaderDirect, LargeFrameGivesIdenticalBytes) {
    std::string const big = pattern((3u << 20) + 12345, 21);
    std::string const stream = frame(opcode::text, "before") +
                               frame(opcode::binary, big, true, key_for(7)) +
                               frame(opcode::ping, "p") + frame(opcode::text, "after");
    std::vector<event> expected = {
        msg("before", true), msg(big, false), {event::ping, "p", false, 0}, msg("after", true)};
    outcome all = run_all(stream, 8u << 20);
    EXPECT_EQ(all.events, expected);
    for (unsigned seed : {0u, 1u, 2u, 3u}) {
        std::size_t direct_bytes = 0;
        outcome o = run_direct(stream, 8u << 20, 16 * 1024, 64 * 1024, seed, &direct_bytes);
        EXPECT_EQ(o.st, status::ok) << seed;
        ASSERT_EQ(o.events.size(), expected.size()) << seed;
        EXPECT_TRUE(o.events == expected) << "seed " << seed;
        EXPECT_GT(direct_bytes, 2u << 20) << "the direct path was hardly used, seed " << seed;
    }
}

TEST(FrameReaderDirect, FragmentedLargeMessageGivesIdenticalBytes) {
    std::string const big = pattern((5u << 20) / 2, 33);
    std::size_t const a = 700000, b = 1900000;
    std::string const stream = frame(opcode::binary, big.substr(0, a), false, key_for(1)) +
                               frame(opcode::ping, "in", true, key_for(2)) +
                               frame(opcode::cont, big.substr(a, b - a), false, key_for(3)) +
                               frame(opcode::cont, big.substr(b), true, key_for(4));
    std::vector<event> expected = {{event::ping, "in", false, 0}, msg(big, false)};
    for (unsigned seed : {0u, 5u, 6u}) {
        outcome o = run_direct(stream, 8u << 20, 16 * 1024, 64 * 1024, seed);
        EXPECT_EQ(o.st, status::ok);
        EXPECT_TRUE(o.events == expected) << "seed " << seed;
    }
}

TEST(FrameReaderDirect, LargeTextWithInvalidUtf8StillFails) {
    std::string big(200000, 'a');
    big[150000] = '\xFF';
    outcome o = run_direct(frame(opcode::text, big), 1u << 20, 1024, 4096, 7);
    EXPECT_EQ(o.st, status::failed);
    EXPECT_EQ(o.fail_code, 1007);
}

TEST(FrameReaderDirect, TargetNeverPassesTheCurrentFrame) {
    std::string const p1 = pattern(100000, 1);
    std::string const stream = frame(opcode::binary, p1) + frame(opcode::text, "tail");
    frame_reader r(1u << 20);
    recorder rec;
    // Not inside a frame yet: nothing offered.
    EXPECT_TRUE(r.direct_target(1).empty());
    std::size_t const hdr = 2 + 8 + 4;  // 127-form length + key
    ASSERT_EQ(r.feed(stream.data(), hdr + 10, rec), status::ok);
    std::size_t pos = hdr + 10;
    auto t = r.direct_target(1);
    ASSERT_FALSE(t.empty());
    EXPECT_LE(t.size(), p1.size() - 10);
    // More than what remains of the frame is never asked for.
    EXPECT_TRUE(r.direct_target(p1.size() - 10 + 1).empty());
    while (pos < hdr + p1.size()) {
        t = r.direct_target(1);
        ASSERT_FALSE(t.empty());
        ASSERT_LE(t.size(), hdr + p1.size() - pos);
        std::size_t n = std::min<std::size_t>(t.size(), 30000);
        std::memcpy(t.data(), stream.data() + pos, n);
        ASSERT_EQ(r.commit_direct(n, rec), status::ok);
        pos += n;
    }
    ASSERT_EQ(rec.events.size(), 1u);
    EXPECT_TRUE(rec.events[0] == msg(p1, false));
    // Between frames: nothing offered.
    EXPECT_TRUE(r.direct_target(1).empty());
    ASSERT_EQ(r.feed(stream.data() + pos, stream.size() - pos, rec), status::ok);
    ASSERT_EQ(rec.events.size(), 2u);
    EXPECT_EQ(rec.events[1], msg("tail", true));
}

TEST(FrameReaderDirect, NoTargetForControlFramesOrSmallRemainders) {
    frame_reader r(1u << 20);
    recorder rec;
    std::string ping = frame(opcode::ping, std::string(100, 'p'));
    ASSERT_EQ(r.feed(ping.data(), 6 + 10, rec), status::ok);
    EXPECT_TRUE(r.direct_target(1).empty());  // inside a control frame
    ASSERT_EQ(r.feed(ping.data() + 16, ping.size() - 16, rec), status::ok);
    std::string data = frame(opcode::binary, std::string(1000, 'd'));
    ASSERT_EQ(r.feed(data.data(), 8 + 100, rec), status::ok);
    EXPECT_TRUE(r.direct_target(901).empty());  // only 900 bytes left
    auto t = r.direct_target(900);
    ASSERT_EQ(t.size(), 900u);
    std::memcpy(t.data(), data.data() + 108, 900);
    EXPECT_EQ(r.commit_direct(900, rec), status::ok);
    ASSERT_EQ(rec.events.size(), 2u);
    EXPECT_EQ(rec.events[1], msg(std::string(1000, 'd'), false));
}

}  // namespace
