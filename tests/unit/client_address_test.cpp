#include <roomcast/transport/client_address.hpp>
#include <roomcast/transport/origin_policy.hpp>

#include <gtest/gtest.h>

namespace {

using namespace roomcast::transport;
namespace ip = boost::asio::ip;

ip::address a(char const* s) {
    return ip::make_address(s);
}

trusted_proxies proxies(char const* list) {
    std::string bad;
    auto p = trusted_proxies::parse(list, bad);
    EXPECT_TRUE(p) << bad;
    return p.value_or(trusted_proxies{});
}

}  // namespace

TEST(Cidr, ParsesAddressesAndBlocks) {
    EXPECT_TRUE(cidr::parse("10.0.0.0/8"));
    EXPECT_TRUE(cidr::parse(" 192.0.2.7 "));
    EXPECT_TRUE(cidr::parse("2001:db8::/32"));
    EXPECT_TRUE(cidr::parse("::1"));
    EXPECT_TRUE(cidr::parse("0.0.0.0/0"));
    for (auto bad : {"", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/8x", "host", "10.0.0/8",
                     "10.0.0.0/-1", "/8"})
        EXPECT_FALSE(cidr::parse(bad)) << bad;
}

TEST(Cidr, ContainsComparesOnlyThePrefix) {
    auto const b = *cidr::parse("172.16.0.0/12");
    EXPECT_TRUE(b.contains(a("172.16.0.1")));
    EXPECT_TRUE(b.contains(a("172.31.255.255")));
    EXPECT_FALSE(b.contains(a("172.32.0.0")));
    EXPECT_FALSE(b.contains(a("::1")));
    EXPECT_TRUE(b.contains(a("::ffff:172.20.1.1")));  // v4-mapped counts as v4
    auto const odd = *cidr::parse("192.0.2.128/25");
    EXPECT_TRUE(odd.contains(a("192.0.2.200")));
    EXPECT_FALSE(odd.contains(a("192.0.2.127")));
    auto const v6 = *cidr::parse("fd00::/8");
    EXPECT_TRUE(v6.contains(a("fd12:3456::1")));
    EXPECT_FALSE(v6.contains(a("fe80::1")));
    EXPECT_TRUE(cidr::parse("0.0.0.0/0")->contains(a("8.8.8.8")));
    EXPECT_FALSE(cidr::parse("10.0.0.1")->contains(a("10.0.0.2")));
}

TEST(TrustedProxies, ForwardedForIsIgnoredFromUntrustedPeers) {
    auto const p = proxies("10.0.0.0/8");
    // The peer is not a proxy we trust: whatever it claims, the client is the peer.
    EXPECT_EQ(p.client(a("198.51.100.1"), "203.0.113.5"), a("198.51.100.1"));
    EXPECT_EQ(proxies("").client(a("10.0.0.1"), "203.0.113.5"), a("10.0.0.1"));
}

TEST(TrustedProxies, TheClientIsTheRightmostUntrustedHop) {
    auto const p = proxies("10.0.0.0/8, 127.0.0.1");
    EXPECT_EQ(p.client(a("10.0.0.1"), "203.0.113.5"), a("203.0.113.5"));
    // A client-supplied (spoofed) entry on the left is not believed past an untrusted hop.
    EXPECT_EQ(p.client(a("10.0.0.1"), "1.2.3.4, 203.0.113.5"), a("203.0.113.5"));
    // Chained trusted proxies are skipped.
    EXPECT_EQ(p.client(a("127.0.0.1"), "203.0.113.5, 10.1.2.3"), a("203.0.113.5"));
    // Ports and brackets as some proxies write them.
    EXPECT_EQ(p.client(a("10.0.0.1"), "203.0.113.5:4711"), a("203.0.113.5"));
    EXPECT_EQ(p.client(a("10.0.0.1"), "[2001:db8::7]:443"), a("2001:db8::7"));
    EXPECT_EQ(p.client(a("10.0.0.1"), "2001:db8::7"), a("2001:db8::7"));
    // Garbage stops the walk at the hop that wrote it; nothing forwarded: the proxy itself.
    EXPECT_EQ(p.client(a("10.0.0.1"), "203.0.113.5, unknown"), a("10.0.0.1"));
    EXPECT_EQ(p.client(a("10.0.0.1"), ""), a("10.0.0.1"));
    EXPECT_EQ(p.client(a("10.0.0.1"), " , "), a("10.0.0.1"));
    // Every hop trusted: the leftmost is as far as we can see.
    EXPECT_EQ(p.client(a("10.0.0.1"), "10.9.9.9, 10.8.8.8"), a("10.9.9.9"));
    // v4-mapped peers are matched as v4.
    EXPECT_EQ(p.client(a("::ffff:10.0.0.1"), "203.0.113.5"), a("203.0.113.5"));
}

