// The stamp every test message carries, and the message templates built around it.
//
// A relayed message is [prefix][stamp][filler][suffix]: the prefix/suffix are the protocol's
// wrapper (none for binary frames, `{"type":"image","data":"` ... `"}` for roomcast text, and
// `42["image","` ... `"]` for Socket.IO text). The stamp lets the receiver alone compute latency
// and detect loss, duplication and misrouting. The filler is printable ASCII, so text payloads
// are valid UTF-8 and need no JSON escaping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "wire.hpp"

namespace rcb {

struct stamp {
    std::uint32_t run = 0;      ///< run id: strays from another run are misrouted
    std::uint32_t room = 0;     ///< global room index the sender is in
    std::uint32_t sender = 0;   ///< global client index of the sender
    std::uint32_t length = 0;   ///< payload length (stamp + filler), without protocol wrapper
    std::uint64_t seq = 0;      ///< per-sender sequence number, from 0
    std::uint64_t send_ns = 0;  ///< intended send time, CLOCK_MONOTONIC ns
};

enum class payload_mode { binary, text };

/// "RCB1", then little-endian run, room, sender, length, 4 zero bytes, seq, send_ns.
inline constexpr std::size_t binary_stamp_size = 40;
/// "RCB1:" then hex run:room:sender:length:seq:send_ns: (8,8,8,8,16,16 digits).
inline constexpr std::size_t text_stamp_size = 75;

inline constexpr std::size_t stamp_size(payload_mode m) {
    return m == payload_mode::binary ? binary_stamp_size : text_stamp_size;
}

void encode_binary(stamp const& s, std::uint8_t* out);
std::optional<stamp> decode_binary(std::string_view bytes);
void encode_text(stamp const& s, std::uint8_t* out);
std::optional<stamp> decode_text(std::string_view bytes);

/// Position of a text stamp in the first 64 bytes of `message`, or npos.
std::size_t find_text_stamp(std::string_view message);

/// Filler byte for payload position `pos`.
inline char filler_at(std::size_t pos) {
    return static_cast<char>('a' + pos % 26);
}

enum class protocol { roomcast, socketio };

/// The relayed data frame for one sender, masked once with the connection's key. Each send only
/// overwrites the stamp (masked at its offset), so the bytes of a 5 MiB photo are never touched
/// again: the masking cost stays out of the generator's hot path.
struct message_template {
    opcode op = opcode::binary;
    std::string masked;         ///< the whole frame payload, masked
    std::size_t stamp_off = 0;  ///< where the stamp starts in the payload
    std::size_t wrapper = 0;    ///< prefix + suffix bytes around the payload
};

/// Bytes the protocol wraps around a payload of the given mode.
std::string_view payload_prefix(protocol p, payload_mode m);
std::string_view payload_suffix(protocol p, payload_mode m);

message_template make_template(protocol p, payload_mode m, std::size_t size, mask_key const& key);

}  // namespace rcb
