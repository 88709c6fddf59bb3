#!/usr/bin/env python3
"""Chaos run (standard library only): kill the server again and again under a mixed load, and check that nothing is lost.

Builds a Release server (or takes --app), starts it on a free port with its own data folder, and drives a mixed load
from several threads (echo, `wait` with progress, `fail`, timeouts, a tool that is not safe to retry, forced and
unforced cancels, webhooks to a local receiver, SSE streams, key creation, submits retried with an Idempotency-Key).
Every 5-20 s (at random) it kills the server with kill -9 (sometimes SIGTERM) and starts it again on the same data,
--kills times at least. Then it lets the server drain and checks the invariants of issue 3 (see check()). --mode
postgres runs two nodes on a throwaway PostgreSQL cluster of its own and kills them in turn, the other one running.
How to run it: bench/Chaos/README.md.
"""
import argparse, base64, collections, http.client, http.server, json, os, random, shutil, signal, socket
import sqlite3, subprocess, sys, threading, time, urllib.parse
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import webhook_signatures

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
p = argparse.ArgumentParser()
p.add_argument("--mode", choices=["embedded", "postgres"], default="embedded")
p.add_argument("--minutes", type=float, default=5, help="load time at least (longer until --kills kills were made)")
p.add_argument("--kills", type=int, default=20)
p.add_argument("--sigterm-share", type=float, default=0.25, help="share of the stops that are SIGTERM, not kill -9")
p.add_argument("--start-kill-share", type=float, default=0.2,
               help="share of the restarts killed (kill -9) 0.3-2.5 s into their start, before they are ready, and started again")
p.add_argument("--rate", type=float, default=6,
               help="jobs submitted per second by the main submitters (12 outran the 10 workers of 2 cores under the restarts)")
p.add_argument("--max-attempts", type=int, default=10,
               help="the nodes' Jobs:MaxAttempts (the server's default 10): lower, more jobs are cut off in their last run")
p.add_argument("--out", default="/tmp/agentcorex-chaos")
p.add_argument("--app", help="a published AgentCorex.Web folder; default: dotnet publish -c Release into OUT/app")
p.add_argument("--plugin", default=os.path.join(REPO, "AgentCorex.Tests/bin/Debug/net10.0/AgentCorex.Tests.dll"),
               help="a tool plugin with test_side_effect, a tool that is not safe to retry (the tests' assembly)")
p.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
p.add_argument("--seed", type=int, default=None)
a = p.parse_args()
random.seed(a.seed)
OUT = os.path.abspath(a.out)
if os.path.exists(OUT): shutil.rmtree(OUT)
os.makedirs(OUT)
ADMIN = "acx_chaos_" + base64.b32encode(os.urandom(20)).decode().lower().rstrip("=")
lock = threading.Lock()
stop = threading.Event()
violations = []

def violation(what):
    with lock: violations.append(what)
    print("VIOLATION:", what, flush=True)

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

