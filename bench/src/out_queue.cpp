#include "out_queue.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace rcb {

void out_queue::reserve(std::size_t extra) {
    if (size_ + extra <= cap_) return;
    std::size_t cap = cap_ == 0 ? 4096 : cap_;
    while (cap < size_ + extra)
        cap *= 2;
    auto data = std::make_unique<std::uint8_t[]>(cap);
    if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
    data_ = std::move(data);
    cap_ = cap;
}

void out_queue::append(void const* p, std::size_t n) {
    if (n == 0) return;
    reserve(n);
    std::memcpy(data_.get() + size_, p, n);
    if (segs_.size() > head_ && segs_.back().ext == nullptr &&
        segs_.back().off + segs_.back().len == size_) {
        segs_.back().len += n;
    } else {
        segs_.push_back({nullptr, size_, n});
    }
    size_ += n;
    bytes_ += n;
}

void out_queue::append_ref(void const* p, std::size_t n) {
    if (n == 0) return;
    segs_.push_back({static_cast<std::uint8_t const*>(p), 0, n});
    bytes_ += n;
}

void out_queue::clear() {
    segs_.clear();
    head_ = 0;
    size_ = 0;
    bytes_ = 0;
    if (cap_ > (1u << 20)) {  // a burst is over: give the memory back
        data_.reset();
        cap_ = 0;
    }
}

// Drops sent segments and owned bytes once they dominate, so a queue that never fully drains
// (an open-loop sender ahead of a slow server) does not grow without end.
void out_queue::compact() {
    if (head_ < 64 || head_ * 2 < segs_.size()) return;
    segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
    std::size_t base = size_;
    for (auto const& s : segs_) {
        if (s.ext == nullptr) {
            base = s.off;
            break;
        }
    }
    if (base == 0) return;
    std::memmove(data_.get(), data_.get() + base, size_ - base);
    size_ -= base;
    for (auto& s : segs_) {
        if (s.ext == nullptr) s.off -= base;
    }
}

out_queue::flush_result out_queue::flush(int fd) {
    constexpr std::size_t max_iov = 64;
    while (bytes_ > 0) {
        iovec iov[max_iov];
        std::size_t n = 0;
        std::size_t want = 0;
        for (std::size_t i = head_; i < segs_.size() && n < max_iov; ++i, ++n) {
            auto const& s = segs_[i];
            iov[n].iov_base =
                const_cast<std::uint8_t*>(s.ext != nullptr ? s.ext : data_.get() + s.off);
            iov[n].iov_len = s.len;
            want += s.len;
        }
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = n;
        ssize_t const r = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return flush_result::blocked;
            return flush_result::error;
        }
        auto done = static_cast<std::size_t>(r);
        bytes_ -= done;
        while (done > 0) {
            auto& s = segs_[head_];
            if (done >= s.len) {
                done -= s.len;
                ++head_;
            } else {
                if (s.ext != nullptr) {
                    s.ext += done;
                } else {
                    s.off += done;
                }
                s.len -= done;
                done = 0;
            }
        }
        if (bytes_ == 0) {
            clear();
            return flush_result::drained;
        }
        compact();
        if (static_cast<std::size_t>(r) < want) return flush_result::blocked;
    }
    return flush_result::drained;
}

}  // namespace rcb
