#include <roomcast/ws/frame.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace roomcast::ws;

using bytes = std::vector<std::uint8_t>;

std::array<std::uint8_t, 4> const test_key = {0x37, 0xFA, 0x21, 0x3D};

// A masked client frame header with a minimal length encoding.
bytes client_header(std::uint8_t first, std::uint64_t len,
                    std::array<std::uint8_t, 4> key = test_key, bool masked = true) {
    bytes h{first};
    std::uint8_t const m = masked ? 0x80 : 0x00;
    if (len < 126) {
        h.push_back(static_cast<std::uint8_t>(m | len));
    } else if (len <= 0xFFFF) {
        h.push_back(m | 126);
        h.push_back(static_cast<std::uint8_t>(len >> 8));
        h.push_back(static_cast<std::uint8_t>(len));
    } else {
        h.push_back(m | 127);
        for (int i = 7; i >= 0; --i)
            h.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
    }
    if (masked) h.insert(h.end(), key.begin(), key.end());
    return h;
}

struct parsed {
    header_status status;
    frame_header h;
    std::size_t used = 0;
    std::uint16_t close = 0;
};

parsed parse(bytes const& b, std::size_t n) {
    parsed r;
    r.used = 9999;
    r.status = parse_header(b.data(), n, r.h, r.used, r.close);
    return r;
}
parsed parse(bytes const& b) {
    return parse(b, b.size());
}

// ---------------------------------------------------------------------------------------------
// encode_header

TEST(EncodeHeader, LengthClasses) {
    struct c {
        std::uint64_t len;
        bytes expected;
    };
    std::vector<c> cases = {
        {0, {0x82, 0x00}},
        {1, {0x82, 0x01}},
        {125, {0x82, 0x7D}},
        {126, {0x82, 0x7E, 0x00, 0x7E}},
        {127, {0x82, 0x7E, 0x00, 0x7F}},
        {256, {0x82, 0x7E, 0x01, 0x00}},
        {65535, {0x82, 0x7E, 0xFF, 0xFF}},
        {65536, {0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}},
        {0x0102030405060708ull, {0x82, 0x7F, 1, 2, 3, 4, 5, 6, 7, 8}},
        {0xFFFFFFFFull, {0x82, 0x7F, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF}},
        {0x100000000ull, {0x82, 0x7F, 0, 0, 0, 1, 0, 0, 0, 0}},
    };
    for (auto const& [len, expected] : cases) {
        std::array<std::uint8_t, max_server_header + 4> out;
        out.fill(0xEE);
        std::size_t const n = encode_header(out.data(), opcode::binary, true, len);
        ASSERT_EQ(n, expected.size()) << len;
        EXPECT_EQ(bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)), expected)
            << len;
        // Nothing written past the header.
        for (std::size_t i = n; i < out.size(); ++i)
            EXPECT_EQ(out[i], 0xEE) << len;
    }
}

TEST(EncodeHeader, OpcodeAndFin) {
    std::uint8_t out[max_server_header];
    struct c {
        opcode op;
        bool fin;
        std::uint8_t first;
    };
    for (auto const& [op, fin, first] : std::vector<c>{{opcode::text, true, 0x81},
                                                       {opcode::text, false, 0x01},
                                                       {opcode::binary, true, 0x82},
                                                       {opcode::cont, false, 0x00},
                                                       {opcode::cont, true, 0x80},
                                                       {opcode::close, true, 0x88},
                                                       {opcode::ping, true, 0x89},
                                                       {opcode::pong, true, 0x8A}}) {
        EXPECT_EQ(encode_header(out, op, fin, 5), 2u);
        EXPECT_EQ(out[0], first);
        EXPECT_EQ(out[1], 5);  // never masked
    }
}

TEST(EncodeHeader, RoundTripsThroughParseHeaderOnceMasked) {
    for (std::uint64_t len : {0ull, 1ull, 100ull, 125ull, 126ull, 1000ull, 65535ull, 65536ull,
                              1ull << 31, (1ull << 63) - 1}) {
        std::uint8_t out[max_server_header];
        std::size_t const n = encode_header(out, opcode::text, true, len);
        bytes b(out, out + n);
        b[1] |= 0x80;
        b.insert(b.end(), test_key.begin(), test_key.end());
        auto r = parse(b);
        ASSERT_EQ(r.status, header_status::ok) << len;
        EXPECT_EQ(r.used, n + 4);
        EXPECT_EQ(r.h.length, len);
        EXPECT_EQ(r.h.op, opcode::text);
        EXPECT_TRUE(r.h.fin);
        EXPECT_EQ(r.h.key, test_key);
    }
}

