#include "roomcast/transport/host_policy.hpp"

#include <roomcast/pairing/origins.hpp>
#include <roomcast/text.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace roomcast::transport {

namespace {

// Longer than any DNS name (253): nothing legitimate is cut, and a name is bounded for the log.
constexpr std::size_t max_host_length = 255;

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

std::optional<std::uint16_t> parse_port(std::string_view p) {
    unsigned v = 0;
    auto const [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || p.size() > 5 || ec != std::errc{} || end != p.data() + p.size() || v > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

std::vector<net::ip::address> system_addresses() {
    std::vector<net::ip::address> out;
    for (auto const& i : pairing::system_interfaces()) {
        error_code ec;
        auto const a = net::ip::make_address(i.address, ec);
        if (!ec) out.push_back(unmapped(a));
    }
    return out;
}

}  // namespace

std::optional<request_host> parse_host(std::string_view v) {
    v = trim(v);
    if (v.empty() || v.size() > max_host_length) return std::nullopt;
    request_host h;
    std::string_view port;
    bool has_port = false;
    if (v.front() == '[') {
        auto const close = v.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        auto const inside = v.substr(1, close - 1);
        auto const rest = v.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port = rest.substr(1);
            has_port = true;
        }
        // A zone id ("%25eth0") names an interface of the client, not of this host.
        if (inside.find('%') != std::string_view::npos) return std::nullopt;
        error_code ec;
        auto const a = net::ip::make_address_v6(std::string(inside), ec);
        if (ec) return std::nullopt;
        h.ip = unmapped(a);
        h.name = a.to_string();
    } else {
        auto const colon = v.find(':');
        if (colon != std::string_view::npos) {
            if (v.find(':', colon + 1) != std::string_view::npos)
                return std::nullopt;  // IPv6 needs brackets in a Host
            port = v.substr(colon + 1);
            has_port = true;
            v = v.substr(0, colon);
        }
        // "localhost." is the same name as "localhost" (a fully qualified spelling).
        if (!v.empty() && v.back() == '.') v.remove_suffix(1);
        if (v.empty() || v.front() == '.' || !std::all_of(v.begin(), v.end(), name_char))
            return std::nullopt;
        h.name.resize(v.size());
        std::transform(v.begin(), v.end(), h.name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        error_code ec;
        auto const a = net::ip::make_address_v4(h.name, ec);  // dotted quad only
        if (!ec) h.ip = net::ip::address(a);
    }
    if (has_port) {
        h.port = parse_port(port);
        if (!h.port) return std::nullopt;
    }
    return h;
}

std::optional<host_policy> host_policy::parse(std::string_view list, std::string_view public_url,
                                              std::string& bad) {
    host_policy p;
    auto add = [&p](request_host const& h) {
        if (h.ip)
            p.addresses_.push_back(*h.ip);
        else
            p.names_.push_back(h.name);
    };
    for (auto const item : split_list(list)) {
        if (item == "*") {
            p.any_ = true;
            continue;
        }
        auto const h = parse_host(item);
        if (!h || h->port) {  // a port here would suggest the others are refused: they are not
            bad = std::string(item);
            return std::nullopt;
        }
        add(*h);
    }
    if (!public_url.empty()) {
        auto const sep = public_url.find("://");
        auto authority =
            sep == std::string_view::npos ? std::string_view{} : public_url.substr(sep + 3);
        authority = authority.substr(0, authority.find('/'));
        auto const h = parse_host(authority);
        if (!h) {
            bad = std::string(public_url);
            return std::nullopt;
        }
        add(*h);
    }
    return p;
}

host_policy::verdict host_policy::check(
    std::string_view value,
    std::function<bool(net::ip::address const&)> const& is_own_address) const {
    auto const h = parse_host(value);
    if (!h) return verdict::malformed;
    if (any_) return verdict::allowed;
    if (h->ip) {
        // An IP literal cannot be re-pointed by DNS; loopback and our own addresses are us.
        if (h->ip->is_loopback()) return verdict::allowed;
        if (std::find(addresses_.begin(), addresses_.end(), *h->ip) != addresses_.end())
            return verdict::allowed;
        return is_own_address && is_own_address(*h->ip) ? verdict::allowed : verdict::unknown;
    }
    // Browsers resolve localhost and its subdomains to loopback themselves (RFC 6761 §6.3),
    // and no public DNS server can hand out a name under it.
    if (h->name == "localhost" || h->name.ends_with(".localhost")) return verdict::allowed;
    return std::find(names_.begin(), names_.end(), h->name) != names_.end() ? verdict::allowed
                                                                            : verdict::unknown;
}

own_addresses::own_addresses(source s, std::chrono::milliseconds refresh)
    : source_(s ? std::move(s) : source(system_addresses)), refresh_(refresh) {}

bool own_addresses::contains(net::ip::address const& raw,
                             std::chrono::steady_clock::time_point now) {
    auto const a = unmapped(raw);
    std::lock_guard lock(mutex_);
    auto const known = [&] { return std::find(known_.begin(), known_.end(), a) != known_.end(); };
    if (known()) return true;
    if (read_at_ && now - *read_at_ < refresh_) return false;
    known_ = source_();
    read_at_ = now;
    return known();
}

}  // namespace roomcast::transport
