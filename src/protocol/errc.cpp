#include "roomcast/protocol/errc.hpp"

#include <string>

namespace roomcast::protocol {

namespace {

class category_impl final : public boost::system::error_category {
  public:
    char const* name() const noexcept override { return "roomcast.protocol"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::bad_json:
                return "the frame is not valid JSON";
            case errc::bad_message:
                return "expected a JSON object with a string \"type\" and fields of the right "
                       "type (a join or leave of at most 4096 bytes)";
            case errc::bad_room:
                return "room must be 1-128 characters of A-Z a-z 0-9 _ -";
            case errc::not_joined:
                return "join a room first";
            case errc::room_full:
                return "the room is full";
            case errc::rate_limited:
                return "too many join attempts from this address; try again later";
            case errc::reserved_type:
                return "that type is reserved for the server's own messages and is not relayed";
            case errc::server_busy:
                return "the server is near its memory budget; try again later";
            case errc::not_host:
                return "only the room's host may do that";
            case errc::unknown_id:
                return "no such member (remove) or newcomer waiting in the lobby (admit, deny)";
            case errc::not_locked:
                return "the room is not locked";
            case errc::lobby_full:
                return "too many devices are already waiting to be let into this room";
            case errc::in_lobby:
                return "waiting for the host to let you in: nothing is relayed until then";
        }
        return "unknown protocol error";
    }
};

}  // namespace

boost::system::error_category const& category() noexcept {
    static category_impl const instance;
    return instance;
}

std::string_view wire_code(errc e) noexcept {
    switch (e) {
        case errc::bad_json:
            return "bad-json";
        case errc::bad_message:
            return "bad-message";
        case errc::bad_room:
            return "bad-room";
        case errc::not_joined:
            return "not-joined";
        case errc::room_full:
            return "room-full";
        case errc::rate_limited:
            return "rate-limited";
        case errc::reserved_type:
            return "reserved-type";
        case errc::server_busy:
            return "server-busy";
        case errc::not_host:
            return "not-host";
        case errc::unknown_id:
            return "unknown-id";
        case errc::not_locked:
            return "not-locked";
        case errc::lobby_full:
            return "lobby-full";
        case errc::in_lobby:
            return "in-lobby";
    }
    return "error";
}

}  // namespace roomcast::protocol
