#include "roomcast/stats.hpp"

#include <algorithm>
#include <sstream>

namespace roomcast {

void stats::note_queue_depth(std::int64_t v) noexcept {
    auto cur = queued_bytes_peak.load(std::memory_order_relaxed);
    while (v > cur && !queued_bytes_peak.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
}

void latency_histogram::observe(std::chrono::steady_clock::duration d) noexcept {
    // Threads take shards round-robin the first time they record.
    static std::atomic<std::size_t> next_shard{0};
    thread_local std::size_t const mine = next_shard.fetch_add(1, std::memory_order_relaxed);
    auto& s = shards_[mine % shards];
    auto const us = static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
    std::size_t i = 0;
    while (i < bounds_us.size() && us > bounds_us[i])
        ++i;
    s.counts[i].fetch_add(1, std::memory_order_relaxed);
    s.sum_us.fetch_add(us, std::memory_order_relaxed);
}

latency_histogram::snapshot latency_histogram::read() const noexcept {
    snapshot out;
    for (auto const& s : shards_) {
        for (std::size_t i = 0; i < out.counts.size(); ++i) {
            auto const n = s.counts[i].load(std::memory_order_relaxed);
            out.counts[i] += n;
            out.count += n;
        }
        out.sum_us += s.sum_us.load(std::memory_order_relaxed);
    }
    return out;
}

std::string stats::summary() const {
    std::ostringstream os;
    auto r = [](auto const& a) { return a.load(std::memory_order_relaxed); };
    os << "accepted=" << r(connections_accepted) << " rejected=" << r(connections_rejected)
       << " websockets=" << r(websockets_open) << " messages_in=" << r(messages_in)
       << " relayed=" << r(frames_relayed) << " deliveries=" << r(deliveries)
       << " dropped=" << r(frames_dropped) << " read_pauses=" << r(read_pauses)
       << " protocol_errors=" << r(protocol_errors) << " close_slow_reader=" << r(close_slow_reader)
       << " close_too_big=" << r(close_too_big) << " close_protocol=" << r(close_protocol)
       << " close_heartbeat=" << r(close_heartbeat) << " close_shutdown=" << r(close_shutdown)
       << " rate_limited=" << r(rate_limited) << " joins_refused=" << r(joins_refused)
       << " upgrades_refused_origin=" << r(upgrades_refused_origin)
       << " upgrades_refused=" << r(upgrades_refused) << " hosts_refused=" << r(hosts_refused)
       << " http_bad_requests=" << r(http_bad_requests)
       << " metrics_refused=" << r(metrics_refused);
    return os.str();
}

}  // namespace roomcast
