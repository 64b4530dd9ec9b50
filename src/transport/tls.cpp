#include "roomcast/transport/tls.hpp"

#include <roomcast/tls/certificate.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace roomcast::transport {

std::unique_ptr<net::ssl::context> make_server_tls(std::string const& cert_path,
                                                   std::string const& key_path, std::string& err) {
    // Read the files ourselves first: "cannot read /x/cert.pem: No such file or directory"
    // says more than OpenSSL's "system lib".
    std::string why;
    auto const cert = tls::read_file(cert_path, why);
    if (!cert) {
        err = "TLS certificate: " + why;
        return nullptr;
    }
    auto const key = tls::read_file(key_path, why);
    if (!key) {
        err = "TLS key: " + why;
        return nullptr;
    }
    auto ctx = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
    error_code ec;
    ctx->use_certificate_chain(net::buffer(*cert), ec);
    if (ec) {
        err = "TLS certificate " + cert_path + " is not a PEM certificate: " + ec.message();
        return nullptr;
    }
    ctx->use_private_key(net::buffer(*key), net::ssl::context::pem, ec);
    if (ec &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
        err = "TLS key " + key_path + " does not match the certificate " + cert_path;
        return nullptr;
    }
    if (ec) {
        err = "TLS key " + key_path + " is not a usable PEM private key: " + ec.message();
        return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
        ERR_clear_error();
        err = "TLS key " + key_path + " does not match the certificate " + cert_path;
        return nullptr;
    }
    return ctx;
}

}  // namespace roomcast::transport
