// HTTP: the static client, /healthz, limits and traversal attempts, against the real server.
#include "support/raw_http.hpp"
#include "support/test_server.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace roomcast;
using namespace roomcast::test;

namespace {

std::string get(std::uint16_t port, std::string const& target, std::string extra = {}) {
    return raw_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra +
                                  "Connection: close\r\n\r\n");
}

std::string file_text(std::string const& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST(Http, RootServesTheWebClient) {
    running_server s;
    auto r = get(s.port(), "/");
    EXPECT_EQ(status_of(r), 200);
    EXPECT_NE(r.find("Content-Type: text/html; charset=utf-8"), std::string::npos) << r;
    EXPECT_NE(r.find("Content-Security-Policy:"), std::string::npos);
    EXPECT_NE(r.find("Referrer-Policy: no-referrer"), std::string::npos);
    EXPECT_EQ(body_of(r), file_text(std::string(ROOMCAST_TEST_WEB_ROOT) + "/index.html"));
    // A query string (the room link) serves the same page.
    EXPECT_EQ(body_of(get(s.port(), "/?room=abc")), body_of(r));
}

TEST(Http, OtherFilesGetTheirContentType) {
    running_server s;
    auto r = get(s.port(), "/app.js");
    EXPECT_EQ(status_of(r), 200);
    EXPECT_NE(r.find("Content-Type: text/javascript"), std::string::npos) << r.substr(0, 300);
    r = get(s.port(), "/style.css");
    EXPECT_EQ(status_of(r), 200);
    EXPECT_NE(r.find("Content-Type: text/css"), std::string::npos);
}

TEST(Http, HeadHasLengthButNoBody) {
    running_server s;
    auto r =
        raw_exchange(s.port(), "HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(r), 200);
    auto const size = file_text(std::string(ROOMCAST_TEST_WEB_ROOT) + "/index.html").size();
    EXPECT_NE(r.find("Content-Length: " + std::to_string(size)), std::string::npos) << r;
    EXPECT_EQ(body_of(r), "");
}

TEST(Http, EtagRevalidationAnswers304) {
    running_server s;
    auto r = get(s.port(), "/");
    auto p = r.find("ETag: ");
    ASSERT_NE(p, std::string::npos);
    auto etag = r.substr(p + 6, r.find("\r\n", p) - p - 6);
    auto r2 = get(s.port(), "/", "If-None-Match: " + etag + "\r\n");
    EXPECT_EQ(status_of(r2), 304);
    EXPECT_EQ(body_of(r2), "");
}

TEST(Http, HealthzIsSmallJson) {
    running_server s;
    auto r = get(s.port(), "/healthz");
    EXPECT_EQ(status_of(r), 200);
    EXPECT_NE(r.find("application/json"), std::string::npos);
    auto j = nlohmann::json::parse(body_of(r), nullptr, false);
    ASSERT_TRUE(j.is_object()) << body_of(r);
    EXPECT_EQ(j["status"], "ok");
    EXPECT_TRUE(j.contains("version"));
}

TEST(Http, UnknownPathsAndEveryTraversalTrickAre404) {
    running_server s;
    for (std::string t :
         {"/nope", "/../CMakeLists.txt", "/..%2fCMakeLists.txt", "/%2e%2e/CMakeLists.txt",
          "/%2E%2E%2FCMakeLists.txt", "//etc/passwd", "/./index.html", "/web/../index.html",
          "/index.html%00.js", "/%5c..%5cCMakeLists.txt", "/..\\CMakeLists.txt", "/%", "/%zz",
          "/.hidden", "/../../../../etc/passwd", "/%252e%252e/etc/passwd"}) {
        auto r = get(s.port(), t);
        EXPECT_EQ(status_of(r), 404) << t << "\n" << r.substr(0, 200);
        EXPECT_EQ(r.find("root:"), std::string::npos) << t;
    }
    // Absolute-form and asterisk targets are refused too.
    EXPECT_EQ(status_of(get(s.port(), "http://evil/../../etc/passwd")), 404);
}

TEST(Http, MethodsOtherThanGetAndHeadAre405) {
    running_server s;
    auto r = raw_exchange(
        s.port(),
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    EXPECT_EQ(status_of(r), 405);
    EXPECT_NE(r.find("Allow: GET, HEAD"), std::string::npos);
}

TEST(Http, LimitsOnHeaderAndBodySize) {
    auto cfg = test_config();
    cfg.http_header_limit = 1024;
    cfg.http_body_limit = 16;
    running_server s(cfg);
    auto r = raw_exchange(s.port(), "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " +
                                        std::string(4000, 'a') + "\r\n\r\n");
    EXPECT_EQ(status_of(r), 431) << r.substr(0, 100);
    r = raw_exchange(s.port(), "GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n" +
                                   std::string(100, 'b'));
    EXPECT_EQ(status_of(r), 413) << r.substr(0, 100);
    r = raw_exchange(s.port(), "garbage\r\n\r\n");
    EXPECT_EQ(status_of(r), 400);
    // Still serving.
    EXPECT_EQ(status_of(get(s.port(), "/healthz")), 200);
}

TEST(Http, ASilentClientIsDisconnectedAndOthersAreServed) {
    auto cfg = test_config();
    cfg.http_timeout = std::chrono::milliseconds(300);
    running_server s(cfg);
    // Half a request, then nothing: the server closes it (EOF before our 10 s deadline).
    net::io_context ioc;
    tcp::socket slow(ioc);
    slow.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), s.port()));
    net::write(slow, net::buffer(std::string("GET / HTTP/1.1\r\nHost:")));
    EXPECT_EQ(status_of(get(s.port(), "/healthz")), 200);
    bool closed = false;
    char c;
    slow.async_read_some(net::buffer(&c, 1), [&](boost::system::error_code ec, std::size_t) {
        closed = ec == net::error::eof || ec == net::error::connection_reset;
    });
    ioc.run_for(std::chrono::seconds(10));
    EXPECT_TRUE(closed);
}