# ---------- the server's nodes ----------
class Node:
    def __init__(self, name, env, data):
        self.name, self.env, self.data, self.port = name, env, data, free_port()
        self.proc, self.up, self.starts = None, False, 0
        os.makedirs(data, exist_ok=True)

    def spawn(self, note=""):
        env = dict(os.environ, **self.env, ASPNETCORE_URLS=f"http://127.0.0.1:{self.port}")
        with open(os.path.join(OUT, f"{self.name}.log"), "a") as log:
            log.write(f"\n===== start {self.starts + 1}{note} at {time.strftime('%H:%M:%S')} =====\n"); log.flush()
            self.proc = subprocess.Popen(["dotnet", os.path.join(APP, "AgentCorex.Web.dll")], cwd=self.data, env=env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill_while_starting(self, after):
        """kill -9 a start before it is ready: in its migrations, its recovery of the last run's jobs, or its first requests."""
        self.spawn(f" (killed after {after:.1f} s)")
        time.sleep(after)
        os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait()

    def start(self):
        t0 = time.time()
        self.spawn()
        while time.time() - t0 < 90:
            if self.proc.poll() is not None:
                violation(f"{self.name} start {self.starts + 1} exited with {self.proc.returncode} (see {self.name}.log)")
                return False
            s, _ = call(self.port, "GET", "/health/ready", timeout=2)
            if s == 200:
                self.up, self.starts = True, self.starts + 1
                with lock: figures["start_s"].append(time.time() - t0)
                return True
            time.sleep(0.1)
        violation(f"{self.name} start {self.starts + 1} not ready within 90 s")
        return False

    def stop(self, sig):
        self.up = False
        t0 = time.time()
        try: os.killpg(self.proc.pid, sig)   # the process group of this node only (start_new_session)
        except ProcessLookupError: pass
        try: self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            violation(f"{self.name} did not exit within 60 s of {signal.Signals(sig).name}")
            os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait()
        if sig == signal.SIGTERM:
            with lock: figures["sigterm_exit_s"].append(time.time() - t0)
            if self.proc.returncode not in (0,):
                violation(f"{self.name} exited with {self.proc.returncode} after SIGTERM")

# ---------- HTTP ----------
figures = collections.defaultdict(list)
statuses = collections.Counter()   # (method, route, status) of every answer, and exceptions

def call(port, method, path, key=None, body=None, timeout=30, headers=None, answered=None):
    """One request on a new connection: (status, json) or (None, None) when the node could not be reached; the answer's
    headers go into `answered` when given."""
    headers = dict(headers or {})
    if body is not None: headers["Content-Type"] = "application/json"
    if key: headers["Authorization"] = "Bearer " + key
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=headers)
        r = conn.getresponse(); raw = r.read()
    except (OSError, http.client.HTTPException):
        return None, None
    finally: conn.close()
    if answered is not None: answered.update((k.lower(), v) for k, v in r.getheaders())
    try: return r.status, (json.loads(raw) if raw else None)
    except ValueError: return r.status, None

def live_port():
    ports = [n.port for n in NODES if n.up]
    return random.choice(ports) if ports else None

def request(method, path, key=ADMIN, body=None, timeout=30, headers=None, answered=None):
    port = live_port()
    if port is None:
        time.sleep(0.2); return None, None
    s, js = call(port, method, path, key, body, timeout, headers, answered)
    route = "/".join("{id}" if part.startswith(("job_", "key_", "wh_")) else part for part in path.split("?")[0].split("/"))
    with lock: statuses[(method, route, s if s is not None else "unreachable")] += 1
    return s, js

# ---------- what the client was told ----------
accepted = {}          # job_id -> {"kind", "key", "body"}
canceled_ok = set()    # DELETE answered 200 canceled
final_seen = {}        # job_id -> the first final status seen (GET or stream)
FINAL = {"completed", "failed", "timeout", "canceled"}
recent = collections.deque(maxlen=500)

def seen(jid, js):
    st = (js or {}).get("status")
    if st in FINAL:
        with lock:
            before = final_seen.setdefault(jid, st)
        if before != st:
            violation(f"{jid}: seen {before}, later {st}: a final state changed")

def accept(jid, key_name, kind, body):
    """Records a job answered 202, to be checked at the end."""
    with lock:
        accepted[jid] = {"kind": kind, "key": key_name, "body": body}
        recent.append(jid)

def submit(key_name, kind, body):
    s, js = request("POST", "/jobs/submit", KEYS[key_name], body)
    if s == 202:
        accept(js["job_id"], key_name, kind, body)
        return js["job_id"]
    return None

keyed = {}             # Idempotency-Key -> {"job_id", "tries"}: submits retried with their key, as a client does
keyed_outcomes = collections.Counter()

