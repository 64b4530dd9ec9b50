#pragma once

#include <roomcast/net.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::transport {

/** An address block such as 10.0.0.0/8, fd00::/8 or a single 192.0.2.7. */
struct cidr {
    net::ip::address base;
    unsigned prefix = 0;  // bits that must match

    /** Parses "a.b.c.d", "a.b.c.d/n", "v6" or "v6/n"; nullopt on anything else. */
    static std::optional<cidr> parse(std::string_view text);
    bool contains(net::ip::address const& a) const noexcept;
};

/**
 * A set of address blocks, or every address ("*"): who may read /metrics
 * (ROOMCAST_METRICS_FROM).
 */
class address_set {
  public:
    address_set() = default;

    /** "127.0.0.0/8, ::1, *" → the set; nullopt (and `bad` set) if an entry is invalid. */
    static std::optional<address_set> parse(std::string_view list, std::string& bad);

    bool contains(net::ip::address const& a) const noexcept;

  private:
    std::vector<cidr> blocks_;
    bool any_ = false;
};

/**
 * Loopback, the private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) and link-local
 * (169.254/16, fe80::/10): a client on this machine or its local network.
 */
bool is_local_network(net::ip::address const& a) noexcept;

/**
 * The proxies whose X-Forwarded-For we believe (ROOMCAST_TRUSTED_PROXIES). Empty: none, and
 * every client is its TCP peer address.
 */
class trusted_proxies {
  public:
    trusted_proxies() = default;
    explicit trusted_proxies(std::vector<cidr> blocks) : blocks_(std::move(blocks)) {}

    /** "10.0.0.0/8, 127.0.0.1" → blocks; nullopt (and `bad` set) if an entry is invalid. */
    static std::optional<trusted_proxies> parse(std::string_view list, std::string& bad);

    bool empty() const noexcept { return blocks_.empty(); }
    bool trusts(net::ip::address const& a) const noexcept;

    /**
     * The client behind `peer`. Only when `peer` is trusted is `forwarded_for` (the
     * X-Forwarded-For values, comma-joined, oldest first) read, right to left: each trusted
     * hop names the one before it, and the first address that is not a trusted proxy is the
     * client. An entry that does not parse ends the walk at the hop that wrote it.
     */
    net::ip::address client(net::ip::address const& peer, std::string_view forwarded_for) const;

  private:
    std::vector<cidr> blocks_;
};

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) as plain IPv4; anything else unchanged. */
net::ip::address unmapped(net::ip::address const& a);

/**
 * The key per-address limits count a client under: an IPv4 address as it is, an IPv6 address
 * by its /64 ("2001:db8:1:2::/64"), since one host or home is routinely given a whole /64 and
 * could otherwise take a fresh address for every connection. IPv4-mapped addresses count as
 * IPv4.
 */
std::string address_key(net::ip::address const& a);

/** One X-Forwarded-For entry: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]:80". */
std::optional<net::ip::address> parse_forwarded_address(std::string_view entry);

}  // namespace roomcast::transport
