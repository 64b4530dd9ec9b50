#pragma once
// Helpers shared by the four files that define basic_ws_session (internal to src/transport).

#include <roomcast/net.hpp>
#include <roomcast/protocol/frame.hpp>
#include <roomcast/ws/frame.hpp>

#include <string>
#include <string_view>

namespace roomcast::transport::detail {

/** Errors that are an ordinary end of a connection, logged at debug only. */
bool benign(error_code ec);

/** A server control frame (ping, pong, close) around `payload` (at most 125 bytes). */
std::shared_ptr<protocol::out_frame> control_frame(ws::opcode op, std::string payload);

/** 128 bits from the CSPRNG, hex: the secret that takes a seat back. */
std::string new_token();

/** Only data frames are replayed to a resumed seat: not the 101, pings, pongs or close. */
bool is_data_frame(protocol::frame_ptr const& f);

/** A close frame's payload: the code, then at most 123 bytes of reason. */
std::string close_payload(std::uint16_t code, std::string_view reason);

}  // namespace roomcast::transport::detail