def keyed_submit(key_name, kind, body):
    """A submit with an Idempotency-Key, sent again with it while no answer came back (the node killed under it, or not
    reachable) or the answer was 503, for up to 60 s: the first 202 names the one job of the key, a replay if an
    attempt whose answer was lost had made it."""
    idem, tries, deadline = "chaos-%016x" % random.getrandbits(64), 0, time.time() + 60
    while time.time() < deadline:
        tries += 1
        answered = {}
        s, js = request("POST", "/jobs/submit", KEYS[key_name], body, headers={"Idempotency-Key": idem}, answered=answered)
        if s == 202:
            replayed = answered.get("idempotent-replayed") == "true"
            accept(js["job_id"], key_name, kind, body)
            with lock:
                keyed[idem] = {"job_id": js["job_id"], "tries": tries}
                keyed_outcomes["202 at once" if tries == 1 else "202 replayed after a lost answer" if replayed else "202 after retries, a new job"] += 1
            if tries == 1 and replayed: violation(f"{idem}: its first submit was answered as a replay")
            return js["job_id"]
        if s is not None and s != 503:
            with lock: keyed_outcomes[f"{s} {((js or {}).get('error') or {}).get('code')}"] += 1
            return None
        time.sleep(0.2 + random.random())
    with lock: keyed_outcomes["no answer within 60 s"] += 1
    return None

def cancel(jid, key_name, force):
    s, js = request("DELETE", f"/jobs/{jid}" + ("?force=true" if force else ""), KEYS[key_name])
    if s == 200:
        if (js or {}).get("status") != "canceled": violation(f"{jid}: DELETE answered 200 with {js}")
        with lock: canceled_ok.add(jid)
    return s

def job_body():
    r = random.random()
    if r < 0.45: return "echo", {"tool": "echo", "arguments": {"message": "chaos %d" % random.randint(0, 10**9)}}
    if r < 0.70: return "wait", {"tool": "wait", "arguments": {"duration_ms": random.randint(100, 2000), "steps": random.randint(1, 6)}}
    if r < 0.73: return "wait", {"tool": "wait", "arguments": {"duration_ms": random.randint(3000, 8000), "steps": 5}}
    if r < 0.83: return "fail", {"tool": "fail", "arguments": {"message": "chaos failure", "code": "CHAOS_FAIL"}}
    if r < 0.90: return "timeout", {"tool": "wait", "arguments": {"duration_ms": 3000}, "timeout_ms": random.randint(1, 500)}
    return "side", {"tool": "test_side_effect", "arguments": {"duration_ms": random.randint(200, 4000)}}

def paced(rate, fn):
    while not stop.is_set():
        try: fn()
        except Exception as e:   # the script's own mistake: keep the load going, but say so
            violation(f"load thread error {type(e).__name__}: {e}")
        time.sleep(random.expovariate(rate))

