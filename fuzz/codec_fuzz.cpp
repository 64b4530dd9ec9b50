// libFuzzer: the protocol envelope parser never throws, never crashes, and agrees with
// nlohmann's DOM parser about what is valid JSON.
#include <roomcast/protocol/codec.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    auto const r = roomcast::protocol::parse(text);
    auto const dom = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    bool const json_ok = !dom.is_discarded();
    bool const said_bad_json = !r && r.error() == roomcast::protocol::errc::bad_json;
    if (json_ok == said_bad_json) std::abort();  // the two parsers disagree
    if (r) {
        if (!dom.is_object() || !dom.contains("type") || !dom["type"].is_string()) std::abort();
        if (auto const* j = std::get_if<roomcast::protocol::join_msg>(&*r))
            if (!roomcast::protocol::valid_room(j->room)) std::abort();
    }
    return 0;
}
