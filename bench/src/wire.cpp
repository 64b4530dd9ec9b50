#include "wire.hpp"

namespace rcb {

std::size_t write_frame_header(std::uint8_t* out, opcode op, std::uint64_t len,
                               mask_key const& key) {
    std::size_t n = 0;
    out[n++] = static_cast<std::uint8_t>(0x80 | static_cast<std::uint8_t>(op));
    if (len < 126) {
        out[n++] = static_cast<std::uint8_t>(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[n++] = 0x80 | 126;
        out[n++] = static_cast<std::uint8_t>(len >> 8);
        out[n++] = static_cast<std::uint8_t>(len);
    } else {
        out[n++] = 0x80 | 127;
        for (int shift = 56; shift >= 0; shift -= 8) {
            out[n++] = static_cast<std::uint8_t>(len >> shift);
        }
    }
    std::memcpy(out + n, key.data(), key.size());
    return n + key.size();
}

void apply_mask(std::uint8_t* data, std::size_t n, mask_key const& key, std::size_t offset) {
    for (std::size_t i = 0; i < n; ++i) {
        data[i] = static_cast<std::uint8_t>(data[i] ^ key[(offset + i) & 3]);
    }
}

std::string make_frame(opcode op, std::string_view payload, mask_key const& key) {
    std::uint8_t hdr[max_frame_header];
    std::size_t const hlen = write_frame_header(hdr, op, payload.size(), key);
    std::string frame(reinterpret_cast<char const*>(hdr), hlen);
    frame.append(payload);
    apply_mask(reinterpret_cast<std::uint8_t*>(frame.data()) + hlen, payload.size(), key, 0);
    return frame;
}

std::string base64(std::uint8_t const* data, std::size_t n) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (std::size_t i = 0; i < n; i += 3) {
        std::uint32_t v = static_cast<std::uint32_t>(data[i]) << 16;
        if (i + 1 < n) v |= static_cast<std::uint32_t>(data[i + 1]) << 8;
        if (i + 2 < n) v |= data[i + 2];
        out += digits[(v >> 18) & 63];
        out += digits[(v >> 12) & 63];
        out += i + 1 < n ? digits[(v >> 6) & 63] : '=';
        out += i + 2 < n ? digits[v & 63] : '=';
    }
    return out;
}

std::string upgrade_request(std::string_view host, std::uint16_t port, std::string_view target,
                            std::string_view key) {
    std::string req;
    req.reserve(256);
    req.append("GET ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
    req.append(":").append(std::to_string(port));
    req.append(
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: ");
    req.append(key).append("\r\n\r\n");
    return req;
}

std::size_t http_head_length(std::string_view buf) {
    auto const pos = buf.find("\r\n\r\n");
    return pos == std::string_view::npos ? 0 : pos + 4;
}

bool is_switching_protocols(std::string_view head) {
    return head.substr(0, 13) == "HTTP/1.1 101 " || head.substr(0, 13) == "HTTP/1.1 101\r";
}

bool frame_parser::start_frame() {
    std::uint8_t const b0 = hdr_[0];
    if ((b0 & 0x70) != 0) return false;  // no extensions were negotiated
    op_ = static_cast<opcode>(b0 & 0x0F);
    fin_ = (b0 & 0x80) != 0;
    std::uint64_t len = hdr_[1] & 0x7F;
    if (len == 126) {
        len = static_cast<std::uint64_t>(hdr_[2]) << 8 | hdr_[3];
    } else if (len == 127) {
        len = 0;
        for (std::size_t i = 2; i < 10; ++i)
            len = len << 8 | hdr_[i];
    }
    have_ = 0;
    need_ = 2;
    switch (op_) {
        case opcode::close:
        case opcode::ping:
        case opcode::pong:
            if (!fin_ || len > 125) return false;
            control_len_ = 0;
            break;
        case opcode::cont:
            if (!in_message_) return false;
            break;
        case opcode::text:
        case opcode::binary:
            if (in_message_) return false;
            in_message_ = true;
            message_op_ = op_;
            message_len_ = 0;
            break;
        default:
            return false;
    }
    if (static_cast<std::uint8_t>(op_) < 0x8 && message_len_ + len > max_message) return false;
    left_ = len;
    in_payload_ = true;
    return true;
}

}  // namespace rcb
