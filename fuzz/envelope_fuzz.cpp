// libFuzzer, differential: the envelope scanner never crashes or reads past its input, and on
// every text nlohmann accepts it reports the top-level type nlohmann's DOM holds (the last
// duplicate key wins there, as with JSON.parse): same presence, same kind, the same token, and
// the decoded value whenever that is short ASCII.
#include <roomcast/protocol/envelope.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using roomcast::protocol::envelope_status;

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    auto const e = roomcast::protocol::scan_envelope(text);

    // On any input: a reported type is a whole string token inside the input.
    if (e.status == envelope_status::ok) {
        auto const& t = e.type_token;
        check(t.size() >= 2 && t.front() == '"' && t.back() == '"');
        check(t.data() >= text.data() && t.data() + t.size() <= text.data() + text.size());
        check(e.type_length <= roomcast::protocol::max_type_length);
        check(e.type_decoded || e.type_length == 0);
    } else {
        check(e.type_token.empty() && !e.type_decoded);
    }

    // nlohmann's lexer takes a NUL byte for the end of the input, so it accepts "{}\0junk".
    // JSON has no NUL outside strings (and none raw inside them): such a text is not JSON.
    if (text.find('\0') != std::string_view::npos) return 0;
    auto const j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return 0;  // not JSON: any verdict will do
    if (!j.is_object()) {
        check(e.status == envelope_status::not_object);
        return 0;
    }
    auto const it = j.find("type");
    if (it == j.end()) {
        check(e.status == envelope_status::no_type);
    } else if (!it->is_string()) {
        check(e.status == envelope_status::type_not_string);
    } else {
        check(e.status == envelope_status::ok);
        // The token the scanner picked decodes to nlohmann's value: it is the right one.
        check(nlohmann::json::parse(e.type_token, nullptr, false) == *it);
        auto const& want = it->get_ref<std::string const&>();
        bool const short_ascii =
            want.size() <= roomcast::protocol::max_type_length &&
            std::all_of(want.begin(), want.end(), [](char c) { return (c & 0x80) == 0; });
        check(e.type_decoded == short_ascii);
        if (e.type_decoded) check(e.type() == want);
    }
    return 0;
}
