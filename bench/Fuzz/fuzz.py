#!/usr/bin/env python3
"""Black-box fuzzer of the HTTP API of a started AgentCorex server (standard library only).

Starts a Release server of its own (or takes one already running: --url, --admin-key, --log, --pid), reads the OpenAPI
document it serves, and sends every route every method, then odd paths, query strings, Authorization headers, bodies
(malformed JSON, wrong types for every field, odd numbers and strings, deep nesting, duplicate keys, extra fields),
Content-Types and chunked bodies, Idempotency-Key headers and replays, then random interleavings of submit (with and
without an Idempotency-Key) / GET / DELETE / DELETE?force=true / stream / list / key revoke from several threads.
Every answer is checked (contract.check); every job's states too (jobs.py); so is the server's log (Error or Critical
lines) and its process. How to run it and what it checks: README.md here.
"""
import argparse, collections, http.server, json, os, random, re, shutil, signal, socket, subprocess, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import contract, inputs, jobs, rawhttp

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
p = argparse.ArgumentParser()
p.add_argument("--minutes", type=float, default=10, help="the whole run, the drain and stop excluded")
p.add_argument("--threads", type=int, default=4, help="threads of the random interleavings")
p.add_argument("--pause-ms", type=float, default=40, help="mean pause of each interleaving thread between requests")
p.add_argument("--out", default="/tmp/agentcorex-fuzz")
p.add_argument("--app", help="a published AgentCorex.Web folder; default: dotnet publish -c Release into OUT/app")
p.add_argument("--url", help="a server already started (then --admin-key, and --log and --pid to watch it)")
p.add_argument("--admin-key"); p.add_argument("--log"); p.add_argument("--pid", type=int)
p.add_argument("--seed", type=int, default=None)
a = p.parse_args()
seed = a.seed if a.seed is not None else random.randrange(1 << 30)
random.seed(seed)
OUT = os.path.abspath(a.out)
if os.path.exists(OUT): shutil.rmtree(OUT)
os.makedirs(OUT)


class Report:
    """Counts of everything sent, and the faults found, deduplicated by kind and detail."""
    def __init__(self):
        self.lock = threading.Lock()
        self.by_route = collections.Counter()      # "METHOD template" -> requests
        self.by_class = collections.Counter()      # input class -> requests
        self.statuses = collections.Counter()      # "METHOD template status code" -> answers
        self.faults = collections.OrderedDict()    # (kind, detail) -> {"count", "examples"}
        self.slow = collections.Counter()

    def fault(self, kind, detail, request=None):
        key = (kind, re.sub(r"(job|key|wh|msg)_[a-z0-9]+", r"\1_…", detail)[:300])
        with self.lock:
            entry = self.faults.setdefault(key, {"count": 0, "examples": []})
            entry["count"] += 1
            new = entry["count"] == 1
            if len(entry["examples"]) < 3:
                entry["examples"].append({"detail": detail[:1000], "request": request})
        if new:
            print(f"FAULT {kind}: {detail[:300]}" + (f"\n      {json.dumps(request)[:400]}" if request else ""), flush=True)


R = report = Report()
ledger = jobs.Ledger(report)
stop = threading.Event()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


