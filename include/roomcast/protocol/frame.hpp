#pragma once

#include <roomcast/memory_budget.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace roomcast::protocol {

/**
 * A piece of a large payload, allocated as its bytes arrive (never ahead of them by more than
 * a bounded step) and immutable once the message is complete.
 */
struct payload_chunk {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;      // bytes filled
    std::size_t capacity = 0;  // bytes allocated
};

/**
 * One outgoing WebSocket message, built once and shared by every recipient.
 *
 * The payload holds the bytes exactly as they go on the wire (for a relay, the sender's
 * message unchanged): either in `payload`, or, for a large binary message, in `chunks` as the
 * frame reader received it (so it was never copied or reallocated). `header` is the
 * server-to-client frame header for that payload, encoded once. A recipient's write is then
 * {header, payload or chunks...} with no copy and no per-peer serialisation.
 *
 * Ownership: whoever holds a frame_ptr keeps every byte of it alive. A write in flight holds
 * its own frame_ptrs until it completes (see basic_ws_session::batch_), whatever happens to
 * the queue, seat or room the frame came through.
 */
struct out_frame {
    std::string payload;
    std::vector<payload_chunk> chunks;  // when non-empty, `payload` is empty
    std::size_t chunked_size = 0;       // sum of chunks[i].size
    std::array<std::uint8_t, 10> header{};
    std::uint8_t header_size = 0;
    bool text = true;
    /** A reply meant for one connection only (joined, left, error): never replayed to a
     * resumed seat, which gets its own. */
    bool private_reply = false;
    /** When a relayed message was read in full (for the relay latency histogram); unset for
     * the server's own frames. */
    std::chrono::steady_clock::time_point born{};
    /** The memory of a relayed payload, charged to the process budget while the frame lives.
     * (The server's own frames are small and not charged.) */
    memory_charge charge;

    std::size_t payload_size() const noexcept { return payload.size() + chunked_size; }
    /** Bytes this frame occupies on the wire. */
    std::size_t wire_size() const noexcept { return header_size + payload_size(); }
    /** The payload as one string (copies chunks; for tests and small frames). */
    std::string payload_string() const;
};

using frame_ptr = std::shared_ptr<out_frame const>;

/** Builds a shared frame around `payload`, encoding the header (FIN, text or binary).
 * `born`: when a relayed message was read (unset for the server's own frames). */
frame_ptr make_frame(std::string payload, bool text,
                     std::chrono::steady_clock::time_point born = {}, memory_charge charge = {});

/** The same for a payload received in chunks; `charge` is the memory it holds. */
frame_ptr make_frame(std::vector<payload_chunk> chunks, bool text,
                     std::chrono::steady_clock::time_point born = {}, memory_charge charge = {});

}  // namespace roomcast::protocol
