#include <roomcast/protocol/codec.hpp>

#include <roomcast/protocol/errc.hpp>
#include <roomcast/protocol/frame.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace roomcast::protocol;
using json = nlohmann::json;

// The error a parse produced, or a failure when it succeeded.
errc error_of(std::string_view text) {
    auto r = parse(text);
    EXPECT_FALSE(r.has_value()) << "parsed OK but expected an error: " << text;
    if (r.has_value()) return static_cast<errc>(0);
    EXPECT_EQ(&r.error().category(), &category()) << text;
    return static_cast<errc>(r.error().value());
}

message ok_of(std::string_view text) {
    auto r = parse(text);
    EXPECT_TRUE(r.has_value()) << "expected success: " << text << " got "
                               << (r.has_value() ? "" : r.error().message());
    if (!r.has_value()) return message{relay_msg{}};
    return *r;
}

std::string join_text(std::string_view room) {
    return std::string(R"({"type":"join","room":")") + std::string(room) + "\"}";
}

// ---------------------------------------------------------------------------------------------
// Message kinds

TEST(CodecParse, JoinWithoutResume) {
    auto m = ok_of(R"({"type":"join","room":"lobby"})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    auto const& j = std::get<join_msg>(m);
    EXPECT_EQ(j.room, "lobby");
    EXPECT_FALSE(j.resume.has_value());
}

TEST(CodecParse, JoinWithResume) {
    auto m = ok_of(R"({"room":"a-b_C9","resume":"tok-123","type":"join"})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    auto const& j = std::get<join_msg>(m);
    EXPECT_EQ(j.room, "a-b_C9");
    ASSERT_TRUE(j.resume.has_value());
    EXPECT_EQ(*j.resume, "tok-123");
}

TEST(CodecParse, JoinWithEmptyResumeIsPresentAndEmpty) {
    auto m = ok_of(R"({"type":"join","room":"r","resume":""})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    ASSERT_TRUE(std::get<join_msg>(m).resume.has_value());
    EXPECT_EQ(*std::get<join_msg>(m).resume, "");
}

TEST(CodecParse, JoinWithWhitespaceAndExtraFields) {
    auto m = ok_of(
        " \t\r\n{ \"type\" : \"join\" , \"room\" : \"x\" , \"extra\" : [1, {\"a\": null}] }\n");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    EXPECT_EQ(std::get<join_msg>(m).room, "x");
}

TEST(CodecParse, JoinWithEscapedKeysAndValues) {
    // "\u0074ype" is "type"; "\u006Coby" decodes to "loby".
    auto m = ok_of(R"({"\u0074ype":"jo\u0069n","room":"\u006Coby"})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    EXPECT_EQ(std::get<join_msg>(m).room, "loby");
}

TEST(CodecParse, Leave) {
    EXPECT_TRUE(std::holds_alternative<leave_msg>(ok_of(R"({"type":"leave"})")));
    // Extra fields (even a room) do not change a leave.
    EXPECT_TRUE(std::holds_alternative<leave_msg>(ok_of(R"({"type":"leave","room":5})")));
}

TEST(CodecParse, AnyOtherTypeIsRelay) {
    for (std::string_view t :
         {R"({"type":"chat","text":"hi"})", R"({"type":""})", R"({"type":"JOIN","room":5})",
          R"({"type":"Leave"})", R"({"type":"join "})", R"({"type":"Joined","room":"x"})",
          R"({"type":"peer-lef"})", R"({"type":"peer-left "})", R"({"type":"x-peer-left"})",
          R"({"type":"\u00e9t\u00e9"})", R"({"type":"x","data":[1,2,{"type":"join"}]})"}) {
        auto m = ok_of(t);
        EXPECT_TRUE(std::holds_alternative<relay_msg>(m)) << t;
    }
}

// ---------------------------------------------------------------------------------------------
// reserved-type: a member cannot send a frame that looks like the server's own

// {"type":"<t>"}, with every character of t written as \u00XX.
std::string fully_escaped(std::string_view type) {
    static char const hex[] = "0123456789abcdef";
    std::string out = R"({"t\u0079pe":")";
    for (unsigned char c : type) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out + "\"}";
}

TEST(CodecParse, EveryReservedTypeIsRefused) {
    EXPECT_EQ(reserved_types.size(), 20u);
    for (std::string_view t : reserved_types) {
        std::string const type(t);
        EXPECT_TRUE(is_reserved_type(t)) << type;
        EXPECT_EQ(error_of(R"({"type":")" + type + "\"}"), errc::reserved_type) << type;
        // With the fields the server's own frames carry, as a forger would send them.
        EXPECT_EQ(error_of(R"({"type":")" + type + R"(","id":1,"room":"r","resume":"tok"})"),
                  errc::reserved_type)
            << type;
        EXPECT_EQ(error_of(fully_escaped(t)), errc::reserved_type) << fully_escaped(t);
    }
    // Exactly these: neither a prefix, a longer name, nor another case.
    for (std::string_view t : {"join", "leave", "image", "file-offer", "peer", "peer-", "Joined",
                               "ERROR", "error ", " error", "servers", "peer_left", ""})
        EXPECT_FALSE(is_reserved_type(t)) << t;
}

TEST(CodecParse, ReservedTypeSeenAsJsonParseSeesIt) {
    std::vector<std::string> const refused = {
        // The last duplicate wins, as with JSON.parse.
        R"({"type":"image","type":"peer-left"})",
        R"({"type":5,"type":"peer-left"})",
        R"({"type":"peer-left","data":{"type":"image"},"x":[{"type":"image"}]})",
        // Escapes in keys and values.
        R"({"t\u0079pe":"peer\u002dleft"})",
        R"({"\u0074\u0079\u0070\u0065":"\u0070eer-left"})",
        R"({"type":"peer\u002Dleft"})",
        R"({"type":"joine\u0064","id":1})",
        R"({"type":"image","\u0074ype":"error"})",
        R"({"type":"pee\u0072-left","typ\u0065":"kicked"})",
        R"({"type":"peer\/left","type":"peer-left"})",
        // Whitespace anywhere JSON allows it, and a leading BOM (nlohmann skips one; a
        // browser's UTF-8 decode may strip it before JSON.parse sees the text).
        " \t\r\n{ \"type\" \t:\r\n \"peer-left\" \n} \r\n\t",
        "\xEF\xBB\xBF{\"type\":\"peer-left\"}",
        "\xEF\xBB\xBF \n{\"type\":\"peer-left\",\"id\":3}\n",
        // Strings holding quotes, backslashes and brackets before the type.
        R"({"a":"\"}","b":"\\","c":"\\\"{[","type":"peer-left"})",
        R"({"a":[{"b":"]}"},"\\"],"type":"left"})",
    };
    for (auto const& t : refused)
        EXPECT_EQ(error_of(t), errc::reserved_type) << t;

    std::vector<std::string> const relayed = {
        // Only the top-level object's type counts.
        R"({"data":{"type":"peer-left"},"type":"image"})",
        R"({"type":"image","data":{"type":"peer-left"}})",
        R"({"type":"image","data":[{"type":"peer-left"},"type","peer-left"]})",
        // A string that merely contains the text is data.
        R"({"type":"image","data":"{\"type\":\"peer-left\"}"})",
        R"({"type":"image","x":"\",\"type\":\"peer-left"})",
        // The last duplicate wins in this direction too.
        R"({"type":"peer-left","type":"image"})",
        R"({"t\u0079pe":"peer-left","type":"image"})",
        // Keys that are not "type".
        R"({"type ":"peer-left","type":"image"})",
        R"({"Type":"peer-left","type":"image"})",
        R"({"typ":"peer-left","type":"image"})",
        R"({"t\u0079pe\u0000":"peer-left","type":"image"})",
        // Values that are not a reserved type.
        R"({"type":"peer\u002dleft\u0000"})",
        R"({"type":"peer-left\ud83d\ude00"})",
        R"({"type":"p\u00e9er-left"})",
    };
    for (auto const& t : relayed)
        EXPECT_TRUE(std::holds_alternative<relay_msg>(ok_of(t))) << t;

    // A reserved type that is not a string is just a missing type.
    EXPECT_EQ(error_of(R"({"type":["peer-left"]})"), errc::bad_message);
    EXPECT_EQ(error_of(R"({"type":{"type":"peer-left"}})"), errc::bad_message);
}

