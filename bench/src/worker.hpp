// One generator thread: an edge-triggered epoll loop that owns a slice of the rooms and every
// connection in them, so all bookkeeping (who is waiting for which message) stays thread-local.
// The main thread steers the run through `run_control` and reads `worker_stats` after join().
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config.hpp"
#include "out_queue.hpp"
#include "stamp.hpp"
#include "wire.hpp"

namespace rcb {

enum class phase : int { setup, run, pause, stop, quit };

/// Written by the main thread, read by the workers.
struct run_control {
    std::atomic<phase> ph{phase::setup};
    std::atomic<std::uint64_t> send_from{0};  ///< open loop: schedule origin
    std::atomic<std::uint64_t> win_start{std::numeric_limits<std::uint64_t>::max()};
    std::atomic<std::uint64_t> win_end{std::numeric_limits<std::uint64_t>::max()};
    std::uint32_t run_id = 0;
};

/// The slice of the run one worker owns.
struct layout {
    unsigned index = 0;
    std::uint32_t first_room = 0;
    std::uint32_t rooms = 0;
    std::uint32_t first_id = 0;  ///< global id of the first connection (room * room_size)
    std::uint64_t max_messages = 0;
    double rate = 0;          ///< open loop: this worker's share, messages/s
    double phase_offset = 0;  ///< open loop: fraction of an interval to stagger workers
};

struct worker_stats {
    std::uint64_t sent = 0;
    std::uint64_t expected = 0;  ///< deliveries owed: sent x recipients
    std::uint64_t received = 0;  ///< unique, correctly routed deliveries
    std::uint64_t duplicated = 0;
    std::uint64_t misrouted = 0;  ///< wrong room, echoed to the sender, or a stray run
    std::uint64_t corrupt = 0;    ///< bad stamp or wrong length
    std::uint64_t unexpected = 0;
    std::uint64_t win_sent = 0;
    std::uint64_t win_deliveries = 0;
    std::uint64_t win_bytes = 0;
    std::uint64_t server_errors = 0;
    std::uint64_t unexpected_closes = 0;
    std::uint64_t cycles = 0;
    std::uint64_t win_cycles = 0;
    std::uint64_t win_started = 0;  ///< churn: cycles started in the window
    std::uint64_t cycle_failures = 0;
    std::uint64_t latency_dropped = 0;
    std::uint64_t connects = 0;      ///< TCP connections opened (anchors and every churn cycle)
    std::uint64_t peak_open = 0;     ///< most sockets this worker had open at once
    std::uint64_t abrupt_fin = 0;    ///< churn cycles that ended with shutdown + close
    std::uint64_t abrupt_rst = 0;    ///< ... with a reset (SO_LINGER 0)
    std::uint64_t abrupt_mid = 0;    ///< of those, dropped halfway through sending the message
    std::uint64_t resume_tried = 0;  ///< rejoins that presented a resume token
    std::uint64_t resumed = 0;       ///< ... and got their seat back ("resumed":true)
    std::vector<std::uint64_t> latency_ns;
    std::string first_problem;
};

class worker {
  public:
    worker(config const& cfg, run_control& ctl, layout lay);
    ~worker();
    worker(worker const&) = delete;
    worker& operator=(worker const&) = delete;

    void run();  ///< the thread body
    worker_stats const& stats() const { return stats_; }
    std::uint32_t connection_count() const { return static_cast<std::uint32_t>(conns_.size()); }

    std::atomic<bool> ready{false};
    std::atomic<bool> drained{false};
    std::atomic<bool> failed{false};
    std::atomic<std::uint32_t> active{0};      ///< churn cycles in progress
    std::atomic<std::uint32_t> open_conns{0};  ///< sockets open right now
    std::string error;                         ///< why `failed` (written before it is set)

  private:
    enum class conn_state : std::uint8_t { idle, connecting, upgrading, open, closed };
    enum class stage : std::uint8_t {
        none,
        sio_open,
        sio_connect,
        joining,
        joined,
        sent,
        dwelling,  ///< churn with --cycle-rate: connected, waiting until the next cycle is due
        dropping,  ///< churn: half a message queued; the socket is dropped once it is written
        leaving,
        closing
    };

    /// How a churn cycle ends.
    enum class cycle_exit : std::uint8_t { clean, fin, rst };

