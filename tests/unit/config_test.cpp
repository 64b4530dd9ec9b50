#include <roomcast/config.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using roomcast::config;
using roomcast::config_error;
using roomcast::config_exit;
using roomcast::config_run;
using roomcast::parse_bytes;
using roomcast::parse_config;
using roomcast::parse_duration;

using env_map = std::map<std::string, std::string>;
using arg_list = std::vector<std::string>;

config run_ok(arg_list const& args, env_map const& env = {}) {
    auto r = parse_config(args, env);
    if (auto* e = std::get_if<config_error>(&r)) ADD_FAILURE() << "config_error: " << e->message;
    if (std::holds_alternative<config_exit>(r)) ADD_FAILURE() << "unexpected config_exit";
    auto* run = std::get_if<config_run>(&r);
    return run ? run->cfg : config{};
}

std::string error_of(arg_list const& args, env_map const& env = {}) {
    auto r = parse_config(args, env);
    auto* e = std::get_if<config_error>(&r);
    if (!e) {
        ADD_FAILURE() << "expected config_error";
        return {};
    }
    EXPECT_FALSE(e->message.empty());
    return e->message;
}

#define EXPECT_CONTAINS(haystack, needle)                            \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) \
        << "'" << (haystack) << "' does not contain '" << (needle) << "'"

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(Config, DefaultsWithNoArgsAndNoEnv) {
    config c = run_ok({});
    config const d;
    EXPECT_EQ(c.host, "0.0.0.0");
    EXPECT_EQ(c.port, 3000);
    EXPECT_EQ(c.web_root, "");
    EXPECT_EQ(c.threads, 0u);
    EXPECT_EQ(c.log_level, "info");
    EXPECT_EQ(c.log_format, "text");
    EXPECT_EQ(c.max_message_bytes, 32u << 20);
    EXPECT_EQ(c.send_high_water_bytes, 4u << 20);
    EXPECT_EQ(c.send_max_bytes, 80u << 20);
    EXPECT_EQ(c.send_timeout, 15s);
    EXPECT_EQ(c.ping_interval, 20s);
    EXPECT_EQ(c.ping_timeout, 20s);
    EXPECT_EQ(c.close_timeout, 3s);
    EXPECT_EQ(c.http_header_limit, 8192u);
    EXPECT_EQ(c.http_body_limit, 4096u);
    EXPECT_EQ(c.http_timeout, 15s);
    EXPECT_EQ(c.max_room_members, 16u);
    EXPECT_EQ(c.max_connections, 100000u);
    EXPECT_EQ(c.max_connections_per_ip, 256u);
    EXPECT_EQ(c.shutdown_timeout, 5s);
    EXPECT_EQ(c.resume_buffer_bytes, 4u << 20);
    EXPECT_EQ(c.memory_budget, 0u);  // automatic
    EXPECT_EQ(c.max_message_bytes_per_ip, 128u << 20);
    EXPECT_EQ(c.message_min_rate, 8u << 10);
    EXPECT_EQ(c.send_min_rate, 256u << 10);
    EXPECT_EQ(c.max_held_seats_per_ip, 8u);
    EXPECT_EQ(c.max_held_bytes_per_ip, 16u << 20);
    EXPECT_EQ(c.max_held_seats, 10000u);
    EXPECT_EQ(c.max_held_bytes, 0u);
    EXPECT_EQ(c.allowed_hosts, "");
    EXPECT_EQ(c.metrics_from,
              "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7");
    EXPECT_EQ(roomcast::describe(c), roomcast::describe(d));
}

TEST(Config, UnrelatedEnvironmentIsIgnored) {
    config c = run_ok({}, {{"HOME", "/root"}, {"ROOMCAST_NOT_A_SETTING", "x"}, {"port", "1"}});
    EXPECT_EQ(c.port, 3000);
}

// ---------------------------------------------------------------------------------------------
// Every setting, through its flag (both forms) and its variable

struct setting_case {
    char const* flag;
    char const* env;
    char const* value;
    char const* other;  // another valid value, different from `value`
    bool (*check)(config const&);
};

