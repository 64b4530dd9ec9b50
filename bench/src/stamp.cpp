#include "stamp.hpp"

#include <cstring>

namespace rcb {
namespace {

void put_le(std::uint8_t* out, std::uint64_t v, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i)
        out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get_le(char const* in, std::size_t bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = bytes; i-- > 0;) {
        v = v << 8 | static_cast<std::uint8_t>(in[i]);
    }
    return v;
}

void put_hex(std::uint8_t* out, std::uint64_t v, std::size_t digits) {
    static constexpr char hex[] = "0123456789abcdef";
    for (std::size_t i = digits; i-- > 0;) {
        out[i] = static_cast<std::uint8_t>(hex[v & 15]);
        v >>= 4;
    }
}

bool get_hex(char const* in, std::size_t digits, std::uint64_t& v) {
    v = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        char const c = in[i];
        unsigned d = 0;
        if (c >= '0' && c <= '9') {
            d = static_cast<unsigned>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = static_cast<unsigned>(c - 'a' + 10);
        } else {
            return false;
        }
        v = v << 4 | d;
    }
    return true;
}

constexpr std::size_t text_digits[] = {8, 8, 8, 8, 16, 16};

}  // namespace

void encode_binary(stamp const& s, std::uint8_t* out) {
    std::memcpy(out, "RCB1", 4);
    put_le(out + 4, s.run, 4);
    put_le(out + 8, s.room, 4);
    put_le(out + 12, s.sender, 4);
    put_le(out + 16, s.length, 4);
    put_le(out + 20, 0, 4);
    put_le(out + 24, s.seq, 8);
    put_le(out + 32, s.send_ns, 8);
}

std::optional<stamp> decode_binary(std::string_view b) {
    if (b.size() < binary_stamp_size || b.substr(0, 4) != "RCB1") return std::nullopt;
    stamp s;
    s.run = static_cast<std::uint32_t>(get_le(b.data() + 4, 4));
    s.room = static_cast<std::uint32_t>(get_le(b.data() + 8, 4));
    s.sender = static_cast<std::uint32_t>(get_le(b.data() + 12, 4));
    s.length = static_cast<std::uint32_t>(get_le(b.data() + 16, 4));
    s.seq = get_le(b.data() + 24, 8);
    s.send_ns = get_le(b.data() + 32, 8);
    return s;
}

void encode_text(stamp const& s, std::uint8_t* out) {
    std::uint64_t const fields[] = {s.run, s.room, s.sender, s.length, s.seq, s.send_ns};
    std::memcpy(out, "RCB1:", 5);
    std::size_t pos = 5;
    for (std::size_t i = 0; i < 6; ++i) {
        put_hex(out + pos, fields[i], text_digits[i]);
        pos += text_digits[i];
        out[pos++] = ':';
    }
}

std::optional<stamp> decode_text(std::string_view b) {
    if (b.size() < text_stamp_size || b.substr(0, 5) != "RCB1:") return std::nullopt;
    std::uint64_t fields[6] = {};
    std::size_t pos = 5;
    for (std::size_t i = 0; i < 6; ++i) {
        if (!get_hex(b.data() + pos, text_digits[i], fields[i])) return std::nullopt;
        pos += text_digits[i];
        if (b[pos++] != ':') return std::nullopt;
    }
    stamp s;
    s.run = static_cast<std::uint32_t>(fields[0]);
    s.room = static_cast<std::uint32_t>(fields[1]);
    s.sender = static_cast<std::uint32_t>(fields[2]);
    s.length = static_cast<std::uint32_t>(fields[3]);
    s.seq = fields[4];
    s.send_ns = fields[5];
    return s;
}

std::size_t find_text_stamp(std::string_view message) {
    auto const pos = message.substr(0, 64).find("RCB1:");
    return pos;
}

std::string_view payload_prefix(protocol p, payload_mode m) {
    if (m == payload_mode::binary) return {};
    return p == protocol::roomcast ? std::string_view{R"({"type":"image","data":")"}
                                   : std::string_view{R"(42["image",")"};
}

std::string_view payload_suffix(protocol p, payload_mode m) {
    if (m == payload_mode::binary) return {};
    return p == protocol::roomcast ? std::string_view{R"("})"} : std::string_view{R"("])"};
}

message_template make_template(protocol p, payload_mode m, std::size_t size, mask_key const& key) {
    message_template t;
    t.op = m == payload_mode::binary ? opcode::binary : opcode::text;
    auto const prefix = payload_prefix(p, m);
    auto const suffix = payload_suffix(p, m);
    t.stamp_off = prefix.size();
    t.wrapper = prefix.size() + suffix.size();
    t.masked.reserve(size + t.wrapper);
    t.masked.append(prefix);
    // The stamp's bytes are overwritten on every send; the filler continues the same sequence.
    for (std::size_t i = 0; i < size; ++i)
        t.masked.push_back(filler_at(i));
    t.masked.append(suffix);
    apply_mask(reinterpret_cast<std::uint8_t*>(t.masked.data()), t.masked.size(), key, 0);
    return t;
}

}  // namespace rcb
