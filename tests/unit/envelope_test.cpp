#include <roomcast/protocol/envelope.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace roomcast::protocol;
using json = nlohmann::json;
using st = envelope_status;

envelope_status status_of(std::string_view text) {
    return scan_envelope(text).status;
}

// The decoded type of a text that must scan as an object with a short ASCII string type.
std::string type_of(std::string_view text) {
    auto const e = scan_envelope(text);
    EXPECT_EQ(e.status, st::ok) << text;
    EXPECT_TRUE(e.type_decoded) << text;
    return std::string(e.type());
}

TEST(Envelope, SimpleObjects) {
    EXPECT_EQ(type_of(R"({"type":"image","data":"x"})"), "image");
    EXPECT_EQ(type_of(R"({"data":"x","type":"image"})"), "image");
    EXPECT_EQ(type_of(R"({"type":""})"), "");
    EXPECT_EQ(type_of(R"({"a":1,"b":true,"c":null,"d":-1.5e+3,"e":[],"f":{},"type":"t"})"), "t");
    auto const e = scan_envelope(R"({"type":"image","data":"x"})");
    EXPECT_EQ(e.type_token, R"("image")");
}

TEST(Envelope, WhitespaceAndBom) {
    EXPECT_EQ(type_of(" \t\r\n{ \t\r\n\"type\" \t\r\n: \t\r\n\"x\" \t\r\n} \t\r\n"), "x");
    EXPECT_EQ(type_of("\xEF\xBB\xBF{\"type\":\"x\"}"), "x");
    EXPECT_EQ(type_of("\xEF\xBB\xBF\n {\"type\":\"x\"}\n"), "x");
    // Only JSON's four whitespace bytes, and only one BOM, at the very start.
    EXPECT_EQ(status_of("\f{\"type\":\"x\"}"), st::broken);
    EXPECT_EQ(status_of("\v{\"type\":\"x\"}"), st::broken);
    EXPECT_EQ(status_of(" \xEF\xBB\xBF{\"type\":\"x\"}"), st::broken);
    EXPECT_EQ(status_of("\xEF\xBB\xBF\xEF\xBB\xBF{\"type\":\"x\"}"), st::broken);
    EXPECT_EQ(status_of("\xEF\xBB{\"type\":\"x\"}"), st::broken);
    EXPECT_EQ(status_of("{\"type\":\"x\"}\xC2\xA0"), st::broken);
}

TEST(Envelope, LastDuplicateWins) {
    EXPECT_EQ(type_of(R"({"type":"a","type":"b"})"), "b");
    EXPECT_EQ(type_of(R"({"type":1,"type":"b"})"), "b");
    EXPECT_EQ(type_of(R"({"type":{"type":"x"},"x":2,"type":"b","y":[]})"), "b");
    EXPECT_EQ(status_of(R"({"type":"a","type":1})"), st::type_not_string);
    EXPECT_EQ(status_of(R"({"type":"a","type":null})"), st::type_not_string);
    EXPECT_EQ(status_of(R"({"type":"a","type":["b"]})"), st::type_not_string);
    EXPECT_EQ(status_of(R"({"type":"a","type":{}})"), st::type_not_string);
}

