#include "roomcast/config.hpp"

#include <roomcast/text.hpp>
#include <roomcast/transport/client_address.hpp>
#include <roomcast/transport/host_policy.hpp>
#include <roomcast/transport/origin_policy.hpp>
#include <roomcast/version.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <sstream>

namespace roomcast {

namespace {

// One row per setting: the flag, its variable, its help, and how to store a value.
// The default shown in --help is read back from a default-constructed config, so it never lies.
struct option {
    char const* flag;
    char const* env;
    char const* help;
    // (set and show below; a switch takes no value on the command line)
    std::function<bool(config&, std::string const&, std::string&)> set;  // false: error text
    std::function<std::string(config const&)> show;
    bool is_switch = false;
};

std::string format_bytes(std::size_t n) {
    if (n != 0 && n % (1u << 20) == 0) return std::to_string(n >> 20) + "MiB";
    if (n != 0 && n % 1024 == 0) return std::to_string(n >> 10) + "KiB";
    return std::to_string(n);
}

std::string format_ms(std::chrono::milliseconds d) {
    auto n = d.count();
    if (n != 0 && n % 1000 == 0) return std::to_string(n / 1000) + "s";
    return std::to_string(n) + "ms";
}

template <class T>
bool parse_uint(std::string const& s, T& out, T min, T max) {
    if (s.empty()) return false;
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return false;
    if (v < min || v > max) return false;
    out = static_cast<T>(v);
    return true;
}

option bytes_opt(char const* flag, char const* env, char const* help, std::size_t config::*field,
                 std::size_t min = 1) {
    return {flag, env, help,
            [field, min](config& c, std::string const& v, std::string& err) {
                std::size_t n = 0;
                if (!parse_bytes(v, n)) {
                    err = "expected a size such as 65536, 512KiB or 32MiB";
                    return false;
                }
                if (n < min) {
                    err = "must be at least " + std::to_string(min);
                    return false;
                }
                c.*field = n;
                return true;
            },
            [field](config const& c) { return format_bytes(c.*field); }};
}

option count_opt(char const* flag, char const* env, char const* help, std::size_t config::*field,
                 std::size_t min = 1) {
    return {
        flag, env, help,
        [field, min](config& c, std::string const& v, std::string& err) {
            std::size_t n = 0;
            if (!parse_uint<std::size_t>(v, n, min, std::numeric_limits<std::uint32_t>::max())) {
                err = "expected a whole number >= " + std::to_string(min);
                return false;
            }
            c.*field = n;
            return true;
        },
        [field](config const& c) { return std::to_string(c.*field); }};
}

option duration_opt(char const* flag, char const* env, char const* help,
                    std::chrono::milliseconds config::*field) {
    return {flag, env, help,
            [field](config& c, std::string const& v, std::string& err) {
                std::chrono::milliseconds d{};
                if (!parse_duration(v, d) || d.count() <= 0) {
                    err = "expected a positive duration such as 500ms, 15s or 2m";
                    return false;
                }
                c.*field = d;
                return true;
            },
            [field](config const& c) { return format_ms(c.*field); }};
}

option path_opt(char const* flag, char const* env, char const* help, std::string config::*field,
                char const* unset) {
    return {flag, env, help,
            [field](config& c, std::string const& v, std::string& err) {
                if (v.empty()) {
                    err = "must not be empty";
                    return false;
                }
                c.*field = v;
                return true;
            },
            [field, unset](config const& c) {
                return (c.*field).empty() ? std::string(unset) : c.*field;
            }};
}

// A comma-separated list, kept as given (the server parses it once at start). `valid` names
// the first bad entry in `bad`; `unset` is shown when the list is empty, or null when it may
// not be (the default then is a list of its own).
option list_opt(char const* flag, char const* env, char const* help, std::string config::*field,
                bool (*valid)(std::string_view, std::string&), char const* example,
                char const* unset) {
    return {flag, env, help,
            [=](config& c, std::string const& v, std::string& err) {
                std::string bad;
                if (!unset && split_list(v).empty()) {
                    err = "must name at least one entry, or * for any";
                    return false;
                }
                if (!valid(v, bad)) {
                    err = "'" + bad + "' is not " + example;
                    return false;
                }
                c.*field = v;
                return true;
            },
            [=](config const& c) {
                return unset && (c.*field).empty() ? std::string(unset) : c.*field;
            }};
}

bool parse_switch(std::string const& v, bool& out, std::string& err) {
    if (v == "1" || v == "true" || v == "yes" || v == "on") {
        out = true;
    } else if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) {
        out = false;
    } else {
        err = "expected 1/0, true/false, yes/no or on/off";
        return false;
    }
    return true;
}

std::vector<option> const& options() {
    static std::vector<option> const table = {
        {"--host", "HOST", "address to listen on",
         [](config& c, std::string const& v, std::string& err) {
             if (v.empty()) {
                 err = "must not be empty";
                 return false;
             }
             c.host = v;
             return true;
         },
         [](config const& c) { return c.host; }},
        {"--port", "PORT", "TCP port to listen on (0: any free port)",
         [](config& c, std::string const& v, std::string& err) {
             if (!parse_uint<std::uint16_t>(v, c.port, 0, 65535)) {
                 err = "expected a port number 0-65535";
                 return false;
             }
             return true;
         },
         [](config const& c) { return std::to_string(c.port); }},
        {"--web-root", "ROOMCAST_WEB_ROOT",
         "directory of the static client (default: web/ beside the binary, else the source tree's)",
         [](config& c, std::string const& v, std::string& err) {
             if (v.empty()) {
                 err = "must not be empty";
                 return false;
             }
             c.web_root = v;
             return true;
         },
         [](config const& c) { return c.web_root.empty() ? std::string("(auto)") : c.web_root; }},
        {"--threads", "ROOMCAST_THREADS", "I/O threads (0: one per core)",
         [](config& c, std::string const& v, std::string& err) {
             if (!parse_uint<unsigned>(v, c.threads, 0, 1024)) {
                 err = "expected a whole number 0-1024";
                 return false;
             }
             return true;
         },
         [](config const& c) { return std::to_string(c.threads); }},
        {"--log-level", "ROOMCAST_LOG_LEVEL", "trace, debug, info, warn, error, critical or off",
         [](config& c, std::string const& v, std::string& err) {
             static char const* const levels[] = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
             if (std::find(std::begin(levels), std::end(levels), v) == std::end(levels)) {
                 err = "expected one of trace, debug, info, warn, error, critical, off";
                 return false;
             }
             c.log_level = v;
             return true;
         },
         [](config const& c) { return c.log_level; }},
        {"--log-format", "ROOMCAST_LOG_FORMAT", "text or json (one JSON object per line)",
         [](config& c, std::string const& v, std::string& err) {
             if (v != "text" && v != "json") {
                 err = "expected text or json";
                 return false;
             }
             c.log_format = v;
             return true;
         },
         [](config const& c) { return c.log_format; }},
        bytes_opt("--max-message-bytes", "ROOMCAST_MAX_MESSAGE_BYTES",
                  "largest WebSocket message accepted; larger closes with 1009",
                  &config::max_message_bytes, 126),
        bytes_opt("--send-high-water", "ROOMCAST_SEND_HIGH_WATER",
                  "a connection's queued bytes above which its senders pause reading",
                  &config::send_high_water_bytes),
        bytes_opt("--send-max-bytes", "ROOMCAST_SEND_MAX_BYTES",
                  "a connection's queued bytes past which it is closed with 1008",
                  &config::send_max_bytes),
        duration_opt("--send-timeout", "ROOMCAST_SEND_TIMEOUT",
                     "a write making no progress this long drops the connection (slow reader)",
                     &config::send_timeout),
        duration_opt("--ping-interval", "ROOMCAST_PING_INTERVAL",
                     "ping a connection that has been quiet this long", &config::ping_interval),
        duration_opt("--ping-timeout", "ROOMCAST_PING_TIMEOUT",
                     "close a connection silent this long after a ping", &config::ping_timeout),
        duration_opt("--close-timeout", "ROOMCAST_CLOSE_TIMEOUT",
                     "time allowed for the peer's close frame after ours", &config::close_timeout),
        bytes_opt("--http-header-limit", "ROOMCAST_HTTP_HEADER_LIMIT",
                  "largest HTTP request header block", &config::http_header_limit, 256),
        bytes_opt("--http-body-limit", "ROOMCAST_HTTP_BODY_LIMIT", "largest HTTP request body",
                  &config::http_body_limit, 0),
        duration_opt("--http-timeout", "ROOMCAST_HTTP_TIMEOUT",
                     "time allowed to read one HTTP request, and keep-alive idle time",
                     &config::http_timeout),
        count_opt("--max-room-members", "ROOMCAST_MAX_ROOM_MEMBERS", "members per room",
                  &config::max_room_members, 2),
        count_opt("--max-lobby", "ROOMCAST_MAX_LOBBY",
                  "newcomers waiting in one locked room's lobby (more get lobby-full)",
                  &config::max_lobby, 1),
        count_opt("--max-admissions", "ROOMCAST_MAX_ADMISSIONS",
                  "devices one room remembers as admitted (the oldest absent one goes first)",
                  &config::max_admissions, 1),
        count_opt("--max-dormant-rooms", "ROOMCAST_MAX_DORMANT_ROOMS",
                  "locked rooms kept with no member in them (the oldest goes first)",
                  &config::max_dormant_rooms, 0),
        duration_opt("--room-retention", "ROOMCAST_ROOM_RETENTION",
                     "how long a locked room with no member is kept for its host",
                     &config::room_retention),
        count_opt("--max-connections", "ROOMCAST_MAX_CONNECTIONS", "open connections in all",
                  &config::max_connections),
        count_opt("--max-connections-per-ip", "ROOMCAST_MAX_CONNECTIONS_PER_IP",
                  "open connections from one client address", &config::max_connections_per_ip),
        count_opt("--max-messages-per-second", "ROOMCAST_MAX_MESSAGES_PER_SECOND",
                  "frames one connection may send per second, burst the same (0: unlimited); "
                  "past it the server stops reading it until the budget refills",
                  &config::max_messages_per_second, 0),
        bytes_opt("--max-bytes-per-second", "ROOMCAST_MAX_BYTES_PER_SECOND",
                  "bytes one connection may send per second, burst the same (0: unlimited)",
                  &config::max_bytes_per_second, 0),
        count_opt("--max-joins-per-minute", "ROOMCAST_MAX_JOINS_PER_MINUTE",
                  "join attempts per client address per minute (0: unlimited); past it a join "
                  "gets the error rate-limited",
                  &config::max_joins_per_minute, 0),
        list_opt(
            "--allowed-origins", "ROOMCAST_ALLOWED_ORIGINS",
            "origins whose pages may open a WebSocket, comma-separated, or * for any; the "
            "server's own origin and the public URL's are always allowed; others get 403",
            &config::allowed_origins,
            [](std::string_view v, std::string& bad) {
                return transport::origin_policy::parse(v, {}, bad).has_value();
            },
            "an origin such as https://photos.example.com", "(own and public URL only)"),
        list_opt(
            "--trusted-proxies", "ROOMCAST_TRUSTED_PROXIES",
            "reverse proxies (IPs or CIDR blocks, comma-separated) whose X-Forwarded-For "
            "names the client; from any other peer the header is ignored",
            &config::trusted_proxies,
            [](std::string_view v, std::string& bad) {
                return transport::trusted_proxies::parse(v, bad).has_value();
            },
            "an IP address or CIDR block such as 10.0.0.0/8", "(none)"),
        list_opt(
            "--allowed-hosts", "ROOMCAST_ALLOWED_HOSTS",
            "host names a request's Host may carry besides localhost, 127.0.0.0/8, ::1, "
            "this machine's addresses and the public URL's host (comma-separated, no port: "
            "any port is accepted), or * for any; others get 421 (against DNS rebinding)",
            &config::allowed_hosts,
            [](std::string_view v, std::string& bad) {
                return transport::host_policy::parse(v, {}, bad).has_value();
            },
            "a host name such as photos.example.com (no port)",
            "(loopback, own addresses, public URL)"),
        list_opt(
            "--metrics-from", "ROOMCAST_METRICS_FROM",
            "client addresses (IPs or CIDR blocks, comma-separated) that may read /metrics, "
            "or * for anyone; behind a trusted proxy the forwarded client counts; others "
            "get 403",
            &config::metrics_from,
            [](std::string_view v, std::string& bad) {
                return transport::address_set::parse(v, bad).has_value();
            },
            "an IP address or CIDR block such as 10.0.0.0/8", nullptr),
        duration_opt("--shutdown-timeout", "ROOMCAST_SHUTDOWN_TIMEOUT",
                     "on SIGTERM/SIGINT, time allowed for connections to close before exit",
                     &config::shutdown_timeout),
        duration_opt("--resume-grace", "ROOMCAST_RESUME_GRACE",
                     "how long a dropped member's seat is held for it to resume",
                     &config::resume_grace),
        bytes_opt("--resume-buffer-bytes", "ROOMCAST_RESUME_BUFFER_BYTES",
                  "bytes relayed to one away seat kept for replay; past this the seat is released",
                  &config::resume_buffer_bytes),
        {"--memory-budget", "ROOMCAST_MEMORY_BUDGET",
         "memory the daemon may hold for clients in all (queues, messages being received, "
         "held seats, connections); near it new connections and joins are refused, at it new "
         "messages get 1013 (0: half of the cgroup limit, else of physical memory)",
         [](config& c, std::string const& v, std::string& err) {
             if (!parse_bytes(v, c.memory_budget)) {
                 err = "expected a size such as 512MiB or 4GiB (0: automatic)";
                 return false;
             }
             if (c.memory_budget != 0 && c.memory_budget < (16u << 20)) {
                 err = "must be at least 16MiB (or 0: automatic)";
                 return false;
             }
             return true;
         },
         [](config const& c) {
             return c.memory_budget ? format_bytes(c.memory_budget)
                                    : std::string("(auto: half of the memory limit)");
         }},
        bytes_opt("--max-message-bytes-per-ip", "ROOMCAST_MAX_MESSAGE_BYTES_PER_IP",
                  "bytes of one client address's messages the server holds (being received, or "
                  "relayed and not yet written to every recipient); past it a message gets 1013",
                  &config::max_message_bytes_per_ip, 0),
        bytes_opt("--message-min-rate", "ROOMCAST_MESSAGE_MIN_RATE",
                  "bytes per second a message being received must at least arrive at (averaged "
                  "over a ping interval); slower closes with 1008 (0: no minimum)",
                  &config::message_min_rate, 0),
        bytes_opt("--send-min-rate", "ROOMCAST_SEND_MIN_RATE",
                  "bytes per second a recipient holding its senders paused must at least read "
                  "(over each send-timeout window); slower closes with 1008 (0: no minimum)",
                  &config::send_min_rate, 0),
        count_opt("--max-held-seats-per-ip", "ROOMCAST_MAX_HELD_SEATS_PER_IP",
                  "seats held at once for one client address's dropped connections (0: no cap)",
                  &config::max_held_seats_per_ip, 0),
        bytes_opt("--max-held-bytes-per-ip", "ROOMCAST_MAX_HELD_BYTES_PER_IP",
                  "bytes kept in one client address's held seats; past it a seat is released",
                  &config::max_held_bytes_per_ip, 0),
        count_opt("--max-held-seats", "ROOMCAST_MAX_HELD_SEATS",
                  "seats held at once in all (0: no cap)", &config::max_held_seats, 0),
        {"--max-held-bytes", "ROOMCAST_MAX_HELD_BYTES",
         "bytes kept in all held seats; past it a seat is released (0: a quarter of the "
         "memory budget)",
         [](config& c, std::string const& v, std::string& err) {
             if (!parse_bytes(v, c.max_held_bytes)) {
                 err = "expected a size such as 256MiB (0: a quarter of the memory budget)";
                 return false;
             }
             return true;
         },
         [](config const& c) {
             return c.max_held_bytes ? format_bytes(c.max_held_bytes)
                                     : std::string("(a quarter of the memory budget)");
         }},
        {"--public-url", "ROOMCAST_PUBLIC_URL",
         "the URL phones should open (behind a proxy or NAT), e.g. https://photos.example.com",
         [](config& c, std::string const& v, std::string& err) {
             std::string u = v;
             while (!u.empty() && u.back() == '/')
                 u.pop_back();
             bool const scheme = u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0;
             auto const host_at = u.find("://") + 3;
             if (!scheme || u.size() <= host_at ||
                 u.find_first_of(" \t\r\n\"<>?#", 0) != std::string::npos) {
                 err = "expected an http:// or https:// origin such as https://photos.example.com";
                 return false;
             }
             // Requests naming its host are answered (host_policy): it must be one.
             std::string bad;
             if (!transport::host_policy::parse({}, u, bad)) {
                 err = "its host is not a host name or IP literal such as photos.example.com";
                 return false;
             }
             c.public_url = u;
             return true;
         },
         [](config const& c) {
             return c.public_url.empty() ? std::string("(none)") : c.public_url;
         }},
        {"--qr", "ROOMCAST_QR", "print the first URL to open as a QR code in the terminal",
         [](config& c, std::string const& v, std::string& err) {
             return parse_switch(v, c.print_qr, err);
         },
         [](config const& c) { return std::string(c.print_qr ? "on" : "off"); }, true},
        path_opt("--tls-cert", "ROOMCAST_TLS_CERT",
                 "PEM certificate (chain) to serve HTTPS and WSS with, on the same port as "
                 "plain HTTP; needs --tls-key",
                 &config::tls_cert, "(none)"),
        path_opt("--tls-key", "ROOMCAST_TLS_KEY", "PEM private key of --tls-cert", &config::tls_key,
                 "(none)"),
        {"--tls-self-signed", "ROOMCAST_TLS_SELF_SIGNED",
         "serve HTTPS with a self-signed certificate for this host's LAN addresses, made in "
         "the state directory on first start and reused after (phones need HTTPS for the "
         "camera)",
         [](config& c, std::string const& v, std::string& err) {
             return parse_switch(v, c.tls_self_signed, err);
         },
         [](config const& c) { return std::string(c.tls_self_signed ? "on" : "off"); }, true},
        path_opt("--state-dir", "ROOMCAST_STATE_DIR",
                 "where state is kept (the self-signed certificate and key)", &config::state_dir,
                 "$XDG_STATE_HOME/roomcast or ~/.local/state/roomcast"),
    };
    return table;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s;
}

}  // namespace

