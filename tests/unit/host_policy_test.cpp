#include <roomcast/transport/host_policy.hpp>

#include <gtest/gtest.h>

namespace {

using namespace roomcast::transport;
using verdict = host_policy::verdict;
namespace ip = boost::asio::ip;

host_policy policy(char const* list, char const* public_url = "") {
    std::string bad;
    auto p = host_policy::parse(list, public_url, bad);
    EXPECT_TRUE(p) << bad;
    return p.value_or(host_policy{});
}

// What this "machine" owns, for the IP-literal rule.
bool own(ip::address const& a) {
    return a == ip::make_address("192.0.2.2") || a == ip::make_address("fd00::2");
}

}  // namespace

TEST(ParseHost, NamesPortsAndLiterals) {
    auto h = parse_host("Photos.Example.COM.:8443");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->name, "photos.example.com");
    EXPECT_EQ(h->port, 8443);
    EXPECT_FALSE(h->ip);
    h = parse_host("localhost");
    ASSERT_TRUE(h);
    EXPECT_FALSE(h->port);
    h = parse_host("192.0.2.2:80");
    ASSERT_TRUE(h && h->ip);
    EXPECT_EQ(*h->ip, ip::make_address("192.0.2.2"));
    h = parse_host("[FD00:0::2]:3000");
    ASSERT_TRUE(h && h->ip);
    EXPECT_EQ(*h->ip, ip::make_address("fd00::2"));
    EXPECT_EQ(h->name, "fd00::2");
    h = parse_host("[::ffff:127.0.0.1]");  // mapped: the IPv4 address it carries
    ASSERT_TRUE(h && h->ip);
    EXPECT_TRUE(h->ip->is_v4());
    EXPECT_TRUE(parse_host("my_service:65535"));
    EXPECT_TRUE(parse_host("a:0"));
}

TEST(ParseHost, RefusesWhatNoHostIs) {
    for (char const* bad : {"",
                            " ",
                            "a b",
                            "fd00::2",
                            "[fd00::2",
                            "[fd00::2]x",
                            "[fd00::2]:",
                            "[fe80::1%25eth0]",
                            "[not-v6]",
                            "host:",
                            "host:x",
                            "host:65536",
                            "host:123456",
                            "host:-1",
                            "user@host",
                            "ho/st",
                            ".",
                            "..",
                            ".example",
                            "a\xff",
                            "h\x01",
                            "host:80:80",
                            "[::1]:80:80"})
        EXPECT_FALSE(parse_host(bad)) << bad;
    EXPECT_FALSE(parse_host(std::string(300, 'a')));
}

TEST(HostPolicy, LoopbackNamesAndAddressesAreAlwaysAnswered) {
    auto const p = policy("");
    for (char const* h :
         {"localhost", "LOCALHOST:3000", "localhost.:1", "app.localhost:8080", "127.0.0.1",
          "127.0.0.1:3000", "127.9.8.7:1", "[::1]", "[::1]:3000", "[::ffff:127.0.0.1]:5"})
        EXPECT_EQ(p.check(h, own), verdict::allowed) << h;
}

TEST(HostPolicy, OwnAddressesAreAnsweredOnAnyPort) {
    auto const p = policy("");
    EXPECT_EQ(p.check("192.0.2.2:3000", own), verdict::allowed);
    EXPECT_EQ(p.check("192.0.2.2:1", own), verdict::allowed);
    EXPECT_EQ(p.check("[fd00::2]:3000", own), verdict::allowed);
    EXPECT_EQ(p.check("192.0.2.3:3000", own), verdict::unknown);
    EXPECT_EQ(p.check("[fd00::3]", own), verdict::unknown);
    EXPECT_EQ(p.check("0.0.0.0:3000", own), verdict::unknown);
    EXPECT_EQ(p.check("192.0.2.2", {}), verdict::unknown);  // nobody to ask
}

