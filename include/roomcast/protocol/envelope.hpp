#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace roomcast::protocol {

/** What the envelope scan found (see scan_envelope). */
enum class envelope_status {
    ok,               // a top-level object with a string "type"
    broken,           // not one JSON value: unterminated string, unbalanced brackets, no value,
                      // a member without its key, colon or comma, data after the value
    not_object,       // one value, but not an object
    no_type,          // an object without a top-level "type"
    type_not_string,  // the last top-level "type" is not a string
};

/** Longest type (in bytes, decoded) the scan reports; every type the server routes on fits. */
inline constexpr std::size_t max_type_length = 15;

/** The envelope of a client text message: where its top-level type is, and what it says. */
struct envelope {
    envelope_status status = envelope_status::broken;
    /** With `ok`: the last top-level "type" value as it stands in the text, quotes included. */
    std::string_view type_token;
    /** With `ok`: the type decoded when it is ASCII and at most max_type_length bytes long.
     * When false the type is some other string: none the server routes on. */
    bool type_decoded = false;
    std::uint8_t type_length = 0;
    std::array<char, max_type_length> type_bytes{};

    /** The decoded type (empty unless type_decoded). */
    std::string_view type() const noexcept { return {type_bytes.data(), type_length}; }
};

/**
 * Reads the envelope of a client text message without parsing the rest: walks the top-level
 * object, skips string contents with memchr, nested objects and arrays by counting brackets
 * (string-aware) and scalars to the next delimiter, and decodes only keys short enough to be
 * "type" and the last top-level "type" value. One pass, no allocation, no recursion.
 *
 * Exact on every valid JSON text: the type it reports is the one a full parser (JSON.parse or
 * nlohmann, last duplicate winning) reads from the top-level object, escapes and a leading
 * UTF-8 BOM included. It does not validate what it skips (numbers, literals, escapes, control
 * characters, UTF-8, bracket kinds), so it may report a type for text that is not JSON.
 */
envelope scan_envelope(std::string_view text) noexcept;

}  // namespace roomcast::protocol