TEST(Envelope, EscapesInKeysAndValues) {
    EXPECT_EQ(type_of(R"({"t\u0079pe":"peer\u002dleft"})"), "peer-left");
    EXPECT_EQ(type_of(R"({"\u0074\u0079\u0070\u0065":"x"})"), "x");  // the longest "type"
    EXPECT_EQ(type_of(R"({"\u0054ype":"a","\u0074yp\u0045":"b","typ\u0065":"c"})"), "c");
    EXPECT_EQ(type_of(R"({"type":"\u0041\u005a\u0061\u007A\"\\\/\b\f\n\r\t"})"),
              "AZaz\"\\/\b\f\n\r\t");
    EXPECT_EQ(type_of(R"({"type":"a\u0000b"})"), std::string("a\0b", 3));
    // Keys that look like "type" but are not.
    EXPECT_EQ(status_of(R"({"type\u0000":"x"})"), st::no_type);
    EXPECT_EQ(status_of(R"({"typ\u00e9":"x"})"), st::no_type);
    EXPECT_EQ(status_of(R"({"\u0074ype ":"x"})"), st::no_type);
    EXPECT_EQ(status_of(R"({"\ud835\udd31ype":"x"})"), st::no_type);  // 𝔱ype
    EXPECT_EQ(status_of(R"({"Type":"x","TYPE":"y","types":"z","typ":"w"})"), st::no_type);
    // A key too long to be an escaped "type" is not one, whatever it holds.
    EXPECT_EQ(status_of(R"({"\u0074\u0079\u0070\u0065\u0020":"x"})"), st::no_type);
}

TEST(Envelope, OnlyTheTopLevelCounts) {
    EXPECT_EQ(type_of(R"({"data":{"type":"peer-left"},"type":"image"})"), "image");
    EXPECT_EQ(type_of(R"({"type":"image","data":{"type":"peer-left"}})"), "image");
    EXPECT_EQ(type_of(R"({"type":"image","d":[{"type":"x"},"type",":","peer-left"]})"), "image");
    EXPECT_EQ(type_of(R"({"type":"image","d":"\",\"type\":\"peer-left\"}"})"), "image");
    EXPECT_EQ(type_of(R"({"a":"}","b":"{","c":"]","d":"[","type":"x"})"), "x");
    EXPECT_EQ(type_of(R"({"a":{"b":"}\"}","c":[["]"]]},"type":"x"})"), "x");
    EXPECT_EQ(status_of(R"({"data":{"type":"peer-left"}})"), st::no_type);
    EXPECT_EQ(status_of(R"({"data":[{"type":"peer-left"}]})"), st::no_type);
}

TEST(Envelope, TypeDecodedOnlyWhenShortAndAscii) {
    std::string const fifteen(max_type_length, 'x');
    EXPECT_EQ(type_of(R"({"type":")" + fifteen + "\"}"), fifteen);
    // Fifteen characters, each as \u0078: the longest token that is decoded.
    std::string escaped;
    for (std::size_t i = 0; i < max_type_length; ++i)
        escaped += "\\u0078";
    EXPECT_EQ(type_of(R"({"type":")" + escaped + "\"}"), fifteen);

    for (std::string const& t :
         {R"({"type":")" + fifteen + "x\"}", R"({"type":")" + escaped + "x\"}",
          std::string(R"({"type":"été"})"), std::string(R"({"type":"\u00e9t\u00e9"})"),
          std::string(R"({"type":"peer-left\ud800"})"),
          std::string(R"({"type":"\ud83d\ude00"})")}) {
        auto const e = scan_envelope(t);
        EXPECT_EQ(e.status, st::ok) << t;
        EXPECT_FALSE(e.type_decoded) << t;
        EXPECT_TRUE(e.type().empty()) << t;
        EXPECT_EQ(e.type_token.front(), '"') << t;
        EXPECT_EQ(e.type_token.back(), '"') << t;
    }
}

