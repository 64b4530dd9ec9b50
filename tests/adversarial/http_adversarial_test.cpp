// The HTTP-layer findings of an adversarial security review, each tested by the mechanism the
// reviewer described: the real server in-process on 127.0.0.1:0 fed the exact bytes an attacker
// would send, and the real binary as a child process where the log lines are what is judged.
// Settings added for these findings are given as flags (parse_config), as an operator would.
// Every wait has a deadline; nothing asserts a timing.
#include "support/raw_http.hpp"
#include "support/test_server.hpp"

#include <gtest/gtest.h>

using namespace roomcast;
using namespace roomcast::test;

namespace {

std::string host_line(std::uint16_t port) {
    return "Host: localhost:" + std::to_string(port) + "\r\n";
}

/** GET `target` with exactly `headers` (each CRLF-terminated), then Connection: close. */
std::string get(std::uint16_t port, std::string const& target, std::string const& headers) {
    return raw_exchange(port,
                        "GET " + target + " HTTP/1.1\r\n" + headers + "Connection: close\r\n\r\n");
}

/** The value of header `name` in the first response's head, or nullopt. */
std::optional<std::string> header_of(std::string const& reply, std::string const& name) {
    auto const head = reply.substr(0, reply.find("\r\n\r\n"));
    auto const at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return std::nullopt;
    auto const from = at + name.size() + 4;
    return head.substr(from, head.find("\r\n", from) - from);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// 4. and 5. What the page may connect to, and what may be cached.

TEST(Csp, ConnectSrcAllowsOnlyThisOriginAndDataUrls) {
    running_server s;
    auto const r = get(s.port(), "/", host_line(s.port()));
    ASSERT_EQ(status_of(r), 200);
    auto const csp = header_of(r, "Content-Security-Policy");
    ASSERT_TRUE(csp);
    auto const at = csp->find("connect-src ");
    ASSERT_NE(at, std::string::npos) << *csp;
    auto const directive = csp->substr(at, csp->find(';', at) - at);
    // 'self' covers ws:// and wss:// to this host and port (CSP3); data: is for the image
    // messages the page fetches as data: URLs.
    EXPECT_EQ(directive, "connect-src 'self' data:") << *csp;
    EXPECT_EQ(csp->find(" ws:"), std::string::npos) << *csp;
    EXPECT_EQ(csp->find(" wss:"), std::string::npos) << *csp;
}

TEST(QrSvg, TheRoomLinkIsStoredInNoCache) {
    running_server s;
    auto const r = get(s.port(), "/qr.svg?text=http%3A%2F%2F192.0.2.2%3A3000%2F%3Froom%3Dabc",
                       host_line(s.port()));
    ASSERT_EQ(status_of(r), 200);
    EXPECT_EQ(header_of(r, "Cache-Control"), "no-store");
}
