// libFuzzer: request-target resolution never yields a path that could leave web/, and query
// decoding never crashes.
#include <roomcast/transport/static_files.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const target(reinterpret_cast<char const*>(data), size);
    if (auto p = roomcast::transport::normalize_target(target)) {
        if (p->empty() || p->front() != '/') std::abort();
        if (p->find("/../") != std::string::npos || p->find("/./") != std::string::npos ||
            p->find("//") != std::string::npos || p->find('\0') != std::string::npos ||
            p->find('\\') != std::string::npos)
            std::abort();
        if (p->size() >= 3 && p->compare(p->size() - 3, 3, "/..") == 0) std::abort();
    }
    (void)roomcast::transport::query_param(target, "text");
    return 0;
}
