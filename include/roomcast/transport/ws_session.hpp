#pragma once

#include <roomcast/net.hpp>
#include <roomcast/protocol/codec.hpp>
#include <roomcast/rooms/away_seat.hpp>
#include <roomcast/rooms/peer.hpp>
#include <roomcast/transport/context.hpp>
#include <roomcast/transport/rate_limit.hpp>
#include <roomcast/transport/send_queue.hpp>
#include <roomcast/transport/tls.hpp>
#include <roomcast/ws/frame_reader.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace roomcast::transport {

/**
 * One WebSocket connection after the upgrade: the read loop (bytes → frame_reader →
 * protocol → room registry) and the write loop (send_queue → one gathered write).
 *
 * Threading: everything runs on the socket's strand except deliver(), congested(),
 * notify_when_drained() and resume(), which any thread may call; deliver() takes the queue's
 * mutex and posts to the strand only when the queue goes from idle to busy.
 *
 * Framing is ours (ws/frame*.hpp) rather than Beast's websocket::stream so that every frame
 * queued for a socket goes out in one writev and a relayed payload is never copied per peer.
 *
 * `Stream` is the byte I/O, chosen at the upgrade; the state machine (closing, heartbeat,
 * write watchdog, backpressure pause, rate-limit throttle, seats) is the same for both:
 * - tcp::socket (plain, the benchmarked path): a 1-byte MSG_PEEK readiness wait, then
 *   non-blocking read_some into the thread's shared buffer; one gathered write per batch.
 * - tls_stream: async_read_some into a buffer of the session's own (a sync read must never
 *   run while an async write is in flight on an ssl stream: they share OpenSSL's buffers), and
 *   the same gathered async_write_some, which Beast's ssl_stream coalesces (see tls.hpp).
 */
template <class Stream>
class basic_ws_session final : public rooms::peer,
                               public stoppable,
                               public std::enable_shared_from_this<basic_ws_session<Stream>> {
  public:
    static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

    basic_ws_session(Stream&& stream, context& ctx, conn_ticket ticket, std::string remote);
    ~basic_ws_session() override;

    /** Writes the 101 response (already built) and starts the loops. `leftover` are bytes
     * the HTTP parser read past the request. */
    void run(std::string handshake_response, std::string leftover);

    // rooms::peer
    std::uint64_t id() const noexcept override { return id_; }
    void deliver(protocol::frame_ptr const& f) override;
    bool congested() const noexcept override;
    bool notify_when_drained(std::weak_ptr<rooms::peer> waiter) override;
    void resume() override;

    // stoppable
    void stop() override;

  private:
    class reader_events;
    friend class reader_events;
    enum class state { open, closing, closed };

    // read side
    void do_read();   // wait for readability (after EAGAIN was seen); TLS: start a read
    void read_now();  // try to read at once (where EAGAIN was not seen); TLS: do_read()
    void on_readable(error_code ec);
    void on_tls_read(error_code ec, std::size_t n);
    void process(ws::frame_reader::status st);
    bool on_message(std::string&& payload, bool text);
    void on_join(protocol::join_msg&& j);
    void on_leave();
    void relay(std::string&& payload, bool text);
    void reply(protocol::frame_ptr const& f);
    /** Counts the error (in all and by code) and sends it to this client. */
    void reply_error(protocol::errc code, std::uint64_t retry_after_ms = 0);
    /** Accounts a read of n bytes that gave `st`; false when reading must stop here (an
     * error or close, a pause, or the rate limit: each path resumes reading itself). */
    bool after_read(std::size_t n, ws::frame_reader::status st);
    /** Over max-messages- or max-bytes-per-second: pause reading until the budget refills. */
    bool throttle_if_over(std::chrono::steady_clock::time_point now);
    void leave_room(bool announce);
    /** The connection is gone but may come back: hold the seat, announce peer-away. */
    void park_seat();
    bool resume_seat(protocol::join_msg const& j);

    // write side
    void do_write();
    void on_write(error_code ec, std::size_t n);
    void enqueue_control(ws::opcode op, std::string payload);
    void wake_waiters();

    // timers and closing
    void arm_heartbeat();
    void on_heartbeat(error_code ec);
    void arm_write_watchdog();
    void on_write_watchdog(error_code ec);
    /** Sends a close frame (after the queue when `flush`, else dropping it), then waits. */
    void close_with(std::uint16_t code, std::string_view reason, bool flush,
                    bool keep_seat = false);
    void on_peer_close(std::uint16_t code);
    /** Closes the socket now; `why` is logged at debug when set. */
    void finish_close(char const* why);
    void fail(error_code ec, char const* what);
    tcp::socket& raw_socket() noexcept;

    Stream socket_;
    context& ctx_;
    conn_ticket ticket_;
    std::string remote_;
    std::uint64_t id_;  // changes only when a resumed join takes an older seat's id
    std::string resume_token_;
    bool keep_seat_ = true;  // on an unclean end, hold the seat (false after leave/1000/policy)
    std::uint64_t tracker_key_ = 0;

    ws::frame_reader reader_;
    rooms::room_handle room_;
    state state_ = state::open;
    bool reading_ = false;
    char peek_byte_ = 0;               // target of the MSG_PEEK readiness probe (never consumed)
    std::unique_ptr<char[]> tls_buf_;  // TLS: what one async read decrypts into
    bool tls_direct_ = false;          // TLS: the read in flight targets the message itself
    bool paused_ = false;              // waiting for a congested recipient to drain
    bool throttled_ = false;           // over its rate limit, waiting for wait_timer_
    bool throttle_logged_ = false;
    token_bucket message_budget_;
    token_bucket byte_budget_;
    bool peer_closed_ = false;  // the client's close frame arrived
    bool close_sent_ = false;

    // Outgoing: guarded by out_mutex_ (deliver() runs on other strands).
    mutable std::mutex out_mutex_;
    send_queue queue_;
    bool write_scheduled_ = false;  // a do_write is posted or a write is in flight
    bool accepting_ = true;         // false once closing: later frames are dropped and counted
    std::atomic<std::size_t> dropped_{0};  // frames refused once closing (for the log)
    std::vector<std::weak_ptr<rooms::peer>> waiters_;
    std::shared_ptr<rooms::away_seat> parked_;  // once parked, late deliveries go here
    std::atomic<bool> congested_{false};

    // Strand-only write state.
    std::vector<net::const_buffer> wbufs_;
    std::vector<std::chrono::steady_clock::time_point> batch_born_;  // relayed frames in flight
    std::chrono::steady_clock::time_point last_progress_{};
    bool writing_ = false;
    bool watchdog_armed_ = false;
    bool close_in_batch_ = false;
    protocol::frame_ptr close_frame_;
    protocol::frame_ptr pong_frame_;  // the one pong allowed in the queue
    bool pong_in_batch_ = false;

    std::chrono::steady_clock::time_point last_heard_{};
    std::chrono::steady_clock::time_point ping_sent_{};
    bool ping_outstanding_ = false;
    net::steady_timer heartbeat_timer_;
    net::steady_timer write_timer_;
    // One timer for two waits that never overlap: while open, the end of a rate-limit pause;
    // once closing, the close handshake deadline (throttling stops when closing begins).
    net::steady_timer wait_timer_;
};

/** A WebSocket over plain TCP. */
using ws_session = basic_ws_session<tcp::socket>;
/** A WebSocket over TLS (wss://). */
using tls_ws_session = basic_ws_session<tls_stream>;

extern template class basic_ws_session<tcp::socket>;
extern template class basic_ws_session<tls_stream>;

}  // namespace roomcast::transport
