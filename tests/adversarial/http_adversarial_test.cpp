// The HTTP-layer findings of an adversarial security review, each tested by the mechanism the
// reviewer described: the real server in-process on 127.0.0.1:0 fed the exact bytes an attacker
// would send, and the real binary as a child process where the log lines are what is judged.
// Settings added for these findings are given as flags (parse_config), as an operator would.
// Every wait has a deadline; nothing asserts a timing.
#include "support/child_process.hpp"
#include "support/raw_http.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <roomcast/pairing/origins.hpp>

#include <gtest/gtest.h>

#include <signal.h>

#include <sstream>

using namespace roomcast;
using namespace roomcast::test;
using json = nlohmann::json;

namespace {

std::string const key_and_version =
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/** test_config() with `flags` parsed over it as a command line; nullopt if they are refused. */
std::optional<config> with_flags(std::vector<std::string> const& flags) {
    auto const base = test_config();
    std::vector<std::string> args = {"--host",      base.host,     "--port",     "0",
                                     "--threads",   "2",           "--web-root", base.web_root,
                                     "--log-level", base.log_level};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = parse_config(args, {});
    if (auto* run = std::get_if<config_run>(&r)) return run->cfg;
    if (auto* e = std::get_if<config_error>(&r)) ADD_FAILURE() << e->message;
    return std::nullopt;
}

std::string host_line(std::uint16_t port) {
    return "Host: localhost:" + std::to_string(port) + "\r\n";
}

/** GET `target` with exactly `headers` (each CRLF-terminated), then Connection: close. */
std::string get(std::uint16_t port, std::string const& target, std::string const& headers) {
    return raw_exchange(port,
                        "GET " + target + " HTTP/1.1\r\n" + headers + "Connection: close\r\n\r\n");
}

/** A WebSocket upgrade on /ws with `headers` besides the upgrade's own. */
std::string upgrade(std::uint16_t port, std::string const& headers) {
    return raw_exchange(port, "GET /ws HTTP/1.1\r\n" + headers +
                                  "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
                                  key_and_version + "\r\n");
}

/** How many responses `reply` holds (status lines at the start of a response). */
int responses_in(std::string const& reply) {
    int n = reply.rfind("HTTP/1.1 ", 0) == 0 ? 1 : 0;
    for (auto p = reply.find("\r\nHTTP/1.1 "); p != std::string::npos;
         p = reply.find("\r\nHTTP/1.1 ", p + 2))
        ++n;
    return n;
}

/** The value of header `name` in the first response's head, or nullopt. */
std::optional<std::string> header_of(std::string const& reply, std::string const& name) {
    auto const head = reply.substr(0, reply.find("\r\n\r\n"));
    auto const at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return std::nullopt;
    auto const from = at + name.size() + 4;
    return head.substr(from, head.find("\r\n", from) - from);
}

bool closes(std::string const& reply) {
    return header_of(reply, "Connection") == "close";
}

/**
 * What /api/origins tells a request with `extra` headers of this machine's network: its "lan"
 * list and "lan_unreachable" (why there is none), as [lan, lan_unreachable]; null on a bad
 * answer. Told nothing: [[], null].
 */
json lan_of(std::uint16_t port, std::string const& extra) {
    auto const j =
        json::parse(body_of(get(port, "/api/origins", host_line(port) + extra)), nullptr, false);
    EXPECT_TRUE(j.is_object()) << j;
    return j.is_object() ? json::array({j["lan"], j["lan_unreachable"]}) : json();
}

/** What a local caller is told, as the server computes it for its listening address (the
 * tests' servers listen on 127.0.0.1: no origin, and the reason). */
json lan_origins_of(std::uint16_t port) {
    auto const r = pairing::reachable_origins("127.0.0.1", pairing::system_interfaces(), port);
    return json::array({r.origins, r.why.empty() ? json(nullptr) : json(r.why)});
}

json const told_nothing = json::array({json::array(), nullptr});

}  // namespace

// ---------------------------------------------------------------------------------------------
// 1. Host and DNS rebinding: a page of evil.example, its name re-pointed at this machine, is
// same-origin with itself, so only its Host gives it away.

