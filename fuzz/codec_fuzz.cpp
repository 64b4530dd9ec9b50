// libFuzzer: protocol::parse never throws or crashes, and on every text nlohmann accepts it
// routes exactly as the full document says: reserved types refused, join/leave and the host's
// requests (lock, unlock, admit, deny, remove) parsed in full
// (when small), any other string type relayed, bad-message without one. Relayed text is checked
// for its envelope only, so text nlohmann refuses may be relayed, but never taken as a join or
// leave, and bad-json is only ever said of text that is not JSON.
#include <roomcast/protocol/codec.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

namespace protocol = roomcast::protocol;

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const text(reinterpret_cast<char const*>(data), size);
    auto const r = protocol::parse(text);
    auto const dom = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    // nlohmann's lexer takes a NUL byte for the end of the input ("{}\0junk" passes); JSON has
    // no NUL outside strings and none raw inside them, so such a text is not JSON.
    bool const json_ok = !dom.is_discarded() && text.find('\0') == std::string_view::npos;
    auto const code = r ? protocol::errc{} : static_cast<protocol::errc>(r.error().value());
    bool const relayed = r && std::holds_alternative<protocol::relay_msg>(*r);
    if (auto const* j = r ? std::get_if<protocol::join_msg>(&*r) : nullptr)
        check(protocol::valid_room(j->room));

    check(!(json_ok && code == protocol::errc::bad_json));
    if (!json_ok) {
        check(!r || relayed);  // never a join or leave from text that is not JSON
        return 0;
    }
    if (!dom.is_object() || !dom.contains("type") || !dom["type"].is_string()) {
        check(code == protocol::errc::bad_message);
        return 0;
    }
    auto const& type = dom["type"].get_ref<std::string const&>();
    if (protocol::is_reserved_type(type)) {
        check(code == protocol::errc::reserved_type);
    } else if (type == "join" || type == "leave") {
        if (size > protocol::max_envelope_bytes) {
            check(code == protocol::errc::bad_message);
        } else if (r) {
            if (type == "leave") {
                check(std::holds_alternative<protocol::leave_msg>(*r));
            } else {
                auto const* j = std::get_if<protocol::join_msg>(&*r);
                check(j && dom.contains("room") && dom["room"] == j->room);
            }
        } else {
            check(code == protocol::errc::bad_message || code == protocol::errc::bad_room);
        }
    } else if (type == "lock" || type == "unlock" || type == "admit" || type == "deny" ||
               type == "remove") {
        // The host's requests: parsed in full, never relayed; an id exactly as the document has.
        using kind = protocol::access_msg::kind;
        if (size > protocol::max_envelope_bytes) {
            check(code == protocol::errc::bad_message);
        } else if (r) {
            auto const* m = std::get_if<protocol::access_msg>(&*r);
            check(m != nullptr);
            bool const with_id = type != "lock" && type != "unlock";
            check((type == "lock") == (m->what == kind::lock));
            check((type == "unlock") == (m->what == kind::unlock));
            check((type == "admit") == (m->what == kind::admit));
            check((type == "deny") == (m->what == kind::deny));
            check((type == "remove") == (m->what == kind::remove));
            if (with_id)
                check(dom.contains("id") && dom["id"].is_number_integer() && dom["id"] == m->id &&
                      m->id < (std::uint64_t{1} << 53));
            // remove's reason: absent, or exactly "room-ended" (anything else is refused).
            bool const ended = type == "remove" && dom.contains("reason");
            check(!ended || dom["reason"] == "room-ended");
            check(m->room_ended == ended);
        } else {
            check(code == protocol::errc::bad_message);
        }
    } else {
        check(relayed);
    }
    return 0;
}