TEST(HostPolicy, ARebindingNameIsUnknown) {
    auto const p = policy("", "https://photos.example.com");
    for (char const* h : {"evil.example", "evil.example:3000", "localhost.evil.example",
                          "evillocalhost", "photos.example.com.evil.example", "127.0.0.1.nip.io"})
        EXPECT_EQ(p.check(h, own), verdict::unknown) << h;
    EXPECT_EQ(p.check("evil example", own), verdict::malformed);
    EXPECT_EQ(p.check("", own), verdict::malformed);
}

TEST(HostPolicy, ThePublicUrlsHostIsAnsweredOnAnyPort) {
    auto const p = policy("", "https://Photos.Example.com:8443/sub/path");
    EXPECT_EQ(p.check("photos.example.com", own), verdict::allowed);
    EXPECT_EQ(p.check("photos.example.com:8443", own), verdict::allowed);
    EXPECT_EQ(p.check("PHOTOS.example.com:3000", own), verdict::allowed);
    auto const lan = policy("", "http://192.168.1.20:3000");  // a container behind a port map
    EXPECT_EQ(lan.check("192.168.1.20:3000", own), verdict::allowed);
    EXPECT_EQ(lan.check("192.168.1.21:3000", own), verdict::unknown);
    auto const v6 = policy("", "http://[2001:db8::7]:3000");
    EXPECT_EQ(v6.check("[2001:db8:0::7]", own), verdict::allowed);
}

TEST(HostPolicy, TheListAddsNamesAndLiteralsAndStarAnswersAny) {
    auto const p = policy("photos.internal, LAN.Example., 10.1.2.3, [2001:db8::1]");
    EXPECT_EQ(p.check("photos.internal:9", own), verdict::allowed);
    EXPECT_EQ(p.check("lan.example", own), verdict::allowed);
    EXPECT_EQ(p.check("10.1.2.3:3000", own), verdict::allowed);
    EXPECT_EQ(p.check("[2001:db8::1]:443", own), verdict::allowed);
    EXPECT_EQ(p.check("other.internal", own), verdict::unknown);
    EXPECT_FALSE(p.allows_any());
    auto const any = policy("*");
    EXPECT_TRUE(any.allows_any());
    EXPECT_EQ(any.check("evil.example:3000", own), verdict::allowed);
    EXPECT_EQ(any.check("evil example", own), verdict::malformed);  // still no Host
}

TEST(HostPolicy, BadEntriesAreNamed) {
    for (char const* list : {"photos.example.com:443", "a b", "fd00::2", "http://x", "*, x:1"}) {
        std::string bad;
        EXPECT_FALSE(host_policy::parse(list, "", bad)) << list;
        EXPECT_FALSE(bad.empty()) << list;
    }
    std::string bad;
    EXPECT_FALSE(host_policy::parse("", "http://user@host", bad));
    EXPECT_EQ(bad, "http://user@host");
}

TEST(OwnAddresses, ReadsAgainOnAMissAtMostOncePerRefresh) {
    using namespace std::chrono_literals;
    int reads = 0;
    std::vector<ip::address> now_have = {ip::make_address("192.0.2.2")};
    own_addresses own(
        [&] {
            ++reads;
            return now_have;
        },
        1s);
    auto const t0 = std::chrono::steady_clock::time_point{} + 1h;
    EXPECT_TRUE(own.contains(ip::make_address("192.0.2.2"), t0));
    EXPECT_EQ(reads, 1);
    EXPECT_TRUE(own.contains(ip::make_address("::ffff:192.0.2.2"), t0));  // mapped: the same
    EXPECT_FALSE(own.contains(ip::make_address("192.0.2.9"), t0 + 10ms));
    EXPECT_EQ(reads, 1);  // a miss within the refresh period reads nothing
    now_have.push_back(ip::make_address("192.0.2.9"));  // a new lease
    EXPECT_FALSE(own.contains(ip::make_address("192.0.2.9"), t0 + 500ms));
    EXPECT_TRUE(own.contains(ip::make_address("192.0.2.9"), t0 + 1s));
    EXPECT_EQ(reads, 2);
    EXPECT_TRUE(own.contains(ip::make_address("192.0.2.2"), t0 + 2s));  // a hit reads nothing
    EXPECT_EQ(reads, 2);
}
