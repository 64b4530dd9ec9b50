#pragma once
// A WebSocket client from raw bytes, for adversarial tests: it sends exactly the frames it is
// told (any length, fragmentation, header without payload), reads only when told (so the
// server's writes to it stall half done), and can be given a tiny receive buffer. Blocking
// POSIX socket on 127.0.0.1; every wait has a deadline.

#include "support/client_frames.hpp"

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace roomcast::test {

/** One server-to-client frame. */
struct raw_frame {
    std::uint8_t opcode = 0;
    bool fin = true;
    std::string payload;
    nlohmann::json json() const { return nlohmann::json::parse(payload, nullptr, false); }
    std::uint16_t close_code() const {
        return payload.size() >= 2
                   ? static_cast<std::uint16_t>((static_cast<std::uint8_t>(payload[0]) << 8) |
                                                static_cast<std::uint8_t>(payload[1]))
                   : 1005;
    }
};

class raw_ws {
  public:
    /** Connects; `rcvbuf` > 0 shrinks the receive buffer first (so the server's writes stall
     * once a few KiB are unread). `extra` header lines end in \r\n each. */
    explicit raw_ws(std::uint16_t port, int rcvbuf = 0, std::string const& extra = {},
                    std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect");
        send_raw(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n" +
            extra + "\r\n");
        std::string head;
        auto const end = std::chrono::steady_clock::now() + deadline;
        while (head.find("\r\n\r\n") == std::string::npos) {
            char c;
            if (!read_exact(&c, 1, end)) throw std::runtime_error("no upgrade response");
            head += c;
        }
        if (head.rfind("HTTP/1.1 101", 0) != 0)
            throw std::runtime_error("upgrade refused: " + head.substr(0, head.find('\r')));
    }
    ~raw_ws() { close_now(); }
    raw_ws(raw_ws const&) = delete;
    raw_ws& operator=(raw_ws const&) = delete;

    /** Writes all of `bytes` (false if the server closed, or the deadline passed). */
    bool send_raw(std::string_view bytes,
                  std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        while (!bytes.empty()) {
            if (!wait(POLLOUT, end)) return false;
            auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    bool send_text(std::string_view s) { return send_raw(client_frame(0x1, s)); }
    bool send_binary(std::string_view s) { return send_raw(client_frame(0x2, s)); }
    bool send_json(nlohmann::json const& j) { return send_text(j.dump()); }
    bool send_close(std::uint16_t code) {
        std::string p;
        p += static_cast<char>(code >> 8);
        p += static_cast<char>(code & 0xFF);
        return send_raw(client_frame(0x8, p));
    }

    /** The next frame, or nullopt when the server closed or the deadline passed. */
    std::optional<raw_frame> read_frame(
        std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        std::uint8_t h[2];
        if (!read_exact(reinterpret_cast<char*>(h), 2, end)) return std::nullopt;
        raw_frame f;
        f.fin = (h[0] & 0x80) != 0;
        f.opcode = h[0] & 0x0F;
        std::uint64_t len = h[1] & 0x7F;
        if (len == 126 || len == 127) {
            std::uint8_t ext[8];
            std::size_t const n = len == 126 ? 2 : 8;
            if (!read_exact(reinterpret_cast<char*>(ext), n, end)) return std::nullopt;
            len = 0;
            for (std::size_t i = 0; i < n; ++i)
                len = (len << 8) | ext[i];
        }
        f.payload.resize(static_cast<std::size_t>(len));
        if (len && !read_exact(f.payload.data(), f.payload.size(), end)) return std::nullopt;
        return f;
    }

    /** Text frames until one of `type` (others skipped); null JSON on failure. */
    nlohmann::json read_until(std::string const& type,
                              std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) return {};
            auto f = read_frame(left);
            if (!f) return {};
            if (f->opcode != 0x1) continue;
            auto j = f->json();
            if (j.is_object() && j.value("type", "") == type) return j;
        }
    }

    /** Joins; the `joined` reply (null JSON otherwise). */
    nlohmann::json join(std::string const& room, std::string const& resume = {}) {
        nlohmann::json j = {{"type", "join"}, {"room", room}};
        if (!resume.empty()) j["resume"] = resume;
        send_json(j);
        auto r = read_until("joined");
        if (r.is_object()) id_ = r["id"].get<std::uint64_t>();
        return r;
    }

    /** Reads frames until a close frame (its code) or the end; nullopt if neither came. */
    std::optional<std::uint16_t> read_close(
        std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            auto f = read_frame(left);
            if (!f) return eof_ ? std::optional<std::uint16_t>(1006) : std::nullopt;
            if (f->opcode == 0x8) return f->close_code();
        }
    }

    /** True once the server has closed the connection (EOF or reset) within the deadline,
     * reading and discarding whatever comes first. */
    bool wait_closed(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
        auto const end = std::chrono::steady_clock::now() + deadline;
        char buf[65536];
        while (wait(POLLIN, end)) {
            auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
        }
        return false;
    }

    /** Drops the connection at once (RST if unread data is pending). */
    void close_now() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    /** Resets the connection (SO_LINGER 0): a drop as a dying phone makes it. */
    void reset() {
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close_now();
    }
    std::uint64_t id() const { return id_; }
    int fd() const { return fd_; }

  private:
    bool wait(short events, std::chrono::steady_clock::time_point end) {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                end - std::chrono::steady_clock::now());
            if (left.count() < 0) return false;
            pollfd p{fd_, events, 0};
            int r = ::poll(&p, 1, static_cast<int>(left.count()));
            if (r > 0) return true;
            if (r == 0) return false;
            if (errno != EINTR) return false;
        }
    }
    bool read_exact(char* out, std::size_t n, std::chrono::steady_clock::time_point end) {
        while (n) {
            if (!wait(POLLIN, end)) return false;
            auto r = ::recv(fd_, out, n, MSG_DONTWAIT);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r <= 0) {
                eof_ = true;
                return false;
            }
            out += r;
            n -= static_cast<std::size_t>(r);
        }
        return true;
    }

    int fd_ = -1;
    bool eof_ = false;
    std::uint64_t id_ = 0;
};

}  // namespace roomcast::test
