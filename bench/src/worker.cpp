#include "worker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "proc.hpp"

namespace rcb {
namespace {

constexpr std::size_t scratch_size = 256 * 1024;
constexpr int reads_per_event = 16;  // then yield to other sockets, come back next iteration
constexpr std::uint64_t timer_tag = ~0ull;
constexpr std::size_t text_capture = 4096;
constexpr std::size_t binary_capture = 128;
constexpr std::string_view sio_sync_namespace = "/rcbench-sync";

std::string sys_error(char const* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

char const* conn_state_name(int s) {
    static char const* const names[] = {"idle", "connecting", "upgrading", "open", "closed"};
    return s >= 0 && static_cast<std::size_t>(s) < std::size(names) ? names[s] : "?";
}

char const* stage_name(int s) {
    static char const* const names[] = {"none", "sio_open", "sio_connect", "joining", "joined",
                                        "sent", "dwelling", "dropping",    "leaving", "closing"};
    return s >= 0 && static_cast<std::size_t>(s) < std::size(names) ? names[s] : "?";
}

}  // namespace

// Forwards frame_parser callbacks to the worker for one connection.
struct worker::sink {
    worker& w;
    conn& c;
    void on_data(opcode op, std::uint8_t const* p, std::size_t n) {
        std::size_t const limit = op == opcode::text ? text_capture : binary_capture;
        if (c.cap.size() < limit) {
            c.cap.append(reinterpret_cast<char const*>(p), std::min(n, limit - c.cap.size()));
        }
    }
    bool on_message(opcode op, std::uint64_t len) {
        bool const go_on = w.on_message(c, op, len);
        c.cap.clear();
        return go_on;
    }
    bool on_control(opcode op, std::uint8_t const* p, std::size_t n) {
        return w.on_control(c, op, p, n);
    }
};

worker::worker(config const& cfg, run_control& ctl, layout lay)
    : cfg_(cfg),
      ctl_(ctl),
      lay_(lay),
      scratch_(std::make_unique<std::uint8_t[]>(scratch_size)),
      rng_(std::random_device{}() ^ (static_cast<std::uint64_t>(lay.index) << 32)) {
    bool const churn = cfg.scen == scenario::churn;
    bool const closed_loop = cfg.rate <= 0 && !churn && cfg.scen != scenario::idle;
    recipients_ = churn ? 1 : cfg.room_size - 1;
    wrapper_ = payload_prefix(cfg.proto, cfg.payload).size() +
               payload_suffix(cfg.proto, cfg.payload).size();
    if (cfg.proto == protocol::socketio && cfg.payload == payload_mode::binary) wrapper_ = 0;
    source_next_ = lay.first_id;

    rooms_.resize(lay.rooms);
    conns_.resize(static_cast<std::size_t>(lay.rooms) * cfg.room_size);
    for (std::uint32_t r = 0; r < lay.rooms; ++r) {
        auto& rm = rooms_[r];
        rm.global = lay.first_room + r;
        char name[64];
        std::snprintf(name, sizeof name, "rcb%08x-%u", ctl.run_id, rm.global);
        rm.name = name;
        for (std::uint32_t m = 0; m < cfg.room_size; ++m) {
            std::uint32_t const local = r * cfg.room_size + m;
            auto& c = conns_[local];
            c.local = local;
            c.room = r;
            c.member = m;
            rm.members.push_back(local);
            std::uniform_int_distribution<unsigned> byte(0, 255);
            for (auto& b : c.mask)
                b = static_cast<std::uint8_t>(byte(rng_));
            c.last_seq.assign(cfg.room_size, -1);
            bool const sender = churn ? m == 1 : m < cfg.senders;
            c.churner = churn && m == 1;
            if (sender) {
                c.tmpl = std::make_unique<message_template>(
                    make_template(cfg.proto, cfg.payload, cfg.size, c.mask));
                if (cfg.proto == protocol::socketio && cfg.payload == payload_mode::binary) {
                    c.sio_placeholder = make_frame(
                        opcode::text, R"(451-["image",{"_placeholder":true,"num":0}])", c.mask);
                }
                if (closed_loop) c.pending.assign(cfg.window, 0);
                if (!c.churner) senders_.push_back(local);
            }
            if (!c.churner) setup_queue_.push_back(local);
        }
    }
    if (lay.rate > 0 && !senders_.empty()) interval_ns_ = 1e9 / lay.rate;
    // Every churner (one per room) starts a cycle once per interval: N cycles/s over all rooms.
    if (churn && cfg.cycle_rate > 0) cycle_interval_ns_ = 1e9 * cfg.rooms / cfg.cycle_rate;
    unsigned const threads = std::max(1u, cfg.threads);
    setup_limit_ = std::max(1u, cfg.connect_concurrency / threads);
    latency_cap_ = 20'000'000 / threads;
}

worker::~worker() {
    for (auto& c : conns_) {
        if (c.fd >= 0) ::close(c.fd);
    }
    if (timer_ >= 0) ::close(timer_);
    if (ep_ >= 0) ::close(ep_);
}

// Where a connection is, for a problem report: "(upgrading, none)", "(open, sent, resuming)".
std::string worker::where(conn const& c) const {
    std::string w = "(";
    w += conn_state_name(static_cast<int>(c.state));
    w += ", ";
    w += stage_name(static_cast<int>(c.st));
    if (c.resuming) w += ", resuming";
    if (c.exit != cycle_exit::clean) w += c.exit_mid ? ", to drop mid-message" : ", to drop";
    return w + ")";
}

void worker::note(std::string const& problem) {
    if (stats_.first_problem.empty()) stats_.first_problem = problem;
}

void worker::fail(std::string const& why) {
    if (failed.load()) return;
    error = why;
    failed.store(true);
}

void worker::run() {
    try {
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) throw std::runtime_error(sys_error("epoll_create1"));
        timer_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (timer_ < 0) throw std::runtime_error(sys_error("timerfd_create"));
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = timer_tag;
        if (::epoll_ctl(ep_, EPOLL_CTL_ADD, timer_, &ev) < 0) {
            throw std::runtime_error(sys_error("epoll_ctl timer"));
        }
        if (setup_queue_.empty()) ready.store(true);
        loop();
    } catch (std::exception const& e) {
        fail(e.what());
    }
    for (auto& c : conns_) {
        if (c.fd >= 0) close_conn(c);
    }
}

void worker::loop() {
    epoll_event events[512];
    for (;;) {
        int const timeout = reread_.empty() ? 5 : 0;
        int const n = ::epoll_wait(ep_, events, 512, timeout);
        if (n < 0 && errno != EINTR) throw std::runtime_error(sys_error("epoll_wait"));
        if (!reread_.empty()) {
            std::vector<std::uint32_t> again;
            again.swap(reread_);
            for (auto const local : again) {
                if (conns_[local].fd >= 0) on_readable(conns_[local]);
            }
        }
        for (int i = 0; i < n; ++i)
            handle_event(events[i].events, events[i].data.u64);
        if (!tick(now_ns())) return;
        flush_dirty();
    }
}

void worker::handle_event(std::uint32_t events, std::uint64_t data) {
    if (data == timer_tag) {
        std::uint64_t expirations = 0;
        [[maybe_unused]] auto r = ::read(timer_, &expirations, sizeof expirations);
        timer_armed_ = false;
        return;
    }
    auto const local = static_cast<std::uint32_t>(data & 0xFFFFFFFFu);
    auto const gen = static_cast<std::uint32_t>(data >> 32);
    if (local >= conns_.size()) return;
    conn& c = conns_[local];
    if (c.gen != gen || c.fd < 0) return;  // an event for a socket since closed
    if (c.state == conn_state::connecting) {
        if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0) return;
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            errno = err;
            conn_error(c, sys_error("connect"));
            return;
        }
        on_connected(c);
        return;
    }
    if ((events & EPOLLOUT) != 0) {
        c.writable = true;
        if (!c.out.empty()) mark_dirty(c);
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP | EPOLLERR)) != 0) on_readable(c);
}

