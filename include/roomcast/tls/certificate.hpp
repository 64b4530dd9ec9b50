#pragma once
// Certificates for HTTPS on a LAN: the names a phone reaches this host by, a self-signed
// certificate for them (OpenSSL EVP/X509), and the facts we check before reusing one.
// No Asio here: the unit tests build this without Beast.

#include <roomcast/pairing/origins.hpp>

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::tls {

/** Validity of a generated certificate (browsers refuse more than 398 days for public CAs). */
inline constexpr std::chrono::hours self_signed_validity{24 * 365};
/** A certificate expiring sooner than this is replaced at start rather than reused. */
inline constexpr std::chrono::hours renew_before{24 * 7};

/**
 * The subjectAltName entries ("IP:192.168.1.20", "DNS:localhost") a LAN certificate must
 * hold: the addresses pairing::lan_origins offers phones, then localhost, 127.0.0.1, ::1 and
 * `hostname` (when not empty). Sorted within each kind, no duplicates.
 */
std::vector<std::string> lan_subject_alt_names(std::vector<pairing::interface_address> const& addrs,
                                               std::string_view hostname);

/** A digest as browsers show it: upper-case hex pairs joined by ':'. */
std::string format_fingerprint(std::span<unsigned char const> digest);

/**
 * True when every entry of `wanted` is in `have`. IP entries compare as addresses
 * ("IP:0:0:0:0:0:0:0:1" is "IP:::1"), DNS entries without regard to case.
 */
bool covers(std::vector<std::string> const& have, std::vector<std::string> const& wanted);

struct pem_pair {
    std::string cert;
    std::string key;
};

/**
 * A new self-signed server certificate: EC P-256 key, SHA-256 signature, a random 127-bit
 * serial, valid from an hour ago (clock skew) for `validity`, with `sans` as its
 * subjectAltName, CA:FALSE and serverAuth (what iOS and Android ask of a server certificate).
 * nullopt and `err` on failure.
 */
std::optional<pem_pair> make_self_signed(std::vector<std::string> const& sans,
                                         std::string const& common_name,
                                         std::chrono::seconds validity, std::string& err);

/** What we read back from a PEM certificate. */
struct cert_facts {
    std::string fingerprint;  // SHA-256, format_fingerprint
    std::chrono::system_clock::time_point not_after;
    std::vector<std::string> sans;  // "IP:…" / "DNS:…"
};

std::optional<cert_facts> inspect_certificate(std::string const& cert_pem, std::string& err);

/** True when `key_pem` is the private key of `cert_pem`. */
bool key_matches(std::string const& cert_pem, std::string const& key_pem);

/** The certificate and key a --tls-self-signed start serves, and what happened to them. */
struct self_signed_files {
    std::string cert_path;
    std::string key_path;
    std::string fingerprint;
    bool created = false;
    std::string reason;  // why a new one was made ("none yet", "expires …", "does not cover …")
};

/**
 * `dir`/cert.pem and `dir`/key.pem: reused when they parse, match, cover `sans` and stay
 * valid past renew_before; otherwise made anew (key mode 0600, dir 0700, written atomically).
 */
std::optional<self_signed_files> ensure_self_signed(std::string const& dir,
                                                    std::vector<std::string> const& sans,
                                                    std::string& err);

/** $XDG_STATE_HOME/roomcast, else $HOME/.local/state/roomcast, else "" (either may be null). */
std::string default_state_dir(char const* xdg_state_home, char const* home);

/** gethostname(), or "" when it fails. */
std::string host_name();

/** The whole file, or nullopt and `err` ("cannot read …: reason"). */
std::optional<std::string> read_file(std::string const& path, std::string& err);

}  // namespace roomcast::tls
