#include "roomcast/transport/context.hpp"

#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace roomcast::transport {

context::context(config const& c, rooms::room_registry& r, roomcast::stats& s,
                 static_files const& f, conn_limiter& l, session_tracker& t, policies const& p,
                 address_limiter& j)
    : cfg(c), rooms(r), counters(s), files(f), limiter(l), tracker(t), policy(p), joins(j) {
    std::size_t const budget = c.memory_budget ? c.memory_budget : default_memory_budget();
    s.memory.set_limit(budget);
    seats.per_seat_bytes = c.resume_buffer_bytes;
    seats.per_address_bytes = c.max_held_bytes_per_ip;
    seats.per_address_seats = c.max_held_seats_per_ip;
    seats.total_bytes = c.max_held_bytes ? c.max_held_bytes : budget / 4;
    seats.total_seats = c.max_held_seats;
}

std::uint64_t context::next_id() {
    for (;;) {
        std::uint64_t v = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1)
            throw std::runtime_error("RAND_bytes failed");
        v &= (std::uint64_t{1} << 53) - 1;
        if (v != 0) return v;
    }
}

}  // namespace roomcast::transport
