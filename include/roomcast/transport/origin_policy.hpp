#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::transport {

/**
 * "HTTPS://Photos.Example.com:443/" → "https://photos.example.com": lower case, no path, no
 * default port. nullopt for anything that is not scheme://host[:port] (including "null").
 */
std::optional<std::string> normalize_origin(std::string_view origin);

/**
 * Which pages may open a WebSocket here (against cross-site WebSocket hijacking): the server's
 * own origin (the Origin's host:port is the request's Host), the origin of the public URL, and
 * the configured list; "*" allows any. A request without Origin is not from a browser page
 * and is allowed: browsers always send it on a WebSocket upgrade.
 */
class origin_policy {
  public:
    origin_policy() = default;

    /** `list`: comma-separated origins or "*"; nullopt (and `bad` set) if one is invalid. */
    static std::optional<origin_policy> parse(std::string_view list, std::string_view public_url,
                                              std::string& bad);

    bool allows(std::string_view origin, std::string_view host) const;
    bool allows_any() const noexcept { return any_; }

  private:
    std::vector<std::string> allowed_;  // normalized
    bool any_ = false;
};

}  // namespace roomcast::transport
