#include "ws_session_detail.hpp"

#include <roomcast/transport/tls.hpp>

#include <openssl/rand.h>

#include <stdexcept>

namespace roomcast::transport::detail {

bool benign(error_code ec) {
    return ec == net::error::operation_aborted || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == net::error::bad_descriptor || ec == net::error::not_connected ||
           ec == net::ssl::error::stream_truncated;
}

std::shared_ptr<protocol::out_frame> control_frame(ws::opcode op, std::string payload) {
    auto f = std::make_shared<protocol::out_frame>();
    f->payload = std::move(payload);
    f->text = false;
    f->header_size =
        static_cast<std::uint8_t>(ws::encode_header(f->header.data(), op, true, f->payload.size()));
    return f;
}

std::string new_token() {
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
    static char const hex[] = "0123456789abcdef";
    std::string t;
    t.reserve(32);
    for (unsigned char c : raw) {
        t += hex[c >> 4];
        t += hex[c & 15];
    }
    return t;
}

bool is_data_frame(protocol::frame_ptr const& f) {
    if (f->header_size == 0 || f->private_reply) return false;
    auto const op = f->header[0] & 0x0F;
    return op == 0x1 || op == 0x2;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xFF);
    p.append(reason.substr(0, 123));
    return p;
}

}  // namespace roomcast::transport::detail
