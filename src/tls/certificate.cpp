#include "roomcast/tls/certificate.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace roomcast::tls {

namespace {

// OpenSSL objects with their free functions, so every early return cleans up.
template <class T, void (*Free)(T*)>
struct deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using bio_ptr = std::unique_ptr<BIO, deleter<BIO, BIO_free_all>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using names_ptr = std::unique_ptr<GENERAL_NAMES, deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

// The oldest queued OpenSSL error as text (and the queue cleared), after `what`.
std::string ssl_error(std::string what) {
    unsigned long const e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return what;
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return what + ": " + buf;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// One SAN entry in the form we compare: IPs through inet_pton/inet_ntop, names lower-case.
std::string canonical(std::string const& entry) {
    if (entry.rfind("IP:", 0) == 0) {
        auto const text = entry.substr(3);
        unsigned char raw[16];
        char out[INET6_ADDRSTRLEN] = {};
        if (inet_pton(AF_INET, text.c_str(), raw) == 1 && inet_ntop(AF_INET, raw, out, sizeof out))
            return std::string("IP:") + out;
        if (inet_pton(AF_INET6, text.c_str(), raw) == 1 &&
            inet_ntop(AF_INET6, raw, out, sizeof out))
            return std::string("IP:") + out;
        return entry;
    }
    if (entry.rfind("DNS:", 0) == 0) return "DNS:" + lower(entry.substr(4));
    return entry;
}

bool add_extension(X509* x, X509V3_CTX* ctx, int nid, std::string const& value, std::string& err) {
    ext_ptr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
    if (!ext || X509_add_ext(x, ext.get(), -1) != 1) {
        err = ssl_error(std::string("cannot add ") + OBJ_nid2sn(nid) + " '" + value + "'");
        return false;
    }
    return true;
}

std::string bio_text(BIO* b) {
    char* data = nullptr;
    long const n = BIO_get_mem_data(b, &data);
    return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

x509_ptr parse_cert(std::string const& pem) {
    bio_ptr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!b) return nullptr;
    return x509_ptr(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

pkey_ptr parse_key(std::string const& pem) {
    bio_ptr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!b) return nullptr;
    return pkey_ptr(PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
}

// Writes `text` to `path` with `mode` through a temporary file and a rename, so a crash never
// leaves half a key, and the key is never readable by others, not even for a moment.
bool write_atomically(std::string const& path, std::string const& text, mode_t mode,
                      std::string& err) {
    std::string const tmp = path + ".tmp";
    ::unlink(tmp.c_str());
    int const fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        err = "cannot create " + tmp + ": " + std::strerror(errno);
        return false;
    }
    bool ok = ::fchmod(fd, mode) == 0;  // the umask may have taken bits off; set them exactly
    std::size_t done = 0;
    while (ok && done < text.size()) {
        auto const n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) ok = false;
        if (n > 0) done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    int const saved = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        err = "cannot write " + path + ": " + std::strerror(ok ? errno : saved);
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

}  // namespace

std::vector<std::string> lan_subject_alt_names(std::vector<pairing::interface_address> const& addrs,
                                               std::string_view hostname) {
    std::vector<std::string> out;
    for (auto const& a : pairing::lan_addresses(addrs))
        out.push_back("IP:" + a);
    for (char const* ip : {"127.0.0.1", "::1"})
        out.push_back(std::string("IP:") + ip);
    out.push_back("DNS:localhost");
    if (!hostname.empty() && hostname != "localhost") out.push_back("DNS:" + std::string(hostname));
    for (auto& e : out)
        e = canonical(e);
    // Each once, in the order built (LAN addresses first: the ones phones use).
    std::vector<std::string> unique;
    for (auto& e : out)
        if (std::find(unique.begin(), unique.end(), e) == unique.end()) unique.push_back(e);
    return unique;
}

std::string format_fingerprint(std::span<unsigned char const> digest) {
    static char const hex[] = "0123456789ABCDEF";
    std::string s;
    s.reserve(digest.size() * 3);
    for (unsigned char c : digest) {
        if (!s.empty()) s += ':';
        s += hex[c >> 4];
        s += hex[c & 15];
    }
    return s;
}

bool covers(std::vector<std::string> const& have, std::vector<std::string> const& wanted) {
    std::vector<std::string> h;
    h.reserve(have.size());
    for (auto const& e : have)
        h.push_back(canonical(e));
    return std::all_of(wanted.begin(), wanted.end(), [&](std::string const& w) {
        return std::find(h.begin(), h.end(), canonical(w)) != h.end();
    });
}

std::optional<pem_pair> make_self_signed(std::vector<std::string> const& sans,
                                         std::string const& common_name,
                                         std::chrono::seconds validity, std::string& err) {
    ERR_clear_error();
    pkey_ptr key(EVP_EC_gen("P-256"));
    if (!key) {
        err = ssl_error("cannot generate an EC P-256 key");
        return std::nullopt;
    }
    x509_ptr x(X509_new());
    if (!x || X509_set_version(x.get(), 2) != 1) {  // 2 means v3 (extensions)
        err = ssl_error("cannot create a certificate");
        return std::nullopt;
    }
    // A random serial: a browser that saw an earlier certificate must not confuse the two.
    bn_ptr serial(BN_new());
    if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get()))) {
        err = ssl_error("cannot make a serial number");
        return std::nullopt;
    }
    if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(validity.count())) ||
        X509_set_pubkey(x.get(), key.get()) != 1) {
        err = ssl_error("cannot set validity or public key");
        return std::nullopt;
    }
    X509_NAME* name = X509_get_subject_name(x.get());
    auto const* cn = reinterpret_cast<unsigned char const*>(common_name.c_str());
    auto const* org = reinterpret_cast<unsigned char const*>("roomcast self-signed");
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, org, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1 ||
        X509_set_issuer_name(x.get(), name) != 1) {
        err = ssl_error("cannot set the certificate's name");
        return std::nullopt;
    }
    std::string san_list;
    for (auto const& s : sans)
        san_list += (san_list.empty() ? "" : ",") + s;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
    if (!add_extension(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE", err) ||
        !add_extension(x.get(), &ctx, NID_key_usage, "critical,digitalSignature", err) ||
        !add_extension(x.get(), &ctx, NID_ext_key_usage, "serverAuth", err) ||
        !add_extension(x.get(), &ctx, NID_subject_key_identifier, "hash", err) ||
        (!san_list.empty() && !add_extension(x.get(), &ctx, NID_subject_alt_name, san_list, err)))
        return std::nullopt;
    if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) {
        err = ssl_error("cannot sign the certificate");
        return std::nullopt;
    }
    bio_ptr kb(BIO_new(BIO_s_mem()));
    bio_ptr cb(BIO_new(BIO_s_mem()));
    if (!kb || !cb ||
        PEM_write_bio_PrivateKey(kb.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_X509(cb.get(), x.get()) != 1) {
        err = ssl_error("cannot encode PEM");
        return std::nullopt;
    }
    return pem_pair{bio_text(cb.get()), bio_text(kb.get())};
}