TEST(CodecParse, RelayDoesNotValidateRoom) {
    // A relay message carrying a "room" field that would be a bad room is still a relay.
    EXPECT_TRUE(std::holds_alternative<relay_msg>(ok_of(R"({"type":"x","room":"../etc"})")));
    EXPECT_TRUE(std::holds_alternative<relay_msg>(ok_of(R"({"type":"x","room":7})")));
}

TEST(CodecParse, NestedTypeKeysAreIgnored) {
    // Only the top-level "type" counts.
    EXPECT_EQ(error_of(R"({"data":{"type":"join","room":"a"}})"), errc::bad_message);
    EXPECT_EQ(error_of(R"({"data":[{"type":"leave"}]})"), errc::bad_message);
    auto m = ok_of(R"({"a":{"type":"join","room":"a"},"type":"leave"})");
    EXPECT_TRUE(std::holds_alternative<leave_msg>(m));
    m = ok_of(R"({"type":"chat","inner":{"type":"join","room":"zzz"}})");
    EXPECT_TRUE(std::holds_alternative<relay_msg>(m));
    // A nested room does not satisfy a top-level join.
    EXPECT_EQ(error_of(R"({"type":"join","x":{"room":"a"}})"), errc::bad_message);
    // Nor does a nested room override the top-level one.
    m = ok_of(R"({"type":"join","room":"top","x":{"room":"bad room!"},"y":[{"room":7}]})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    EXPECT_EQ(std::get<join_msg>(m).room, "top");
}

TEST(CodecParse, DuplicateKeysLastWins) {
    EXPECT_TRUE(std::holds_alternative<leave_msg>(ok_of(R"({"type":"join","type":"leave"})")));
    EXPECT_TRUE(std::holds_alternative<leave_msg>(ok_of(R"({"type":5,"type":"leave"})")));
    EXPECT_EQ(error_of(R"({"type":"leave","type":5})"), errc::bad_message);
    EXPECT_EQ(error_of(R"({"type":"leave","type":null})"), errc::bad_message);

    auto m = ok_of(R"({"type":"join","room":"first","room":"second"})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    EXPECT_EQ(std::get<join_msg>(m).room, "second");

    EXPECT_EQ(error_of(R"({"type":"join","room":"ok","room":5})"), errc::bad_message);
    m = ok_of(R"({"type":"join","room":5,"room":"ok"})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    EXPECT_EQ(std::get<join_msg>(m).room, "ok");

    EXPECT_EQ(error_of(R"({"type":"join","room":"ok","room":"bad room"})"), errc::bad_room);
    EXPECT_EQ(error_of(R"({"type":"join","room":"a","resume":"t","resume":{}})"),
              errc::bad_message);
    m = ok_of(R"({"type":"join","room":"a","resume":[],"resume":"t2"})");
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    EXPECT_EQ(std::get<join_msg>(m).resume.value_or(""), "t2");
}

TEST(CodecParse, LargeRelayFrameParses) {
    // Several MB: a long string, plus an array of many numbers and nested objects.
    std::string text = R"({"type":"photo","data":")";
    text.append(4u << 20, 'A');
    text += R"(","nums":[)";
    for (int i = 0; i < 100000; ++i)
        text += (i ? ",1" : "1");
    text += R"(],"deep":{"a":{"b":{"c":[[[]]]}}}})";
    ASSERT_GT(text.size(), 4u << 20);
    auto r = parse(text);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(std::holds_alternative<relay_msg>(*r));

    // The same frame with one byte cut off is bad JSON.
    text.pop_back();
    EXPECT_EQ(error_of(text), errc::bad_json);
}

TEST(CodecParse, DeeplyNestedRelayParses) {
    std::string text = R"({"type":"x","d":)";
    text.append(10000, '[');
    text.append(10000, ']');
    text += "}";
    EXPECT_TRUE(std::holds_alternative<relay_msg>(ok_of(text)));
}

TEST(CodecParse, UnicodeInsideRelayStringsIsFine) {
    // Valid multi-byte UTF-8 and escaped surrogate pairs.
    EXPECT_TRUE(std::holds_alternative<relay_msg>(
        ok_of("{\"type\":\"chat\",\"t\":\"h\xC3\xA9llo \xF0\x9F\x98\x80 \\ud83d\\ude00\"}")));
}

// ---------------------------------------------------------------------------------------------
// bad-json

TEST(CodecParse, BadJson) {
    std::vector<std::string> cases = {
        "",
        " ",
        "{",
        R"({"type":"join","room":"a")",
        R"({"type":"join","room":"a)",
        R"({"type":"join","room":)",
        R"({"type":"join" "room":"a"})",
        R"({"type":"join",})",
        R"({"type":"leave"} x)",
        R"({"type":"leave"}})",
        R"({"type":"leave"}{})",
        R"({"type":"leave"} {"type":"leave"})",
        R"({"type":"leave"},)",
        R"({type:"leave"})",
        R"({'type':'leave'})",
        R"({"type":"leave" /* c */})",
        R"({"type":"leave"} // c)",
        // A join or leave is parsed in full: anything strict JSON refuses is bad JSON.
        R"({"type":"leave","n":01})",
        R"({"type":"leave","n":NaN})",
        R"({"type":"leave","n":.5})",
        R"({"type":"leave","n":1e400})",
        R"({"type":"leave","v":undefined})",
        R"({"type":"join","room":"a","v":True})",
        R"({"type":"join","room":"a","s":"\x"})",
        R"({"type":"join","room":"a","s":"\u12"})",
        R"({"type":"join","room":"a","s":"\ud800"})",  // lone high surrogate escape
        "{\"type\":\"leave\",\"s\":\"tab\there\"}",    // raw control character in a string
        "{\"type\":\"leave\",\"s\":\"nl\nhere\"}",
        R"({"type":"leave","d":[}})",
        // So is a small frame refused for its envelope: it is told exactly why.
        R"({"n":01})",
        R"({"type":"x","n":01,"type":5})",
        "[1,tru]",
        "\xEF\xBB",  // half a BOM
        "nul",
        "tru",
        "[1,2",
    };
    for (auto const& c : cases)
        EXPECT_EQ(error_of(c), errc::bad_json) << "input: " << c;
}

TEST(CodecParse, InvalidUtf8InsideStringIsBadJson) {
    // The frame reader refuses text that is not UTF-8 (close 1007) before parse() sees it; a
    // join or leave that still held some would be bad JSON.
    std::vector<std::string> cases = {
        "{\"type\":\"leave\",\"t\":\"\xFF\"}",
        "{\"type\":\"leave\",\"t\":\"\xC3\"}",              // truncated 2-byte sequence
        "{\"type\":\"leave\",\"t\":\"\xC0\xAF\"}",          // overlong '/'
        "{\"type\":\"leave\",\"t\":\"\xED\xA0\x80\"}",      // encoded surrogate
        "{\"type\":\"leave\",\"t\":\"\xF4\x90\x80\x80\"}",  // > U+10FFFF
        "{\"type\":\"leave\",\"t\":\"\xE2\x82\"}",          // truncated 3-byte sequence
        "{\"type\":\"leave\",\"\xFE\":1}",                  // in a key
        "{\"type\":\"join\",\"room\":\"a\xFF\"}",           // in the room
        "{\"\xFF\":1}",                                     // small and refused: told why
    };
    for (auto const& c : cases)
        EXPECT_EQ(error_of(c), errc::bad_json) << "input: " << c;
}

TEST(CodecParse, RelayedTextIsCheckedForItsEnvelopeOnly) {
    // One top-level object with a string type that is not join, leave or reserved: relayed
    // without looking further, like binary. These all were bad-json when every relayed frame
    // was parsed in full; the recipients' JSON.parse drops them, so nothing can be forged.
    std::vector<std::string> cases = {
        R"({"type":"x","n":01})",
        R"({"type":"x","n":NaN})",
        R"({"type":"x","n":.5})",
        R"({"type":"x","n":1e400})",
        R"({"type":"x","v":undefined})",
        R"({"type":"x","v":True})",
        R"({"type":"x","s":"\x"})",
        R"({"type":"x","s":"\u12"})",
        R"({"type":"x","s":"\ud800"})",
        R"({"type":"x","d":[}})",
        "{\"type\":\"x\",\"s\":\"tab\there\"}",
        "{\"type\":\"x\",\"s\":\"nl\nhere\"}",
        std::string("{\"type\":\"a\0b\"}", 14),  // a raw NUL in the type
        // Not UTF-8: the frame reader never lets these through, and parse() does not recheck.
        "{\"type\":\"chat\",\"t\":\"\xFF\"}",
        "{\"type\":\"chat\",\"t\":\"\xC0\xAF\"}",
        "{\"type\":\"chat\",\"\xFE\":1}",
        "{\"type\":\"j\xC3\x28oin\",\"room\":\"a\"}",
        // A type that cannot be join, leave or reserved is not decoded at all.
        "{\"type\":\"" + std::string(100, 'x') + "\"}",
        R"({"type":"p\u00e9er-left"})",
    };
    for (auto const& c : cases)
        EXPECT_TRUE(std::holds_alternative<relay_msg>(ok_of(c))) << "input: " << c;
    // But the structure must hold: these are not one object.
    for (std::string_view c : {R"({"type":"x")", R"({"type":"x"} x)", R"({"type":"x","s":"\"})",
                               R"({"type":"x","d":[1,2})", R"({"type":"x",})"})
        EXPECT_EQ(error_of(c), errc::bad_json) << "input: " << c;
}

TEST(CodecParse, JoinAndLeaveMustBeSmall) {
    std::string const head = R"({"type":"join","room":"r","pad":")";
    auto const join_of_size = [&](std::size_t n) {
        return head + std::string(n - head.size() - 2, 'p') + "\"}";
    };
    ASSERT_EQ(join_of_size(max_envelope_bytes).size(), max_envelope_bytes);
    EXPECT_TRUE(std::holds_alternative<join_msg>(ok_of(join_of_size(max_envelope_bytes))));
    EXPECT_EQ(error_of(join_of_size(max_envelope_bytes + 1)), errc::bad_message);

    std::string leave =
        R"({"pad":")" + std::string(max_envelope_bytes, ' ') + R"(","type":"leave"})";
    EXPECT_EQ(error_of(leave), errc::bad_message);
    EXPECT_EQ(error_of(R"({"type":"join","room":"r","d":")" + std::string(30u << 20, 'A') + "\"}"),
              errc::bad_message);
    // The size is checked before anything else in the frame: big and broken is still too big.
    EXPECT_EQ(error_of(R"({"type":"leave","n":01,"d":")" + std::string(8192, 'A') + "\"}"),
              errc::bad_message);
}

