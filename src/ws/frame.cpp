#include "roomcast/ws/frame.hpp"

#include <cstring>

namespace roomcast::ws {

std::size_t encode_header(std::uint8_t* out, opcode op, bool fin, std::uint64_t payload_size) {
    out[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | static_cast<std::uint8_t>(op));
    if (payload_size < 126) {
        out[1] = static_cast<std::uint8_t>(payload_size);
        return 2;
    }
    if (payload_size <= 0xFFFF) {
        out[1] = 126;
        out[2] = static_cast<std::uint8_t>(payload_size >> 8);
        out[3] = static_cast<std::uint8_t>(payload_size);
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; ++i)
        out[2 + i] = static_cast<std::uint8_t>(payload_size >> (56 - 8 * i));
    return 10;
}

header_status parse_header(std::uint8_t const* p, std::size_t n, frame_header& h, std::size_t& used,
                           std::uint16_t& close) noexcept {
    if (n < 2) return header_status::need_more;
    h.fin = (p[0] & 0x80) != 0;
    h.rsv = static_cast<std::uint8_t>((p[0] >> 4) & 0x07);
    std::uint8_t const raw_op = p[0] & 0x0F;
    h.masked = (p[1] & 0x80) != 0;
    std::uint8_t const len7 = p[1] & 0x7F;

    close = close_code::protocol_error;
    if (h.rsv != 0) return header_status::error;
    switch (raw_op) {
        case 0x0:
        case 0x1:
        case 0x2:
        case 0x8:
        case 0x9:
        case 0xA:
            break;
        default:
            return header_status::error;
    }
    h.op = static_cast<opcode>(raw_op);
    if (!h.masked) return header_status::error;  // RFC 6455 §5.1: clients must mask
    bool const control = raw_op >= 0x8;
    if (control && (!h.fin || len7 > 125)) return header_status::error;

    std::size_t need = 2 + 4;
    if (len7 == 126)
        need += 2;
    else if (len7 == 127)
        need += 8;
    if (n < need) return header_status::need_more;

    std::size_t pos = 2;
    if (len7 == 126) {
        h.length = (std::uint64_t{p[2]} << 8) | p[3];
        if (h.length < 126) return header_status::error;  // not minimal
        pos = 4;
    } else if (len7 == 127) {
        h.length = 0;
        for (int i = 0; i < 8; ++i)
            h.length = (h.length << 8) | p[2 + i];
        if (h.length >> 63) return header_status::error;
        if (h.length <= 0xFFFF) return header_status::error;  // not minimal
        pos = 10;
    } else {
        h.length = len7;
    }
    std::memcpy(h.key.data(), p + pos, 4);
    used = pos + 4;
    return header_status::ok;
}

void unmask(char* data, std::size_t n, std::array<std::uint8_t, 4> const& key,
            std::size_t offset) noexcept {
    // Rotate the key so that data[0] lines up with key[0], then XOR 8 bytes at a time.
    std::uint8_t k[8];
    for (int i = 0; i < 8; ++i)
        k[i] = key[(offset + static_cast<std::size_t>(i)) & 3];
    std::uint64_t k64;
    std::memcpy(&k64, k, 8);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, data + i, 8);
        v ^= k64;
        std::memcpy(data + i, &v, 8);
    }
    for (; i < n; ++i)
        data[i] = static_cast<char>(data[i] ^ k[i & 7]);
}

bool valid_utf8(char const* s, std::size_t n) noexcept {
    auto const* p = reinterpret_cast<unsigned char const*>(s);
    std::size_t i = 0;
    while (i < n) {
        // Fast path: 8 ASCII bytes at once.
        if (i + 8 <= n) {
            std::uint64_t v;
            std::memcpy(&v, p + i, 8);
            if ((v & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (std::size_t j = 1; j < len; ++j) {
            if ((p[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

bool valid_close_code(std::uint16_t code) noexcept {
    if (code >= 3000 && code <= 4999) return true;
    switch (code) {
        case 1000:
        case 1001:
        case 1002:
        case 1003:
        case 1007:
        case 1008:
        case 1009:
        case 1010:
        case 1011:
        case 1012:
        case 1013:
        case 1014:
            return true;
        default:
            return false;
    }
}

}  // namespace roomcast::ws
