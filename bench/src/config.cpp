#include "config.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <stdexcept>

namespace rcb {
namespace {

constexpr char usage[] =
    R"(roomcast-bench: load generator for roomcast and its peers (one scenario, one server)

  roomcast-bench --system roomcast|ws|socketio --scenario NAME --port N [options]

Scenarios:
  big            1 sender -> 1 receiver, 5 MiB binary messages, closed loop      (MiB/s)
  pairs          1000 rooms x 2 clients, both send 1 KiB, closed loop            (messages/s)
  pairs-latency  same topology, open loop at --rate 10000 messages/s             (p50/p99/max)
  fanout         1 room x 100 clients, every member sends, each to 99 others     (deliveries/s)
  idle           10 000 joined connections in rooms of 10                        (server RSS/conn)
  churn          connect, join, send, leave, disconnect in a loop                (connections/s)

Options (defaults depend on the scenario):
  --host A             server address, 127.0.0.x only (127.0.0.1)
  --port N             server port (required)
  --path P             upgrade target (roomcast/ws: /ws; socketio: /socket.io/?EIO=4&transport=websocket)
  --server-pid PID     server process, for CPU and RSS from /proc/PID
  --threads N          generator threads, each its own epoll loop (1)
  --warmup S --duration S --drain S --settle S --setup-timeout S --max-runtime S
  --rooms N --room-size N --senders N --window N --size BYTES --rate MSGS_PER_S
  --connections N      idle: total connections (rooms = N / room-size);
                       churn: anchors + churners held open at once (rooms = N / 2)
  --payload binary|text
  --source-addrs N     bind source addresses 127.0.0.2 .. 127.0.0.(N+1), round robin
  --connect-concurrency N  connections in setup at once (256)
  --max-messages N --max-cycles N --cycle-timeout S
  --abrupt-pct P       churn: P % of cycles drop the TCP connection after the message arrives,
                       without leave or close frame: half FIN (shutdown + close), half RST
                       (SO_LINGER 0) (0)
  --abrupt-mid-pct Q   churn: Q % of those drops come halfway through sending the message (0)
  --resume-pct R       churn: R % of the rejoins after a drop present the seat's resume token (50)
  --cycle-rate N       churn: start at most N cycles per second in all, evenly over the churners
                       (0: each churner starts its next cycle as soon as one ends) (0)
  --rss-tolerance-pct P --rss-tolerance-mib M   churn: allowed RSS drift (10 %, 4 MiB)
  --json FILE          append the result line to FILE
  --round N            round number, copied into the result
  --quiet              no human-readable row
)";

double to_double(std::string_view name, std::string const& v) {
    char* end = nullptr;
    double const d = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || d < 0) {
        throw std::runtime_error("bad value for --" + std::string(name) + ": " + v);
    }
    return d;
}

double to_percent(std::string_view name, std::string const& v) {
    double const d = to_double(name, v);
    if (d > 100) throw std::runtime_error("--" + std::string(name) + " must be 0..100: " + v);
    return d;
}

std::uint64_t to_u64(std::string_view name, std::string const& v) {
    char* end = nullptr;
    unsigned long long const n = std::strtoull(v.c_str(), &end, 10);
    if (end == v.c_str() || *end != '\0' || v[0] == '-') {
        throw std::runtime_error("bad value for --" + std::string(name) + ": " + v);
    }
    return n;
}

std::uint32_t to_u32(std::string_view name, std::string const& v) {
    auto const n = to_u64(name, v);
    if (n > 0xFFFFFFFFull) throw std::runtime_error("value too large for --" + std::string(name));
    return static_cast<std::uint32_t>(n);
}

}  // namespace

std::string_view to_string(scenario s) {
    switch (s) {
        case scenario::big:
            return "big";
        case scenario::pairs:
            return "pairs";
        case scenario::pairs_latency:
            return "pairs-latency";
        case scenario::fanout:
            return "fanout";
        case scenario::idle:
            return "idle";
        case scenario::churn:
            return "churn";
    }
    return "?";
}