TEST(CodecParse, BigRelayedFrames) {
    // The Socket.IO tutorial's image message at 30 MiB, with the type first and last.
    std::string const data = "data:image/jpeg;base64," + std::string(30u << 20, 'A');
    EXPECT_TRUE(
        std::holds_alternative<relay_msg>(ok_of(R"({"type":"image","data":")" + data + "\"}")));
    EXPECT_TRUE(
        std::holds_alternative<relay_msg>(ok_of(R"({"data":")" + data + R"(","type":"image"})")));
    // Last-wins and reserved types are seen at any size.
    EXPECT_EQ(error_of(R"({"type":"image","data":")" + data + R"(","type":"peer-left"})"),
              errc::reserved_type);
    EXPECT_EQ(error_of(R"({"type":"peer-left","data":")" + data + "\"}"), errc::reserved_type);
    // A big refused frame gets the scan's verdict.
    EXPECT_EQ(error_of(R"({"data":")" + data + "\"}"), errc::bad_message);
    EXPECT_EQ(error_of(R"({"type":5,"data":")" + data + "\"}"), errc::bad_message);
    EXPECT_EQ(error_of("[\"" + data + "\"]"), errc::bad_message);
    EXPECT_EQ(error_of(R"({"type":"image","data":")" + data), errc::bad_json);
    EXPECT_EQ(error_of(R"({"type":"image","data":")" + data + "\"}}"), errc::bad_json);
}

