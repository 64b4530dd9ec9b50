#include "roomcast/ws/handshake.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>

namespace roomcast::ws {

std::string accept_key(std::string_view client_key) {
    static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input;
    input.reserve(client_key.size() + guid.size());
    input.append(client_key);
    input.append(guid);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<unsigned char const*>(input.data()), input.size(), digest);
    unsigned char out[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
    int const n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
    return std::string(reinterpret_cast<char const*>(out), static_cast<std::size_t>(n));
}

bool valid_client_key(std::string_view key) noexcept {
    // 16 bytes encode to 22 base64 characters and "==".
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
    for (std::size_t i = 0; i < 22; ++i) {
        unsigned char c = static_cast<unsigned char>(key[i]);
        if (!(std::isalnum(c) || c == '+' || c == '/')) return false;
    }
    // The last character before the padding carries 2 bits of data and 4 zero bits.
    static constexpr std::string_view last = "AQgw";
    return last.find(key[21]) != std::string_view::npos;
}

bool has_token(std::string_view v, std::string_view token) noexcept {
    std::size_t i = 0;
    while (i <= v.size()) {
        std::size_t const comma = v.find(',', i);
        std::string_view part = v.substr(i, comma == std::string_view::npos ? v.npos : comma - i);
        while (!part.empty() && (part.front() == ' ' || part.front() == '\t'))
            part.remove_prefix(1);
        while (!part.empty() && (part.back() == ' ' || part.back() == '\t'))
            part.remove_suffix(1);
        if (part.size() == token.size()) {
            bool eq = true;
            for (std::size_t k = 0; k < part.size() && eq; ++k)
                eq = std::tolower(static_cast<unsigned char>(part[k])) ==
                     std::tolower(static_cast<unsigned char>(token[k]));
            if (eq) return true;
        }
        if (comma == std::string_view::npos) break;
        i = comma + 1;
    }
    return false;
}

}  // namespace roomcast::ws