// ---------------------------------------------------------------------------------------------
// parse_header: accepted headers

TEST(ParseHeader, ValidHeadersForEachLengthClass) {
    for (std::uint64_t len :
         {0ull, 5ull, 125ull, 126ull, 65535ull, 65536ull, 123456789ull, (1ull << 63) - 1}) {
        bytes b = client_header(0x82, len);
        std::size_t const expected_used = len < 126 ? 6 : len <= 0xFFFF ? 8 : 14;
        ASSERT_EQ(b.size(), expected_used);
        b.push_back(0xAB);  // payload bytes after the header are not consumed
        auto r = parse(b);
        ASSERT_EQ(r.status, header_status::ok) << len;
        EXPECT_EQ(r.used, expected_used);
        EXPECT_EQ(r.h.length, len);
        EXPECT_TRUE(r.h.fin);
        EXPECT_TRUE(r.h.masked);
        EXPECT_EQ(r.h.rsv, 0);
        EXPECT_EQ(r.h.op, opcode::binary);
        EXPECT_EQ(r.h.key, test_key);
    }
}

TEST(ParseHeader, EveryValidOpcode) {
    for (auto [first, op] : std::vector<std::pair<std::uint8_t, opcode>>{{0x00, opcode::cont},
                                                                         {0x80, opcode::cont},
                                                                         {0x01, opcode::text},
                                                                         {0x81, opcode::text},
                                                                         {0x02, opcode::binary},
                                                                         {0x82, opcode::binary},
                                                                         {0x88, opcode::close},
                                                                         {0x89, opcode::ping},
                                                                         {0x8A, opcode::pong}}) {
        auto r = parse(client_header(first, 3));
        ASSERT_EQ(r.status, header_status::ok) << int(first);
        EXPECT_EQ(r.h.op, op);
        EXPECT_EQ(r.h.fin, (first & 0x80) != 0);
    }
}

TEST(ParseHeader, ControlFrameOf125BytesIsFine) {
    for (std::uint8_t first : {0x88, 0x89, 0x8A}) {
        auto r = parse(client_header(first, 125));
        EXPECT_EQ(r.status, header_status::ok);
        EXPECT_EQ(r.h.length, 125u);
    }
}

// ---------------------------------------------------------------------------------------------
// parse_header: need_more

TEST(ParseHeader, NeedMoreForEveryPrefix) {
    for (std::uint64_t len : {0ull, 125ull, 126ull, 65535ull, 65536ull, 1ull << 40}) {
        for (std::uint8_t first : {0x81, 0x02, 0x00, 0x89}) {
            if ((first & 0x0F) >= 8 && len > 125) continue;
            bytes const b = client_header(first, len);
            for (std::size_t n = 0; n < b.size(); ++n) {
                auto r = parse(b, n);
                EXPECT_EQ(r.status, header_status::need_more) << "len " << len << " prefix " << n;
            }
            EXPECT_EQ(parse(b).status, header_status::ok) << len;
        }
    }
}

TEST(ParseHeader, ZeroBytesIsNeedMoreEvenWithNullPointer) {
    frame_header h;
    std::size_t used = 0;
    std::uint16_t close = 0;
    EXPECT_EQ(parse_header(nullptr, 0, h, used, close), header_status::need_more);
}

// ---------------------------------------------------------------------------------------------
// parse_header: errors

void expect_error(bytes const& b, char const* what) {
    // The error is reported as soon as the offending bytes are there, with close code 1002.
    auto r = parse(b);
    EXPECT_EQ(r.status, header_status::error) << what;
    EXPECT_EQ(r.close, close_code::protocol_error) << what;
}

