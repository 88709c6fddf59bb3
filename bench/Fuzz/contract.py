"""What every answer must be, whatever was sent: the checks the fuzzer applies to each response (standard library only).

The contract (../shared/reference/tool-execution-jobs-api.txt) and README "The dashboard" list the error codes and
their statuses; the OpenAPI document the server serves gives the shapes of the other answers."""
import json, re

# Every error code the server documents, with its HTTP status (README, the paragraph after the dashboard's).
ERROR_STATUS = {
    "UNAUTHORIZED": 401, "FORBIDDEN": 403, "INVALID_ARGUMENTS": 400, "INVALID_REQUEST": 400, "TOOL_NOT_FOUND": 404,
    "API_KEY_NOT_FOUND": 404, "API_KEY_REVOKED": 409, "JOB_NOT_FOUND": 404, "WEBHOOK_NOT_FOUND": 404,
    "WEBHOOK_LIMIT_REACHED": 409, "CANNOT_CANCEL_RUNNING": 400, "JOB_ALREADY_FINISHED": 400, "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405, "PAYLOAD_TOO_LARGE": 413, "REQUEST_TIMEOUT": 408, "URI_TOO_LONG": 414,
    "HEADERS_TOO_LARGE": 431, "UNSUPPORTED_MEDIA_TYPE": 415, "EXECUTION_ERROR": 500, "EXECUTION_TIMEOUT": 504,
    "RATE_LIMIT_EXCEEDED": 429, "TOO_MANY_STREAMS": 503, "SERVER_SHUTTING_DOWN": 503, "DATABASE_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500, "IDEMPOTENCY_KEY_REUSED": 422,
}
# 5xx answers that are not faults: a tool that failed or timed out (execution endpoints), the documented 503s.
EXPECTED_5XX = {"EXECUTION_ERROR", "EXECUTION_TIMEOUT", "TOO_MANY_STREAMS"}
EXECUTION_PATHS = ("/execute_tool", "/jobs/submit")
NEEDS_RETRY_AFTER = {"RATE_LIMIT_EXCEEDED", "TOO_MANY_STREAMS", "DATABASE_UNAVAILABLE"}

# What leaks of the server's insides: a stack frame, an exception's or a .NET type's name. The fuzzer never sends
# these words itself, so whatever of them comes back is the server's own.
LEAK = re.compile(rb"(\bat [A-Z][\w.`<>]+\.[\w<>`]+\(|\.cs:line \d|Exception\b|\b(System|Microsoft|AgentCorex|Hangfire|"
                  rb"Npgsql|SQLitePCL)\.[A-Z]\w+|\bStackTrace\b|\binnerException\b)")
FORBIDDEN_INPUT = re.compile(r"Exception|System\.|Microsoft\.|AgentCorex\.|Hangfire\.|Npgsql\.|StackTrace|\.cs:line")


class Doc:
    """The served OpenAPI document: its operations and a small validator of its schemas."""
    def __init__(self, doc):
        self.doc, self.schemas = doc, doc.get("components", {}).get("schemas", {})
        self.ops = {}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete", "head", "options", "trace"):
                    self.ops[(path, method.upper())] = op
        self.templates = sorted({p for p, _ in self.ops}, key=lambda p: (-p.count("/"), p))

    def route(self, path):
        """The document's template a concrete path matches, or None. The path is first read as Kestrel reads it: an
        encoded dot decoded, dot segments removed (RFC 3986 5.2.4), the router's trailing slash dropped, and literal
        segments matched regardless of case, as ASP.NET Core's router matches them. A '#' is no fragment to a server."""
        out = []
        for seg in re.sub("%2e", ".", path.split("?")[0], flags=re.I).split("/")[1:]:
            if seg == "..":
                out = out[:-1]
            elif seg != ".":
                out.append(seg)
        if len(out) > 1 and out[-1] == "":
            out = out[:-1]
        segs = [""] + out
        for t in self.templates:
            ts = t.split("/")
            if len(ts) == len(segs) and all((a.startswith("{") and b) or a.lower() == b.lower() for a, b in zip(ts, segs)):
                return t
        return None

    def response_schema(self, template, method, status):
        op = self.ops.get((template, "GET" if method == "HEAD" else method))
        if not op: return None
        resp = op.get("responses", {}).get(str(status))
        if not resp: return None
        return (resp.get("content", {}).get("application/json") or {}).get("schema")

    def declared(self, template, method):
        """The statuses the document lists for an operation; None when it has no such operation."""
        op = self.ops.get((template, "GET" if method == "HEAD" else method))
        return set(op.get("responses", {})) if op else None

    def validate(self, value, schema, path="$"):
        """The first way `value` breaks `schema` (type, required, enum, properties, items, $ref, oneOf/anyOf), or None."""
        if schema is None or schema == {}:
            return None
        if "$ref" in schema:
            return self.validate(value, self.schemas[schema["$ref"].split("/")[-1]], path)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                if all(self.validate(value, s, path) for s in schema[key]):
                    return f"{path}: matches none of {key}"
                return None
        types = schema.get("type")
        if types is not None:
            types = types if isinstance(types, list) else [types]
            ok = {"null": value is None, "string": isinstance(value, str), "boolean": isinstance(value, bool),
                  "object": isinstance(value, dict), "array": isinstance(value, list),
                  "integer": isinstance(value, int) and not isinstance(value, bool),
                  "number": isinstance(value, (int, float)) and not isinstance(value, bool)}
            if not any(ok.get(t, True) for t in types):
                return f"{path}: {json.dumps(value)[:80]} is not {types}"
        if "enum" in schema and value not in schema["enum"] and value is not None:
            return f"{path}: {value!r} not in {schema['enum']}"
        if isinstance(value, dict):
            for req in schema.get("required", []):
                if req not in value:
                    return f"{path}: missing required {req}"
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    err = self.validate(value[name], sub, f"{path}.{name}")
                    if err: return err
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                err = self.validate(item, schema["items"], f"{path}[{i}]")
                if err: return err
        return None