std::vector<setting_case> const& settings() {
    static std::vector<setting_case> const v = {
        {"--host", "HOST", "127.0.0.1", "10.1.1.1",
         [](config const& c) { return c.host == "127.0.0.1"; }},
        {"--port", "PORT", "8080", "9", [](config const& c) { return c.port == 8080; }},
        {"--web-root", "ROOMCAST_WEB_ROOT", "/srv/www", "/elsewhere",
         [](config const& c) { return c.web_root == "/srv/www"; }},
        {"--threads", "ROOMCAST_THREADS", "3", "5", [](config const& c) { return c.threads == 3; }},
        {"--log-level", "ROOMCAST_LOG_LEVEL", "debug", "trace",
         [](config const& c) { return c.log_level == "debug"; }},
        {"--log-format", "ROOMCAST_LOG_FORMAT", "json", "text",
         [](config const& c) { return c.log_format == "json"; }},
        {"--max-message-bytes", "ROOMCAST_MAX_MESSAGE_BYTES", "1MiB", "2MiB",
         [](config const& c) { return c.max_message_bytes == (1u << 20); }},
        {"--send-high-water", "ROOMCAST_SEND_HIGH_WATER", "512k", "1MiB",
         [](config const& c) { return c.send_high_water_bytes == (512u << 10); }},
        {"--send-max-bytes", "ROOMCAST_SEND_MAX_BYTES", "1g", "2g",
         [](config const& c) { return c.send_max_bytes == (std::size_t{1} << 30); }},
        {"--send-timeout", "ROOMCAST_SEND_TIMEOUT", "250ms", "1s",
         [](config const& c) { return c.send_timeout == 250ms; }},
        {"--ping-interval", "ROOMCAST_PING_INTERVAL", "2m", "3m",
         [](config const& c) { return c.ping_interval == 2min; }},
        {"--ping-timeout", "ROOMCAST_PING_TIMEOUT", "7", "9",
         [](config const& c) { return c.ping_timeout == 7s; }},
        {"--close-timeout", "ROOMCAST_CLOSE_TIMEOUT", "1h", "2h",
         [](config const& c) { return c.close_timeout == 1h; }},
        {"--http-header-limit", "ROOMCAST_HTTP_HEADER_LIMIT", "16KiB", "1KiB",
         [](config const& c) { return c.http_header_limit == 16384; }},
        {"--http-body-limit", "ROOMCAST_HTTP_BODY_LIMIT", "0", "1",
         [](config const& c) { return c.http_body_limit == 0; }},
        {"--http-timeout", "ROOMCAST_HTTP_TIMEOUT", "30s", "31s",
         [](config const& c) { return c.http_timeout == 30s; }},
        {"--max-lobby", "ROOMCAST_MAX_LOBBY", "3", "4",
         [](config const& c) { return c.max_lobby == 3; }},
        {"--max-admissions", "ROOMCAST_MAX_ADMISSIONS", "5", "6",
         [](config const& c) { return c.max_admissions == 5; }},
        {"--max-dormant-rooms", "ROOMCAST_MAX_DORMANT_ROOMS", "7", "9",
         [](config const& c) { return c.max_dormant_rooms == 7; }},
        {"--room-retention", "ROOMCAST_ROOM_RETENTION", "2h", "3h",
         [](config const& c) { return c.room_retention == std::chrono::hours(2); }},
        {"--max-room-members", "ROOMCAST_MAX_ROOM_MEMBERS", "2", "3",
         [](config const& c) { return c.max_room_members == 2; }},
        {"--max-connections", "ROOMCAST_MAX_CONNECTIONS", "10", "11",
         [](config const& c) { return c.max_connections == 10; }},
        {"--max-connections-per-ip", "ROOMCAST_MAX_CONNECTIONS_PER_IP", "1", "2",
         [](config const& c) { return c.max_connections_per_ip == 1; }},
        {"--max-messages-per-second", "ROOMCAST_MAX_MESSAGES_PER_SECOND", "0", "5",
         [](config const& c) { return c.max_messages_per_second == 0; }},
        {"--max-bytes-per-second", "ROOMCAST_MAX_BYTES_PER_SECOND", "16MiB", "1MiB",
         [](config const& c) { return c.max_bytes_per_second == (16u << 20); }},
        {"--max-joins-per-minute", "ROOMCAST_MAX_JOINS_PER_MINUTE", "5", "6",
         [](config const& c) { return c.max_joins_per_minute == 5; }},
        {"--allowed-origins", "ROOMCAST_ALLOWED_ORIGINS", "https://a.example, http://b:8080", "*",
         [](config const& c) { return c.allowed_origins == "https://a.example, http://b:8080"; }},
        {"--trusted-proxies", "ROOMCAST_TRUSTED_PROXIES", "10.0.0.0/8,::1", "127.0.0.1",
         [](config const& c) { return c.trusted_proxies == "10.0.0.0/8,::1"; }},
        {"--allowed-hosts", "ROOMCAST_ALLOWED_HOSTS", "photos.example.com, 10.0.0.5", "*",
         [](config const& c) { return c.allowed_hosts == "photos.example.com, 10.0.0.5"; }},
        {"--metrics-from", "ROOMCAST_METRICS_FROM", "10.0.0.0/8", "*",
         [](config const& c) { return c.metrics_from == "10.0.0.0/8"; }},
        {"--shutdown-timeout", "ROOMCAST_SHUTDOWN_TIMEOUT", "1500ms", "2s",
         [](config const& c) { return c.shutdown_timeout == 1500ms; }},
        {"--resume-grace", "ROOMCAST_RESUME_GRACE", "30s", "45s",
         [](config const& c) { return c.resume_grace == 30s; }},
        {"--memory-budget", "ROOMCAST_MEMORY_BUDGET", "2GiB", "3GiB",
         [](config const& c) { return c.memory_budget == (2ull << 30); }},
        {"--max-message-bytes-per-ip", "ROOMCAST_MAX_MESSAGE_BYTES_PER_IP", "8MiB", "9MiB",
         [](config const& c) { return c.max_message_bytes_per_ip == (8u << 20); }},
        {"--message-min-rate", "ROOMCAST_MESSAGE_MIN_RATE", "1KiB", "2KiB",
         [](config const& c) { return c.message_min_rate == 1024u; }},
        {"--send-min-rate", "ROOMCAST_SEND_MIN_RATE", "64KiB", "65KiB",
         [](config const& c) { return c.send_min_rate == (64u << 10); }},
        {"--max-held-seats-per-ip", "ROOMCAST_MAX_HELD_SEATS_PER_IP", "3", "4",
         [](config const& c) { return c.max_held_seats_per_ip == 3u; }},
        {"--max-held-bytes-per-ip", "ROOMCAST_MAX_HELD_BYTES_PER_IP", "1MiB", "2MiB",
         [](config const& c) { return c.max_held_bytes_per_ip == (1u << 20); }},
        {"--max-held-seats", "ROOMCAST_MAX_HELD_SEATS", "100", "101",
         [](config const& c) { return c.max_held_seats == 100u; }},
        {"--max-held-bytes", "ROOMCAST_MAX_HELD_BYTES", "32MiB", "33MiB",
         [](config const& c) { return c.max_held_bytes == (32u << 20); }},
        {"--resume-buffer-bytes", "ROOMCAST_RESUME_BUFFER_BYTES", "8MiB", "9MiB",
         [](config const& c) { return c.resume_buffer_bytes == (8u << 20); }},
        {"--public-url", "ROOMCAST_PUBLIC_URL", "https://photos.example.com/", "http://h:1",
         [](config const& c) { return c.public_url == "https://photos.example.com"; }},
        {"--tls-cert", "ROOMCAST_TLS_CERT", "/etc/roomcast/cert.pem", "/other/cert.pem",
         [](config const& c) { return c.tls_cert == "/etc/roomcast/cert.pem"; }},
        {"--tls-key", "ROOMCAST_TLS_KEY", "/etc/roomcast/key.pem", "/other/key.pem",
         [](config const& c) { return c.tls_key == "/etc/roomcast/key.pem"; }},
        {"--state-dir", "ROOMCAST_STATE_DIR", "/var/lib/roomcast", "/tmp/rc",
         [](config const& c) { return c.state_dir == "/var/lib/roomcast"; }},
    };
    return v;
}

