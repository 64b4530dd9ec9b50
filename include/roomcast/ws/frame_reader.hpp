#pragma once

#include <roomcast/ws/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace roomcast::ws {

/**
 * Turns the bytes a client sends into WebSocket messages and control frames.
 *
 * Pure (no I/O): the session feeds it whatever the socket returned, in pieces of any size.
 * A data message is assembled straight into the std::string that later becomes the shared
 * out_frame payload, so a relayed message is copied from the socket exactly once. For large
 * payloads direct_target() exposes that string so the socket can read into it directly.
 *
 * Enforces RFC 6455 for a server: masking, control frame rules, fragmentation order,
 * UTF-8 in text messages and close reasons, and the configured message size (1009).
 */
class frame_reader {
  public:
    /** What the reader reports. Return false from any to stop reading (feed returns stopped). */
    struct events {
        virtual ~events() = default;
        virtual bool on_message(std::string&& payload, bool text) = 0;
        virtual bool on_ping(std::string_view payload) = 0;
        virtual bool on_pong() = 0;
        /** code is 1005 (no status) when the close frame had no body. */
        virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
    };

    enum class status {
        ok,       // everything consumed; read more
        stopped,  // a handler returned false, or a close frame arrived: read no more
        failed,   // protocol violation: close with fail_code()
    };

    explicit frame_reader(std::size_t max_message_bytes) : max_message_(max_message_bytes) {}

    /** Consumes data[0..n). */
    status feed(char const* data, std::size_t n, events& ev);

    /**
     * When the reader is inside a large data payload, the place where the next bytes of that
     * payload belong (never past the current frame). Empty otherwise.
     */
    std::span<char> direct_target(std::size_t min_size);

    /** Reports that n bytes were written into direct_target(). */
    status commit_direct(std::size_t n, events& ev);

    std::uint16_t fail_code() const noexcept { return fail_code_; }
    char const* fail_reason() const noexcept { return fail_reason_; }

    /** Bytes held for a message still being received (for memory accounting). */
    std::size_t buffered_bytes() const noexcept { return msg_.capacity(); }

  private:
    status fail(std::uint16_t code, char const* why);
    status on_header(events& ev);
    status finish_frame(events& ev);
    status grow_for(std::size_t incoming);

    std::size_t max_message_;

    // Partial header carried across reads (at most 14 bytes).
    std::uint8_t hdr_[14]{};
    std::size_t hdr_len_ = 0;

    bool in_frame_ = false;
    frame_header cur_{};
    std::uint64_t remaining_ = 0;   // payload bytes of the current frame still to come
    std::size_t frame_offset_ = 0;  // payload bytes of the current frame seen so far

    // The data message being assembled. msg_ is sized ahead of the data; msg_pos_ is the fill.
    bool msg_active_ = false;
    bool msg_text_ = false;
    std::string msg_;
    std::size_t msg_pos_ = 0;
    std::size_t msg_end_ = 0;  // where the current frame's payload ends in msg_

    std::string ctl_;  // control frame payload (<= 125 bytes)

    std::uint16_t fail_code_ = 0;
    char const* fail_reason_ = "";
};

}  // namespace roomcast::ws
