// libFuzzer: several clients of one room, driven by a script, through the real http_session,
// ws_session, room registry, send queues and held seats. Where session_fuzz.cpp feeds the bytes
// of one connection, this target feeds *events*: who connects, who sends what, who closes with
// which code, who drops, and above all how much each client reads, so that the server's writes
// stall half done (each socketpair has ~8 KiB of kernel buffer) while closes, drops, resumes
// and seat overflows happen around them. That is the state session_fuzz never reaches: its
// clients read everything at once, so no write is ever in flight when a connection ends.
//
// Deterministic: the io_context is driven by the harness one handler at a time, the client ends
// of the socketpairs are plain non-blocking fds read and written by the harness, every server
// timeout is an hour (no timer fires within an input), and each input gets a fresh server
// state (ids start at 1). Bounded: at most 6 connections, 2 MiB sent by clients and 20 000
// loop steps per script, then the end phase below.
//
// The script language. The input is a sequence of ops; each op is one byte (taken modulo 11)
// followed by its argument bytes; an op whose arguments run past the end of the input ends the
// script. `i` picks a client: byte % (clients connected so far, dropped ones included); ops on a
// client before any exists, or on a dropped one, do nothing. `size(b)` is a log scale over
// 4 … 253 952 bytes: ((16 | (b & 15)) << (b >> 4)) >> 2 (0x90 ≈ 2 KiB, 0xC0 = 16 KiB,
// 0xD0 = 32 KiB, 0xE0 = 64 KiB, 0xF0 = 128 KiB).
//   0 connect f      new client: a socketpair to a fresh http_session. It sends the upgrade
//                    request and then a join (see `join`), unless f & 0x40 (nothing at all: use
//                    `raw`) or f & 0x20 (the upgrade only). f & 0x80: reads without limit from
//                    the start; else its read window starts closed.
//   1 data i f b     a masked data message of size(b) bytes from client i: f & 1 binary, else
//                    text JSON `{"type":"m","d":"…"}`; f & 2 sent as two fragments; f & 4 with a
//                    ping between them.
//   2 ping i n       a ping with (n & 127, at most 125) payload bytes.
//   3 close i c      a close frame; the code is table[c & 15]: 1000 1001 1002 1003 1007 1008
//                    1009 1010 1011 3000 4000 4999, no code (empty payload), 1006 and 999
//                    (invalid on the wire), a 1-byte payload (invalid).
//   4 drop i h       h % 3: 0 close(fd) (the client is gone), 1 shutdown(SHUT_WR) (the client
//                    still reads within its window), 2 shutdown(SHUT_RDWR).
//   5 window i n     n = 0 closes client i's read window, n = 255 opens it without limit, else
//                    it opens by size(n) more bytes: the client reads at most that much more.
//   6 run k          k steps of the loop (a step: every client sends what it has queued and
//                    reads what its window allows, then the io_context runs one ready handler);
//                    k = 0: until a step does nothing (at most 4 000).
//   7 raw i n …      the next n bytes (fewer if the input ends) sent by client i as they are.
//   8 join i f       a join frame: room "g" if f & 0x10, else "f"; f & 1 with
//                    "resume": the last token client ((f >> 1) & 7) % clients read in a
//                    `joined` reply (a stale all-zero token if it read none).
//   9 leave i        {"type":"leave"}.
//  10 expire h       the server's seat reaper: registry.expire(now) (overflowed seats), or
//                    h & 1: expire(now + 24 h) (every grace period over); peer-left to the room.
// Each client scans what it reads for `"resume":"<32 hex>"` (the server's frames are unmasked,
// so the token is plain in the byte stream) and keeps the last one.
//
// The end phase, after the script: every client's window opens without limit and the loop
// runs until quiet; then every client still connected half-closes (what it had not managed to
// send is dropped) and the server must close every connection within 20 000 steps: one it
// never closes is a finding (abort). Then the loop is drained, no session may remain, held
// seats are expired, and no admission, room, member or seat may be left (the leak checks).
//
// Seeds: fuzz/corpus/seat/, written by fuzz/seat_seeds.py (which also spells out each one).
// Set SEAT_FUZZ_TRACE=1 to print each op as it runs (to read a crashing input).
#include <roomcast/protocol/codec.hpp>
#include <roomcast/rooms/room_registry.hpp>
#include <roomcast/stats.hpp>
#include <roomcast/transport/context.hpp>
#include <roomcast/transport/http_session.hpp>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace roomcast;
using tcp = boost::asio::ip::tcp;
namespace net = boost::asio;