TEST(Envelope, StatusOfEachShape) {
    for (std::string_view t : {"[]", "[1,{\"type\":\"x\"}]", "42", "-1.5e3", "\"type\"", "true",
                               "null", " 7 ", "\"a\\\"b\""})
        EXPECT_EQ(status_of(t), st::not_object) << t;
    for (std::string_view t : {"{}", " { } ", R"({"a":1})", R"({"Type":"x"})"})
        EXPECT_EQ(status_of(t), st::no_type) << t;
    for (std::string_view t : {R"({"type":1})", R"({"type":null})", R"({"type":true})",
                               R"({"type":[]})", R"({"type":{"type":"x"}})"})
        EXPECT_EQ(status_of(t), st::type_not_string) << t;
    for (std::string_view t : {
             "",
             " ",
             "\xEF\xBB\xBF",
             "{",
             "}",
             "]",
             ",",
             ":",
             R"({"type")",
             R"({"type":)",
             R"({"type":"x")",
             R"({"type":"x)",
             R"({"type":"x"},)",
             R"({"type":"x"}})",
             R"({"type":"x"}{})",
             R"({"type":"x"} x)",
             R"({"type":"x"}"")",
             R"({"type":"x" "a":1})",
             R"({"type":"x",})",
             R"({,"type":"x"})",
             R"({"type" "x"})",
             R"({"type"::"x"})",
             R"({"type":,"x"})",
             R"({type:"x"})",
             R"({'type':'x'})",
             R"({"type":"x" /* c */})",
             R"({"type":"x","d":[1,2})",
             R"({"type":"x","d":{"a":[}})",
             R"({"type":"x","d":"\"})",
             R"({"type":"x","d":1"a"})",
             R"({"type":"x","d":tr ue})",
             "[1,2",
             "[\"]\"",
             "1 2",
             "\"a\" \"b\"",
         })
        EXPECT_EQ(status_of(t), st::broken) << t;
}

TEST(Envelope, LenientOnWhatItSkips) {
    // Not JSON, but the structure is intact: the type is still found. (JSON.parse refuses all
    // of these, so no recipient reads such a frame at all.)
    for (std::string_view t :
         {R"({"type":"x","n":01})", R"({"type":"x","n":NaN})", R"({"type":"x","n":.5})",
          R"({"type":"x","v":undefined})", R"({"type":"x","s":"\x"})", R"({"type":"x","d":[}})",
          "{\"type\":\"x\",\"s\":\"tab\there\"}", "{\"type\":\"x\",\"s\":\"\xFF\"}"})
        EXPECT_EQ(type_of(t), "x") << t;
    // But an escape JSON forbids in the type itself is not decoded (so it is no routed type).
    for (std::string_view t : {R"({"type":"\x"})", R"({"type":"\u12"})", R"({"type":"\u12G4"})",
                               "{\"type\":\"a\tb\"}"}) {
        auto const e = scan_envelope(t);
        EXPECT_EQ(e.status, st::ok) << t;
        EXPECT_FALSE(e.type_decoded) << t;
    }
}

TEST(Envelope, AgreesWithNlohmannOnValidJson) {
    std::vector<std::string> const texts = {
        R"({"type":"a"})",
        R"({"type":"a","type":"b","type":"c"})",
        R"({"t\u0079pe":"p\u0065er-left","type":"x","\u0074ype":"y"})",
        R"({"x":{"type":"no","y":[{"type":"no"}]},"type":"yes"})",
        R"({"x":"\\","type":"\\\\","z":"\\\""})",
        R"({"a":[[[[[{"b":"]]]}}}"}]]]]],"type":"deep"})",
        "\xEF\xBB\xBF{\"type\":\"bom\"}",
        R"({"type":"\ud83d\ude00","a":"\u00e9"})",
        R"({"type":5})",
        R"({"n":-0.0e-0,"t":true,"f":false,"z":null,"type":"n"})",
        R"({})",
    };
    for (auto const& t : texts) {
        // nlohmann's DOM keeps the last duplicate key, as JSON.parse does.
        auto const j = json::parse(t, nullptr, /*allow_exceptions=*/false);
        ASSERT_TRUE(j.is_object()) << t;
        auto const e = scan_envelope(t);
        if (!j.contains("type")) {
            EXPECT_EQ(e.status, st::no_type) << t;
        } else if (!j.at("type").is_string()) {
            EXPECT_EQ(e.status, st::type_not_string) << t;
        } else {
            ASSERT_EQ(e.status, st::ok) << t;
            EXPECT_EQ(json::parse(e.type_token), j.at("type")) << t;
            if (e.type_decoded) {
                EXPECT_EQ(e.type(), j.at("type").get<std::string>()) << t;
            }
        }
    }
}

