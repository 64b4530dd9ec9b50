#pragma once

#include <roomcast/protocol/errc.hpp>
#include <roomcast/protocol/frame.hpp>

#include <boost/system/result.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace roomcast::protocol {

/** {"type":"join","room":R[,"resume":T][,"host_token":H][,"admission":A][,"name":N]} */
struct join_msg {
    std::string room;
    std::optional<std::string> resume;
    std::string host_token;  // empty: none (1-128 characters of [A-Za-z0-9_-] otherwise)
    std::string admission;   // the same
    std::string name;        // offered to the host when the room is locked: at most 256 bytes
};
/** {"type":"leave"} */
struct leave_msg {};
/** The host's requests: {"type":"lock"}, {"type":"unlock"}, and {"type":"admit"|"deny"|"remove",
 * "id":N} with N a member id (an integer, 0 to 2^53). */
struct access_msg {
    enum class kind { lock, unlock, admit, deny, remove };
    kind what = kind::lock;
    std::uint64_t id = 0;
    bool room_ended = false;  // remove with "reason":"room-ended": the host started a new room
};
/** Any other type: its bytes are relayed unchanged. */
struct relay_msg {};

using message = std::variant<join_msg, leave_msg, access_msg, relay_msg>;

/** Longest knock name accepted (bytes). */
inline constexpr std::size_t max_knock_name = 256;

/** Largest join or leave message, in bytes (only these are parsed in full); also the largest
 * message a connection may send before it has joined a room (nothing else is of use then). */
inline constexpr std::size_t max_envelope_bytes = 4096;

/**
 * The types only the server sends: every type it sends today, and those reserved for private
 * rooms and takeovers. A client text message with one of these as its top-level `type` is
 * refused with `reserved-type` and never relayed, so a recipient can trust such a frame as the
 * server's own. New server types are only ever added here (docs/PROTOCOL.md lists them).
 */
inline constexpr std::array<std::string_view, 20> reserved_types = {
    // sent today
    "joined", "left", "peer-joined", "peer-left", "peer-away", "peer-back", "error",
    // private rooms
    "knock", "knock-withdrawn", "denied", "removed", "lobby", "host", "locked", "unlocked",
    "room-closed",
    // reserved
    "admitted", "kicked", "taken-over", "server"};

/** True when `type` (decoded) is one of reserved_types. */
constexpr bool is_reserved_type(std::string_view type) noexcept {
    return std::find(reserved_types.begin(), reserved_types.end(), type) != reserved_types.end();
}

/** Longest room name accepted. */
inline constexpr std::size_t max_room_length = 128;

/** True when `room` is 1-128 characters of [A-Za-z0-9_-]. */
bool valid_room(std::string_view room) noexcept;

/**
 * Parses a client text frame (already checked to be UTF-8). Never throws. Reads the envelope
 * first (scan_envelope: the top-level type, as JSON.parse would read it, without parsing the
 * rest): a `join` or `leave` must then be at most max_envelope_bytes and is parsed in full as
 * strict JSON; a reserved type is refused with `reserved_type`; any other string type is a
 * relay, whose contents are not validated. A refused frame of at most max_envelope_bytes gets
 * the full parser's verdict (bad-json for any syntax error); a larger one the scan's (bad-json
 * for broken structure, bad-message without an object or a string type).
 */
boost::system::result<message> parse(std::string_view text);

/** Server messages, each encoded to a ready-to-send text frame. */
/** `peers`: every other member; `away`: those of them whose seat is held; `resume`: the
 * token that takes this seat back after a drop; `resumed`: this join took a seat back. */
frame_ptr encode_joined(std::string_view room, std::uint64_t id,
                        std::span<std::uint64_t const> peers,
                        std::span<std::uint64_t const> away = {}, std::string_view resume = {},
                        bool resumed = false);

/** The access part of a `joined` (private rooms): who hosts, whether it is locked, this
 * member's admission, and for the host its token and the lobby. */
struct joined_access {
    std::uint64_t host_id = 0;
    bool locked = false;
    std::string_view admission;
    bool host = false;
    std::string_view host_token;                                   // host only
    std::span<std::pair<std::uint64_t, std::string> const> lobby;  // host only: id, name
};
frame_ptr encode_joined(std::string_view room, std::uint64_t id,
                        std::span<std::uint64_t const> peers, std::span<std::uint64_t const> away,
                        std::string_view resume, bool resumed, joined_access const& access);
frame_ptr encode_left(std::string_view room);
frame_ptr encode_peer_joined(std::uint64_t id);
frame_ptr encode_peer_left(std::uint64_t id, bool removed = false);
/** To a newcomer: {"type":"lobby","room","id"}: the room is locked, the host was asked. */
frame_ptr encode_lobby(std::string_view room, std::uint64_t id);
/** To the host: {"type":"knock","id","name"}. */
frame_ptr encode_knock(std::uint64_t id, std::string_view name);
/** To the host: {"type":"knock-withdrawn","id"} (the newcomer stopped waiting). */
frame_ptr encode_knock_withdrawn(std::uint64_t id);
/** {"type":"denied","room"} to the newcomer; {"type":"denied","id"} to the host. */
frame_ptr encode_denied_you(std::string_view room);
frame_ptr encode_denied(std::uint64_t id);
/** {"type":"removed","room"} to the removed member; {"type":"removed","id"} to the host. */
frame_ptr encode_removed_you(std::string_view room, bool room_ended = false);
frame_ptr encode_removed(std::uint64_t id);
/** {"type":"room-closed","room"}: to a newcomer whose room's lock was let go while it waited. */
frame_ptr encode_room_closed(std::string_view room);
/** To every member: {"type":"locked"} / {"type":"unlocked"}. */
frame_ptr encode_locked(bool locked);
/** To every member: {"type":"host","id"} (the host came into the room). */
frame_ptr encode_host(std::uint64_t id);
frame_ptr encode_peer_away(std::uint64_t id);
frame_ptr encode_peer_back(std::uint64_t id);
/** {"type":"error","code","message"} and, when nonzero, "retry_after_ms". */
frame_ptr encode_error(errc code, std::uint64_t retry_after_ms = 0);

}  // namespace roomcast::protocol
