#pragma once
// TLS for the listener: the stream type a TLS connection lives in, and the server context.

#include <roomcast/net.hpp>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <memory>
#include <string>

namespace roomcast::transport {

/**
 * A TLS connection: OpenSSL over a tcp_stream (whose expiry bounds the handshake and the HTTP
 * reads, as for plain connections). Beast's ssl_stream rather than asio's: its flat_stream
 * copies a gathered write of small buffers into one buffer (up to 16 KiB, one TLS record),
 * where net::ssl::stream would write only the first buffer of the sequence.
 */
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

/**
 * A server context serving `cert_path` (PEM, the chain: leaf first) with `key_path` (PEM):
 * TLS 1.2 and later only. nullptr and a start-up message in `err` when a file is missing or
 * unreadable, not PEM, or the key is not the certificate's.
 */
std::unique_ptr<net::ssl::context> make_server_tls(std::string const& cert_path,
                                                   std::string const& key_path, std::string& err);

}  // namespace roomcast::transport
