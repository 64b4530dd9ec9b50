// TLS against the real server on 127.0.0.1: HTTPS and WSS beside plain HTTP on one port,
// start-up errors, and --tls-self-signed's certificate in a state directory.
#include "support/raw_http.hpp"
#include "support/test_server.hpp"
#include "support/tls_client.hpp"
#include "support/ws_client.hpp"

#include <roomcast/tls/certificate.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

using namespace roomcast;
using namespace roomcast::test;
namespace fs = std::filesystem;

namespace {

// A fresh directory under /tmp, removed at the end of the test.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "roomcast-tls-it-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string slurp(fs::path const& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A certificate for 127.0.0.1/localhost made with the server's own generator, on disk.
struct cert_files {
    temp_dir dir;
    std::string cert_pem;
    fs::path cert, key;
    cert_files() {
        std::string err;
        auto pair = tls::make_self_signed(tls::lan_subject_alt_names({}, ""), "roomcast test",
                                          tls::self_signed_validity, err);
        if (!pair) throw std::runtime_error(err);
        cert_pem = pair->cert;
        cert = dir.path / "cert.pem";
        key = dir.path / "key.pem";
        std::ofstream(cert, std::ios::binary) << pair->cert;
        std::ofstream(key, std::ios::binary) << pair->key;
    }
};

config tls_config(cert_files const& f) {
    auto c = test_config();
    c.tls_cert = f.cert.string();
    c.tls_key = f.key.string();
    return c;
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xFF);
    return s;
}

std::optional<std::string> start_error(config const& c) {
    init_logging(c);
    server srv(c);
    auto err = srv.start();
    if (!err) {
        srv.shutdown();
        srv.wait();
    }
    return err;
}

// Everything logged while it lives (at info and above), as text.
class log_capture {
  public:
    log_capture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
        spdlog::default_logger()->sinks().push_back(sink_);
    }
    ~log_capture() {
        auto& sinks = spdlog::default_logger()->sinks();
        std::erase(sinks, sink_);
    }
    std::string text() {
        spdlog::default_logger()->flush();
        return out_.str();
    }

  private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

}  // namespace

