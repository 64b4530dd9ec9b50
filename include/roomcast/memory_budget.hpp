#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace roomcast {

/** What the bytes charged to the budget are holding. */
enum class memory_kind : std::uint8_t {
    partial_messages,  // messages being received: the frame reader's buffers
    frames,            // relayed messages alive in send queues, held seats or writes in flight
    connections,       // a fixed estimate per admitted connection (session, parser, TLS)
};
inline constexpr std::size_t memory_kind_count = 3;

/**
 * The one memory ceiling of the process (--memory-budget). Every large buffer the daemon
 * keeps on a client's behalf is charged here before (or, for what already exists, as) it is
 * held, and given back when it is freed: partial messages, relayed frames, connections. Near
 * the limit, new connections and joins are refused (near_limit()); at it, a message that
 * needs more memory is refused (try_charge() fails) and its sender told to try again later.
 *
 * Thread-safe, lock-free; a charge is an atomic add, so the total may pass the limit for the
 * moment between the add and the check that undoes it. Pure: no I/O, unit-tested alone.
 */
class memory_budget {
  public:
    /** `limit` in bytes (> 0); `refuse_share` the fraction of it where near_limit() starts. */
    explicit memory_budget(std::size_t limit, double refuse_share = 0.9) noexcept;

    /** Sets the limit (before serving: not synchronised with charges in flight). */
    void set_limit(std::size_t limit) noexcept;
    std::size_t limit() const noexcept { return limit_; }
    std::size_t used() const noexcept { return used_.load(std::memory_order_relaxed); }
    std::size_t used(memory_kind k) const noexcept {
        return by_kind_[static_cast<std::size_t>(k)].load(std::memory_order_relaxed);
    }

    /** Charges n unless the total would pass the limit; false (nothing charged) if it would. */
    bool try_charge(memory_kind k, std::size_t n) noexcept;
    /** Charges n whatever the total (memory that already exists, or must: a close frame). */
    void charge(memory_kind k, std::size_t n) noexcept;
    void release(memory_kind k, std::size_t n) noexcept;
    /** Moves n bytes already charged from one kind to another (the total is unchanged). */
    void transfer(memory_kind from, memory_kind to, std::size_t n) noexcept;

    /** At or past the share of the limit where new connections and joins are refused. */
    bool near_limit() const noexcept { return used() >= refuse_at_; }

  private:
    std::size_t limit_;
    double refuse_share_;
    std::size_t refuse_at_;
    std::atomic<std::size_t> used_{0};
    std::array<std::atomic<std::size_t>, memory_kind_count> by_kind_{};
};

struct address_usage;

/**
 * A charge that gives itself back when destroyed: to the budget, and, when it has an owner,
 * to that client address's message_bytes. Movable, not copyable; empty by default. It records
 * what was already charged; it charges nothing itself (but grow()).
 */
class memory_charge {
  public:
    memory_charge() = default;
    memory_charge(memory_budget& b, memory_kind k, std::size_t n,
                  std::shared_ptr<address_usage> owner = nullptr) noexcept
        : budget_(&b), kind_(k), bytes_(n), owner_(std::move(owner)) {}
    memory_charge(memory_charge&& o) noexcept
        : budget_(o.budget_), kind_(o.kind_), bytes_(o.bytes_), owner_(std::move(o.owner_)) {
        o.budget_ = nullptr;
        o.bytes_ = 0;
    }
    memory_charge& operator=(memory_charge&& o) noexcept;
    memory_charge(memory_charge const&) = delete;
    memory_charge& operator=(memory_charge const&) = delete;
    ~memory_charge() { reset(); }

    /** Adds n more to this charge (forced: the memory exists). Requires a budget. */
    void grow(std::size_t n) noexcept;
    void reset() noexcept;
    std::size_t bytes() const noexcept { return bytes_; }

  private:
    memory_budget* budget_ = nullptr;
    memory_kind kind_ = memory_kind::frames;
    std::size_t bytes_ = 0;
    std::shared_ptr<address_usage> owner_;
};

/** What all held seats of the process keep right now (gauges, and the process-wide caps). */
struct seat_totals {
    std::atomic<std::size_t> seats{0};
    std::atomic<std::size_t> bytes{0};
};

/** What one client address holds right now, across all its connections and seats. */
struct address_usage {
    // In messages its connections are sending, and in those they sent that are still held for
    // their recipients (queued, in a seat, being written).
    std::atomic<std::size_t> message_bytes{0};
    std::atomic<std::size_t> held_seats{0};  // seats held for its dropped connections
    std::atomic<std::size_t> held_bytes{0};  // frames kept in those seats (wire bytes)

    /** Adds n to `v` unless that passes `cap` (0: no cap); false, unchanged, if it would. */
    static bool try_add(std::atomic<std::size_t>& v, std::size_t n, std::size_t cap) noexcept;
};

/**
 * The usage of every client address that holds something, so that per-address caps need no
 * lookup on the hot path: a connection takes its address's entry once and keeps it. Entries
 * live as long as someone holds them and are swept from the table after. Thread-safe.
 */
class address_ledger {
  public:
    /** The entry for `address` (a client address key, see transport::address_key()). */
    std::shared_ptr<address_usage> get(std::string const& address);
    /** Addresses with a live entry (for tests and metrics). */
    std::size_t tracked() const;

  private:
    void sweep_locked();

    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::weak_ptr<address_usage>> entries_;
    std::size_t sweep_at_ = 64;
};

/**
 * The memory this machine gives the process: the cgroup limit (v2 memory.max or v1
 * memory.limit_in_bytes) when there is one, else physical memory; 0 when neither is known.
 * `root` is where /sys and /proc are (tests point it at a fake tree).
 */
std::size_t detect_memory_limit(std::string const& root = "");

/** The default --memory-budget: half of detect_memory_limit(), or 1 GiB when that is 0. */
std::size_t default_memory_budget(std::string const& root = "");

}  // namespace roomcast