constexpr std::size_t max_clients = 6;
constexpr std::size_t max_sent_total = 2u << 20;  // bytes all clients may queue in one input
constexpr int max_script_steps = 20000;
constexpr int quiet_cap = 4000;
constexpr int end_steps = 20000;
constexpr int sock_buf = 4096;  // SO_SNDBUF / SO_RCVBUF; Linux doubles it
constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

config make_config() {
    config c;
    // Small limits, so scripts reach them: one large message overflows a seat (a seat holds
    // less than a message may carry) and passes a send queue's high-water mark.
    c.max_message_bytes = 96u << 10;
    c.send_high_water_bytes = 32u << 10;
    c.send_max_bytes = 256u << 10;
    c.resume_buffer_bytes = 64u << 10;
    c.http_header_limit = 2048;
    c.http_body_limit = 256;
    // No timer may fire within an input: the script, not the clock, decides what happens when.
    // A grace period this long also means a seat is there to resume until the script ends.
    auto const never = std::chrono::milliseconds(std::chrono::hours(1));
    c.http_timeout = c.close_timeout = c.send_timeout = never;
    c.ping_interval = c.ping_timeout = c.resume_grace = never;
    c.max_room_members = 4;
    c.max_joins_per_minute = 0;  // one address for every client
    c.max_messages_per_second = 0;
    c.max_bytes_per_second = 0;
    return c;
}

bool tracing() {
    static bool const on = std::getenv("SEAT_FUZZ_TRACE") != nullptr;
    return on;
}

#define TRACE(...)                                        \
    do {                                                  \
        if (tracing()) std::fprintf(stderr, __VA_ARGS__); \
    } while (0)

// The server's state, fresh for each input so that ids (and so the bytes of every reply) are
// the same each time an input runs: a crash found in a long run reproduces on its own.
struct server_state {
    config cfg = make_config();
    stats counters;
    rooms::room_registry registry{cfg.max_room_members};
    transport::static_files files;  // empty: every file request is a 404
    transport::conn_limiter limiter{1000, 1000};
    transport::session_tracker tracker;
    transport::policies policy;
    transport::address_limiter joins{0, 16};
    transport::context ctx{cfg, registry, counters, files, limiter, tracker, policy, joins};
};

std::size_t log_size(std::uint8_t b) {
    return (std::size_t{16u | (b & 15u)} << (b >> 4)) >> 2;
}

// A client-to-server frame (masked, as a client must).
void append_frame(std::string& out, std::uint8_t first, std::string_view payload) {
    static constexpr std::array<std::uint8_t, 4> key{0x37, 0xfa, 0x21, 0x3d};
    out += static_cast<char>(first);
    auto const n = payload.size();
    if (n < 126) {
        out += static_cast<char>(0x80 | n);
    } else if (n < 65536) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n & 0xFF);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int s = 56; s >= 0; s -= 8)
            out += static_cast<char>((static_cast<std::uint64_t>(n) >> s) & 0xFF);
    }
    out.append(reinterpret_cast<char const*>(key.data()), key.size());
    auto const at = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < n; ++i)
        out[at + i] = static_cast<char>(out[at + i] ^ key[i % 4]);
}

constexpr std::string_view upgrade_request =
    "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

constexpr std::string_view token_key = "\"resume\":\"";
constexpr std::size_t token_len = 32;

/** The harness's end of one socketpair. */
struct client {
    int fd = -1;  // -1 once dropped with close()
    std::string out;
    std::size_t out_at = 0;
    std::size_t window = 0;  // bytes it will still read
    bool read_done = false;  // EOF or error seen, or SHUT_RDWR
    bool write_shut = false;
    std::string tail;   // the last bytes read, for a token split across reads
    std::string token;  // the last resume token read
    std::size_t received = 0;

    bool live() const { return fd >= 0; }

    void scan(char const* p, std::size_t n) {
        std::string s = std::move(tail);
        s.append(p, n);
        for (auto at = s.find(token_key); at != std::string::npos; at = s.find(token_key, at + 1)) {
            auto const t = at + token_key.size();
            if (t + token_len >= s.size()) break;
            if (s[t + token_len] != '"') continue;
            bool hex = true;
            for (std::size_t k = 0; k < token_len; ++k) {
                char const c = s[t + k];
                hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
            }
            if (hex) token = s.substr(t, token_len);
        }
        auto const keep = token_key.size() + token_len;
        tail = s.size() > keep ? s.substr(s.size() - keep) : std::move(s);
    }

