#include <roomcast/metrics.hpp>
#include <roomcast/protocol/errc.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

// Checks the exposition against the text format's grammar: every sample belongs to a family
// announced by one HELP and one TYPE line, names are valid, values parse, counters end _total.
TEST(Metrics, PrometheusTextIsWellFormed) {
    roomcast::stats s;
    s.frames_relayed = 42;
    s.close_slow_reader = 3;
    s.errors_by_code[static_cast<std::size_t>(roomcast::protocol::errc::rate_limited)] = 4;
    using namespace std::chrono_literals;
    s.relay_latency.observe(50us);   // first bucket (le 0.0001)
    s.relay_latency.observe(700us);  // le 0.001
    s.relay_latency.observe(700us);  // le 0.001
    s.relay_latency.observe(30s);    // +Inf only
    roomcast::gauges g;
    g.rooms = 5;
    g.connections = 7;
    auto const text = roomcast::prometheus_text(s, g, "1.2.3");
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');

    std::regex const help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
    std::regex const type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
    std::regex const sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"\})? (-?[0-9.eE+-]+))");
    std::map<std::string, std::string> types;
    std::set<std::string> helps;
    // A histogram's samples are <family>_bucket{le=...}, <family>_sum and <family>_count.
    auto family_of = [&](std::string const& name) {
        for (std::string suffix : {"_bucket", "_sum", "_count"})
            if (name.ends_with(suffix)) {
                auto const base = name.substr(0, name.size() - suffix.size());
                if (types.count(base) && types[base] == "histogram") return base;
            }
        return name;
    };
    std::istringstream in(text);
    std::string line;
    std::map<std::string, double> values;
    while (std::getline(in, line)) {
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            EXPECT_TRUE(helps.insert(m[1]).second) << "two HELP lines for " << m[1];
        } else if (std::regex_match(line, m, type)) {
            EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "two TYPE lines for " << m[1];
        } else if (std::regex_match(line, m, sample)) {
            std::string const name = family_of(m[1]);
            ASSERT_TRUE(types.count(name)) << "sample before its TYPE: " << line;
            EXPECT_TRUE(helps.count(name)) << line;
            if (types[name] == "counter") {
                EXPECT_TRUE(name.ends_with("_total")) << name;
            }
            values[line.substr(0, line.rfind(' '))] = std::stod(m[3]);
        } else {
            ADD_FAILURE() << "not a valid exposition line: '" << line << "'";
        }
    }
    EXPECT_EQ(values["roomcast_frames_relayed_total"], 42);
    EXPECT_EQ(values["roomcast_closes_total{reason=\"slow_reader\"}"], 3);
    EXPECT_EQ(values["roomcast_rooms"], 5);
    EXPECT_EQ(values["roomcast_connections"], 7);
    EXPECT_EQ(values["roomcast_build_info{version=\"1.2.3\"}"], 1);
    EXPECT_EQ(values["roomcast_errors_total{code=\"rate-limited\"}"], 4);
    EXPECT_EQ(values["roomcast_errors_total{code=\"bad-json\"}"], 0);

    // The histogram: cumulative buckets, +Inf equal to the count, sum in seconds.
    EXPECT_EQ(values["roomcast_relay_latency_seconds_bucket{le=\"0.0001\"}"], 1);
    EXPECT_EQ(values["roomcast_relay_latency_seconds_bucket{le=\"0.0005\"}"], 1);
    EXPECT_EQ(values["roomcast_relay_latency_seconds_bucket{le=\"0.001\"}"], 3);
    EXPECT_EQ(values["roomcast_relay_latency_seconds_bucket{le=\"10\"}"], 3);
    EXPECT_EQ(values["roomcast_relay_latency_seconds_bucket{le=\"+Inf\"}"], 4);
    EXPECT_EQ(values["roomcast_relay_latency_seconds_count"], 4);
    EXPECT_NEAR(values["roomcast_relay_latency_seconds_sum"], 30.00145, 1e-6);
    double last = -1;
    std::istringstream again(text);
    while (std::getline(again, line)) {
        if (line.rfind("roomcast_relay_latency_seconds_bucket", 0) != 0) continue;
        double const v = std::stod(line.substr(line.rfind(' ') + 1));
        EXPECT_GE(v, last) << "buckets must be cumulative: " << line;
        last = v;
    }
}

// Every protocol error code has its own labelled sample, with its own count.
TEST(Metrics, EveryErrorCodeIsExposed) {
    namespace protocol = roomcast::protocol;
    roomcast::stats s;
    ASSERT_LE(static_cast<std::size_t>(protocol::errc_count), s.errors_by_code.size());
    for (int c = 1; c < protocol::errc_count; ++c)
        s.errors_by_code[static_cast<std::size_t>(c)] = static_cast<std::uint64_t>(100 + c);
    auto const text = roomcast::prometheus_text(s, roomcast::gauges{}, "1.2.3");
    for (int c = 1; c < protocol::errc_count; ++c) {
        auto const code = std::string(protocol::wire_code(static_cast<protocol::errc>(c)));
        EXPECT_NE(code, "error") << "errc " << c << " has no wire code";
        auto const line =
            "roomcast_errors_total{code=\"" + code + "\"} " + std::to_string(100 + c) + "\n";
        EXPECT_NE(text.find(line), std::string::npos) << line;
    }
    EXPECT_NE(text.find("code=\"reserved-type\""), std::string::npos);
}