# ---------- the server ----------
class Server:
    def __init__(self):
        self.proc = None
        if a.url:
            self.port = int(a.url.rsplit(":", 1)[1].strip("/"))
            self.admin, self.log, self.pid = a.admin_key, a.log, a.pid
            return
        app = a.app
        if not app:
            app = os.path.join(OUT, "app")
            print("publishing AgentCorex.Web (Release) ...", flush=True)
            subprocess.run(["dotnet", "publish", os.path.join(REPO, "AgentCorex.Web"), "-c", "Release", "-o", app,
                            "-v", "q", "-nologo"], check=True, stdout=subprocess.DEVNULL)
        self.port = free_port()
        self.admin = "acx_fuzz_" + os.urandom(20).hex()
        self.log = os.path.join(OUT, "server.log")
        data = os.path.join(OUT, "data"); os.makedirs(data)
        env = dict(os.environ, ASPNETCORE_URLS=f"http://127.0.0.1:{self.port}", Auth__AdminKey=self.admin,
                   Logging__Format="json", Network__AllowPrivateTargets="true", Jobs__ShutdownTimeout="00:00:05",
                   ConnectionStrings__AgentCorex="Data Source=" + os.path.join(data, "agentcorex.db"))
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(["dotnet", os.path.join(app, "AgentCorex.Web.dll")], cwd=data, env=env,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        t0 = time.time()
        while time.time() - t0 < 90:
            if self.proc.poll() is not None:
                sys.exit(f"the server exited with {self.proc.returncode} at start (see {self.log})")
            if rawhttp.send(self.port, "GET", "/health/ready", timeout=2).status == 200:
                return
            time.sleep(0.2)
        sys.exit("the server was not ready within 90 s")

    def alive(self):
        if self.proc is not None:
            return self.proc.poll() is None
        if self.pid:
            try: os.kill(self.pid, 0); return True
            except OSError: return False
        return True

    def stop(self):
        """SIGTERM to the server's own process group; it must exit 0 within the shutdown timeout and some."""
        if self.proc is None:
            return
        t0 = time.time()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
            if self.proc.returncode != 0:
                report.fault("exit", f"the server exited with {self.proc.returncode} after SIGTERM")
        except subprocess.TimeoutExpired:
            report.fault("exit", "the server did not exit within 60 s of SIGTERM")
            os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait()
        print(f"server stopped in {time.time() - t0:.1f} s (exit {self.proc.returncode})", flush=True)


def watch_log(path):
    """Every Error or Critical line of the server's log (JSON lines, or the plain format's fail:/crit:)."""
    pos = 0
    while True:
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                f.seek(pos); data = f.read(); pos += len(data) - len(data.split(b"\n")[-1])
            for line in data.split(b"\n")[:-1]:
                level, text = None, line.decode("utf-8", "replace")
                try:
                    js = json.loads(line)
                    level = js.get("LogLevel")
                    text = f"{js.get('Category')}: {js.get('Message')}" + (f" | {js.get('Exception', '')[:600]}" if js.get("Exception") else "")
                except ValueError:
                    if line.startswith((b"fail:", b"crit:")): level = "Error"
                if level in ("Error", "Critical"):
                    report.fault("log-" + level.lower(), text)
                elif level == "Warning":
                    with report.lock: report.slow["log warning: " + text[:120]] += 1
        if stop.is_set() and watch_log.final:
            return
        time.sleep(0.5)
watch_log.final = False


server = Server()
PORT, ADMIN = server.port, server.admin
threading.Thread(target=watch_log, args=(server.log,), daemon=True).start()
doc = contract.Doc(json.loads(rawhttp.send(PORT, "GET", "/openapi/v1.json").body))
KEYS = {"admin": ADMIN}


def error_code(r):
    """The answer's error.code, or None when it is no error in the contract's shape."""
    err = r.json.get("error") if isinstance(r.json, dict) else None
    return err.get("code") if isinstance(err, dict) else None


def fire(cls, method, target, headers=(), body=None, key="admin", timeout=10.0, raw_ok=False, expect_timeout=False,
         stream_seconds=None, reuse=False, slow_ok=False):
    """Sends one request, checks its answer, counts it; returns the response with .json set (or None)."""
    hdrs = list(headers)
    if key is not None and not any(n.lower() == "authorization" for n, _ in hdrs):
        hdrs.append(("Authorization", "Bearer " + KEYS[key]))
    path = target.split("?")[0]
    template = doc.route(path) or ("<other>" if not path.startswith("/hangfire") else "/hangfire/*")
    try:
        conn = rawhttp.Connection(PORT, timeout)
    except OSError as e:
        report.fault("connection", f"connect: {e}"); return None
    try:
        r = conn.request(method, target, hdrs, body, timeout=timeout, stream_seconds=stream_seconds)
        reused = None
        if reuse and not r.closed and r.error is None and r.status not in (408, 413):   # Kestrel closes after these
            reused = conn.request("GET", "/health/live", timeout=5)
    finally:
        conn.close()
    with report.lock:
        report.by_route[f"{method} {template}"] += 1
        report.by_class[cls] += 1
    req = {"class": cls, "method": method, "target": target[:300],
           "headers": [(n, v[:80] if isinstance(v, str) else repr(v[:80])) for n, v in hdrs if n.lower() != "authorization"]
                      + [("Authorization", key or "(given)")],
           "body": (body[:300].decode("utf-8", "replace") + (f"... ({len(body)} bytes)" if len(body) > 300 else ""))
                   if isinstance(body, bytes) else repr(body)[:300] if body is not None else None}
    for kind, detail in contract.check(doc, method, target, r, raw_ok=raw_ok, expect_timeout=expect_timeout):
        report.fault(kind, detail, req)
    if r.error is None and r.elapsed > 3 and not (expect_timeout or slow_ok) and stream_seconds is None:
        report.fault("slow", f"{method} {template} took {r.elapsed:.1f} s", req)
    if reused is not None and (reused.error or reused.status != 200):
        report.fault("connection-reuse", f"after {method} {template} -> {r.status}, the next request on the connection got "
                                         f"{reused.status} {reused.error} {reused.body[:100]!r}", req)
    if not server.alive():
        report.fault("process", f"the server process is gone (after {method} {target[:100]})", req)
        stop.set()
    r.json = None
    if r.body and (r.header("content-type") or "").startswith("application/json"):
        try: r.json = json.loads(r.body)
        except ValueError: pass
    code = error_code(r)
    with report.lock:
        report.statuses[f"{method} {template} {r.status if r.error is None else r.error} {code or ''}".strip()] += 1
    return r


def post_json(path, obj, key="admin", cls="setup"):
    return fire(cls, "POST", path, [("Content-Type", "application/json")], json.dumps(obj).encode(), key=key)


def submit(kind, body, key="admin", cls="interleave"):
    t = time.monotonic()
    r = post_json("/jobs/submit", body, key, cls)
    if r and r.status == 202 and r.json:
        ledger.accepted(r.json["job_id"], kind, body, key)
        ledger.seen(r.json["job_id"], r.json["status"], t, time.monotonic(), "submit")
        return r.json["job_id"]
    return None


# ---------- webhook receiver (some keys have webhooks, so job events and revocations go through deliveries) ----------
class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        code = 500 if random.random() < 0.1 else 200
        self.send_response(code); self.send_header("Content-Length", "0"); self.end_headers()

class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass

receiver = QuietServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
HOOK = f"http://127.0.0.1:{receiver.server_address[1]}/hook"


def make_key(name, plan, admin=False, limits=None):
    body = {"name": name, "plan": plan, "admin": admin}
    if limits is not None: body["rate_limits"] = limits
    r = post_json("/api_keys", body)
    KEYS[name] = r.json["api_key"]
    return r.json["key_id"]


def setup():
    ids = {"ent": make_key("ent", "enterprise"), "ent2": make_key("ent2", "enterprise"), "pro": make_key("pro", "pro"),
           "free": make_key("free", "free"), "revoked": make_key("revoked", "pro"),
           "victim": make_key("victim", "free"),    # the key the sweeps PATCH and DELETE (revoke)
           "patchee": make_key("patchee", "free")}  # the key the bodies PATCH: never revoked, so a body gets past 409
    fire("setup", "DELETE", f"/api_keys/{ids['revoked']}")
    ledger.revoked_keys.add("revoked")
    for k in ("ent", "pro"):
        post_json("/webhooks", {"url": HOOK, "events": ["job.queued", "job.started", "job.completed", "job.failed",
                                                         "job.canceled", "job.timeout"]}, key=k)
    wh = post_json("/webhooks", {"url": HOOK, "events": ["job.completed"]}, key="ent").json["webhook_id"]
    done = submit("echo", {"tool": "echo", "arguments": {"message": "done"}}, "ent", "setup")
    running = submit("long", {"tool": "wait", "arguments": {"duration_ms": 60000, "steps": 60}, "timeout_ms": 120000}, "ent", "setup")
    return {"job_id": [done, running], "key_id": [ids["victim"]], "webhook_id": [wh], "name": ["echo", "wait", "fail"],
            "pro": ids["pro"], "patchee": ids["patchee"]}


def concrete(template, ids):
    return "/".join(random.choice(ids[s[1:-1]]) if s.startswith("{") else s for s in template.split("/"))


VALID_BODY = {
    "/execute_tool": {"tool": "echo", "arguments": {"message": "hi"}, "mode": "sync", "timeout_ms": 5000},
    "/jobs/submit": {"tool": "echo", "arguments": {"message": "hi"}, "timeout_ms": 5000},
    "/api_keys": {"name": "fz", "plan": "free", "admin": False, "rate_limits": {"requests_per_minute": 5, "max_concurrent": 1}},
    "/api_keys/{key_id}": {"name": "fz2", "plan": "pro", "rate_limits": {"requests_per_minute": 50, "max_concurrent": 2},
                           "reset_rate_limits": False},
    "/webhooks": {"url": HOOK, "events": ["job.completed"], "secret": "whsec_" + "QUJD" * 8},
}


def after_body(template, r):
    """Undo what a fuzzed body made, so that the run does not pile up keys and webhooks; remember a job it made."""
    if not r or r.status not in (200, 201, 202) or not isinstance(r.json, dict):
        return
    if "webhook_id" in r.json and template == "/webhooks":
        fire("cleanup", "DELETE", f"/webhooks/{r.json['webhook_id']}")
    if "job_id" in r.json:
        ledger.accepted(r.json["job_id"], "fuzzed", None, "admin")


RUN_END = None   # set when the server is up and the fuzzer's keys are made


def phase(name, share):
    """A phase's deadline: its share of the run at most (the interleavings take whatever the others left)."""
    print(f"--- {name} ({time.strftime('%H:%M:%S')})", flush=True)
    return min(RUN_END, time.monotonic() + share * a.minutes * 60)


def sweep(ids):
    """Every route of the document with every method, with and without a key, with and without a body."""
    end = phase("every route x every method", 0.06)
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "FOO", "get", "CONNECT"]
    extra = ["/", "/openapi/v1.json", "/docs", "/docs/v1", "/docs/nothing", "/hangfire", "/hangfire/jobs/enqueued",
             "/hangfire/stats", "/hangfire/login", "/nothing", "/jobs/submit/x", "/favicon.ico"]
    for template in doc.templates + extra:
        for method in methods:
            for key in ("admin", None, "free"):
                if time.monotonic() > end or stop.is_set(): return
                target = concrete(template, ids)
                body = json.dumps(VALID_BODY.get(template, {"x": 1})).encode() if method in ("POST", "PUT", "PATCH") else None
                hdrs = [("Content-Type", "application/json")] if body else []
                r = fire("method-sweep", method, target, hdrs, body, key=key, raw_ok=method == "CONNECT",
                         timeout=15 if template == "/jobs/{job_id}/stream" else 10, stream_seconds=1)
                after_body(template, r)


