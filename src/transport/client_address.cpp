#include "roomcast/transport/client_address.hpp"

#include <roomcast/text.hpp>

#include <algorithm>
#include <charconv>

namespace roomcast::transport {

namespace {

std::optional<net::ip::address> parse_address(std::string_view s) {
    error_code ec;
    auto a = net::ip::make_address(std::string(s), ec);
    if (ec) return std::nullopt;
    return unmapped(a);
}

// "a, b/n, ..." → blocks; "*" is left to the caller (`star` set) when `star` is given.
std::optional<std::vector<cidr>> parse_blocks(std::string_view list, std::string& bad,
                                              bool* star = nullptr) {
    std::vector<cidr> blocks;
    for (auto const item : split_list(list)) {
        if (star && item == "*") {
            *star = true;
            continue;
        }
        auto c = cidr::parse(item);
        if (!c) {
            bad = std::string(item);
            return std::nullopt;
        }
        blocks.push_back(*c);
    }
    return blocks;
}

bool any_contains(std::vector<cidr> const& blocks, net::ip::address const& a) noexcept {
    return std::any_of(blocks.begin(), blocks.end(), [&](cidr const& b) { return b.contains(a); });
}

}  // namespace

net::ip::address unmapped(net::ip::address const& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
    return a;
}

std::optional<cidr> cidr::parse(std::string_view text) {
    text = trim(text);
    auto const slash = text.find('/');
    auto addr = parse_address(text.substr(0, slash));
    if (!addr) return std::nullopt;
    unsigned const max = addr->is_v4() ? 32 : 128;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        auto const p = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
        if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || prefix > max)
            return std::nullopt;
    }
    return cidr{*addr, prefix};
}

bool cidr::contains(net::ip::address const& raw) const noexcept {
    auto const a = unmapped(raw);
    if (a.is_v4() != base.is_v4()) return false;
    auto match = [this](auto const& x, auto const& y) {
        unsigned bits = prefix;
        for (std::size_t i = 0; i < x.size() && bits > 0; ++i) {
            unsigned const n = bits >= 8 ? 8 : bits;
            auto const mask = static_cast<unsigned char>(0xFF00u >> n);
            if ((x[i] & mask) != (y[i] & mask)) return false;
            bits -= n;
        }
        return true;
    };
    if (a.is_v4()) return match(a.to_v4().to_bytes(), base.to_v4().to_bytes());
    return match(a.to_v6().to_bytes(), base.to_v6().to_bytes());
}

std::optional<address_set> address_set::parse(std::string_view list, std::string& bad) {
    address_set s;
    auto blocks = parse_blocks(list, bad, &s.any_);
    if (!blocks) return std::nullopt;
    s.blocks_ = std::move(*blocks);
    return s;
}

bool address_set::contains(net::ip::address const& a) const noexcept {
    return any_ || any_contains(blocks_, a);
}

bool is_local_network(net::ip::address const& a) noexcept {
    static std::vector<cidr> const local = [] {
        std::string bad;
        return *parse_blocks(
            "127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, "
            "::1/128, fc00::/7, fe80::/10",
            bad);
    }();
    return any_contains(local, a);
}

std::optional<trusted_proxies> trusted_proxies::parse(std::string_view list, std::string& bad) {
    auto blocks = parse_blocks(list, bad);
    if (!blocks) return std::nullopt;
    return trusted_proxies(std::move(*blocks));
}

bool trusted_proxies::trusts(net::ip::address const& a) const noexcept {
    return any_contains(blocks_, a);
}

net::ip::address trusted_proxies::client(net::ip::address const& peer,
                                         std::string_view forwarded_for) const {
    auto current = unmapped(peer);
    if (!trusts(current)) return current;
    auto const hops = split_list(forwarded_for);
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
        auto a = parse_forwarded_address(*it);
        if (!a) return current;  // garbage from the hop we trust least: stop at that hop
        current = *a;
        if (!trusts(current)) return current;
    }
    return current;
}

std::optional<net::ip::address> parse_forwarded_address(std::string_view e) {
    e = trim(e);
    if (e.empty()) return std::nullopt;
    if (e.front() == '[') {  // [v6] or [v6]:port
        auto const close = e.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        auto const after = e.substr(close + 1);
        if (!after.empty() && after.front() != ':') return std::nullopt;
        return parse_address(e.substr(1, close - 1));
    }
    auto const colon = e.find(':');
    if (colon != std::string_view::npos && e.find(':', colon + 1) == std::string_view::npos)
        return parse_address(e.substr(0, colon));  // v4:port
    return parse_address(e);
}

std::string address_key(net::ip::address const& a) {
    auto const u = unmapped(a);
    if (u.is_v4()) return u.to_string();
    auto bytes = u.to_v6().to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return net::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace roomcast::transport
