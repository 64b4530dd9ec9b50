#pragma once
// QR codes for the room link, drawn with libqrencode: as SVG for the page, as text for the
// terminal. We only draw the modules libqrencode computes.

#include <optional>
#include <string>
#include <string_view>

namespace roomcast::pairing {

/** Longest text /qr.svg encodes (a room link is ~80 bytes). */
inline constexpr std::size_t max_qr_text = 1024;

/** An SVG image of `text` as a QR code (error correction M, 4-module quiet zone), or
 * nothing when the text is empty, too long, or cannot be encoded. */
std::optional<std::string> qr_svg(std::string_view text);

/** The QR code drawn with Unicode half blocks, two modules per character row, dark on light. */
std::optional<std::string> qr_terminal(std::string_view text);

}  // namespace roomcast::pairing
