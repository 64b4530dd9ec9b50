#pragma once
// The server side of the RFC 6455 opening handshake, as pure functions over header values.

#include <string>
#include <string_view>

namespace roomcast::ws {

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (SHA-1 + base64, via OpenSSL). */
std::string accept_key(std::string_view client_key);

/** True when the key is base64 of exactly 16 bytes (RFC 6455 §4.2.1 item 5). */
bool valid_client_key(std::string_view key) noexcept;

/** True when a comma-separated header value (e.g. Connection) holds `token`, ignoring case. */
bool has_token(std::string_view header_value, std::string_view token) noexcept;

}  // namespace roomcast::ws
