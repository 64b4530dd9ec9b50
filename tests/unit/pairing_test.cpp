#include <roomcast/pairing/origins.hpp>
#include <roomcast/pairing/qr.hpp>

#include <roomcast/transport/static_files.hpp>

#include <gtest/gtest.h>

using namespace roomcast::pairing;

TEST(Qr, SvgIsDeterministicAndSizedFromTheSymbol) {
    auto a = qr_svg("http://192.168.1.20:3000/?room=0123456789abcdef0123456789abcdef");
    auto b = qr_svg("http://192.168.1.20:3000/?room=0123456789abcdef0123456789abcdef");
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, *b);
    EXPECT_EQ(a->rfind("<svg", 0), 0u);
    // 62 bytes at level M need version 5 (37 modules), + 2 × 4 quiet zone = 45.
    EXPECT_NE(a->find("viewBox=\"0 0 45 45\""), std::string::npos) << a->substr(0, 120);
    EXPECT_NE(*a, *qr_svg("http://192.168.1.20:3000/?room=other"));
}

TEST(Qr, RefusesEmptyAndOverlongText) {
    EXPECT_FALSE(qr_svg(""));
    EXPECT_FALSE(qr_svg(std::string(max_qr_text + 1, 'a')));
    EXPECT_TRUE(qr_svg(std::string(max_qr_text, 'a')));
    EXPECT_TRUE(qr_svg(std::string("a\0b", 3)));  // any bytes, NUL included
}

TEST(Qr, TerminalDrawingHasTwoModulesPerRow) {
    auto t = qr_terminal("hello");
    ASSERT_TRUE(t);
    // Version 1: 21 modules + 8 quiet = 29 columns, ceil(29 / 2) = 15 rows.
    EXPECT_EQ(std::count(t->begin(), t->end(), '\n'), 15);
}

TEST(Origins, VirtualInterfacesAreRecognised) {
    for (auto n : {"lo", "docker0", "veth12ab", "br-1234", "virbr0", "tun0", "tap1", "wg0",
                   "tailscale0", "cni0", "podman1"})
        EXPECT_TRUE(is_virtual_interface(n)) << n;
    for (auto n : {"eth0", "wlan0", "enp3s0", "wlp2s0", "en0"})
        EXPECT_FALSE(is_virtual_interface(n)) << n;
}

TEST(Origins, OnlyReachableAddressesBecomeOrigins) {
    std::vector<interface_address> addrs = {
        {"lo", "127.0.0.1", false, true, true},
        {"eth0", "192.168.1.20", false, true, false},
        {"wlan0", "10.0.0.7", false, true, false},
        {"docker0", "172.17.0.1", false, true, false},
        {"veth1", "172.18.0.1", false, true, false},
        {"eth1", "192.168.9.9", false, false, false},  // down
        {"eth0", "169.254.3.3", false, true, false},   // link-local
        {"eth0", "fe80::1", true, true, false},        // link-local v6
        {"eth0", "2001:db8::5", true, true, false},
        {"eth0", "192.168.1.20", false, true, false},  // duplicate
    };
    auto o = lan_origins(addrs, 3000);
    std::vector<std::string> const want = {"http://10.0.0.7:3000", "http://192.168.1.20:3000",
                                           "http://[2001:db8::5]:3000"};
    EXPECT_EQ(o, want);
    EXPECT_EQ(lan_origins(addrs, 443, "https")[0], "https://10.0.0.7:443");
    EXPECT_TRUE(lan_origins({}, 3000).empty());
}

TEST(Origins, ALinkIsOfferedOnlyWhereTheServerListens) {
    std::vector<interface_address> const addrs = {
        {"lo", "127.0.0.1", false, true, true},
        {"eth0", "192.168.1.20", false, true, false},
        {"eth0", "2001:db8::5", true, true, false},
        {"docker0", "172.17.0.1", false, true, false},
    };
    // HOST=127.0.0.1 (the issue: the QR pointed at a LAN address where nothing listened).
    for (auto const* h : {"127.0.0.1", "127.0.0.2", "::1", "[::1]", "::ffff:127.0.0.1"}) {
        auto const r = reachable_origins(h, addrs, 3000);
        EXPECT_TRUE(r.origins.empty()) << h;
        EXPECT_EQ(r.why, "loopback-only") << h;
    }
    using v = std::vector<std::string>;
    EXPECT_EQ(reachable_origins("0.0.0.0", addrs, 3000).origins, v{"http://192.168.1.20:3000"});
    EXPECT_EQ(reachable_origins("::", addrs, 3000).origins,
              (v{"http://192.168.1.20:3000", "http://[2001:db8::5]:3000"}));
    EXPECT_EQ(reachable_origins("192.168.1.20", addrs, 443, "https").origins,
              v{"https://192.168.1.20:443"});
    EXPECT_EQ(reachable_origins("2001:db8::5", addrs, 3000).origins,
              v{"http://[2001:db8::5]:3000"});
    // The same addresses written otherwise: compared as addresses, not as text.
    EXPECT_EQ(reachable_origins("2001:DB8:0::5", addrs, 3000).origins,
              v{"http://[2001:db8::5]:3000"});
    EXPECT_EQ(reachable_origins("::ffff:192.168.1.20", addrs, 3000).origins,
              v{"http://192.168.1.20:3000"});
    EXPECT_EQ(reachable_origins("172.17.0.1", addrs, 3000).why, "not-lan");  // a bridge
    EXPECT_EQ(reachable_origins("not an address", addrs, 3000).why, "not-lan");
    auto const none = reachable_origins("0.0.0.0", {{"lo", "127.0.0.1", false, true, true}}, 3000);
    EXPECT_TRUE(none.origins.empty());
    EXPECT_EQ(none.why, "no-lan-address");
}

TEST(QueryParam, DecodesAndFindsTheRightParameter) {
    using roomcast::transport::query_param;
    EXPECT_EQ(query_param("/qr.svg?text=a%20b+c", "text"), "a b c");
    EXPECT_EQ(query_param("/x?a=1&text=http%3A%2F%2Fh%2F%3Froom%3Dr&b=2", "text"),
              "http://h/?room=r");
    EXPECT_EQ(query_param("/x?text=", "text"), "");
    EXPECT_EQ(query_param("/x?text", "text"), "");
    EXPECT_FALSE(query_param("/x?texts=1", "text"));
    EXPECT_FALSE(query_param("/x", "text"));
    EXPECT_FALSE(query_param("/x?text=%2", "text"));
    EXPECT_FALSE(query_param("/x?text=%zz", "text"));
    EXPECT_EQ(query_param("/x?text=1#frag", "text"), "1");
}
