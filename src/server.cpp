#include "roomcast/server.hpp"

#include <roomcast/net.hpp>
#include <roomcast/pairing/origins.hpp>
#include <roomcast/pairing/qr.hpp>
#include <roomcast/protocol/codec.hpp>
#include <roomcast/rooms/room_registry.hpp>
#include <roomcast/tls/certificate.hpp>
#include <roomcast/transport/listener.hpp>
#include <roomcast/transport/tls.hpp>
#include <roomcast/version.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace roomcast {

// Client addresses whose join attempts are tracked at once (memory bound of the join limiter).
constexpr std::size_t max_tracked_addresses = 65536;

struct server::impl {
    explicit impl(config c)
        : cfg(std::move(c)),
          threads(cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency())),
          registry(cfg.max_room_members,
                   {cfg.max_lobby, cfg.max_admissions, cfg.max_dormant_rooms, cfg.room_retention}),
          limiter(cfg.max_connections, cfg.max_connections_per_ip),
          joins(static_cast<double>(cfg.max_joins_per_minute), max_tracked_addresses),
          ctx{cfg, registry, counters, files, limiter, tracker, policy, joins},
          ioc(static_cast<int>(threads)),
          control(net::make_strand(ioc)),
          signals(control),
          deadline(control),
          reaper(control) {}

    // Declaration order is destruction order reversed: the io_context goes before the registry,
    // counters, limiter and tracker, because destroying it destroys pending handlers, and with
    // them the sessions, whose destructors still use those. Timers and the listener go first.
    config cfg;
    unsigned threads;
    stats counters;
    rooms::room_registry registry;
    transport::static_files files;
    transport::conn_limiter limiter;
    transport::session_tracker tracker;
    transport::policies policy;
    transport::address_limiter joins;
    std::unique_ptr<net::ssl::context> tls;  // null: plain only; outlives every session
    std::string tls_fingerprint;
    transport::context ctx;
    net::io_context ioc;
    std::shared_ptr<transport::listener> lst;
    // Shutdown steps, signals, the deadline and the seat reaper all run on one strand: a signal
    // handler re-arming its wait must never race the cancel that lets run() return.
    net::strand<net::io_context::executor_type> control;
    net::signal_set signals;
    net::steady_timer deadline;
    net::steady_timer reaper;  // releases held seats whose grace period ended
    std::vector<std::thread> pool;
    std::uint16_t bound_port = 0;
    int shutdown_calls = 0;
    std::once_flag joined;

    void begin_shutdown() {
        if (++shutdown_calls > 1) {
            spdlog::warn("second stop request: stopping now");
            ioc.stop();
            return;
        }
        spdlog::info("shutting down: closing {} connections (at most {} ms)", tracker.size(),
                     cfg.shutdown_timeout.count());
        if (lst) lst->stop();
        reaper.cancel();
        deadline.expires_after(cfg.shutdown_timeout);
        deadline.async_wait([this](error_code ec) {
            if (ec) return;
            spdlog::warn("shutdown timeout: {} connections still open; stopping", tracker.size());
            ioc.stop();
        });
        tracker.stop_all([this] {
            // Last connection gone: drop the remaining work so run() returns by itself.
            net::post(control, [this] {
                spdlog::info("all connections closed; {}", counters.summary());
                error_code ignored;
                signals.cancel(ignored);
                deadline.cancel();
            });
        });
    }

    // Once a second (or sooner for short grace periods, as in tests): held seats past their
    // deadline, or whose buffer overflowed, are released and their rooms told.
    void arm_reaper() {
        auto const tick = std::min<std::chrono::milliseconds>(
            std::chrono::seconds(1), cfg.resume_grace / 4 + std::chrono::milliseconds(1));
        reaper.expires_after(tick);
        reaper.async_wait([this](error_code ec) {
            if (ec || shutdown_calls > 0) return;
            // Counted under the registry lock, in step with the seats_held gauge.
            auto count = [this](rooms::released_seat const& r) {
                if (r.overflowed) {
                    counters.seats_overflowed.fetch_add(1, std::memory_order_relaxed);
                    counters.frames_dropped.fetch_add(r.dropped, std::memory_order_relaxed);
                } else {
                    counters.seats_expired.fetch_add(1, std::memory_order_relaxed);
                }
            };
            for (auto const& r : registry.expire(std::chrono::steady_clock::now(), count)) {
                if (r.overflowed) {
                    spdlog::warn(
                        "seat {} in {} released: more than {} bytes relayed while it was "
                        "away ({} frames lost)",
                        r.id, rooms::room_registry::name(r.room), cfg.resume_buffer_bytes,
                        r.dropped);
                } else {
                    spdlog::debug("seat {} in {} released after {} ms away", r.id,
                                  rooms::room_registry::name(r.room), cfg.resume_grace.count());
                }
                registry.broadcast(r.room, r.id, protocol::encode_peer_left(r.id));
            }
            // Locked rooms left empty past --room-retention: whoever still waits is told.
            auto const closed = registry.expire_rooms(std::chrono::steady_clock::now());
            for (auto const& [p, r] : closed)
                p->access_event(rooms::access_change::room_closed, r);
            if (!closed.empty())
                spdlog::info("{} newcomers were waiting in locked rooms let go with no member",
                             closed.size());
            arm_reaper();
        });
    }

    // TLS from the configuration: the given certificate and key, or the self-signed pair in the
    // state directory (made or renewed as needed). An error message for start() on failure.
    std::optional<std::string> setup_tls() {
        if (!cfg.tls()) return std::nullopt;
        if (cfg.tls_self_signed && (!cfg.tls_cert.empty() || !cfg.tls_key.empty()))
            return "--tls-self-signed and --tls-cert/--tls-key exclude each other; choose one";
        if (!cfg.tls_self_signed && cfg.tls_key.empty())
            return "--tls-cert needs --tls-key (ROOMCAST_TLS_KEY): the certificate's private key";
        if (!cfg.tls_self_signed && cfg.tls_cert.empty())
            return "--tls-key needs --tls-cert (ROOMCAST_TLS_CERT): the certificate to serve";
        std::string cert_path = cfg.tls_cert, key_path = cfg.tls_key, err;
        if (cfg.tls_self_signed) {
            std::string dir = cfg.state_dir;
            if (dir.empty())
                dir = tls::default_state_dir(std::getenv("XDG_STATE_HOME"), std::getenv("HOME"));
            if (dir.empty())
                return "--tls-self-signed needs a state directory: set --state-dir "
                       "(neither XDG_STATE_HOME nor HOME is set)";
            auto const sans =
                tls::lan_subject_alt_names(pairing::system_interfaces(), tls::host_name());
            auto made = tls::ensure_self_signed(dir, sans, err);
            if (!made) return "--tls-self-signed: " + err;
            std::string names;
            for (auto const& n : sans)
                names += (names.empty() ? "" : ", ") + n;
            if (made->created)
                spdlog::info(
                    "made a self-signed certificate in {} ({}), valid for {} days, for {}", dir,
                    made->reason,
                    std::chrono::duration_cast<std::chrono::days>(tls::self_signed_validity)
                        .count(),
                    names);
            else
                spdlog::info("reusing the self-signed certificate in {}", dir);
            cert_path = made->cert_path;
            key_path = made->key_path;
        }
        tls = transport::make_server_tls(cert_path, key_path, err);
        if (!tls) return err;
        if (auto pem = tls::read_file(cert_path, err)) {
            if (auto facts = tls::inspect_certificate(*pem, err)) {
                tls_fingerprint = facts->fingerprint;
                if (facts->not_after < std::chrono::system_clock::now())
                    spdlog::warn("TLS certificate {} has expired: browsers will refuse it",
                                 cert_path);
            }
        }
        spdlog::info("TLS on (HTTPS and WSS, plain HTTP on the same port); certificate {}",
                     cert_path);
        // What a phone's browser shows under the certificate's details: compare before
        // accepting the warning once.
        spdlog::info("TLS certificate SHA-256 fingerprint: {}", tls_fingerprint);
        ctx.tls = tls.get();
        return std::nullopt;
    }

    void arm_signals() {
        signals.async_wait([this](error_code ec, int sig) {
            if (ec) return;
            spdlog::info("received signal {}", sig);
            // Re-arm first (for a second signal), then shut down: both on the control strand,
            // so the cancel that ends shutdown always comes after this wait is registered.
            arm_signals();
            begin_shutdown();
        });
    }
};