TEST(Config, EverySettingByFlagWithEquals) {
    for (auto const& s : settings()) {
        config c = run_ok({std::string(s.flag) + "=" + s.value});
        EXPECT_TRUE(s.check(c)) << s.flag;
        EXPECT_FALSE(s.check(config{})) << "test value equals the default for " << s.flag;
    }
}

TEST(Config, EverySettingByFlagWithSeparateValue) {
    for (auto const& s : settings()) {
        config c = run_ok({s.flag, s.value});
        EXPECT_TRUE(s.check(c)) << s.flag;
    }
}

TEST(Config, EverySettingByEnvironment) {
    for (auto const& s : settings()) {
        config c = run_ok({}, {{s.env, s.value}});
        EXPECT_TRUE(s.check(c)) << s.env;
    }
}

TEST(Config, FlagBeatsEnvironment) {
    config c = run_ok({"--port", "4000", "--host=::1", "--log-level", "warn"},
                      {{"PORT", "5000"},
                       {"HOST", "10.0.0.1"},
                       {"ROOMCAST_LOG_LEVEL", "error"},
                       {"ROOMCAST_THREADS", "6"}});
    EXPECT_EQ(c.port, 4000);
    EXPECT_EQ(c.host, "::1");
    EXPECT_EQ(c.log_level, "warn");
    EXPECT_EQ(c.threads, 6u);  // no flag: the variable applies
}

TEST(Config, FlagBeatsEnvironmentForEverySetting) {
    for (auto const& s : settings()) {
        config c = run_ok({s.flag, s.value}, {{s.env, s.other}});
        EXPECT_TRUE(s.check(c)) << s.flag;
        c = run_ok({std::string(s.flag) + "=" + s.other}, {{s.env, s.value}});
        EXPECT_FALSE(s.check(c)) << s.flag;
        c = run_ok({}, {{s.env, s.other}});
        EXPECT_FALSE(s.check(c)) << s.flag;
    }
}

TEST(Config, LaterFlagWins) {
    config c = run_ok({"--port=1", "--port", "2"});
    EXPECT_EQ(c.port, 2);
}

TEST(Config, EqualsFormKeepsFurtherEqualsInTheValue) {
    config c = run_ok({"--web-root=/a=b"});
    EXPECT_EQ(c.web_root, "/a=b");
}

