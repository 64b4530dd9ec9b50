#include "roomcast/protocol/envelope.hpp"

#include <cstring>

namespace roomcast::protocol {

namespace {

using ptr = char const*;

// Byte classes. `scalar` holds every byte of a number, true, false or null (and letters the
// lenient skip lets through); anything else ends a scalar.
enum : std::uint8_t { other, space, scalar, quote, open, close };

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> t{};
    for (unsigned char c : std::string_view(" \t\r\n"))
        t[c] = space;
    for (unsigned char c = '0'; c <= '9'; ++c)
        t[c] = scalar;
    for (unsigned char c = 'a'; c <= 'z'; ++c)
        t[c] = scalar;
    for (unsigned char c = 'A'; c <= 'Z'; ++c)
        t[c] = scalar;
    t['+'] = t['-'] = t['.'] = scalar;
    t['"'] = quote;
    t['['] = t['{'] = open;
    t[']'] = t['}'] = close;
    return t;
}
constexpr auto classes = make_classes();

std::uint8_t class_of(char c) noexcept {
    return classes[static_cast<unsigned char>(c)];
}

ptr skip_space(ptr p, ptr end) noexcept {
    while (p != end && class_of(*p) == space)
        ++p;
    return p;
}

// The first quote in [p, end), or nullptr. memchr is an order of magnitude faster than a loop
// over a long run, but its call costs about as much as scanning a short string, so the next 8
// bytes are looked at first: keys, small values and dense escapes (\"\"\"…) stay cheap. (Measured
// on 30 MiB: base64 1.5 ms either way; \"\"\"… 125 → 63 ms; an array of short strings 61 → 45 ms;
// a quote every 16 bytes 18 → 31 ms. A word-at-a-time test of 16 bytes did no better.)
ptr find_quote(ptr p, ptr end) noexcept {
    for (ptr const near = end - p > 8 ? p + 8 : end; p != near; ++p)
        if (*p == '"') return p;
    if (p == end) return nullptr;
    return static_cast<ptr>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
}

// `p` is at an opening quote. Returns one past the closing quote, or nullptr when the string
// does not end. Each quote found closes the string when an even number of backslashes stands
// before it. The backward count never passes the previous quote found, so each byte is read
// at most twice however long a run of backslashes is: linear.
ptr skip_string(ptr p, ptr end) noexcept {
    ptr from = p + 1;
    for (;;) {
        ptr const q = find_quote(from, end);
        if (!q) return nullptr;
        ptr b = q;
        while (b != from && b[-1] == '\\')
            --b;
        if (((q - b) & 1) == 0) return q + 1;
        from = q + 1;
    }
}

// `p` is at '[' or '{'. Returns one past the bracket that closes it, or nullptr. Counts
// brackets outside strings without matching their kinds, and needs no stack at any depth.
ptr skip_nested(ptr p, ptr end) noexcept {
    std::size_t depth = 0;
    while (p != end) {
        switch (class_of(*p)) {
            case quote:
                p = skip_string(p, end);
                if (!p) return nullptr;
                continue;
            case open:
                ++depth;
                break;
            case close:
                if (--depth == 0) return p + 1;
                break;
            default:
                break;
        }
        ++p;
    }
    return nullptr;
}

// Returns one past the value starting at `p`, or nullptr when no value starts there.
ptr skip_value(ptr p, ptr end) noexcept {
    if (p == end) return nullptr;
    switch (class_of(*p)) {
        case quote:
            return skip_string(p, end);
        case open:
            return skip_nested(p, end);
        case scalar:
            while (p != end && class_of(*p) == scalar)
                ++p;
            return p;
        default:
            return nullptr;
    }
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes the string token [b, e) (quotes included) into out[0, n) when it decodes to at most
// `cap` ASCII characters. Every name we compare with is ASCII, so a token holding anything
// else (a raw byte >= 0x80, or an escape of a code point >= 0x80, surrogate halves included)
// cannot equal one and needs no decoding. False, too, for what JSON forbids in a string (a raw
// control character, an unknown or short escape).
bool decode_ascii(ptr b, ptr e, char* out, std::size_t cap, std::size_t& n) noexcept {
    n = 0;
    ptr const last = e - 1;  // the closing quote
    for (ptr p = b + 1; p < last;) {
        auto c = static_cast<unsigned char>(*p++);
        if (c == '\\') {
            if (p == last) return false;
            char const esc = *p++;
            switch (esc) {
                case '"':
                case '\\':
                case '/':
                    c = static_cast<unsigned char>(esc);
                    break;
                case 'b':
                    c = '\b';
                    break;
                case 'f':
                    c = '\f';
                    break;
                case 'n':
                    c = '\n';
                    break;
                case 'r':
                    c = '\r';
                    break;
                case 't':
                    c = '\t';
                    break;
                case 'u': {
                    if (last - p < 4) return false;
                    unsigned v = 0;
                    for (int i = 0; i < 4; ++i) {
                        int const h = hex_digit(*p++);
                        if (h < 0) return false;
                        v = v * 16 + static_cast<unsigned>(h);
                    }
                    if (v >= 0x80) return false;
                    c = static_cast<unsigned char>(v);
                    break;
                }
                default:
                    return false;
            }
        } else if (c < 0x20 || c >= 0x80) {
            return false;
        }
        if (n == cap) return false;
        out[n++] = static_cast<char>(c);
    }
    return true;
}

// True when the key token [b, e) decodes to "type". Only a key with a backslash needs
// decoding, and only up to 6 bytes a character (\u0074) plus its quotes.
bool key_is_type(ptr b, ptr e) noexcept {
    constexpr std::string_view plain = "\"type\"";
    constexpr std::size_t longest = 6 * 4 + 2;
    auto const n = static_cast<std::size_t>(e - b);
    if (n == plain.size()) return std::memcmp(b, plain.data(), n) == 0;
    if (n < plain.size() || n > longest || !std::memchr(b, '\\', n)) return false;
    char buf[4];
    std::size_t len = 0;
    return decode_ascii(b, e, buf, sizeof buf, len) && len == 4 && std::memcmp(buf, "type", 4) == 0;
}

}  // namespace

envelope scan_envelope(std::string_view text) noexcept {
    envelope env;  // broken until shown otherwise
    ptr p = text.data();
    ptr const end = p + text.size();
    // nlohmann skips a leading UTF-8 BOM, and a browser's UTF-8 decode may drop it too.
    if (text.size() >= 3 && std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3;
    p = skip_space(p, end);
    if (p == end) return env;
    if (*p != '{') {
        p = skip_value(p, end);
        if (p && skip_space(p, end) == end) env.status = envelope_status::not_object;
        return env;
    }

    bool have_type = false;
    std::string_view type;
    p = skip_space(p + 1, end);
    if (p != end && *p == '}') {
        ++p;
    } else {
        for (;;) {
            if (p == end || *p != '"') return env;
            ptr const key = p;
            p = skip_string(p, end);
            if (!p) return env;
            bool const is_type = key_is_type(key, p);
            p = skip_space(p, end);
            if (p == end || *p != ':') return env;
            p = skip_space(p + 1, end);
            ptr const value = p;
            p = skip_value(p, end);
            if (!p) return env;
            if (is_type) {  // the last one wins, as with JSON.parse
                have_type = true;
                type = {value, static_cast<std::size_t>(p - value)};
            }
            p = skip_space(p, end);
            if (p == end) return env;
            if (*p == ',') {
                p = skip_space(p + 1, end);
                continue;
            }
            if (*p != '}') return env;
            ++p;
            break;
        }
    }
    if (skip_space(p, end) != end) return env;

    if (!have_type) {
        env.status = envelope_status::no_type;
    } else if (type.front() != '"') {
        env.status = envelope_status::type_not_string;
    } else {
        env.status = envelope_status::ok;
        env.type_token = type;
        std::size_t n = 0;
        if (type.size() <= 6 * max_type_length + 2 &&
            decode_ascii(type.data(), type.data() + type.size(), env.type_bytes.data(),
                         max_type_length, n)) {
            env.type_decoded = true;
            env.type_length = static_cast<std::uint8_t>(n);
        }
    }
    return env;
}

}  // namespace roomcast::protocol