bool parse_bytes(std::string const& s, std::size_t& out) {
    std::size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        ++i;
    if (i == 0) return false;
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
    if (ec != std::errc{} || p != s.data() + i) return false;
    std::string suffix = lower(s.substr(i));
    unsigned shift = 0;
    if (suffix.empty() || suffix == "b")
        shift = 0;
    else if (suffix == "k" || suffix == "kb" || suffix == "kib")
        shift = 10;
    else if (suffix == "m" || suffix == "mb" || suffix == "mib")
        shift = 20;
    else if (suffix == "g" || suffix == "gb" || suffix == "gib")
        shift = 30;
    else
        return false;
    if (v > (std::numeric_limits<std::size_t>::max() >> shift)) return false;
    out = static_cast<std::size_t>(v << shift);
    return true;
}

bool parse_duration(std::string const& s, std::chrono::milliseconds& out) {
    std::size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        ++i;
    if (i == 0) return false;
    unsigned long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
    if (ec != std::errc{} || p != s.data() + i) return false;
    std::string suffix = lower(s.substr(i));
    unsigned long long mult = 0;
    if (suffix.empty() || suffix == "s")
        mult = 1000;
    else if (suffix == "ms")
        mult = 1;
    else if (suffix == "m" || suffix == "min")
        mult = 60'000;
    else if (suffix == "h")
        mult = 3'600'000;
    else
        return false;
    // Cap at ~24 days so every duration fits the timers' arithmetic with room to spare.
    if (v > (2'000'000'000ull / mult)) return false;
    out = std::chrono::milliseconds(static_cast<long long>(v * mult));
    return true;
}

std::string config_help() {
    std::ostringstream os;
    os << "roomcast " << version << " - relays WebSocket frames between the browsers in a room\n\n"
       << "Usage: roomcast [options]\n\n"
       << "Each option can also be set by its environment variable; a flag wins over its\n"
       << "variable. Sizes take k/KiB, m/MiB, g/GiB; durations take ms, s, m, h (plain = s).\n\n";
    config const defaults;
    for (auto const& o : options()) {
        os << "  " << o.flag << (o.is_switch ? "" : " <value>") << "\n      " << o.help
           << "\n      env " << o.env << ", default " << o.show(defaults) << "\n";
    }
    os << "  --healthcheck  GET /healthz from the server these settings describe; exit 0 if 200\n"
       << "  --help       print this text\n  --version    print the version\n";
    return os.str();
}

std::string describe(config const& cfg) {
    std::ostringstream os;
    bool first = true;
    for (auto const& o : options()) {
        os << (first ? "" : " ") << (o.flag + 2) << "=" << o.show(cfg);
        first = false;
    }
    return os.str();
}

config_result parse_config(std::vector<std::string> const& args,
                           std::map<std::string, std::string> const& env) {
    config cfg;
    auto const& table = options();

    // Flags first, to learn which settings they give; a variable is read only for the
    // settings no flag overrides (so a bad variable under a good flag is no error).
    std::vector<std::pair<option const*, std::string>> from_flags;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string const& a = args[i];
        if (a == "--help" || a == "-h") return config_exit{config_help()};
        if (a == "--version" || a == "-V")
            return config_exit{std::string("roomcast ") + version + "\n"};
        std::string name = a, value;
        bool has_value = false;
        if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            name = a.substr(0, eq);
            value = a.substr(eq + 1);
            has_value = true;
        }
        auto it = std::find_if(table.begin(), table.end(),
                               [&](option const& o) { return name == o.flag; });
        if (it == table.end())
            return config_error{"unknown option '" + a + "' (see roomcast --help)"};
        if (!has_value) {
            if (it->is_switch) {
                value = "1";
            } else {
                if (i + 1 >= args.size()) return config_error{"option " + name + " needs a value"};
                value = args[++i];
            }
        }
        from_flags.emplace_back(&*it, value);
    }

    for (auto const& o : table) {
        auto it = env.find(o.env);
        if (it == env.end()) continue;
        bool const overridden = std::any_of(from_flags.begin(), from_flags.end(),
                                            [&](auto const& f) { return f.first == &o; });
        if (overridden) continue;
        std::string err;
        if (!o.set(cfg, it->second, err))
            return config_error{std::string("invalid ") + o.env + "='" + it->second + "': " + err};
    }
    for (auto const& [o, value] : from_flags) {
        std::string err;
        if (!o->set(cfg, value, err))
            return config_error{std::string("invalid ") + o->flag + " '" + value + "': " + err};
    }

    // Relations between limits.
    if (cfg.send_high_water_bytes > cfg.send_max_bytes)
        return config_error{"send-high-water (" + format_bytes(cfg.send_high_water_bytes) +
                            ") must not exceed send-max-bytes (" +
                            format_bytes(cfg.send_max_bytes) + ")"};
    // One frame in flight plus one arriving must fit, or every large photo trips the cap.
    if (cfg.max_message_bytes > cfg.send_max_bytes / 2)  // no overflow, unlike 2 * max
        return config_error{"send-max-bytes (" + format_bytes(cfg.send_max_bytes) +
                            ") must be at least twice max-message-bytes (" +
                            format_bytes(cfg.max_message_bytes) + ")"};
    return config_run{cfg};
}

}  // namespace roomcast