TEST(Config, SeparateValueMayStartWithDashes) {
    // The word after a flag is always its value.
    config c = run_ok({"--web-root", "--odd-dir"});
    EXPECT_EQ(c.web_root, "--odd-dir");
}

// ---------------------------------------------------------------------------------------------
// --help / --version

TEST(Config, HelpListsEveryVariableAndFlag) {
    for (char const* h : {"--help", "-h"}) {
        auto r = parse_config({h}, {});
        auto* ex = std::get_if<config_exit>(&r);
        ASSERT_NE(ex, nullptr) << h;
        EXPECT_EQ(ex->text, roomcast::config_help());
        for (auto const& s : settings()) {
            EXPECT_CONTAINS(ex->text, s.flag);
            EXPECT_CONTAINS(ex->text, std::string("env ") + s.env);
        }
        EXPECT_CONTAINS(ex->text, "env PORT,");
        EXPECT_CONTAINS(ex->text, "env HOST,");
        EXPECT_CONTAINS(ex->text, "--help");
        EXPECT_CONTAINS(ex->text, "--version");
        EXPECT_CONTAINS(ex->text, "Usage: roomcast");
    }
}

TEST(Config, HelpCountsExactlyTheKnownVariables) {
    // No ROOMCAST_ variable in the help that the test does not know (and so does not cover).
    std::string const help = roomcast::config_help();
    std::size_t count = 0;
    for (std::size_t pos = help.find("ROOMCAST_"); pos != std::string::npos;
         pos = help.find("ROOMCAST_", pos + 1)) {
        ++count;
    }
    std::size_t expected = 0;
    for (auto const& s : settings())
        if (std::string(s.env).rfind("ROOMCAST_", 0) == 0) ++expected;
    // + ROOMCAST_QR and ROOMCAST_TLS_SELF_SIGNED, switches with tests of their own
    EXPECT_EQ(count, expected + 2);
    EXPECT_EQ(expected, 43u);
}

TEST(Config, HelpShowsDefaults) {
    std::string const help = roomcast::config_help();
    EXPECT_CONTAINS(help, "env PORT, default 3000");
    EXPECT_CONTAINS(help, "env HOST, default 0.0.0.0");
    EXPECT_CONTAINS(help, "env ROOMCAST_MAX_MESSAGE_BYTES, default 32MiB");
    EXPECT_CONTAINS(help, "env ROOMCAST_SEND_HIGH_WATER, default 4MiB");
    EXPECT_CONTAINS(help, "env ROOMCAST_SEND_MAX_BYTES, default 80MiB");
    EXPECT_CONTAINS(help, "env ROOMCAST_HTTP_HEADER_LIMIT, default 8KiB");
    EXPECT_CONTAINS(help, "env ROOMCAST_HTTP_BODY_LIMIT, default 4KiB");
    EXPECT_CONTAINS(help, "env ROOMCAST_SEND_TIMEOUT, default 15s");
    EXPECT_CONTAINS(help, "env ROOMCAST_CLOSE_TIMEOUT, default 3s");
    EXPECT_CONTAINS(help, "env ROOMCAST_MAX_ROOM_MEMBERS, default 16");
    EXPECT_CONTAINS(help, "env ROOMCAST_WEB_ROOT, default (auto)");
}

TEST(Config, HelpWinsOverLaterArgumentsAndEnvironment) {
    auto r = parse_config({"--help", "--bogus"}, {});
    EXPECT_TRUE(std::holds_alternative<config_exit>(r));
    r = parse_config({"--port", "1", "--help"}, {});
    EXPECT_TRUE(std::holds_alternative<config_exit>(r));
}