config parse_args(int argc, char** argv) {
    config c;
    std::optional<std::uint32_t> rooms, room_size, senders, window, connections, source_addrs;
    std::optional<std::size_t> size;
    std::optional<double> rate;
    std::optional<std::string> path;
    bool have_scenario = false;

    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage, stdout);
            std::exit(0);
        }
        if (arg == "--quiet") {
            c.quiet = true;
            continue;
        }
        if (arg.substr(0, 2) != "--" || i + 1 >= argc) {
            throw std::runtime_error("unexpected argument: " + std::string(arg) + " (see --help)");
        }
        std::string_view const name = arg.substr(2);
        std::string const v = argv[++i];
        if (name == "system") {
            c.system = v;
            if (v == "roomcast" || v == "ws") {
                c.proto = protocol::roomcast;
            } else if (v == "socketio") {
                c.proto = protocol::socketio;
            } else {
                throw std::runtime_error("unknown --system " + v);
            }
        } else if (name == "scenario") {
            have_scenario = true;
            if (v == "big")
                c.scen = scenario::big;
            else if (v == "pairs")
                c.scen = scenario::pairs;
            else if (v == "pairs-latency")
                c.scen = scenario::pairs_latency;
            else if (v == "fanout")
                c.scen = scenario::fanout;
            else if (v == "idle")
                c.scen = scenario::idle;
            else if (v == "churn")
                c.scen = scenario::churn;
            else
                throw std::runtime_error("unknown --scenario " + v);
        } else if (name == "host") {
            c.host = v;
        } else if (name == "port") {
            auto const p = to_u64(name, v);
            if (p == 0 || p > 65535) throw std::runtime_error("bad --port " + v);
            c.port = static_cast<std::uint16_t>(p);
        } else if (name == "path") {
            path = v;
        } else if (name == "server-pid") {
            c.server_pid = static_cast<int>(to_u32(name, v));
        } else if (name == "threads") {
            c.threads = to_u32(name, v);
        } else if (name == "warmup") {
            c.warmup_s = to_double(name, v);
        } else if (name == "duration") {
            c.duration_s = to_double(name, v);
        } else if (name == "drain") {
            c.drain_s = to_double(name, v);
        } else if (name == "settle") {
            c.settle_s = to_double(name, v);
        } else if (name == "setup-timeout") {
            c.setup_timeout_s = to_double(name, v);
        } else if (name == "max-runtime") {
            c.max_runtime_s = to_double(name, v);
        } else if (name == "rooms") {
            rooms = to_u32(name, v);
        } else if (name == "room-size") {
            room_size = to_u32(name, v);
        } else if (name == "senders") {
            senders = to_u32(name, v);
        } else if (name == "window") {
            window = to_u32(name, v);
        } else if (name == "connections") {
            connections = to_u32(name, v);
        } else if (name == "size") {
            size = to_u64(name, v);
        } else if (name == "rate") {
            rate = to_double(name, v);
        } else if (name == "payload") {
            if (v == "binary")
                c.payload = payload_mode::binary;
            else if (v == "text")
                c.payload = payload_mode::text;
            else
                throw std::runtime_error("--payload must be binary or text");
        } else if (name == "source-addrs") {
            source_addrs = to_u32(name, v);
        } else if (name == "connect-concurrency") {
            c.connect_concurrency = to_u32(name, v);
        } else if (name == "max-messages") {
            c.max_messages = to_u64(name, v);
        } else if (name == "max-cycles") {
            c.max_cycles = to_u64(name, v);
        } else if (name == "cycle-timeout") {
            c.cycle_timeout_s = to_double(name, v);
        } else if (name == "abrupt-pct") {
            c.abrupt_pct = to_percent(name, v);
        } else if (name == "abrupt-mid-pct") {
            c.abrupt_mid_pct = to_percent(name, v);
        } else if (name == "resume-pct") {
            c.resume_pct = to_percent(name, v);
        } else if (name == "cycle-rate") {
            c.cycle_rate = to_double(name, v);
        } else if (name == "rss-tolerance-pct") {
            c.rss_tolerance_pct = to_double(name, v);
        } else if (name == "rss-tolerance-mib") {
            c.rss_tolerance_mib = to_double(name, v);
        } else if (name == "json") {
            c.json_path = v;
        } else if (name == "round") {
            c.round = static_cast<int>(to_u32(name, v));
        } else {
            throw std::runtime_error("unknown option --" + std::string(name) + " (see --help)");
        }
    }
    if (!have_scenario) throw std::runtime_error("--scenario is required (see --help)");
    if (c.port == 0) throw std::runtime_error("--port is required");
    // Load goes to this machine's loopback range only.
    if (c.host.rfind("127.", 0) != 0)
        throw std::runtime_error("--host must be a 127.0.0.x address");

    // Scenario defaults: {rooms, room size, senders per room, window, size, rate, source addrs}.
    struct preset {
        std::uint32_t rooms, room_size, senders, window;
        std::size_t size;
        double rate;
        std::uint32_t source_addrs;
    };
    preset p{};
    switch (c.scen) {
        case scenario::big:
            p = {1, 2, 1, 2, 5u << 20, 0, 0};
            break;
        // 2000 clients from 4 source addresses: under roomcast's default per-address limit.
        case scenario::pairs:
            p = {1000, 2, 2, 1, 1024, 0, 4};
            break;
        case scenario::pairs_latency:
            p = {1000, 2, 2, 1, 1024, 10000, 4};
            break;
        case scenario::fanout:
            p = {1, 100, 100, 1, 1024, 0, 0};
            break;
        case scenario::idle:
            p = {1000, 10, 0, 1, 1024, 0, 40};
            break;
        // churn: one anchor per churner; each room holds the anchor and one churning client.
        case scenario::churn:
            p = {32, 2, 1, 1, 1024, 0, 16};
            break;
    }
    c.room_size = room_size.value_or(p.room_size);
    c.rooms = rooms.value_or(p.rooms);
    if (c.scen == scenario::idle && connections) {
        c.rooms = (*connections + c.room_size - 1) / std::max<std::uint32_t>(c.room_size, 1);
    }
    if (c.scen == scenario::churn) c.room_size = 2;
    if (c.scen == scenario::churn && connections) c.rooms = (*connections + 1) / 2;
    if (c.scen != scenario::churn &&
        (c.abrupt_pct > 0 || c.abrupt_mid_pct > 0 || c.cycle_rate > 0)) {
        throw std::runtime_error(
            "--abrupt-pct, --abrupt-mid-pct and --cycle-rate apply to churn only");
    }
    c.senders = senders.value_or(std::min(p.senders, c.room_size));
    c.window = window.value_or(p.window);
    c.size = size.value_or(p.size);
    c.rate = rate.value_or(p.rate);
    c.source_addrs = source_addrs.value_or(p.source_addrs);
    if (c.scen == scenario::pairs_latency && c.rate <= 0) {
        throw std::runtime_error("pairs-latency needs --rate > 0");
    }
    if (c.scen != scenario::pairs_latency) c.rate = 0;
    c.target = path.value_or(c.proto == protocol::socketio ? "/socket.io/?EIO=4&transport=websocket"
                                                           : "/ws");

    if (c.rooms == 0 || c.room_size == 0)
        throw std::runtime_error("rooms and room size must be > 0");
    if (c.room_size > 60000) throw std::runtime_error("--room-size too large");
    if (c.senders > c.room_size) throw std::runtime_error("--senders exceeds --room-size");
    if (c.window == 0 || c.window > 4096) throw std::runtime_error("--window must be 1..4096");
    if (c.size < stamp_size(c.payload) || c.size > (64u << 20)) {
        throw std::runtime_error("--size must be between the stamp size and 64 MiB");
    }
    if (c.source_addrs > 250) throw std::runtime_error("--source-addrs at most 250");
    if (c.threads == 0) c.threads = 1;
    if (c.threads > c.rooms) c.threads = c.rooms;
    if (c.connect_concurrency == 0) c.connect_concurrency = 1;
    return c;
}

}  // namespace rcb
