#pragma once
// Reads the server's /metrics on 127.0.0.1 and picks samples out of it, for tests.

#include "support/raw_http.hpp"

#include <optional>
#include <sstream>
#include <string>

namespace roomcast::test {

/** The body of GET /metrics. */
inline std::string scrape(std::uint16_t port) {
    return body_of(raw_exchange(
        port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
}

/** The value of the sample named exactly `series` (e.g. `roomcast_memory_used_bytes{kind=
 * "frames"}`), or nullopt when it is not there. */
inline std::optional<double> sample(std::string const& text, std::string const& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    }
    return std::nullopt;
}

// metric(port, series), a sample from a fresh scrape, is in raw_http.hpp.

}  // namespace roomcast::test