TEST(Config, Version) {
    for (char const* v : {"--version", "-V"}) {
        auto r = parse_config({v}, {});
        auto* ex = std::get_if<config_exit>(&r);
        ASSERT_NE(ex, nullptr) << v;
        EXPECT_EQ(ex->text.rfind("roomcast ", 0), 0u) << ex->text;
        EXPECT_EQ(ex->text.back(), '\n');
        EXPECT_GT(ex->text.size(), std::string("roomcast \n").size());
        // A dotted version number.
        EXPECT_CONTAINS(ex->text, ".");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors name the option

TEST(Config, UnknownOption) {
    for (std::string a : {"--bogus", "--bogus=1", "-p", "positional", "--PORT", "--port-", "-",
                          "--", "--help=1", "--version=yes"}) {
        auto msg = error_of({a});
        EXPECT_CONTAINS(msg, "unknown option");
        EXPECT_CONTAINS(msg, a);
    }
}

TEST(Config, MissingValue) {
    for (auto const& s : settings()) {
        auto msg = error_of({s.flag});
        EXPECT_CONTAINS(msg, s.flag);
        EXPECT_CONTAINS(msg, "needs a value");
    }
    // A missing value after an otherwise valid flag.
    auto msg = error_of({"--port", "80", "--threads"});
    EXPECT_CONTAINS(msg, "--threads");
}

TEST(Config, BadValueNamesTheFlag) {
    std::vector<std::pair<std::string, std::string>> bad = {
        {"--host", ""},
        {"--port", "http"},
        {"--port", ""},
        {"--port", "65536"},
        {"--port", "-1"},
        {"--port", " 80"},
        {"--port", "80 "},
        {"--port", "+80"},
        {"--port", "0x50"},
        {"--web-root", ""},
        {"--threads", "1025"},
        {"--threads", "-1"},
        {"--threads", "two"},
        {"--log-level", "verbose"},
        {"--log-level", ""},
        {"--log-format", "xml"},
        {"--max-message-bytes", "125"},  // min 126
        {"--max-message-bytes", "lots"},
        {"--send-high-water", "0"},
        {"--send-max-bytes", "1x"},
        {"--send-timeout", "0"},
        {"--send-timeout", "0ms"},
        {"--send-timeout", "-5s"},
        {"--ping-interval", "soon"},
        {"--ping-timeout", "1.5s"},
        {"--close-timeout", ""},
        {"--http-header-limit", "255"},  // min 256
        {"--http-body-limit", "-1"},
        {"--http-timeout", "1d"},
        {"--max-room-members", "1"},  // min 2
        {"--max-room-members", "0"},
        {"--max-connections", "0"},
        {"--max-connections", "4294967296"},
        {"--max-connections-per-ip", "0"},
        {"--max-connections-per-ip", "1k"},
        {"--shutdown-timeout", "forever"},
    };
    for (auto const& [flag, value] : bad) {
        for (bool equals : {true, false}) {
            arg_list args = equals ? arg_list{flag + "=" + value} : arg_list{flag, value};
            auto msg = error_of(args);
            EXPECT_CONTAINS(msg, flag);
            EXPECT_CONTAINS(msg, "invalid");
            EXPECT_CONTAINS(msg, "'" + value + "'");
        }
    }
}

TEST(Config, BadEnvironmentValueNamesTheVariable) {
    std::vector<std::pair<std::string, std::string>> bad = {
        {"PORT", "99999"},
        {"HOST", ""},
        {"ROOMCAST_THREADS", "x"},
        {"ROOMCAST_LOG_LEVEL", "loud"},
        {"ROOMCAST_MAX_MESSAGE_BYTES", "1q"},
        {"ROOMCAST_SEND_TIMEOUT", "0"},
        {"ROOMCAST_MAX_ROOM_MEMBERS", "1"},
    };
    for (auto const& [var, value] : bad) {
        auto msg = error_of({}, {{var, value}});
        EXPECT_CONTAINS(msg, var);
        EXPECT_CONTAINS(msg, "'" + value + "'");
    }
}

TEST(Config, LimitsAtTheirBoundsAreAccepted) {
    EXPECT_EQ(run_ok({"--max-message-bytes=126"}).max_message_bytes, 126u);
    EXPECT_EQ(run_ok({"--http-header-limit=256"}).http_header_limit, 256u);
    EXPECT_EQ(run_ok({"--threads=1024"}).threads, 1024u);
    EXPECT_EQ(run_ok({"--threads=0"}).threads, 0u);
    EXPECT_EQ(run_ok({"--max-connections=4294967295"}).max_connections, 4294967295u);
    EXPECT_EQ(run_ok({"--send-timeout=1ms"}).send_timeout, 1ms);
    for (char const* level : {"trace", "debug", "info", "warn", "error", "critical", "off"})
        EXPECT_EQ(run_ok({"--log-level", level}).log_level, level);
}

// ---------------------------------------------------------------------------------------------
// Port bounds

TEST(Config, PortBounds) {
    EXPECT_EQ(run_ok({"--port=0"}).port, 0);
    EXPECT_EQ(run_ok({"--port=1"}).port, 1);
    EXPECT_EQ(run_ok({"--port=65535"}).port, 65535);
    EXPECT_EQ(run_ok({"--port=00080"}).port, 80);
    EXPECT_EQ(run_ok({}, {{"PORT", "0"}}).port, 0);
    EXPECT_EQ(run_ok({}, {{"PORT", "65535"}}).port, 65535);
    error_of({"--port=65536"});
    error_of({"--port=4294967296"});  // would wrap to 0 in 32 bits
    error_of({"--port=18446744073709551616"});
    error_of({}, {{"PORT", "65536"}});
}

// ---------------------------------------------------------------------------------------------
// Relations between limits

TEST(Config, HighWaterMustNotExceedMax) {
    auto msg = error_of({"--send-high-water=100MiB"});  // max is 80MiB
    EXPECT_CONTAINS(msg, "send-high-water");
    EXPECT_CONTAINS(msg, "send-max-bytes");
    // One byte over is refused; equal is fine.
    msg = error_of({"--send-high-water=83886081"});
    EXPECT_CONTAINS(msg, "send-high-water");
    config c = run_ok({"--send-high-water=80MiB"});
    EXPECT_EQ(c.send_high_water_bytes, c.send_max_bytes);
    // Lowering max below the default high water is refused too.
    msg = error_of({"--send-max-bytes=3MiB", "--max-message-bytes=1MiB"});
    EXPECT_CONTAINS(msg, "send-high-water");
}

TEST(Config, MaxMustBeAtLeastTwiceMaxMessage) {
    auto msg = error_of({"--max-message-bytes=41MiB"});  // 2 x 41 > 80
    EXPECT_CONTAINS(msg, "send-max-bytes");
    EXPECT_CONTAINS(msg, "max-message-bytes");
    config c = run_ok({"--max-message-bytes=40MiB"});  // exactly half
    EXPECT_EQ(c.max_message_bytes, 40u << 20);
    msg = error_of({"--max-message-bytes=41943041"});  // 40MiB + 1
    EXPECT_CONTAINS(msg, "max-message-bytes");
    msg = error_of({"--send-max-bytes=63MiB"});  // 2 x 32 = 64
    EXPECT_CONTAINS(msg, "max-message-bytes");
    c = run_ok({"--send-max-bytes=64MiB"});
    EXPECT_EQ(c.send_max_bytes, 64u << 20);
    // The relation is checked after the environment too.
    msg = error_of({}, {{"ROOMCAST_MAX_MESSAGE_BYTES", "100MiB"}});
    EXPECT_CONTAINS(msg, "max-message-bytes");
    // And the flag's value, not the variable's, is the one checked.
    c = run_ok({"--max-message-bytes=1MiB"}, {{"ROOMCAST_MAX_MESSAGE_BYTES", "100MiB"}});
    EXPECT_EQ(c.max_message_bytes, 1u << 20);
}

TEST(Config, MaxMustBeAtLeastTwiceMaxMessageEvenWhenDoublingOverflows) {
    // 2^63 bytes: doubling it in size_t wraps to 0, which must not make the check pass.
    auto r = parse_config({"--max-message-bytes=9223372036854775808"}, {});
    EXPECT_TRUE(std::holds_alternative<config_error>(r))
        << "a 8 EiB max message with an 80 MiB send-max-bytes was accepted";
    r = parse_config({"--max-message-bytes=8589934592g"}, {});
    EXPECT_TRUE(std::holds_alternative<config_error>(r));
}

// ---------------------------------------------------------------------------------------------
// parse_bytes

TEST(ParseBytes, PlainAndEverySuffix) {
    struct c {
        char const* in;
        std::size_t out;
    };
    std::size_t const K = 1024, M = K * K, G = M * K;
    for (auto const& [in, expected] : std::vector<c>{
             {"0", 0},        {"1", 1},        {"65536", 65536},  {"0007", 7},
             {"5b", 5},       {"5B", 5},       {"1k", K},         {"1K", K},
             {"2kb", 2 * K},  {"2KB", 2 * K},  {"2Kb", 2 * K},    {"3kib", 3 * K},
             {"3KiB", 3 * K}, {"3KIB", 3 * K}, {"1m", M},         {"1M", M},
             {"4mb", 4 * M},  {"4MB", 4 * M},  {"32MiB", 32 * M}, {"32mib", 32 * M},
             {"1g", G},       {"1G", G},       {"2gb", 2 * G},    {"2GB", 2 * G},
             {"3GiB", 3 * G}, {"3gib", 3 * G}, {"0k", 0},         {"512k", 512 * K},
         }) {
        std::size_t out = 12345;
        EXPECT_TRUE(parse_bytes(in, out)) << in;
        EXPECT_EQ(out, expected) << in;
    }
}

TEST(ParseBytes, Rejects) {
    for (char const* in :
         {"",     "-1",  "1x",  "k",    "KiB", " 1",   "1 ",     "1 k", "1.5k", "1e3", "+1",
          "0x10", "1kk", "1ki", "1kB2", "1t",  "1TiB", "1bytes", "1mi", "1g1",  "1\n"}) {
        std::size_t out = 777;
        EXPECT_FALSE(parse_bytes(in, out)) << "'" << in << "'";
        EXPECT_EQ(out, 777u) << "out changed on failure for '" << in << "'";
    }
}

TEST(ParseBytes, Overflow) {
    std::size_t const max = std::numeric_limits<std::size_t>::max();
    std::size_t out = 0;
    ASSERT_EQ(max, 18446744073709551615ull);
    EXPECT_TRUE(parse_bytes("18446744073709551615", out));
    EXPECT_EQ(out, max);
    out = 1;
    EXPECT_FALSE(parse_bytes("18446744073709551616", out));
    EXPECT_FALSE(parse_bytes("99999999999999999999999999", out));
    EXPECT_FALSE(parse_bytes("18446744073709551615k", out));
    // Largest multiple that fits, and one more.
    EXPECT_TRUE(parse_bytes("18014398509481983k", out));  // (2^54 - 1) KiB
    EXPECT_EQ(out, (max >> 10) << 10);
    EXPECT_FALSE(parse_bytes("18014398509481984k", out));  // 2^64
    EXPECT_TRUE(parse_bytes("17592186044415m", out));
    EXPECT_FALSE(parse_bytes("17592186044416m", out));
    EXPECT_TRUE(parse_bytes("17179869183g", out));
    EXPECT_EQ(out, (max >> 30) << 30);
    EXPECT_FALSE(parse_bytes("17179869184g", out));
    EXPECT_EQ(out, (max >> 30) << 30);  // unchanged by the failure
}

// ---------------------------------------------------------------------------------------------
// parse_duration

TEST(ParseDuration, PlainAndEverySuffix) {
    struct c {
        char const* in;
        std::chrono::milliseconds out;
    };
    for (auto const& [in, expected] : std::vector<c>{
             {"0", 0ms},
             {"5", 5s},
             {"5s", 5s},
             {"5S", 5s},
             {"250ms", 250ms},
             {"250MS", 250ms},
             {"250Ms", 250ms},
             {"2m", 2min},
             {"2M", 2min},
             {"2min", 2min},
             {"2MIN", 2min},
             {"3h", 3h},
             {"3H", 3h},
             {"0ms", 0ms},
             {"007s", 7s},
             {"1ms", 1ms},
         }) {
        std::chrono::milliseconds out{-1};
        EXPECT_TRUE(parse_duration(in, out)) << in;
        EXPECT_EQ(out, expected) << in;
    }
}

TEST(ParseDuration, Rejects) {
    for (char const* in :
         {"",   "-1", "-1s", "1x",  "s",    "ms",    " 1s", "1s ",  "1 s",  "1.5s", "1e3",
          "+1", "1d", "1us", "1ns", "1sec", "1mins", "1hr", "1msx", "1smm", "0x10"}) {
        std::chrono::milliseconds out{42};
        EXPECT_FALSE(parse_duration(in, out)) << "'" << in << "'";
        EXPECT_EQ(out, 42ms) << "out changed on failure for '" << in << "'";
    }
}

TEST(ParseDuration, Overflow) {
    std::chrono::milliseconds out{};
    // The cap is 2,000,000,000 ms (about 23 days) in every unit.
    EXPECT_TRUE(parse_duration("2000000000ms", out));
    EXPECT_EQ(out.count(), 2000000000);
    EXPECT_FALSE(parse_duration("2000000001ms", out));
    EXPECT_TRUE(parse_duration("2000000s", out));
    EXPECT_EQ(out.count(), 2000000000);
    EXPECT_FALSE(parse_duration("2000001s", out));
    EXPECT_FALSE(parse_duration("2000001", out));
    EXPECT_TRUE(parse_duration("33333m", out));
    EXPECT_EQ(out.count(), 33333ll * 60000);
    EXPECT_FALSE(parse_duration("33334m", out));
    EXPECT_TRUE(parse_duration("555h", out));
    EXPECT_EQ(out, 555h);
    EXPECT_FALSE(parse_duration("556h", out));
    EXPECT_FALSE(parse_duration("18446744073709551615s", out));
    EXPECT_FALSE(parse_duration("18446744073709551616", out));
    EXPECT_FALSE(parse_duration("99999999999999999999999999ms", out));
    EXPECT_EQ(out, 555h);  // unchanged by the failures
}

// ---------------------------------------------------------------------------------------------
// describe

TEST(Config, DescribeIsOneLineWithEverySetting) {
    config c = run_ok({"--port=8123", "--log-format=json", "--send-timeout=1500ms"});
    std::string const d = roomcast::describe(c);
    EXPECT_EQ(d.find('\n'), std::string::npos);
    EXPECT_CONTAINS(d, "port=8123");
    EXPECT_CONTAINS(d, "log-format=json");
    EXPECT_CONTAINS(d, "send-timeout=1500ms");
    EXPECT_CONTAINS(d, "max-message-bytes=32MiB");
    for (auto const& s : settings())
        EXPECT_CONTAINS(d, std::string(s.flag + 2) + "=");
}

}  // namespace

TEST(Config, QrIsASwitchAndPublicUrlMustBeAnOrigin) {
    EXPECT_TRUE(run_ok({"--qr"}).print_qr);
    EXPECT_TRUE(run_ok({"--qr", "--port", "1"}).print_qr);
    EXPECT_FALSE(run_ok({"--qr=off"}).print_qr);
    EXPECT_TRUE(run_ok({}, {{"ROOMCAST_QR", "yes"}}).print_qr);
    EXPECT_FALSE(run_ok({"--qr=0"}, {{"ROOMCAST_QR", "1"}}).print_qr);
    EXPECT_TRUE(
        std::holds_alternative<roomcast::config_error>(roomcast::parse_config({"--qr=maybe"}, {})));
    for (char const* bad :
         {"photos.example.com", "ftp://x", "https://", "http://a b", "http://x/?q"}) {
        auto r = roomcast::parse_config({"--public-url", bad}, {});
        EXPECT_TRUE(std::holds_alternative<roomcast::config_error>(r)) << bad;
    }
}

TEST(Config, BadAbuseLimitValuesAreErrors) {
    for (auto const& args : std::vector<std::vector<std::string>>{
             {"--allowed-origins", "photos.example.com"},  // no scheme
             {"--allowed-origins", "https://a.example/path"},
             {"--allowed-origins", "ftp://a.example"},
             {"--trusted-proxies", "10.0.0.0/33"},
             {"--trusted-proxies", "not-an-ip"},
             {"--trusted-proxies", "10.0.0.1/"},
             {"--allowed-hosts", "photos.example.com:8443"},  // no port: any is accepted
             {"--allowed-hosts", "http://photos.example.com"},
             {"--allowed-hosts", "a b"},
             {"--allowed-hosts", "fd00::2"},  // IPv6 in brackets, as in a Host
             {"--metrics-from", ""},
             {"--metrics-from", " , "},
             {"--metrics-from", "10.0.0.0/33"},
             {"--metrics-from", "localhost"},
             {"--public-url", "http://user@photos.example.com"},  // its host is no Host
             {"--max-joins-per-minute", "-1"},
             {"--max-messages-per-second", "lots"},
         }) {
        auto r = roomcast::parse_config(args, {});
        ASSERT_TRUE(std::holds_alternative<roomcast::config_error>(r)) << args[0] << " " << args[1];
        EXPECT_NE(std::get<roomcast::config_error>(r).message.find(args[0]), std::string::npos)
            << std::get<roomcast::config_error>(r).message;
    }
}

TEST(Config, TlsSelfSignedIsASwitchAndTlsIsOffByDefault) {
    EXPECT_FALSE(run_ok({}).tls());
    EXPECT_FALSE(run_ok({}).tls_self_signed);
    EXPECT_TRUE(run_ok({"--tls-self-signed"}).tls_self_signed);
    EXPECT_TRUE(run_ok({"--tls-self-signed"}).tls());
    EXPECT_TRUE(run_ok({"--tls-self-signed", "--port", "1"}).tls_self_signed);
    EXPECT_FALSE(run_ok({"--tls-self-signed=off"}).tls_self_signed);
    EXPECT_TRUE(run_ok({}, {{"ROOMCAST_TLS_SELF_SIGNED", "1"}}).tls_self_signed);
    EXPECT_FALSE(
        run_ok({"--tls-self-signed=no"}, {{"ROOMCAST_TLS_SELF_SIGNED", "1"}}).tls_self_signed);
    EXPECT_TRUE(run_ok({"--tls-cert", "/c.pem", "--tls-key", "/k.pem"}).tls());
    EXPECT_TRUE(std::holds_alternative<roomcast::config_error>(
        roomcast::parse_config({"--tls-self-signed=maybe"}, {})));
    EXPECT_TRUE(std::holds_alternative<roomcast::config_error>(
        roomcast::parse_config({"--tls-cert="}, {})));
    // The state directory's default is resolved at start, from XDG_STATE_HOME or HOME.
    EXPECT_EQ(run_ok({}, {{"HOME", "/root"}}).state_dir, "");
    EXPECT_CONTAINS(roomcast::config_help(), "env ROOMCAST_TLS_SELF_SIGNED, default off");
}

TEST(Config, AMemoryBudgetTooSmallToServeIsRefused) {
    auto r = parse_config({"--memory-budget", "1MiB"}, {});
    ASSERT_NE(std::get_if<roomcast::config_error>(&r), nullptr);
    EXPECT_EQ(run_ok({"--memory-budget", "0"}, {}).memory_budget, 0u);  // 0: automatic
}

TEST(Config, HostsAndMetricsAccessHaveTheirDefaultsInTheHelp) {
    std::string const help = roomcast::config_help();
    EXPECT_CONTAINS(help,
                    "env ROOMCAST_METRICS_FROM, default "
                    "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7");
    EXPECT_CONTAINS(help,
                    "env ROOMCAST_ALLOWED_HOSTS, default (loopback, own addresses, public URL)");
    EXPECT_EQ(run_ok({"--allowed-hosts", "*"}).allowed_hosts, "*");
    EXPECT_EQ(run_ok({"--metrics-from", "*"}).metrics_from, "*");
    EXPECT_EQ(run_ok({"--allowed-hosts", "[fd00::2], LAN.Example."}).allowed_hosts,
              "[fd00::2], LAN.Example.");
    EXPECT_EQ(run_ok({"--public-url", "http://[fd00::2]:3000"}).public_url,
              "http://[fd00::2]:3000");
}
