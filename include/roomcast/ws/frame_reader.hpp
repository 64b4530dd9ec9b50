#pragma once

#include <roomcast/protocol/frame.hpp>
#include <roomcast/ws/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::ws {

/**
 * Turns the bytes a client sends into WebSocket messages and control frames.
 *
 * Pure (no I/O): the session feeds it whatever the socket returned, in pieces of any size.
 * A data message is assembled straight into the memory that later becomes the shared
 * out_frame payload, so a relayed message is copied from the socket exactly once. For large
 * payloads direct_target() exposes that memory so the socket can read into it directly.
 *
 * Memory follows the bytes that arrived, never the length a header announces: a message of
 * up to 64 KiB grows in one string (at most doubling, never past the frame's end); a larger
 * one is received into chunks, each sized to half of what has arrived so far (64 KiB to
 * 8 MiB), so the reader holds at most 1.5 × the received bytes + 64 KiB, and nothing is ever
 * copied or zero-filled on the way. Growth past 64 KiB asks events::on_grow() first, so the
 * owner can charge a memory budget and refuse (the message then fails with 1013).
 *
 * Enforces RFC 6455 for a server: masking, control frame rules, fragmentation order,
 * UTF-8 in text messages and close reasons, and the configured message size (1009).
 */
class frame_reader {
  public:
    /** What the reader reports. Return false from any to stop reading (feed returns stopped). */
    struct events {
        virtual ~events() = default;
        /** A complete message in one string: every text message, and binary up to 64 KiB. */
        virtual bool on_message(std::string&& payload, bool text) = 0;
        /** A complete binary message over 64 KiB in the chunks it was received into. The
         * default joins them and calls on_message (for tests); the session keeps them. */
        virtual bool on_chunked_message(std::vector<protocol::payload_chunk>&& chunks);
        virtual bool on_ping(std::string_view payload) = 0;
        virtual bool on_pong() = 0;
        /** code is 1005 (no status) when the close frame had no body. */
        virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
        /** Every frame header, data or control, continuation frames included. */
        virtual void on_frame() {}
        /** The message's buffers are about to grow to `total` bytes (over 64 KiB). False
         * refuses: nothing is allocated and the reader fails with 1013. */
        virtual bool on_grow(std::size_t /*total*/) { return true; }
    };

    enum class status {
        ok,       // everything consumed; read more
        stopped,  // a handler returned false, or a close frame arrived: read no more
        failed,   // protocol violation or refused memory: close with fail_code()
    };

    /** Messages up to this size are assembled in one string; larger ones in chunks. */
    static constexpr std::size_t contiguous_max = 64u << 10;
    /** Growth up to this many buffered bytes needs no on_grow(). */
    static constexpr std::size_t free_bytes = 64u << 10;

    explicit frame_reader(std::size_t max_message_bytes) : max_message_(max_message_bytes) {}

    /** Changes the message size limit (checked at each data frame header). */
    void set_max_message(std::size_t n) noexcept { max_message_ = n; }
    std::size_t max_message() const noexcept { return max_message_; }

    /** Consumes data[0..n). */
    status feed(char const* data, std::size_t n, events& ev);

    /**
     * When the reader is inside a data payload with at least `min_size` bytes to come, the
     * place where the next bytes of that payload belong (never past the current frame),
     * growing the buffers within the policy above (asking `ev`, when given, first). Empty
     * otherwise, or when the growth was refused (feed() then fails the message).
     */
    std::span<char> direct_target(std::size_t min_size, events* ev = nullptr);

    /** Reports that n bytes were written into direct_target(). */
    status commit_direct(std::size_t n, events& ev);

    /** Fails now, as if the input had (the owner refused the message): nothing more is
     * parsed, and the message's memory is freed. No-op if already failed. */
    void stop(std::uint16_t code, char const* why);

    std::uint16_t fail_code() const noexcept { return fail_code_; }
    char const* fail_reason() const noexcept { return fail_reason_; }

    /** Bytes allocated for a message still being received (for memory accounting). */
    std::size_t buffered_bytes() const noexcept {
        // (A string's small inline buffer is part of the reader, not an allocation.)
        std::size_t const inline_capacity = std::string().capacity();
        return (msg_.capacity() > inline_capacity ? msg_.capacity() : 0) + chunk_bytes_;
    }
    /** Payload bytes of the message being received so far (0 between messages). */
    std::size_t message_bytes() const noexcept { return msg_active_ ? msg_size_ : 0; }
    /** True while a data message has started and not yet finished. */
    bool in_message() const noexcept { return msg_active_; }

  private:
    status fail(std::uint16_t code, char const* why);
    status on_header(events& ev);
    status finish_frame(events& ev);
    /** Makes writable space for up to `want` more bytes of the current frame; false when
     * `ev` refused the memory (nothing allocated). */
    bool make_room(std::size_t want, events* ev);
    std::span<char> writable() noexcept;
    void advance(std::size_t n) noexcept;
    void reset_message() noexcept;

    std::size_t max_message_;

    // Partial header carried across reads (at most 14 bytes).
    std::uint8_t hdr_[14]{};
    std::size_t hdr_len_ = 0;

    bool in_frame_ = false;
    frame_header cur_{};
    std::uint64_t remaining_ = 0;   // payload bytes of the current frame still to come
    std::size_t frame_offset_ = 0;  // payload bytes of the current frame seen so far

    // The data message being assembled: msg_size_ bytes so far; the current frame's payload
    // ends at frame_end_. Small messages live in msg_ (msg_.size() is the writable region),
    // large ones in chunks_ (the last one may have room left).
    bool msg_active_ = false;
    bool msg_text_ = false;
    bool chunked_ = false;
    std::size_t msg_size_ = 0;
    std::size_t frame_end_ = 0;
    std::string msg_;
    std::vector<protocol::payload_chunk> chunks_;
    std::size_t chunk_bytes_ = 0;  // capacity of chunks_

    std::string ctl_;  // control frame payload (<= 125 bytes)

    std::uint16_t fail_code_ = 0;
    char const* fail_reason_ = "";
};

}  // namespace roomcast::ws
