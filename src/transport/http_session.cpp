#include "roomcast/transport/http_session.hpp"

#include "ws_session_detail.hpp"

#include <roomcast/log.hpp>
#include <roomcast/metrics.hpp>
#include <roomcast/pairing/origins.hpp>
#include <roomcast/pairing/qr.hpp>
#include <roomcast/transport/request_checks.hpp>
#include <roomcast/transport/ws_session.hpp>
#include <roomcast/version.hpp>
#include <roomcast/ws/handshake.hpp>

#include <spdlog/spdlog.h>
#include <boost/beast/core/detect_ssl.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace roomcast::transport {

namespace {

// Headers on every response. The room id lives in the page URL, so no Referer may carry it
// off; the client is same-origin only.
void common_headers(http::fields& h) {
    h.set(http::field::server, std::string("roomcast/") + version);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("Referrer-Policy", "no-referrer");
}

std::string remote_of(tcp::socket const& s) {
    error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "?";
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6());
    return addr.to_string() + ":" + std::to_string(ep.port());
}

// A refusal: `why` as its text, and the connection closes after it, so nothing that follows a
// refused request (a body we did not read, a request smuggled in one) is ever parsed.
http::response<http::string_body> refusal(http::status s, std::string_view why) {
    http::response<http::string_body> res{s, 11};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::string(why) + "\n";
    res.keep_alive(false);
    res.prepare_payload();
    return res;
}

// Every X-Forwarded-For of a request, in order, comma-joined.
std::string forwarded_for(http::fields const& f) {
    std::string forwarded;
    auto const [first, last] = f.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) {
        if (!forwarded.empty()) forwarded += ',';
        forwarded += it->value();
    }
    return forwarded;
}

// The session's stream around an accepted connection (both constructors compile for both
// streams, so the explicit instantiations below need no constraints).
template <class Stream>
Stream make_stream(beast::tcp_stream&& s, context& ctx) {
    if constexpr (std::is_same_v<Stream, tls_stream>)
        return Stream(std::move(s), *ctx.tls);
    else
        return std::move(s);
}

}  // namespace

template <class Stream>
basic_http_session<Stream>::basic_http_session(tcp::socket&& socket, context& ctx,
                                               conn_ticket ticket)
    : stream_(make_stream<Stream>(beast::tcp_stream(std::move(socket)), ctx)),
      ctx_(ctx),
      ticket_(std::move(ticket)) {
    remote_ = remote_of(this->socket());
}

template <class Stream>
basic_http_session<Stream>::basic_http_session(beast::tcp_stream&& stream,
                                               beast::flat_buffer&& read, context& ctx,
                                               conn_ticket ticket, std::string remote)
    : stream_(make_stream<Stream>(std::move(stream), ctx)),
      buffer_(std::move(read)),
      ctx_(ctx),
      ticket_(std::move(ticket)),
      remote_(std::move(remote)) {}

template <class Stream>
basic_http_session<Stream>::~basic_http_session() {
    ctx_.tracker.remove(tracker_key_);
}

template <class Stream>
void basic_http_session<Stream>::run() {
    tracker_key_ = ctx_.tracker.add(this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
        if constexpr (is_tls) {
            // The handshake has the time of one request; the ClientHello bytes the plain
            // session looked at are handed to OpenSSL first.
            if (self->stopping_) return;
            beast::get_lowest_layer(self->stream_).expires_after(self->ctx_.cfg.http_timeout);
            self->stream_.async_handshake(
                net::ssl::stream_base::server, self->buffer_.data(),
                // The default argument works around Beast 1.81 constraining this overload's
                // handler as void(error_code) while it calls it with (error_code, size_t).
                [self](error_code ec, std::size_t used = 0) { self->on_handshake(ec, used); });
        } else if (self->ctx_.tls) {
            self->do_detect();
        } else {
            self->do_read();
        }
    });
}

template <class Stream>
void basic_http_session<Stream>::stop() {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
        self->stopping_ = true;
        error_code ignored;
        self->socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(self->stream_).close();
    });
}

