#include "roomcast/stats.hpp"

#include <sstream>

namespace roomcast {

void stats::note_queue_depth(std::int64_t v) noexcept {
    auto cur = queued_bytes_peak.load(std::memory_order_relaxed);
    while (v > cur && !queued_bytes_peak.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
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
       << " close_heartbeat=" << r(close_heartbeat) << " close_shutdown=" << r(close_shutdown);
    return os.str();
}

}  // namespace roomcast
