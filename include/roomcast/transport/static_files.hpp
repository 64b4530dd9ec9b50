#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace roomcast::transport {

/**
 * The static client, loaded from web/ once at start and served from memory.
 *
 * Only files found under the root at load time can ever be served: a request path is looked up
 * in this whitelist, never joined onto a filesystem path. Symlinks are followed only when their
 * target stays inside the root.
 */
class static_files {
  public:
    struct file {
        std::shared_ptr<std::string const> body;
        std::string content_type;
        std::string etag;
    };

    /** Loads every regular file under `root`. Returns an error message on failure. */
    static std::optional<std::string> load(std::string const& root, static_files& out);

    /** The file a request target names, or nullptr (404). */
    file const* find(std::string_view target) const;

    std::size_t size() const noexcept { return files_.size(); }

    /** Adds a file under a URL path (used by load and by tests). */
    void add(std::string path, std::string body);

  private:
    std::unordered_map<std::string, file> files_;
};

/**
 * Turns a request target into a clean URL path ("/index.html"), or nothing when it must be
 * refused: not starting with '/', bad percent-escapes, NUL or control bytes, backslashes,
 * empty segments ("//"), "." or ".." segments (also when percent-encoded). The query string
 * and fragment are dropped; a path ending in '/' names its index.html.
 */
std::optional<std::string> normalize_target(std::string_view target);

/**
 * The decoded value of query parameter `name` in a request target ("/qr.svg?text=a%20b"),
 * '+' read as a space. Nothing when absent or badly escaped.
 */
std::optional<std::string> query_param(std::string_view target, std::string_view name);

/** Content-Type for a file name, by extension; application/octet-stream when unknown. */
std::string_view mime_type(std::string_view path) noexcept;

}  // namespace roomcast::transport