template <class Stream>
void basic_http_session<Stream>::do_detect() {
    if constexpr (!is_tls) {
        if (stopping_) return;
        // Plain and TLS share the port: a TLS ClientHello starts with 0x16 (handshake record),
        // which no HTTP method does. async_detect_ssl reads only as far as it must to tell.
        stream_.expires_after(ctx_.cfg.http_timeout);
        beast::async_detect_ssl(stream_, buffer_,
                                [self = this->shared_from_this()](error_code ec, bool tls) {
                                    self->on_detect(ec, tls);
                                });
    }
}

template <class Stream>
void basic_http_session<Stream>::on_detect(error_code ec, bool tls) {
    if constexpr (!is_tls) {
        if (ec) return fail(ec, "detect");
        if (!tls) return do_read();  // the bytes read so far stay in buffer_ for the parser
        // The connection moves to a TLS session with its ticket; this one ends here. TLS
        // buffers cost more memory: the ticket's charge grows by that much.
        ticket_.memory.grow(connection_cost::tls_extra);
        std::make_shared<https_session>(std::move(stream_), std::move(buffer_), ctx_,
                                        std::move(ticket_), std::move(remote_))
            ->run();
    }
}

template <class Stream>
void basic_http_session<Stream>::on_handshake(error_code ec, std::size_t used) {
    if constexpr (is_tls) {
        if (ec) return fail(ec, "TLS handshake");
        buffer_.consume(used);
        do_read();
    }
}

template <class Stream>
void basic_http_session<Stream>::do_read() {
    if (stopping_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(ctx_.cfg.http_header_limit));
    parser_->body_limit(ctx_.cfg.http_body_limit);
    // Bounds the whole request, and the idle time of a keep-alive connection.
    beast::get_lowest_layer(stream_).expires_after(ctx_.cfg.http_timeout);
    scanned_ = 0;
    do_read_header();
}

template <class Stream>
void basic_http_session<Stream>::do_read_header() {
    // The header block is gathered whole before Beast parses it, so that its raw lines can be
    // looked at: Beast joins an obs-fold continuation into the value it folds and leaves no
    // trace of it. The block ends at the first CRLFCRLF (Beast finds its end the same way, and
    // refuses a request that starts with an empty line), which may straddle two reads.
    std::string_view const have(static_cast<char const*>(buffer_.data().data()), buffer_.size());
    auto const end = have.find("\r\n\r\n", scanned_ > 3 ? scanned_ - 3 : 0);
    if (end != std::string_view::npos) return on_header(end + 4);
    if (buffer_.size() >= ctx_.cfg.http_header_limit)
        return on_read_error(http::error::header_limit);
    scanned_ = buffer_.size();
    auto const room =
        std::clamp<std::size_t>(ctx_.cfg.http_header_limit - buffer_.size(), 512, 65536);
    stream_.async_read_some(buffer_.prepare(room),
                            [self = this->shared_from_this()](error_code ec, std::size_t n) {
                                self->on_read_header(ec, n);
                            });
}

template <class Stream>
void basic_http_session<Stream>::on_read_header(error_code ec, std::size_t n) {
    buffer_.commit(n);
    // As http::read says it: a clean end between requests, or one in the middle of a request.
    if (ec == net::error::eof)
        ec = buffer_.size() == 0 ? error_code(http::error::end_of_stream)
                                 : error_code(http::error::partial_message);
    if (ec) return on_read_error(ec);
    do_read_header();
}

template <class Stream>
void basic_http_session<Stream>::on_header(std::size_t bytes) {
    std::string_view const head(static_cast<char const*>(buffer_.data().data()), bytes);
    if (has_obs_fold(head)) {
        note_refusal(ctx_.counters.http_bad_requests, "bad request", "obs-fold (a folded header)");
        return send(refusal(http::status::bad_request, "header fields may not be folded"));
    }
    // Only the header's bytes: the parser must not run on into a body or the next request.
    error_code ec;
    auto const used = parser_->put(net::buffer(buffer_.data().data(), bytes), ec);
    buffer_.consume(used);
    if (!ec && !parser_->is_header_done()) ec = http::error::partial_message;
    if (ec) return on_read_error(ec);
    // The parser stopped after the header: anything it still expects is a body, never read.
    bool const has_body = !parser_->is_done();
    handle(parser_->release(), has_body);
}