def load_threads():
    def main_submit():
        kind, body = job_body()
        submit(random.choice(["admin", "ent-a", "ent-b"]), kind, body)
    def cancels():
        if random.random() < 0.5:   # at once, unforced: mostly still queued (400 CANNOT_CANCEL_RUNNING when started)
            jid = submit("ent-a", "cancel-queued", {"tool": "wait", "arguments": {"duration_ms": 10000, "steps": 2}})
            if jid and cancel(jid, "ent-a", False) == 400: cancel(jid, "ent-a", True)
        else:                        # forced, once running (a side-effect tool or wait)
            kind, body = random.choice([("cancel-running", {"tool": "wait", "arguments": {"duration_ms": 20000, "steps": 20}}),
                                        ("cancel-side", {"tool": "test_side_effect", "arguments": {"duration_ms": 20000}})])
            jid = submit("ent-b", kind, body)
            if jid:
                time.sleep(0.3 + 2 * random.random())
                cancel(jid, "ent-b", True)
    def reads():
        with lock:
            if not recent: return
            jid = random.choice(recent)
        s, js = request("GET", f"/jobs/{jid}")
        if s == 200: seen(jid, js)
    def stream():
        jid = submit("ent-b", "stream", {"tool": "wait", "arguments": {"duration_ms": random.randint(500, 5000), "steps": 5}})
        port = live_port()
        if not jid or port is None: return
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", f"/jobs/{jid}/stream", headers={"Authorization": "Bearer " + KEYS["ent-b"]})
            r = conn.getresponse()
            if r.status != 200: return
            final = False
            while True:
                line = r.readline()
                if not line: break
                if line.startswith(b"data:"):
                    js = json.loads(line[5:]); seen(jid, js); final = js.get("status") in FINAL
            with lock: figures["streams_to_end" if final else "streams_cut"].append(1)
        except (OSError, http.client.HTTPException, ValueError):
            with lock: figures["streams_cut"].append(1)   # the node died under it
        finally: conn.close()
    def keys():
        s, js = request("POST", "/api_keys", ADMIN, {"name": "chaos churn", "plan": random.choice(["free", "pro", "enterprise"])})
        if s == 201:
            with lock: KEYS["churn-" + js["key_id"]] = js["api_key"]
            submit("churn-" + js["key_id"], "echo", {"tool": "echo", "arguments": {"message": "new key"}})
    def keyed_main():
        kind, body = job_body()
        keyed_submit(random.choice(["ent-a", "ent-b"]), kind, body)
    def limited():   # keys at their limit of jobs at once (pro 5, free 1): their jobs park and are handed over as slots free
        key_name = "pro" if random.random() < 0.85 else "free"
        submit(key_name, "wait", {"tool": "wait", "arguments": {"duration_ms": random.randint(500, 5000), "steps": 2}})
    plan = [(main_submit, a.rate / 2), (main_submit, a.rate / 2), (cancels, 0.6), (reads, 4), (stream, 0.3), (stream, 0.3),
            (keys, 0.1), (limited, 0.7), (keyed_main, 1)]
    return [threading.Thread(target=paced, args=(rate, fn), daemon=True) for fn, rate in plan]

# ---------- webhook receiver ----------
received = collections.defaultdict(list)   # delivery id -> [(event, job_id, valid)]
secrets = {}                               # receiver path -> secret

