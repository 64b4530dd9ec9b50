#include "roomcast/metrics.hpp"

#include <roomcast/protocol/errc.hpp>

#include <cstdio>

namespace roomcast {

// Every protocol error code has a counter (ws_session indexes errors_by_code by errc).
static_assert(protocol::errc_count <= std::tuple_size_v<decltype(stats::errors_by_code)>);

namespace {

class writer {
  public:
    void counter(char const* name, char const* help, std::uint64_t v) {
        head(name, help, "counter", "_total");
        out_ += std::string("roomcast_") + name + "_total " + std::to_string(v) + "\n";
    }
    void gauge(char const* name, char const* help, double v) {
        head(name, help, "gauge", "");
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        out_ += std::string("roomcast_") + name + " " + buf + "\n";
    }
    // A gauge family with a label; `first` writes HELP/TYPE.
    void labelled_gauge(char const* name, char const* help, char const* label, char const* value,
                        double v, bool first) {
        if (first) head(name, help, "gauge", "");
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        out_ += std::string("roomcast_") + name + "{" + label + "=\"" + value + "\"} " + buf + "\n";
    }
    // One family with a label; `first` writes HELP/TYPE.
    void labelled(char const* name, char const* help, char const* label, char const* value,
                  std::uint64_t v, bool first) {
        if (first) head(name, help, "counter", "_total");
        out_ += std::string("roomcast_") + name + "_total{" + label + "=\"" + value + "\"} " +
                std::to_string(v) + "\n";
    }
    void histogram(char const* name, char const* help, latency_histogram::snapshot const& h) {
        head(name, help, "histogram", "");
        std::string const base = std::string("roomcast_") + name;
        std::uint64_t cumulative = 0;
        char le[32];
        for (std::size_t i = 0; i < latency_histogram::bounds_us.size(); ++i) {
            cumulative += h.counts[i];
            std::snprintf(le, sizeof le, "%g",
                          static_cast<double>(latency_histogram::bounds_us[i]) / 1e6);
            out_ += base + "_bucket{le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
        }
        out_ += base + "_bucket{le=\"+Inf\"} " + std::to_string(h.count) + "\n";
        std::snprintf(le, sizeof le, "%.6f", static_cast<double>(h.sum_us) / 1e6);
        out_ += base + "_sum " + le + "\n";
        out_ += base + "_count " + std::to_string(h.count) + "\n";
    }
    std::string& text() { return out_; }

