'use strict';
// Turns roomcast-bench's JSON result lines into docs/BENCHMARKS.md: medians over rounds per
// system, roomcast's ratio to each peer, the per-run details, the machine and the versions.
// Called by bench/run; it needs nothing but Node's standard library.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function args() {
  const a = {};
  for (let i = 2; i < process.argv.length; i += 2) {
    a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1] ?? '';
  }
  return a;
}

const opt = args();
const results = fs
  .readFileSync(opt.results, 'utf8')
  .split('\n')
  .filter((l) => l.trim().startsWith('{'))
  .map((l) => JSON.parse(l));
const systems = opt.systems.split(',');
const scenarios = opt.scenarios.split(',');
const peers = systems.filter((s) => s !== 'roomcast');

function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function fmt(x, digits) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

// Headline figures: what each scenario is for.
const headlines = {
  big: [{ label: 'big: 5 MiB binary, 1 → 1 (MiB/s)', get: (r) => r.mib_per_s, higher: true }],
  pairs: [{ label: 'pairs: 1000 rooms × 2, 1 KiB, closed loop (msg/s)', get: (r) => r.deliveries_per_s, higher: true }],
  'pairs-latency': [
    { label: 'pairs-latency: 10 000 msg/s open loop, p50 (µs)', get: (r) => r.latency_us?.p50, higher: false },
    { label: 'pairs-latency: 10 000 msg/s open loop, p99 (µs)', get: (r) => r.latency_us?.p99, higher: false },
  ],
  fanout: [{ label: 'fanout: 1 room × 100, 1 KiB to 99 (deliveries/s)', get: (r) => r.deliveries_per_s, higher: true }],
  idle: [{ label: 'idle: 10 000 joined connections (server bytes/conn)', get: (r) => r.value, higher: false }],
  churn: [
    { label: 'churn: connect, join, send, leave, close (conn/s)', get: (r) => r.value, higher: true },
    { label: 'churn: server RSS after − before (MiB)', get: (r) => r.rss_delta_mib, higher: false, noRatio: true },
  ],
};

function runsOf(scenario, system) {
  return results.filter((r) => r.scenario === scenario && r.system === system);
}

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(opt.peers, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function osName() {
  try {
    const m = fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m);
    return m ? m[1] : os.type();
  } catch {
    return os.type();
  }
}

const lines = [];
const out = (s = '') => lines.push(s);
const cpus = os.cpus();
const smoke = opt.smoke === '1';

out('# roomcast benchmarks');
out();
if (smoke) {
  out('**Smoke run**: each scenario ran for about a second, one round. These figures only show that');
  out('every scenario works end to end; they are not measurements.');
  out();
}
out(`Generated ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by:`);
out();
out('```sh');
out(opt.command);
out('```');
out();
out(`${opt.rounds} round(s) per scenario and system, interleaved (${systems.join(', ')}, then again),`);
out(`each run ${opt.warmup} s of warm-up then a ${opt.duration} s window; every figure is the median over`);
out(`the rounds. The whole run took ${opt.elapsed} s. Each server was started fresh for every run.`);
out();
out('## Machine and versions');
out();
out(`| | |`);
out(`|---|---|`);
out(`| CPU | ${cpus.length ? cpus[0].model : 'unknown'} |`);
out(`| cores | ${cpus.length} (server and generator share them) |`);
out(`| memory | ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB |`);
out(`| OS | ${osName()}, Linux ${os.release()} |`);
out(`| open-file limit | ${opt['fd-limit']}${opt['fd-note'] ? ` — ${opt['fd-note']}` : ''} |`);
out(`| roomcast | ${opt['roomcast-version']} |`);
out(`| compiler | ${opt.compiler}; Boost ${opt.boost}; ${opt.cmake} |`);
out(`| Node | ${process.version} |`);
out(
  `| peers | ws ${packageVersion('ws')}; socket.io ${packageVersion('socket.io')} ` +
    `(engine.io ${packageVersion('engine.io')}); express ${packageVersion('express')} |`,
);
out();