    /** Sends what is queued and reads what the window allows; true when anything moved. */
    bool pump() {
        if (!live()) return false;
        bool moved = false;
        while (out_at < out.size() && !write_shut) {
            auto const n = ::send(fd, out.data() + out_at, out.size() - out_at, MSG_NOSIGNAL);
            if (n > 0) {
                out_at += static_cast<std::size_t>(n);
                moved = true;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            out_at = out.size();  // the server closed: the rest can never be sent
        }
        if (out_at == out.size()) {
            out.clear();
            out_at = 0;
        }
        thread_local std::array<char, 65536> buf;
        while (!read_done && window > 0) {
            auto const want = std::min(buf.size(), window);
            auto const n = ::recv(fd, buf.data(), want, 0);
            if (n > 0) {
                auto const got = static_cast<std::size_t>(n);
                if (window != unlimited) window -= got;
                received += got;
                scan(buf.data(), got);
                moved = true;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            read_done = true;  // EOF (the server closed) or an error
            moved = true;
        }
        return moved;
    }
};

class harness {
  public:
    explicit harness(server_state& st) : st_(st) {}

    ~harness() {
        for (auto& c : clients_)
            if (c.live()) ::close(c.fd);
    }

    void run_script(std::uint8_t const* data, std::size_t size) {
        p_ = data;
        end_ = data + size;
        while (p_ < end_ && op()) {
        }
    }

    /** Opens every window, lets the clients half-close, and checks the server closes all. */
    void finish() {
        for (auto& c : clients_)
            if (c.live()) c.window = unlimited;
        steps_ = 0;  // the end phase has a budget of its own
        run_until_quiet(end_steps);
        for (auto& c : clients_) {
            if (!c.live() || c.write_shut) continue;
            c.out.clear();
            c.out_at = 0;
            ::shutdown(c.fd, SHUT_WR);
            c.write_shut = true;
        }
        auto open = [this] {
            return std::any_of(clients_.begin(), clients_.end(),
                               [](client const& c) { return c.live() && !c.read_done; });
        };
        for (int n = 0; n < end_steps && open(); ++n)
            step();
        if (open()) {
            for (std::size_t i = 0; i < clients_.size(); ++i)
                if (clients_[i].live() && !clients_[i].read_done)
                    std::fprintf(stderr, "seat_fuzz: client %zu: the server never closed it\n", i);
            std::abort();
        }
        // What is ready now: the handlers the closes cancelled.
        for (int n = 0; n < end_steps && poll_one(); ++n) {
        }
        if (st_.tracker.size() != 0) {
            std::fprintf(stderr, "seat_fuzz: %zu sessions outlived their connections\n",
                         st_.tracker.size());
            std::abort();
        }
    }

  private:
    std::optional<std::uint8_t> arg() {
        if (p_ >= end_) return std::nullopt;
        return *p_++;
    }

    client* pick(std::uint8_t b) {
        if (clients_.empty()) return nullptr;
        auto& c = clients_[b % clients_.size()];
        return c.live() ? &c : nullptr;
    }

    std::size_t index(client const* c) const { return c ? std::size_t(c - clients_.data()) : 99; }

    bool poll_one() {
        if (ioc_.stopped()) ioc_.restart();
        return ioc_.poll_one() != 0;
    }

    bool step() {
        bool moved = false;
        for (auto& c : clients_)
            moved = c.pump() || moved;
        return poll_one() || moved;
    }

    /** Steps until one moves nothing: at most `cap`, and within the budget of steps_. */
    void run_until_quiet(int cap) {
        for (int n = 0; n < cap && steps_ < max_script_steps; ++n, ++steps_)
            if (!step()) return;
    }

    void queue(client& c, std::string const& bytes) {
        if (c.write_shut || sent_ + bytes.size() > max_sent_total) return;
        sent_ += bytes.size();
        c.out += bytes;
        c.pump();
    }

    std::string join_frame(std::uint8_t f) {
        std::string j = R"({"type":"join","room":")";
        j += (f & 0x10) ? 'g' : 'f';
        j += '"';
        if ((f & 1) && !clients_.empty()) {
            auto const& from = clients_[((f >> 1) & 7) % clients_.size()];
            j += R"(,"resume":")";
            j += from.token.empty() ? std::string(token_len, '0') : from.token;
            j += '"';
        }
        j += '}';
        std::string frame;
        append_frame(frame, 0x81, j);
        return frame;
    }