def paths(ids):
    end = phase("path oddities", 0.06)
    for template in doc.templates:
        method = "GET"
        for cls, target in inputs.paths_for(template, []):
            for m in (method, "DELETE") if "{" in template else (method,):
                if time.monotonic() > end or stop.is_set(): return
                fire(cls, m, target, raw_ok=True, stream_seconds=1)


def queries(ids):
    end = phase("query strings", 0.06)
    for template in doc.templates:
        for cls, q in inputs.queries(template):
            if time.monotonic() > end or stop.is_set(): return
            method = "DELETE" if cls == "query-force" else "GET"
            key = "ent" if template == "/jobs/{job_id}" else "admin"
            target = concrete(template, ids) + "?" + q
            if template == "/jobs/{job_id}" and cls == "query-force":
                jid = submit("long", {"tool": "wait", "arguments": {"duration_ms": 3000}}, "ent", "setup")
                target = f"/jobs/{jid}?{q}"
            r = fire(cls, method, target, key=key, raw_ok=True, stream_seconds=1)
            if r and r.status == 200 and isinstance(r.json, dict) and r.json.get("status") == "canceled" and "force" in q:
                ledger.canceled(r.json["job_id"], time.monotonic(), time.monotonic())


def auth(ids):
    end = phase("Authorization variants", 0.08)
    other = KEYS["ent"]
    variants = inputs.auth_variants(ADMIN, other, KEYS["revoked"]) + [
        (c.replace("auth", "auth-ent"), v) for c, v in inputs.auth_variants(KEYS["ent"], ADMIN, KEYS["revoked"])]
    for template in doc.templates + ["/hangfire", "/hangfire/stats"]:
        for method in [m for (t, m) in doc.ops if t == template] or ["GET"]:
            if method == "DELETE": continue           # deleting with an unknown key would only be a 401; a known one revokes
            for cls, values in variants:
                if time.monotonic() > end or stop.is_set(): return
                hdrs = [("Authorization", v) for v in values]
                body = None
                if method in ("POST", "PATCH"):
                    body = json.dumps(VALID_BODY.get(template, {})).encode(); hdrs.append(("Content-Type", "application/json"))
                target = concrete(template, ids)
                r = fire(cls, method, target, hdrs, body, key=None, raw_ok=True, stream_seconds=0.5)
                after_body(template, r)
            for token in (ADMIN, "bogus", ""):        # ?access_token= is taken on the stream only
                if time.monotonic() > end or stop.is_set(): return
                fire("auth-query-token", "GET" if method != "POST" else "POST", concrete(template, ids) + "?access_token=" + token,
                     key=None, stream_seconds=0.5)


