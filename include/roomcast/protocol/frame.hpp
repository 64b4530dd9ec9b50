#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace roomcast::protocol {

/**
 * One outgoing WebSocket message, built once and shared by every recipient.
 *
 * `payload` holds the bytes exactly as they go on the wire (for a relay, the sender's frame
 * unchanged); `header` is the server-to-client frame header for that payload, encoded once.
 * A recipient's write is then {header, payload} with no copy and no per-peer serialisation.
 */
struct out_frame {
    std::string payload;
    std::array<std::uint8_t, 10> header{};
    std::uint8_t header_size = 0;
    bool text = true;
    /** A reply meant for one connection only (joined, left, error): never replayed to a
     * resumed seat, which gets its own. */
    bool private_reply = false;
    /** When a relayed message was read in full (for the relay latency histogram); unset for
     * the server's own frames. */
    std::chrono::steady_clock::time_point born{};

    /** Bytes this frame occupies on the wire. */
    std::size_t wire_size() const noexcept { return header_size + payload.size(); }
};

using frame_ptr = std::shared_ptr<out_frame const>;

/** Builds a shared frame around `payload`, encoding the header (FIN, text or binary).
 * `born`: when a relayed message was read (unset for the server's own frames). */
frame_ptr make_frame(std::string payload, bool text,
                     std::chrono::steady_clock::time_point born = {});

}  // namespace roomcast::protocol
