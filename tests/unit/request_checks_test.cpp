#include <roomcast/transport/request_checks.hpp>

#include <gtest/gtest.h>

namespace {

using namespace roomcast;
using namespace roomcast::transport;

http::fields fields(std::initializer_list<std::pair<char const*, char const*>> list) {
    http::fields f;
    for (auto const& [k, v] : list)
        f.insert(k, v);
    return f;
}

}  // namespace

TEST(ObsFold, AContinuationLineIsFound) {
    EXPECT_FALSE(has_obs_fold("GET / HTTP/1.1\r\nHost: a\r\nX: b c\r\n\r\n"));
    EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"));
    EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\tc\r\n\r\n"));
    EXPECT_TRUE(has_obs_fold("GET / HTTP/1.1\r\n Host: a\r\n\r\n"));  // space before a field
    EXPECT_FALSE(has_obs_fold("GET / HTTP/1.1\r\n\r\n"));
    EXPECT_FALSE(has_obs_fold(""));
}

TEST(Framing, AnOrdinaryRequestPasses) {
    EXPECT_EQ(framing_error(fields({{"Host", "a"}})), nullptr);
    EXPECT_EQ(framing_error(fields({{"Host", "a"}, {"Content-Length", "0"}, {"Origin", "o"}})),
              nullptr);
}

TEST(Framing, EveryAmbiguityIsNamed) {
    for (auto const& f : {
             fields({}),
             fields({{"Host", "a"}, {"Host", "a"}}),
             fields({{"Host", "a"}, {"Origin", "o"}, {"Origin", "o"}}),
             fields({{"Host", "a"}, {"Sec-WebSocket-Key", "k"}, {"Sec-WebSocket-Key", "k"}}),
             fields({{"Host", "a"}, {"Transfer-Encoding", "chunked, identity"}}),
             fields({{"Host", "a"}, {"Transfer-Encoding", "xchunked"}}),
             fields({{"Host", "a"}, {"Transfer-Encoding", "chunked"}}),
             fields({{"Host", "a"}, {"Transfer-Encoding", ""}}),
             fields({{"Host", "a"}, {"Content-Length", "0"}, {"Content-Length", "0"}}),
         })
        EXPECT_NE(framing_error(f), nullptr);
}
