#pragma once
// Client-to-server WebSocket frames built byte by byte (RFC 6455 §5.2), for the tests that
// speak raw bytes: the frame reader's unit tests and the raw clients of the adversarial tests.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace roomcast::test {

/** A masked client frame header announcing `len` payload bytes (minimal length encoding). */
inline std::string client_header(std::uint8_t opcode, std::uint64_t len, bool fin = true,
                                 std::array<std::uint8_t, 4> key = {0, 0, 0, 0}) {
    std::string h;
    h += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
    if (len < 126) {
        h += static_cast<char>(0x80 | len);
    } else if (len <= 0xFFFF) {
        h += static_cast<char>(0x80 | 126);
        h += static_cast<char>(len >> 8);
        h += static_cast<char>(len & 0xFF);
    } else {
        h += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i)
            h += static_cast<char>((len >> (8 * i)) & 0xFF);
    }
    for (auto k : key)
        h += static_cast<char>(k);
    return h;
}

/** A whole client frame, its payload masked with `key` (key 0, the default, leaves the
 * payload as it is on the wire, which makes raw tests easy to read). */
inline std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                                std::array<std::uint8_t, 4> key = {0, 0, 0, 0}) {
    std::string out = client_header(opcode, payload.size(), fin, key);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out += static_cast<char>(payload[i] ^ static_cast<char>(key[i % 4]));
    return out;
}

}  // namespace roomcast::test
