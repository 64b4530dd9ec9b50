// Self-test of roomcast-bench's pure parts: framing, the frame parser, stamps, templates, the
// output queue and the command line. No server needed. Prints "N passed, N failed".
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "config.hpp"
#include "out_queue.hpp"
#include "stamp.hpp"
#include "wire.hpp"

namespace {

int passed = 0;
int failed = 0;

void check(bool ok, char const* what, int line) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        std::printf("FAIL line %d: %s\n", line, what);
    }
}
#define CHECK(x) check((x), #x, __LINE__)

using namespace rcb;

// A server frame (unmasked) as bytes.
std::string server_frame(opcode op, std::string const& payload, bool fin = true) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | static_cast<int>(op));
    std::size_t const n = payload.size();
    if (n < 126) {
        f += static_cast<char>(n);
    } else if (n <= 0xFFFF) {
        f += static_cast<char>(126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xFF);
    } else {
        f += static_cast<char>(127);
        for (int s = 56; s >= 0; s -= 8)
            f += static_cast<char>((n >> s) & 0xFF);
    }
    return f + payload;
}

struct collector {
    std::vector<std::pair<opcode, std::string>> messages;
    std::vector<std::pair<opcode, std::string>> controls;
    std::string current;
    void on_data(opcode, std::uint8_t const* p, std::size_t n) {
        current.append(reinterpret_cast<char const*>(p), n);
    }
    bool on_message(opcode op, std::uint64_t len) {
        check(len == current.size(), "message length matches data", __LINE__);
        messages.emplace_back(op, current);
        current.clear();
        return true;
    }
    bool on_control(opcode op, std::uint8_t const* p, std::size_t n) {
        controls.emplace_back(op, std::string(reinterpret_cast<char const*>(p), n));
        return true;
    }
};