TEST(CodecParse, PathologicalRelayedFrames) {
    // Long backslash runs, dense escaped quotes, deep nesting: one linear pass each.
    std::size_t const n = 8u << 20;
    EXPECT_TRUE(std::holds_alternative<relay_msg>(
        ok_of(R"({"type":"x","d":")" + std::string(n, '\\') + "\"}")));
    EXPECT_EQ(error_of(R"({"type":"x","d":")" + std::string(n + 1, '\\') + "\"}"), errc::bad_json);
    std::string dense = R"({"d":")";
    for (std::size_t i = 0; i < n / 2; ++i)
        dense += "\\\"";
    EXPECT_EQ(error_of(dense + R"(","type":"peer-left"})"), errc::reserved_type);
    EXPECT_TRUE(std::holds_alternative<relay_msg>(ok_of(dense + R"(","type":"image"})")));

    std::size_t const depth = 1000000;
    std::string deep = R"({"type":"x","d":)" + std::string(depth, '[') + std::string(depth, ']');
    EXPECT_TRUE(std::holds_alternative<relay_msg>(ok_of(deep + "}")));
    EXPECT_EQ(error_of(deep + R"(,"type":"left"})"), errc::reserved_type);
    EXPECT_EQ(error_of(R"({"type":"x","d":)" + std::string(depth, '[') + "}"), errc::bad_json);
    EXPECT_EQ(error_of(std::string(depth, '[')), errc::bad_json);
}

