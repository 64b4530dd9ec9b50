// WebSocket client framing (RFC 6455) for roomcast-bench: masked frame headers, an incremental
// parser for the server's unmasked frames, and the HTTP upgrade request. No I/O here, so it is
// unit-tested on byte strings alone.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace rcb {

enum class opcode : std::uint8_t {
    cont = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

using mask_key = std::array<std::uint8_t, 4>;

/// Largest header a client writes: 2 + 8 (64-bit length) + 4 (mask key).
inline constexpr std::size_t max_frame_header = 14;

/// Writes a final (FIN) masked frame header for a payload of `len` bytes; returns its length.
std::size_t write_frame_header(std::uint8_t* out, opcode op, std::uint64_t len,
                               mask_key const& key);

/// XORs `data` with the mask, as if `data` started `offset` bytes into the frame payload.
void apply_mask(std::uint8_t* data, std::size_t n, mask_key const& key, std::size_t offset);

/// One complete masked frame (header + masked payload) as bytes, for small control messages.
std::string make_frame(opcode op, std::string_view payload, mask_key const& key);

/// Base64 of `n` bytes (the Sec-WebSocket-Key).
std::string base64(std::uint8_t const* data, std::size_t n);

/// The HTTP/1.1 upgrade request for `target` (e.g. "/ws").
std::string upgrade_request(std::string_view host, std::uint16_t port, std::string_view target,
                            std::string_view key);

/// Length of the HTTP response head in `buf` (through "\r\n\r\n"), or 0 while incomplete.
std::size_t http_head_length(std::string_view buf);

/// True when the head is a "101 Switching Protocols" answer.
bool is_switching_protocols(std::string_view head);

enum class feed_result { ok, stop, error };

/**
 * Incremental parser for server-to-client frames. Payload bytes of data frames are handed to the
 * handler as they arrive (never buffered here), so a 5 MiB message costs no copy; control frames
 * (<= 125 bytes) are collected and delivered whole.
 *
 * Handler interface:
 *   void on_data(opcode message_op, std::uint8_t const* p, std::size_t n);
 *   bool on_message(opcode message_op, std::uint64_t length);   // false stops the feed
 *   bool on_control(opcode op, std::uint8_t const* p, std::size_t n);
 */
class frame_parser {
  public:
    static constexpr std::uint64_t max_message = 64ull << 20;

    template <class Handler>
    feed_result feed(std::uint8_t const* p, std::size_t n, Handler& h);

    void reset() { *this = frame_parser{}; }

  private:
    bool start_frame();  // header complete: validate, set up payload state

    std::array<std::uint8_t, max_frame_header> hdr_{};
    std::size_t have_ = 0;
    std::size_t need_ = 2;
    bool in_payload_ = false;
    std::uint64_t left_ = 0;
    opcode op_ = opcode::cont;
    bool fin_ = false;
    bool in_message_ = false;
    opcode message_op_ = opcode::cont;
    std::uint64_t message_len_ = 0;
    std::array<std::uint8_t, 125> control_{};
    std::size_t control_len_ = 0;
};

template <class Handler>
feed_result frame_parser::feed(std::uint8_t const* p, std::size_t n, Handler& h) {
    while (n > 0) {
        if (!in_payload_) {
            std::size_t take = need_ - have_ < n ? need_ - have_ : n;
            std::memcpy(hdr_.data() + have_, p, take);
            have_ += take;
            p += take;
            n -= take;
            if (have_ < need_) return feed_result::ok;
            if (need_ == 2) {
                if ((hdr_[1] & 0x80) != 0) return feed_result::error;  // servers never mask
                std::uint8_t const len7 = hdr_[1] & 0x7F;
                need_ = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
                if (need_ > 2) continue;
            }
            if (!start_frame()) return feed_result::error;
            if (left_ > 0) continue;
        } else if (left_ > 0) {
            std::size_t take = left_ < n ? static_cast<std::size_t>(left_) : n;
            if (static_cast<std::uint8_t>(op_) >= 0x8) {
                std::memcpy(control_.data() + control_len_, p, take);
                control_len_ += take;
            } else {
                h.on_data(message_op_, p, take);
                message_len_ += take;
            }
            p += take;
            n -= take;
            left_ -= take;
            if (left_ > 0) return feed_result::ok;
        }
        // The frame is complete.
        in_payload_ = false;
        if (static_cast<std::uint8_t>(op_) >= 0x8) {
            if (!h.on_control(op_, control_.data(), control_len_)) return feed_result::stop;
        } else if (fin_) {
            in_message_ = false;
            if (!h.on_message(message_op_, message_len_)) return feed_result::stop;
        }
    }
    return feed_result::ok;
}

}  // namespace rcb
