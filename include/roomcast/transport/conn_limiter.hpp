#pragma once

#include <roomcast/memory_budget.hpp>

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace roomcast::transport {

class conn_limiter;

/** Holds one admitted connection's place; gives it back when destroyed. Movable. */
class conn_ticket {
  public:
    conn_ticket() = default;
    conn_ticket(conn_ticket&& o) noexcept
        : memory(std::move(o.memory)),
          owner_(o.owner_),
          address_(std::move(o.address_)),
          counted_(o.counted_) {
        o.owner_ = nullptr;
    }
    conn_ticket& operator=(conn_ticket&& o) noexcept;
    conn_ticket(conn_ticket const&) = delete;
    conn_ticket& operator=(conn_ticket const&) = delete;
    ~conn_ticket();

    explicit operator bool() const noexcept { return owner_ != nullptr; }
    /** The client address this connection counts against (after rebind(), the forwarded one). */
    std::string const& address() const noexcept { return address_; }

    /** The connection's fixed share of the memory budget, held as long as it is admitted. */
    memory_charge memory;

  private:
    friend class conn_limiter;
    conn_ticket(conn_limiter* o, std::string a, bool counted)
        : owner_(o), address_(std::move(a)), counted_(counted) {}
    conn_limiter* owner_ = nullptr;
    std::string address_;
    bool counted_ = true;  // holds a place in the per-address count of address_
};

/** Admission: open connections in all and per client address. Thread-safe. */
class conn_limiter {
  public:
    conn_limiter(std::size_t max_total, std::size_t max_per_address)
        : max_total_(max_total), max_per_address_(max_per_address) {}

    enum class refusal { none, total, per_address };

    /** A ticket, or an empty one with `why` set. `per_address` false: counts toward the total
     * only (a trusted proxy, whose clients are counted once known, by rebind()). */
    conn_ticket try_acquire(std::string const& address, refusal& why, bool per_address = true);

    /** Moves `t`'s per-address place to `address` (the client behind a trusted proxy); false,
     * with `why` set and `t` unchanged, if that address is at its limit. */
    bool rebind(conn_ticket& t, std::string const& address, refusal& why);

    std::size_t total() const;
    std::size_t count(std::string const& address) const;

  private:
    friend class conn_ticket;
    void release(std::string const& address, bool counted);
    void drop_address(std::string const& address);  // mutex_ held

    std::size_t max_total_;
    std::size_t max_per_address_;
    mutable std::mutex mutex_;
    std::size_t total_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;
};

}  // namespace roomcast::transport
