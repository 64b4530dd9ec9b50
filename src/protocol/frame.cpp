#include "roomcast/protocol/frame.hpp"

#include <roomcast/ws/frame.hpp>

namespace roomcast::protocol {

namespace {
void encode(out_frame& f) {
    f.header_size = static_cast<std::uint8_t>(ws::encode_header(
        f.header.data(), f.text ? ws::opcode::text : ws::opcode::binary, true, f.payload_size()));
}
}  // namespace

std::string out_frame::payload_string() const {
    if (chunks.empty()) return payload;
    std::string s;
    s.reserve(chunked_size);
    for (auto const& c : chunks)
        s.append(c.data.get(), c.size);
    return s;
}

frame_ptr make_frame(std::string payload, bool text, std::chrono::steady_clock::time_point born,
                     memory_charge charge) {
    auto f = std::make_shared<out_frame>();
    f->payload = std::move(payload);
    f->text = text;
    f->born = born;
    f->charge = std::move(charge);
    encode(*f);
    return f;
}

frame_ptr make_frame(std::vector<payload_chunk> chunks, bool text,
                     std::chrono::steady_clock::time_point born, memory_charge charge) {
    auto f = std::make_shared<out_frame>();
    for (auto const& c : chunks)
        f->chunked_size += c.size;
    f->chunks = std::move(chunks);
    f->text = text;
    f->born = born;
    f->charge = std::move(charge);
    encode(*f);
    return f;
}

}  // namespace roomcast::protocol
