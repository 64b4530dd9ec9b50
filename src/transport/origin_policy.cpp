#include "roomcast/transport/origin_policy.hpp"

#include <roomcast/text.hpp>

#include <algorithm>
#include <cctype>

namespace roomcast::transport {

namespace {

std::string lower(std::string_view s) {
    std::string r(s);
    std::transform(r.begin(), r.end(), r.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return r;
}

bool host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '[' || c == ']';
}

}  // namespace

std::optional<std::string> normalize_origin(std::string_view o) {
    o = trim(o);
    auto const sep = o.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    auto const scheme = lower(o.substr(0, sep));
    if (scheme != "http" && scheme != "https") return std::nullopt;
    auto rest = o.substr(sep + 3);
    if (auto const slash = rest.find('/'); slash != std::string_view::npos) {
        if (rest.substr(slash) != "/") return std::nullopt;  // an origin has no path
        rest = rest.substr(0, slash);
    }
    if (rest.empty() || !std::all_of(rest.begin(), rest.end(), host_char)) return std::nullopt;
    auto host = lower(rest);
    // Drop the scheme's default port, as browsers do in Origin.
    auto const default_port = scheme == "https" ? std::string_view(":443") : ":80";
    if (host.size() > default_port.size() &&
        std::string_view(host).substr(host.size() - default_port.size()) == default_port)
        host.resize(host.size() - default_port.size());
    return scheme + "://" + host;
}

std::optional<origin_policy> origin_policy::parse(std::string_view list,
                                                  std::string_view public_url, std::string& bad) {
    origin_policy p;
    for (auto const item : split_list(list)) {
        if (item == "*") {
            p.any_ = true;
            continue;
        }
        auto n = normalize_origin(item);
        if (!n) {
            bad = std::string(item);
            return std::nullopt;
        }
        p.allowed_.push_back(std::move(*n));
    }
    if (!public_url.empty()) {
        // The public URL may carry a path (a proxy's sub-path); its origin is what pages send.
        auto const sep = public_url.find("://");
        auto const path =
            sep == std::string_view::npos ? std::string_view::npos : public_url.find('/', sep + 3);
        if (auto n = normalize_origin(public_url.substr(0, path))) p.allowed_.push_back(*n);
    }
    return p;
}

bool origin_policy::allows(std::string_view origin, std::string_view host) const {
    if (any_) return true;
    auto const n = normalize_origin(origin);
    if (!n) return false;
    // Same origin: the page was served by this host:port (by either scheme: a TLS proxy in
    // front of us turns https into http, so default ports are compared as absent).
    auto strip_default_port = [](std::string_view a) {
        for (std::string_view p : {":80", ":443"})
            if (a.size() > p.size() && a.substr(a.size() - p.size()) == p)
                return a.substr(0, a.size() - p.size());
        return a;
    };
    auto const authority = std::string_view(*n).substr(n->find("://") + 3);
    auto const h = lower(trim(host));
    if (!h.empty() && strip_default_port(authority) == strip_default_port(h)) return true;
    return std::find(allowed_.begin(), allowed_.end(), *n) != allowed_.end();
}

}  // namespace roomcast::transport