TEST(HostRebinding, AForeignHostGets421OnEveryRequest) {
    running_server s;
    auto const p = std::to_string(s.port());
    std::string const evil = "Host: evil.example:" + p + "\r\n";
    int refused = 0;
    for (std::string target :
         {"/", "/app.js", "/api/origins", "/metrics", "/healthz", "/qr.svg?text=x"}) {
        auto const r = get(s.port(), target, evil);
        EXPECT_EQ(status_of(r), 421) << target << "\n" << r.substr(0, 300);
        EXPECT_TRUE(closes(r)) << target;
        EXPECT_EQ(body_of(r).find("lan"), std::string::npos) << target;
        EXPECT_EQ(body_of(r).find("roomcast_"), std::string::npos) << target;
        ++refused;
    }
    auto const ws = upgrade(s.port(), evil + "Origin: http://evil.example:" + p + "\r\n");
    EXPECT_EQ(status_of(ws), 421) << ws.substr(0, 300);
    ++refused;
    // Names that only look local are someone else's.
    for (std::string h : {"localhost.evil.example", "127.0.0.1.nip.io", "evillocalhost"}) {
        EXPECT_EQ(status_of(get(s.port(), "/healthz", "Host: " + h + ":" + p + "\r\n")), 421) << h;
        ++refused;
    }
    EXPECT_EQ(metric(s.port(), "roomcast_hosts_refused_total"), refused);
}

TEST(HostRebinding, EveryNameThisServerIsReachedByIsAnsweredOnAnyPort) {
    auto cfg = test_config();
    cfg.public_url = "https://photos.example.com:8443";
    running_server s(cfg);
    auto const p = std::to_string(s.port());
    std::vector<std::string> hosts = {"localhost",
                                      "localhost:" + p,
                                      "LOCALHOST.:" + p,
                                      "app.localhost:" + p,
                                      "127.0.0.1:" + p,
                                      "127.0.0.2:" + p,
                                      "[::1]:" + p,
                                      "photos.example.com",
                                      "photos.example.com:8443",
                                      "photos.example.com:" + p};
    // A phone on the LAN names one of this machine's addresses.
    for (auto const& i : pairing::system_interfaces())
        if (!i.loopback) hosts.push_back(i.ipv6 ? "[" + i.address + "]:" + p : i.address + ":" + p);
    for (auto const& h : hosts)
        EXPECT_EQ(status_of(get(s.port(), "/healthz", "Host: " + h + "\r\n")), 200) << h;
    // And the page served as http://localhost:P opens its WebSocket (throws if refused).
    ws_client c(s.port(), {{"Host", "localhost:" + p}, {"Origin", "http://localhost:" + p}});
    EXPECT_EQ(c.join("r")["type"], "joined");
}

TEST(HostRebinding, AllowedHostsAddNamesAndStarAnswersAny) {
    {
        auto cfg = with_flags({"--allowed-hosts", "photos.internal, 10.9.8.7"});
        ASSERT_TRUE(cfg);
        running_server s(*cfg);
        EXPECT_EQ(status_of(get(s.port(), "/healthz", "Host: photos.internal:9\r\n")), 200);
        EXPECT_EQ(status_of(get(s.port(), "/healthz", "Host: 10.9.8.7\r\n")), 200);
        EXPECT_EQ(status_of(get(s.port(), "/healthz", "Host: other.internal\r\n")), 421);
    }
    auto cfg = with_flags({"--allowed-hosts", "*"});
    ASSERT_TRUE(cfg);
    running_server s(*cfg);
    EXPECT_EQ(status_of(get(s.port(), "/healthz", "Host: evil.example\r\n")), 200);
}

