#include <roomcast/log.hpp>

#include <gtest/gtest.h>

using roomcast::count_sampled;
using roomcast::printable;

TEST(Printable, KeepsPrintableAsciiAndEscapesEveryOtherByte) {
    EXPECT_EQ(printable("https://photos.example.com"), "https://photos.example.com");
    EXPECT_EQ(printable("a\xff\xfe"
                        "b"),
              "a\\xff\\xfeb");
    EXPECT_EQ(printable("caf\xc3\xa9"), "caf\\xc3\\xa9");  // even valid UTF-8: ASCII only
    EXPECT_EQ(printable(std::string("n\0l\r\n\x1b[31m\x7f", 11)),
              "n\\x00l\\x0d\\x0a\\x1b[31m\\x7f");
    EXPECT_EQ(printable(""), "");
}

TEST(Printable, IsBounded) {
    EXPECT_EQ(printable(std::string(500, 'a')), std::string(120, 'a') + "...");
    EXPECT_EQ(printable("abcdef", 3), "abc...");
    EXPECT_EQ(printable("abc", 3), "abc");
    EXPECT_LE(printable(std::string(500, '\xff')).size(), 4 * 120 + 3);
}

TEST(CountSampled, CountsEveryOneAndLogsTheFirstThenEveryNth) {
    std::atomic<std::uint64_t> c{0};
    std::vector<std::uint64_t> logged;
    for (int i = 0; i < 2500; ++i)
        if (auto const s = count_sampled(c, 1000); s.log) logged.push_back(s.count);
    EXPECT_EQ(c.load(), 2500u);
    EXPECT_EQ(logged, (std::vector<std::uint64_t>{1, 1001, 2001}));
    std::atomic<std::uint64_t> d{0};
    EXPECT_TRUE(count_sampled(d, 1).log);
    EXPECT_TRUE(count_sampled(d, 1).log);
}