void worker::mark_dirty(conn& c) {
    if (!c.dirty) {
        c.dirty = true;
        dirty_.push_back(c.local);
    }
}

void worker::flush_dirty() {
    // Writes are batched to the end of an iteration, so every frame queued for a socket while
    // handling this batch of events leaves in one sendmsg().
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
        conn& c = conns_[dirty_[i]];
        c.dirty = false;
        if (c.fd < 0 || !c.writable || c.out.empty()) continue;
        switch (c.out.flush(c.fd)) {
            case out_queue::flush_result::drained:
                if (c.st == stage::dropping) drop_abruptly(c);  // the half message is out
                break;
            case out_queue::flush_result::blocked:
                c.writable = false;
                break;
            case out_queue::flush_result::error:
                conn_error(c, sys_error("send"));
                break;
        }
    }
    dirty_.clear();
}

// ---------------------------------------------------------------------------------------------
// Connection set-up: TCP connect, HTTP upgrade, join (Socket.IO: open, connect, join, sync).

void worker::start_conn(conn& c) {
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        conn_error(c, sys_error("socket"));
        return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg_.source_addrs > 0) {
        // Spread clients over several loopback source addresses, so that 10 000 connections
        // need neither 10 000 ephemeral ports of one address nor a high per-IP server limit.
        ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_in src{};
        src.sin_family = AF_INET;
        src.sin_addr.s_addr = htonl(0x7F000002u + source_next_++ % cfg_.source_addrs);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) < 0) {
            std::string const why = sys_error("bind source address");
            ::close(fd);
            conn_error(c, why);
            return;
        }
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(cfg_.port);
    if (::inet_pton(AF_INET, cfg_.host.c_str(), &dst.sin_addr) != 1) {
        ::close(fd);
        throw std::runtime_error("bad host " + cfg_.host);
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) < 0 && errno != EINPROGRESS) {
        std::string const why = sys_error("connect");
        ::close(fd);
        conn_error(c, why);
        return;
    }
    c.fd = fd;
    ++c.gen;
    c.state = conn_state::connecting;
    c.st = stage::none;
    c.writable = false;
    c.sio_attach = false;
    c.close_sent = false;
    c.parser.reset();
    c.out.clear();
    c.cap.clear();
    c.http.clear();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = static_cast<std::uint64_t>(c.gen) << 32 | c.local;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0)
        throw std::runtime_error(sys_error("epoll_ctl"));
    std::uint64_t const open = open_conns.fetch_add(1, std::memory_order_relaxed) + 1u;
    stats_.peak_open = std::max(stats_.peak_open, open);
    ++stats_.connects;
}

