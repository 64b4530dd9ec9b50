#include <roomcast/ws/handshake.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace {

using namespace roomcast::ws;

TEST(AcceptKey, Rfc6455Example) {
    EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(AcceptKey, OtherKnownValues) {
    // Computed independently: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
    EXPECT_EQ(accept_key("x3JJHMbDL1EzLkh9GBhXDw=="), "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
    EXPECT_EQ(accept_key("AQIDBAUGBwgJCgsMDQ4PEA=="), "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");
}

TEST(AcceptKey, IsAlways28Base64Chars) {
    for (std::string_view k : {"", "a", "dGhlIHNhbXBsZSBub25jZQ==", "not a key at all"}) {
        std::string a = accept_key(k);
        EXPECT_EQ(a.size(), 28u) << k;
        EXPECT_EQ(a.back(), '=') << k;
        EXPECT_EQ(a.find_first_not_of(
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
                  std::string::npos)
            << a;
    }
    EXPECT_NE(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), accept_key("dGhlIHNhbXBsZSBub25jZA=="));
}

TEST(ValidClientKey, Accepts) {
    EXPECT_TRUE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_TRUE(valid_client_key("x3JJHMbDL1EzLkh9GBhXDw=="));
    EXPECT_TRUE(valid_client_key("AAAAAAAAAAAAAAAAAAAAAA=="));  // 16 zero bytes
    EXPECT_TRUE(valid_client_key("/////////////////////w=="));  // 16 0xFF bytes
    EXPECT_TRUE(valid_client_key("+++++++++++++++++++++g=="));
    EXPECT_TRUE(valid_client_key("AQIDBAUGBwgJCgsMDQ4PEA=="));
}

TEST(ValidClientKey, EveryFinalCharacterBeforePadding) {
    // Only A, Q, g and w leave the 4 unused bits zero.
    std::string const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (char c : alphabet) {
        std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
        key[21] = c;
        bool const expected = c == 'A' || c == 'Q' || c == 'g' || c == 'w';
        EXPECT_EQ(valid_client_key(key), expected) << key;
    }
}

TEST(ValidClientKey, RejectsBadLength) {
    EXPECT_FALSE(valid_client_key(""));
    EXPECT_FALSE(valid_client_key("=="));
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ="));    // 23
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));     // no padding
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==="));  // 25
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ== "));
    EXPECT_FALSE(valid_client_key(" dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZSE="));  // 17 bytes (one '=')
    EXPECT_FALSE(valid_client_key("AAAAAAAAAAAAAAAAAAAAAAAA"));  // 18 bytes, no padding
    EXPECT_FALSE(valid_client_key("AAAAAAAAAAAAAAAAAAAAAA"));    // 22 chars
}

TEST(ValidClientKey, RejectsBadPadding) {
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQ=A"));
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQA="));
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25jZQAA"));
    EXPECT_FALSE(valid_client_key("dGhlIHNhbXBsZSBub25j=Q=="));  // '=' inside
    EXPECT_FALSE(valid_client_key("========================"));
}

TEST(ValidClientKey, RejectsBadCharacters) {
    std::string const good = "dGhlIHNhbXBsZSBub25jZQ==";
    for (char c : std::string("-_ .\t:*!\"#$%&'()\\,;<>?@[]^`{|}~=\x7F\x80\xFF")) {
        for (std::size_t pos : {0u, 5u, 20u}) {
            std::string key = good;
            key[pos] = c;
            EXPECT_FALSE(valid_client_key(key))
                << "char " << int(static_cast<unsigned char>(c)) << " at " << pos;
        }
    }
    std::string with_nul = good;
    with_nul[3] = '\0';
    EXPECT_FALSE(valid_client_key(with_nul));
}

TEST(HasToken, Basic) {
    EXPECT_TRUE(has_token("Upgrade", "upgrade"));
    EXPECT_TRUE(has_token("upgrade", "Upgrade"));
    EXPECT_TRUE(has_token("UPGRADE", "upgrade"));
    EXPECT_TRUE(has_token("uPgRaDe", "UpGrAdE"));
    EXPECT_FALSE(has_token("", "upgrade"));
    EXPECT_FALSE(has_token("upgrad", "upgrade"));
    EXPECT_FALSE(has_token("upgrades", "upgrade"));
    EXPECT_FALSE(has_token("xupgrade", "upgrade"));
    EXPECT_FALSE(has_token("keep-alive", "upgrade"));
}

TEST(HasToken, CommaSeparatedLists) {
    EXPECT_TRUE(has_token("keep-alive, Upgrade", "upgrade"));
    EXPECT_TRUE(has_token("keep-alive,Upgrade", "upgrade"));
    EXPECT_TRUE(has_token("Upgrade, keep-alive", "upgrade"));
    EXPECT_TRUE(has_token("a, b ,Upgrade , c", "upgrade"));
    EXPECT_TRUE(has_token("keep-alive, Upgrade", "keep-alive"));
    EXPECT_TRUE(has_token(",,upgrade,,", "upgrade"));
    EXPECT_FALSE(has_token("keep-alive, Upgrade2", "upgrade"));
    EXPECT_FALSE(has_token("keep-alive Upgrade", "upgrade"));  // space is not a separator
    EXPECT_FALSE(has_token("keep-alive;Upgrade", "upgrade"));
    EXPECT_FALSE(has_token("up grade", "upgrade"));
}

TEST(HasToken, SpacesAndTabsAroundTokens) {
    EXPECT_TRUE(has_token("   upgrade   ", "upgrade"));
    EXPECT_TRUE(has_token("\tupgrade\t", "upgrade"));
    EXPECT_TRUE(has_token("close,\t Upgrade \t,x", "upgrade"));
    EXPECT_TRUE(has_token("websocket", "websocket"));
    EXPECT_TRUE(has_token("WebSocket", "websocket"));
    EXPECT_FALSE(has_token("web socket", "websocket"));
}

}  // namespace