std::optional<cert_facts> inspect_certificate(std::string const& cert_pem, std::string& err) {
    ERR_clear_error();
    auto x = parse_cert(cert_pem);
    if (!x) {
        err = ssl_error("not a PEM certificate");
        return std::nullopt;
    }
    cert_facts f;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(x.get(), EVP_sha256(), md, &len) != 1) {
        err = ssl_error("cannot hash the certificate");
        return std::nullopt;
    }
    f.fingerprint = format_fingerprint({md, len});
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x.get()), &tm) != 1) {
        err = ssl_error("cannot read the certificate's expiry");
        return std::nullopt;
    }
    f.not_after = std::chrono::system_clock::from_time_t(timegm(&tm));
    names_ptr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        GENERAL_NAME const* g = sk_GENERAL_NAME_value(names.get(), i);
        if (g->type == GEN_DNS) {
            auto const* s = g->d.dNSName;
            f.sans.push_back("DNS:" +
                             std::string(reinterpret_cast<char const*>(ASN1_STRING_get0_data(s)),
                                         static_cast<std::size_t>(ASN1_STRING_length(s))));
        } else if (g->type == GEN_IPADD) {
            auto const* s = g->d.iPAddress;
            int const n = ASN1_STRING_length(s);
            char out[INET6_ADDRSTRLEN] = {};
            if ((n == 4 || n == 16) &&
                inet_ntop(n == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), out, sizeof out))
                f.sans.push_back(std::string("IP:") + out);
        }
    }
    return f;
}

