#!/usr/bin/env python3
"""Soak test of a started AgentCorex server, from outside, like an operator (standard library only).

Keeps a modest mixed load for --minutes (echo, wait with steps, fail, tiny timeouts, cancels of queued and
running jobs, reads and listings, SSE streams, webhooks to a local receiver of which one answers 500 or hangs
sometimes, direct executions, key creation and revocation, /metrics and /health/ready) over keys of several
plans, samples the process every --sample seconds into OUT/samples.csv, and at the end checks that every
accepted job reached a final state, that every delivery the server stored as delivered reached the receiver
with valid signatures, and counts every unexpected status. How to run it: bench/Soak/README.md.
"""
import argparse, base64, collections, csv, http.client, http.server, json, os, random, re
import sqlite3, subprocess, sys, tempfile, threading, time, urllib.parse
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import webhook_signatures

p = argparse.ArgumentParser()
p.add_argument("--url", default="http://127.0.0.1:5080")
p.add_argument("--admin-key", required=True)
p.add_argument("--pid", type=int, required=True, help="the server's process id, for RSS, threads and fds")
p.add_argument("--data", required=True, help="the server's data folder (agentcorex.db and its -wal, -shm)")
p.add_argument("--minutes", type=float, default=30)
p.add_argument("--sample", type=float, default=30)
p.add_argument("--rate", type=float, default=30, help="jobs submitted per second, all keys together")
p.add_argument("--receiver-port", type=int, default=0)
p.add_argument("--out", default=".")
p.add_argument("--gc-every", type=int, default=0,
               help="induce a full collection (dotnet-trace's GCHeapCollect) before every Nth sample, so that the heap after "
                    "the last gen2 is the live heap; 0: never (Server GC then runs a gen2 rarely)")
p.add_argument("--dotnet-trace", default=os.path.expanduser("~/.dotnet/tools/dotnet-trace"))
a = p.parse_args()
u = urllib.parse.urlparse(a.url)
HOST, PORT = u.hostname, u.port
END = time.time() + a.minutes * 60
stop = threading.Event()
lock = threading.Lock()
os.makedirs(a.out, exist_ok=True)

# ---------- HTTP ----------
local = threading.local()