TEST(CodecParse, EmbeddedNulIsBadJson) {
    std::string text = R"({"type":"leave"})";
    text.insert(text.begin() + 1, '\0');
    EXPECT_EQ(error_of(text), errc::bad_json);
    std::string s("{\"type\":\"leave\",\"a\":\"a\0b\"}", 27);
    EXPECT_EQ(error_of(s), errc::bad_json);
    // nlohmann alone takes a NUL for the end of the input and would accept these.
    for (std::string t : {std::string("{\"type\":\"leave\"}\0", 17),
                          std::string("{\"type\":\"join\",\"room\":\"a\"}\0junk", 31),
                          std::string("{\"type\":\"x\"}\0", 13)})
        EXPECT_EQ(error_of(t), errc::bad_json) << t;
}

// ---------------------------------------------------------------------------------------------
// bad-message

TEST(CodecParse, NotAnObjectIsBadMessage) {
    for (std::string_view t : {R"([])", R"([{"type":"leave"}])", R"(42)", R"(-1.5e3)", R"("join")",
                               R"(true)", R"(false)", R"(null)", " 7 "}) {
        EXPECT_EQ(error_of(t), errc::bad_message) << t;
    }
}

TEST(CodecParse, TypeMissingOrNotAStringIsBadMessage) {
    for (std::string_view t :
         {R"({})", R"({"room":"a"})", R"({"Type":"join","room":"a"})", R"({"type ":"leave"})",
          R"({"type":null})", R"({"type":1})", R"({"type":true})", R"({"type":{}})",
          R"({"type":{"type":"leave"}})", R"({"type":["leave"]})", R"({"type":1.0e2})"}) {
        EXPECT_EQ(error_of(t), errc::bad_message) << t;
    }
}

