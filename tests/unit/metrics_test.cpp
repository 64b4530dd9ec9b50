#include <roomcast/metrics.hpp>

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

// Checks the exposition against the text format's grammar: every sample belongs to a family
// announced by one HELP and one TYPE line, names are valid, values parse, counters end _total.
TEST(Metrics, PrometheusTextIsWellFormed) {
    roomcast::stats s;
    s.frames_relayed = 42;
    s.close_slow_reader = 3;
    roomcast::gauges g;
    g.rooms = 5;
    g.connections = 7;
    auto const text = roomcast::prometheus_text(s, g, "1.2.3");
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');

    std::regex const help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
    std::regex const type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
    std::regex const sample(
        R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"\})? (-?[0-9.eE+-]+))");
    std::map<std::string, std::string> types;
    std::set<std::string> helps;
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
            std::string const name = m[1];
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
}