template <class Stream>
void basic_http_session<Stream>::on_read_error(error_code ec) {
    if (ec == http::error::end_of_stream) {
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_send, ignored);
        return;
    }
    http::status status = http::status::bad_request;
    if (ec == http::error::header_limit)
        status = http::status::request_header_fields_too_large;
    else if (ec == http::error::body_limit)
        status = http::status::payload_too_large;
    else if (ec == beast::error::timeout || ec == net::error::operation_aborted ||
             ec == net::error::connection_reset || ec == net::error::eof ||
             ec == http::error::partial_message || ec == net::ssl::error::stream_truncated ||
             ec.category() == net::error::get_ssl_category())
        return fail(ec, "read");
    note_refusal(ctx_.counters.http_bad_requests, "bad request", ec.message());
    send(refusal(status, http::obsolete_reason(status)));
}

template <class Stream>
void basic_http_session<Stream>::handle(request&& req, bool has_body) {
    ctx_.counters.http_requests.fetch_add(1, std::memory_order_relaxed);
    if (auto const why = framing_error(req)) {
        note_refusal(ctx_.counters.http_bad_requests, "bad request", why);
        return send(refusal(http::status::bad_request, why));
    }
    // Only names this server answers to: against DNS rebinding, where a foreign page whose
    // name now resolves here passes the Origin check (it is same-origin with itself) but
    // still names its own host.
    auto const host = req[http::field::host];
    switch (ctx_.policy.hosts.check(
        host, [this](net::ip::address const& a) { return ctx_.interfaces.contains(a); })) {
        case host_policy::verdict::allowed:
            break;
        case host_policy::verdict::malformed:
            note_refusal(ctx_.counters.http_bad_requests, "bad request",
                         "bad Host " + printable(host));
            return send(refusal(http::status::bad_request, "bad Host"));
        case host_policy::verdict::unknown:
            note_refusal(ctx_.counters.hosts_refused, "Host refused",
                         "Host " + printable(host) +
                             " is not a name this server answers to (see --allowed-hosts)");
            return send(refusal(http::status::misdirected_request,
                                "this server does not answer to that host name"));
    }
    if (has_body) {
        // No route takes a body, and it is not read: the connection closes after the answer.
        if (req.method() != http::verb::get && req.method() != http::verb::head) {
            auto res = refusal(http::status::method_not_allowed, "method not allowed");
            res.set(http::field::allow, "GET, HEAD");
            return send(std::move(res));
        }
        note_refusal(ctx_.counters.http_bad_requests, "bad request", "a request body");
        return send(refusal(http::status::bad_request, "no request body is accepted"));
    }
    std::string_view const target = req.target();
    std::string_view const path = target.substr(0, target.find('?'));
    bool const is_upgrade = ws::has_token(req[http::field::connection], "upgrade") &&
                            ws::has_token(req[http::field::upgrade], "websocket");

    auto simple = [&](http::status s, std::string body,
                      char const* type = "text/plain; charset=utf-8") {
        http::response<http::string_body> res{s, req.version()};
        res.set(http::field::content_type, type);
        res.keep_alive(req.keep_alive());
        if (req.method() != http::verb::head) res.body() = std::move(body);
        res.prepare_payload();
        if (req.method() == http::verb::head && s == http::status::ok)
            res.content_length(body.size());
        return res;
    };

    if (path == "/ws") {
        if (is_upgrade) return upgrade(std::move(req));
        auto res = simple(http::status::upgrade_required, "this endpoint speaks WebSocket\n");
        res.set(http::field::upgrade, "websocket");
        return send(std::move(res));
    }
    if (is_upgrade) {
        // A client that asked to switch protocols gets no keep-alive on a refusal.
        auto res = simple(http::status::not_found, "no WebSocket here; use /ws\n");
        res.keep_alive(false);
        return send(std::move(res));
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
        auto res = simple(http::status::method_not_allowed, "method not allowed\n");
        res.set(http::field::allow, "GET, HEAD");
        return send(std::move(res));
    }
    if (path == "/healthz") {
        auto const up = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now() - ctx_.started)
                            .count();
        std::string body =
            "{\"status\":\"" + std::string(ctx_.tracker.stopping() ? "stopping" : "ok") +
            "\",\"version\":\"" + version + "\",\"uptime_seconds\":" + std::to_string(up) +
            ",\"connections\":" + std::to_string(ctx_.limiter.total()) +
            ",\"rooms\":" + std::to_string(ctx_.rooms.room_count()) + "}\n";
        auto res = simple(http::status::ok, std::move(body), "application/json");
        res.set(http::field::cache_control, "no-store");
        return send(std::move(res));
    }
    if (path == "/readyz") {
        // Ready while accepting; 503 once shutdown began, so a load balancer drains us.
        bool const ready = !ctx_.tracker.stopping();
        auto res = simple(ready ? http::status::ok : http::status::service_unavailable,
                          ready ? "ready\n" : "shutting down\n");
        res.set(http::field::cache_control, "no-store");
        return send(std::move(res));
    }
    if (path == "/metrics") {
        if (auto const client = known_client(req);
            !client || !ctx_.policy.metrics_from.contains(*client)) {
            note_refusal(ctx_.counters.metrics_refused, "/metrics refused",
                         (client ? client->to_string() : "a client behind an untrusted proxy") +
                             " is not in --metrics-from");
            auto res =
                simple(http::status::forbidden, "/metrics is served to --metrics-from only\n");
            res.set(http::field::cache_control, "no-store");
            return send(std::move(res));
        }
        gauges g;
        g.connections = ctx_.limiter.total();
        g.rooms = ctx_.rooms.room_count();
        g.rooms_dormant = ctx_.rooms.dormant_count();
        g.members = ctx_.rooms.member_count();
        g.seats_held_now = ctx_.rooms.held_count();
        g.uptime_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx_.started).count();
        g.ready = !ctx_.tracker.stopping();
        auto res = simple(http::status::ok, prometheus_text(ctx_.counters, g, version),
                          "text/plain; version=0.0.4; charset=utf-8");
        res.set(http::field::cache_control, "no-store");
        return send(std::move(res));
    }
    if (path == "/qr.svg") {
        // The room link as a QR code, drawn here so the page needs no QR script.
        auto text = query_param(target, "text");
        auto svg = text ? pairing::qr_svg(*text) : std::nullopt;
        if (!svg)
            return send(simple(http::status::bad_request, "qr.svg needs ?text= of 1 to " +
                                                              std::to_string(pairing::max_qr_text) +
                                                              " bytes\n"));
        auto res = simple(http::status::ok, std::move(*svg), "image/svg+xml");
        // It carries the room link, the one secret of a room: kept in no cache.
        res.set(http::field::cache_control, "no-store");
        return send(std::move(res));
    }
    if (path == "/api/origins") {
        // Where a phone can reach us: the configured public URL, and the LAN origins this
        // server listens on (the page offers these when it was opened as localhost); https when
        // TLS is on, on whichever scheme this request came: a phone needs the secure origin for
        // its camera. None when it listens on loopback only: `lan_unreachable` says why, so the
        // page can say how to fix it instead of showing a link where nothing listens.
        // With a public URL the interface addresses go only to callers on this machine or its
        // networks, who could find them anyway: a proxy or CDN in front may be there to hide them.
        bool lan = ctx_.cfg.public_url.empty();
        if (!lan)
            if (auto const client = known_client(req)) lan = is_local_network(*client);
        auto const found =
            pairing::reachable_origins(ctx_.cfg.host, pairing::system_interfaces(),
                                       ctx_.port.load(), ctx_.tls ? "https" : "http");
        nlohmann::json body = {
            {"public_url", ctx_.cfg.public_url.empty() ? nlohmann::json(nullptr)
                                                       : nlohmann::json(ctx_.cfg.public_url)},
            {"lan", lan ? found.origins : std::vector<std::string>{}},
            {"lan_unreachable",
             lan && !found.why.empty() ? nlohmann::json(found.why) : nlohmann::json(nullptr)},
        };
        auto res = simple(http::status::ok, body.dump() + "\n", "application/json");
        res.set(http::field::cache_control, "no-store");
        return send(std::move(res));
    }
    if (path == "/api/room") {
        // A fresh room whose name its host token derives (room = host_room_name(T)): the page
        // that keeps T is the room's host for good, even after a restart of this server, and
        // takes the room back from whoever joined it first. Nothing is kept here.
        std::string token;
        try {
            token = detail::new_token();
        } catch (std::exception const&) {
            return send(simple(http::status::service_unavailable, "no randomness\n"));
        }
        nlohmann::json body = {{"room", rooms::room_registry::host_room_name(token)},
                               {"host_token", token}};
        auto res = simple(http::status::ok, body.dump() + "\n", "application/json");
        res.set(http::field::cache_control, "no-store");
        return send(std::move(res));
    }
    if (auto const* f = ctx_.files.find(target)) return send_file(req, *f);
    send(simple(http::status::not_found, "not found\n"));
}