TEST(CodecParse, JoinRoomMissingOrNotAStringIsBadMessage) {
    for (std::string_view t :
         {R"({"type":"join"})", R"({"type":"join","room":null})", R"({"type":"join","room":1})",
          R"({"type":"join","room":true})", R"({"type":"join","room":["a"]})",
          R"({"type":"join","room":{"name":"a"}})", R"({"type":"join","Room":"a"})"}) {
        EXPECT_EQ(error_of(t), errc::bad_message) << t;
    }
}

TEST(CodecParse, JoinResumeNotAStringIsBadMessage) {
    for (std::string_view t :
         {R"({"type":"join","room":"a","resume":null})", R"({"type":"join","room":"a","resume":7})",
          R"({"type":"join","room":"a","resume":false})",
          R"({"type":"join","room":"a","resume":["t"]})",
          R"({"type":"join","room":"a","resume":{"t":1}})"}) {
        EXPECT_EQ(error_of(t), errc::bad_message) << t;
    }
}

TEST(CodecParse, BadMessageBeatsBadRoomOnlyWhenRoomIsNotAString) {
    // A string room that is invalid is bad-room even if resume is also present and valid.
    EXPECT_EQ(error_of(R"({"type":"join","room":"","resume":"t"})"), errc::bad_room);
}

// ---------------------------------------------------------------------------------------------
// bad-room / valid_room

TEST(CodecParse, BadRoom) {
    std::vector<std::string> rooms = {
        "",
        std::string(129, 'a'),
        "a/b",
        "/",
        ".",
        "..",
        "a.b",
        "a b",
        " a",
        "a ",
        "\xC3\xA9t\xC3\xA9",  // non-ASCII (valid UTF-8)
        "caf\\u00e9",         // non-ASCII via an escape
        "a\\u0000b",          // NUL via an escape
        "a\\nb",
        "a\\\\b",  // backslash
        "a:b",
        "a+b",
        "a%20b",
        "a@b",
        "a*",
    };
    for (auto const& r : rooms)
        EXPECT_EQ(error_of(join_text(r)), errc::bad_room) << "room: " << r;
}

TEST(CodecParse, Room128CharsIsAccepted) {
    std::string room(max_room_length, 'x');
    room[0] = 'A';
    room[127] = '9';
    auto m = ok_of(join_text(room));
    ASSERT_TRUE(std::holds_alternative<join_msg>(m));
    EXPECT_EQ(std::get<join_msg>(m).room, room);
    EXPECT_EQ(std::get<join_msg>(m).room.size(), 128u);
}

TEST(ValidRoom, Boundaries) {
    EXPECT_EQ(max_room_length, 128u);
    EXPECT_FALSE(valid_room(""));
    EXPECT_TRUE(valid_room("a"));
    EXPECT_TRUE(valid_room("-"));
    EXPECT_TRUE(valid_room("_"));
    EXPECT_TRUE(valid_room("AZaz09_-"));
    EXPECT_TRUE(valid_room(std::string(128, 'z')));
    EXPECT_FALSE(valid_room(std::string(129, 'z')));
    EXPECT_FALSE(valid_room(std::string_view("a\0b", 3)));
    // Every byte outside [A-Za-z0-9_-] is refused.
    for (int c = 0; c < 256; ++c) {
        char ch = static_cast<char>(c);
        bool const expected = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '-';
        EXPECT_EQ(valid_room(std::string_view(&ch, 1)), expected) << "byte " << c;
    }
}

// ---------------------------------------------------------------------------------------------
// errc

constexpr errc all_errcs[] = {
    errc::bad_json,     errc::bad_message,   errc::bad_room,    errc::not_joined, errc::room_full,
    errc::rate_limited, errc::reserved_type, errc::server_busy, errc::not_host,   errc::unknown_id,
    errc::not_locked,   errc::lobby_full,    errc::in_lobby};
static_assert(std::size(all_errcs) == errc_count - 1);

