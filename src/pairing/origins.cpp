#include "roomcast/pairing/origins.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>

namespace roomcast::pairing {

bool is_virtual_interface(std::string_view name) noexcept {
    static constexpr std::array<std::string_view, 20> prefixes = {
        "lo",   "docker", "veth",   "br-",       "virbr", "vboxnet", "vmnet",
        "tun",  "tap",    "wg",     "tailscale", "zt",    "cni",     "flannel",
        "cali", "vxlan",  "podman", "kube",      "lxc",   "lxdbr"};
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](std::string_view p) { return name.substr(0, p.size()) == p; });
}

std::vector<std::string> lan_addresses(std::vector<interface_address> const& addrs) {
    std::vector<std::string> v4, v6;
    for (auto const& a : addrs) {
        if (!a.up || a.loopback || is_virtual_interface(a.name) || a.address.empty()) continue;
        if (!a.ipv6) {
            if (a.address.rfind("127.", 0) == 0 || a.address.rfind("169.254.", 0) == 0) continue;
            v4.push_back(a.address);
        } else {
            std::string lower = a.address;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (lower == "::1" || lower.rfind("fe8", 0) == 0 || lower.rfind("fe9", 0) == 0 ||
                lower.rfind("fea", 0) == 0 || lower.rfind("feb", 0) == 0)
                continue;  // loopback, link-local (needs a zone a phone does not know)
            v6.push_back(a.address);
        }
    }
    for (auto* list : {&v4, &v6}) {
        std::sort(list->begin(), list->end());
        list->erase(std::unique(list->begin(), list->end()), list->end());
    }
    v4.insert(v4.end(), v6.begin(), v6.end());
    return v4;
}

std::vector<std::string> lan_origins(std::vector<interface_address> const& addrs,
                                     std::uint16_t port, std::string_view scheme) {
    std::vector<std::string> v4, v6;
    auto const head = std::string(scheme) + "://";
    auto const suffix = ":" + std::to_string(port);
    for (auto const& a : lan_addresses(addrs)) {
        if (a.find(':') == std::string::npos)
            v4.push_back(head + a + suffix);
        else
            v6.push_back(head + "[" + a + "]" + suffix);
    }
    // Sorted as origins (with the port), as before lan_addresses existed.
    std::sort(v4.begin(), v4.end());
    std::sort(v6.begin(), v6.end());
    v4.insert(v4.end(), v6.begin(), v6.end());
    return v4;
}

namespace {

/** An address as bytes (4 or 16), IPv4-mapped IPv6 as IPv4; empty when `text` is none. */
std::string address_bytes(std::string const& text) {
    in_addr v4{};
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1)
        return std::string(reinterpret_cast<char const*>(&v4), sizeof v4);
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return {};
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return std::string(reinterpret_cast<char const*>(&v6) + 12, 4);
    return std::string(reinterpret_cast<char const*>(&v6), sizeof v6);
}

}  // namespace

reachable reachable_origins(std::string_view listen_host,
                            std::vector<interface_address> const& addrs, std::uint16_t port,
                            std::string_view scheme) {
    std::string host(listen_host);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    // Compared as bytes, not text: 2001:DB8::5, 2001:db8:0::5 and ::ffff:192.168.1.20 name
    // the addresses the interfaces list as 2001:db8::5 and 192.168.1.20.
    auto const bytes = address_bytes(host);
    bool const is_v4 = bytes.size() == 4;
    bool const is_v6 = bytes.size() == 16;
    reachable out;
    if (bytes.find_first_not_of('\0') == std::string::npos && !bytes.empty()) {  // 0.0.0.0, ::
        for (auto& o : lan_origins(addrs, port, scheme))
            if (is_v6 || o.find('[') == std::string::npos) out.origins.push_back(std::move(o));
        if (out.origins.empty()) out.why = "no-lan-address";
        return out;
    }
    static constexpr char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if ((is_v4 && bytes[0] == 127) || (is_v6 && bytes == std::string(v6_loopback, 16))) {
        out.why = "loopback-only";
        return out;
    }
    for (auto const& u : lan_addresses(addrs)) {
        if (bytes.empty() || address_bytes(u) != bytes) continue;
        bool const six = u.find(':') != std::string::npos;
        out.origins.push_back(std::string(scheme) + "://" + (six ? "[" + u + "]" : u) + ":" +
                              std::to_string(port));
        return out;
    }
    out.why = "not-lan";
    return out;
}

std::vector<interface_address> system_interfaces() {
    std::vector<interface_address> out;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !i->ifa_name) continue;
        int const family = i->ifa_addr->sa_family;
        if (family != AF_INET && family != AF_INET6) continue;
        char buf[INET6_ADDRSTRLEN] = {};
        void const* src = family == AF_INET
                              ? static_cast<void const*>(
                                    &reinterpret_cast<sockaddr_in const*>(i->ifa_addr)->sin_addr)
                              : static_cast<void const*>(
                                    &reinterpret_cast<sockaddr_in6 const*>(i->ifa_addr)->sin6_addr);
        if (!inet_ntop(family, src, buf, sizeof buf)) continue;
        interface_address a;
        a.name = i->ifa_name;
        a.address = buf;
        a.ipv6 = family == AF_INET6;
        a.up = (i->ifa_flags & IFF_UP) != 0 && (i->ifa_flags & IFF_RUNNING) != 0;
        a.loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
        out.push_back(std::move(a));
    }
    freeifaddrs(list);
    return out;
}

}  // namespace roomcast::pairing