bool key_matches(std::string const& cert_pem, std::string const& key_pem) {
    auto x = parse_cert(cert_pem);
    auto k = parse_key(key_pem);
    bool const ok = x && k && X509_check_private_key(x.get(), k.get()) == 1;
    ERR_clear_error();
    return ok;
}

std::optional<std::string> read_file(std::string const& path, std::string& err) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        err = "cannot read " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        err = "cannot read " + path;
        return std::nullopt;
    }
    return ss.str();
}

std::optional<self_signed_files> ensure_self_signed(std::string const& dir,
                                                    std::vector<std::string> const& sans,
                                                    std::string& err) {
    namespace fs = std::filesystem;
    self_signed_files out;
    out.cert_path = (fs::path(dir) / "cert.pem").string();
    out.key_path = (fs::path(dir) / "key.pem").string();

    // Reuse what is there when it still fits: the phone accepted its fingerprint once.
    std::error_code ec;
    if (fs::exists(out.cert_path, ec) || fs::exists(out.key_path, ec)) {
        std::string why;
        auto cert = read_file(out.cert_path, why);
        auto key = cert ? read_file(out.key_path, why) : std::nullopt;
        auto facts = cert && key ? inspect_certificate(*cert, why) : std::nullopt;
        if (facts) {
            auto const left = facts->not_after - std::chrono::system_clock::now();
            std::vector<std::string> missing;
            for (auto const& s : sans)
                if (!covers(facts->sans, {s})) missing.push_back(s);
            if (!key_matches(*cert, *key)) {
                why = "the key does not match the certificate";
            } else if (left < renew_before) {
                why = left.count() <= 0 ? "it expired" : "it expires within a week";
            } else if (!missing.empty()) {
                why = "it does not cover " + missing.front() +
                      (missing.size() > 1 ? " and " + std::to_string(missing.size() - 1) + " more"
                                          : "");
            } else {
                out.fingerprint = facts->fingerprint;
                return out;
            }
        }
        out.reason = why;
    } else {
        out.reason = "none yet";
    }

    fs::create_directories(dir, ec);
    if (ec) {
        err = "cannot create state directory " + dir + ": " + ec.message();
        return std::nullopt;
    }
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);  // best effort
    auto const host = host_name();
    auto pair =
        make_self_signed(sans, host.empty() ? std::string("roomcast") : "roomcast on " + host,
                         self_signed_validity, err);
    if (!pair) return std::nullopt;
    // The key first: a certificate is never on disk without the key it was made for.
    if (!write_atomically(out.key_path, pair->key, 0600, err) ||
        !write_atomically(out.cert_path, pair->cert, 0644, err))
        return std::nullopt;
    auto facts = inspect_certificate(pair->cert, err);
    if (!facts) return std::nullopt;
    out.fingerprint = facts->fingerprint;
    out.created = true;
    return out;
}

std::string default_state_dir(char const* xdg_state_home, char const* home) {
    // The XDG spec says relative paths in these variables are invalid and must be ignored.
    if (xdg_state_home && xdg_state_home[0] == '/')
        return (std::filesystem::path(xdg_state_home) / "roomcast").string();
    if (home && home[0] == '/')
        return (std::filesystem::path(home) / ".local" / "state" / "roomcast").string();
    return {};
}

std::string host_name() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return {};
    return buf;
}

}  // namespace roomcast::tls