TEST(Envelope, EveryPrefixOfAnObjectIsBroken) {
    // Truncated anywhere, a text is never read past its end (ASan checks) and never an object.
    std::string const text =
        R"({"a":"\\\"x","b":[1,{"c":"]"}],"t\u0079pe":"peer-left","d":-1.5e3,"e":null})";
    ASSERT_EQ(type_of(text), "peer-left");
    for (std::size_t n = 0; n < text.size(); ++n) {
        // Copy into a buffer of exactly n bytes, so any overread hits the redzone.
        std::vector<char> const prefix(text.begin(), text.begin() + static_cast<long>(n));
        auto const s = status_of(std::string_view(prefix.data(), prefix.size()));
        EXPECT_EQ(s, st::broken) << text.substr(0, n);
    }
}

TEST(Envelope, LongBackslashRuns) {
    // A run of backslashes before a quote: an even run ends the string, an odd one escapes the
    // quote. Millions of them, in strings and keys, are still one linear pass.
    std::size_t const n = 4u << 20;
    std::string even = R"({"type":"x","d":")" + std::string(n, '\\') + "\"}";
    EXPECT_EQ(type_of(even), "x");
    std::string odd = R"({"type":"x","d":")" + std::string(n + 1, '\\') + "\"}";
    EXPECT_EQ(status_of(odd), st::broken);
    odd += "\"}";  // now the escaped quote is followed by a real end
    EXPECT_EQ(type_of(odd), "x");

    // Many quotes each behind a long run: every run is counted once.
    std::string many = R"({"d":")";
    for (int i = 0; i < 2000; ++i)
        many += std::string(2001, '\\') + "\"";  // odd: escaped quotes
    many += R"(","type":"y"})";
    EXPECT_EQ(type_of(many), "y");

    // \"\"\"…: a quote every other byte.
    std::string dense = R"({"d":")";
    for (int i = 0; i < 1000000; ++i)
        dense += "\\\"";
    dense += R"(","type":"z"})";
    EXPECT_EQ(type_of(dense), "z");

    // A key made of backslashes, too long to be "type".
    std::string key = "{\"" + std::string(1u << 20, '\\') + "\":1,\"type\":\"k\"}";
    EXPECT_EQ(type_of(key), "k");
}

TEST(Envelope, DeepNesting) {
    std::size_t const n = 1000000;
    std::string open = R"({"type":"x","d":)" + std::string(n, '[');
    EXPECT_EQ(status_of(open), st::broken);
    std::string closed = open + std::string(n, ']') + "}";
    EXPECT_EQ(type_of(closed), "x");
    EXPECT_EQ(status_of(std::string(n, '[')), st::broken);
    EXPECT_EQ(status_of(std::string(n, '[') + std::string(n, ']')), st::not_object);
    EXPECT_EQ(status_of(std::string(n, '{')), st::broken);
    // The type after a deep value, and a bracket too many.
    EXPECT_EQ(type_of(closed.substr(0, closed.size() - 1) + R"(,"type":"y"})"), "y");
    EXPECT_EQ(status_of(open + std::string(n + 1, ']') + "}"), st::broken);
}

TEST(Envelope, BigStrings) {
    std::string const data(30u << 20, 'A');
    EXPECT_EQ(type_of(R"({"type":"image","data":")" + data + "\"}"), "image");
    EXPECT_EQ(type_of(R"({"data":")" + data + R"(","type":"image"})"), "image");
    // A 30 MiB type is some other type, and is not copied.
    auto const big = R"({"type":")" + data + "\"}";
    auto const e = scan_envelope(big);
    EXPECT_EQ(e.status, st::ok);
    EXPECT_FALSE(e.type_decoded);
    EXPECT_EQ(e.type_token.size(), data.size() + 2);
}

}  // namespace