TEST(TrustedProxies, ParseReportsTheBadEntry) {
    std::string bad;
    EXPECT_FALSE(trusted_proxies::parse("10.0.0.0/8, nonsense", bad));
    EXPECT_EQ(bad, "nonsense");
    EXPECT_TRUE(trusted_proxies::parse(" , ", bad));  // empty entries are skipped
}

TEST(OriginPolicy, NormalizesLikeBrowsers) {
    EXPECT_EQ(normalize_origin("HTTPS://Photos.Example.COM:443/"), "https://photos.example.com");
    EXPECT_EQ(normalize_origin("http://h:80"), "http://h");
    EXPECT_EQ(normalize_origin("http://h:8080"), "http://h:8080");
    EXPECT_EQ(normalize_origin("https://[::1]:3000"), "https://[::1]:3000");
    for (auto bad :
         {"null", "", "h:80", "ftp://h", "https://", "https://h/p", "https://h h", "file:///x"})
        EXPECT_FALSE(normalize_origin(bad)) << bad;
}

TEST(OriginPolicy, SameOriginAndPublicUrlAreAllowedByDefault) {
    std::string bad;
    auto const p = *origin_policy::parse("", "https://photos.example.com/drop", bad);
    EXPECT_TRUE(p.allows("http://192.168.1.5:3000", "192.168.1.5:3000"));
    EXPECT_TRUE(p.allows("http://localhost:3000", "LOCALHOST:3000"));
    EXPECT_TRUE(p.allows("https://host.lan", "host.lan"));  // TLS proxy in front, default port
    EXPECT_TRUE(p.allows("https://photos.example.com", "127.0.0.1:3000"));  // the public URL
    EXPECT_FALSE(p.allows("https://evil.example", "192.168.1.5:3000"));
    EXPECT_FALSE(p.allows("http://192.168.1.5:3001", "192.168.1.5:3000"));  // another port
    EXPECT_FALSE(p.allows("null", "192.168.1.5:3000"));  // sandboxed frames, file: pages
    EXPECT_FALSE(p.allows("https://photos.example.com.evil.example", "x"));
    EXPECT_FALSE(p.allows("http://x", ""));
}

TEST(OriginPolicy, TheListAddsOriginsAndStarAllowsAny) {
    std::string bad;
    auto const p = *origin_policy::parse("https://a.example, http://b.example:8080", "", bad);
    EXPECT_TRUE(p.allows("https://A.example", "server:3000"));
    EXPECT_TRUE(p.allows("http://b.example:8080", "server:3000"));
    EXPECT_FALSE(p.allows("http://a.example", "server:3000"));  // scheme matters
    auto const any = *origin_policy::parse("*", "", bad);
    EXPECT_TRUE(any.allows("https://anything.example", "server"));
    EXPECT_TRUE(any.allows("null", "server"));
    EXPECT_FALSE(origin_policy::parse("https://a.example, nope", "", bad));
    EXPECT_EQ(bad, "nope");
}

TEST(AddressSet, BlocksAndStar) {
    std::string bad;
    auto s = address_set::parse("127.0.0.0/8, ::1/128, 10.0.0.0/8, fc00::/7", bad);
    ASSERT_TRUE(s) << bad;
    EXPECT_TRUE(s->contains(a("127.0.0.1")));
    EXPECT_TRUE(s->contains(a("::ffff:10.2.3.4")));
    EXPECT_TRUE(s->contains(a("fd00::2")));
    EXPECT_FALSE(s->contains(a("192.0.2.1")));
    EXPECT_FALSE(s->contains(a("2001:db8::1")));
    auto any = address_set::parse("*", bad);
    ASSERT_TRUE(any);
    EXPECT_TRUE(any->contains(a("203.0.113.9")));
    EXPECT_FALSE(address_set{}.contains(a("127.0.0.1")));
    EXPECT_FALSE(address_set::parse("10.0.0.0/8, nope", bad));
    EXPECT_EQ(bad, "nope");
}

TEST(LocalNetwork, LoopbackPrivateAndLinkLocalOnly) {
    for (char const* yes :
         {"127.0.0.1", "127.255.0.1", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.20",
          "169.254.1.1", "::1", "fd00::2", "fc00::1", "fe80::1", "::ffff:192.168.0.1"})
        EXPECT_TRUE(is_local_network(a(yes))) << yes;
    for (char const* no : {"172.32.0.1", "192.0.2.2", "8.8.8.8", "100.64.0.1", "2001:db8::1",
                           "203.0.113.9", "::ffff:8.8.8.8"})
        EXPECT_FALSE(is_local_network(a(no))) << no;
}