void test_parser_whole_and_bytewise() {
    std::string big(70000, 'x');
    std::string const stream = server_frame(opcode::text, "hello") +
                               server_frame(opcode::ping, "p") + server_frame(opcode::binary, big) +
                               server_frame(opcode::binary, "") +
                               server_frame(opcode::text, std::string(300, 'y'));
    for (std::size_t step : {stream.size(), std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        frame_parser parser;
        collector c;
        auto const* p = reinterpret_cast<std::uint8_t const*>(stream.data());
        bool ok = true;
        for (std::size_t i = 0; i < stream.size(); i += step) {
            ok = ok && parser.feed(p + i, std::min(step, stream.size() - i), c) == feed_result::ok;
        }
        CHECK(ok);
        CHECK(c.messages.size() == 4);
        CHECK(c.controls.size() == 1 && c.controls[0].first == opcode::ping &&
              c.controls[0].second == "p");
        if (c.messages.size() == 4) {
            CHECK(c.messages[0].second == "hello" && c.messages[0].first == opcode::text);
            CHECK(c.messages[1].second == big && c.messages[1].first == opcode::binary);
            CHECK(c.messages[2].second.empty());
            CHECK(c.messages[3].second.size() == 300);
        }
    }
}

void test_parser_fragments_and_errors() {
    // text "ab" + interleaved ping + continuation "cd"
    std::string const s = server_frame(opcode::text, "ab", false) + server_frame(opcode::ping, "") +
                          server_frame(opcode::cont, "cd");
    frame_parser parser;
    collector c;
    CHECK(parser.feed(reinterpret_cast<std::uint8_t const*>(s.data()), s.size(), c) ==
          feed_result::ok);
    CHECK(c.messages.size() == 1 && c.messages[0].second == "abcd" &&
          c.messages[0].first == opcode::text);
    CHECK(c.controls.size() == 1);

    frame_parser bad;
    std::string const masked =
        "\x81\x81"
        "abcd"
        "x";  // servers must not mask
    CHECK(bad.feed(reinterpret_cast<std::uint8_t const*>(masked.data()), masked.size(), c) ==
          feed_result::error);
    frame_parser cont;
    std::string const orphan = server_frame(opcode::cont, "zz");
    CHECK(cont.feed(reinterpret_cast<std::uint8_t const*>(orphan.data()), orphan.size(), c) ==
          feed_result::error);
}

void test_client_header_and_mask() {
    mask_key const key{1, 2, 3, 4};
    for (std::uint64_t len : {0ull, 125ull, 126ull, 65535ull, 65536ull, 5ull << 20}) {
        std::uint8_t h[max_frame_header];
        std::size_t const n = write_frame_header(h, opcode::binary, len, key);
        CHECK(h[0] == 0x82);
        CHECK((h[1] & 0x80) != 0);
        std::uint64_t got = h[1] & 0x7F;
        if (got == 126) got = static_cast<std::uint64_t>(h[2]) << 8 | h[3];
        if (got == 127) {
            got = 0;
            for (int i = 2; i < 10; ++i)
                got = got << 8 | h[i];
        }
        CHECK(got == len);
        CHECK(h[n - 4] == 1 && h[n - 1] == 4);
    }
    std::string const f = make_frame(opcode::text, "hello", key);
    std::string body = f.substr(6);
    apply_mask(reinterpret_cast<std::uint8_t*>(body.data()), body.size(), key, 0);
    CHECK(body == "hello");
}

void test_stamps() {
    stamp s;
    s.run = 0xDEADBEEF;
    s.room = 999;
    s.sender = 1999;
    s.length = 5u << 20;
    s.seq = 123456789012ull;
    s.send_ns = 0x0123456789ABCDEFull;
    std::uint8_t b[binary_stamp_size];
    encode_binary(s, b);
    auto const d = decode_binary({reinterpret_cast<char const*>(b), sizeof b});
    CHECK(d && d->run == s.run && d->room == s.room && d->sender == s.sender &&
          d->length == s.length && d->seq == s.seq && d->send_ns == s.send_ns);
    std::uint8_t t[text_stamp_size];
    encode_text(s, t);
    auto const e = decode_text({reinterpret_cast<char const*>(t), sizeof t});
    CHECK(e && e->run == s.run && e->seq == s.seq && e->send_ns == s.send_ns &&
          e->length == s.length);
    CHECK(!decode_binary("RCB2" + std::string(40, '\0')));
    CHECK(!decode_text(std::string(75, 'x')));
}

void test_templates() {
    mask_key const key{9, 8, 7, 6};
    for (auto p : {protocol::roomcast, protocol::socketio}) {
        for (auto m : {payload_mode::binary, payload_mode::text}) {
            auto t = make_template(p, m, 1000, key);
            std::string plain = t.masked;
            apply_mask(reinterpret_cast<std::uint8_t*>(plain.data()), plain.size(), key, 0);
            CHECK(plain.size() == 1000 + t.wrapper);
            CHECK(plain.substr(0, t.stamp_off) == payload_prefix(p, m));
            CHECK(plain[t.stamp_off + 999] == filler_at(999));
        }
    }
    // The roomcast text form is the JSON object the server relays.
    auto t = make_template(protocol::roomcast, payload_mode::text, 100, key);
    std::string plain = t.masked;
    apply_mask(reinterpret_cast<std::uint8_t*>(plain.data()), plain.size(), key, 0);
    CHECK(plain.rfind(R"({"type":"image","data":")", 0) == 0 &&
          plain.substr(plain.size() - 2) == "\"}");
    CHECK(find_text_stamp(R"({"type":"image","data":"RCB1:)") == 24);
}

void test_out_queue() {
    int sv[2];
    CHECK(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    std::string const ext(100000, 'e');
    out_queue q;
    q.append("abc", 3);
    q.append("def", 3);
    q.append_ref(ext.data(), ext.size());
    q.append("ghi", 3);
    CHECK(q.bytes() == 9 + ext.size());
    std::string got;
    char buf[65536];
    for (int i = 0; i < 100 && !q.empty(); ++i) {
        auto const r = q.flush(sv[0]);
        CHECK(r != out_queue::flush_result::error);
        ssize_t n = 0;
        while ((n = ::recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)) > 0)
            got.append(buf, static_cast<std::size_t>(n));
    }
    ssize_t n = 0;
    while ((n = ::recv(sv[1], buf, sizeof buf, MSG_DONTWAIT)) > 0)
        got.append(buf, static_cast<std::size_t>(n));
    CHECK(q.empty());
    CHECK(got == "abcdef" + ext + "ghi");
    ::close(sv[0]);
    ::close(sv[1]);
}

void test_http() {
    CHECK(http_head_length("HTTP/1.1 101 Switching Protocols\r\nA: b\r\n\r\nrest") == 42);
    CHECK(http_head_length("HTTP/1.1 101 Switching Protocols\r\n") == 0);
    CHECK(is_switching_protocols("HTTP/1.1 101 Switching Protocols\r\n\r\n"));
    CHECK(!is_switching_protocols("HTTP/1.1 400 Bad Request\r\n\r\n"));
    std::uint8_t const k[] = {'a', 'b', 'c', 'd'};
    CHECK(base64(k, 4) == "YWJjZA==");
    CHECK(base64(k, 3) == "YWJj");
}

config parse(std::vector<std::string> args) {
    std::string prog = "roomcast-bench";
    std::vector<char*> argv{prog.data()};
    for (auto& a : args)
        argv.push_back(a.data());
    return parse_args(static_cast<int>(argv.size()), argv.data());
}

bool rejected(std::vector<std::string> args) {
    try {
        parse(std::move(args));
    } catch (std::runtime_error const&) {
        return true;
    }
    return false;
}

void test_config() {
    // churn as bench/run calls it: unchanged by the soak options.
    auto const churn = parse({"--scenario", "churn", "--port", "3000"});
    CHECK(churn.rooms == 32 && churn.room_size == 2 && churn.senders == 1);
    CHECK(churn.source_addrs == 16);
    CHECK(churn.abrupt_pct == 0 && churn.abrupt_mid_pct == 0 && churn.resume_pct == 50);
    CHECK(churn.cycle_rate == 0);
    // --connections: an anchor and a churner per room.
    CHECK(parse({"--scenario", "churn", "--port", "1", "--connections", "2000"}).rooms == 1000);
    CHECK(parse({"--scenario", "churn", "--port", "1", "--connections", "2001"}).rooms == 1001);
    CHECK(
        parse({"--scenario", "churn", "--port", "1", "--connections", "2000", "--room-size", "10"})
            .room_size == 2);
    CHECK(parse({"--scenario", "idle", "--port", "1", "--connections", "10000"}).rooms == 1000);
    CHECK(parse({"--scenario", "pairs", "--port", "1", "--connections", "10"}).rooms == 1000);

    auto const soak = parse({"--scenario", "churn", "--port", "1", "--abrupt-pct", "50",
                             "--abrupt-mid-pct", "25", "--resume-pct", "0"});
    CHECK(soak.abrupt_pct == 50 && soak.abrupt_mid_pct == 25 && soak.resume_pct == 0);
    CHECK(parse({"--scenario", "churn", "--port", "1", "--abrupt-pct", "100"}).abrupt_pct == 100);
    CHECK(parse({"--scenario", "churn", "--port", "1", "--cycle-rate", "1500"}).cycle_rate == 1500);

    CHECK(rejected({"--scenario", "churn", "--port", "1", "--abrupt-pct", "100.5"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--abrupt-pct", "-1"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--abrupt-pct", "half"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--resume-pct", "101"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--abrupt-mid-pct", "200"}));
    CHECK(rejected({"--scenario", "pairs", "--port", "1", "--abrupt-pct", "10"}));
    CHECK(rejected({"--scenario", "fanout", "--port", "1", "--cycle-rate", "10"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--cycle-rate", "-5"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--connections", "0"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--abrupt-pct"}));
    CHECK(rejected({"--scenario", "churn", "--port", "0"}));
    CHECK(rejected({"--scenario", "churn", "--port", "1", "--host", "10.0.0.1"}));
}

}  // namespace

int main() {
    test_parser_whole_and_bytewise();
    test_parser_fragments_and_errors();
    test_client_header_and_mask();
    test_stamps();
    test_templates();
    test_out_queue();
    test_http();
    test_config();
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