TEST(Errc, WireCodesAndMessages) {
    EXPECT_EQ(wire_code(errc::bad_json), "bad-json");
    EXPECT_EQ(wire_code(errc::bad_message), "bad-message");
    EXPECT_EQ(wire_code(errc::bad_room), "bad-room");
    EXPECT_EQ(wire_code(errc::server_busy), "server-busy");
    EXPECT_EQ(wire_code(errc::not_joined), "not-joined");
    EXPECT_EQ(wire_code(errc::room_full), "room-full");
    EXPECT_EQ(wire_code(errc::rate_limited), "rate-limited");
    EXPECT_EQ(wire_code(errc::reserved_type), "reserved-type");
    EXPECT_EQ(wire_code(errc::not_host), "not-host");
    EXPECT_EQ(wire_code(errc::unknown_id), "unknown-id");
    EXPECT_EQ(wire_code(errc::not_locked), "not-locked");
    EXPECT_EQ(wire_code(errc::lobby_full), "lobby-full");
    EXPECT_EQ(wire_code(errc::in_lobby), "in-lobby");
    EXPECT_EQ(errc_count, static_cast<int>(errc::in_lobby) + 1);
    for (errc e : all_errcs) {
        boost::system::error_code ec = e;  // implicit: is_error_code_enum
        EXPECT_TRUE(ec.failed());
        EXPECT_EQ(ec, make_error_code(e));
        EXPECT_EQ(std::string(ec.category().name()), "roomcast.protocol");
        EXPECT_FALSE(ec.message().empty());
        EXPECT_NE(ec.message(), "unknown protocol error");
    }
    EXPECT_EQ(category().message(999), "unknown protocol error");
}

// ---------------------------------------------------------------------------------------------
// Encoders

// Checks the frame is a FIN text frame whose header matches its payload, and returns its JSON.
json decode_frame(frame_ptr const& f) {
    EXPECT_TRUE(f);
    if (!f) return {};
    EXPECT_TRUE(f->text);
    EXPECT_GE(f->header_size, 2);
    EXPECT_EQ(f->header[0], 0x81);  // FIN + text
    if (f->payload.size() < 126) {
        EXPECT_EQ(f->header_size, 2);
        EXPECT_EQ(f->header[1], f->payload.size());
    }
    EXPECT_EQ(f->wire_size(), f->header_size + f->payload.size());
    json j = json::parse(f->payload, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << f->payload;
    return j;
}

TEST(CodecEncode, Joined) {
    std::vector<std::uint64_t> peers = {1, 42, 18446744073709551615ull};
    auto j = decode_frame(encode_joined("lobby", 7, peers));
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.size(), 6u);  // type room id peers away resumed (no resume token given)
    EXPECT_EQ(j.at("away"), json::array());
    EXPECT_EQ(j.at("resumed"), false);
    EXPECT_EQ(j.at("type"), "joined");
    EXPECT_EQ(j.at("room"), "lobby");
    EXPECT_EQ(j.at("id").get<std::uint64_t>(), 7u);
    ASSERT_TRUE(j.at("peers").is_array());
    EXPECT_EQ(j.at("peers").get<std::vector<std::uint64_t>>(), peers);
}

TEST(CodecEncode, JoinedWithNoPeersHasEmptyArray) {
    auto j = decode_frame(encode_joined("r", 1, {}));
    ASSERT_TRUE(j.contains("peers"));
    EXPECT_TRUE(j.at("peers").is_array());
    EXPECT_TRUE(j.at("peers").empty());
}

TEST(CodecEncode, EveryServerFrameIsReservedAndRefusedWhenEchoed) {
    // A server message sent back by a client is never relayed (nor taken as a join).
    std::vector<std::uint64_t> const ids = {1, 2};
    std::vector<frame_ptr> const frames = {
        encode_joined("lobby", 1, ids, ids, "tok", true),
        encode_left("lobby"),
        encode_peer_joined(1),
        encode_peer_left(1),
        encode_peer_away(1),
        encode_peer_back(1),
        encode_error(errc::bad_json),
        encode_error(errc::rate_limited, 250),
    };
    for (auto const& f : frames) {
        auto const j = decode_frame(f);
        EXPECT_TRUE(is_reserved_type(j.at("type").get<std::string>())) << f->payload;
        EXPECT_EQ(error_of(f->payload), errc::reserved_type) << f->payload;
    }
}

TEST(CodecEncode, Left) {
    auto j = decode_frame(encode_left(std::string(128, 'q')));
    EXPECT_EQ(j.size(), 2u);
    EXPECT_EQ(j.at("type"), "left");
    EXPECT_EQ(j.at("room"), std::string(128, 'q'));
}