def request(method, path, key=None, body=None, timeout=30, expect=(200,)):
    """One request on this thread's keep-alive connection; returns (status, json or None, seconds)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key: headers["Authorization"] = "Bearer " + key
    data = json.dumps(body).encode() if body is not None else None
    for attempt in (1, 2):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            dt = time.perf_counter() - t0
            break
        except (ConnectionError, http.client.HTTPException, TimeoutError, OSError) as e:
            conn.close(); local.conn = None
            if attempt == 2:
                record_status(method, path, "EXC " + type(e).__name__)
                return None, None, time.perf_counter() - t0
    try: js = json.loads(raw) if raw else None
    except ValueError: js = None
    if r.status not in expect:
        code = (js or {}).get("error", {}).get("code") if isinstance(js, dict) else None
        record_status(method, path, f"{r.status} {code}")
    return r.status, js, dt

statuses = collections.Counter()      # unexpected statuses, by route and status
def route(path):
    path = path.split("?")[0]
    return re.sub(r"/(job|key|wh)_[a-z0-9]+", r"/{\1}", path)
def record_status(method, path, what):
    with lock: statuses[(method, route(path), what)] += 1

# ---------- latency per interval ----------
lat = collections.defaultdict(list)
def note(kind, dt):
    with lock: lat[kind].append(dt * 1000)
def take_latencies():
    with lock:
        out = {k: sorted(v) for k, v in lat.items()}
        lat.clear()
    return out
def pct(v, q):
    return v[min(len(v) - 1, max(0, int(-(-q * len(v) // 1)) - 1))] if v else float("nan")

# ---------- webhook receiver ----------
received = collections.defaultdict(list)   # delivery id -> [(path, event, job_id, valid)]
secrets = {}                              # receiver path -> secret
receiver_mode = {"/ok": "ok", "/ok2": "ok", "/flaky": "flaky"}
receiver_counts = collections.Counter()

class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = receiver_mode.get(self.path, "ok")
        roll = random.random()
        if mode == "flaky" and roll < 0.02:           # hang past the attempt's timeout
            with lock: receiver_counts["hung"] += 1
            time.sleep(12); self.close_connection = True; return
        if mode == "flaky" and roll < 0.12:
            with lock: receiver_counts["500"] += 1
            self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers(); return
        valid = webhook_signatures.valid(secrets.get(self.path, "whsec_"), self.headers, body)
        js = json.loads(body)
        with lock:
            received[self.headers.get("webhook-id")].append((self.path, js["event"], js["job"]["job_id"], valid))
            receiver_counts["200"] += 1
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()

class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass

receiver = QuietServer(("127.0.0.1", a.receiver_port), Receiver)
RPORT = receiver.server_address[1]
threading.Thread(target=receiver.serve_forever, daemon=True).start()

# ---------- set-up: keys of several plans, webhooks ----------
ADMIN = a.admin_key
def create_key(name, plan):
    s, js, _ = request("POST", "/api_keys", ADMIN, {"name": name, "plan": plan}, expect=(201,))
    assert s == 201, (s, js)
    return js["api_key"], js["key_id"]

keys = {"admin": ADMIN}
for name, plan in [("ent-a", "enterprise"), ("ent-b", "enterprise"), ("pro", "pro"), ("free", "free")]:
    keys[name], _ = create_key("soak " + name, plan)

webhooks = []
for key_name, path, events in [
        ("ent-b", "/ok", ["job.completed", "job.failed", "job.timeout", "job.canceled"]),
        ("pro", "/flaky", ["job.queued", "job.started", "job.completed", "job.failed", "job.timeout", "job.canceled"]),
        ("free", "/ok2", ["job.queued", "job.completed", "job.canceled"])]:
    s, js, _ = request("POST", "/webhooks", keys[key_name],
                       {"url": f"http://127.0.0.1:{RPORT}{path}", "events": events}, expect=(201,))
    assert s == 201, (s, js)
    secrets[path] = js["secret"]
    webhooks.append((key_name, js["webhook_id"]))

# ---------- load ----------
accepted = {}                 # job_id -> (key name, kind)
recent = collections.deque(maxlen=2000)
counts = collections.Counter()

def submit(key_name, kind, body, expect=(202,)):
    s, js, dt = request("POST", "/jobs/submit", keys[key_name], body, expect=expect)
    note("submit", dt)
    with lock: counts["submit " + str(s)] += 1
    if s == 202:
        with lock:
            accepted[js["job_id"]] = (key_name, kind)
            recent.append((keys[key_name], key_name, js["job_id"]))
        return js["job_id"]
    return None

def job_body():
    r = random.random()
    if r < 0.55: return "echo", {"tool": "echo", "arguments": {"message": "soak %d" % random.randint(0, 10**9)}}
    if r < 0.80: return "wait", {"tool": "wait", "arguments": {"duration_ms": random.randint(50, 1500),
                                                               "steps": random.randint(1, 5)}}
    if r < 0.93: return "fail", {"tool": "fail", "arguments": {"message": "soak failure", "code": "SOAK_FAIL"}}
    return "timeout", {"tool": "wait", "arguments": {"duration_ms": 2000}, "timeout_ms": random.randint(1, 30)}

def paced(rate, fn, steady=False):
    """Calls fn about rate times a second (at random, or steadily) until the end, on this thread."""
    nxt = time.time()
    while not stop.is_set() and time.time() < END:
        fn()
        nxt += 1 / rate if steady else random.expovariate(rate)
        d = nxt - time.time()
        if d > 0: time.sleep(d)
        elif d < -5: nxt = time.time()

# Shares of --rate by key, each well under its plan's limits (enterprise 1000/min, pro 100/min, free 10/min).
shares = [("admin", 0.55), ("ent-a", 0.25), ("ent-b", 0.12)]
def submitter(key_name, rate):
    def one():
        kind, body = job_body()
        submit(key_name, kind, body)
    paced(rate, one)

def slow_keys():
    # pro: 1/s (100/min allowed, 5 at once: jobs park beyond); free: 1 every 8 s (10/min, 1 at once)
    def pro():
        kind, body = job_body()
        if random.random() < 0.3: kind, body = "wait", {"tool": "wait", "arguments": {"duration_ms": 3000, "steps": 3}}
        submit("pro", kind, body)
    threading.Thread(target=paced, args=(1.0, pro), daemon=True).start()
    def free():
        kind, body = job_body()
        submit("free", kind, body)
    paced(1 / 8, free, steady=True)

def canceler():
    def one():
        if random.random() < 0.5:
            # canceled at once, unforced: mostly still queued; one that already started answers CANNOT_CANCEL_RUNNING
            # and is canceled with force
            jid = submit("ent-a", "cancel-queued", {"tool": "wait", "arguments": {"duration_ms": 10000}})
            if jid:
                s, js, _ = request("DELETE", f"/jobs/{jid}", keys["ent-a"],
                                   expect=(200, 400))   # 400 CANNOT_CANCEL_RUNNING when it already started
                with lock: counts[f"cancel-queued {s} {(js or {}).get('error', {}).get('code', '')}"] += 1
                if s == 400:
                    request("DELETE", f"/jobs/{jid}?force=true", keys["ent-a"], expect=(200,))
        else:
            jid = submit("admin", "cancel-running", {"tool": "wait", "arguments": {"duration_ms": 20000, "steps": 20}})
            if jid:
                time.sleep(0.3 + random.random())
                s, js, _ = request("DELETE", f"/jobs/{jid}?force=true", ADMIN, expect=(200,))
                with lock: counts[f"cancel-running {s}"] += 1
    paced(0.7, one)

def reader():
    def one():
        with lock:
            if not recent: return
            key, key_name, jid = random.choice(recent)
        s, js, dt = request("GET", f"/jobs/{jid}", key, expect=(200,) if key_name != "churn" else (200, 401))   # 401: revoked
        note("get", dt)
    paced(5, one)

def lister():
    def one():
        key_name = random.choice(["admin", "ent-a", "ent-b", "pro", "free"])
        q = {"limit": random.choice([1, 20, 50, 100]), "offset": random.choice([0, 0, 0, 10, 100, 1000])}
        if random.random() < 0.5: q["status"] = random.choice(["queued", "running", "completed", "failed", "timeout", "canceled", "all"])
        if random.random() < 0.5: q["tool"] = random.choice(["echo", "wait", "fail"])
        s, js, dt = request("GET", "/jobs?" + urllib.parse.urlencode(q), keys[key_name])
        note("list", dt)
    paced(3, one)

def streamer():
    def one():
        jid = submit("ent-b", "stream", {"tool": "wait", "arguments": {"duration_ms": random.randint(500, 4000), "steps": 4}})
        if not jid: return
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        try:
            conn.request("GET", f"/jobs/{jid}/stream", headers={"Authorization": "Bearer " + keys["ent-b"]})
            r = conn.getresponse()
            if r.status != 200:
                record_status("GET", f"/jobs/{jid}/stream", str(r.status)); return
            events, final, deadline = 0, False, time.time() + random.choice([1.0, 30.0])   # some closed early
            while time.time() < deadline:
                line = r.readline()
                if not line: final = True; break
                if line.startswith(b"data:"): events += 1
            with lock: counts["stream " + ("to end" if final else "closed early")] += 1
        except Exception as e:
            record_status("GET", "/jobs/{job}/stream", "EXC " + type(e).__name__)
        finally:
            conn.close()
    paced(0.5, one)

def executor():
    def one():
        if random.random() < 0.8:
            s, js, dt = request("POST", "/execute_tool", ADMIN, {"tool": "echo", "arguments": {"message": "x"}})
        else:
            s, js, dt = request("POST", "/execute_tool", ADMIN, {"tool": "wait", "arguments": {"duration_ms": 100}, "timeout_ms": 5},
                                expect=(504,))
        note("execute", dt)
    paced(3, one)

def key_churn():
    def one():
        k, kid = create_key("soak churn", random.choice(["free", "pro", "enterprise"]))
        keys["churn"] = k
        jid = submit("churn", "churn", {"tool": "wait", "arguments": {"duration_ms": 5000}})
        jid2 = submit("churn", "churn", {"tool": "echo", "arguments": {"message": "bye"}})
        time.sleep(1)
        request("DELETE", f"/api_keys/{kid}", ADMIN)
        with lock: counts["keys churned"] += 1
    paced(1 / 20, one)

def monitor():
    def one():
        request("GET", "/health/ready")
    paced(0.5, one)

# ---------- sampling ----------
db = os.path.join(a.data, "agentcorex.db")
def metrics_text():
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    conn.request("GET", "/metrics", headers={"Authorization": "Bearer " + ADMIN})
    r = conn.getresponse(); t = r.read().decode(); conn.close()
    if r.status != 200: record_status("GET", "/metrics", str(r.status))
    return t
def metric(text, name, labels=None):
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if labels and not all(l in line for l in labels): continue
            total += float(line.rsplit(" ", 1)[1]); found = True
    return total if found else float("nan")
def proc_status(field):
    with open(f"/proc/{a.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"): return int(line.split()[1])
def tables():
    c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        names = [r[0] for r in c.execute("select name from sqlite_master where type='table' and name not like 'sqlite_%'")]
        return {n: c.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}
    finally: c.close()
def hangfire_counts():
    conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    body = urllib.parse.urlencode([("metrics[]", m) for m in
                                   ["enqueued:count", "processing:count", "succeeded:count", "failed:count", "deleted:count",
                                    "scheduled:count", "servers:count", "retries:count"]])
    conn.request("POST", "/hangfire/stats", body=body, headers={
        "Authorization": "Basic " + base64.b64encode(b"x:" + ADMIN.encode()).decode(),
        "Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse(); raw = r.read(); conn.close()
    if r.status != 200: record_status("POST", "/hangfire/stats", str(r.status)); return {}
    return {k: (v or {}).get("value") for k, v in json.loads(raw).items()}

def induce_gen2():
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([a.dotnet_trace, "collect", "-p", str(a.pid), "--providers", "Microsoft-Windows-DotNETRuntime:0x800001:5",
                        "--duration", "00:00:00:02", "-o", os.path.join(d, "gc.nettrace")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

rows = []
def sample(t0, induce=False):
    if induce: induce_gen2()
    m = metrics_text()
    lats = take_latencies()
    try: t = tables()
    except sqlite3.Error as e: t = {"error": str(e)}
    try: hf = hangfire_counts()
    except Exception as e: hf = {"error": str(e)}
    size = lambda suffix: os.path.getsize(db + suffix) if os.path.exists(db + suffix) else 0
    with lock: unexpected = sum(statuses.values()); n_acc = len(accepted)
    row = {
        "t_s": round(time.time() - t0),
        "rss_mb": round(proc_status("VmRSS") / 1024, 1),
        "gc_heap_mb": round(metric(m, "dotnet_gc_last_collection_heap_size_bytes") / 2**20, 1),
        "gc_gen2_loh_mb": round(metric(m, "dotnet_gc_last_collection_heap_size_bytes", ['gc_heap_generation="gen2"']) / 2**20 + metric(m, "dotnet_gc_last_collection_heap_size_bytes", ['gc_heap_generation="loh"']) / 2**20, 1),
        "gc_committed_mb": round(metric(m, "dotnet_gc_last_collection_memory_committed_size_bytes") / 2**20, 1),
        "gen2_collections": metric(m, "dotnet_gc_collections_total", ['gc_heap_generation="gen2"']),
        "threads": proc_status("Threads"),
        "threadpool_threads": metric(m, "dotnet_thread_pool_thread_count_total"),
        "fds": len(os.listdir(f"/proc/{a.pid}/fd")),
        "db_kb": size("") // 1024, "wal_kb": size("-wal") // 1024, "shm_kb": size("-shm") // 1024,
        "jobs_rows": t.get("jobs"), "deliveries_rows": t.get("webhook_deliveries"),
        "attempts_rows": t.get("webhook_delivery_attempts"), "api_keys_rows": t.get("api_keys"),
        "sessions_rows": t.get("dashboard_sessions"), "dp_keys_rows": t.get("data_protection_keys"),
        "accepted": n_acc,
        "submit_p50_ms": round(pct(lats.get("submit", []), .5), 2), "submit_p99_ms": round(pct(lats.get("submit", []), .99), 2),
        "get_p50_ms": round(pct(lats.get("get", []), .5), 2), "get_p99_ms": round(pct(lats.get("get", []), .99), 2),
        "list_p99_ms": round(pct(lats.get("list", []), .99), 2),
        "submits": len(lats.get("submit", [])),
        "hf_succeeded": hf.get("succeeded:count"), "hf_failed": hf.get("failed:count"), "hf_deleted": hf.get("deleted:count"),
        "hf_enqueued": hf.get("enqueued:count"), "hf_processing": hf.get("processing:count"), "hf_scheduled": hf.get("scheduled:count"),
        "http_5xx": metric(m, "http_server_request_duration_seconds_count", ['http_response_status_code="5']),
        "unexpected": unexpected,
    }
    rows.append(row)
    with open(os.path.join(a.out, "samples.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row)); w.writeheader(); w.writerows(rows)
    print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    with open(os.path.join(a.out, "tables.json"), "w") as f: json.dump(t, f)

# ---------- run ----------
t0 = time.time()
threads = [threading.Thread(target=submitter, args=(k, a.rate * s), daemon=True) for k, s in shares]
threads += [threading.Thread(target=f, daemon=True) for f in (slow_keys, canceler, reader, lister, streamer, streamer,
                                                               executor, key_churn, monitor)]
sample(t0)
for th in threads: th.start()
n = 0
while time.time() < END:
    time.sleep(max(0, min(a.sample, END - time.time())))
    n += 1
    sample(t0, induce=a.gc_every > 0 and n % a.gc_every == 0)
stop.set()
print("load stopped; waiting for jobs to end", flush=True)

# ---------- checks ----------
final = {"completed", "failed", "timeout", "canceled"}
pending = dict(accepted)
by_status = collections.Counter()
deadline = time.time() + 120
while pending and time.time() < deadline:
    for jid in list(pending):
        s, js, _ = request("GET", f"/jobs/{jid}", ADMIN, expect=(200,))
        if s == 200 and js["status"] in final:
            by_status[(pending[jid][1], js["status"])] += 1
            del pending[jid]
    if pending: time.sleep(5)
sample(t0, induce=a.gc_every > 0)

c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
stored = {}
for wh_key, wh_id in webhooks:
    for did, status in c.execute("select delivery_id, status from webhook_deliveries where webhook_id = ?", (wh_id,)):
        stored[did] = (wh_key, status)
c.close()
delivered = {d for d, (_, s) in stored.items() if str(s).lower() in ("delivered", "1")}
missing = [d for d in delivered if d not in received]
invalid = [d for d, v in received.items() if not all(x[3] for x in v)]
dupes = sum(1 for v in received.values() if len(v) > 1)
report = {
    "accepted_jobs": len(accepted), "not_final": len(pending), "not_final_ids": list(pending)[:20],
    "final_by_kind": {f"{k}/{s}": n for (k, s), n in sorted(by_status.items())},
    "counts": dict(counts),
    "deliveries_stored": len(stored), "deliveries_by_status": dict(collections.Counter(s for _, s in stored.values())),
    "delivered_missing_at_receiver": len(missing), "missing_ids": missing[:20],
    "received_ids": len(received), "received_invalid_signature": len(invalid), "received_more_than_once": dupes,
    "receiver_answers": dict(receiver_counts),
    "unexpected_statuses": {" ".join(k): n for k, n in statuses.most_common()},
}
with open(os.path.join(a.out, "report.json"), "w") as f: json.dump(report, f, indent=1)
print(json.dumps(report, indent=1))
