#pragma once

#include <roomcast/transport/client_address.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::transport {

/** A Host header value taken apart (RFC 9110 §7.2: uri-host [":" port]). */
struct request_host {
    std::string name;                    // lower case, no trailing dot, IPv6 without brackets
    std::optional<net::ip::address> ip;  // set when the name is an IP literal
    std::optional<std::uint16_t> port;
};

/**
 * "Photos.Example.com.:8080" → {"photos.example.com", port 8080}; "[::1]:80" → {"::1", ::1, 80}.
 * nullopt for what a Host may not be: empty, an IPv6 address without brackets, a zone id, an
 * empty or non-numeric port, a character outside a registered name's (letters, digits, "-._~").
 */
std::optional<request_host> parse_host(std::string_view value);

/**
 * The host names this server answers to, against DNS rebinding: a page of evil.example whose
 * name the attacker then points at this machine is same-origin with itself, so the Origin check
 * passes, but its requests say `Host: evil.example`. Answered are the loopback names
 * (localhost, *.localhost, 127.0.0.0/8, ::1), IP literals that are this machine's own
 * addresses, the public URL's host, and the configured list; "*" answers any.
 *
 * The port is not looked at: a rebinding page can only name the port it connects to, and
 * behind a proxy or NAT the port a client names is not the one we listen on.
 */
class host_policy {
  public:
    enum class verdict { allowed, unknown, malformed };

    host_policy() = default;

    /**
     * `list`: comma-separated host names or IP literals without a port, or "*". The host of
     * `public_url` (scheme://host[:port][/path]) is added. nullopt, and `bad` set to the
     * offending entry, when one does not parse.
     */
    static std::optional<host_policy> parse(std::string_view list, std::string_view public_url,
                                            std::string& bad);

    /**
     * What to do with a request whose Host is `value`. `is_own_address` is asked only about an
     * IP literal nothing else decides (it may be slow: it reads the interfaces).
     */
    verdict check(std::string_view value,
                  std::function<bool(net::ip::address const&)> const& is_own_address) const;

    bool allows_any() const noexcept { return any_; }

  private:
    std::vector<std::string> names_;
    std::vector<net::ip::address> addresses_;
    bool any_ = false;
};

/**
 * This machine's interface addresses, read once and again when asked about an address it does
 * not hold, at most once per `refresh` (a new DHCP lease or Wi-Fi network shows up within it;
 * a stream of unknown addresses costs at most one read a `refresh`). Thread-safe.
 */
class own_addresses {
  public:
    using source = std::function<std::vector<net::ip::address>()>;

    /** By default the addresses come from getifaddrs. */
    explicit own_addresses(source s = {},
                           std::chrono::milliseconds refresh = std::chrono::seconds(1));

    bool contains(net::ip::address const& a,
                  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  private:
    source source_;
    std::chrono::milliseconds refresh_;
    std::mutex mutex_;
    std::vector<net::ip::address> known_;
    std::optional<std::chrono::steady_clock::time_point> read_at_;
};

}  // namespace roomcast::transport
