#include "roomcast/transport/request_checks.hpp"

namespace roomcast::transport {

bool has_obs_fold(std::string_view head) noexcept {
    for (auto eol = head.find("\r\n"); eol != std::string_view::npos && eol + 2 < head.size();
         eol = head.find("\r\n", eol + 2)) {
        char const next = head[eol + 2];
        if (next == ' ' || next == '\t') return true;
    }
    return false;
}

char const* framing_error(http::fields const& f) noexcept {
    auto const hosts = f.count(http::field::host);
    if (hosts == 0) return "no Host";
    if (hosts > 1) return "more than one Host";
    if (f.count(http::field::origin) > 1) return "more than one Origin";
    if (f.count(http::field::sec_websocket_key) > 1) return "more than one Sec-WebSocket-Key";
    if (f.count(http::field::transfer_encoding) > 0)
        return "Transfer-Encoding (no request body is accepted)";
    if (f.count(http::field::content_length) > 1) return "more than one Content-Length";
    return nullptr;
}

}  // namespace roomcast::transport
