#include "roomcast/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string_view>

namespace roomcast {

memory_budget::memory_budget(std::size_t limit, double refuse_share) noexcept
    : limit_(limit), refuse_share_(refuse_share) {
    set_limit(limit);
}

void memory_budget::set_limit(std::size_t limit) noexcept {
    limit_ = limit;
    refuse_at_ = static_cast<std::size_t>(static_cast<double>(limit) * refuse_share_);
}

bool memory_budget::try_charge(memory_kind k, std::size_t n) noexcept {
    std::size_t const before = used_.fetch_add(n, std::memory_order_relaxed);
    if (before + n > limit_) {
        used_.fetch_sub(n, std::memory_order_relaxed);
        return false;
    }
    by_kind_[static_cast<std::size_t>(k)].fetch_add(n, std::memory_order_relaxed);
    return true;
}

void memory_budget::charge(memory_kind k, std::size_t n) noexcept {
    used_.fetch_add(n, std::memory_order_relaxed);
    by_kind_[static_cast<std::size_t>(k)].fetch_add(n, std::memory_order_relaxed);
}

void memory_budget::release(memory_kind k, std::size_t n) noexcept {
    used_.fetch_sub(n, std::memory_order_relaxed);
    by_kind_[static_cast<std::size_t>(k)].fetch_sub(n, std::memory_order_relaxed);
}

void memory_budget::transfer(memory_kind from, memory_kind to, std::size_t n) noexcept {
    by_kind_[static_cast<std::size_t>(to)].fetch_add(n, std::memory_order_relaxed);
    by_kind_[static_cast<std::size_t>(from)].fetch_sub(n, std::memory_order_relaxed);
}

memory_charge& memory_charge::operator=(memory_charge&& o) noexcept {
    if (this != &o) {
        reset();
        budget_ = o.budget_;
        kind_ = o.kind_;
        bytes_ = o.bytes_;
        owner_ = std::move(o.owner_);
        o.budget_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

void memory_charge::grow(std::size_t n) noexcept {
    if (!budget_) return;
    budget_->charge(kind_, n);
    if (owner_) owner_->message_bytes.fetch_add(n, std::memory_order_relaxed);
    bytes_ += n;
}

void memory_charge::reset() noexcept {
    if (budget_ && bytes_) {
        budget_->release(kind_, bytes_);
        if (owner_) owner_->message_bytes.fetch_sub(bytes_, std::memory_order_relaxed);
    }
    budget_ = nullptr;
    bytes_ = 0;
    owner_.reset();
}

bool address_usage::try_add(std::atomic<std::size_t>& v, std::size_t n, std::size_t cap) noexcept {
    std::size_t const before = v.fetch_add(n, std::memory_order_relaxed);
    if (cap != 0 && before + n > cap) {
        v.fetch_sub(n, std::memory_order_relaxed);
        return false;
    }
    return true;
}

std::shared_ptr<address_usage> address_ledger::get(std::string const& address) {
    std::lock_guard lock(mutex_);
    auto& slot = entries_[address];
    if (auto live = slot.lock()) return live;
    auto fresh = std::make_shared<address_usage>();
    slot = fresh;
    if (entries_.size() >= sweep_at_) sweep_locked();
    return fresh;
}

std::size_t address_ledger::tracked() const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (auto const& [k, w] : entries_)
        if (!w.expired()) ++n;
    return n;
}

void address_ledger::sweep_locked() {
    // Dead entries are dropped when the table has doubled since the last sweep, so a sweep
    // costs O(1) per insertion on average and the table stays within twice the live entries.
    std::erase_if(entries_, [](auto const& kv) { return kv.second.expired(); });
    sweep_at_ = std::max<std::size_t>(64, entries_.size() * 2);
}

namespace {

// The first number in a file ("max" and garbage give nullopt-like 0).
std::size_t read_number(std::string const& path) {
    std::ifstream in(path);
    std::string s;
    if (!(in >> s)) return 0;
    std::size_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return 0;
    return v;
}

// MemTotal from /proc/meminfo, in bytes.
std::size_t mem_total(std::string const& root) {
    std::ifstream in(root + "/proc/meminfo");
    std::string key, unit;
    std::size_t kib = 0;
    while (in >> key >> kib >> unit)
        if (key == "MemTotal:") return kib * 1024;
    return 0;
}

}  // namespace

std::size_t detect_memory_limit(std::string const& root) {
    std::size_t physical = mem_total(root);
    if (physical == 0 && root.empty()) {
        long const pages = ::sysconf(_SC_PHYS_PAGES);
        long const page = ::sysconf(_SC_PAGE_SIZE);
        if (pages > 0 && page > 0)
            physical = static_cast<std::size_t>(pages) * static_cast<std::size_t>(page);
    }
    // cgroup v2 says "max" when unlimited (read as 0); v1 says a huge number when unlimited.
    std::size_t cgroup = read_number(root + "/sys/fs/cgroup/memory.max");
    if (cgroup == 0) cgroup = read_number(root + "/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (cgroup != 0 && (physical == 0 || cgroup < physical)) return cgroup;
    return physical;
}

std::size_t default_memory_budget(std::string const& root) {
    std::size_t const limit = detect_memory_limit(root);
    return limit ? limit / 2 : std::size_t{1} << 30;
}

}  // namespace roomcast
