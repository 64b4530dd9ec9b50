#include "roomcast/ws/frame_reader.hpp"

#include <algorithm>
#include <cstring>

namespace roomcast::ws {

namespace {
// A frame header can announce up to max_message bytes before sending any. Sizing the buffer for
// all of it at once would let a client pin 32 MiB per connection for the price of 14 bytes, so
// the first step is capped at 64 KiB; once that much has really arrived the buffer grows to the
// full size (one copy of 64 KiB for a large photo).
constexpr std::size_t eager_bytes = 64u << 10;
}  // namespace

frame_reader::status frame_reader::fail(std::uint16_t code, char const* why) {
    fail_code_ = code;
    fail_reason_ = why;
    return status::failed;
}

frame_reader::status frame_reader::grow_for(std::size_t incoming) {
    // Make room in msg_ for `incoming` more bytes of the current frame.
    std::size_t const need = msg_pos_ + incoming;
    if (need <= msg_.size()) return status::ok;
    std::size_t target = msg_end_;
    if (msg_pos_ < eager_bytes) target = std::min(msg_end_, std::max(need, eager_bytes));
    msg_.resize(target);
    return status::ok;
}

frame_reader::status frame_reader::on_header(events& ev) {
    bool const control = static_cast<std::uint8_t>(cur_.op) >= 0x8;
    remaining_ = cur_.length;
    frame_offset_ = 0;
    in_frame_ = true;
    if (control) {
        ctl_.clear();
    } else {
        if (cur_.op == opcode::cont) {
            if (!msg_active_) return fail(close_code::protocol_error, "continuation without start");
        } else {
            if (msg_active_)
                return fail(close_code::protocol_error, "new message inside fragmented one");
            msg_active_ = true;
            msg_text_ = cur_.op == opcode::text;
            msg_.clear();
            msg_pos_ = 0;
        }
        if (cur_.length > max_message_ - std::min<std::size_t>(msg_pos_, max_message_))
            return fail(close_code::too_big, "message too big");
        msg_end_ = msg_pos_ + static_cast<std::size_t>(cur_.length);
        if (msg_.capacity() < msg_end_) msg_.reserve(std::min(msg_end_, msg_pos_ + eager_bytes));
    }
    if (remaining_ == 0) return finish_frame(ev);
    return status::ok;
}

frame_reader::status frame_reader::finish_frame(events& ev) {
    in_frame_ = false;
    switch (cur_.op) {
        case opcode::ping:
            return ev.on_ping(ctl_) ? status::ok : status::stopped;
        case opcode::pong:
            return ev.on_pong() ? status::ok : status::stopped;
        case opcode::close: {
            if (ctl_.size() == 1) return fail(close_code::protocol_error, "close frame of 1 byte");
            std::uint16_t code = 1005;
            std::string_view reason;
            if (ctl_.size() >= 2) {
                code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(ctl_[0]) << 8) |
                                                  static_cast<std::uint8_t>(ctl_[1]));
                if (!valid_close_code(code))
                    return fail(close_code::protocol_error, "invalid close code");
                reason = std::string_view(ctl_).substr(2);
                if (!valid_utf8(reason.data(), reason.size()))
                    return fail(close_code::bad_payload, "close reason is not UTF-8");
            }
            ev.on_close(code, reason);
            return status::stopped;
        }
        default:
            break;
    }
    if (!cur_.fin) return status::ok;  // more fragments to come
    msg_active_ = false;
    msg_.resize(msg_pos_);
    if (msg_text_ && !valid_utf8(msg_.data(), msg_.size()))
        return fail(close_code::bad_payload, "text message is not UTF-8");
    std::string done;
    done.swap(msg_);
    msg_pos_ = 0;
    msg_end_ = 0;
    return ev.on_message(std::move(done), msg_text_) ? status::ok : status::stopped;
}

frame_reader::status frame_reader::feed(char const* data, std::size_t n, events& ev) {
    auto const* p = reinterpret_cast<std::uint8_t const*>(data);
    while (true) {
        if (!in_frame_) {
            if (n == 0) return status::ok;
            std::size_t used = 0;
            std::uint16_t code = 0;
            header_status hs;
            if (hdr_len_ == 0) {
                hs = parse_header(p, n, cur_, used, code);
                if (hs == header_status::ok) {
                    p += used;
                    n -= used;
                } else if (hs == header_status::need_more) {
                    std::memcpy(hdr_, p, n);  // n < 14 here
                    hdr_len_ = n;
                    return status::ok;
                }
            } else {
                std::size_t const take = std::min(sizeof hdr_ - hdr_len_, n);
                std::memcpy(hdr_ + hdr_len_, p, take);
                hs = parse_header(hdr_, hdr_len_ + take, cur_, used, code);
                if (hs == header_status::ok) {
                    std::size_t const from_new = used - hdr_len_;
                    p += from_new;
                    n -= from_new;
                    hdr_len_ = 0;
                } else if (hs == header_status::need_more) {
                    hdr_len_ += take;
                    return status::ok;
                }
            }
            if (hs == header_status::error) return fail(code, "malformed frame header");
            if (auto s = on_header(ev); s != status::ok) return s;
            continue;
        }
        if (n == 0) return status::ok;
        std::size_t const take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n));
        if (static_cast<std::uint8_t>(cur_.op) >= 0x8) {
            std::size_t const at = ctl_.size();
            ctl_.append(reinterpret_cast<char const*>(p), take);
            unmask(ctl_.data() + at, take, cur_.key, frame_offset_);
        } else {
            grow_for(take);
            std::memcpy(msg_.data() + msg_pos_, p, take);
            unmask(msg_.data() + msg_pos_, take, cur_.key, frame_offset_);
            msg_pos_ += take;
        }
        p += take;
        n -= take;
        remaining_ -= take;
        frame_offset_ += take;
        if (remaining_ == 0) {
            if (auto s = finish_frame(ev); s != status::ok) return s;
        }
    }
}

std::span<char> frame_reader::direct_target(std::size_t min_size) {
    if (!in_frame_ || static_cast<std::uint8_t>(cur_.op) >= 0x8 || remaining_ < min_size) return {};
    grow_for(static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, eager_bytes)));
    std::size_t room =
        std::min<std::size_t>(msg_.size() - msg_pos_, static_cast<std::size_t>(remaining_));
    if (room == 0) return {};
    return {msg_.data() + msg_pos_, room};
}

frame_reader::status frame_reader::commit_direct(std::size_t n, events& ev) {
    unmask(msg_.data() + msg_pos_, n, cur_.key, frame_offset_);
    msg_pos_ += n;
    remaining_ -= n;
    frame_offset_ += n;
    if (remaining_ == 0) return finish_frame(ev);
    return status::ok;
}

}  // namespace roomcast::ws