    struct conn {
        int fd = -1;
        std::uint32_t gen = 0;
        std::uint32_t local = 0;
        std::uint32_t room = 0;  ///< local room index
        std::uint32_t member = 0;
        conn_state state = conn_state::idle;
        stage st = stage::none;
        bool writable = false;
        bool dirty = false;
        bool churner = false;
        bool sio_attach = false;
        bool close_sent = false;
        bool in_setup = false;
        bool in_cycle = false;  ///< churn: a cycle is under way
        cycle_exit exit = cycle_exit::clean;
        bool exit_mid = false;      ///< churn: drop halfway through the message
        bool dropped_last = false;  ///< churn: the previous cycle dropped the connection
        bool resuming = false;      ///< churn: this cycle's join presents resume_token
        mask_key mask{};
        out_queue out;
        frame_parser parser;
        std::string cap;   ///< the first bytes of the message being received
        std::string http;  ///< upgrade response until complete
        std::uint64_t next_seq = 0;
        std::uint64_t completed = 0;
        std::vector<std::uint16_t> pending;  ///< closed loop: deliveries owed, by seq % window
        std::unique_ptr<message_template> tmpl;
        std::string sio_placeholder;         ///< masked `451-["image",{placeholder}]` frame
        std::vector<std::int64_t> last_seq;  ///< highest seq seen, by sender's member index
        std::uint64_t deadline = 0;          ///< churn: cycle must end by then
        std::uint64_t next_start = 0;        ///< churn with --cycle-rate: next cycle not before
        std::string resume_token;            ///< churn: from the last "joined"
    };

    struct room {
        std::uint32_t global = 0;
        std::string name;
        std::vector<std::uint32_t> members;
    };

    struct sink;  // frame_parser handler
    friend struct sink;

    void loop();
    void handle_event(std::uint32_t events, std::uint64_t data);
    bool tick(std::uint64_t now);
    void on_phase(phase p, std::uint64_t now);
    void flush_dirty();
    void mark_dirty(conn& c);

    void start_conn(conn& c);
    void on_connected(conn& c);
    void on_open(conn& c);
    void on_readable(conn& c);
    bool consume(conn& c, std::uint8_t const* p, std::size_t n);
    bool feed(conn& c, std::uint8_t const* p, std::size_t n);
    bool on_message(conn& c, opcode op, std::uint64_t len);
    bool on_control(conn& c, opcode op, std::uint8_t const* p, std::size_t n);
    void on_roomcast_text(conn& c, std::uint64_t len);
    void on_sio_text(conn& c, std::uint64_t len);
    void on_image(conn& c, std::string_view stamp_bytes, bool text, std::uint64_t len);
    void on_joined(conn& c);
    void setup_done(conn& c);
    void close_conn(conn& c);
    void conn_error(conn& c, std::string const& why);
    void fail(std::string const& why);
    void note(std::string const& problem);
    std::string where(conn const& c) const;

    void send_text(conn& c, std::string_view payload);
    void send_close(conn& c);
    void send_image(conn& c, std::uint64_t seq, std::uint64_t t_ns);
    void send_half_image(conn& c, std::uint64_t seq, std::uint64_t t_ns);
    std::size_t masked_stamp(conn& c, std::uint64_t seq, std::uint64_t t_ns, std::uint8_t* out);
    bool may_send(std::uint64_t now) const;
    void refill(conn& c, std::uint64_t now);
    void open_loop(std::uint64_t now);

    void start_cycle(conn& c, std::uint64_t now);
    void cycle_end(conn& c, bool ok);
    void churner_delivered(conn& c);
    void churner_wait(conn& c, std::uint64_t now);
    void churner_exit(conn& c);
    void drop_abruptly(conn& c);
    bool chance(double pct);

    config const& cfg_;
    run_control& ctl_;
    layout lay_;
    int ep_ = -1;
    int timer_ = -1;
    std::vector<conn> conns_;
    std::vector<room> rooms_;
    std::vector<std::uint32_t> senders_;
    std::vector<std::uint32_t> dirty_;
    std::vector<std::uint32_t> reread_;
    std::vector<std::uint32_t> setup_queue_;
    std::size_t setup_next_ = 0;
    std::uint32_t in_setup_ = 0;
    std::uint32_t setup_done_ = 0;
    std::uint32_t setup_limit_ = 1;
    std::vector<std::uint32_t> restart_;
    std::vector<std::uint32_t> dwelling_;
    std::unique_ptr<std::uint8_t[]> scratch_;
    std::mt19937_64 rng_;
    worker_stats stats_;
    phase seen_ = phase::setup;
    std::uint64_t recv_now_ = 0;
    std::uint64_t sends_ = 0;
    std::uint64_t cycles_started_ = 0;
    std::uint64_t drops_ = 0;       ///< churn: abrupt exits chosen, alternately FIN and RST
    double cycle_interval_ns_ = 0;  ///< churn with --cycle-rate: between one churner's starts
    std::uint64_t next_timeout_scan_ = 0;
    std::uint32_t recipients_ = 1;
    std::size_t wrapper_ = 0;
    std::uint32_t source_next_ = 0;
    double interval_ns_ = 0;
    std::uint64_t ol_index_ = 0;
    std::size_t rr_ = 0;
    bool timer_armed_ = false;
    std::size_t latency_cap_ = 0;
};

}  // namespace rcb
