#pragma once
// Requests refused before any route looks at them: ambiguous framing (the shapes of request
// smuggling, RFC 9112 §6.3, §11.2) and header fields that must come once (RFC 6455 §4.2.1,
// §11.3.1; RFC 9112 §3.2). roomcast takes no request bodies, so it refuses every framing that
// would carry one instead of deciding which reading of it is right.

#include <roomcast/net.hpp>

#include <string_view>

namespace roomcast::transport {

/**
 * Whether a header block (the request line to the blank line, CRLF-terminated) folds a field
 * value over several lines (obs-fold, RFC 9112 §5.2): a line after the first starts with a
 * space or tab. Beast joins such a value with spaces without saying so, where another server
 * on the path may read the continuation as a field of its own.
 */
bool has_obs_fold(std::string_view head) noexcept;

/**
 * Why a parsed header must be refused with 400, or nullptr: Host missing or repeated; Origin
 * or Sec-WebSocket-Key repeated; any Transfer-Encoding (Beast takes "chunked, identity" or
 * "xchunked" as no body at all, a front proxy may not); Content-Length repeated, even with the
 * same value.
 */
char const* framing_error(http::fields const& f) noexcept;

}  // namespace roomcast::transport