class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/flaky" and random.random() < 0.1:
            self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers(); return
        js = json.loads(body)
        with lock:
            received[self.headers.get("webhook-id")].append((js["event"], js["job"]["job_id"],
                                                            webhook_signatures.valid(secrets.get(self.path, "whsec_"), self.headers, body)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()

class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass

# ---------- storage: the embedded file, or a throwaway PostgreSQL cluster ----------
PG_AS = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
class Postgres:
    def __init__(self):
        self.dir, self.port = os.path.join(OUT, "pg"), free_port()
        os.makedirs(self.dir)
        if PG_AS: shutil.chown(OUT, "postgres"); shutil.chown(self.dir, "postgres")
        pg = lambda *args: subprocess.run(PG_AS + [os.path.join(a.pg_bin, args[0]), *args[1:]], check=True, stdout=subprocess.DEVNULL)
        pg("initdb", "-D", self.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        pg("pg_ctl", "-D", self.dir, "-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60",
           "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300", "start")
        self.query("CREATE DATABASE agentcorex_chaos", db="postgres")
        self.connection = f"Host=127.0.0.1;Port={self.port};Username=postgres;Database=agentcorex_chaos"

    def query(self, sql, db="agentcorex_chaos"):
        r = subprocess.run([os.path.join(a.pg_bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
                            "-qAt", "-F", "\x1f", "-c", sql], check=True, capture_output=True, text=True)
        return [line.split("\x1f") for line in r.stdout.splitlines()]

    def stop(self):
        subprocess.run(PG_AS + [os.path.join(a.pg_bin, "pg_ctl"), "-D", self.dir, "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL)

def ledger(sql):
    if PG: return PG.query(sql)
    c = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=30)
    try: return [[str(v) if v is not None else "" for v in row] for row in c.execute(sql)]
    finally: c.close()

# ---------- the killer ----------
kills = collections.Counter()
def killer(end):
    turn = 0
    while time.time() < end or sum(kills.values()) < a.kills:
        time.sleep(random.uniform(5, 20))
        node = NODES[turn % len(NODES)]; turn += 1
        sig = signal.SIGTERM if random.random() < a.sigterm_share else signal.SIGKILL
        held = dict(ledger("SELECT status, count(*) FROM jobs WHERE status IN ('queued', 'running') GROUP BY status"))
        with lock: figures["running_at_kill"].append(int(held.get("running", 0))); figures["queued_at_kill"].append(int(held.get("queued", 0)))
        print(f"{time.strftime('%H:%M:%S')} {signal.Signals(sig).name} {node.name}: {len(accepted)} accepted, "
              f"{held.get('running', 0)} running, {held.get('queued', 0)} queued", flush=True)
        node.stop(sig)
        kills[signal.Signals(sig).name] += 1
        time.sleep(random.uniform(0.2, 2))
        if random.random() < a.start_kill_share:
            node.kill_while_starting(random.uniform(0.3, 2.5))
            kills["SIGKILL while starting"] += 1
        if not node.start():
            print("a start failed: the run stops here", flush=True); return
        if time.time() > end + a.minutes * 60: return

# ---------- the checks ----------
def hangfire_stats():
    port = live_port()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urllib.parse.urlencode([("metrics[]", m) for m in ["enqueued:count-or-null", "processing:count", "succeeded:count",
                                                              "failed:count-or-null", "deleted:count", "scheduled:count",
                                                              "servers:count", "retries:count"]])
    conn.request("POST", "/hangfire/stats", body=body, headers={
        "Authorization": "Basic " + base64.b64encode(b"x:" + ADMIN.encode()).decode(), "Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse(); raw = r.read(); conn.close()
    if r.status != 200: return {"status": r.status}
    value = lambda v: int(str(v).replace(",", "")) if v not in (None, "") else 0   # the dashboard formats them, or null for none
    return {k.replace("-or-null", ""): value((v or {}).get("value")) for k, v in json.loads(raw).items()}

def diagnose(pending):
    """What a job that did not end is waiting for: its ledger row, Hangfire's processing jobs, and each node's threads."""
    ids = ", ".join(f"'{j}'" for j in pending)
    with open(os.path.join(OUT, "not-final.txt"), "w") as f:
        for row in ledger(f"SELECT job_id, owner_key_id, tool, status, parked, attempt, hangfire_id, created_at, started_at FROM jobs WHERE job_id IN ({ids})"):
            f.write("\t".join(row) + "\n")
        f.write(json.dumps(hangfire_stats()) + "\n")
    stack = shutil.which("dotnet-stack") or os.path.expanduser("~/.dotnet/tools/dotnet-stack")
    for n in NODES:
        if n.up and os.path.exists(stack):
            with open(os.path.join(OUT, f"stacks-{n.name}.txt"), "w") as f:
                subprocess.run([stack, "report", "-p", str(n.proc.pid)], stdout=f, stderr=subprocess.STDOUT, timeout=120)

MAX_ATTEMPTS = a.max_attempts  # the nodes' Jobs:MaxAttempts: a job cut off in its last run ends failed SERVER_RESTARTED

def expected(kind, body, end, attempt):
    """What a job of this kind must end as, whatever the restarts (None: any final state)."""
    st, code = end["status"], (end.get("error") or {}).get("code")
    if code == "SERVER_RESTARTED" and attempt >= MAX_ATTEMPTS:
        return f"in run {attempt} of at most {MAX_ATTEMPTS}" in end["error"]["message"] or kind == "side"
    if kind in ("echo", "wait", "stream"): return st == "completed"
    if kind == "fail": return st == "failed" and code != "SERVER_RESTARTED"
    if kind == "timeout": return st == "timeout"
    if kind == "side": return st == "completed" or (st == "failed" and code == "SERVER_RESTARTED")
    return True

def check():
    report = {}
    pending, ends = dict(accepted), {}
    deadline = time.time() + 480
    while pending and time.time() < deadline:
        for jid in list(pending):
            s, js = request("GET", f"/jobs/{jid}")
            if s == 404: violation(f"{jid}: accepted with 202, now 404"); del pending[jid]
            elif s == 200 and js["status"] in FINAL: ends[jid] = js; del pending[jid]
        if pending: time.sleep(3)
    for jid in pending: violation(f"{jid} ({accepted[jid]['kind']}) not final 480 s after the load stopped")
    if pending: diagnose(pending)
    rows = {r[0]: r for r in ledger("SELECT job_id, tool, status, attempt FROM jobs")}
    stuck = ledger("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")[0][0]
    if stuck != "0": violation(f"{stuck} job(s) of the ledger queued or running at the end")
    by_kind, attempts = collections.Counter(), collections.Counter()
    for jid, end in ends.items():
        info = accepted[jid]
        seen(jid, end)
        by_kind[f"{info['kind']}/{end['status']}" + (f"/{end['error']['code']}" if end.get("error") else "")] += 1
        if jid in canceled_ok and end["status"] != "canceled": violation(f"{jid}: DELETE answered 200 canceled, now {end['status']}")
        row = rows.get(jid)
        if jid not in canceled_ok and not expected(info["kind"], info["body"], end, int(row[3]) if row else 0):
            violation(f"{jid} ({info['kind']}) ended {end['status']} {end.get('error')}")
        if end["status"] == "completed":
            arguments, result = info["body"]["arguments"], end.get("result")
            want = {"echo": {"message": arguments.get("message")}, "wait": {"waited_ms": arguments.get("duration_ms")},
                    "test_side_effect": {"duration_ms": arguments.get("duration_ms")}}[info["body"]["tool"]]
            if not result or any(result.get(k) != v for k, v in want.items()):
                violation(f"{jid} completed with result {result}, expected {want}")
        if row is None: violation(f"{jid}: not in the ledger"); continue
        attempts[f"{row[1]} attempt {row[3]}"] += 1
        if row[1] == "test_side_effect" and int(row[3]) > 1: violation(f"{jid}: test_side_effect, not safe to retry, ran {row[3]} times")
        if int(row[3]) > MAX_ATTEMPTS: violation(f"{jid}: {row[1]} ran {row[3]} times, more than Jobs:MaxAttempts ({MAX_ATTEMPTS})")
    report["final_by_kind"] = dict(sorted(by_kind.items()))

    # Each Idempotency-Key answered 202 names the one job the ledger holds under it; no key holds two (the unique index).
    under = collections.defaultdict(list)
    for idem, jid in ledger("SELECT idempotency_key, job_id FROM jobs WHERE idempotency_key IS NOT NULL"):
        under[idem].append(jid)
    for idem, k in keyed.items():
        if under.get(idem) != [k["job_id"]]:
            violation(f"Idempotency-Key {idem}: answered {k['job_id']} after {k['tries']} tries, the ledger holds {under.get(idem)}")
    report["keyed_submits"] = dict(keyed_outcomes)
    report["attempts_by_tool"] = dict(sorted(attempts.items()))

    # An event whose deliveries a kill kept from being stored is marked on its job (events_pending), and raised again by
    # the webhook sweep once Webhooks:RepairGrace (2 minutes) has passed, looking every 30 s: waited for here.
    t0, deadline = time.time(), time.time() + 240
    marked = lambda: int(ledger("SELECT count(*) FROM jobs WHERE events_pending != 0")[0][0])
    report["events_marked_after_drain"] = waiting = marked()
    while waiting and time.time() < deadline:
        time.sleep(5); waiting = marked()
    if waiting: violation(f"{waiting} job(s) with events never stored 240 s after the drain")
    report["events_raised_again_within_s"] = round(time.time() - t0)

    # Webhooks: every final job of a key with a webhook for its final event has a delivery, which is delivered (and
    # reached the receiver, signed) or pending with a next attempt; given a minute to deliver what is due.
    deadline = time.time() + 90
    while True:
        deliveries = ledger("SELECT delivery_id, webhook_id, event, job_id, status, next_attempt_at FROM webhook_deliveries")
        late = [d for d in deliveries if d[4] == "pending"]
        if not late or time.time() > deadline: break
        time.sleep(5)
    stored = {(d[1], d[2], d[3]): d for d in deliveries}
    for jid, end in ends.items():
        for wid in WEBHOOKS.get(accepted[jid]["key"], []):
            d = stored.get((wid, "job." + end["status"], jid))
            if d is None: violation(f"{jid}: no job.{end['status']} delivery for {wid}"); continue
            if d[4] == "delivered" and d[0] not in received: violation(f"delivery {d[0]} stored delivered, never received")
            if d[4] == "pending" and not d[5]: violation(f"delivery {d[0]} pending with no next attempt")
            if d[4] == "failed": violation(f"delivery {d[0]} failed for good")
    invalid = [d for d, v in received.items() if not all(x[2] for x in v)]
    for d in invalid: violation(f"delivery {d} arrived with an invalid signature")
    report["deliveries"] = dict(collections.Counter(d[4] for d in deliveries))
    report["deliveries_received"] = len(received)
    report["deliveries_received_more_than_once"] = sum(1 for v in received.values() if len(v) > 1)
    report["deliveries_received_not_stored"] = sum(1 for d in received if d not in {x[0] for x in deliveries})

    hf = hangfire_stats()
    report["hangfire"] = hf
    if any(isinstance(v, int) and v < 0 for v in hf.values()): violation(f"Hangfire counts below zero: {hf}")
    if hf.get("enqueued:count") != 0 or hf.get("processing:count") != 0: violation(f"Hangfire not drained: {hf}")
    if not PG and hf.get("servers:count") != 2: violation(f"Hangfire lists {hf.get('servers:count')} servers, one node has 2")
    # On PostgreSQL a dead node's servers stay listed for Jobs:ServerTimeout (5 minutes): the live ones, and no more than were started.
    if PG and not 2 * len(NODES) <= hf.get("servers:count", 0) <= 2 * sum(n.starts for n in NODES):
        violation(f"Hangfire lists {hf.get('servers:count')} servers; {sum(n.starts for n in NODES)} node processes were started")
    return report

# ---------- run ----------
APP = a.app
if not APP:
    APP = os.path.join(OUT, "app")
    subprocess.run(["dotnet", "publish", os.path.join(REPO, "AgentCorex.Web"), "-c", "Release", "-o", APP], check=True, stdout=subprocess.DEVNULL)
if not os.path.exists(a.plugin):
    sys.exit(f"no plugin at {a.plugin}: dotnet build AgentCorex.Tests first (its assembly has test_side_effect)")
receiver = QuietServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
env = {"Auth__AdminKey": ADMIN, "Network__AllowPrivateTargets": "true", "Tools__PluginPaths__0": a.plugin,
       "Logging__LogLevel__Default": "Warning", "Jobs__ShutdownTimeout": "00:00:05", "Jobs__MaxAttempts": str(a.max_attempts)}
PG, DB = None, None
if a.mode == "embedded":
    DB = os.path.join(OUT, "data", "agentcorex.db")
    NODES = [Node("node", dict(env, ConnectionStrings__AgentCorex=f"Data Source={DB}"), os.path.join(OUT, "data"))]
else:
    PG = Postgres()
    # A dead node's running jobs are taken over after the invisibility timeout: 30 s instead of 5 min for a short run.
    # A submit cut off between its row and its Hangfire job is enqueued by the repair of lost enqueues once it has
    # waited Jobs:QueuedRepairGrace: 1 min instead of 10, within the check's wait (on the embedded database the next
    # start enqueues it).
    env.update(Storage__Provider="PostgreSql", ConnectionStrings__AgentCorex=PG.connection, Jobs__InvisibilityTimeout="00:00:30",
               Jobs__QueuedRepairGrace="00:01:00")
    NODES = [Node(n, env, os.path.join(OUT, n)) for n in ("node-a", "node-b")]
try:
    for n in NODES:
        # The first start migrates the empty database: killed in its migrations, the next start must still come up.
        n.kill_while_starting(random.uniform(1.0, 2.0))
        kills["SIGKILL while starting"] += 1
        if not n.start(): sys.exit("the first start failed")
    KEYS = {"admin": ADMIN}
    for name, plan in (("ent-a", "enterprise"), ("ent-b", "enterprise"), ("pro", "pro"), ("free", "free")):
        s, js = request("POST", "/api_keys", ADMIN, {"name": "chaos " + name, "plan": plan})
        KEYS[name] = js["api_key"]
    WEBHOOKS = collections.defaultdict(list)
    for key_name, path in [("ent-a", "/flaky"), ("ent-b", "/ok")]:
        s, js = request("POST", "/webhooks", KEYS[key_name], {"url": f"http://127.0.0.1:{receiver.server_address[1]}{path}",
                        "events": ["job.queued", "job.started", "job.completed", "job.failed", "job.timeout", "job.canceled"]})
        assert s == 201, (s, js)
        secrets[path] = js["secret"]; WEBHOOKS[key_name].append(js["webhook_id"])
    t0 = time.time()
    for th in load_threads(): th.start()
    killer(t0 + a.minutes * 60)
    stop.set()
    load_s = time.time() - t0
    print(f"{time.strftime('%H:%M:%S')} load stopped after {load_s:.0f} s and {dict(kills)}; draining", flush=True)
    report = {"mode": a.mode, "load_s": round(load_s), "kills": dict(kills), "accepted_jobs": len(accepted),
              "canceled_ok": len(canceled_ok)}
    report.update(check())
    for n in NODES:
        if n.up: n.stop(signal.SIGTERM)
    if DB:
        ok = sqlite3.connect(DB).execute("PRAGMA integrity_check").fetchone()[0]
        report["integrity_check"] = ok
        if ok != "ok": violation(f"PRAGMA integrity_check: {ok}")
    starts = sorted(figures["start_s"])
    report["starts"] = {"count": len(starts), "median_s": round(starts[len(starts) // 2], 2), "max_s": round(starts[-1], 2)}
    if figures["sigterm_exit_s"]: report["sigterm_exit_max_s"] = round(max(figures["sigterm_exit_s"]), 2)
    for what in ("running_at_kill", "queued_at_kill"):
        v = sorted(figures[what]); report[what] = {"median": v[len(v) // 2], "max": v[-1]}
    report["streams"] = {"to_end": len(figures["streams_to_end"]), "cut": len(figures["streams_cut"])}
    report["answers"] = {" ".join(map(str, k)): v for k, v in sorted(statuses.items(), key=lambda x: -x[1])
                         if not (k[2] in (200, 201, 202) or (k[0], k[2]) == ("DELETE", 400))}
    report["violations"] = violations
    with open(os.path.join(OUT, "report.json"), "w") as f: json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
finally:
    stop.set()
    for n in NODES if "NODES" in globals() else []:
        if n.proc and n.proc.poll() is None: os.killpg(n.proc.pid, signal.SIGKILL)
    if PG: PG.stop()
sys.exit(1 if violations else 0)
