#!/usr/bin/env python3
"""Upgrade in place from older builds of AgentCorex: each old build runs on a fresh data folder (and a fresh PostgreSQL
database), is given what a user has (keys, jobs in every state, webhooks and their deliveries), is stopped by SIGTERM
or kill -9 with jobs queued and running, and this checkout's build is started on the same data and checked through the
API. Python 3, standard library only; see README.md beside it."""
import argparse, base64, collections, hashlib, hmac, http.client, http.server, json, os, re, shutil, signal, socket, \
    sqlite3, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import webhook_signatures  # noqa: E402

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--commits", default="1406368,396ecfc,29de3fa,aa54aa4",
               help="old commits, oldest first (default: jobs+PostgreSQL, webhooks, plans/limits, recent)")
p.add_argument("--modes", default="embedded,postgres")
p.add_argument("--stops", default="sigterm,kill")
p.add_argument("--out", default="/tmp/agentcorex-upgrade")
p.add_argument("--worktrees", help="folder of the old builds' worktrees (wt-old-SHA); default OUT/src; one already there is reused")
p.add_argument("--keep-worktrees", action="store_true", help="leave the worktrees this run made")
p.add_argument("--no-build", action="store_true", help="use the builds already in the worktrees and this checkout")
p.add_argument("--pg-bin", default="/usr/lib/postgresql/15/bin")
p.add_argument("--rolling", metavar="OLD",
               help="instead, a rolling upgrade from commit OLD (same schema): an old and a new node side by side on PostgreSQL, for each of --stops")
a = p.parse_args()

OUT = os.path.abspath(a.out)
WT = os.path.abspath(a.worktrees or os.path.join(OUT, "src"))
PG_AS = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
FINAL = {"completed", "failed", "timeout", "canceled"}
problems = []          # (scenario, what)
scenario = "-"


def problem(what):
    problems.append((scenario, what))
    print(f"  PROBLEM [{scenario}]: {what}", flush=True)


