// Command line of roomcast-bench: one scenario against one running server per invocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stamp.hpp"

namespace rcb {

enum class scenario { big, pairs, pairs_latency, fanout, idle, churn };

std::string_view to_string(scenario s);

struct config {
    std::string system = "roomcast";  ///< label: roomcast, ws, socketio
    protocol proto = protocol::roomcast;
    scenario scen = scenario::pairs;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string target;  ///< HTTP target of the upgrade
    int server_pid = 0;

    unsigned threads = 1;
    double warmup_s = 1.0;
    double duration_s = 5.0;
    double drain_s = 5.0;
    double settle_s = 1.0;
    double setup_timeout_s = 60.0;
    double max_runtime_s = 300.0;

    std::uint32_t rooms = 0;
    std::uint32_t room_size = 0;
    std::uint32_t senders = 0;  ///< senders per room (members 0..senders-1)
    std::uint32_t window = 1;   ///< closed loop: messages in flight per sender
    double rate = 0;            ///< open loop: messages per second over all senders (0: closed)
    std::size_t size = 1024;    ///< payload bytes (stamp + filler)
    payload_mode payload = payload_mode::binary;

    std::uint32_t source_addrs = 0;  ///< bind 127.0.0.2 .. 127.0.0.(1+N); 0: let the kernel pick
    std::uint32_t connect_concurrency = 256;
    std::uint64_t max_messages = 100'000'000;  ///< count bound for one run
    std::uint64_t max_cycles = 1'000'000;      ///< churn: count bound
    double cycle_timeout_s = 10.0;
    double abrupt_pct = 0;      ///< churn: cycles that drop the TCP connection, no leave or close
    double abrupt_mid_pct = 0;  ///< churn: of those, the ones that drop halfway through a message
    double resume_pct = 50;     ///< churn: after a drop, rejoins that present the resume token
    double cycle_rate = 0;      ///< churn: cycles started per second in all (0: no limit)

    double rss_tolerance_pct = 10.0;  ///< churn: RSS after vs before
    double rss_tolerance_mib = 4.0;

    std::string json_path;  ///< append the JSON result line here (also printed)
    int round = 0;
    bool quiet = false;
};

/// Parses argv; throws std::runtime_error with a message on bad input. Exits on --help.
config parse_args(int argc, char** argv);

}  // namespace rcb
