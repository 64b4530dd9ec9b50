#include "roomcast/ws/frame_reader.hpp"

#include <algorithm>
#include <cstring>

namespace roomcast::ws {

namespace {
// A chunk of a large message is sized to half of what has arrived so far, within these bounds:
// the reader is never ahead of the client by more than that, and a 32 MiB message takes a
// dozen chunks (each one iovec when it is relayed).
constexpr std::size_t min_chunk = 64u << 10;
constexpr std::size_t max_chunk = 8u << 20;
}  // namespace

bool frame_reader::events::on_chunked_message(std::vector<protocol::payload_chunk>&& chunks) {
    std::string joined;
    for (auto const& c : chunks)
        joined.append(c.data.get(), c.size);
    return on_message(std::move(joined), false);
}

frame_reader::status frame_reader::fail(std::uint16_t code, char const* why) {
    fail_code_ = code;
    fail_reason_ = why;
    reset_message();  // nothing more is read into it: give its memory back now
    return status::failed;
}

void frame_reader::stop(std::uint16_t code, char const* why) {
    if (fail_code_ == 0) fail(code, why);
}

void frame_reader::reset_message() noexcept {
    msg_active_ = false;
    chunked_ = false;
    msg_size_ = 0;
    frame_end_ = 0;
    std::string().swap(msg_);
    chunks_.clear();
    chunk_bytes_ = 0;
}

std::span<char> frame_reader::writable() noexcept {
    if (!chunked_) return {msg_.data() + msg_size_, msg_.size() - msg_size_};
    if (chunks_.empty()) return {};
    auto& c = chunks_.back();
    return {c.data.get() + c.size, c.capacity - c.size};
}

void frame_reader::advance(std::size_t n) noexcept {
    msg_size_ += n;
    if (chunked_) chunks_.back().size += n;
    remaining_ -= n;
    frame_offset_ += n;
}

bool frame_reader::make_room(std::size_t want, events* ev) {
    if (!writable().empty()) return true;
    std::size_t const frame_left = frame_end_ - msg_size_;  // > 0: we are inside the payload
    if (!chunked_ && frame_end_ <= contiguous_max) {
        // Small message: one string, at most doubling and never past the frame's end.
        std::size_t const target =
            std::min(frame_end_, std::max(msg_size_ + std::min(want, frame_left), 2 * msg_.size()));
        std::size_t const total = chunk_bytes_ + target;
        if (ev && total > free_bytes && !ev->on_grow(total)) return false;
        msg_.resize(target);
        return true;
    }
    // Large message: chunks as the bytes arrive.
    std::size_t const step = std::clamp(msg_size_ / 2, min_chunk, max_chunk);
    std::size_t const cap = std::min(frame_left, step);
    // A fragmented message that outgrew one string moves what it has into a first chunk (once,
    // at most 64 KiB).
    std::size_t const carried = chunked_ ? 0 : msg_size_;
    std::size_t const total = chunk_bytes_ + carried + cap;
    if (ev && total > free_bytes && !ev->on_grow(total)) return false;
    if (!chunked_) {
        chunked_ = true;
        if (carried) {
            protocol::payload_chunk first{std::make_unique_for_overwrite<char[]>(carried), carried,
                                          carried};
            std::memcpy(first.data.get(), msg_.data(), carried);
            chunks_.push_back(std::move(first));
            chunk_bytes_ += carried;
        }
        std::string().swap(msg_);
    }
    chunks_.push_back({std::make_unique_for_overwrite<char[]>(cap), 0, cap});
    chunk_bytes_ += cap;
    return true;
}

frame_reader::status frame_reader::on_header(events& ev) {
    ev.on_frame();
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
            msg_size_ = 0;
        }
        if (cur_.length > max_message_ - std::min<std::size_t>(msg_size_, max_message_))
            return fail(close_code::too_big, "message too big");
        frame_end_ = msg_size_ + static_cast<std::size_t>(cur_.length);
        // A message announced large from its first frame goes straight to chunks; nothing is
        // allocated until its bytes arrive.
        if (!chunked_ && msg_size_ == 0 && frame_end_ > contiguous_max) chunked_ = true;
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
    bool const text = msg_text_;
    if (chunked_ && !text) {
        auto chunks = std::move(chunks_);
        reset_message();
        return ev.on_chunked_message(std::move(chunks)) ? status::ok : status::stopped;
    }
    std::string done;
    if (chunked_) {
        // A large text message is joined into one string: the envelope is read from it.
        done.reserve(msg_size_);
        for (auto const& c : chunks_)
            done.append(c.data.get(), c.size);
    } else {
        msg_.resize(msg_size_);
        done.swap(msg_);
    }
    reset_message();
    if (text && !valid_utf8(done.data(), done.size()))
        return fail(close_code::bad_payload, "text message is not UTF-8");
    return ev.on_message(std::move(done), text) ? status::ok : status::stopped;
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
        std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, n));
        if (static_cast<std::uint8_t>(cur_.op) >= 0x8) {
            std::size_t const at = ctl_.size();
            ctl_.append(reinterpret_cast<char const*>(p), take);
            unmask(ctl_.data() + at, take, cur_.key, frame_offset_);
            remaining_ -= take;
            frame_offset_ += take;
        } else {
            if (!make_room(take, &ev))
                return fail(close_code::try_again_later, "server busy: try again later");
            auto w = writable();
            take = std::min(take, w.size());
            std::memcpy(w.data(), p, take);
            unmask(w.data(), take, cur_.key, frame_offset_);
            advance(take);
        }
        p += take;
        n -= take;
        if (remaining_ == 0) {
            if (auto s = finish_frame(ev); s != status::ok) return s;
        }
    }
}

std::span<char> frame_reader::direct_target(std::size_t min_size, events* ev) {
    if (!in_frame_ || static_cast<std::uint8_t>(cur_.op) >= 0x8 || remaining_ < min_size) return {};
    std::size_t const want =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, max_chunk));
    if (!make_room(want, ev)) return {};  // refused: feed() will fail the message
    auto w = writable();
    return w.first(std::min<std::size_t>(w.size(), static_cast<std::size_t>(remaining_)));
}

frame_reader::status frame_reader::commit_direct(std::size_t n, events& ev) {
    unmask(writable().data(), n, cur_.key, frame_offset_);
    advance(n);
    if (remaining_ == 0) return finish_frame(ev);
    return status::ok;
}

}  // namespace roomcast::ws