TEST(ParseHeader, UnmaskedClientFrameIs1002) {
    for (std::uint64_t len : {0ull, 10ull, 200ull, 70000ull}) {
        bytes b = client_header(0x81, len, test_key, /*masked=*/false);
        expect_error(b, "unmasked");
        // Even with only the first two bytes.
        auto r = parse(b, 2);
        EXPECT_EQ(r.status, header_status::error);
        EXPECT_EQ(r.close, 1002);
    }
    expect_error(client_header(0x89, 0, test_key, false), "unmasked ping");
}

TEST(ParseHeader, ReservedBitsAreErrors) {
    for (std::uint8_t rsv : {0x40, 0x20, 0x10, 0x70, 0x50}) {
        for (std::uint8_t op : {0x1, 0x2, 0x0, 0x9}) {
            expect_error(client_header(static_cast<std::uint8_t>(0x80 | rsv | op), 1), "rsv");
        }
    }
}

TEST(ParseHeader, UnknownOpcodesAreErrors) {
    for (std::uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        expect_error(client_header(static_cast<std::uint8_t>(0x80 | op), 1), "opcode");
        expect_error(client_header(op, 1), "opcode without fin");
    }
}

TEST(ParseHeader, ControlFrameTooLongIsError) {
    for (std::uint8_t first : {0x88, 0x89, 0x8A}) {
        expect_error(client_header(first, 126), "control 126");
        expect_error(client_header(first, 65535), "control 65535");
        expect_error(client_header(first, 65536), "control 65536");
        // Known from the second byte already.
        auto r = parse(client_header(first, 126), 2);
        EXPECT_EQ(r.status, header_status::error);
    }
}

TEST(ParseHeader, FragmentedControlFrameIsError) {
    for (std::uint8_t first : {0x08, 0x09, 0x0A}) {
        expect_error(client_header(first, 0), "control without fin");
        expect_error(client_header(first, 5), "control without fin");
    }
}

TEST(ParseHeader, NonMinimalLengthsAreErrors) {
    // 16-bit length for a size that fits in 7 bits.
    for (std::uint16_t len : {0, 1, 125}) {
        bytes b = {0x82,
                   0x80 | 126,
                   static_cast<std::uint8_t>(len >> 8),
                   static_cast<std::uint8_t>(len),
                   1,
                   2,
                   3,
                   4};
        expect_error(b, "non-minimal 16");
    }
    // 64-bit length for a size that fits in 16 bits (or 7).
    for (std::uint64_t len : {0ull, 125ull, 126ull, 65535ull}) {
        bytes b = {0x82, 0x80 | 127};
        for (int i = 7; i >= 0; --i)
            b.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
        b.insert(b.end(), {1, 2, 3, 4});
        expect_error(b, "non-minimal 64");
    }
    // The smallest sizes of each extended class are accepted.
    bytes ok16 = {0x82, 0x80 | 126, 0, 126, 1, 2, 3, 4};
    EXPECT_EQ(parse(ok16).status, header_status::ok);
    bytes ok64 = {0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4};
    EXPECT_EQ(parse(ok64).status, header_status::ok);
}

TEST(ParseHeader, SixtyFourBitLengthWithTopBitIsError) {
    for (std::uint64_t len : {1ull << 63, ~0ull, (1ull << 63) | 70000}) {
        bytes b = {0x82, 0x80 | 127};
        for (int i = 7; i >= 0; --i)
            b.push_back(static_cast<std::uint8_t>(len >> (8 * i)));
        b.insert(b.end(), {1, 2, 3, 4});
        expect_error(b, "top bit");
    }
}

TEST(ParseHeader, EveryFirstByteAgainstAReference) {
    // Exhaustive over the first byte with a valid masked second byte.
    for (int first = 0; first < 256; ++first) {
        bytes b = client_header(static_cast<std::uint8_t>(first), 10);
        auto r = parse(b);
        int const op = first & 0x0F;
        bool const known = op <= 2 || (op >= 8 && op <= 10);
        bool const rsv = (first & 0x70) != 0;
        bool const control_unfinished = op >= 8 && (first & 0x80) == 0;
        bool const ok = known && !rsv && !control_unfinished;
        EXPECT_EQ(r.status, ok ? header_status::ok : header_status::error) << "first " << first;
    }
}

// ---------------------------------------------------------------------------------------------
// unmask

