#pragma once
// RFC 6455 framing: the pieces roomcast writes by hand so that every frame queued for a socket
// goes out in one gathered write (Beast's websocket::stream writes one message per call).
// Pure functions, no I/O: unit-tested and fuzzed on their own.

#include <array>
#include <cstddef>
#include <cstdint>

namespace roomcast::ws {

enum class opcode : std::uint8_t {
    cont = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

/** Close codes roomcast sends. */
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t bad_payload = 1007;  // invalid UTF-8 in a text frame
inline constexpr std::uint16_t policy_error = 1008;
inline constexpr std::uint16_t too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t try_again_later = 1013;  // over a memory budget
inline constexpr std::uint16_t replaced = 4001;         // a newer connection took this seat over
inline constexpr std::uint16_t denied = 4003;           // the host refused this newcomer
inline constexpr std::uint16_t removed = 4004;          // the host removed this member
inline constexpr std::uint16_t room_closed = 4005;      // the locked room was let go while waiting
}  // namespace close_code

/** Largest server frame header: 2 bytes + 8 bytes of extended length (no mask). */
inline constexpr std::size_t max_server_header = 10;

/**
 * Writes an unmasked server-to-client frame header into `out` (at least 10 bytes).
 * Returns the header length (2, 4 or 10).
 */
std::size_t encode_header(std::uint8_t* out, opcode op, bool fin, std::uint64_t payload_size);

/** A client frame header as read off the wire. */
struct frame_header {
    bool fin = false;
    std::uint8_t rsv = 0;  // RSV1-3; must be 0 (no extension is negotiated)
    opcode op = opcode::cont;
    bool masked = false;
    std::uint64_t length = 0;
    std::array<std::uint8_t, 4> key{};
};

enum class header_status { need_more, ok, error };

/**
 * Decodes one header from `p[0..n)`. On ok, `used` is the header's size. On error,
 * `close` is the close code to fail the connection with. Checks the rules that need no state:
 * reserved bits, unknown opcodes, client masking, control frame size and fragmentation,
 * non-minimal or 64-bit lengths with the top bit set.
 */
header_status parse_header(std::uint8_t const* p, std::size_t n, frame_header& h, std::size_t& used,
                           std::uint16_t& close) noexcept;

/**
 * XORs `data[0..n)` with the masking key, where `offset` is the position of data[0] within the
 * frame's payload (so a payload can be unmasked in pieces as it arrives).
 */
void unmask(char* data, std::size_t n, std::array<std::uint8_t, 4> const& key,
            std::size_t offset) noexcept;

/** True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
bool valid_utf8(char const* s, std::size_t n) noexcept;

/** True for a close code a peer may send (RFC 6455 §7.4). */
bool valid_close_code(std::uint16_t code) noexcept;

}  // namespace roomcast::ws