template <class Stream>
void basic_http_session<Stream>::upgrade(request&& req) {
    auto reject = [&](http::status s, char const* why, std::atomic<std::uint64_t>& counted,
                      std::string const& detail = {}) {
        note_refusal(counted, "WebSocket upgrade refused", detail.empty() ? why : detail);
        auto res = refusal(s, why);
        res.set(http::field::sec_websocket_version, "13");
        send(std::move(res));
    };
    auto& refused = ctx_.counters.upgrades_refused;
    if (req.method() != http::verb::get || req.version() < 11)
        return reject(http::status::bad_request, "upgrade needs GET over HTTP/1.1", refused);
    if (req[http::field::sec_websocket_version] != "13")
        return reject(http::status::upgrade_required, "Sec-WebSocket-Version must be 13", refused);
    auto const key = req[http::field::sec_websocket_key];
    if (!ws::valid_client_key(key))
        return reject(http::status::bad_request, "bad Sec-WebSocket-Key", refused);
    if (ctx_.tracker.stopping())
        return reject(http::status::service_unavailable, "server shutting down", refused);
    // A page from another site must not open a socket here with the user's browser
    // (cross-site WebSocket hijacking); clients that are not browsers send no Origin.
    if (auto const origin = req[http::field::origin];
        !origin.empty() && !ctx_.policy.origins.allows(origin, req[http::field::host]))
        return reject(http::status::forbidden, "origin not allowed",
                      ctx_.counters.upgrades_refused_origin,
                      "origin " + printable(origin) + " not allowed (see --allowed-origins)");
    std::string remote = remote_;
    error_code ec;
    auto const peer = socket().remote_endpoint(ec);
    if (!ec && ctx_.policy.proxies.trusts(peer.address())) {
        // Behind a trusted proxy the client is named by X-Forwarded-For (every such header, in
        // order); per-address limits apply to it from here on.
        auto const client =
            address_key(ctx_.policy.proxies.client(peer.address(), forwarded_for(req)));
        conn_limiter::refusal why{};
        if (!ctx_.limiter.rebind(ticket_, client, why))
            return reject(http::status::too_many_requests, "too many connections from your address",
                          ctx_.counters.connections_rejected,
                          "client " + client + " is at max-connections-per-ip");
        remote = client + " via " + remote_;
    }

    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        ws::accept_key(key) + "\r\nServer: roomcast/" + version + "\r\n\r\n";
    auto const data = buffer_.data();
    std::string leftover(static_cast<char const*>(data.data()), data.size());

    // The HTTP read timer must not follow the socket into its WebSocket life.
    beast::get_lowest_layer(stream_).expires_never();
    if constexpr (is_tls) {
        auto ws =
            std::make_shared<tls_ws_session>(std::move(stream_), ctx_, std::move(ticket_), remote);
        ws->run(std::move(response), std::move(leftover));
    } else {
        auto ws = std::make_shared<ws_session>(stream_.release_socket(), ctx_, std::move(ticket_),
                                               remote);
        ws->run(std::move(response), std::move(leftover));
    }
}

