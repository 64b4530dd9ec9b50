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

// The client types the server acts on (parsed in full) rather than relays.
constexpr bool is_server_handled(std::string_view t) noexcept {
    return t == "join" || t == "leave" || t == "lock" || t == "unlock" || t == "admit" ||
           t == "deny" || t == "remove";
}

// Every type parse() routes on is one the envelope scan decodes.
static_assert(std::all_of(reserved_types.begin(), reserved_types.end(),
                          [](std::string_view t) { return t.size() <= max_type_length; }));
static_assert(std::string_view("leave").size() <= max_type_length);

// Reads the top-level fields we route on while nlohmann validates the whole document. Only for
// small texts (join, leave, and the verdict on a refused frame): no DOM is built, but every
// string is materialised, which is what made this too slow for relayed frames.
class envelope_sax {
  public:
    enum class field { none, type, room, resume, host_token, admission, name, reason, id };
    struct slot {
        bool present = false;
        bool is_string = false;
        std::string value;
    };

    bool top_is_object = false;
    bool any_value = false;
    slot type, room, resume, host_token, admission, name, reason;
    // "id": present, and a non-negative integer (its value) or something else.
    bool id_present = false;
    bool id_is_integer = false;
    std::uint64_t id = 0;

    bool null() { return scalar(); }
    bool boolean(bool) { return scalar(); }
    bool number_integer(json::number_integer_t v) {
        if (v >= 0) return number_unsigned(static_cast<json::number_unsigned_t>(v));
        return scalar();
    }
    bool number_unsigned(json::number_unsigned_t v) {
        if (depth_ == 1 && current_ == field::id) {
            id_present = true;
            id_is_integer = true;
            id = v;
            current_ = field::none;
            first_value();
            return true;
        }
        return scalar();
    }
    bool number_float(json::number_float_t, json::string_t const&) { return scalar(); }
    bool binary(json::binary_t&) { return scalar(); }
    bool string(json::string_t& s) {
        if (depth_ == 1 && current_ == field::id) {
            mark_non_string();
            first_value();
            return true;
        }
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
        else if (k == "host_token")
            current_ = field::host_token;
        else if (k == "admission")
            current_ = field::admission;
        else if (k == "name")
            current_ = field::name;
        else if (k == "reason")
            current_ = field::reason;
        else if (k == "id")
            current_ = field::id;
        return true;
    }
    bool parse_error(std::size_t, std::string const&, nlohmann::detail::exception const&) {
        return false;
    }

  private:
    slot& slot_for(field f) {
        switch (f) {
            case field::type:
                return type;
            case field::room:
                return room;
            case field::host_token:
                return host_token;
            case field::admission:
                return admission;
            case field::name:
                return name;
            case field::reason:
                return reason;
            default:
                return resume;
        }
    }
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
        if (depth_ == 1 && current_ == field::id) {
            id_present = true;
            id_is_integer = false;
        } else if (depth_ == 1 && current_ != field::none) {
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
        // Tokens the server issued: the room-name alphabet (it issues hex).
        for (auto [sl, out] :
             {std::pair{&sax.host_token, &j.host_token}, std::pair{&sax.admission, &j.admission}}) {
            if (!sl->present) continue;
            if (!sl->is_string || !valid_room(sl->value)) return errc::bad_message;
            *out = std::move(sl->value);
        }
        if (sax.name.present) {
            if (!sax.name.is_string || sax.name.value.size() > max_knock_name)
                return errc::bad_message;
            j.name = std::move(sax.name.value);
        }
        return message{std::move(j)};
    }
    if (type == "leave") return message{leave_msg{}};
    if (type == "lock") return message{access_msg{access_msg::kind::lock, 0}};
    if (type == "unlock") return message{access_msg{access_msg::kind::unlock, 0}};
    if (type == "admit" || type == "deny" || type == "remove") {
        // Member ids are integers below 2^53 (exact in JavaScript).
        if (!sax.id_present || !sax.id_is_integer || sax.id >= (std::uint64_t{1} << 53))
            return errc::bad_message;
        auto const what = type == "admit"  ? access_msg::kind::admit
                          : type == "deny" ? access_msg::kind::deny
                                           : access_msg::kind::remove;
        access_msg m{what, sax.id};
        // remove's one reason: the host moved to a new room (the member is told so by us,
        // not by a relayed frame any member could send).
        if (what == access_msg::kind::remove && sax.reason.present) {
            if (!sax.reason.is_string || sax.reason.value != "room-ended") return errc::bad_message;
            m.room_ended = true;
        }
        return message{m};
    }
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
        if (is_server_handled(type)) {
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

frame_ptr encode_joined(std::string_view room, std::uint64_t id,
                        std::span<std::uint64_t const> peers, std::span<std::uint64_t const> away,
                        std::string_view resume, bool resumed, joined_access const& access) {
    json j = {{"type", server_type("joined")},
              {"room", room},
              {"id", id},
              {"peers", json(std::vector<std::uint64_t>(peers.begin(), peers.end()))},
              {"away", json(std::vector<std::uint64_t>(away.begin(), away.end()))},
              {"resumed", resumed},
              {"host", access.host_id},
              {"locked", access.locked}};
    if (!resume.empty()) j["resume"] = resume;
    if (!access.admission.empty()) j["admission"] = access.admission;
    if (access.host) {
        j["host_token"] = access.host_token;
        json lobby = json::array();
        for (auto const& [who, name] : access.lobby)
            lobby.push_back({{"id", who}, {"name", name}});
        j["lobby"] = std::move(lobby);
    }
    return reply_frame(j);
}

frame_ptr encode_lobby(std::string_view room, std::uint64_t id) {
    return reply_frame(json{{"type", server_type("lobby")}, {"room", room}, {"id", id}});
}

frame_ptr encode_knock(std::uint64_t id, std::string_view name) {
    return reply_frame(json{{"type", server_type("knock")}, {"id", id}, {"name", name}});
}

frame_ptr encode_knock_withdrawn(std::uint64_t id) {
    return reply_frame(json{{"type", server_type("knock-withdrawn")}, {"id", id}});
}

frame_ptr encode_denied_you(std::string_view room) {
    return reply_frame(json{{"type", server_type("denied")}, {"room", room}});
}

frame_ptr encode_denied(std::uint64_t id) {
    return reply_frame(json{{"type", server_type("denied")}, {"id", id}});
}

frame_ptr encode_removed_you(std::string_view room, bool room_ended) {
    json j{{"type", server_type("removed")}, {"room", room}};
    if (room_ended) j["reason"] = "room-ended";
    return reply_frame(j);
}

frame_ptr encode_removed(std::uint64_t id) {
    return reply_frame(json{{"type", server_type("removed")}, {"id", id}});
}

frame_ptr encode_room_closed(std::string_view room) {
    return reply_frame(json{{"type", server_type("room-closed")}, {"room", room}});
}

frame_ptr encode_locked(bool locked) {
    return text_frame(json{{"type", locked ? server_type("locked") : server_type("unlocked")}});
}

frame_ptr encode_host(std::uint64_t id) {
    return text_frame(json{{"type", server_type("host")}, {"id", id}});
}

frame_ptr encode_left(std::string_view room) {
    return reply_frame(json{{"type", server_type("left")}, {"room", room}});
}

frame_ptr encode_peer_joined(std::uint64_t id) {
    return text_frame(json{{"type", server_type("peer-joined")}, {"id", id}});
}

frame_ptr encode_peer_left(std::uint64_t id, bool removed) {
    json j{{"type", server_type("peer-left")}, {"id", id}};
    if (removed) j["removed"] = true;
    return text_frame(j);
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
