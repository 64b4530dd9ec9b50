#pragma once

#include <roomcast/memory_budget.hpp>
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
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace roomcast::transport {

/**
 * One WebSocket connection after the upgrade: the read loop (bytes → frame_reader →
 * protocol → room registry) and the write loop (send_queue → one gathered write).
 *
 * The member functions are defined in five files, one per concern:
 * - ws_session.cpp: lifetime, heartbeat, closing;
 * - ws_session_read.cpp: the read loop, rate budgets, the memory of messages being received;
 * - ws_session_room.cpp: what a message means (join, leave, relay) and seats;
 * - ws_session_access.cpp: private rooms: the host's requests, the lobby;
 * - ws_session_write.cpp: deliver() from other threads, the write loop, slow recipients.
 *
 * Threading: everything runs on the socket's strand except deliver(), congested(),
 * notify_when_drained(), resume() and yield_seat(), which any thread may call; deliver() takes the
 * queue's mutex and posts to the strand only when the queue goes from idle to busy. No session code
 * runs under a registry lock, and the registry is never called under out_mutex_ except in
 * park_seat(), where the hand-over to the (new, unshared) seat and the registry's park are one
 * step, so that a newer connection never finds the seat neither ours nor claimable. (The lock
 * order is always out_mutex_ → registry: the registry never calls a session under its locks.)
 *
 * Ownership of what is written: every buffer handed to the kernel belongs to a frame in
 * batch_, which only on_write() empties, once the write has completed or failed. Parking the
 * seat, or yielding it to a newer connection, copies the frames in flight (it never moves
 * them); closing drops only what is pending. So a write half done when the close arrives keeps
 * reading live memory, whatever happens to the seat, the room or a resumed connection
 * meanwhile. batch_ and batch_written_ change only under out_mutex_, so that yield_seat() on
 * another strand can copy what is in flight.
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
    bool yield_seat(
        std::uint64_t id,
        std::function<bool(std::shared_ptr<rooms::away_seat> const&)> const& commit) override;
    void access_event(rooms::access_change what, rooms::room_handle const& r) override;

    // stoppable
    void stop() override;

  private:
    class reader_events;
    friend class reader_events;
    enum class state { open, closing, closed };
    using clock = std::chrono::steady_clock;

    // read side (ws_session_read.cpp)
    /** Feeds what the HTTP parser read past the upgrade, then reads the socket. */
    void start_reading(std::string const& leftover);
    void do_read();   // wait for readability (after EAGAIN was seen); TLS: start a read
    void read_now();  // try to read at once (where EAGAIN was not seen); TLS: do_read()
    void on_readable(error_code ec);
    void on_tls_read(error_code ec, std::size_t n);
    void process(ws::frame_reader::status st);
    /** Accounts a read of n bytes that gave `st`; false when reading must stop here (an
     * error or close, a pause, or the rate limit: each path resumes reading itself). */
    bool after_read(std::size_t n, ws::frame_reader::status st);
    /** Over max-messages- or max-bytes-per-second: pause reading until the budget refills. */
    bool throttle_if_over(clock::time_point now);
    /**
     * Charges (or gives back) the memory of the message being received so that the charge is
     * `total` bytes: against max-message-bytes-per-ip and the process budget. False, with
     * nothing charged, when either would pass its cap (the counter of that cap is counted).
     */
    bool charge_partial(std::size_t total);
    /** A message that could not get memory: counted by the cap that refused, closed 1013. */
    void process_refused_memory();
    /** The message size limit: small before a join (only a join is useful then). */
    void update_message_limit();

    // what a message means (ws_session_room.cpp)
    bool on_message(std::string&& payload, bool text);
    bool on_chunked_message(std::vector<protocol::payload_chunk>&& chunks);
    void on_join(protocol::join_msg&& j);
    void on_leave();
    void relay(protocol::frame_ptr frame);
    void reply(protocol::frame_ptr const& f);
    /** Counts the error (in all and by code) and sends it to this client. */
    void reply_error(protocol::errc code, std::uint64_t retry_after_ms = 0);
    /** The memory charge for a relayed payload of `capacity` bytes (taking over what the
     * message was charged while it arrived). */
    memory_charge frame_charge(std::size_t capacity);
    /** Leaves the room (and any lobby). `forget`: a deliberate leave, which gives up this
     * member's admission to a locked room too. */
    void leave_room(bool announce, bool forget = false);
    /** The connection is gone but may come back: hold the seat, announce peer-away (or,
     * over a seat cap, leave and announce peer-left). */
    void park_seat();
    bool resume_seat(protocol::join_msg const& j);
    /** Under out_mutex_: stops accepting, and takes the data frames not yet written (those in
     * flight: copied, pending: moved), oldest first. */
    std::vector<protocol::frame_ptr> take_unwritten_locked();
    /** On our strand after yield_seat(): leave whatever room we are still in (the yielded
     * seat is the newer connection's: the registry's holder check keeps us off it), close
     * with 4001. */
    void on_replaced();
    /** True once a newer connection took our seat: nothing we read is acted on any more. */
    bool replaced() const noexcept { return yielded_.load(std::memory_order_acquire); }
    /** replaced(), counting the message it makes us ignore. */
    bool ignored_as_replaced();
    void announce_evicted(rooms::room_handle const& r, rooms::evicted_seat const& e);

    // private rooms: host, lock, lobby (ws_session_access.cpp)
    /** The `joined` reply, with the access part from `a` (see rooms::join_result). */
    protocol::frame_ptr joined_frame(std::string_view room, std::span<std::uint64_t const> peers,
                                     std::span<std::uint64_t const> away, std::string_view resume,
                                     bool resumed, rooms::join_result const& a) const;
    /** After entering: tell the others the host is here when this member is it, and count a
     * host role taken with a token (`proved`). */
    void announce_host(rooms::join_result const& a, bool proved);
    /** The join put us in a locked room's lobby: say so, knock at the host. */
    void wait_in_lobby(std::string_view room, std::string_view name, rooms::join_result&& j);
    /** Stops waiting in a lobby (the host is told the knock was withdrawn). */
    void leave_lobby();
    /** lock, unlock, admit, deny, remove: the host's requests. */
    void on_access(protocol::access_msg const& m);
    /** On our strand: what access_event() said. */
    void on_access_change(rooms::access_change what, rooms::room_handle const& r);
    /** The host removed us from room_ (the registry already did): say so (and that it started a
     * new room, when it said so), close with 4004. */
    void end_as_removed(bool room_ended = false);
    /** Admitted: enter the room we waited for. */
    void enter_admitted(rooms::room_handle const& r);

    // write side (ws_session_write.cpp)
    void do_write();
    void on_write(error_code ec, std::size_t n);
    void enqueue_control(ws::opcode op, std::string payload);
    /** Answers a ping: the one pong still waiting takes the latest payload, else a new one. */
    void queue_pong(std::string_view payload);
    void wake_waiters();
    void arm_write_watchdog();
    void on_write_watchdog(error_code ec);

    // lifetime, timers and closing (ws_session.cpp)
    void arm_heartbeat();
    void on_heartbeat(error_code ec);
    /** message-min-rate: false (and the connection closing) when a message is too slow. */
    bool check_message_rate(clock::time_point now);
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
    std::shared_ptr<address_usage> usage_;  // what this client address holds
    std::uint64_t id_;  // changes only when a resumed join takes an older seat's id
    std::string resume_token_;
    bool keep_seat_ = true;  // on an unclean end, hold the seat (false after leave/1000/policy)
    std::uint64_t tracker_key_ = 0;

    ws::frame_reader reader_;
    std::size_t partial_charged_ = 0;  // bytes of reader_'s buffers charged to the budgets
    bool refused_by_address_ = false;  // which cap refused the last charge
    rooms::room_handle room_;
    rooms::room_handle lobby_;  // a locked room we wait to be let into (room_ is empty then)
    state state_ = state::open;
    bool reading_ = false;
    char peek_byte_ = 0;               // target of the MSG_PEEK readiness probe (never consumed)
    std::unique_ptr<char[]> tls_buf_;  // TLS: what one async read decrypts into
    bool tls_direct_ = false;          // TLS: the read in flight targets the message itself (so the
                                       // reader's buffers must not change until it completes)
    bool paused_ = false;              // waiting for a congested recipient to drain
    bool throttled_ = false;           // over its rate limit, waiting for wait_timer_
    bool throttle_logged_ = false;
    token_bucket message_budget_;
    token_bucket byte_budget_;
    bool peer_closed_ = false;  // the client's close frame arrived
    bool close_sent_ = false;

    // message-min-rate, sampled at each heartbeat tick (strand-only).
    std::uint64_t bytes_read_ = 0;       // all bytes read from this client
    std::uint64_t tick_bytes_read_ = 0;  // bytes_read_ at the last tick
    clock::time_point tick_at_{};        // when the last tick was
    bool tick_in_message_ = false;       // a message was under way at the last tick
    bool window_stalled_by_us_ = false;  // we stopped reading since the last tick

    // Outgoing: guarded by out_mutex_ (deliver() runs on other strands).
    mutable std::mutex out_mutex_;
    send_queue queue_;
    bool write_scheduled_ = false;  // a do_write is posted or a write is in flight
    bool accepting_ = true;         // false once closing: later frames are dropped and counted
    std::atomic<std::size_t> dropped_{0};  // frames refused once closing (for the log)
    std::vector<std::weak_ptr<rooms::peer>> waiters_;
    clock::time_point waited_since_{};          // waiters_ became non-empty (senders paused on us)
    clock::duration waited_{};                  // time senders waited on us in this drain window
    std::shared_ptr<rooms::away_seat> parked_;  // once parked, late deliveries go here
    // The seat went to a newer connection (yield_seat): set under out_mutex_, read anywhere.
    std::atomic<bool> yielded_{false};
    bool taking_over_ = false;  // under out_mutex_: resume_seat is taking a live seat over
    std::atomic<bool> congested_{false};
    std::shared_ptr<protocol::out_frame> pong_waiting_;  // the one pong queued, not yet written

    // The write in flight: changed on the strand, under out_mutex_ (see above).
    std::vector<protocol::frame_ptr> batch_;  // the frames of the write in flight
    std::size_t batch_written_ = 0;           // bytes of batch_ the kernel has taken

    // Strand-only write state.
    std::vector<net::const_buffer> wbufs_;       // what is left to write of batch_
    std::vector<clock::time_point> batch_born_;  // relayed frames in flight
    clock::time_point last_progress_{};
    clock::time_point drain_window_at_{};  // start of the send-min-rate window
    std::size_t drained_ = 0;              // bytes written in that window
    bool writing_ = false;
    bool watchdog_armed_ = false;
    bool close_in_batch_ = false;
    protocol::frame_ptr close_frame_;

    clock::time_point last_heard_{};
    clock::time_point ping_sent_{};
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