TEST(Tls, HttpsServesHealthzAndTheClientVerifiedAgainstTheCertificate) {
    cert_files f;
    running_server s(tls_config(f));
    auto ctx = trusting(f.cert_pem);
    auto h = https_get(s.port(), "/healthz", *ctx);
    ASSERT_FALSE(h.ec) << h.ec.message();
    EXPECT_EQ(h.status, 200);
    EXPECT_NE(h.body.find("\"status\":\"ok\""), std::string::npos) << h.body;
    auto root = https_get(s.port(), "/", *ctx);
    ASSERT_FALSE(root.ec) << root.ec.message();
    EXPECT_EQ(root.status, 200);
    EXPECT_EQ(root.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(root.body, slurp(fs::path(ROOMCAST_TEST_WEB_ROOT) / "index.html"));
    // The LAN origins a phone is offered are https now (whatever this host's interfaces are).
    auto origins = https_get(s.port(), "/api/origins", *ctx);
    EXPECT_EQ(origins.status, 200);
    EXPECT_EQ(origins.body.find("http://"), std::string::npos) << origins.body;
    std::string err;
    EXPECT_EQ(s.get().tls_fingerprint(), tls::inspect_certificate(f.cert_pem, err)->fingerprint);
}

TEST(Tls, AClientTrustingAnotherCertificateIsRefused) {
    cert_files f, other;
    running_server s(tls_config(f));
    auto ctx = trusting(other.cert_pem);
    auto h = https_get(s.port(), "/healthz", *ctx);
    EXPECT_TRUE(h.ec);  // certificate verify failed
    EXPECT_EQ(h.status, 0);
    // The server goes on serving those that trust it.
    auto good = trusting(f.cert_pem);
    EXPECT_EQ(https_get(s.port(), "/healthz", *good).status, 200);
}

TEST(Tls, PlainHttpAndPlainWebSocketsStillWorkOnTheSamePort) {
    cert_files f;
    running_server s(tls_config(f));
    auto r = raw_exchange(s.port(),
                          "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(r), 200) << r;
    // A plain and a TLS member of one room relay to each other.
    auto ctx = trusting(f.cert_pem);
    wss_client secure(s.port(), *ctx);
    ws_client plain(s.port());
    ASSERT_EQ(secure.join("mixed")["type"], "joined");
    ASSERT_EQ(plain.join("mixed")["type"], "joined");
    EXPECT_EQ(secure.read_until("peer-joined")["id"], plain.id());
    auto const blob = random_bytes(200'000, 7);
    plain.send_binary(blob);
    auto m = secure.read();
    ASSERT_FALSE(m.ec) << m.ec.message();
    EXPECT_FALSE(m.text);
    EXPECT_EQ(m.data, blob);
    secure.send_binary(blob);
    auto back = plain.read();
    ASSERT_FALSE(back.ec) << back.ec.message();
    EXPECT_EQ(back.data, blob);
}

TEST(Tls, WssRelaysAOneMebibyteBinaryFrameAndATextFrameIntact) {
    cert_files f;
    running_server s(tls_config(f));
    auto ctx = trusting(f.cert_pem);
    wss_client a(s.port(), *ctx), b(s.port(), *ctx);
    ASSERT_EQ(a.join("tls-room")["type"], "joined");
    ASSERT_EQ(b.join("tls-room")["type"], "joined");
    EXPECT_EQ(a.read_until("peer-joined")["id"], b.id());

    auto const big = random_bytes(1u << 20, 42);
    a.send_binary(big);
    auto m = b.read(std::chrono::seconds(20));
    ASSERT_FALSE(m.ec) << m.ec.message();
    EXPECT_FALSE(m.text);
    EXPECT_EQ(m.data.size(), big.size());
    EXPECT_TRUE(m.data == big);

    std::string const text =
        R"({ "type":"image" ,"data":"data:image/png;base64,iVBOR\u00e9w0=","x":[1,{"y":null}] })";
    a.send_text(text);
    auto t = b.read();
    ASSERT_FALSE(t.ec) << t.ec.message();
    EXPECT_TRUE(t.text);
    EXPECT_EQ(t.data, text);

    // Many small frames back the other way: batched writes over TLS keep order and bytes.
    for (int i = 0; i < 200; ++i)
        b.send_binary(std::to_string(i) + std::string(static_cast<std::size_t>(i) * 37, 'x'));
    for (int i = 0; i < 200; ++i) {
        auto r = a.read();
        ASSERT_FALSE(r.ec) << r.ec.message() << " at " << i;
        EXPECT_EQ(r.data, std::to_string(i) + std::string(static_cast<std::size_t>(i) * 37, 'x'));
    }
}

TEST(Tls, ACloseWith1000OverTlsGivesPeerLeftToTheOthers) {
    cert_files f;
    running_server s(tls_config(f));
    auto ctx = trusting(f.cert_pem);
    wss_client a(s.port(), *ctx), b(s.port(), *ctx);
    a.join("bye");
    b.join("bye");
    a.read_until("peer-joined");
    auto const bid = b.id();
    b.close(boost::beast::websocket::close_code::normal);
    EXPECT_EQ(b.stream().reason().code, boost::beast::websocket::close_code::normal);
    auto left = a.read_until("peer-left", std::chrono::seconds(10));
    ASSERT_TRUE(left.is_object());
    EXPECT_EQ(left["id"], bid);
}

TEST(Tls, AStalledTlsReaderIsDroppedWhileTheOthersGetEverything) {
    cert_files f;
    auto cfg = tls_config(f);
    cfg.max_message_bytes = 64u << 10;
    cfg.send_high_water_bytes = 256u << 10;
    cfg.send_max_bytes = 1u << 20;
    cfg.send_timeout = std::chrono::milliseconds(500);
    running_server s(cfg);
    auto ctx = trusting(f.cert_pem);
    wss_client sender(s.port(), *ctx), good(s.port(), *ctx), stalled(s.port(), *ctx);
    sender.join("bp");
    good.join("bp");
    stalled.join("bp");  // and never reads again
    sender.read_until("peer-joined");
    auto const stalled_id = sender.read_until("peer-joined")["id"];

    constexpr int frames = 160;  // 9.4 MiB: past kernel buffers and the 1 MiB cap
    std::string payload(60u << 10, 'p');
    int received = 0;
    for (int i = 0; i < frames; ++i) {
        std::memcpy(payload.data(), &i, sizeof i);
        sender.send_binary(payload);
        for (;;) {
            auto m = good.read(std::chrono::seconds(30));
            ASSERT_FALSE(m.ec) << m.ec.message() << " after " << received;
            if (m.text) continue;  // presence messages
            int seq;
            std::memcpy(&seq, m.data.data(), sizeof seq);
            EXPECT_EQ(seq, received);
            ++received;
            break;
        }
    }
    EXPECT_EQ(received, frames);
    EXPECT_EQ(sender.read_until("peer-away", std::chrono::seconds(30))["id"], stalled_id);
    EXPECT_EQ(s.get().counters().close_slow_reader.load(), 1u);
}

TEST(Tls, StartFailsWithAClearMessageForBadFiles) {
    cert_files f, other;
    auto c = tls_config(f);
    c.tls_key = other.key.string();  // a key, but not this certificate's
    auto err = start_error(c);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("does not match"), std::string::npos) << *err;

    c = tls_config(f);
    c.tls_cert = (f.dir.path / "missing.pem").string();
    err = start_error(c);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("cannot read"), std::string::npos) << *err;
    EXPECT_NE(err->find("missing.pem"), std::string::npos) << *err;

    c = tls_config(f);
    c.tls_key = (f.dir.path / "nokey.pem").string();
    err = start_error(c);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("nokey.pem"), std::string::npos) << *err;

    c = tls_config(f);
    std::ofstream(f.dir.path / "junk.pem") << "not pem\n";
    c.tls_cert = (f.dir.path / "junk.pem").string();
    err = start_error(c);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("not a PEM certificate"), std::string::npos) << *err;

    c = tls_config(f);
    c.tls_key.clear();
    err = start_error(c);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("needs --tls-key"), std::string::npos) << *err;

    c = tls_config(f);
    c.tls_self_signed = true;
    err = start_error(c);
    ASSERT_TRUE(err);
    EXPECT_NE(err->find("exclude each other"), std::string::npos) << *err;
}

