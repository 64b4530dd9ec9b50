#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace roomcast {

/** Everything the daemon can be told. Each field has a flag and an environment variable. */
struct config {
    std::string host = "0.0.0.0";
    std::uint16_t port = 3000;
    std::string web_root;  // empty: resolved by resolve_web_root()
    unsigned threads = 0;  // 0: the number of cores
    std::string log_level = "info";
    std::string log_format = "text";  // text | json

    // WebSocket messages
    std::size_t max_message_bytes = 32u << 20;
    // Outgoing queue of each connection, in bytes: above the high-water mark the senders that
    // feed it pause their reads; past the hard cap the connection is closed with 1008.
    std::size_t send_high_water_bytes = 4u << 20;
    std::size_t send_max_bytes = 80u << 20;
    std::chrono::milliseconds send_timeout{15000};  // no write progress for this long: 1008
    std::chrono::milliseconds ping_interval{20000};
    std::chrono::milliseconds ping_timeout{20000};  // nothing heard for this long after a ping
    std::chrono::milliseconds close_timeout{3000};

    // HTTP
    std::size_t http_header_limit = 8192;
    std::size_t http_body_limit = 4096;
    std::chrono::milliseconds http_timeout{15000};

    // HTTP: hosts and metrics access
    // Host names (or IP literals) requests may carry in Host besides those always answered:
    // loopback names, this machine's addresses, the public URL's host. Comma-separated, no
    // port (any port is accepted), or "*" for any. Others get 421 (DNS rebinding).
    std::string allowed_hosts;
    // Client address blocks /metrics answers (comma-separated CIDR, or "*" for anyone); behind
    // a trusted proxy the client is the one X-Forwarded-For names. Others get 403.
    std::string metrics_from =
        "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

    // Admission
    std::size_t max_room_members = 16;
    // Private rooms (docs/PROTOCOL.md): newcomers waiting per locked room, admissions kept per
    // room, locked rooms kept with no member, and for how long.
    std::size_t max_lobby = 8;
    std::size_t max_admissions = 32;
    std::size_t max_dormant_rooms = 1000;
    std::chrono::milliseconds room_retention{24 * 3600 * 1000};
    std::size_t max_connections = 100000;
    std::size_t max_connections_per_ip = 256;

    // Abuse limits. Per connection, token buckets (0: unlimited): when one runs dry the server
    // stops reading that connection until it refills, so TCP slows the sender; nothing is lost.
    std::size_t max_messages_per_second = 2000;  // frames of any kind, control frames included
    std::size_t max_bytes_per_second = 0;
    // Join attempts (resumes included) per client address per minute, against guessing room
    // names and resume tokens (0: unlimited).
    std::size_t max_joins_per_minute = 60;
    // WebSocket upgrades from pages of other origins get 403 (cross-site WebSocket hijacking).
    // Always allowed: the server's own origin and the public URL's; "*" allows any.
    std::string allowed_origins;  // comma-separated origins
    // X-Forwarded-For is believed only from these peers (comma-separated IPs or CIDR blocks).
    std::string trusted_proxies;

    std::chrono::milliseconds shutdown_timeout{5000};

    // Seats: a member whose connection drops keeps its place this long, and what is relayed
    // to it meanwhile is kept up to this many bytes, then replayed when it resumes. Sized to
    // what a client has in flight (the bundled client: 8 chunks of 256 KiB each way).
    std::chrono::milliseconds resume_grace{120000};
    std::size_t resume_buffer_bytes = 4u << 20;

    // Memory: one ceiling for the process, and the caps that keep one client address from
    // taking it all (see docs/SECURITY.md, "Memory").
    std::size_t memory_budget = 0;  // 0: half of the cgroup limit or of physical memory
    // Bytes of one address's messages the server holds: being received, or relayed and still
    // queued (or held, or being written) for their recipients.
    std::size_t max_message_bytes_per_ip = 128u << 20;
    // A message being received must arrive at least this fast (averaged over a heartbeat
    // interval, not counting time the server itself stopped reading); 0: no minimum.
    std::size_t message_min_rate = 8u << 10;
    // A recipient whose queue keeps its senders paused must drain at least this fast
    // (measured over each send-timeout window); 0: no minimum.
    std::size_t send_min_rate = 256u << 10;
    std::size_t max_held_seats_per_ip = 8;
    std::size_t max_held_bytes_per_ip = 16u << 20;
    std::size_t max_held_seats = 10000;
    std::size_t max_held_bytes = 0;  // 0: a quarter of the memory budget

    // Pairing
    std::string public_url;  // e.g. https://photos.example.com (no trailing slash)
    bool print_qr = false;   // --qr: draw the first URL as a QR code in the terminal

    // TLS: HTTPS and WSS on the same port as plain HTTP (the first byte tells them apart).
    std::string tls_cert;          // PEM certificate chain, leaf first
    std::string tls_key;           // PEM private key of that certificate
    bool tls_self_signed = false;  // make once, then reuse, a certificate for the LAN addresses
    std::string state_dir;         // empty: $XDG_STATE_HOME/roomcast or ~/.local/state/roomcast

    bool tls() const noexcept { return !tls_cert.empty() || !tls_key.empty() || tls_self_signed; }
};

/** What parse_config decided: run with a config, print text and exit 0, or fail (exit 2). */
struct config_run {
    config cfg;
};
struct config_exit {
    std::string text;  // --help / --version output
};
struct config_error {
    std::string message;
};
using config_result = std::variant<config_run, config_exit, config_error>;

/**
 * Parses flags (args, without argv[0]) over environment variables over defaults.
 * Pure: `env` is passed in, nothing is read from the process. Never throws on bad input.
 */
config_result parse_config(std::vector<std::string> const& args,
                           std::map<std::string, std::string> const& env);

/** The --help text, listing every flag, its variable and its default. */
std::string config_help();

/** A human- and log-friendly one-line rendering of the effective configuration. */
std::string describe(config const& cfg);

/**
 * Parses "32MiB", "512k", "1048576" into bytes. Returns false on garbage or overflow.
 * Suffixes: k/K/KB/KiB = 1024, m/M/MB/MiB = 1024², g/G/GB/GiB = 1024³.
 */
bool parse_bytes(std::string const& s, std::size_t& out);

/** Parses "5s", "250ms", "2m", or a plain number of seconds. Returns false on garbage. */
bool parse_duration(std::string const& s, std::chrono::milliseconds& out);

}  // namespace roomcast