void worker::on_connected(conn& c) {
    c.state = conn_state::upgrading;
    c.writable = true;
    std::uint8_t key[16];
    for (auto& b : key)
        b = static_cast<std::uint8_t>(rng_());
    c.out.append(upgrade_request(cfg_.host, cfg_.port, cfg_.target, base64(key, sizeof key)));
    mark_dirty(c);
}

void worker::on_open(conn& c) {
    c.state = conn_state::open;
    if (cfg_.proto == protocol::socketio) {
        c.st = stage::sio_open;  // the server speaks first: 0{"sid":...}
        return;
    }
    c.st = stage::joining;
    if (c.resuming) {
        // Take back the seat the dropped connection left behind.
        ++stats_.resume_tried;
        send_text(c, R"({"type":"join","room":")" + rooms_[c.room].name + R"(","resume":)" +
                         nlohmann::json(c.resume_token).dump() + "}");
        return;
    }
    send_text(c, R"({"type":"join","room":")" + rooms_[c.room].name + R"("})");
}

void worker::on_joined(conn& c) {
    c.st = stage::joined;
    if (c.churner) {
        if (c.exit_mid) {
            churner_wait(c, now_ns());  // nothing to deliver: the message is cut off at the end
            return;
        }
        c.st = stage::sent;
        send_image(c, c.next_seq++, now_ns());
        return;
    }
    setup_done(c);
}

void worker::setup_done(conn& c) {
    if (!c.in_setup) return;
    c.in_setup = false;
    --in_setup_;
    if (++setup_done_ == setup_queue_.size()) ready.store(true);
}

// ---------------------------------------------------------------------------------------------
// Receiving.

