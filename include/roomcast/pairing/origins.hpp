#pragma once
// The addresses a phone on the same network can reach this host at, for the room link.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roomcast::pairing {

/** One address of one network interface, as getifaddrs reports it. */
struct interface_address {
    std::string name;     // "eth0", "wlan0", "docker0", …
    std::string address;  // textual, without brackets or zone
    bool ipv6 = false;
    bool up = true;
    bool loopback = false;
};

/** True for interfaces a phone cannot be on: container bridges, veth pairs, tunnels, VPNs. */
bool is_virtual_interface(std::string_view name) noexcept;

/**
 * The usable addresses, textual (IPv6 without brackets): up, not loopback, not a virtual
 * interface, not link-local. IPv4 first, then global IPv6; sorted, no duplicates.
 */
std::vector<std::string> lan_addresses(std::vector<interface_address> const& addrs);

/**
 * The origins ("http://192.168.1.20:3000") for the usable addresses: up, not loopback, not a
 * virtual interface, not link-local. IPv4 first (what phones on a LAN use), then global IPv6.
 */
std::vector<std::string> lan_origins(std::vector<interface_address> const& addrs,
                                     std::uint16_t port, std::string_view scheme = "http");

/** Where a phone can reach a server listening on one address, and why nowhere when so. */
struct reachable {
    std::vector<std::string> origins;
    /** Empty when `origins` is not; else "loopback-only" (listening on 127.0.0.1 or ::1),
     * "no-lan-address" (all interfaces, but none a phone could be on), or "not-lan" (a
     * specific address that is not one of those). */
    std::string why;
};

/**
 * The LAN origins of a server bound to `listen_host`: every usable one for the wildcard
 * ("0.0.0.0": IPv4 only; "::": both), none for loopback, the address itself for a specific
 * usable address. A link is only offered where something listens.
 */
reachable reachable_origins(std::string_view listen_host,
                            std::vector<interface_address> const& addrs, std::uint16_t port,
                            std::string_view scheme = "http");

/** This host's interface addresses (getifaddrs). Empty on failure. */
std::vector<interface_address> system_interfaces();

}  // namespace roomcast::pairing