template <class Stream>
void basic_http_session<Stream>::note_refusal(std::atomic<std::uint64_t>& counted, char const* kind,
                                              std::string_view detail) {
    // Counted always; logged the first time and then every refusal_log_every-th of its kind.
    // `detail` carries client strings only through printable().
    if (auto const s = count_sampled(counted); s.log)
        spdlog::info("http {}: {}: {} ({} so far)", remote_, kind, detail, s.count);
}

template <class Stream>
std::optional<net::ip::address> basic_http_session<Stream>::known_client(request const& req) {
    // Who is asking, for what a caller may see: the TCP peer, or behind a trusted proxy the
    // client its X-Forwarded-For names. Unknown for a forwarded request from a peer that is no
    // trusted proxy: a proxy we were not told about makes every client look like itself.
    error_code ec;
    auto const peer = socket().remote_endpoint(ec);
    if (ec) return std::nullopt;
    if (ctx_.policy.proxies.trusts(peer.address()))
        return ctx_.policy.proxies.client(peer.address(), forwarded_for(req));
    if (req.count("X-Forwarded-For") > 0 || req.count(http::field::forwarded) > 0)
        return std::nullopt;
    return unmapped(peer.address());
}

template <class Stream>
void basic_http_session<Stream>::send(http::response<http::string_body>&& res) {
    common_headers(res.base());
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    response_ = sp;
    bool const keep = sp->keep_alive() && !stopping_;
    http::async_write(stream_, *sp,
                      [self = this->shared_from_this(), keep](error_code ec, std::size_t n) {
                          self->on_write(keep, ec, n);
                      });
}