std::string naive_mask(std::string s, std::array<std::uint8_t, 4> const& key, std::size_t offset) {
    for (std::size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<char>(s[i] ^ key[(offset + i) % 4]);
    return s;
}

std::string sample(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s)
        c = static_cast<char>(rng() & 0xFF);
    return s;
}

TEST(Unmask, MatchesNaiveForEveryLengthAndOffset) {
    for (std::size_t n = 0; n <= 70; ++n) {
        for (std::size_t offset = 0; offset < 12; ++offset) {
            std::string const plain = sample(n, static_cast<unsigned>(n * 31 + offset));
            std::string buf = plain;
            unmask(buf.data(), buf.size(), test_key, offset);
            EXPECT_EQ(buf, naive_mask(plain, test_key, offset)) << n << " " << offset;
            // XOR twice restores.
            unmask(buf.data(), buf.size(), test_key, offset);
            EXPECT_EQ(buf, plain);
        }
    }
}

TEST(Unmask, UnalignedBuffers) {
    std::string const plain = sample(100, 7);
    for (std::size_t shift = 0; shift < 8; ++shift) {
        std::string storage(shift, 'x');
        storage += plain;
        unmask(storage.data() + shift, plain.size(), test_key, 0);
        EXPECT_EQ(storage.substr(0, shift), std::string(shift, 'x'));
        EXPECT_EQ(storage.substr(shift), naive_mask(plain, test_key, 0));
    }
}

TEST(Unmask, InPiecesEqualsAtOnce) {
    std::string const plain = sample(5000, 11);
    std::string whole = plain;
    unmask(whole.data(), whole.size(), test_key, 0);
    std::mt19937 rng(1234);
    for (int round = 0; round < 50; ++round) {
        std::string pieces = plain;
        std::size_t pos = 0;
        while (pos < pieces.size()) {
            std::size_t n = std::min<std::size_t>(pieces.size() - pos, 1 + rng() % 40);
            unmask(pieces.data() + pos, n, test_key, pos);
            pos += n;
        }
        ASSERT_EQ(pieces, whole) << "round " << round;
    }
    // One byte at a time.
    std::string bytewise = plain;
    for (std::size_t i = 0; i < bytewise.size(); ++i)
        unmask(bytewise.data() + i, 1, test_key, i);
    EXPECT_EQ(bytewise, whole);
}

TEST(Unmask, LargeOffsetsWrapCorrectly) {
    std::string const plain = sample(33, 3);
    for (std::size_t offset :
         {std::size_t{1} << 32, (std::size_t{1} << 40) + 3, ~std::size_t{0}, ~std::size_t{0} - 2}) {
        std::string buf = plain;
        unmask(buf.data(), buf.size(), test_key, offset);
        EXPECT_EQ(buf, naive_mask(plain, test_key, offset)) << offset;
    }
}

TEST(Unmask, ZeroKeyIsIdentity) {
    std::string const plain = sample(77, 5);
    std::string buf = plain;
    unmask(buf.data(), buf.size(), {0, 0, 0, 0}, 3);
    EXPECT_EQ(buf, plain);
}

// ---------------------------------------------------------------------------------------------
// valid_utf8

bool utf8(std::string const& s) {
    return valid_utf8(s.data(), s.size());
}

// Reference: the well-formed byte sequences of Unicode Table 3-7.
bool reference_utf8(unsigned char const* p, std::size_t n) {
    std::size_t i = 0;
    auto in = [](unsigned char c, int lo, int hi) { return c >= lo && c <= hi; };
    while (i < n) {
        unsigned char c = p[i];
        if (c <= 0x7F) {
            i += 1;
        } else if (in(c, 0xC2, 0xDF)) {
            if (i + 1 >= n || !in(p[i + 1], 0x80, 0xBF)) return false;
            i += 2;
        } else if (in(c, 0xE0, 0xEF)) {
            if (i + 2 >= n) return false;
            int lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            if (!in(p[i + 1], lo, hi) || !in(p[i + 2], 0x80, 0xBF)) return false;
            i += 3;
        } else if (in(c, 0xF0, 0xF4)) {
            if (i + 3 >= n) return false;
            int lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            if (!in(p[i + 1], lo, hi) || !in(p[i + 2], 0x80, 0xBF) || !in(p[i + 3], 0x80, 0xBF))
                return false;
            i += 4;
        } else {
            return false;
        }
    }
    return true;
}

