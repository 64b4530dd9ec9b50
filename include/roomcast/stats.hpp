#pragma once

#include <roomcast/memory_budget.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace roomcast {

/**
 * Relay latency: from a message read in full to its write into a recipient's socket completing.
 * Fixed buckets; sharded by thread so the hot path touches a cache line of its own.
 */
class latency_histogram {
  public:
    /** Upper bounds in microseconds (Prometheus `le`), ascending; +Inf is implicit. */
    static constexpr std::array<std::uint64_t, 16> bounds_us = {
        100,   250,    500,    1000,   2500,    5000,    10000,   25000,
        50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

    void observe(std::chrono::steady_clock::duration d) noexcept;

    struct snapshot {
        std::array<std::uint64_t, bounds_us.size() + 1> counts{};  // per bucket, not cumulative
        std::uint64_t count = 0;
        std::uint64_t sum_us = 0;
    };
    snapshot read() const noexcept;

  private:
    static constexpr std::size_t shards = 16;
    struct alignas(64) shard {
        std::array<std::atomic<std::uint64_t>, bounds_us.size() + 1> counts{};
        std::atomic<std::uint64_t> sum_us{0};
    };
    std::array<shard, shards> shards_{};
};

/**
 * Process-wide counters, incremented where things happen (relaxed atomics). Every drop and
 * every forced close is counted here as well as logged; tests and /metrics read them.
 */
struct stats {
    using counter = std::atomic<std::uint64_t>;

    counter connections_accepted{0};
    counter connections_rejected{0};  // over max-connections or per-address limit
    std::atomic<std::int64_t> websockets_open{0};
    counter http_requests{0};

    counter messages_in{0};  // WebSocket data messages received
    counter bytes_in{0};
    counter frames_relayed{0};   // messages handed to at least one peer
    counter deliveries{0};       // (message, recipient) pairs queued
    counter bytes_delivered{0};  // payload bytes queued across recipients
    counter frames_dropped{0};   // queued frames discarded because their connection closed
    counter read_pauses{0};      // a sender paused because a recipient was congested

    counter protocol_errors{0};                // error replies sent (bad-json, bad-message, ...)
    std::array<counter, 16> errors_by_code{};  // the same, indexed by protocol::errc
    counter upgrades_refused_origin{0};  // 403: a page of another origin asked for a WebSocket
    counter upgrades_refused{0};   // other refused upgrades (version, key, method, shutting down)
    counter hosts_refused{0};      // 421: a Host this server does not answer to (DNS rebinding)
    counter http_bad_requests{0};  // 400/413/431: unparsable, ambiguous framing, a body, bad Host
    counter metrics_refused{0};    // 403 on /metrics: the client is outside --metrics-from
    counter rate_limited{0};   // a connection's reads paused: over its messages or bytes per second
    counter joins_refused{0};  // join attempts over max-joins-per-minute for the address
    counter close_slow_reader{0};  // 1008: queue past the hard cap or no write progress
    counter close_too_big{0};      // 1009
    counter close_protocol{0};     // 1002 / 1007
    counter close_heartbeat{0};    // no pong in time
    counter close_shutdown{0};     // 1001
    counter close_slow_sender{0};  // 1008: a message arriving slower than message-min-rate
    counter close_slow_drain{0};   // 1008: a recipient holding its senders, below send-min-rate
    counter close_try_again{0};    // 1013: a message that could not get memory
    counter close_replaced{0};     // 4001: a newer connection of the member took the seat over

    // Refused for memory: where the budget (process) or a per-address cap said no.
    counter messages_refused_process{0};    // 1013: the process budget
    counter messages_refused_address{0};    // 1013: max-message-bytes-per-ip
    counter connections_refused_memory{0};  // 503: near the process budget
    counter joins_refused_memory{0};        // error server-busy: near the process budget

    counter seats_held{0};        // connections dropped with their seat kept
    counter seats_resumed{0};     // seats taken back with their token
    counter seats_expired{0};     // grace period ended
    counter seats_overflowed{0};  // released because their replay buffer filled
    counter seats_refused{0};     // not held: the address or the process was at its seat cap
    counter seats_evicted{0};     // released to let a live member into a full room
    counter seats_taken_over{0};  // a live seat taken by a newer connection with its token
    counter seats_removed{0};     // released because the host removed its member
    counter frames_replayed{0};

    // Private rooms (host, lock, lobby).
    counter lobby_knocks{0};       // joins that waited in a locked room's lobby
    counter lobby_withdrawn{0};    // ... and stopped waiting (closed, left, joined elsewhere)
    counter lobby_admitted{0};     // ... let in by the host (admit, or unlock)
    counter lobby_denied{0};       // ... refused by the host (closed 4003)
    counter lobby_room_closed{0};  // ... whose dormant room was let go (closed 4005)
    counter members_removed{0};    // members the host removed (closed 4004)
    counter rooms_locked{0};
    counter rooms_unlocked{0};
    counter hosts_proved{0};  // joins that took the host role with a host token

    latency_histogram relay_latency;

    memory_budget memory{std::size_t{1} << 30};  // the process budget (limit set at start)
    seat_totals held;                            // what held seats keep now

    std::atomic<std::int64_t> queued_bytes{0};       // bytes waiting in all send queues now
    std::atomic<std::int64_t> queued_bytes_peak{0};  // the most one connection ever held

    /** Raises queued_bytes_peak to v if larger. */
    void note_queue_depth(std::int64_t v) noexcept;

    /** Key=value rendering for logs and tests. */
    std::string summary() const;
};

}  // namespace roomcast