def bodies(ids):
    end = phase("request bodies", 0.28)
    ops = [(t, m) for (t, m), op in doc.ops.items() if "requestBody" in op]
    cases = []
    for template, method in ops:
        base = VALID_BODY[template]
        for path in inputs.fields(base):
            cases.append((template, method, "missing-field", inputs.without(base, path)))
            for cls, raw in inputs.values():
                cases.append((template, method, "wrong-type-" + cls, inputs.with_value(base, path, raw)))
        for cls, raw in inputs.structural(base) + inputs.invalid_bodies():
            cases.append((template, method, cls, raw))
        for tool_args in ({"duration_ms": 10, "steps": 1}, {"message": "m", "code": "X_1"}):
            tool = "wait" if "duration_ms" in tool_args else "fail"
            if template in ("/execute_tool", "/jobs/submit"):
                for path in inputs.fields(tool_args):
                    for cls, raw in inputs.values():
                        b = dict(base, tool=tool, arguments=tool_args, timeout_ms=300)
                        cases.append((template, method, "argument-" + cls, inputs.with_value(b, ("arguments",) + path, raw)))
    random.shuffle(cases)
    n = 0
    bodies_ids = dict(ids, key_id=[ids["patchee"]])
    for template, method, cls, body in cases:
        if time.monotonic() > end or stop.is_set(): break
        target = concrete(template, bodies_ids) if "{" in template else template
        r = fire(cls, method, target, [("Content-Type", "application/json")], body, reuse=random.random() < 0.2, timeout=15)
        after_body(template, r)
        n += 1
    print(f"    {n} of {len(cases)} body cases", flush=True)
    for template, method in ops:                       # Content-Types, encodings and chunking with a valid body
        body = json.dumps(VALID_BODY[template]).encode()
        target = concrete(template, bodies_ids) if "{" in template else template
        for ct in inputs.content_types():
            hdrs = [("Content-Type", ct)] if ct is not None else []
            after_body(template, fire("content-type", method, target, hdrs, body, raw_ok=True))
        for cls, hdrs, b in [
            ("content-type-twice", [("Content-Type", "application/json"), ("Content-Type", "text/plain")], body),
            ("content-encoding", [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], body),
            ("content-encoding", [("Content-Type", "application/json"), ("Content-Encoding", "identity")], body),
            ("content-encoding", [("Content-Type", "application/json"), ("Content-Encoding", "br, gzip")], body),
            ("chunked", [("Content-Type", "application/json")], rawhttp.Chunked([body])),
            ("chunked", [("Content-Type", "application/json")], rawhttp.Chunked([bytes([c]) for c in body])),
            ("chunked", [("Content-Type", "application/json")], rawhttp.Chunked([body[:5], body[5:]], b";ext=1")),
            ("chunked", [("Content-Type", "application/json")], rawhttp.Chunked([b"x" * 65536] * 20)),
            ("chunked", [("Content-Type", "application/json")], rawhttp.Chunked([body + b" " * (1 << 20)])),
            ("chunked-bad", [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")], b"zz\r\n" + body + b"\r\n0\r\n\r\n"),
            ("chunked-bad", [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
             rawhttp.Chunked([body]).encode()),
            ("chunked-bad", [("Content-Type", "application/json"), ("Transfer-Encoding", "gzip, chunked")], rawhttp.Chunked([body]).encode()),
            ("chunked-bad", [("Content-Type", "application/json"), ("Transfer-Encoding", "identity")], body),
            ("length-short", [("Content-Type", "application/json"), ("Content-Length", str(len(body) - 3))], body[:-3]),
            ("length-bad", [("Content-Type", "application/json"), ("Content-Length", "-1")], body),
            ("length-bad", [("Content-Type", "application/json"), ("Content-Length", "1e3")], body),
            ("length-bad", [("Content-Type", "application/json"), ("Content-Length", "5"), ("Content-Length", "6")], body[:5]),
            ("length-huge", [("Content-Type", "application/json"), ("Content-Length", str(1 << 40))], body),
            ("expect", [("Content-Type", "application/json"), ("Expect", "100-continue")], body),
            ("expect", [("Content-Type", "application/json"), ("Expect", "bogus")], body),
        ]:
            r = fire(cls, method, target, hdrs, b, raw_ok=True, timeout=15, reuse=cls == "chunked")
            after_body(template, r)
        # a body that stops half-way: the server must answer (408) within its minimum data rate's grace, not hang
        r = fire("length-long", method, target, [("Content-Type", "application/json"), ("Content-Length", str(len(body) + 50))],
                 body, raw_ok=True, timeout=20, slow_ok=True)


# ---------- random interleavings ----------
recent = collections.deque(maxlen=300)
recent_lock = threading.Lock()


def keyed(route, body, values, key="admin", cls="idempotency"):
    """A submit (or async execution: admin keys only) with the Idempotency-Key header once per value."""
    if route == "/execute_tool" and "mode" not in body: body = {**body, "mode": "async"}
    hdrs = [("Content-Type", "application/json")] + [("Idempotency-Key", v) for v in values]
    return fire(cls, "POST", route, hdrs, json.dumps(body).encode(), key=key)


def check_replay(cls, first, r, what):
    """r must answer first's job again, marked as a replay."""
    if r is None or first is None: return
    same = r.status == 202 and isinstance(r.json, dict) and all(
        r.json.get(f) == first.json.get(f) for f in ("job_id", "tool", "created_at")) and r.json.get("status") == "queued"
    if not same or r.header("location") != first.header("location") or r.header("idempotent-replayed") != "true":
        report.fault("idempotency", f"{cls}: {what} answered {r.status} {r.body[:160]!r} "
                                    f"(Idempotent-Replayed {r.header('idempotent-replayed')!r}), not the job "
                                    f"{first.json.get('job_id')} replayed")


def idempotency(ids):
    """Idempotency-Key on both submit routes: refused when it is no key, a replay answers the first job, another
    request under the key is 422, another API key's same value is its own job, a burst under one key makes one job."""
    end = phase("Idempotency-Key", 0.05)
    bad, good = inputs.idempotency_keys()
    for route in ("/jobs/submit", "/execute_tool"):
        for cls, values in bad:
            if time.monotonic() > end or stop.is_set(): return
            r = keyed(route, {"tool": "echo", "arguments": {"message": "bad key"}}, values, cls=cls)
            if r is not None and r.error is None and (r.status != 400 or error_code(r) != "INVALID_REQUEST"):
                report.fault("idempotency", f"{cls} on {route}: {r.status} {r.body[:160]!r}, not 400 INVALID_REQUEST")
            if r is not None and r.status == 202: ledger.accepted(r.json["job_id"], "echo", {}, "admin")
    for i, (cls, value) in enumerate(good):
        if time.monotonic() > end or stop.is_set(): return
        route, other = ("/jobs/submit", "/execute_tool") if i % 2 == 0 else ("/execute_tool", "/jobs/submit")
        body = {"tool": "echo", "arguments": {"message": "keyed %s" % cls}}
        first = keyed(route, body, [value], cls=cls)
        if first is None or first.status != 202 or not isinstance(first.json, dict) or first.header("idempotent-replayed"):
            report.fault("idempotency", f"{cls}: the first submit answered {first and first.status} "
                                        f"{first and first.body[:160]!r}, not 202 without Idempotent-Replayed"); continue
        ledger.accepted(first.json["job_id"], "echo", body, "admin")
        check_replay(cls, first, keyed(route, body, [value], cls=cls), "the same submit again")
        check_replay(cls, first, keyed(other, body, [value], cls=cls), f"the same submit on {other}")
        check_replay(cls, first, keyed(route, body, [" %s\t" % value], cls=cls), "the key with outer white space")
        reordered = json.dumps({"arguments": body["arguments"], "tool": "echo"}).encode()
        check_replay(cls, first, fire(cls, "POST", "/jobs/submit", [("Content-Type", "application/json"),
                                                                     ("Idempotency-Key", value)], reordered, key="admin"),
                     "the same body with its fields in another order")
        for changed in ({**body, "arguments": {"message": "another"}}, {**body, "timeout_ms": 1234},
                        {"tool": "wait", "arguments": {"duration_ms": 50}}):
            r = keyed(route, changed, [value], cls=cls)
            details = (r.json or {}).get("error", {}).get("details") if r is not None and isinstance(r.json, dict) else None
            if r is not None and (r.status != 422 or error_code(r) != "IDEMPOTENCY_KEY_REUSED"
                                  or not isinstance(details, dict) or details.get("job_id") != first.json["job_id"]):
                report.fault("idempotency", f"{cls}: another submit under the key answered {r.status} {r.body[:160]!r}, "
                                            f"not 422 IDEMPOTENCY_KEY_REUSED naming {first.json['job_id']}")
        r = keyed("/jobs/submit", body, [value], key="ent", cls=cls)
        if r is None or r.status != 202 or r.json.get("job_id") == first.json["job_id"] or r.header("idempotent-replayed"):
            report.fault("idempotency", f"{cls}: another API key's same Idempotency-Key answered {r and r.status} "
                                        f"{r and r.body[:160]!r}, not a job of its own")
        elif r.json: ledger.accepted(r.json["job_id"], "echo", body, "ent")
        r = fire(cls, "POST", "/execute_tool", [("Content-Type", "application/json"), ("Idempotency-Key", value)],
                 json.dumps(body).encode(), key="admin")
        if r is not None and (r.status != 400 or error_code(r) != "INVALID_REQUEST"):
            report.fault("idempotency", f"{cls}: a direct execution with the header answered {r.status}, not 400 INVALID_REQUEST")
    # A burst: eight submits under one new key at once make one job, answered to all, seven of them as replays.
    for round_ in range(3):
        if time.monotonic() > end or stop.is_set(): return
        value, body = "burst-%d-%d" % (round_, random.randint(0, 10**9)), {"tool": "echo", "arguments": {"message": "burst"}}
        answers = [None] * 8
        def one(i):
            answers[i] = keyed(("/jobs/submit", "/execute_tool")[i % 2], body, [value], cls="idem-burst")
        threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        got = [r for r in answers if r is not None and r.status == 202 and isinstance(r.json, dict)]
        jids = {r.json["job_id"] for r in got}
        fresh = [r for r in got if r.header("idempotent-replayed") != "true"]
        if len(got) != 8 or len(jids) != 1 or len(fresh) != 1:
            report.fault("idempotency", f"a burst of 8 under one key: {len(got)} answered 202, {len(jids)} jobs, "
                                        f"{len(fresh)} not replays ({[r and r.status for r in answers]})")
        for jid in jids: ledger.accepted(jid, "echo", body, "admin")


def pick_job():
    with recent_lock:
        return random.choice(recent) if recent else None


def act_submit():
    key = random.choice(["admin", "ent", "ent", "ent2", "pro", "free"])
    kind, body = inputs.job_body()
    jid = submit(kind, body, key)
    if jid:
        with recent_lock: recent.append((jid, key))


keyed_sent, keyed_lock = [], threading.Lock()
routes_of = lambda key: ["/jobs/submit", "/execute_tool"] if key == "admin" else ["/jobs/submit"]


def act_keyed():
    """A submit under an Idempotency-Key, or the retry of one sent before: the retry must answer the same job (a 429
    of the key's plan aside: rate limits count a retry as any request)."""
    with keyed_lock:
        retry = random.choice(keyed_sent) if keyed_sent and random.random() < 0.5 else None
    if retry is None:
        key = random.choice(["admin", "ent", "ent2", "pro", "free"])
        kind, body = inputs.job_body()
        value, route = "fz-%d" % random.randint(0, 10**12), random.choice(routes_of(key))
        r = keyed(route, body, [value], key=key, cls="interleave-keyed")
        if r is not None and r.status == 202 and isinstance(r.json, dict):
            ledger.accepted(r.json["job_id"], kind, body, key)
            ledger.seen(r.json["job_id"], r.json["status"], time.monotonic(), time.monotonic(), "submit")
            with recent_lock: recent.append((r.json["job_id"], key))
            with keyed_lock: keyed_sent.append((route, body, value, key, r))
        return
    route, body, value, key, first = retry
    r = keyed(random.choice(routes_of(key)), body, [value], key=key, cls="interleave-keyed")
    if r is not None and r.status != 429 and key not in ledger.revoked_keys:
        check_replay("interleave-keyed", first, r, "a retry")


def act_get():
    pick = pick_job()
    if not pick: return
    jid, key = pick
    key = random.choice([key, "admin"])
    t = time.monotonic()
    r = fire("interleave", "GET", f"/jobs/{jid}", key=key)
    if r and r.status == 200 and isinstance(r.json, dict):
        ledger.seen(jid, r.json.get("status"), t, time.monotonic(), "GET", r.json)


def act_delete(force=None):
    pick = pick_job()
    if not pick: return
    jid, key = pick
    force = random.random() < 0.4 if force is None else force
    t = time.monotonic()
    r = fire("interleave", "DELETE", f"/jobs/{jid}" + ("?force=true" if force else ""), key=random.choice([key, "admin"]))
    if not r or not isinstance(r.json, dict): return
    if r.status == 200:
        if r.json.get("status") != "canceled":
            report.fault("job-state", f"DELETE answered 200 with {r.json}")
        ledger.canceled(jid, t, time.monotonic())
    elif r.status == 400:
        code = r.json.get("error", {}).get("code")
        ledger.seen(jid, {"CANNOT_CANCEL_RUNNING": "running-or-final" if force else "running",
                          "JOB_ALREADY_FINISHED": "final"}.get(code, "?"), t, time.monotonic(), f"DELETE {code}")


def act_stream():
    pick = pick_job()
    if not pick: return
    jid, key = pick
    t = time.monotonic()
    r = fire("interleave-stream", "GET", f"/jobs/{jid}/stream", key=random.choice([key, "admin"]), stream_seconds=8, timeout=10)
    if r and r.status == 200 and r.error is None:
        events = jobs.stream_events(r.body)
        for e in events:
            ledger.seen(jid, e.get("status"), t, time.monotonic(), "stream")
        for f in jobs.check_stream(jid, events, r.stream_ended, r.elapsed):
            report.fault("stream", f)


def act_list():
    key = random.choice(["admin", "ent", "pro", "free"])
    q = random.choice(["", "?status=queued", "?status=running", "?status=completed&limit=100", "?status=canceled",
                       "?tool=wait&limit=50", "?offset=5&limit=5", "?status=timeout&tool=wait"])
    t = time.monotonic()
    r = fire("interleave", "GET", "/jobs" + q, key=key)
    if r and r.status == 200 and isinstance(r.json, dict):
        for j in r.json.get("jobs", []):
            ledger.seen(j["job_id"], j["status"], t, time.monotonic(), "list")
        wanted = re.search(r"status=(\w+)", q)
        if wanted and any(j["status"] != wanted.group(1) for j in r.json.get("jobs", [])):
            report.fault("list", f"GET /jobs{q} listed {[j['status'] for j in r.json['jobs']]}")


def act_revoke():
    """A key made, given jobs (some queued behind its one slot), streamed, then revoked while they run."""
    name = f"churn{random.randrange(10**9)}"
    kid = make_key(name, random.choice(["free", "pro"]), limits={"max_concurrent": 1, "requests_per_minute": 100})
    if random.random() < 0.5:
        post_json("/webhooks", {"url": HOOK, "events": ["job.canceled", "job.completed"]}, key=name)
    mine = [j for j in (submit(*inputs.job_body(), key=name) for _ in range(random.randint(1, 4))) if j]
    with recent_lock:
        recent.extend((j, name) for j in mine)
    streamer = None
    if mine and random.random() < 0.5:
        def watch(jid=random.choice(mine)):
            t = time.monotonic()
            r = fire("interleave-stream", "GET", f"/jobs/{jid}/stream", key=name, stream_seconds=8, timeout=10)
            if r and r.status == 200:
                events = jobs.stream_events(r.body)
                for e in events: ledger.seen(jid, e.get("status"), t, time.monotonic(), "stream")
                for f in jobs.check_stream(jid, events, r.stream_ended, r.elapsed): report.fault("stream", f)
        streamer = threading.Thread(target=watch); streamer.start()
    time.sleep(random.uniform(0, 1.5))
    ledger.revoked_keys.add(name)
    fire("interleave-revoke", "DELETE", f"/api_keys/{kid}")
    r = fire("interleave-revoke", "GET", "/jobs", key=name)
    if r and r.status != 401:
        report.fault("revoked-key", f"a key revoked on this node answered {r.status} at once")
    if streamer: streamer.join()


def act_execute():
    kind = random.choice(["echo", "fail", "timeout", "wait"])
    body = {"echo": {"tool": "echo", "arguments": {"message": "x"}},
            "fail": {"tool": "fail", "arguments": {"message": "boom"}},
            "timeout": {"tool": "wait", "arguments": {"duration_ms": 2000}, "timeout_ms": 50},
            "wait": {"tool": "wait", "arguments": {"duration_ms": 100, "steps": 2}}}[kind]
    r = post_json("/execute_tool", body, key=random.choice(["admin", "admin", "ent"]), cls="interleave")
    if r and r.status not in (403, 429):
        want = {"echo": 200, "wait": 200, "fail": 500, "timeout": 504}[kind]
        if r.status != want:
            report.fault("execute", f"{kind}: {r.status} {r.body[:200]!r}, expected {want}")


def act_patch_limits():
    kid = KEY_IDS["pro"]
    fire("interleave", "PATCH", f"/api_keys/{kid}", [("Content-Type", "application/json")],
         json.dumps({"rate_limits": {"max_concurrent": random.randint(1, 5)}}).encode())


ACTIONS = [(act_submit, 30), (act_get, 30), (act_delete, 12), (act_stream, 5), (act_list, 10), (act_revoke, 2),
           (act_execute, 6), (act_patch_limits, 1), (act_keyed, 6)]


def interleave():
    phase(f"random interleavings, {a.threads} threads", 1)
    end = RUN_END
    fns, weights = zip(*ACTIONS)
    def loop(seed):
        rng = random.Random(seed)
        while time.monotonic() < end and not stop.is_set():
            fn = rng.choices(fns, weights)[0]
            try: fn()
            except Exception as e:    # the fuzzer's own mistake: say so, go on
                report.fault("fuzzer", f"{fn.__name__}: {type(e).__name__}: {e}")
            time.sleep(rng.expovariate(1000 / a.pause_ms))
    threads = [threading.Thread(target=loop, args=(random.random(),)) for _ in range(a.threads)]
    for t in threads: t.start()
    for t in threads: t.join()


def drain():
    """Every job the fuzzer knows of read back until final (up to 120 s), then checked."""
    print(f"--- drain: {len(ledger.snapshot())} jobs ({time.strftime('%H:%M:%S')})", flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        left = ledger.unfinished()
        if not left: break
        for j in left:
            t = time.monotonic()
            r = fire("drain", "GET", f"/jobs/{j.id}")
            if r and r.status == 200:
                ledger.seen(j.id, r.json.get("status"), t, time.monotonic(), "drain GET", r.json)
        time.sleep(1)
    counts = collections.Counter()
    for j in ledger.snapshot():
        final = j.last or {"status": "never read"}
        counts[(j.kind, final.get("status"))] += 1
        for f in ledger.check(j, final):
            report.fault("job-state", f)
    return {f"{k} {s}": n for (k, s), n in sorted(counts.items())}


def main():
    t0 = time.time()
    global KEY_IDS, RUN_END
    RUN_END = time.monotonic() + a.minutes * 60
    ids = setup()
    KEY_IDS = {"pro": ids["pro"]}
    print(f"server on port {PORT}, seed {seed}, out {OUT}", flush=True)
    for step in (sweep, paths, queries, auth, bodies, idempotency):
        if not stop.is_set(): step(ids)
    if not stop.is_set(): interleave()
    fire("setup", "DELETE", f"/jobs/{ids['job_id'][1]}?force=true")
    outcomes = drain() if server.alive() else {}
    time.sleep(2)
    stop.set()
    server.stop()
    time.sleep(1); watch_log.final = True; time.sleep(1)
    summary = {
        "seed": seed, "minutes": round((time.time() - t0) / 60, 1), "requests": sum(report.by_route.values()),
        "faults": [{"kind": k, "detail": d, **v} for (k, d), v in report.faults.items()],
        "requests_by_route": dict(sorted(report.by_route.items())),
        "requests_by_class": dict(sorted(report.by_class.items())),
        "answers": dict(sorted(report.statuses.items())),
        "job_outcomes": outcomes,
        "log_warnings": dict(report.slow.most_common(40)),
    }
    with open(os.path.join(OUT, "report.json"), "w") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    print(f"\n{summary['requests']} requests in {summary['minutes']} min; {len(ledger.snapshot())} jobs: {outcomes}")
    print("requests by route:"); [print(f"  {n:7d} {r}") for r, n in sorted(report.by_route.items())]
    print(f"faults: {len(report.faults)} kinds"); [print(f"  {v['count']:5d} {k}: {d[:200]}") for (k, d), v in report.faults.items()]
    print(f"report: {os.path.join(OUT, 'report.json')}")
    receiver.shutdown()
    sys.exit(1 if any(k not in ("slow",) for k, _ in report.faults) else 0)


try:
    main()
except KeyboardInterrupt:
    stop.set(); server.stop(); raise
