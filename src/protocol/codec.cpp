#include "roomcast/protocol/codec.hpp"

#include <roomcast/protocol/envelope.hpp>
#include <roomcast/ws/frame.hpp>

#include <nlohmann/json.hpp>

namespace roomcast::protocol {

bool valid_room(std::string_view room) noexcept {
    if (room.empty() || room.size() > max_room_length) return false;
    for (unsigned char c : room) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

namespace {

using json = nlohmann::json;

// Every type parse() routes on is one the envelope scan decodes.
static_assert(std::all_of(reserved_types.begin(), reserved_types.end(),
                          [](std::string_view t) { return t.size() <= max_type_length; }));
static_assert(std::string_view("leave").size() <= max_type_length);

// Reads the top-level fields we route on while nlohmann validates the whole document. Only for
// small texts (join, leave, and the verdict on a refused frame): no DOM is built, but every
// string is materialised, which is what made this too slow for relayed frames.
class envelope_sax {
  public:
    enum class field { none, type, room, resume };
    struct slot {
        bool present = false;
        bool is_string = false;
        std::string value;
    };

    bool top_is_object = false;
    bool any_value = false;
    slot type, room, resume;

    bool null() { return scalar(); }
    bool boolean(bool) { return scalar(); }
    bool number_integer(json::number_integer_t) { return scalar(); }
    bool number_unsigned(json::number_unsigned_t) { return scalar(); }
    bool number_float(json::number_float_t, json::string_t const&) { return scalar(); }
    bool binary(json::binary_t&) { return scalar(); }
    bool string(json::string_t& s) {
        if (depth_ == 1 && current_ != field::none) {
            slot& sl = slot_for(current_);
            sl.present = true;
            sl.is_string = true;
            sl.value = std::move(s);
        }
        current_ = field::none;
        first_value();
        return true;
    }
    bool start_object(std::size_t) {
        if (!any_value) top_is_object = true;
        container_value();
        ++depth_;
        return true;
    }
    bool end_object() {
        --depth_;
        return true;
    }
    bool start_array(std::size_t) {
        container_value();
        ++depth_;
        return true;
    }
    bool end_array() {
        --depth_;
        return true;
    }
    bool key(json::string_t& k) {
        current_ = field::none;
        if (depth_ != 1) return true;
        if (k == "type")
            current_ = field::type;
        else if (k == "room")
            current_ = field::room;
        else if (k == "resume")
            current_ = field::resume;
        return true;
    }
    bool parse_error(std::size_t, std::string const&, nlohmann::detail::exception const&) {
        return false;
    }

  private:
    slot& slot_for(field f) { return f == field::type ? type : f == field::room ? room : resume; }
    void first_value() { any_value = true; }
    // A non-string value for one of our fields: present, wrong type (later values win,
    // as with JSON.parse in the browser).
    bool scalar() {
        mark_non_string();
        first_value();
        return true;
    }
    void container_value() {
        mark_non_string();
        first_value();
    }
    void mark_non_string() {
        if (depth_ == 1 && current_ != field::none) {
            slot& sl = slot_for(current_);
            sl.present = true;
            sl.is_string = false;
            sl.value.clear();
        }
        current_ = field::none;
    }

    int depth_ = 0;
    field current_ = field::none;
};

// The type of a message the server sends: a compile error unless it is reserved, so that no
// client can relay a frame that looks like one of ours.
consteval char const* server_type(char const* type) {
    if (!is_reserved_type(type)) throw "every type the server sends must be in reserved_types";
    return type;
}

// Small server messages are rare; building them with nlohmann keeps the escaping right.
frame_ptr text_frame(json const& j) {
    return make_frame(j.dump(), true);
}

// A reply for one connection only (see out_frame::private_reply).
frame_ptr reply_frame(json const& j) {
    auto f = make_frame(j.dump(), true);
    const_cast<out_frame&>(*f).private_reply = true;  // not yet shared with anyone
    return f;
}

// The whole document, as strict JSON. Refuses reserved types too, so it is safe on its own; on
// every JSON text it agrees with the envelope scan (not on "{}\0junk": nlohmann takes a NUL for
// the end of the input, which is why a refused frame keeps the scan's verdict below).
boost::system::result<message> parse_in_full(std::string_view text) {
    envelope_sax sax;
    bool ok = json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json,
                              /*strict=*/true, /*ignore_comments=*/false);
    if (!ok) return errc::bad_json;
    if (!sax.top_is_object || !sax.type.present || !sax.type.is_string) return errc::bad_message;

    std::string const& type = sax.type.value;
    if (type == "join") {
        if (!sax.room.present || !sax.room.is_string) return errc::bad_message;
        if (!valid_room(sax.room.value)) return errc::bad_room;
        join_msg j;
        j.room = std::move(sax.room.value);
        if (sax.resume.present) {
            if (!sax.resume.is_string) return errc::bad_message;
            j.resume = std::move(sax.resume.value);
        }
        return message{std::move(j)};
    }
    if (type == "leave") return message{leave_msg{}};
    if (is_reserved_type(type)) return errc::reserved_type;
    return message{relay_msg{}};
}

}  // namespace

boost::system::result<message> parse(std::string_view text) {
    auto const env = scan_envelope(text);
    if (env.status == envelope_status::ok) {
        // A type the scan did not decode is longer than any we route on, or not ASCII (none is).
        if (!env.type_decoded) return message{relay_msg{}};
        auto const type = env.type();
        if (type == "join" || type == "leave") {
            if (text.size() > max_envelope_bytes) return errc::bad_message;
            return parse_in_full(text);
        }
        if (is_reserved_type(type)) return errc::reserved_type;
        return message{relay_msg{}};
    }
    // Refused either way; a small frame is told exactly why, as before, unless the full parse
    // would let it through.
    if (text.size() <= max_envelope_bytes) {
        auto full = parse_in_full(text);
        if (!full) return full.error();
    }
    return env.status == envelope_status::broken ? errc::bad_json : errc::bad_message;
}

frame_ptr encode_joined(std::string_view room, std::uint64_t id,
                        std::span<std::uint64_t const> peers, std::span<std::uint64_t const> away,
                        std::string_view resume, bool resumed) {
    json j = {{"type", server_type("joined")},
              {"room", room},
              {"id", id},
              {"peers", json(std::vector<std::uint64_t>(peers.begin(), peers.end()))},
              {"away", json(std::vector<std::uint64_t>(away.begin(), away.end()))},
              {"resumed", resumed}};
    if (!resume.empty()) j["resume"] = resume;
    return reply_frame(j);
}

frame_ptr encode_left(std::string_view room) {
    return reply_frame(json{{"type", server_type("left")}, {"room", room}});
}

frame_ptr encode_peer_joined(std::uint64_t id) {
    return text_frame(json{{"type", server_type("peer-joined")}, {"id", id}});
}

frame_ptr encode_peer_left(std::uint64_t id) {
    return text_frame(json{{"type", server_type("peer-left")}, {"id", id}});
}

frame_ptr encode_peer_away(std::uint64_t id) {
    return text_frame(json{{"type", server_type("peer-away")}, {"id", id}});
}

frame_ptr encode_peer_back(std::uint64_t id) {
    return text_frame(json{{"type", server_type("peer-back")}, {"id", id}});
}

frame_ptr encode_error(errc code, std::uint64_t retry_after_ms) {
    json j{{"type", server_type("error")},
           {"code", wire_code(code)},
           {"message", make_error_code(code).message()}};
    if (retry_after_ms) j["retry_after_ms"] = retry_after_ms;
    return reply_frame(j);
}

}  // namespace roomcast::protocol