    void connect(std::uint8_t f) {
        if (clients_.size() >= max_clients) return;
        int fds[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
        for (int fd : fds) {
            ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sock_buf, sizeof sock_buf);
            ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sock_buf, sizeof sock_buf);
        }
        if (::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK) != 0) std::abort();
        tcp::socket server_end(ioc_);
        server_end.assign(tcp::v4(), fds[0]);
        transport::conn_limiter::refusal why{};
        auto ticket = st_.limiter.try_acquire("fuzz", why);
        if (!ticket) std::abort();  // far below the limits
        std::make_shared<transport::http_session>(std::move(server_end), st_.ctx, std::move(ticket))
            ->run();
        std::string hello;
        if (!(f & 0x40)) {
            hello = upgrade_request;
            if (!(f & 0x20)) hello += join_frame(f);  // the token source is an earlier client
        }
        client c;
        c.fd = fds[1];
        c.window = (f & 0x80) ? unlimited : 0;
        clients_.push_back(std::move(c));
        if (!hello.empty()) queue(clients_.back(), hello);
    }

    void data(client& c, std::uint8_t f, std::size_t n) {
        bool const binary = f & 1;
        std::string payload;
        if (binary) {
            payload.resize(n);
            for (std::size_t k = 0; k < n; ++k)
                payload[k] = static_cast<char>('a' + (k + messages_) % 26);
        } else {
            payload = R"({"type":"m","d":")";
            payload.append(n > payload.size() + 2 ? n - payload.size() - 2 : 0,
                           static_cast<char>('a' + messages_ % 26));
            payload += "\"}";
        }
        ++messages_;
        std::uint8_t const op = binary ? 0x2 : 0x1;
        std::string frames;
        if (f & 2) {
            auto const half = payload.size() / 2;
            append_frame(frames, op, std::string_view(payload).substr(0, half));
            if (f & 4) append_frame(frames, 0x89, "mid");
            append_frame(frames, 0x80, std::string_view(payload).substr(half));
        } else {
            append_frame(frames, 0x80 | op, payload);
        }
        queue(c, frames);
    }

    void close_frame(client& c, std::uint8_t code_byte) {
        static constexpr std::array<std::uint16_t, 12> codes{1000, 1001, 1002, 1003, 1007, 1008,
                                                             1009, 1010, 1011, 3000, 4000, 4999};
        std::string payload;
        auto const k = code_byte & 15u;
        std::uint16_t code = 0;
        if (k < codes.size())
            code = codes[k];
        else if (k == 13)
            code = 1006;
        else if (k == 14)
            code = 999;
        if (code) {
            payload += static_cast<char>(code >> 8);
            payload += static_cast<char>(code & 0xFF);
        } else if (k == 15) {
            payload = "x";
        }
        TRACE("  close code %u (payload %zu bytes)\n", code, payload.size());
        std::string frame;
        append_frame(frame, 0x88, payload);
        queue(c, frame);
    }

    void drop(client& c, std::uint8_t how) {
        switch (how % 3) {
            case 0:
                ::close(c.fd);
                c.fd = -1;
                break;
            case 1:
                ::shutdown(c.fd, SHUT_WR);
                c.write_shut = true;
                break;
            default:
                ::shutdown(c.fd, SHUT_RDWR);
                c.write_shut = true;
                c.read_done = true;
                break;
        }
        c.out.clear();
        c.out_at = 0;
    }

    void expire(std::uint8_t how) {
        auto now = std::chrono::steady_clock::now();
        if (how & 1) now += std::chrono::hours(24);
        for (auto const& r : st_.registry.expire(now))
            st_.registry.broadcast(r.room, r.id, protocol::encode_peer_left(r.id));
    }

    /** Runs one op; false when the input ran out inside it. */
    bool op() {
        auto const code = *p_++ % 11;
        switch (code) {
            case 0: {
                auto f = arg();
                if (!f) return false;
                TRACE("connect #%zu flags 0x%02x\n", clients_.size(), *f);
                connect(*f);
                return true;
            }
            case 1: {
                auto i = arg(), f = arg(), b = arg();
                if (!b) return false;
                auto* c = pick(*i);
                TRACE("data %zu %s%s %zu bytes\n", index(c), (*f & 1) ? "binary" : "text",
                      (*f & 2) ? " fragmented" : "", log_size(*b));
                if (c) data(*c, *f, log_size(*b));
                return true;
            }
            case 2: {
                auto i = arg(), n = arg();
                if (!n) return false;
                auto* c = pick(*i);
                TRACE("ping %zu\n", index(c));
                if (c) {
                    std::string frame;
                    append_frame(frame, 0x89, std::string(std::min(*n & 127, 125), 'p'));
                    queue(*c, frame);
                }
                return true;
            }
            case 3: {
                auto i = arg(), k = arg();
                if (!k) return false;
                auto* c = pick(*i);
                TRACE("close %zu\n", index(c));
                if (c) close_frame(*c, *k);
                return true;
            }
            case 4: {
                auto i = arg(), h = arg();
                if (!h) return false;
                auto* c = pick(*i);
                TRACE("drop %zu how %d\n", index(c), *h % 3);
                if (c) drop(*c, *h);
                return true;
            }
            case 5: {
                auto i = arg(), n = arg();
                if (!n) return false;
                auto* c = pick(*i);
                TRACE("window %zu %s%zu (received %zu so far)\n", index(c),
                      *n == 0     ? "closed "
                      : *n == 255 ? "unlimited "
                                  : "+",
                      log_size(*n), c ? c->received : 0);
                if (!c) return true;
                if (*n == 0)
                    c->window = 0;
                else if (*n == 255 || c->window == unlimited)
                    c->window = unlimited;
                else
                    c->window = std::min(c->window + log_size(*n), unlimited - 1);
                return true;
            }
            case 6: {
                auto k = arg();
                if (!k) return false;
                TRACE("run %d\n", *k);
                if (*k == 0)
                    run_until_quiet(quiet_cap);
                else  // exactly k steps, busy or not
                    for (int n = 0; n < *k && steps_ < max_script_steps; ++n, ++steps_)
                        step();
                trace_clients();
                return true;
            }
            case 7: {
                auto i = arg(), n = arg();
                if (!n) return false;
                auto const len = std::min<std::size_t>(*n, static_cast<std::size_t>(end_ - p_));
                auto* c = pick(*i);
                TRACE("raw %zu %zu bytes\n", index(c), len);
                if (c) queue(*c, std::string(reinterpret_cast<char const*>(p_), len));
                p_ += len;
                return true;
            }
            case 8: {
                auto i = arg(), f = arg();
                if (!f) return false;
                auto* c = pick(*i);
                TRACE("join %zu flags 0x%02x\n", index(c), *f);
                if (c) queue(*c, join_frame(*f));
                return true;
            }
            case 9: {
                auto i = arg();
                if (!i) return false;
                auto* c = pick(*i);
                TRACE("leave %zu\n", index(c));
                if (c) {
                    std::string frame;
                    append_frame(frame, 0x81, R"({"type":"leave"})");
                    queue(*c, frame);
                }
                return true;
            }
            default: {
                auto h = arg();
                if (!h) return false;
                TRACE("expire %s\n", (*h & 1) ? "all" : "overflowed");
                expire(*h);
                return true;
            }
        }
    }

    void trace_clients() const {
        if (!tracing()) return;
        for (std::size_t i = 0; i < clients_.size(); ++i) {
            auto const& c = clients_[i];
            std::fprintf(stderr, "  client %zu: %s, received %zu, %zu to send, token %s\n", i,
                         !c.live()     ? "dropped"
                         : c.read_done ? "closed by the server"
                                       : "open",
                         c.received, c.out.size() - c.out_at, c.token.empty() ? "-" : "yes");
        }
    }

    server_state& st_;
    net::io_context ioc_;
    std::vector<client> clients_;
    std::uint8_t const* p_ = nullptr;
    std::uint8_t const* end_ = nullptr;
    std::size_t sent_ = 0;
    std::size_t messages_ = 0;
    int steps_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    server_state st;
    {
        harness h(st);
        h.run_script(data, size);
        h.finish();
        // The io_context dies with the harness: the last references to the sessions go with
        // the handlers it still holds (cancelled timers).
    }
    if (st.limiter.total() != 0 || st.tracker.size() != 0) std::abort();  // a session leaked
    // Seats held for members who never came back would outlive the input: release them now.
    auto const later = std::chrono::steady_clock::now() + std::chrono::hours(49);
    (void)st.registry.expire(later);
    (void)st.registry.expire_rooms(later);  // a raw frame may have locked a room
    if (st.registry.room_count() != 0 || st.registry.member_count() != 0 ||
        st.registry.held_count() != 0)
        std::abort();  // a room, a member or a seat leaked
    return 0;
}