def check(doc, method, target, resp, *, raw_ok=False, expect_timeout=False):
    """The faults in one answer, as (kind, detail) pairs. raw_ok: a request Kestrel itself may refuse before the app
    (README: a malformed request line, a path with %00, ...), whose 400 has no body."""
    faults = []
    method = method.upper()   # ASP.NET Core matches methods regardless of case
    if resp.error:
        if resp.error == "timeout" and not expect_timeout:
            faults.append(("hang", f"no complete answer within {resp.elapsed:.1f} s"))
        elif resp.error != "timeout":
            faults.append(("connection", resp.error))
        return faults
    path = target.split("?")[0] if isinstance(target, str) else target.decode("latin-1").split("?")[0]
    template = doc.route(path)
    m = LEAK.search(resp.body) if template != "/metrics" else None   # Prometheus text names the runtime's meters
    if m:
        faults.append(("leak", resp.body[max(0, m.start() - 80):m.end() + 80].decode("utf-8", "replace")))
    ctype = (resp.header("content-type") or "").lower()
    is_json = ctype.startswith("application/json") or ctype.startswith("application/problem+json")
    parsed = None
    if is_json and resp.body:
        try:
            parsed = json.loads(resp.body)
        except ValueError:
            faults.append(("bad-json", resp.body[:200].decode("utf-8", "replace")))
    if method == "HEAD" and resp.body:
        faults.append(("head-body", f"{len(resp.body)} bytes"))
    if resp.status >= 400:
        if raw_ok and resp.status == 400 and not resp.body:
            return faults
        if method == "HEAD":
            return faults
        if path.startswith("/hangfire") and resp.status in (401, 404, 403, 405) and not is_json:
            return faults                    # Hangfire's own 404 page, the login form's 401 (README "The dashboard")
        err = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(err, dict) or not isinstance(err.get("code"), str) or not isinstance(err.get("message"), str):
            faults.append(("error-shape", f"{resp.status} {ctype} {resp.body[:200]!r}"))
            return faults
        extra = set(parsed) - {"error", "tool", "status"}
        if extra:
            faults.append(("error-shape", f"top-level fields {sorted(extra)}"))
        code = err["code"]
        if code not in ERROR_STATUS:
            faults.append(("unknown-code", f"{resp.status} {code}: {err['message'][:120]}"))
        elif ERROR_STATUS[code] != resp.status:
            faults.append(("code-status", f"{code} with {resp.status}"))
        if code == "DATABASE_UNAVAILABLE":   # documented, but the fuzzer's database never goes away
            faults.append(("db-unavailable", err["message"][:160]))
        elif resp.status >= 500 and code not in EXPECTED_5XX and code != "SERVER_SHUTTING_DOWN":
            faults.append(("5xx", f"{resp.status} {code}: {err['message'][:160]}"))
        if code in ("EXECUTION_ERROR", "EXECUTION_TIMEOUT") and not path.startswith(EXECUTION_PATHS):
            faults.append(("5xx", f"{resp.status} {code} outside the execution endpoints"))
        if code in NEEDS_RETRY_AFTER and resp.header("retry-after") is None:
            faults.append(("missing-header", f"{code} without Retry-After"))
        if resp.status == 405 and resp.header("allow") is None:
            faults.append(("missing-header", "405 without Allow"))
        if "details" in err and err["details"] is not None and not isinstance(err["details"], dict):
            faults.append(("error-shape", f"details is {type(err['details']).__name__}"))
        declared = doc.declared(template, method) if template else None
        if declared is not None and str(resp.status) not in declared and resp.status not in (405, 408, 413, 414, 415, 431):
            if not (resp.status == 400 and code == "INVALID_REQUEST"):
                faults.append(("undeclared-status", f"{method} {template} {resp.status} {code}"))
    elif resp.status >= 500:
        faults.append(("5xx", f"{resp.status} without an error body"))
    elif 200 <= resp.status < 300 and template and parsed is not None and method != "HEAD":
        schema = doc.response_schema(template, method, resp.status)
        if schema is not None:
            err = doc.validate(parsed, schema)
            if err:
                faults.append(("schema", f"{method} {template} {resp.status}: {err}"))
        elif str(resp.status) not in (doc.declared(template, method) or {str(resp.status)}):
            faults.append(("undeclared-status", f"{method} {template} {resp.status}"))
    if is_json and "no-store" not in (resp.header("cache-control") or "") and method != "HEAD" and path != "/openapi/v1.json":
        faults.append(("cache-control", f"{method} {template or path} {resp.status} without no-store"))
    return faults