void worker::on_readable(conn& c) {
    for (int i = 0; i < reads_per_event; ++i) {
        ssize_t const r = ::read(c.fd, scratch_.get(), scratch_size);
        if (r > 0) {
            recv_now_ = now_ns();
            auto const n = static_cast<std::size_t>(r);
            if (!consume(c, scratch_.get(), n)) return;
            if (n < scratch_size) return;  // drained: edge-triggered epoll reports new data
            continue;
        }
        if (r == 0) {
            if (c.churner && c.st == stage::closing) {
                cycle_end(c, true);
            } else {
                conn_error(c, "server closed the connection");
            }
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        conn_error(c, sys_error("read"));
        return;
    }
    reread_.push_back(c.local);  // more may be waiting; let other sockets go first
}

bool worker::consume(conn& c, std::uint8_t const* p, std::size_t n) {
    if (c.state == conn_state::upgrading) {
        c.http.append(reinterpret_cast<char const*>(p), n);
        std::size_t const head = http_head_length(c.http);
        if (head == 0) {
            if (c.http.size() > 16384) conn_error(c, "oversized upgrade response");
            return c.fd >= 0;
        }
        if (!is_switching_protocols(c.http)) {
            conn_error(c, "upgrade refused: " + c.http.substr(0, c.http.find('\r')));
            return false;
        }
        std::string rest = c.http.substr(head);
        c.http.clear();
        c.http.shrink_to_fit();
        on_open(c);
        if (rest.empty()) return c.fd >= 0;
        return feed(c, reinterpret_cast<std::uint8_t const*>(rest.data()), rest.size());
    }
    if (c.state != conn_state::open) return false;
    return feed(c, p, n);
}

bool worker::feed(conn& c, std::uint8_t const* p, std::size_t n) {
    sink h{*this, c};
    switch (c.parser.feed(p, n, h)) {
        case feed_result::ok:
            return c.fd >= 0;
        case feed_result::stop:
            return false;
        case feed_result::error:
            conn_error(c, "protocol error in a server frame");
            return false;
    }
    return false;
}

bool worker::on_message(conn& c, opcode op, std::uint64_t len) {
    if (cfg_.proto == protocol::roomcast) {
        if (op == opcode::binary) {
            on_image(c, c.cap, false, len);
        } else {
            auto const pos = find_text_stamp(c.cap);
            if (pos != std::string_view::npos) {
                on_image(c, std::string_view(c.cap).substr(pos), true, len);
            } else {
                on_roomcast_text(c, len);
            }
        }
    } else if (op == opcode::binary) {
        if (c.sio_attach) {
            c.sio_attach = false;
            on_image(c, c.cap, false, len);
        } else {
            ++stats_.unexpected;
        }
    } else {
        on_sio_text(c, len);
    }
    return c.fd >= 0;
}

void worker::on_roomcast_text(conn& c, std::uint64_t len) {
    if (len > c.cap.size()) {
        ++stats_.unexpected;
        return;
    }
    auto const j = nlohmann::json::parse(c.cap, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        ++stats_.unexpected;
        note("unparsable text frame: " + c.cap.substr(0, 80));
        return;
    }
    auto const t = j.find("type");
    std::string const type = t != j.end() && t->is_string() ? t->get<std::string>() : "";
    if (type == "joined") {
        if (c.st == stage::joining) {
            if (c.churner && cfg_.abrupt_pct > 0) {
                auto const token = j.find("resume");
                c.resume_token = token != j.end() && token->is_string() ? token->get<std::string>()
                                                                        : std::string();
                auto const back = j.find("resumed");
                if (c.resuming && back != j.end() && back->is_boolean() && back->get<bool>())
                    ++stats_.resumed;
            }
            on_joined(c);
        }
    } else if (type == "left") {
        if (c.st == stage::leaving) {
            send_close(c);
            c.st = stage::closing;
        }
    } else if (type == "error") {
        ++stats_.server_errors;
        note("server error: " + c.cap.substr(0, 160));
        if (c.st == stage::joining) conn_error(c, "join refused: " + c.cap.substr(0, 160));
    } else if (type != "peer-joined" && type != "peer-left" && type != "peer-away" &&
               type != "peer-back") {
        ++stats_.unexpected;
        note("unexpected message: " + c.cap.substr(0, 80));
    }
}

void worker::on_sio_text(conn& c, std::uint64_t len) {
    std::string_view const m = c.cap;
    if (m.empty()) {
        ++stats_.unexpected;
        return;
    }
    switch (m[0]) {
        case '0':  // Engine.IO open: connect to the main namespace
            if (c.st == stage::sio_open) {
                send_text(c, "40");
                c.st = stage::sio_connect;
            }
            return;
        case '2':  // Engine.IO ping from the server
            send_text(c, "3");
            return;
        case '3':
        case '6':
            return;
        case '4':
            break;
        default:
            ++stats_.unexpected;
            return;
    }
    if (starts_with(m, "40")) {
        if (starts_with(m, "40/")) return;  // another namespace
        if (c.st == stage::sio_connect) {
            c.st = stage::joining;
            // The tutorial server does not acknowledge "join". Its event handlers run on
            // process.nextTick, before Node reads any further input, so the answer to a
            // following request proves the join is done: connecting to a namespace that does
            // not exist is such a request, answered with 44/<namespace>,{"message":...}.
            send_text(c, R"(42["join",")" + rooms_[c.room].name + R"("])");
            send_text(c, "40" + std::string(sio_sync_namespace) + ",");
        }
        return;
    }
    if (starts_with(m, "44")) {
        if (starts_with(m.substr(2), sio_sync_namespace)) {
            if (c.st == stage::joining) on_joined(c);
        } else {
            ++stats_.server_errors;
            note("socket.io connect error: " + std::string(m.substr(0, 120)));
        }
        return;
    }
    if (starts_with(m, R"(451-["image")")) {
        c.sio_attach = true;
        return;
    }
    if (starts_with(m, R"(42["image",)")) {
        auto const pos = find_text_stamp(m);
        if (pos != std::string_view::npos) {
            on_image(c, m.substr(pos), true, len);
            return;
        }
    }
    if (starts_with(m, "41")) {
        conn_error(c, "server disconnected the socket.io namespace");
        return;
    }
    ++stats_.unexpected;
    note("unexpected socket.io packet: " + std::string(m.substr(0, 80)));
}

void worker::on_image(conn& c, std::string_view bytes, bool text, std::uint64_t len) {
    auto const s = text ? decode_text(bytes) : decode_binary(bytes);
    if (!s || s->length + wrapper_ != len) {
        ++stats_.corrupt;
        note("corrupt message (bad stamp or length)");
        return;
    }
    if (s->run != ctl_.run_id || s->room != rooms_[c.room].global || s->sender < lay_.first_id ||
        s->sender - lay_.first_id >= conns_.size()) {
        ++stats_.misrouted;
        note("message from another room delivered");
        return;
    }
    conn& from = conns_[s->sender - lay_.first_id];
    if (from.room != c.room || from.local == c.local) {
        ++stats_.misrouted;
        note(from.local == c.local ? "message echoed to its sender"
                                   : "message delivered to the wrong room");
        return;
    }
    auto& last = c.last_seq[from.member];
    if (static_cast<std::int64_t>(s->seq) <= last) {
        ++stats_.duplicated;
        note("duplicate or reordered message");
        return;
    }
    last = static_cast<std::int64_t>(s->seq);
    ++stats_.received;
    std::uint64_t const ws = ctl_.win_start.load(std::memory_order_relaxed);
    std::uint64_t const we = ctl_.win_end.load(std::memory_order_relaxed);
    if (recv_now_ >= ws && recv_now_ < we) {
        ++stats_.win_deliveries;
        stats_.win_bytes += s->length;
    }
    // Latency of the messages whose (intended) send time falls in the window.
    if (s->send_ns >= ws && s->send_ns < we) {
        if (stats_.latency_ns.size() < latency_cap_) {
            stats_.latency_ns.push_back(recv_now_ > s->send_ns ? recv_now_ - s->send_ns : 0);
        } else {
            ++stats_.latency_dropped;
        }
    }
    if (!from.pending.empty()) {
        auto& owed = from.pending[s->seq % from.pending.size()];
        if (owed > 0 && --owed == 0) {
            while (from.completed < from.next_seq &&
                   from.pending[from.completed % from.pending.size()] == 0) {
                ++from.completed;
            }
            refill(from, recv_now_);
        }
    }
    if (from.churner && from.st == stage::sent && s->seq + 1 == from.next_seq)
        churner_delivered(from);
}

bool worker::on_control(conn& c, opcode op, std::uint8_t const* p, std::size_t n) {
    if (op == opcode::ping) {
        c.out.append(make_frame(opcode::pong, {reinterpret_cast<char const*>(p), n}, c.mask));
        mark_dirty(c);
        return true;
    }
    if (op == opcode::pong) return true;
    // close
    if (c.churner && c.st == stage::closing) {
        cycle_end(c, true);
        return false;
    }
    unsigned const code = n >= 2 ? static_cast<unsigned>(p[0] << 8 | p[1]) : 0;
    std::string reason = n > 2 ? std::string(reinterpret_cast<char const*>(p) + 2, n - 2) : "";
    conn_error(c, "server closed the websocket: " + std::to_string(code) + " " + reason);
    return false;
}

// ---------------------------------------------------------------------------------------------
// Sending.

void worker::send_text(conn& c, std::string_view payload) {
    c.out.append(make_frame(opcode::text, payload, c.mask));
    mark_dirty(c);
}

void worker::send_close(conn& c) {
    static constexpr char normal[] = {'\x03', '\xE8'};  // 1000
    c.out.append(make_frame(opcode::close, {normal, 2}, c.mask));
    c.close_sent = true;
    mark_dirty(c);
}

// Writes c's stamp for message `seq` into `out`, masked at its offset; returns its length.
std::size_t worker::masked_stamp(conn& c, std::uint64_t seq, std::uint64_t t_ns,
                                 std::uint8_t* out) {
    stamp s;
    s.run = ctl_.run_id;
    s.room = rooms_[c.room].global;
    s.sender = lay_.first_id + c.local;
    s.length = static_cast<std::uint32_t>(cfg_.size);
    s.seq = seq;
    s.send_ns = t_ns;
    std::size_t const n = stamp_size(cfg_.payload);
    if (cfg_.payload == payload_mode::binary) {
        encode_binary(s, out);
    } else {
        encode_text(s, out);
    }
    apply_mask(out, n, c.mask, c.tmpl->stamp_off);
    return n;
}

void worker::send_image(conn& c, std::uint64_t seq, std::uint64_t t_ns) {
    message_template const& t = *c.tmpl;
    std::uint8_t st[text_stamp_size];
    std::size_t const n = masked_stamp(c, seq, t_ns, st);
    if (!c.sio_placeholder.empty()) c.out.append(c.sio_placeholder);
    std::uint8_t hdr[max_frame_header];
    c.out.append(hdr, write_frame_header(hdr, t.op, t.masked.size(), c.mask));
    c.out.append(t.masked.data(), t.stamp_off);
    c.out.append(st, n);
    std::size_t const rest = t.stamp_off + n;
    if (t.masked.size() - rest <= 16384) {
        c.out.append(t.masked.data() + rest, t.masked.size() - rest);
    } else {
        c.out.append_ref(t.masked.data() + rest, t.masked.size() - rest);
    }
    mark_dirty(c);
    ++sends_;
    ++stats_.sent;
    stats_.expected += recipients_;
    if (t_ns >= ctl_.win_start.load(std::memory_order_relaxed) &&
        t_ns < ctl_.win_end.load(std::memory_order_relaxed)) {
        ++stats_.win_sent;
    }
}

// Half a message: the header announces the whole payload, but only its first half is written
// before the connection is dropped, so the server holds a message that never completes. Not
// counted as sent: nobody is owed it (a server that delivered it would show it as corrupt).
void worker::send_half_image(conn& c, std::uint64_t seq, std::uint64_t t_ns) {
    message_template const& t = *c.tmpl;
    std::uint8_t st[text_stamp_size];
    std::size_t const n = masked_stamp(c, seq, t_ns, st);
    std::string half = t.masked.substr(0, t.masked.size() / 2);
    if (half.size() > t.stamp_off) {
        std::memcpy(half.data() + t.stamp_off, st, std::min(n, half.size() - t.stamp_off));
    }
    if (!c.sio_placeholder.empty()) c.out.append(c.sio_placeholder);
    std::uint8_t hdr[max_frame_header];
    c.out.append(hdr, write_frame_header(hdr, t.op, t.masked.size(), c.mask));
    c.out.append(half);
    mark_dirty(c);
}

bool worker::may_send(std::uint64_t now) const {
    return seen_ == phase::run && now < ctl_.win_end.load(std::memory_order_relaxed) &&
           sends_ < lay_.max_messages;
}

void worker::refill(conn& c, std::uint64_t now) {
    while (c.next_seq - c.completed < c.pending.size() && may_send(now) && c.fd >= 0) {
        c.pending[c.next_seq % c.pending.size()] = static_cast<std::uint16_t>(recipients_);
        send_image(c, c.next_seq++, now);
    }
}

// Open loop: messages leave on a fixed schedule whatever the server does, each stamped with its
// scheduled time, so a stall shows up in the latency instead of slowing the sender down.
void worker::open_loop(std::uint64_t now) {
    if (interval_ns_ <= 0 || senders_.empty()) return;
    std::uint64_t const from = ctl_.send_from.load(std::memory_order_relaxed);
    std::uint64_t const end = ctl_.win_end.load(std::memory_order_relaxed);
    for (;;) {
        auto const due =
            from + static_cast<std::uint64_t>((static_cast<double>(ol_index_) + lay_.phase_offset) *
                                              interval_ns_);
        if (due >= end || sends_ >= lay_.max_messages) return;
        if (due > now) {
            if (!timer_armed_) {
                itimerspec its{};
                its.it_value.tv_sec = static_cast<time_t>(due / 1'000'000'000ull);
                its.it_value.tv_nsec = static_cast<long>(due % 1'000'000'000ull);
                ::timerfd_settime(timer_, TFD_TIMER_ABSTIME, &its, nullptr);
                timer_armed_ = true;
            }
            return;
        }
        conn& c = conns_[senders_[rr_++ % senders_.size()]];
        ++ol_index_;
        if (c.fd >= 0) send_image(c, c.next_seq++, due);
    }
}

// ---------------------------------------------------------------------------------------------
// Churn: connect, join, send (wait for the anchor to get it), leave, close, again. With
// --abrupt-pct, some cycles end by dropping the TCP connection instead (a phone losing its
// network): the server holds the seat, and the next cycle may take it back with the token.

bool worker::chance(double pct) {
    return pct > 0 && std::uniform_real_distribution<double>(0.0, 100.0)(rng_) < pct;
}

void worker::start_cycle(conn& c, std::uint64_t now) {
    ++cycles_started_;
    if (now >= ctl_.win_start.load() && now < ctl_.win_end.load()) ++stats_.win_started;
    c.in_cycle = true;
    if (cycle_interval_ns_ > 0) {
        // On schedule; a churner that fell behind starts its next cycle at once, but owes none.
        c.next_start = std::max(c.next_start + static_cast<std::uint64_t>(cycle_interval_ns_), now);
    }
    c.exit = cycle_exit::clean;
    c.exit_mid = false;
    if (chance(cfg_.abrupt_pct)) {
        c.exit = drops_++ % 2 == 0 ? cycle_exit::fin : cycle_exit::rst;
        c.exit_mid = chance(cfg_.abrupt_mid_pct);
    }
    c.resuming = c.dropped_last && !c.resume_token.empty() && chance(cfg_.resume_pct);
    active.fetch_add(1);
    c.deadline = now + static_cast<std::uint64_t>(cfg_.cycle_timeout_s * 1e9);
    start_conn(c);
}

void worker::churner_delivered(conn& c) {
    churner_wait(c, recv_now_);
}

// With --cycle-rate, stay connected until this churner's next cycle is due, so nearly every
// churner is open at any moment, and a dropped one reconnects at once (well within the seat's
// grace period); otherwise end the cycle now.
void worker::churner_wait(conn& c, std::uint64_t now) {
    if (cycle_interval_ns_ > 0 && seen_ == phase::run && now < c.next_start) {
        c.st = stage::dwelling;
        c.deadline += c.next_start - now;
        dwelling_.push_back(c.local);
        return;
    }
    churner_exit(c);
}

// Ends the cycle: leave and close, or drop the connection (after half a message, for some).
void worker::churner_exit(conn& c) {
    if (c.exit_mid) {
        c.st = stage::dropping;
        send_half_image(c, c.next_seq++, now_ns());
        return;
    }
    if (c.exit != cycle_exit::clean) {
        drop_abruptly(c);
        return;
    }
    if (cfg_.proto == protocol::roomcast) {
        send_text(c, R"({"type":"leave"})");
        c.st = stage::leaving;
    } else {
        send_text(c, "41");  // leave the namespace, and with it every room
        send_close(c);
        c.st = stage::closing;
    }
}

// No close frame and no leave: FIN (shutdown, then close) or, every other time, RST.
void worker::drop_abruptly(conn& c) {
    if (c.fd < 0) {
        cycle_end(c, false);
        return;
    }
    if (c.exit == cycle_exit::rst) {
        linger const lg{1, 0};
        ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ++stats_.abrupt_rst;
    } else {
        ::shutdown(c.fd, SHUT_WR);
        ++stats_.abrupt_fin;
    }
    if (c.exit_mid) ++stats_.abrupt_mid;
    cycle_end(c, true);
}

void worker::cycle_end(conn& c, bool ok) {
    if (c.fd >= 0) close_conn(c);
    if (!c.in_cycle) return;
    c.in_cycle = false;
    c.st = stage::none;
    c.dropped_last = ok && c.exit != cycle_exit::clean;
    if (ok) {
        ++stats_.cycles;
        std::uint64_t const t = now_ns();
        if (t >= ctl_.win_start.load() && t < ctl_.win_end.load()) ++stats_.win_cycles;
    } else {
        ++stats_.cycle_failures;
    }
    active.fetch_sub(1);
    restart_.push_back(c.local);
}

// ---------------------------------------------------------------------------------------------

void worker::close_conn(conn& c) {
    if (c.fd < 0) return;
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    c.state = conn_state::closed;
    c.writable = false;
    c.out.clear();
    open_conns.fetch_sub(1, std::memory_order_relaxed);
}

void worker::conn_error(conn& c, std::string const& why) {
    if (c.churner) note("churn: " + why + " " + where(c));
    close_conn(c);
    if (c.churner) {
        cycle_end(c, false);
        return;
    }
    if (c.in_setup || seen_ == phase::setup) {
        fail("connection " + std::to_string(lay_.first_id + c.local) + " failed in set-up: " + why);
        return;
    }
    if (seen_ != phase::quit) {
        ++stats_.unexpected_closes;
        note(why);
    }
}

void worker::on_phase(phase p, std::uint64_t now) {
    seen_ = p;
    if (p != phase::run) return;
    std::uint64_t k = 0;
    for (auto& c : conns_) {
        if (c.churner && !c.in_cycle) {
            restart_.erase(std::remove(restart_.begin(), restart_.end(), c.local), restart_.end());
            if (cycle_interval_ns_ > 0) {
                // Spread the first starts over one interval, so the rate is even from the start.
                c.next_start =
                    now + static_cast<std::uint64_t>(cycle_interval_ns_ * static_cast<double>(k++) /
                                                     static_cast<double>(lay_.rooms));
                restart_.push_back(c.local);
            } else if (cycles_started_ < cfg_.max_cycles / std::max(1u, cfg_.threads)) {
                start_cycle(c, now);
            }
        } else if (!c.pending.empty()) {
            refill(c, now);
        }
    }
}

bool worker::tick(std::uint64_t now) {
    phase const p = ctl_.ph.load(std::memory_order_acquire);
    if (p == phase::quit) return false;
    if (p != seen_) on_phase(p, now);

    if (p == phase::setup) {
        while (in_setup_ < setup_limit_ && setup_next_ < setup_queue_.size() && !failed.load()) {
            conn& c = conns_[setup_queue_[setup_next_++]];
            c.in_setup = true;
            ++in_setup_;
            start_conn(c);
        }
    }
    if (p == phase::run) {
        open_loop(now);
        if (!restart_.empty()) {
            std::vector<std::uint32_t> starts;
            starts.swap(restart_);
            for (auto const local : starts) {
                if (conns_[local].next_start > now) {
                    restart_.push_back(local);  // --cycle-rate: not yet
                } else if (cycles_started_ < cfg_.max_cycles / std::max(1u, cfg_.threads)) {
                    start_cycle(conns_[local], now);
                }
            }
        }
    }
    if (!dwelling_.empty()) {
        // Churners whose next cycle is due (or the run is over) leave or drop now.
        std::vector<std::uint32_t> still;
        for (auto const local : dwelling_) {
            conn& c = conns_[local];
            if (c.st != stage::dwelling || c.fd < 0) continue;  // the cycle ended otherwise
            if (p == phase::run && c.next_start > now) {
                still.push_back(local);
            } else {
                churner_exit(c);
            }
        }
        dwelling_.swap(still);
    }
    if (cfg_.scen == scenario::churn && now >= next_timeout_scan_) {
        next_timeout_scan_ = now + 100'000'000;
        for (auto& c : conns_) {
            if (c.churner && c.in_cycle && now > c.deadline) {
                note("churn: cycle timed out " + where(c));
                cycle_end(c, false);
            }
        }
    }
    if ((p == phase::stop || p == phase::pause) && !drained.load() &&
        stats_.received >= stats_.expected && active.load() == 0) {
        drained.store(true);
    }
    if (p == phase::run && drained.load()) drained.store(false);
    return true;
}

}  // namespace rcb