TEST(ValidUtf8, Accepts) {
    EXPECT_TRUE(valid_utf8(nullptr, 0));
    EXPECT_TRUE(utf8(""));
    EXPECT_TRUE(utf8("hello, world"));
    EXPECT_TRUE(utf8(std::string(1000, 'a')));
    EXPECT_TRUE(utf8(std::string("a\0b", 3)));     // NUL is valid UTF-8
    EXPECT_TRUE(utf8("\x7F"));                     // DEL
    EXPECT_TRUE(utf8("\xC2\x80"));                 // U+0080
    EXPECT_TRUE(utf8("\xC3\xA9"));                 // é
    EXPECT_TRUE(utf8("\xDF\xBF"));                 // U+07FF
    EXPECT_TRUE(utf8("\xE0\xA0\x80"));             // U+0800
    EXPECT_TRUE(utf8("\xE2\x82\xAC"));             // €
    EXPECT_TRUE(utf8("\xED\x9F\xBF"));             // U+D7FF
    EXPECT_TRUE(utf8("\xEE\x80\x80"));             // U+E000
    EXPECT_TRUE(utf8("\xEF\xBF\xBF"));             // U+FFFF
    EXPECT_TRUE(utf8("\xEF\xBB\xBF"));             // BOM
    EXPECT_TRUE(utf8("\xF0\x90\x80\x80"));         // U+10000
    EXPECT_TRUE(utf8("\xF0\x9F\x98\x80"));         // 😀
    EXPECT_TRUE(utf8("\xF4\x8F\xBF\xBF"));         // U+10FFFF
    EXPECT_TRUE(utf8("abcdefg\xF0\x9F\x98\x80"));  // emoji straddling an 8-byte boundary
    EXPECT_TRUE(
        utf8("abcdefgh\xF0\x9F\x98\x80"
             "abcdefgh"));
    EXPECT_TRUE(utf8("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));  // κόσμε
}

TEST(ValidUtf8, Rejects) {
    std::vector<std::string> bad = {
        "\x80",  // lone continuation
        "\xBF",
        "\xC0\x80",                  // overlong NUL
        "\xC0\xAF",                  // overlong '/'
        "\xC1\xBF",                  // overlong
        "\xE0\x80\x80",              // overlong 3-byte
        "\xE0\x9F\xBF",              // overlong U+07FF
        "\xF0\x80\x80\x80",          // overlong 4-byte
        "\xF0\x8F\xBF\xBF",          // overlong U+FFFF
        "\xED\xA0\x80",              // U+D800 (surrogate)
        "\xED\xAD\xBF",              // U+DB7F
        "\xED\xBF\xBF",              // U+DFFF
        "\xED\xA0\xBD\xED\xB8\x80",  // a surrogate pair in CESU-8
        "\xF4\x90\x80\x80",          // U+110000
        "\xF5\x80\x80\x80",          // F5 lead
        "\xF7\xBF\xBF\xBF",
        "\xF8\x88\x80\x80\x80",  // 5-byte form
        "\xFC\x84\x80\x80\x80\x80",
        "\xFE",
        "\xFF",
        "\xC3",      // truncated 2-byte
        "\xE2\x82",  // truncated 3-byte
        "\xE2",
        "\xF0\x9F\x98",  // truncated 4-byte
        "\xF0\x9F",
        "\xF0",
        "\xC3\x28",  // bad continuation
        "\xE2\x28\xA1",
        "\xE2\x82\x28",
        "\xF0\x28\x8C\xBC",
        "\xF0\x90\x28\xBC",
        "\xF0\x90\x8C\x28",
        "\xC3\xA9\x80",  // valid then stray continuation
        "\xF0\x9F\x98\x80\x80",
    };
    for (auto const& s : bad) {
        EXPECT_FALSE(utf8(s)) << testing::PrintToString(s);
        // The same after 8 ASCII bytes (fast path), after 7, and before ASCII.
        EXPECT_FALSE(utf8("abcdefgh" + s)) << testing::PrintToString(s);
        EXPECT_FALSE(utf8("abcdefg" + s)) << testing::PrintToString(s);
        EXPECT_FALSE(utf8(s + "abcdefghijklmnop")) << testing::PrintToString(s);
    }
}

TEST(ValidUtf8, InvalidByteAtEveryPositionOfAsciiText) {
    for (std::size_t len = 1; len <= 40; ++len) {
        for (std::size_t pos = 0; pos < len; ++pos) {
            std::string s(len, 'x');
            s[pos] = '\x80';
            EXPECT_FALSE(utf8(s)) << len << " " << pos;
            s[pos] = '\xFF';
            EXPECT_FALSE(utf8(s)) << len << " " << pos;
        }
        // Truncated sequence at the very end.
        std::string s(len, 'y');
        s.back() = '\xE2';
        EXPECT_FALSE(utf8(s)) << len;
    }
}

TEST(ValidUtf8, EveryCodePointEncodedIsValidExceptSurrogates) {
    for (std::uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        std::string s;
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            s += static_cast<char>(0xF0 | (cp >> 18));
            s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
        bool const surrogate = cp >= 0xD800 && cp <= 0xDFFF;
        if (utf8(s) == surrogate) {
            ADD_FAILURE() << "code point " << std::hex << cp;
            break;
        }
    }
}

TEST(ValidUtf8, AllOneAndTwoByteStringsMatchReference) {
    for (int a = 0; a < 256; ++a) {
        unsigned char s1[1] = {static_cast<unsigned char>(a)};
        ASSERT_EQ(valid_utf8(reinterpret_cast<char const*>(s1), 1), reference_utf8(s1, 1)) << a;
        for (int b = 0; b < 256; ++b) {
            unsigned char s2[2] = {static_cast<unsigned char>(a), static_cast<unsigned char>(b)};
            ASSERT_EQ(valid_utf8(reinterpret_cast<char const*>(s2), 2), reference_utf8(s2, 2))
                << a << " " << b;
        }
    }
}

TEST(ValidUtf8, AllThreeByteStringsWithAMultiByteLeadMatchReference) {
    for (int a = 0xC0; a < 256; ++a) {
        for (int b = 0x70; b < 0xD0; ++b) {
            for (int c = 0x70; c < 0xD0; ++c) {
                unsigned char s[3] = {static_cast<unsigned char>(a), static_cast<unsigned char>(b),
                                      static_cast<unsigned char>(c)};
                ASSERT_EQ(valid_utf8(reinterpret_cast<char const*>(s), 3), reference_utf8(s, 3))
                    << a << " " << b << " " << c;
            }
        }
    }
}

TEST(ValidUtf8, RandomStringsMatchReference) {
    std::mt19937 rng(99);
    for (int i = 0; i < 20000; ++i) {
        std::size_t n = rng() % 24;
        std::string s(n, '\0');
        // Mostly ASCII and lead/continuation bytes so that valid strings occur too.
        for (auto& ch : s) {
            unsigned r = rng() % 6;
            ch = static_cast<char>(r < 2   ? 'a' + rng() % 26
                                   : r < 4 ? 0x80 + rng() % 64
                                           : 0xC0 + rng() % 64);
        }
        ASSERT_EQ(utf8(s), reference_utf8(reinterpret_cast<unsigned char const*>(s.data()), n))
            << testing::PrintToString(s);
    }
}

// ---------------------------------------------------------------------------------------------
// valid_close_code

TEST(ValidCloseCode, WholeRangeAgainstRfc) {
    for (std::uint32_t code = 0; code <= 0xFFFF; ++code) {
        bool const expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                              (code >= 3000 && code <= 4999);
        ASSERT_EQ(valid_close_code(static_cast<std::uint16_t>(code)), expected) << code;
    }
}

TEST(ValidCloseCode, ReservedCodesAreRefused) {
    for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535})
        EXPECT_FALSE(valid_close_code(code)) << code;
    for (std::uint16_t code :
         {close_code::normal, close_code::going_away, close_code::protocol_error,
          close_code::bad_payload, close_code::policy_error, close_code::too_big,
          close_code::internal_error})
        EXPECT_TRUE(valid_close_code(code)) << code;
}

}  // namespace