template <class Stream>
void basic_http_session<Stream>::send_file(request const& req, static_files::file const& f) {
    // The body is the shared, immutable copy loaded at start: nothing is read from disk here.
    struct file_response {
        std::shared_ptr<std::string const> hold;
        http::response<http::span_body<char const>> res;
    };
    auto sp = std::make_shared<file_response>();
    sp->hold = f.body;
    auto& res = sp->res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    common_headers(res.base());
    res.set(http::field::etag, f.etag);
    res.set(http::field::cache_control, "no-cache");
    if (req[http::field::if_none_match] == f.etag) {
        res.result(http::status::not_modified);
    } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, f.content_type);
        if (f.content_type.rfind("text/html", 0) == 0)
            res.set("Content-Security-Policy",
                    "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
                    "connect-src 'self' data:; object-src 'none'; base-uri 'none'; "
                    "frame-ancestors 'none'");
        if (req.method() == http::verb::head)
            res.content_length(f.body->size());
        else {
            res.body() = http::span_body<char const>::value_type(f.body->data(), f.body->size());
            res.prepare_payload();
        }
    }
    response_ = sp;
    bool const keep = res.keep_alive() && !stopping_;
    http::async_write(stream_, res,
                      [self = this->shared_from_this(), keep](error_code ec, std::size_t n) {
                          self->on_write(keep, ec, n);
                      });
}

template <class Stream>
void basic_http_session<Stream>::on_write(bool keep_alive, error_code ec, std::size_t) {
    response_.reset();
    if (ec) return fail(ec, "write");
    if (!keep_alive) {
        if constexpr (is_tls) {
            // close_notify, then wait (bounded) for the client's: best effort, never blocking.
            beast::get_lowest_layer(stream_).expires_after(ctx_.cfg.close_timeout);
            stream_.async_shutdown([self = this->shared_from_this()](error_code) {
                beast::get_lowest_layer(self->stream_).close();
            });
        } else {
            error_code ignored;
            socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
        return;
    }
    do_read();
}

template <class Stream>
void basic_http_session<Stream>::fail(error_code ec, char const* what) {
    if (ec == net::error::operation_aborted || ec == beast::error::timeout ||
        ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::ssl::error::stream_truncated || stopping_)
        spdlog::debug("http {}: {}: {}", remote_, what, ec.message());
    else
        spdlog::info("http {}: {}: {}", remote_, what, ec.message());
}

template class basic_http_session<beast::tcp_stream>;
template class basic_http_session<tls_stream>;

}  // namespace roomcast::transport
