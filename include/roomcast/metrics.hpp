#pragma once

#include <roomcast/stats.hpp>

#include <cstdint>
#include <string>

namespace roomcast {

/** Point-in-time values that are not counters in `stats`. */
struct gauges {
    std::uint64_t connections = 0;  // admitted TCP connections (HTTP and WebSocket)
    std::uint64_t rooms = 0;
    std::uint64_t rooms_dormant = 0;  // locked rooms with no member, kept for their host
    std::uint64_t members = 0;        // room members, held seats included
    std::uint64_t seats_held_now = 0;
    double uptime_seconds = 0;
    bool ready = true;
};

/**
 * The Prometheus text exposition (format 0.0.4) of the counters and gauges: HELP and TYPE
 * lines, one sample per line, counters suffixed _total. Written by hand: prometheus-cpp is
 * not packaged for Debian 12, and this is all of it.
 */
std::string prometheus_text(stats const& s, gauges const& g, char const* version);

}  // namespace roomcast