server::server(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

server::~server() {
    if (!impl_->pool.empty()) {
        impl_->ioc.stop();
        wait();
    }
}

std::optional<std::string> server::start() {
    auto& m = *impl_;
    std::string bad;
    auto proxies = transport::trusted_proxies::parse(m.cfg.trusted_proxies, bad);
    if (!proxies) return "invalid trusted-proxies entry '" + bad + "'";
    auto origins = transport::origin_policy::parse(m.cfg.allowed_origins, m.cfg.public_url, bad);
    if (!origins) return "invalid allowed-origins entry '" + bad + "'";
    auto hosts = transport::host_policy::parse(m.cfg.allowed_hosts, m.cfg.public_url, bad);
    if (!hosts) return "invalid allowed-hosts entry '" + bad + "'";
    auto metrics_from = transport::address_set::parse(m.cfg.metrics_from, bad);
    if (!metrics_from) return "invalid metrics-from entry '" + bad + "'";
    m.policy = {std::move(*proxies), std::move(*origins), std::move(*hosts),
                std::move(*metrics_from)};
    std::string const root = resolve_web_root(m.cfg);
    if (auto err = transport::static_files::load(root, m.files)) return *err;
    if (auto err = m.setup_tls()) return *err;

    error_code ec;
    auto const addr = net::ip::make_address(m.cfg.host, ec);
    if (ec) return "invalid host '" + m.cfg.host + "': " + ec.message();
    m.lst = std::make_shared<transport::listener>(m.ioc, m.ctx);
    if (auto e = m.lst->open(tcp::endpoint(addr, m.cfg.port)))
        return "cannot listen on " + m.cfg.host + ":" + std::to_string(m.cfg.port) + ": " +
               e.message();
    m.bound_port = m.lst->local_endpoint().port();
    m.ctx.port = m.bound_port;
    m.lst->run();
    net::post(m.control, [&m] { m.arm_reaper(); });

    std::string const shown_host = addr.is_unspecified() ? "localhost" : m.cfg.host;
    char const* const scheme = m.tls ? "https" : "http";
    spdlog::info(
        "roomcast {} listening on {}://{}:{}/ (bound {}:{}, {} threads, web root {}, {} "
        "files)",
        version, scheme,
        addr.is_v6() && !addr.is_unspecified() ? "[" + shown_host + "]" : shown_host, m.bound_port,
        m.cfg.host, m.bound_port, m.threads, root, m.files.size());
    spdlog::info("config: {}", describe(m.cfg));

    // Tell the operator what a phone should open, and draw it when asked (--qr).
    std::vector<std::string> urls;
    if (!m.cfg.public_url.empty()) urls.push_back(m.cfg.public_url + "/");
    auto const lan =
        pairing::reachable_origins(m.cfg.host, pairing::system_interfaces(), m.bound_port, scheme);
    for (auto const& o : lan.origins)
        urls.push_back(o + "/");
    for (auto const& u : urls)
        spdlog::info("open {} on your devices", u);
    if (urls.empty())
        spdlog::warn(
            "no address a phone can open: {}; listen on all interfaces (HOST=0.0.0.0) or set "
            "ROOMCAST_PUBLIC_URL (the page says the same instead of showing a room link)",
            lan.why == "loopback-only" ? "listening on " + m.cfg.host + " (this machine only)"
            : lan.why == "no-lan-address"
                ? std::string("this machine has no LAN address (no Wi-Fi or Ethernet up)")
                : m.cfg.host + " is not an address on a LAN");
    if (m.cfg.print_qr) {
        if (urls.empty())
            spdlog::warn("--qr: no public URL and no LAN address to draw");
        else if (auto qr = pairing::qr_terminal(urls.front()))
            std::printf("\nScan to open %s\n\n%s\n", urls.front().c_str(), qr->c_str());
        std::fflush(stdout);
    }

    m.pool.reserve(m.threads);
    for (unsigned i = 0; i < m.threads; ++i) {
        m.pool.emplace_back([&m] {
            // No exception is meant to leave a handler; if one does, log it and keep serving.
            for (;;) {
                try {
                    m.ioc.run();
                    return;
                } catch (std::exception const& e) {
                    spdlog::error("unhandled exception in I/O thread: {}", e.what());
                }
            }
        });
    }
    return std::nullopt;
}

std::uint16_t server::port() const noexcept {
    return impl_->bound_port;
}

std::string const& server::tls_fingerprint() const noexcept {
    return impl_->tls_fingerprint;
}

void server::shutdown() {
    net::post(impl_->control, [m = impl_.get()] { m->begin_shutdown(); });
}

void server::handle_signals() {
    impl_->signals.add(SIGINT);
    impl_->signals.add(SIGTERM);
    impl_->arm_signals();
}

void server::wait() {
    std::call_once(impl_->joined, [this] {
        for (auto& t : impl_->pool)
            if (t.joinable()) t.join();
    });
}

stats const& server::counters() const noexcept {
    return impl_->counters;
}
rooms::room_registry const& server::rooms() const noexcept {
    return impl_->registry;
}
config const& server::cfg() const noexcept {
    return impl_->cfg;
}

std::string resolve_web_root(config const& cfg) {
    namespace fs = std::filesystem;
    if (!cfg.web_root.empty()) return cfg.web_root;
    std::error_code ec;
    auto const exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto const beside = exe.parent_path() / "web";
        if (fs::exists(beside / "index.html", ec)) return beside.string();
    }
    return ROOMCAST_SOURCE_WEB_ROOT;
}

}  // namespace roomcast