  private:
    void head(char const* name, char const* help, char const* type, char const* suffix) {
        out_ += std::string("# HELP roomcast_") + name + suffix + " " + help + "\n";
        out_ += std::string("# TYPE roomcast_") + name + suffix + " " + type + "\n";
    }
    std::string out_;
};

}  // namespace

std::string prometheus_text(stats const& s, gauges const& g, char const* version) {
    auto r = [](auto const& a) {
        return static_cast<std::uint64_t>(a.load(std::memory_order_relaxed));
    };
    writer w;
    w.text() += std::string(
                    "# HELP roomcast_build_info Build information.\n"
                    "# TYPE roomcast_build_info gauge\nroomcast_build_info{version=\"") +
                version + "\"} 1\n";
    w.gauge("uptime_seconds", "Seconds since the server started.", g.uptime_seconds);
    w.gauge("ready", "1 while accepting connections, 0 once shutdown began.", g.ready ? 1 : 0);
    w.gauge("connections", "Open TCP connections (HTTP and WebSocket).",
            static_cast<double>(g.connections));
    w.gauge("websockets", "Open WebSocket connections.",
            static_cast<double>(s.websockets_open.load(std::memory_order_relaxed)));
    w.gauge("rooms", "Rooms: with a member, or locked and kept for their host.",
            static_cast<double>(g.rooms));
    w.gauge("rooms_dormant", "Locked rooms with no member, kept for their host.",
            static_cast<double>(g.rooms_dormant));
    w.gauge("members", "Room members, held seats included.", static_cast<double>(g.members));
    w.gauge("seats_held", "Seats held for members whose connection dropped.",
            static_cast<double>(g.seats_held_now));
    w.gauge("queued_bytes", "Bytes waiting in all send queues.",
            static_cast<double>(s.queued_bytes.load(std::memory_order_relaxed)));
    w.gauge("queued_bytes_peak", "Most bytes one connection's send queue ever held.",
            static_cast<double>(s.queued_bytes_peak.load(std::memory_order_relaxed)));
    w.gauge("memory_budget_bytes",
            "The process memory budget (--memory-budget): every buffer held for clients draws "
            "from it.",
            static_cast<double>(s.memory.limit()));
    struct kinds {
        char const* kind;
        memory_kind k;
    } const mk[] = {{"partial_messages", memory_kind::partial_messages},
                    {"frames", memory_kind::frames},
                    {"connections", memory_kind::connections}};
    bool firstg = true;
    for (auto const& k : mk) {
        w.labelled_gauge("memory_used_bytes",
                         "Bytes charged to the memory budget now, by what holds them: messages "
                         "being received, relayed frames alive (queues, seats, writes), and a "
                         "fixed estimate per connection.",
                         "kind", k.kind, static_cast<double>(s.memory.used(k.k)), firstg);
        firstg = false;
    }
    w.gauge("held_seat_bytes", "Wire bytes kept in held seats for members that are away.",
            static_cast<double>(s.held.bytes.load(std::memory_order_relaxed)));
    w.counter("connections_accepted", "TCP connections accepted.", r(s.connections_accepted));
    w.counter("connections_rejected", "Connections refused by max-connections limits.",
              r(s.connections_rejected));
    w.counter("http_requests", "HTTP requests handled.", r(s.http_requests));
    w.counter("messages_received", "WebSocket data messages received.", r(s.messages_in));
    w.counter("received_bytes", "Bytes read from WebSocket connections.", r(s.bytes_in));
    w.counter("frames_relayed", "Messages relayed to at least one peer.", r(s.frames_relayed));
    w.counter("deliveries", "Message copies queued for recipients (shared, not copied).",
              r(s.deliveries));
    w.counter("delivered_bytes", "Payload bytes queued for recipients.", r(s.bytes_delivered));
    w.counter("frames_dropped",
              "Frames discarded because their recipient was closed or its "
              "seat overflowed (each also logged).",
              r(s.frames_dropped));
    w.counter("read_pauses", "Times a sender paused reading because a recipient was congested.",
              r(s.read_pauses));
    w.counter("protocol_errors", "Error replies sent to clients.", r(s.protocol_errors));
    w.counter("frames_replayed", "Frames replayed to resumed seats.", r(s.frames_replayed));
    w.counter("rate_limited",
              "Times a connection's reads were paused for exceeding its messages or bytes per "
              "second.",
              r(s.rate_limited));
    w.counter("joins_refused", "Join attempts refused by max-joins-per-minute.",
              r(s.joins_refused));
    w.counter("upgrades_refused_origin",
              "WebSocket upgrades refused with 403 because their Origin is not allowed.",
              r(s.upgrades_refused_origin));
    w.counter("upgrades_refused",
              "WebSocket upgrades refused for another reason (version, key, method, shutdown).",
              r(s.upgrades_refused));
    w.counter("hosts_refused",
              "Requests refused with 421 because their Host is not one this server answers to.",
              r(s.hosts_refused));
    w.counter("http_bad_requests",
              "HTTP requests refused as malformed, ambiguously framed or carrying a body (400, "
              "413, 431).",
              r(s.http_bad_requests));
    w.counter("metrics_refused",
              "Requests for /metrics refused with 403: the client is outside --metrics-from.",
              r(s.metrics_refused));
    bool first = true;
    for (int c = 1; c < protocol::errc_count; ++c) {
        auto const code = std::string(protocol::wire_code(static_cast<protocol::errc>(c)));
        w.labelled("errors", "Error replies sent to clients, by code.", "code", code.c_str(),
                   r(s.errors_by_code[static_cast<std::size_t>(c)]), first);
        first = false;
    }
    w.histogram("relay_latency_seconds",
                "From a message read in full to its write to a recipient's socket completing "
                "(replayed frames include their time held).",
                s.relay_latency.read());
    struct closes {
        char const* reason;
        std::uint64_t v;
    } const cl[] = {{"slow_reader", r(s.close_slow_reader)}, {"slow_drain", r(s.close_slow_drain)},
                    {"slow_sender", r(s.close_slow_sender)}, {"try_again", r(s.close_try_again)},
                    {"too_big", r(s.close_too_big)},         {"protocol", r(s.close_protocol)},
                    {"heartbeat", r(s.close_heartbeat)},     {"shutdown", r(s.close_shutdown)},
                    {"replaced", r(s.close_replaced)}};
    first = true;
    for (auto const& c : cl) {
        w.labelled("closes", "Connections closed by the server, by reason.", "reason", c.reason,
                   c.v, first);
        first = false;
    }
    struct seat_ev {
        char const* event;
        std::uint64_t v;
    } const se[] = {{"held", r(s.seats_held)},
                    {"resumed", r(s.seats_resumed)},
                    {"expired", r(s.seats_expired)},
                    {"overflowed", r(s.seats_overflowed)},
                    {"refused", r(s.seats_refused)},
                    {"evicted", r(s.seats_evicted)},
                    {"taken_over", r(s.seats_taken_over)},
                    {"removed", r(s.seats_removed)}};
    first = true;
    for (auto const& e : se) {
        w.labelled("seat_events", "Seat lifecycle events.", "event", e.event, e.v, first);
        first = false;
    }
    struct access_ev {
        char const* event;
        std::uint64_t v;
    } const ae[] = {{"knock", r(s.lobby_knocks)},
                    {"withdrawn", r(s.lobby_withdrawn)},
                    {"admitted", r(s.lobby_admitted)},
                    {"denied", r(s.lobby_denied)},
                    {"room_closed", r(s.lobby_room_closed)},
                    {"removed", r(s.members_removed)},
                    {"locked", r(s.rooms_locked)},
                    {"unlocked", r(s.rooms_unlocked)},
                    {"host_proved", r(s.hosts_proved)}};
    first = true;
    for (auto const& e : ae) {
        w.labelled("access_events", "Private rooms: lobby, host and lock events.", "event", e.event,
                   e.v, first);
        first = false;
    }
    struct refusal {
        char const* what;
        std::uint64_t v;
    } const rf[] = {{"message_process_budget", r(s.messages_refused_process)},
                    {"message_address_cap", r(s.messages_refused_address)},
                    {"connection", r(s.connections_refused_memory)},
                    {"join", r(s.joins_refused_memory)}};
    first = true;
    for (auto const& e : rf) {
        w.labelled("memory_refusals",
                   "Work refused for memory: messages closed with 1013 (by the cap that "
                   "refused), connections answered 503 and joins answered server-busy near the "
                   "budget.",
                   "what", e.what, e.v, first);
        first = false;
    }
    return std::move(w.text());
}

}  // namespace roomcast