TEST(HostRebinding, MissingOrRepeatedHostOriginOrKeyIs400) {
    running_server s;
    auto const p = std::to_string(s.port());
    auto const host = host_line(s.port());
    auto expect_400 = [](std::string const& r, char const* what) {
        EXPECT_EQ(status_of(r), 400) << what << "\n" << r.substr(0, 300);
        EXPECT_TRUE(closes(r)) << what;
    };
    expect_400(get(s.port(), "/healthz", ""), "no Host");
    expect_400(raw_exchange(s.port(), "GET /healthz HTTP/1.0\r\n\r\n"), "HTTP/1.0, no Host");
    expect_400(get(s.port(), "/healthz", host + "Host: evil.example\r\n"), "two Hosts");
    expect_400(get(s.port(), "/healthz", host + host), "the same Host twice");
    // The first Origin would pass; which one a server in front of us checked is anyone's guess.
    expect_400(upgrade(s.port(), host + "Origin: http://localhost:" + p +
                                     "\r\nOrigin: http://evil.example\r\n"),
               "two Origins");
    expect_400(upgrade(s.port(), host + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"),
               "two Sec-WebSocket-Keys");
    for (std::string bad : {"a b", "localhost:x", "[::1", "fd00::2", "user@localhost"})
        expect_400(get(s.port(), "/healthz", "Host: " + bad + "\r\n"), bad.c_str());
}

// ---------------------------------------------------------------------------------------------
// 2. /api/origins and /metrics: what they tell depends on who asks.

TEST(InterfaceDisclosure, WithAPublicUrlOnlyLocalCallersSeeTheLanAddresses) {
    auto cfg = test_config();
    cfg.public_url = "https://photos.example.com";
    cfg.trusted_proxies = "127.0.0.1";
    running_server s(cfg);
    auto const expected = lan_origins_of(s.port());
    auto const j =
        json::parse(body_of(get(s.port(), "/api/origins", host_line(s.port()))), nullptr, false);
    EXPECT_EQ(j.value("public_url", ""), "https://photos.example.com");
    EXPECT_EQ(lan_of(s.port(), ""), expected);                                  // on this machine
    EXPECT_EQ(lan_of(s.port(), "X-Forwarded-For: 192.168.7.7\r\n"), expected);  // LAN, via proxy
    EXPECT_EQ(lan_of(s.port(), "X-Forwarded-For: fd00::7\r\n"), expected);
    EXPECT_EQ(lan_of(s.port(), "X-Forwarded-For: 203.0.113.9\r\n"), told_nothing);  // internet
    EXPECT_EQ(lan_of(s.port(), "X-Forwarded-For: 2001:db8::9\r\n"), told_nothing);
    // The client's own spoof further left changes nothing: the proxy's entry is the right-most.
    EXPECT_EQ(lan_of(s.port(), "X-Forwarded-For: 192.168.7.7, 203.0.113.9\r\n"), told_nothing);
}

TEST(InterfaceDisclosure, AForwardedRequestFromAnUntrustedPeerIsNotLocal) {
    // A proxy nobody named in --trusted-proxies makes every client look like itself (here
    // loopback): such a request is judged as from an unknown client.
    auto cfg = test_config();
    cfg.public_url = "https://photos.example.com";
    running_server s(cfg);
    auto const expected = lan_origins_of(s.port());
    EXPECT_EQ(lan_of(s.port(), ""), expected);
    EXPECT_EQ(lan_of(s.port(), "X-Forwarded-For: 192.168.7.7\r\n"), told_nothing);
    EXPECT_EQ(lan_of(s.port(), "Forwarded: for=192.168.7.7\r\n"), told_nothing);
}

TEST(InterfaceDisclosure, WithoutAPublicUrlTheLanListIsForAnyone) {
    auto cfg = test_config();
    cfg.trusted_proxies = "127.0.0.1";
    running_server s(cfg);
    EXPECT_EQ(lan_of(s.port(), "X-Forwarded-For: 203.0.113.9\r\n"), lan_origins_of(s.port()));
}

TEST(MetricsAccess, ByDefaultOnlyLoopbackAndPrivateNetworksJudgedByTheForwardedClient) {
    auto cfg = test_config();
    cfg.trusted_proxies = "127.0.0.1";
    running_server s(cfg);
    auto status_for = [&](std::string const& client) {
        auto const r = get(
            s.port(), "/metrics",
            host_line(s.port()) + (client.empty() ? "" : "X-Forwarded-For: " + client + "\r\n"));
        if (status_of(r) != 200) {
            EXPECT_EQ(body_of(r).find("roomcast_"), std::string::npos);
        }
        return status_of(r);
    };
    for (std::string local : {"", "10.1.2.3", "172.16.0.1", "192.168.1.5", "fd00::5", "::1"})
        EXPECT_EQ(status_for(local), 200) << local;
    for (std::string outside : {"203.0.113.9", "2001:db8::9", "172.32.0.1", "8.8.8.8"})
        EXPECT_EQ(status_for(outside), 403) << outside;
}

TEST(MetricsAccess, AForwardedRequestFromAnUntrustedPeerGets403) {
    running_server s;
    EXPECT_EQ(status_of(get(s.port(), "/metrics", host_line(s.port()))), 200);
    EXPECT_EQ(status_of(get(s.port(), "/metrics",
                            host_line(s.port()) + "X-Forwarded-For: 127.0.0.1\r\n")),
              403);
}

TEST(MetricsAccess, MetricsFromIsConfigurable) {
    {
        auto cfg = with_flags({"--metrics-from", "10.0.0.0/8", "--trusted-proxies", "127.0.0.1"});
        ASSERT_TRUE(cfg);
        running_server s(*cfg);
        EXPECT_EQ(status_of(get(s.port(), "/metrics", host_line(s.port()))), 403);
        EXPECT_EQ(status_of(get(s.port(), "/metrics",
                                host_line(s.port()) + "X-Forwarded-For: 10.9.9.9\r\n")),
                  200);
    }
    auto cfg = with_flags({"--metrics-from", "*", "--trusted-proxies", "127.0.0.1"});
    ASSERT_TRUE(cfg);
    running_server s(*cfg);
    EXPECT_EQ(status_of(get(s.port(), "/metrics",
                            host_line(s.port()) + "X-Forwarded-For: 203.0.113.9\r\n")),
              200);
}

// ---------------------------------------------------------------------------------------------
// 3. Framing: the server takes no bodies, so every framing that could carry one is refused and
// the connection closed, and nothing after it is ever read as a request.

TEST(Framing, TransferEncodingIsRefusedAndNothingIsSmuggledBehindIt) {
    running_server s;
    auto const host = host_line(s.port());
    std::string const smuggled = "GET /metrics HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n";
    for (std::string te :
         {"chunked, identity", "xchunked", "identity", "gzip, chunked", "chunked"}) {
        bool const chunked = te.ends_with(", chunked") || te == "chunked";
        auto const r =
            raw_exchange(s.port(), "GET /healthz HTTP/1.1\r\n" + host + "Transfer-Encoding: " + te +
                                       "\r\n\r\n" + (chunked ? "0\r\n\r\n" : "") + smuggled);
        EXPECT_EQ(status_of(r), 400) << te << "\n" << r.substr(0, 300);
        EXPECT_EQ(responses_in(r), 1) << te << "\n" << r;
        EXPECT_TRUE(closes(r)) << te;
        EXPECT_EQ(r.find("roomcast_"), std::string::npos) << te;
    }
}

TEST(Framing, ObsFoldIsRefused) {
    running_server s;
    auto const host = host_line(s.port());
    for (std::string fold : {"X-Note: a\r\n b\r\n", "X-Note:\r\n\tb\r\n", "X-Note: a\r\n\t\r\n"}) {
        auto const r = get(s.port(), "/healthz", host + fold);
        EXPECT_EQ(status_of(r), 400) << fold;
        EXPECT_TRUE(closes(r)) << fold;
    }
    // A fold right after the request line would make the first field a continuation.
    auto const r = get(s.port(), "/healthz", " " + host);
    EXPECT_EQ(status_of(r), 400);
}

TEST(Framing, RepeatedContentLengthIsRefusedEvenIfIdentical) {
    running_server s;
    auto const host = host_line(s.port());
    for (std::string cl : {"Content-Length: 0\r\nContent-Length: 0\r\n\r\n",
                           "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc"}) {
        auto const r = raw_exchange(
            s.port(), "GET /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n" + cl);
        EXPECT_EQ(status_of(r), 400) << cl;
        EXPECT_TRUE(closes(r)) << cl;
    }
}

TEST(Framing, ABodyIsRefusedUnreadAndTheConnectionCloses) {
    running_server s;
    auto const host = host_line(s.port());
    // The body is itself a request: it must never be answered.
    std::string const inner = "GET /metrics HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n";
    auto r = raw_exchange(s.port(), "GET /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n" +
                                        "Content-Length: " + std::to_string(inner.size()) +
                                        "\r\n\r\n" + inner);
    EXPECT_EQ(status_of(r), 400) << r.substr(0, 300);
    EXPECT_EQ(responses_in(r), 1);
    EXPECT_EQ(r.find("roomcast_"), std::string::npos);
    EXPECT_TRUE(closes(r));
    // Another method with a body: 405 as ever, but its body is not read, so no keep-alive.
    r = raw_exchange(s.port(), "POST /healthz HTTP/1.1\r\n" + host + "Content-Length: 2\r\n\r\nhi");
    EXPECT_EQ(status_of(r), 405);
    EXPECT_EQ(header_of(r, "Allow"), "GET, HEAD");
    EXPECT_TRUE(closes(r));
    // No body at all is fine, however it is said.
    EXPECT_EQ(status_of(get(s.port(), "/healthz", host + "Content-Length: 0\r\n")), 200);
}

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

// ---------------------------------------------------------------------------------------------
// 6. Refusal log lines: sampled, and nothing a client sends reaches them raw.

TEST(RefusalLogs, AreSampledAndClientBytesAreEscaped) {
    child c({"--host", "127.0.0.1", "--port", "0", "--threads", "2", "--web-root",
             ROOMCAST_TEST_WEB_ROOT, "--log-format", "json", "--log-level", "info"});
    auto const rest = c.wait_for("listening on http://127.0.0.1:");
    ASSERT_TRUE(rest) << c.drain_stderr();
    auto const port = static_cast<std::uint16_t>(std::stoi(*rest));
    auto const host = host_line(port);

    // Not UTF-8, and long: both reached the JSON log raw before.
    std::string const origin = "http://\xff\xfe" + std::string(3000, 'a') + ".example";
    constexpr int origins = 1001;  // the first is logged, then the 1001st
    for (int i = 0; i < origins; ++i) {
        auto const r = upgrade(port, host + "Origin: " + origin + "\r\n");
        c.collect();  // the log is read as it grows, however much the server writes
        if (status_of(r) != 403) {
            ADD_FAILURE() << "refusal " << i << ": " << r.substr(0, 200);
            break;  // a server that stopped answering: each further try would wait out 5 s
        }
    }
    EXPECT_EQ(status_of(get(port, "/healthz", "Host: ev\xffil\r\n")), 400);  // logged: first
    for (int i = 0; i < 20; ++i) {
        c.collect();
        EXPECT_EQ(status_of(raw_exchange(port, "garbage\r\n\r\n")), 400);
        EXPECT_EQ(status_of(get(port, "/healthz", "Host: evil.example\r\n")), 421);
        EXPECT_EQ(status_of(raw_exchange(port, "GET /ws HTTP/1.1\r\n" + host +
                                                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                                   "Sec-WebSocket-Version: 8\r\n\r\n")),
                  426);
    }
    EXPECT_EQ(metric(port, "roomcast_upgrades_refused_origin_total"), origins);  // all counted
    kill(c.pid(), SIGTERM);
    EXPECT_EQ(c.wait_exit(), 0);

    std::istringstream log(c.drain_stderr());
    int not_json = 0, origin_lines = 0, bad_requests = 0, hosts = 0, versions = 0;
    std::string line;
    while (std::getline(log, line)) {
        auto const j = json::parse(line, nullptr, false);  // also refuses invalid UTF-8
        if (j.is_discarded() || !j.is_object() || !j.contains("msg")) {
            ++not_json;
            continue;
        }
        auto const msg = j["msg"].get<std::string>();
        if (msg.find("origin http://") != std::string::npos) {
            ++origin_lines;
            EXPECT_NE(msg.find("http://\\xff\\xfeaaa"), std::string::npos) << msg;
            EXPECT_LT(msg.size(), 400u) << "a client string is cut short in the log";
        }
        if (msg.find("Sec-WebSocket-Version") != std::string::npos) ++versions;
        if (msg.find("Host evil.example") != std::string::npos) ++hosts;
        if (msg.find(": bad request: ") != std::string::npos) {
            ++bad_requests;
            EXPECT_NE(msg.find("ev\\xffil"), std::string::npos) << msg;
        }
    }
    EXPECT_EQ(not_json, 0);
    EXPECT_EQ(origin_lines, 2);  // one line per refusal, the 1st and the 1001st
    EXPECT_EQ(bad_requests, 1);  // 21 refused
    EXPECT_EQ(hosts, 1);         // 20 refused
    EXPECT_EQ(versions, 1);      // 20 refused
}