TEST(Tls, SelfSignedIsMadeInTheStateDirOnceThenReused) {
    temp_dir dir;
    auto c = test_config();
    c.tls_self_signed = true;
    c.state_dir = (dir.path / "state").string();
    c.log_level = "info";
    auto const cert_path = dir.path / "state" / "cert.pem";
    auto const key_path = dir.path / "state" / "key.pem";

    std::string first;
    {
        init_logging(c);
        log_capture logs;
        server srv(c);
        auto err = srv.start();
        ASSERT_FALSE(err) << *err;
        first = srv.tls_fingerprint();
        EXPECT_EQ(first.size(), 32u * 3 - 1);
        auto const text = logs.text();
        EXPECT_NE(text.find("made a self-signed certificate"), std::string::npos) << text;
        EXPECT_NE(text.find(first), std::string::npos) << text;  // the fingerprint, logged
        EXPECT_NE(text.find("listening on https://"), std::string::npos) << text;
        ASSERT_TRUE(fs::exists(cert_path));
        struct stat st {};
        ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        // It serves what it wrote, and it names 127.0.0.1.
        auto ctx = trusting(slurp(cert_path));
        EXPECT_EQ(https_get(srv.port(), "/healthz", *ctx).status, 200);
        srv.shutdown();
        srv.wait();
    }
    {
        init_logging(c);
        log_capture logs;
        server srv(c);
        auto err = srv.start();
        ASSERT_FALSE(err) << *err;
        EXPECT_EQ(srv.tls_fingerprint(), first);
        auto const text = logs.text();
        EXPECT_NE(text.find("reusing the self-signed certificate"), std::string::npos) << text;
        EXPECT_NE(text.find(first), std::string::npos) << text;
        srv.shutdown();
        srv.wait();
    }
    spdlog::set_level(spdlog::level::warn);
}