def check(ok, what):
    if not ok: problem(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# ---------- builds ----------
made_worktrees = []


def build(root, label):
    print(f"build {label}", flush=True)
    log = open(os.path.join(OUT, f"build-{label}.log"), "w")
    run(["dotnet", "build", os.path.join(root, "AgentCorex.Web"), "-c", "Release", "-nologo", "-v", "q"], stdout=log, stderr=log)
    # The side-effect tool is built against this build's own plugin contract, in its tree (its package versions).
    plugin_src = os.path.join(root, "upgrade-plugin") if root != ROOT else os.path.join(HERE, "SideEffectPlugin")
    if root != ROOT:
        shutil.rmtree(plugin_src, ignore_errors=True)
        shutil.copytree(os.path.join(HERE, "SideEffectPlugin"), plugin_src, ignore=shutil.ignore_patterns("bin", "obj"))
    plugin_out = os.path.join(OUT, f"plugin-{label}")
    run(["dotnet", "build", plugin_src, "-c", "Release", "-nologo", "-v", "q", f"-p:AgentCorexRoot={root}/", "-o", plugin_out],
        stdout=log, stderr=log)


def app_of(root):
    return os.path.join(root, "AgentCorex.Web", "bin", "Release", "net10.0", "AgentCorex.Web.dll")


def worktree(sha):
    path = os.path.join(WT, f"wt-old-{sha}")
    if not os.path.isdir(path):
        os.makedirs(WT, exist_ok=True)
        run(["git", "-C", ROOT, "worktree", "add", "-q", "--detach", path, sha])
        made_worktrees.append(path)
    return path


# ---------- PostgreSQL ----------
class Postgres:
    def __init__(self):
        self.dir, self.port = os.path.join(OUT, "pg"), free_port()
        shutil.rmtree(self.dir, ignore_errors=True); os.makedirs(self.dir)
        if PG_AS: shutil.chown(OUT, "postgres"); shutil.chown(self.dir, "postgres")
        pg = lambda *args: run(PG_AS + [os.path.join(a.pg_bin, args[0]), *args[1:]], stdout=subprocess.DEVNULL)
        pg("initdb", "-D", self.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
        pg("pg_ctl", "-D", self.dir, "-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60",
           "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200", "start")

    def database(self, name):
        self.query(f"CREATE DATABASE {name}", db="postgres")
        return f"Host=127.0.0.1;Port={self.port};Username=postgres;Database={name}"

    def query(self, sql, db):
        r = subprocess.run([os.path.join(a.pg_bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
                            "-qAt", "-F", "\x1f", "-c", sql], check=True, capture_output=True, text=True)
        return [line.split("\x1f") for line in r.stdout.splitlines()]

    def stop(self):
        subprocess.run(PG_AS + [os.path.join(a.pg_bin, "pg_ctl"), "-D", self.dir, "-m", "fast", "-w", "stop"], stdout=subprocess.DEVNULL)


# ---------- a webhook receiver for every scenario ----------
received = collections.defaultdict(list)   # path -> [(headers, body)]
received_lock = threading.Lock()
failing = set()                            # paths answered 500 (a receiver down across the upgrade)


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keeps connections open: builds before a0d7b01 reused them whatever the receiver said

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        answer = 500 if self.path in failing else 200
        with received_lock: received[self.path].append((dict(self.headers), body, answer))
        self.send_response(answer); self.send_header("Content-Length", "0"); self.end_headers()

    def log_message(self, *args): pass


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
receiver.daemon_threads = True
threading.Thread(target=receiver.serve_forever, daemon=True).start()
HOOK = f"http://127.0.0.1:{receiver.server_address[1]}"


def signed_as_old(secret, headers, body):
    """Before 1c99780 X-AgentCorex-Signature was keyed with the secret's decoded bytes; webhook-signature is unchanged."""
    key = base64.b64decode(secret[len("whsec_"):])
    wid, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    v1 = "v1," + base64.b64encode(hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(s, v1) for s in headers.get("webhook-signature", "").split(" "))


# ---------- a server process ----------
class Server:
    def __init__(self, app, env, data, log):
        self.port, self.log = free_port(), log
        env = dict(os.environ, **env, ASPNETCORE_URLS=f"http://127.0.0.1:{self.port}", Urls=f"http://127.0.0.1:{self.port}")
        with open(log, "a") as f:
            f.write(f"\n===== {app} at {time.strftime('%H:%M:%S')} =====\n"); f.flush()
            self.proc = subprocess.Popen(["dotnet", app], cwd=data, env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        t0 = time.time()
        while time.time() - t0 < 120:
            if self.proc.poll() is not None:
                raise RuntimeError(f"exited with {self.proc.returncode} at start (see {log})")
            if self.call("GET", "/health/ready", timeout=2)[0] == 200:
                self.start_s = time.time() - t0
                return
            time.sleep(0.2)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"not ready within 120 s (see {log})")

    def call(self, method, path, key=None, body=None, timeout=30, headers=None, raw=False):
        h = dict(headers or {})
        if body is not None: h["Content-Type"] = "application/json"
        if key: h["Authorization"] = "Bearer " + key
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=json.dumps(body).encode() if body is not None else None, headers=h)
            r = conn.getresponse(); data = r.read()
        except (OSError, http.client.HTTPException):
            return None, None, {}
        finally: conn.close()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if raw: return r.status, data, hdrs
        try: return r.status, (json.loads(data) if data else None), hdrs
        except ValueError: return r.status, None, hdrs

    def stop(self, sig):
        try: os.killpg(self.proc.pid, sig)   # this server's own process group (start_new_session)
        except ProcessLookupError: pass
        try: self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            problem(f"no exit within 90 s of {signal.Signals(sig).name}")
            os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait()
        return self.proc.returncode


def poll(what, fn, deadline_s):
    """fn() until it returns something true, for up to deadline_s: the value, or None with a problem."""
    end = time.time() + deadline_s
    while True:
        v = fn()
        if v: return v
        if time.time() > end:
            problem(f"{what}: not within {deadline_s} s"); return None
        time.sleep(0.25)


# ---------- one scenario ----------
def server_env(sha, connection_string=None):
    """The settings of every server of a scenario: the old build's plugin, 3 tool workers, short stops and sweeps; and,
    given a PostgreSQL database, that database with a dead node's jobs taken over soon."""
    env = {"Tools__PluginPaths__0": os.path.join(OUT, f"plugin-{sha}", "SideEffectPlugin.dll"),
           "Network__AllowPrivateTargets": "true", "Jobs__WorkerCount": "3", "Jobs__ShutdownTimeout": "00:00:03",
           "Jobs__QueuePollInterval": "00:00:01",
           # A delivery whose retry a restart lost is enqueued again once so far past due (2 min by default).
           "Webhooks__RepairGrace": "00:00:10", "Webhooks__SweepInterval": "00:00:05"}
    if connection_string:
        # A dead node's running jobs are taken over once their Hangfire job is invisible this long (5 min by default).
        env.update({"Storage__Provider": "PostgreSql", "ConnectionStrings__AgentCorex": connection_string, "Jobs__InvisibilityTimeout": "00:00:30"})
    return env


def printed_admin_key(log):
    """The bootstrap admin key a server printed to its log, or None: printed once it listens, a moment after it may answer ready."""
    for _ in range(50):
        m = re.search(r"(acx_[A-Za-z0-9_]+)", open(log).read())
        if m: return m.group(1)
        time.sleep(0.1)
    return None


def scenario_run(sha, old_root, mode, stop, pg):
    global scenario
    scenario = f"{sha}-{mode}-{stop}"
    print(f"scenario {scenario}", flush=True)
    base = os.path.join(OUT, scenario)
    shutil.rmtree(base, ignore_errors=True)
    data = os.path.join(base, "data"); os.makedirs(data)
    log = os.path.join(base, "server.log")
    db = f"up_{sha}_{stop}" if mode == "postgres" else None
    env = server_env(sha, pg.database(db) if db else None)

    def ledger(sql):
        if pg: return pg.query(sql, db)
        c = sqlite3.connect(f"file:{os.path.join(data, 'data', 'agentcorex.db')}?mode=ro", uri=True, timeout=30)
        try: return [[str(v) if v is not None else "" for v in row] for row in c.execute(sql)]
        finally: c.close()

    if pg:
        # A configured admin key here (its jobs are owned by key_configured_admin), the printed one on the embedded default.
        env["Auth__AdminKey"] = "upgrade-configured-admin-key-0123456789"

    # --- the old build ---
    old = Server(app_of(old_root), env, data, log)
    m = None if "Auth__AdminKey" in env else printed_admin_key(log)
    if not check(m or "Auth__AdminKey" in env, "the old build printed no admin key"): old.stop(signal.SIGKILL); return
    keys = {"boot": {"api_key": env.get("Auth__AdminKey") or m, "admin": True, "stored": "Auth__AdminKey" not in env}}
    for name, plan, admin in [("admin2", "enterprise", True), ("plain", "pro", False), ("free", "free", False)]:
        s, js, _ = old.call("POST", "/api_keys", keys["boot"]["api_key"], {"name": f"upgrade {name}", "plan": plan, "admin": admin})
        if not check(s in (200, 201), f"old POST /api_keys {name}: {s} {js}"): old.stop(signal.SIGKILL); return
        keys[name] = {"api_key": js["api_key"], "key_id": js["key_id"], "admin": admin}
    has_webhooks = old.call("GET", "/webhooks", keys["plain"]["api_key"])[0] == 200
    hook = None
    if has_webhooks:
        s, js, _ = old.call("POST", "/webhooks", keys["plain"]["api_key"], {
            "url": f"{HOOK}/{scenario}", "events": ["job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout"]})
        if check(s == 201, f"old POST /webhooks: {s} {js}"):
            hook = {"id": js["webhook_id"], "secret": js["secret"], "path": f"/{scenario}"}
        # admin2's receiver is down until the new build runs: its deliveries are pending (a retry due) at the stop.
        down = f"/{scenario}/down"
        failing.add(down)
        s, js, _ = old.call("POST", "/webhooks", keys["admin2"]["api_key"], {"url": f"{HOOK}{down}", "events": ["job.completed"]})
        if check(s == 201, f"old POST /webhooks (admin2): {s} {js}"):
            hook["down"] = {"id": js["webhook_id"], "secret": js["secret"], "path": down}

    jobs = {}   # job_id -> {"key", "tool", "args", "label"}

    def submit(label, key, tool, args, timeout_ms=None):
        body = {"tool": tool, "arguments": args}
        if timeout_ms: body["timeout_ms"] = timeout_ms
        s, js, _ = old.call("POST", "/jobs/submit", keys[key]["api_key"], body)
        if not check(s == 202, f"old submit {label}: {s} {js}"): return None
        jobs[js["job_id"]] = {"key": key, "tool": tool, "args": args, "label": label}
        return js["job_id"]

    def status(server, jid, key="boot"):
        """Read with the admin key while polling: a free key's request limit would soon refuse the polls."""
        s, js, _ = server.call("GET", f"/jobs/{jid}", keys[key]["api_key"])
        return js if s == 200 else None

    def until(server, jid, states, deadline=60):
        return poll(f"{jobs[jid]['label']} to be {'/'.join(states)}", lambda: (lambda j: j if j and j["status"] in states else None)(status(server, jid)), deadline)

    # Jobs that end before the stop: one of each final state.
    done = [submit("completed echo", "plain", "echo", {"message": "from the old build"}),
            submit("failed fail", "plain", "fail", {"message": "old failure", "code": "OLD_FAILURE"}),
            submit("timeout wait", "plain", "wait", {"duration_ms": 5000}, timeout_ms=300),
            submit("admin echo", "admin2", "echo", {"message": "admin's"}),
            submit("boot admin's echo", "boot", "echo", {"message": "the first admin key's"})]
    for jid in filter(None, done): until(old, jid, FINAL, 30)
    if hook:   # their events reached the receiver, and admin2's was refused, before any job is left running
        poll("the old build's deliveries", lambda: len(received[hook["path"]]) >= 9, 30)
        if "down" in hook: poll("the old build's attempt at the receiver that is down", lambda: received[hook["down"]["path"]], 30)
    # Three running (the workers are 3): two safe to retry (wait), one not; then queued ones behind them.
    running = [submit("running wait", "plain", "wait", {"duration_ms": 15000, "steps": 15}),
               submit("running side effect", "plain", "upgrade_side_effect", {"duration_ms": 15000}),
               submit("running admin wait", "admin2", "wait", {"duration_ms": 12000, "steps": 4})]
    for jid in filter(None, running): until(old, jid, {"running"}, 30)
    queued = [submit("queued wait", "plain", "wait", {"duration_ms": 500, "steps": 2}),
              submit("queued side effect", "plain", "upgrade_side_effect", {"duration_ms": 300}),
              submit("queued admin echo", "admin2", "echo", {"message": "queued"}),
              submit("queued free wait 1", "free", "wait", {"duration_ms": 300}),
              submit("queued free wait 2", "free", "wait", {"duration_ms": 300})]
    canceled = submit("canceled wait", "plain", "wait", {"duration_ms": 1000})
    if canceled:
        s, js, _ = old.call("DELETE", f"/jobs/{canceled}", keys["plain"]["api_key"])
        check(s == 200 and js and js.get("status") == "canceled", f"old DELETE queued job: {s} {js}")
    time.sleep(2)   # a step of progress on the running ones
    before = {jid: status(old, jid) for jid in jobs}

    # --- the stop ---
    rc = old.stop(signal.SIGTERM if stop == "sigterm" else signal.SIGKILL)
    if stop == "sigterm": check(rc == 0, f"the old build exited {rc} on SIGTERM")
    old_deliveries = list(received[hook["path"]]) if hook else []   # all the old build sent, now that it is gone
    for h, body, _ in old_deliveries:
        check(signed_as_old(hook["secret"], h, body), f"an old build's delivery with a bad webhook-signature: {body[:80]!r}")
    left = {r[0]: r[1] for r in ledger("SELECT job_id, status FROM jobs")}
    print(f"  left by the old build: {collections.Counter(left.values())}", flush=True)

    # --- this checkout's build on the same data ---
    try:
        new = Server(app_of(ROOT), env, data, log)
    except RuntimeError as e:
        problem(f"the new build did not start: {e}"); return
    print(f"  new build ready in {new.start_s:.1f} s", flush=True)
    if hook and "down" in hook: failing.discard(hook["down"]["path"])   # the receiver is back
    try:
        check_new(new, keys, jobs, before, left, hook, old_deliveries, until, status)
        # The dashboard's job pages, also of the Hangfire jobs an old build made (kept by PostgreSQL's storage).
        auth = {"Authorization": "Basic " + base64.b64encode(b"x:" + keys["boot"]["api_key"].encode()).decode()}
        hangfire_ids = [r[0] for r in ledger("SELECT hangfire_id FROM jobs WHERE hangfire_id IS NOT NULL AND hangfire_id <> ''")]
        for job_id, attempt in ledger("SELECT job_id, attempt FROM jobs WHERE tool = 'upgrade_side_effect'"):
            check(int(attempt or 0) <= 1, f"{jobs[job_id]['label']}, not safe to retry, started {attempt} times")
        for hid in hangfire_ids:
            s, body, _ = new.call("GET", f"/hangfire/jobs/details/{hid}", headers=auth, raw=True)
            check(s == 200, f"dashboard job page of Hangfire job {hid}: {s} {(body or b'')[:200]!r}")
    finally:
        check(new.stop(signal.SIGTERM) == 0, "the new build did not exit 0 on SIGTERM")


def check_new(new, keys, jobs, before, left, hook, old_deliveries, until, status):
    # Every key authenticates with the same secret, and keeps its role.
    for name, k in keys.items():
        s, _, _ = new.call("GET", "/jobs", k["api_key"])
        check(s == 200, f"key {name} no longer authenticates: GET /jobs {s}")
        s, _, _ = new.call("GET", "/api_keys", k["api_key"])
        check(s == (200 if k["admin"] else 403), f"key {name}: GET /api_keys {s}")
    s, js, _ = new.call("GET", "/api_keys?limit=100", keys["boot"]["api_key"])
    if check(s == 200, f"GET /api_keys {s}"):
        listed = {k["key_id"] for k in js["api_keys"]}
        check(all(k["key_id"] in listed for n, k in keys.items() if n != "boot") and js["pagination"]["total"] == len(keys) - (0 if keys["boot"]["stored"] else 1),
              f"GET /api_keys lists {len(listed)} keys, total {js['pagination']['total']}; {len(keys)} made")
    # Sent with an Idempotency-Key, which the jobs table takes since 0f1d023, then again: one job.
    idem = {"Idempotency-Key": "upgrade-%d" % time.time_ns()}
    s, after, h = new.call("POST", "/jobs/submit", keys["plain"]["api_key"], {"tool": "echo", "arguments": {"message": "after"}}, headers=idem)
    check(s == 202 and "x-ratelimit-limit" in h, f"a pro key's submit after the upgrade: {s}, rate-limit headers {'x-ratelimit-limit' in h}")
    s2, again, h2 = new.call("POST", "/jobs/submit", keys["plain"]["api_key"], {"tool": "echo", "arguments": {"message": "after"}}, headers=idem)
    check(s2 == 202 and after and again and again.get("job_id") == after.get("job_id") and h2.get("idempotent-replayed") == "true",
          f"that submit again with its Idempotency-Key: {s2} {again}, Idempotent-Replayed {h2.get('idempotent-replayed')!r}, not {after and after.get('job_id')}")

    # Every job ends as the rules say, in the contract's shape.
    final = {}
    for jid, j in jobs.items():
        was, kept = before[jid]["status"], left.get(jid)
        js = until(new, jid, FINAL, 90)
        if not js: continue
        final[jid] = js
        check(status(new, jid, j["key"]) == js, f"{j['label']}: its owner reads it otherwise than an admin key: {status(new, jid, j['key'])}")
        for f in ("job_id", "status", "tool", "created_at"):
            check(f in js, f"{j['label']}: no {f} in {js}")
        check(js["tool"] == j["tool"] and js["created_at"] == before[jid]["created_at"], f"{j['label']}: tool or created_at changed: {js}")
        if was in FINAL:
            same = {k: before[jid].get(k) for k in ("status", "result", "error", "started_at", "completed_at")}
            now = {k: js.get(k) for k in same}
            check(same == now, f"{j['label']}: a finished job changed: {same} -> {now}")
            continue
        if kept in FINAL and kept != "canceled":
            continue   # the old build's SIGTERM ended it itself (its own rules), nothing left for the new one
        safe = j["tool"] != "upgrade_side_effect"
        if kept == "running" and not safe:
            check(js["status"] == "failed" and (js.get("error") or {}).get("code") == "SERVER_RESTARTED",
                  f"{j['label']}, interrupted, not safe to retry: {js}")
        elif kept == "canceled":
            check(js["status"] == "canceled", f"{j['label']}: {js}")
        else:
            check(js["status"] == "completed", f"{j['label']} (left {kept}) should have run to completion: {js}")
        if js["status"] == "completed":
            expect = {"echo": {"message": j["args"].get("message")}, "wait": {"waited_ms": j["args"].get("duration_ms")},
                      "upgrade_side_effect": {"waited_ms": j["args"].get("duration_ms")}}[j["tool"]]
            check(js.get("result") == expect and isinstance(js.get("execution_time_ms"), int) and "started_at" in js and "completed_at" in js,
                  f"{j['label']}: completed without its result or times: {js}")
        if js["status"] in ("failed", "timeout"):
            check(isinstance(js.get("error"), dict) and js["error"].get("code") and js["error"].get("message"), f"{j['label']}: no error: {js}")

    # The free key's one execution at once still holds: the slots its old jobs held were counted and given back.
    pair = [new.call("POST", "/jobs/submit", keys["free"]["api_key"], {"tool": "wait", "arguments": {"duration_ms": 1500}})[1] for _ in range(2)]
    if check(all(pj and "job_id" in pj for pj in pair), f"the free key's submits after the upgrade: {pair}"):
        both_running, end = False, time.time() + 30
        while time.time() < end:
            now = [new.call("GET", f"/jobs/{pj['job_id']}", keys["boot"]["api_key"])[1]["status"] for pj in pair]
            both_running |= now == ["running", "running"]
            if all(st == "completed" for st in now): break
            time.sleep(0.1)
        check(not both_running and all(st == "completed" for st in now), f"the free key's two jobs (1 at once): {now}, both running at once: {both_running}")
        for pj in pair: jobs[pj["job_id"]] = {"key": "free", "tool": "wait", "args": {"duration_ms": 1500}, "label": "free wait after"}
        for pj in pair: final[pj["job_id"]] = new.call("GET", f"/jobs/{pj['job_id']}", keys["boot"]["api_key"])[1]
        for pj in pair: before[pj["job_id"]] = {"status": "submitted after"}

    print(f"  ended under the new build: {collections.Counter((jobs[jid]['tool'], v['status']) for jid, v in final.items() if before[jid]['status'] not in FINAL)}", flush=True)

    # Listing and totals, per key and for an admin key; a tool's metrics over an admin key's (all) jobs.
    if after: poll("the job submitted after the upgrade to complete",
                   lambda: new.call("GET", f"/jobs/{after['job_id']}", keys["plain"]["api_key"])[1].get("status") == "completed", 30)
    for name, k in keys.items():
        s, js, _ = new.call("GET", "/jobs?limit=100", k["api_key"])
        if not check(s == 200, f"GET /jobs as {name}: {s}"): continue
        mine = [jid for jid, j in jobs.items() if j["key"] == name]
        expected = len(jobs) + 1 if k["admin"] else len(mine) + (1 if name == "plain" else 0)
        check(js["pagination"]["total"] == expected and len(js["jobs"]) == expected,
              f"GET /jobs as {name}: total {js['pagination']['total']}, {len(js['jobs'])} listed, {expected} expected")
        for st in ("completed", "failed", "timeout", "canceled", "queued", "running"):
            s, js, _ = new.call("GET", f"/jobs?status={st}&limit=100", k["api_key"])
            pool = final if k["admin"] else {jid: v for jid, v in final.items() if jobs[jid]["key"] == name}
            n = sum(1 for v in pool.values() if v["status"] == st) + (1 if st == "completed" and (k["admin"] or name == "plain") else 0)
            check(s == 200 and js["pagination"]["total"] == n, f"GET /jobs?status={st} as {name}: {js and js['pagination']} ({n} expected)")
    for tool in ("echo", "wait", "fail", "upgrade_side_effect"):
        s, js, _ = new.call("GET", f"/tools/{tool}/metrics", keys["boot"]["api_key"])
        if not check(s == 200, f"GET /tools/{tool}/metrics: {s} {js}"): continue
        c = collections.Counter(v["status"] for jid, v in final.items() if jobs[jid]["tool"] == tool)
        if tool == "echo": c["completed"] += 1
        want = {"total_jobs": sum(c.values()), **{st: c[st] for st in ("completed", "failed", "timeout", "canceled")}}
        got = {k: js.get(k) for k in want}
        check(got == want, f"/tools/{tool}/metrics: {got}, {want} expected")

    # Webhooks: still there, the old deliveries listed, the new events delivered and signed as README says now.
    if hook:
        s, js, _ = new.call("GET", "/webhooks", keys["plain"]["api_key"])
        check(s == 200 and any(w["webhook_id"] == hook["id"] for w in js.get("webhooks", [])), f"GET /webhooks after: {s} {js}")
        ended_after = [jid for jid in final if jobs[jid]["key"] == "plain" and before[jid]["status"] not in FINAL]
        def delivered():
            bodies = [json.loads(b) for _, b, _ in received[hook["path"]][len(old_deliveries):]]
            return all(any(b["job"]["job_id"] == jid and b["event"] == "job." + final[jid]["status"] for b in bodies) for jid in ended_after)
        poll("the final events of the jobs that ended after the upgrade to be delivered", delivered, 60)
        for h, body, _ in received[hook["path"]][len(old_deliveries):]:
            check(webhook_signatures.valid(hook["secret"], h, body), f"a new build's delivery not signed as README says: {body[:100]!r}")
        s, js, _ = new.call("GET", f"/webhooks/{hook['id']}/deliveries?limit=100", keys["plain"]["api_key"])
        if check(s == 200, f"GET deliveries: {s} {js}"):
            ids = {h.get("webhook-id") for h, _, _ in old_deliveries}
            listed = {d.get("delivery_id") for d in js.get("deliveries", [])}
            check(ids <= listed, f"the old build's deliveries are not all listed: {len(ids - listed)} missing of {len(ids)}")
        if "down" in hook:   # the delivery pending at the stop is retried by the new build, signed as it signs now
            down = hook["down"]
            admin_echo = next(jid for jid, j in jobs.items() if j["label"] == "admin echo")
            def delivery():
                s, js, _ = new.call("GET", f"/webhooks/{down['id']}/deliveries", keys["admin2"]["api_key"])
                d = [d for d in (js or {}).get("deliveries", []) if d.get("job_id") == admin_echo]
                return d[0] if s == 200 and d and d[0].get("status") == "delivered" else None
            # Its retries come 5 s, 20 s, 80 s (and jitter) after the first attempt.
            if poll("the delivery pending at the stop to be delivered by the new build", delivery, 150):
                ok = [h for h, b, answer in received[down["path"]]
                      if answer == 200 and json.loads(b)["job"]["job_id"] == admin_echo and webhook_signatures.valid(down["secret"], h, b)]
                check(ok, "the delivery pending at the stop reached its receiver without the signatures README describes")

    # The dashboard opens, for the admin key.
    auth = {"Authorization": "Basic " + base64.b64encode(b"x:" + keys["boot"]["api_key"].encode()).decode()}
    for page in ("/hangfire", "/hangfire/jobs/succeeded", "/hangfire/jobs/failed", "/hangfire/jobs/deleted", "/hangfire/servers",
                 "/hangfire/jobs/enqueued", "/hangfire/tools", "/hangfire/jobs/timeout", "/hangfire/jobs/canceled", "/hangfire/jobs/interrupted"):
        s, body, _ = new.call("GET", page, headers=auth, raw=True)
        check(s == 200 and b"<html" in (body or b"").lower(), f"dashboard {page}: {s}")


# ---------- a rolling upgrade: two builds side by side on one PostgreSQL database ----------
LOG_LEVELS = re.compile(r"^\S+ (warn|fail|crit): (\S+)")


def log_lines(log, levels=("warn", "fail", "crit")):
    """The log's entries of those levels, each as 'level: category first line of its message'."""
    lines, out = open(log).read().splitlines(), []
    for i, line in enumerate(lines):
        m = LOG_LEVELS.match(line)
        if m and m.group(1) in levels:
            out.append(f"{m.group(1)}: {m.group(2)} {lines[i + 1].strip() if i + 1 < len(lines) else ''}")
    return out


def rolling_run(sha, old_root, stop, pg):
    """Node A on the old build and node B on this checkout's, one database, both taking jobs; then A stopped (SIGTERM or
    kill -9) with jobs running and started again on this checkout's build; then B killed -9 mid-run and started again."""
    global scenario
    scenario = f"rolling-{sha}-{stop}"
    print(f"scenario {scenario}", flush=True)
    base = os.path.join(OUT, scenario)
    shutil.rmtree(base, ignore_errors=True)
    db = f"roll_{sha}_{stop}"
    # Timed lines: the two nodes' logs are read side by side.
    env = dict(server_env(sha, pg.database(db)), Logging__Console__FormatterName="simple",
               Logging__Console__FormatterOptions__TimestampFormat="HH:mm:ss.fff ", Logging__Console__FormatterOptions__UseUtcTimestamp="true")
    logs, data = {}, {}
    for name in ("A", "B"):
        data[name] = os.path.join(base, f"data-{name}"); os.makedirs(data[name])
        logs[name] = os.path.join(base, f"node-{name}.log")
    nodes, builds, pids = {}, {}, {}   # name -> Server; name -> its build ("old"/"new"); every pid a node had -> (name, build)

    def start(name, build):
        nodes[name] = Server(app_of(old_root if build == "old" else ROOT), env, data[name], logs[name])
        builds[name], pids[nodes[name].proc.pid] = build, (name, build)
        print(f"  node {name} ({build} build) ready in {nodes[name].start_s:.1f} s", flush=True)

    def call(name, method, path, key, body=None):
        s, js, h = nodes[name].call(method, path, keys[key]["api_key"] if key else None, body)
        check(s is not None and s < 500, f"node {name} ({builds[name]}): {method} {path}: {s} {js}")
        return s, js

    def status(name, jid):
        s, js = call(name, "GET", f"/jobs/{jid}", "boot")
        return js if s == 200 else None

    def until(name, jid, states, deadline=60):
        return poll(f"{jobs[jid]['label']} to be {'/'.join(states)} (read on {name})",
                    lambda: (lambda j: j if j and j["status"] in states else None)(status(name, jid)), deadline)

    jobs = {}   # job_id -> {"key", "tool", "args", "label", "via"}

    def submit(name, label, key, tool, args, timeout_ms=None):
        body = {"tool": tool, "arguments": args, **({"timeout_ms": timeout_ms} if timeout_ms else {})}
        s, js = call(name, "POST", "/jobs/submit", key, body)
        if not check(s == 202, f"submit {label} on {name}: {s} {js}"): return None
        jobs[js["job_id"]] = {"key": key, "tool": tool, "args": args, "label": f"{label} (via {name}, {builds[name]})", "via": builds[name]}
        return js["job_id"]

    def runs():
        """How many runs of the jobs submitted through each build each build's workers made: a Hangfire run's server id
        holds the pid of its node's process."""
        ran = collections.Counter()
        for job_id, server in pg.query("SELECT h.arguments::json->>0, s.data::json->>'ServerId' FROM hangfire.job h "
                                       "JOIN hangfire.state s ON s.jobid = h.id AND s.name = 'Processing'", db):
            jid, pid = json.loads(job_id), int(server.split(":")[-2])
            if jid in jobs: ran[(jobs[jid]["via"], pids.get(pid, ("?", "?"))[1])] += 1
        return ran

    def same_on_both(what, path, key):
        """The answer of path on both nodes: the same status and body."""
        (sa, ja), (sb, jb) = call("A", "GET", path, key), call("B", "GET", path, key)
        check(sa == sb == 200 and ja == jb, f"{what} reads otherwise on A ({builds['A']}) and B ({builds['B']}): {sa} {ja} / {sb} {jb}")
        return ja

    # --- A on the old build, B on this checkout's, one database ---
    start("A", "old")
    boot = printed_admin_key(logs["A"])
    if not check(boot, "the old node printed no admin key"): nodes["A"].stop(signal.SIGKILL); return
    keys = {"boot": {"api_key": boot, "admin": True}}
    try:
        start("B", "new")
        check(not printed_admin_key(logs["B"]), "the new node printed an admin key of its own on a database that has one")
        for name, plan, admin, via in [("plain", "pro", False, "A"), ("free", "free", False, "B"), ("admin2", "enterprise", True, "B")]:
            s, js = call(via, "POST", "/api_keys", "boot", {"name": f"rolling {name}", "plan": plan, "admin": admin})
            if not check(s in (200, 201), f"POST /api_keys {name} on {via}: {s} {js}"): return
            keys[name] = {"api_key": js["api_key"], "key_id": js["key_id"], "admin": admin}
        same_on_both("GET /api_keys", "/api_keys?limit=100", "boot")
        # The plain key's webhook for every event, made on the new node: each node sends the events of the jobs it ends.
        path = f"/{scenario}"
        s, js = call("B", "POST", "/webhooks", "plain", {
            "url": f"{HOOK}{path}", "events": ["job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout"]})
        hook = {"id": js["webhook_id"], "secret": js["secret"], "path": path} if check(s == 201, f"POST /webhooks on B: {s} {js}") else None
        same_on_both("GET /webhooks", "/webhooks", "plain")

        # Jobs that end at once, from each node; each reads the same from both.
        done = []
        for n in ("A", "B"):
            done += [submit(n, "echo", "plain", "echo", {"message": f"via {n}"}),
                     submit(n, "fail", "plain", "fail", {"message": f"failure via {n}", "code": "ROLLING_FAILURE"}),
                     submit(n, "timeout wait", "plain", "wait", {"duration_ms": 5000}, timeout_ms=300),
                     submit(n, "admin echo", "admin2", "echo", {"message": "admin's"})]
        for jid in filter(None, done): until("A", jid, FINAL, 30)
        # Six running on the six workers: on each node a wait with progress (safe to retry), a side effect (not), and a
        # wait the other node cancels with force; then queued behind them, a queued one the other node cancels.
        running, force, queued, cancel_queued = [], {}, [], {}
        for n, other in (("A", "B"), ("B", "A")):
            running += [submit(n, "running wait", "plain", "wait", {"duration_ms": 20000, "steps": 20}),
                        submit(n, "running side effect", "plain", "upgrade_side_effect", {"duration_ms": 20000})]
            # admin2's (enterprise): the plain key's 5 at once (pro) are taken by the four above and a queued one.
            force[submit(n, "wait to cancel running", "admin2", "wait", {"duration_ms": 30000, "steps": 10})] = other
        for jid in filter(None, running + list(force)): until("A", jid, {"running"}, 30)
        for n, other in (("A", "B"), ("B", "A")):
            queued += [submit(n, "queued wait", "plain", "wait", {"duration_ms": 1000, "steps": 2}),
                       submit(n, "queued side effect", "plain", "upgrade_side_effect", {"duration_ms": 300}),
                       submit(n, "queued admin echo", "admin2", "echo", {"message": "queued"}),
                       submit(n, "queued free wait", "free", "wait", {"duration_ms": 300})]
            cancel_queued[submit(n, "queued wait to cancel", "plain", "wait", {"duration_ms": 1000})] = other
        for jid, other in cancel_queued.items():
            s, js = call(other, "DELETE", f"/jobs/{jid}", "plain")
            check(s == 200 and js and js.get("status") == "canceled", f"DELETE of {jobs[jid]['label']} on {other}: {s} {js}")
        time.sleep(3)   # steps of progress
        for jid in running:
            if jobs[jid]["tool"] != "wait": continue
            a, b = status("A", jid), status("B", jid)
            pa, pb = (a or {}).get("progress") or {}, (b or {}).get("progress") or {}
            check(pa.get("total_steps") == pb.get("total_steps") == 20 and abs(pa.get("percentage", -99) - pb.get("percentage", 99)) <= 5,
                  f"{jobs[jid]['label']}: its progress reads otherwise on A and B: {a} / {b}")
        for jid, other in force.items():
            s, js = call(other, "DELETE", f"/jobs/{jid}?force=true", "admin2")
            check(s == 200 and js and js.get("status") == "canceled", f"forced DELETE of {jobs[jid]['label']} on {other}: {s} {js}")
        # The canceled runs free their workers: the queued jobs start, on either node.
        for jid in filter(None, queued): until("A", jid, FINAL, 60)
        for jid in list(force) + list(cancel_queued):
            js = same_on_both(jobs[jid]["label"], f"/jobs/{jid}", "boot")
            check(js and js["status"] == "canceled", f"{jobs[jid]['label']}: {js}")
        for jid in filter(None, done + queued): same_on_both(jobs[jid]["label"], f"/jobs/{jid}", "boot")
        # Which worker takes a job is Hangfire's choice: echoes through each build until the other build has run one.
        for via, other in (("A", "B"), ("B", "A")):
            for _ in range(10):
                if runs()[(builds[via], builds[other])]: break
                for jid in filter(None, [submit(via, "echo for the other build", "admin2", "echo", {"message": via}) for _ in range(6)]):
                    until("A", jid, FINAL, 30)
            check(runs()[(builds[via], builds[other])], f"no job submitted through {via} ({builds[via]}) ran on {other} ({builds[other]})")
        # The dashboard of each build shows the Hangfire jobs of both.
        auth = {"Authorization": "Basic " + base64.b64encode(b"x:" + boot.encode()).decode()}
        for (hid,) in pg.query("SELECT hangfire_id FROM jobs WHERE hangfire_id IS NOT NULL", db):
            for n in ("A", "B"):
                s, body, _ = nodes[n].call("GET", f"/hangfire/jobs/details/{hid}", headers=auth, raw=True)
                check(s == 200, f"the dashboard of {n} ({builds[n]}): Hangfire job {hid}: {s} {(body or b'')[:200]!r}")
        finished = {jid: status("A", jid) for jid in jobs if jid in done or jid in force or jid in cancel_queued}

        # --- A stopped with its jobs running, and started again on this checkout's build ---
        more = [submit("B", "wait across A's stop", "plain", "wait", {"duration_ms": 8000, "steps": 4}) for _ in range(2)]
        more += [submit("A", "side effect across A's stop", "plain", "upgrade_side_effect", {"duration_ms": 8000})]
        time.sleep(1)
        rc = nodes["A"].stop(signal.SIGTERM if stop == "sigterm" else signal.SIGKILL)
        if stop == "sigterm": check(rc == 0, f"the old node exited {rc} on SIGTERM")
        print(f"  A ({stop}) left: {collections.Counter(r[0] for r in pg.query('SELECT status FROM jobs', db))}", flush=True)
        start("A", "new")
        for n in ("A", "B"):
            more += [submit(n, "wait after A's upgrade", "plain", "wait", {"duration_ms": 12000, "steps": 4}),
                     submit(n, "side effect after A's upgrade", "plain", "upgrade_side_effect", {"duration_ms": 12000}),
                     submit(n, "echo after A's upgrade", "plain", "echo", {"message": f"via {n}"})]
        time.sleep(4)
        # --- B killed -9 mid-run, and started again ---
        nodes["B"].stop(signal.SIGKILL)
        print(f"  B (kill) left: {collections.Counter(r[0] for r in pg.query('SELECT status FROM jobs', db))}", flush=True)
        start("B", "new")
        more += [submit("B", "echo after B's restart", "plain", "echo", {"message": "last"})]

        # --- every job ends, reads the same from both nodes, and as the rules say ---
        for jid in list(jobs):
            js = until("A", jid, FINAL, 120)
            if not js: continue
            j = jobs[jid]
            check(js == same_on_both(j["label"], f"/jobs/{jid}", "boot"), f"{j['label']}: read otherwise as polled: {js}")
            owner = call("B", "GET", f"/jobs/{jid}", j["key"])[1]
            check(owner == js, f"{j['label']}: its owner reads it otherwise than an admin key: {owner}")
            if jid in finished:
                check(js == finished[jid], f"{j['label']}: a finished job changed: {finished[jid]} -> {js}")
            elif j["tool"] == "upgrade_side_effect":
                check(js["status"] == "completed" or (js["status"] == "failed" and js["error"]["code"] == "SERVER_RESTARTED"),
                      f"{j['label']}: not safe to retry: {js}")
            elif j["tool"] != "fail" and "timeout" not in j["label"]:
                check(js["status"] == "completed", f"{j['label']}: safe to retry, should have completed: {js}")
            if js["status"] == "completed":
                expect = {"echo": {"message": j["args"].get("message")}}.get(j["tool"], {"waited_ms": j["args"].get("duration_ms")})
                check(js.get("result") == expect, f"{j['label']}: completed without its result: {js}")
        ran = runs()
        for job_id, tool, attempt, st, pending, parked, ended in pg.query(
                "SELECT job_id, tool, attempt, status, events_pending, parked, completed_at IS NOT NULL FROM jobs", db):
            check(int(attempt) <= 1 or tool != "upgrade_side_effect", f"{jobs[job_id]['label']}, not safe to retry, started {attempt} times")
            # Parked is left as it was by a cancel (both builds): it means something of a queued job only.
            check(pending == "0" and (parked == "f" or st == "canceled") and ended == "t",
                  f"{jobs[job_id]['label']} ({st}): events_pending {pending}, parked {parked}, completed_at set {ended}")
        print(f"  runs (submitted via build, run by build): {dict(ran)}", flush=True)
        check(ran[("old", "new")] and ran[("new", "old")], f"the builds did not both run jobs the other enqueued: {dict(ran)}")
        # Lists, totals and metrics read the same from both nodes and count every job.
        for name, k in keys.items():
            js = same_on_both(f"GET /jobs as {name}", "/jobs?limit=100", name)
            want = len(jobs) if k["admin"] else sum(1 for j in jobs.values() if j["key"] == name)
            check(js and js["pagination"]["total"] == want, f"GET /jobs as {name}: {js and js['pagination']}, {want} expected")
        final = {jid: status("A", jid) for jid in jobs}
        for tool in ("echo", "wait", "fail", "upgrade_side_effect"):
            js = same_on_both(f"/tools/{tool}/metrics", f"/tools/{tool}/metrics", "boot")
            c = collections.Counter(v["status"] for jid, v in final.items() if v and jobs[jid]["tool"] == tool)
            want = {"total_jobs": sum(c.values()), **{st: c[st] for st in ("completed", "failed", "timeout", "canceled")}}
            check(js and {k: js.get(k) for k in want} == want, f"/tools/{tool}/metrics: {js}, {want} expected")
        print(f"  ended: {collections.Counter((j['tool'], final[jid]['status']) for jid, j in jobs.items() if final[jid])}", flush=True)
        # Each of the plain key's jobs' final event delivered, signed as README says, whichever build sent it.
        if hook:
            def delivered():
                bodies = [json.loads(b) for _, b, _ in received[path]]
                return all(any(b["job"]["job_id"] == jid and b["event"] == "job." + final[jid]["status"] for b in bodies)
                           for jid, j in jobs.items() if j["key"] == "plain" and final[jid])
            poll("the final events of the plain key's jobs to be delivered", delivered, 60)
            for h, body, _ in received[path]:
                check(webhook_signatures.valid(hook["secret"], h, body), f"a delivery not signed as README says: {body[:100]!r}")
            sent = collections.Counter((json.loads(b)["job"]["job_id"], json.loads(b)["event"]) for _, b, _ in received[path])
            print(f"  deliveries: {len(received[path])}, events delivered more than once: {[(jobs[j]['label'], e, n) for (j, e), n in sent.items() if n > 1]}", flush=True)
    finally:
        for name, server in nodes.items():
            if server.proc.poll() is None:
                check(server.stop(signal.SIGTERM) == 0, f"node {name} ({builds[name]}) did not exit 0 on SIGTERM")
        for name in ("A", "B"):
            lines = collections.Counter(log_lines(logs[name]))
            print(f"  node {name} log: {sum(lines.values())} warning/error entries", flush=True)
            for line, n in lines.most_common(): print(f"    {n} x {line[:240]}", flush=True)
            for line in lines:
                if not line.startswith("warn"): problem(f"node {name} logged {line[:200]}")


# ---------- main ----------
def main():
    global scenario
    os.makedirs(OUT, exist_ok=True)
    commits = [a.rolling] if a.rolling else [c.strip() for c in a.commits.split(",") if c.strip()]
    roots = {sha: worktree(sha) for sha in commits}
    if not a.no_build:
        build(ROOT, "head")
        for sha, root in roots.items(): build(root, sha)
    pg = Postgres() if "postgres" in a.modes or a.rolling else None
    try:
        for stop in a.stops.split(",") if a.rolling else []:
            try:
                rolling_run(a.rolling, roots[a.rolling], stop, pg)
            except Exception as e:   # noqa: BLE001 - as below
                problem(f"{type(e).__name__}: {e}")
        for sha in [] if a.rolling else commits:
            for mode in a.modes.split(","):
                for stop in a.stops.split(","):
                    try:
                        scenario_run(sha, roots[sha], mode, stop, pg if mode == "postgres" else None)
                    except Exception as e:   # noqa: BLE001 - one scenario's failure is reported, the others still run
                        problem(f"{type(e).__name__}: {e}")
    finally:
        if pg: pg.stop()
        receiver.shutdown()
        if not a.keep_worktrees:
            for path in made_worktrees: subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", path])
    report = {"commits": commits, "rolling": bool(a.rolling), "modes": "postgres" if a.rolling else a.modes, "stops": a.stops, "problems": [{"scenario": s, "what": w} for s, w in problems]}
    with open(os.path.join(OUT, "report.json"), "w") as f: json.dump(report, f, indent=1)
    print(f"{len(problems)} problem(s); report in {OUT}/report.json")
    sys.exit(1 if problems else 0)


main()
