// libFuzzer: the WebSocket frame reader, fed the same bytes whole and in pieces, never crashes
// and reports the same messages and the same verdict either way.
#include <roomcast/ws/frame_reader.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct recorder final : roomcast::ws::frame_reader::events {
    std::vector<std::string> log;
    bool on_message(std::string&& p, bool text) override {
        log.push_back((text ? "T" : "B") + p);
        return true;
    }
    bool on_ping(std::string_view p) override {
        log.push_back("P" + std::string(p));
        return true;
    }
    bool on_pong() override {
        log.push_back("O");
        return true;
    }
    void on_close(std::uint16_t code, std::string_view reason) override {
        log.push_back("C" + std::to_string(code) + std::string(reason));
    }
};

using status = roomcast::ws::frame_reader::status;

// Feeds `data` in pieces of `step` bytes (0: all at once), using direct reads when offered.
std::pair<status, std::vector<std::string>> run(std::uint8_t const* data, std::size_t size,
                                                std::size_t step) {
    roomcast::ws::frame_reader reader(1 << 16);
    recorder rec;
    std::size_t pos = 0;
    status st = status::ok;
    while (pos < size && st == status::ok) {
        std::size_t n = step ? std::min(step, size - pos) : size - pos;
        auto direct = reader.direct_target(64);
        if (!direct.empty()) {
            n = std::min(n, direct.size());
            std::copy(data + pos, data + pos + n, direct.data());
            st = reader.commit_direct(n, rec);
        } else {
            st = reader.feed(reinterpret_cast<char const*>(data + pos), n, rec);
        }
        pos += n;
    }
    return {st, rec.log};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    auto whole = run(data, size, 0);
    auto bytes = run(data, size, 1);
    auto seven = run(data, size, 7);
    if (whole != bytes || whole != seven) std::abort();
    return 0;
}
