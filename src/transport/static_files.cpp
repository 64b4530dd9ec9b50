#include "roomcast/transport/static_files.hpp"

#include <openssl/evp.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace roomcast::transport {

namespace fs = std::filesystem;

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// A strong validator from the content, so a reload of the page costs a 304.
std::string content_etag(std::string const& body) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(body.data(), body.size(), md, &len, EVP_sha256(), nullptr);
    static char const hex[] = "0123456789abcdef";
    std::string tag = "\"";
    for (unsigned i = 0; i < 12 && i < len; ++i) {
        tag += hex[md[i] >> 4];
        tag += hex[md[i] & 15];
    }
    tag += '"';
    return tag;
}

}  // namespace

std::string_view mime_type(std::string_view path) noexcept {
    auto const dot = path.rfind('.');
    if (dot == std::string_view::npos) return "application/octet-stream";
    std::string_view ext = path.substr(dot + 1);
    struct entry {
        std::string_view ext, type;
    };
    static constexpr entry table[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"webmanifest", "application/manifest+json"},
        {"map", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"wasm", "application/wasm"},
        {"woff2", "font/woff2"},
        {"woff", "font/woff"},
    };
    for (auto const& e : table) {
        if (ext.size() != e.ext.size()) continue;
        bool eq = true;
        for (std::size_t i = 0; i < ext.size() && eq; ++i)
            eq = std::tolower(static_cast<unsigned char>(ext[i])) == e.ext[i];
        if (eq) return e.type;
    }
    return "application/octet-stream";
}

std::optional<std::string> normalize_target(std::string_view target) {
    // Drop the query and fragment.
    auto const q = target.find_first_of("?#");
    if (q != std::string_view::npos) target = target.substr(0, q);
    if (target.empty() || target.front() != '/') return std::nullopt;

    std::string path;
    path.reserve(target.size());
    for (std::size_t i = 0; i < target.size(); ++i) {
        char c = target[i];
        if (c == '%') {
            if (i + 2 >= target.size()) return std::nullopt;
            int hi = hex_value(target[i + 1]), lo = hex_value(target[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        auto const uc = static_cast<unsigned char>(c);
        if (uc < 0x20 || uc == 0x7F || c == '\\') return std::nullopt;
        path += c;
    }

    // Check every segment of the decoded path.
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t const end = path.find('/', start);
        std::string_view seg(path.data() + start,
                             (end == std::string::npos ? path.size() : end) - start);
        bool const last = end == std::string::npos;
        if (seg.empty() && !last) return std::nullopt;  // "//"
        if (seg == "." || seg == "..") return std::nullopt;
        if (last) break;
        start = end + 1;
    }
    if (path.back() == '/') path += "index.html";
    return path;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
    auto const q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view rest = target.substr(q + 1);
    rest = rest.substr(0, rest.find('#'));
    while (!rest.empty()) {
        auto const amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        auto const eq = pair.find('=');
        if (pair.substr(0, eq) != name) continue;
        std::string_view raw =
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        std::string out;
        out.reserve(raw.size());
        for (std::size_t i = 0; i < raw.size(); ++i) {
            char c = raw[i];
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                if (i + 2 >= raw.size()) return std::nullopt;
                int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
                if (hi < 0 || lo < 0) return std::nullopt;
                c = static_cast<char>(hi * 16 + lo);
                i += 2;
            }
            out += c;
        }
        return out;
    }
    return std::nullopt;
}

void static_files::add(std::string path, std::string body) {
    file f;
    f.content_type = std::string(mime_type(path));
    f.etag = content_etag(body);
    f.body = std::make_shared<std::string const>(std::move(body));
    files_[std::move(path)] = std::move(f);
}

std::optional<std::string> static_files::load(std::string const& root, static_files& out) {
    std::error_code ec;
    fs::path const base = fs::canonical(root, ec);
    if (ec) return "web root '" + root + "': " + ec.message();
    if (!fs::is_directory(base, ec)) return "web root '" + root + "' is not a directory";

    auto const inside = [&](fs::path const& p) {
        auto const rel = p.lexically_relative(base);
        return !rel.empty() && *rel.begin() != "..";
    };

    // Directory symlinks are not followed (no cycles, no escapes); a file symlink is served
    // only when its target is inside the root and no part of the target's path is hidden.
    auto const hidden = [](fs::path const& rel) {
        for (auto const& part : rel) {
            auto const s = part.string();
            if (!s.empty() && s.front() == '.') return true;
        }
        return false;
    };
    fs::recursive_directory_iterator it(base, fs::directory_options::none, ec);
    if (ec) return "web root '" + root + "': " + ec.message();
    std::size_t total = 0;
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return "reading web root: " + ec.message();
        std::error_code fec;
        bool const is_dir = it->is_directory(fec) && !it->is_symlink(fec);
        auto const name = it->path().filename().string();
        if (!name.empty() && name.front() == '.') {  // no dotfiles, no dot directories
            if (is_dir) it.disable_recursion_pending();
            continue;
        }
        if (is_dir) continue;
        fs::path const real = fs::canonical(it->path(), fec);
        if (fec || !inside(real) || hidden(real.lexically_relative(base))) continue;
        if (!fs::is_regular_file(real, fec) || fec) continue;
        std::ifstream in(real, std::ios::binary);
        std::ostringstream ss;
        ss << in.rdbuf();
        if (!in.good() && !in.eof()) return "reading " + real.string() + " failed";
        std::string body = ss.str();
        total += body.size();
        if (total > (256u << 20)) return "web root holds more than 256 MiB";
        out.add("/" + it->path().lexically_relative(base).generic_string(), std::move(body));
    }
    if (!out.find("/")) return "web root '" + root + "' has no index.html";
    return std::nullopt;
}

static_files::file const* static_files::find(std::string_view target) const {
    auto path = normalize_target(target);
    if (!path) return nullptr;
    auto it = files_.find(*path);
    return it == files_.end() ? nullptr : &it->second;
}

}  // namespace roomcast::transport
