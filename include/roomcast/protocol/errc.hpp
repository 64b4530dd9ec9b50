#pragma once

#include <boost/system/error_code.hpp>

#include <string_view>
#include <type_traits>

namespace roomcast::protocol {

/** Protocol errors a client is told about; the connection stays open after each. */
enum class errc {
    bad_json = 1,   // the text frame is not JSON
    bad_message,    // not an object; type missing or not a string; a field of the wrong type
    bad_room,       // room name empty, too long, or outside [A-Za-z0-9_-]
    not_joined,     // a relay or leave before any join
    room_full,      // the room already has max_room_members
    rate_limited,   // too many join attempts from this address: retry after retry_after_ms
    reserved_type,  // a text message whose type is one the server sends (not relayed)
    server_busy,    // the server is near its memory budget: retry after retry_after_ms
    not_host,       // lock, unlock, admit, deny or remove from a member that is not the host
    unknown_id,     // admit/deny: no such newcomer in the lobby; remove: no such other member
    not_locked,     // unlock of a room that is not locked
    lobby_full,     // the locked room already has max-lobby newcomers waiting
    in_lobby,       // a relay (or host request) while waiting in the lobby
};

/** One past the largest errc value (for per-code counters). */
inline constexpr int errc_count = static_cast<int>(errc::in_lobby) + 1;

/** The error category; its message() is the human-readable text sent to clients. */
boost::system::error_category const& category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

/** The wire code: "bad-json", "bad-message", … */
std::string_view wire_code(errc e) noexcept;

}  // namespace roomcast::protocol

template <>
struct boost::system::is_error_code_enum<roomcast::protocol::errc> : std::true_type {};