TEST(CodecEncode, PeerJoinedAndLeft) {
    auto j = decode_frame(encode_peer_joined(123456789012345ull));
    EXPECT_EQ(j.size(), 2u);
    EXPECT_EQ(j.at("type"), "peer-joined");
    EXPECT_EQ(j.at("id").get<std::uint64_t>(), 123456789012345ull);

    j = decode_frame(encode_peer_left(0));
    EXPECT_EQ(j.size(), 2u);
    EXPECT_EQ(j.at("type"), "peer-left");
    EXPECT_EQ(j.at("id").get<std::uint64_t>(), 0u);
}

TEST(CodecEncode, ErrorEveryCode) {
    for (errc e : all_errcs) {
        auto j = decode_frame(encode_error(e));
        EXPECT_EQ(j.size(), 3u);
        EXPECT_EQ(j.at("type"), "error");
        EXPECT_EQ(j.at("code").get<std::string>(), wire_code(e));
        // The message contains a quote for bad_message: it must survive escaping.
        EXPECT_EQ(j.at("message").get<std::string>(), make_error_code(e).message());
    }
}

// ---------------------------------------------------------------------------------------------
// make_frame

struct header_case {
    std::size_t size;
    std::vector<std::uint8_t> len_bytes;  // header bytes after the first
};

TEST(MakeFrame, HeaderForEachLengthClass) {
    std::vector<header_case> cases = {
        {0, {0x00}},
        {1, {0x01}},
        {125, {0x7D}},
        {126, {0x7E, 0x00, 0x7E}},
        {65535, {0x7E, 0xFF, 0xFF}},
        {65536, {0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}},
        {70000, {0x7F, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70}},
    };
    for (bool text : {true, false}) {
        for (auto const& c : cases) {
            std::string payload(c.size, 'p');
            auto f = make_frame(payload, text);
            ASSERT_TRUE(f);
            EXPECT_EQ(f->text, text);
            EXPECT_EQ(f->payload, payload);
            ASSERT_EQ(f->header_size, 1 + c.len_bytes.size()) << "size " << c.size;
            EXPECT_EQ(f->header[0], text ? 0x81 : 0x82) << "size " << c.size;
            for (std::size_t i = 0; i < c.len_bytes.size(); ++i)
                EXPECT_EQ(f->header[1 + i], c.len_bytes[i]) << "size " << c.size << " byte " << i;
            EXPECT_EQ(f->wire_size(), c.size + f->header_size);
        }
    }
}

TEST(MakeFrame, PayloadIsKeptByteForByte) {
    std::string payload;
    for (int i = 0; i < 256; ++i)
        payload += static_cast<char>(i);
    auto f = make_frame(payload, false);
    EXPECT_EQ(f->payload, payload);
    EXPECT_EQ(f->header_size, 4);
}

}  // namespace

TEST(CodecEncode, JoinedWithSeatFields) {
    std::vector<std::uint64_t> peers = {3, 4}, away = {4};
    auto j = decode_frame(encode_joined("r", 9, peers, away, "tok", true));
    EXPECT_EQ(j.at("away"), json::array({4}));
    EXPECT_EQ(j.at("resume"), "tok");
    EXPECT_EQ(j.at("resumed"), true);
    EXPECT_EQ(decode_frame(encode_peer_away(5)), (json{{"type", "peer-away"}, {"id", 5}}));
    EXPECT_EQ(decode_frame(encode_peer_back(5)), (json{{"type", "peer-back"}, {"id", 5}}));
}

namespace {

TEST(Codec, RemoveMayCarryOneReasonThatTheHostStartedANewRoomAndNothingElse) {
    auto plain = std::get<access_msg>(ok_of(R"({"type":"remove","id":7})"));
    EXPECT_EQ(plain.what, access_msg::kind::remove);
    EXPECT_FALSE(plain.room_ended);
    auto ended = std::get<access_msg>(ok_of(R"({"type":"remove","id":7,"reason":"room-ended"})"));
    EXPECT_TRUE(ended.room_ended);
    EXPECT_EQ(ended.id, 7u);
    for (auto bad :
         {R"({"type":"remove","id":7,"reason":"left"})", R"({"type":"remove","id":7,"reason":1})",
          R"x({"type":"remove","id":7,"reason":"room-ended "})x"})
        EXPECT_EQ(error_of(bad), errc::bad_message) << bad;
    // The member is told by the server, in the frame only it receives.
    auto f = encode_removed_you("r", true);
    EXPECT_EQ(json::parse(f->payload),
              (json{{"type", "removed"}, {"room", "r"}, {"reason", "room-ended"}}));
    EXPECT_FALSE(json::parse(encode_removed_you("r")->payload).contains("reason"));
}

}  // namespace
