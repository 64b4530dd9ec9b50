// The pure parts of TLS set-up: SAN lists, fingerprints, and the self-signed certificate's
// life in the state directory (made, reused, renewed). No sockets.
#include <roomcast/tls/certificate.hpp>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace roomcast;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

pairing::interface_address iface(std::string name, std::string addr, bool v6 = false,
                                 bool loopback = false) {
    pairing::interface_address a;
    a.name = std::move(name);
    a.address = std::move(addr);
    a.ipv6 = v6;
    a.loopback = loopback;
    return a;
}

// A fresh directory under /tmp, removed at the end of the test.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "roomcast-tls-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

void write(fs::path const& p, std::string const& text) {
    std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST(Tls, SubjectAltNamesAreTheLanAddressesPlusLoopbackAndHostName) {
    std::vector<pairing::interface_address> addrs = {
        iface("wlan0", "192.168.1.20"),  iface("eth0", "10.0.0.7"),
        iface("docker0", "172.17.0.1"),  iface("lo", "127.0.0.1", false, true),
        iface("wlan0", "fe80::1", true), iface("wlan0", "2001:db8::5", true),
        iface("eth0", "169.254.3.3"),    iface("wlan0", "192.168.1.20"),
    };
    auto const sans = tls::lan_subject_alt_names(addrs, "myhost");
    std::vector<std::string> const want = {"IP:10.0.0.7",  "IP:192.168.1.20", "IP:2001:db8::5",
                                           "IP:127.0.0.1", "IP:::1",          "DNS:localhost",
                                           "DNS:myhost"};
    EXPECT_EQ(sans, want);
    // No host name, or one that is localhost: no extra entry.
    auto const bare = tls::lan_subject_alt_names({}, "");
    EXPECT_EQ(bare, (std::vector<std::string>{"IP:127.0.0.1", "IP:::1", "DNS:localhost"}));
    EXPECT_EQ(tls::lan_subject_alt_names({}, "localhost"), bare);
    // Upper-case IPv6 from an odd source comes out canonical.
    EXPECT_EQ(tls::lan_subject_alt_names({iface("eth0", "2001:DB8:0:0:0:0:0:9", true)}, "")[0],
              "IP:2001:db8::9");
}

TEST(Tls, FingerprintIsUpperCaseHexPairsWithColons) {
    unsigned char const d[] = {0x00, 0xab, 0x0f, 0xff};
    EXPECT_EQ(tls::format_fingerprint(d), "00:AB:0F:FF");
    EXPECT_EQ(tls::format_fingerprint({}), "");
}

TEST(Tls, CoversComparesAddressesAndNamesNotStrings) {
    std::vector<std::string> const have = {"IP:0:0:0:0:0:0:0:1", "DNS:MyHost", "IP:10.0.0.7"};
    EXPECT_TRUE(tls::covers(have, {"IP:::1", "DNS:myhost"}));
    EXPECT_TRUE(tls::covers(have, {}));
    EXPECT_FALSE(tls::covers(have, {"IP:10.0.0.8"}));
    EXPECT_FALSE(tls::covers({}, {"DNS:localhost"}));
}

TEST(Tls, SelfSignedCertificateNamesItsSansAndLastsAYear) {
    std::vector<std::string> const sans = {"IP:192.168.1.20", "IP:::1", "DNS:localhost"};
    std::string err;
    auto pair = tls::make_self_signed(sans, "roomcast test", tls::self_signed_validity, err);
    ASSERT_TRUE(pair) << err;
    EXPECT_NE(pair->cert.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
    EXPECT_NE(pair->key.find("PRIVATE KEY-----"), std::string::npos);
    auto facts = tls::inspect_certificate(pair->cert, err);
    ASSERT_TRUE(facts) << err;
    EXPECT_EQ(facts->sans, sans);
    EXPECT_EQ(facts->fingerprint.size(), 32u * 3 - 1);  // SHA-256
    auto const left = facts->not_after - std::chrono::system_clock::now();
    EXPECT_GT(left, std::chrono::hours(24 * 364));
    EXPECT_LT(left, std::chrono::hours(24 * 366));
    EXPECT_TRUE(tls::key_matches(pair->cert, pair->key));
    auto other = tls::make_self_signed(sans, "other", 1h, err);
    ASSERT_TRUE(other) << err;
    EXPECT_FALSE(tls::key_matches(pair->cert, other->key));
    EXPECT_NE(tls::inspect_certificate(other->cert, err)->fingerprint, facts->fingerprint);
    EXPECT_FALSE(tls::inspect_certificate("not a certificate", err));
    EXPECT_FALSE(err.empty());
}

TEST(Tls, StateDirectoryPairIsMadeOnceThenReusedThenRenewed) {
    temp_dir dir;
    auto const state = (dir.path / "state" / "roomcast").string();  // made with its parents
    std::vector<std::string> sans = {"IP:127.0.0.1", "DNS:localhost"};
    std::string err;
    auto first = tls::ensure_self_signed(state, sans, err);
    ASSERT_TRUE(first) << err;
    EXPECT_TRUE(first->created);
    EXPECT_EQ(first->reason, "none yet");
    struct stat st {};
    ASSERT_EQ(::stat(first->key_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(state.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    auto again = tls::ensure_self_signed(state, sans, err);
    ASSERT_TRUE(again) << err;
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->fingerprint, first->fingerprint);

    // A new LAN address the certificate does not name: a new certificate.
    sans.push_back("IP:192.168.7.7");
    auto wider = tls::ensure_self_signed(state, sans, err);
    ASSERT_TRUE(wider) << err;
    EXPECT_TRUE(wider->created);
    EXPECT_NE(wider->reason.find("does not cover IP:192.168.7.7"), std::string::npos)
        << wider->reason;
    EXPECT_NE(wider->fingerprint, first->fingerprint);

    // About to expire: renewed.
    auto soon = tls::make_self_signed(sans, "soon", 1h, err);
    ASSERT_TRUE(soon) << err;
    write(wider->cert_path, soon->cert);
    write(wider->key_path, soon->key);
    auto renewed = tls::ensure_self_signed(state, sans, err);
    ASSERT_TRUE(renewed) << err;
    EXPECT_TRUE(renewed->created);
    EXPECT_EQ(renewed->reason, "it expires within a week");

    // A key that is not the certificate's: replaced, not served.
    auto stray = tls::make_self_signed(sans, "stray", 1h, err);
    write(renewed->key_path, stray->key);
    auto fixed = tls::ensure_self_signed(state, sans, err);
    ASSERT_TRUE(fixed) << err;
    EXPECT_TRUE(fixed->created);
    EXPECT_EQ(fixed->reason, "the key does not match the certificate");

    // Garbage in the files: replaced too.
    write(fixed->cert_path, "garbage");
    auto from_garbage = tls::ensure_self_signed(state, sans, err);
    ASSERT_TRUE(from_garbage) << err;
    EXPECT_TRUE(from_garbage->created);
}

TEST(Tls, AStateDirectoryThatCannotBeMadeIsAnError) {
    std::string err;
    auto r = tls::ensure_self_signed("/proc/roomcast-cannot-be-here", {"DNS:localhost"}, err);
    EXPECT_FALSE(r);
    EXPECT_NE(err.find("/proc/roomcast-cannot-be-here"), std::string::npos) << err;
}

TEST(Tls, DefaultStateDirFollowsXdgThenHome) {
    EXPECT_EQ(tls::default_state_dir("/x/state", "/home/u"), "/x/state/roomcast");
    EXPECT_EQ(tls::default_state_dir(nullptr, "/home/u"), "/home/u/.local/state/roomcast");
    EXPECT_EQ(tls::default_state_dir("relative", "/home/u"), "/home/u/.local/state/roomcast");
    EXPECT_EQ(tls::default_state_dir("", nullptr), "");
}