out('## Results');
out();
const others = results.filter((r) => r.scenario !== 'idle').map((r) => r.other_cpu_pct);
const otherMedian = median(others);
if (otherMedian !== null && otherMedian > 20) {
  out(`**Noisy machine**: other processes used a median ${fmt(otherMedian, 0)} % CPU (100 % = one core)`);
  out('during the measured windows, so these figures understate every system; compare the ratios,');
  out('not the absolute numbers, and re-run on a quiet machine.');
  out();
}
const ratioHeads = systems.includes('roomcast') ? peers.map((p) => `roomcast ÷ ${p}`) : [];
const row = (cells) => out(`| ${cells.join(' | ')} |`);
const summary = [['figure (median)', ...systems, ...ratioHeads]];
row(['figure', 'better', ...systems, ...ratioHeads]);
row(['---', '---', ...systems.map(() => '---:'), ...ratioHeads.map(() => '---:')]);
for (const scenario of scenarios) {
  for (const h of headlines[scenario] ?? []) {
    const med = systems.map((s) => median(runsOf(scenario, s).map(h.get)));
    const ratios = ratioHeads.length
      ? peers.map((p) => {
          const a = med[systems.indexOf('roomcast')];
          const b = med[systems.indexOf(p)];
          if (h.noRatio || a === null || b === null || b === 0) return '–';
          return `${fmt(a / b, 2)}×`;
        })
      : [];
    row([h.label, h.higher ? 'higher' : 'lower', ...med.map((m) => fmt(m)), ...ratios]);
    summary.push([h.label, ...med.map((m) => fmt(m)), ...ratios]);
  }
}
out();
out('A ratio above 1 means roomcast\'s figure is larger: better where higher is better, worse where');
out('lower is better.');
out();

out('## Which process was saturated');
out();
out('From /proc/PID/stat over each window (100 % = one core). A process is *saturated* when one of');
out('its threads ran ≥ 90 % of the window (Node and each generator thread are single event loops),');
out('or when it used ≥ 90 % of every core; *machine* means neither was, but the cores were full');
out('between them (and anything else running); *none* means the load did not need the CPU (the');
out('open-loop latency run). "other" is CPU used by processes other than these two.');
out();
out('| scenario | system | server CPU % | busiest server thread % | generator CPU % | other CPU % | saturated (per round) |');
out('|---|---|---:|---:|---:|---:|---|');
for (const scenario of scenarios) {
  if (scenario === 'idle') continue;
  for (const system of systems) {
    const rs = runsOf(scenario, system);
    if (!rs.length) continue;
    out(
      `| ${scenario} | ${system} | ${fmt(median(rs.map((r) => r.server?.cpu_pct)), 0)} | ` +
        `${fmt(median(rs.map((r) => r.server?.max_thread_pct)), 0)} | ` +
        `${fmt(median(rs.map((r) => r.generator?.cpu_pct)), 0)} | ${fmt(median(rs.map((r) => r.other_cpu_pct)), 0)} | ` +
        `${rs.map((r) => r.saturated ?? '?').join(', ')} |`,
    );
  }
}
out();

out('## Correctness and detail');
out();
out('Every message carries its send time, sender, sequence number and room; receivers count what');
out('they were owed but never got (lost), got twice (duplicated) or should not have got at all');
out('(misrouted: another room\'s message, or an echo to the sender). Sums over all rounds.');
out();
out('| scenario | system | median | min – max | p50 µs | p99 µs | max µs | sent | lost | dup | misrouted | runs ok |');
out('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const scenario of scenarios) {
  for (const system of systems) {
    const rs = runsOf(scenario, system);
    if (!rs.length) continue;
    const vals = rs.map((r) => r.value).filter((v) => typeof v === 'number');
    const sum = (k) => rs.reduce((acc, r) => acc + (r[k] ?? 0), 0);
    const unit = rs.find((r) => r.unit)?.unit ?? '';
    out(
      `| ${scenario} | ${system} | ${fmt(median(vals))} ${unit} | ${fmt(Math.min(...vals))} – ${fmt(Math.max(...vals))} | ` +
        `${fmt(median(rs.map((r) => r.latency_us?.p50)))} | ${fmt(median(rs.map((r) => r.latency_us?.p99)))} | ` +
        `${fmt(median(rs.map((r) => r.latency_us?.max)))} | ${sum('sent')} | ${sum('lost')} | ${sum('duplicated')} | ` +
        `${sum('misrouted')} | ${rs.filter((r) => r.ok).length}/${rs.length} |`,
    );
  }
}
out();
out('Latency in the closed-loop scenarios (big, pairs, fanout) is the time a message waited behind');
out('the others in flight, not a service time; pairs-latency is the latency figure.');
out();

