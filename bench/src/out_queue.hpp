// A connection's pending output: owned bytes (frame headers, small messages) interleaved with
// references to long-lived buffers (a sender's premasked photo template), flushed with one
// gathered sendmsg() per call. Consecutive owned appends share one segment, so a burst of small
// frames goes out in one iovec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace rcb {

class out_queue {
  public:
    enum class flush_result { drained, blocked, error };

    void append(void const* p, std::size_t n);
    void append(std::string_view s) { append(s.data(), s.size()); }
    /// `p` must stay valid until the queue has sent it.
    void append_ref(void const* p, std::size_t n);

    bool empty() const noexcept { return bytes_ == 0; }
    std::size_t bytes() const noexcept { return bytes_; }

    /// Sends as much as the socket takes. `blocked` means the kernel buffer is full.
    flush_result flush(int fd);
    void clear();

  private:
    struct segment {
        std::uint8_t const* ext;  ///< nullptr: owned bytes at `off` in data_
        std::size_t off;
        std::size_t len;
    };
    void reserve(std::size_t extra);
    void compact();

    std::unique_ptr<std::uint8_t[]> data_;
    std::size_t size_ = 0;
    std::size_t cap_ = 0;
    std::vector<segment> segs_;
    std::size_t head_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace rcb