TEST(Http, KeepAliveServesPipelinedRequests) {
    running_server s;
    auto r = raw_exchange(s.port(),
                          "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
                          "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    std::size_t count = 0;
    for (auto p = r.find("HTTP/1.1 200"); p != std::string::npos; p = r.find("HTTP/1.1 200", p + 1))
        ++count;
    EXPECT_EQ(count, 2u);
}

TEST(Http, WebSocketEndpointChecksTheUpgrade) {
    running_server s;
    EXPECT_EQ(status_of(get(s.port(), "/ws")), 426);
    std::string const upgrade =
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
        "dGhlIHNhbXBsZSBub25jZQ==\r\n";
    auto r = raw_exchange(s.port(), "GET /ws HTTP/1.1\r\nHost: localhost\r\n" + upgrade +
                                        "Sec-WebSocket-Version: 8\r\n\r\n");
    EXPECT_EQ(status_of(r), 426);
    EXPECT_NE(r.find("Sec-WebSocket-Version: 13"), std::string::npos);
    r = raw_exchange(
        s.port(),
        "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n");
    EXPECT_EQ(status_of(r), 400);
    r = raw_exchange(s.port(), "GET /elsewhere HTTP/1.1\r\nHost: localhost\r\n" + upgrade +
                                   "Sec-WebSocket-Version: 13\r\n\r\n");
    EXPECT_EQ(status_of(r), 404);
    // The RFC 6455 example: the accept key must match.
    r = raw_exchange(
        s.port(),
        "GET /ws HTTP/1.1\r\nHost: localhost\r\n" + upgrade + "Sec-WebSocket-Version: 13\r\n\r\n",
        std::chrono::milliseconds(500));
    EXPECT_EQ(status_of(r), 101);
    EXPECT_NE(r.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << r;
}

TEST(Http, ConnectionsPerAddressAreLimited) {
    auto cfg = test_config();
    cfg.max_connections_per_ip = 3;
    running_server s(cfg);
    std::vector<std::unique_ptr<ws_client>> held;
    for (int i = 0; i < 3; ++i)
        held.push_back(std::make_unique<ws_client>(s.port()));
    auto r = get(s.port(), "/healthz");
    EXPECT_EQ(status_of(r), 429) << r;
    EXPECT_GE(s.get().counters().connections_rejected.load(), 1u);
    held.pop_back();  // a place frees up once the server has seen the close
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int status = 0;
    while (status != 200 && std::chrono::steady_clock::now() < deadline)
        status = status_of(get(s.port(), "/healthz"));
    EXPECT_EQ(status, 200);
}

TEST(Http, QrSvgDrawsTheTextAndRefusesBadInput) {
    running_server s;
    auto r = get(s.port(), "/qr.svg?text=http%3A%2F%2F127.0.0.1%3A3000%2F%3Froom%3Dabc");
    EXPECT_EQ(status_of(r), 200);
    EXPECT_NE(r.find("Content-Type: image/svg+xml"), std::string::npos);
    EXPECT_EQ(body_of(r).rfind("<svg", 0), 0u);
    EXPECT_EQ(status_of(get(s.port(), "/qr.svg")), 400);
    EXPECT_EQ(status_of(get(s.port(), "/qr.svg?text=")), 400);
    EXPECT_EQ(status_of(get(s.port(), "/qr.svg?text=" + std::string(1025, 'a'))), 400);
    EXPECT_EQ(status_of(get(s.port(), "/qr.svg?text=%zz")), 400);
}

TEST(Http, OriginsOfferThePublicUrl) {
    auto cfg = test_config();
    cfg.public_url = "http://127.0.0.1:1234";
    running_server s(cfg);
    auto r = get(s.port(), "/api/origins");
    EXPECT_EQ(status_of(r), 200);
    auto j = nlohmann::json::parse(body_of(r), nullptr, false);
    ASSERT_TRUE(j.is_object()) << body_of(r);
    EXPECT_EQ(j["public_url"], "http://127.0.0.1:1234");
    EXPECT_TRUE(j["lan"].is_array());
    running_server plain;
    auto j2 = nlohmann::json::parse(body_of(get(plain.port(), "/api/origins")), nullptr, false);
    EXPECT_TRUE(j2["public_url"].is_null());
}

TEST(Http, MetricsAndReadiness) {
    running_server s;
    {
        ws_client a(s.port()), b(s.port());
        a.join("m");
        b.join("m");
        a.send_text(R"({"type":"image","data":"x"})");
        b.read_until("image");
    }
    // b can read the frame before the sender's thread, back from the broadcast, counts it:
    // wait (bounded) for the count rather than race it.
    std::string r, body;
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    do {
        r = get(s.port(), "/metrics");
        body = body_of(r);
    } while (body.find("roomcast_frames_relayed_total 1\n") == std::string::npos &&
             std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(status_of(r), 200);
    EXPECT_NE(r.find("text/plain; version=0.0.4"), std::string::npos);
    EXPECT_NE(body.find("roomcast_frames_relayed_total 1\n"), std::string::npos) << body;
    EXPECT_NE(body.find("# TYPE roomcast_closes_total counter"), std::string::npos);
    EXPECT_EQ(status_of(get(s.port(), "/readyz")), 200);
}