const rssRows = [];
for (const system of systems) {
  for (const r of runsOf('idle', system)) {
    rssRows.push(`| idle | ${system} | ${r.round} | ${r.connections} | ${fmt(r.rss_before_kib / 1024, 1)} | ${fmt(r.rss_after_kib / 1024, 1)} | ${fmt(r.value, 0)} B/conn | |`);
  }
  for (const r of runsOf('churn', system)) {
    rssRows.push(
      `| churn | ${system} | ${r.round} | ${r.cycles ?? '–'} cycles | ${fmt(r.rss_before_kib / 1024, 1)} | ${fmt(r.rss_after_kib / 1024, 1)} | ` +
        `${fmt(r.rss_delta_mib, 2)} MiB (allowed ±${fmt(r.rss_tolerance_mib, 1)}) | ${r.rss_ok ? 'yes' : '**no**'} |`,
    );
  }
}
if (rssRows.length) {
  out('### Server memory');
  out();
  out('idle: RSS of the fresh server, then with every connection open and joined. churn: RSS after a');
  out('warm-up once every cycle has finished, and again after the measured window; the two should');
  out('match within max(4 MiB, 10 %) if nothing is kept per closed connection.');
  out();
  out('| scenario | system | round | connections | RSS before MiB | RSS after MiB | difference | within tolerance |');
  out('|---|---|---:|---:|---:|---:|---:|---|');
  rssRows.forEach((r) => out(r));
  out();
}

const problems = results.filter((r) => !r.ok);
if (problems.length) {
  out('### Runs that were not clean');
  out();
  for (const r of problems) {
    out(`- ${r.scenario} / ${r.system} / round ${r.round}: ${r.error ?? ''}${r.problem ? ` (${r.problem})` : ''}` +
      ` lost ${r.lost ?? '?'}, dup ${r.duplicated ?? '?'}, misrouted ${r.misrouted ?? '?'}, closes ${r.unexpected_closes ?? '?'}`);
  }
  out();
}

out('## Method');
out();
out('- **Generator**: `roomcast-bench` (bench/src), C++20, one edge-triggered epoll loop per thread');
out('  (one thread here), writes batched per socket into one gathered `sendmsg`, each sender\'s');
out('  payload masked once at start-up so a send only rewrites the 40-byte stamp. It runs on the');
out('  same 2 cores as the server; its CPU use is reported next to the server\'s above.');
out('- **Equal work**: roomcast and the ws relay get the same binary frames; Socket.IO gets the same');
out('  payload as a binary attachment (`451-["image",{"_placeholder":true,"num":0}]` + binary frame),');
out('  which is how a Socket.IO client sends a Blob. Room joins are confirmed before any message is');
out('  sent (roomcast/ws: `joined`; Socket.IO: the answer to a request sent after `join`).');
out('- **Closed loop** (big, pairs, fanout): each sender keeps a fixed number of messages in flight');
out('  (big: 2, others: 1) and sends the next when every recipient has the previous one.');
out('- **Open loop** (pairs-latency): messages leave on a fixed schedule, stamped with their');
out('  *scheduled* time, so a stall shows in the latency instead of slowing the sender');
out('  (no coordinated omission).');
out('- **Bounds**: servers listen on 127.0.0.1 only; clients connect from 127.0.0.x; every run is');
out('  bounded in time and in message count.');
if (opt.netns) out(`- **Network**: the runs were made in ${opt.netns}.`);
out('- **Limits**: roomcast and the ws relay run with 128 members per room (fanout needs 100);');
out('  Socket.IO with `maxHttpBufferSize` 32 MiB, roomcast\'s message limit.');
out();

// Hand-written findings (profiles, what each change did) live in bench/NOTES.md and are
// carried into every generated report, so regenerating never loses them.
const notesPath = path.join(__dirname, 'NOTES.md');
if (fs.existsSync(notesPath)) {
  out(fs.readFileSync(notesPath, 'utf8').trimEnd());
  out();
}

fs.writeFileSync(opt.out, lines.join('\n') + '\n');

// The same headline table on stdout, as plain columns.
const widths = summary[0].map((_, i) => Math.max(...summary.map((r) => String(r[i]).length)));
for (const r of summary) {
  console.log(r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  '));
}
