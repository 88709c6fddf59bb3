"""The odd inputs the fuzzer sends, by class (standard library only). JSON values are raw text, so that what Python's
json module would never write (1e309, -0, a lone surrogate, a key twice) can be sent as written."""
import base64, json, random

LONG = 100_000


def values():
    """(class, raw JSON text) of values to put in place of any field."""
    nums = ["0", "-0", "-0.0", "1", "-1", "1.5", "-1.5", "1.0", "1e3", "1E2", "1e+2", "1e-2", "1e309", "-1e309", "1e-400",
            "2147483647", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "1" + "0" * 400, "0.1e1", "5e-324", "86400000", "86400001", "300001", "100", "101"]
    strs = ['""', '" "', '"\\t"', '"a"', '"0"', '"1e3"', '"true"', '"null"', '"\\u0000"', '"a\\u0000b"', '"\\ud800"',
            '"\\udc00"', '"x\\ud800y"', '"\\ud83d\\ude00"', '"\U0001F600\U0001F469\u200d\U0001F4BB"', '"\u202eevil\u202c"',
            '"\u0645\u0631\u062d\u0628\u0627"', '"e\u0301"', '"\ufeff"', '"\uffff"', '"\\n"', '"a\\r\\nb"', '"%00"', '"../../etc"',
            '"job_aaaaaaaaaaaa"', '"<script>alert(1)</script>"', '"' + "x" * 200 + '"', '"' + "x" * LONG + '"',
            '"' + "\U0001F600" * 1000 + '"', '"' + "\\ud800" * 500 + '"', '"\\u001b[31m"', '"\u0085"', '"\u2028"']
    other = ["null", "true", "false", "[]", "{}", "[null]", "[1,2]", '["job.completed"]', '{"a":1}', '{"":null}',
             "[" * 64 + "]" * 64, "[" * 1000 + "]" * 1000, '{"a":' * 200 + "1" + "}" * 200,
             '{"a":' * 2000 + "1" + "}" * 2000, "[" * 100_000 + "]" * 100_000]
    raw = [b'"\xff"', b'"a\xc3("', b'"\xed\xa0\x80"', b'"\xc0\xae"', b'"\xf4\x90\x80\x80"', b'"\xe2\x82"', b'"\x80"']
    return ([("number", v) for v in nums] + [("string", v) for v in strs] + [("other", v) for v in other]
            + [("bytes", v) for v in raw])


def invalid_bodies():
    """(class, bytes) of bodies that are not a JSON object, or not JSON at all."""
    b = [b"", b" ", b"\r\n", b"{", b"}", b'{"tool":', b"{'tool':'echo'}", b'{"tool":"echo",}', b"/*c*/{}", b"// c\n{}",
         b"NaN", b'{"a":NaN}', b'{"a":Infinity}', b'{"a":-Infinity}', b"[]", b'"str"', b"123", b"null", b"true",
         b"{}x", b"{}{}", b"{} {}", b'{"a":1}\x00', b"\x00", b"\xff\xfe{\x00}\x00", b"\xef\xbb\xbf{}", b"\xef\xbb\xbf\xef\xbb\xbf{}",
         b'{"tool":"\xc3("}', b'{"tool":"\xed\xa0\x80"}', b'{"tool":"\xf4\x90\x80\x80"}', b'{"\xff":1}',
         b'{"\\ud800":1}', b'{"tool":"echo","\\udc00":1}', b'{"tool":"echo","arguments":{"\xff":1}}',
         b'{"tool":"echo","arguments":{"\\ud800":1}}', b'{"tool":"\\ud800","arguments":[]}',
         b'{"tool":"echo","arguments":{"message":"hi"}', b'{"tool" "echo"}', b'{tool:"echo"}', b'{"a":01}',
         b'{"a":.5}', b'{"a":+1}', b'{"a":0x10}', b'{"a":1.}', b'{"a":"\\x41"}', b'{"a":"\\u12"}', b'{"a":"\t"}',
         b"[" * 70 + b"]" * 70, b'{"a":' * 70 + b"1" + b"}" * 70, b"{" * 1000, b"[" * 200_000,
         b'{"tool":"echo"}' + b" " * (1 << 20), b"x" * (1 << 20 + 1)]
    return [("invalid-json", x) for x in b]


MARK = "\u0001MARK\u0001"


def with_value(base, path, raw):
    """base (a JSON-able dict) with the field at `path` (a tuple of keys) replaced by the raw JSON text `raw`."""
    body = json.loads(json.dumps(base))
    node = body
    for k in path[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[path[-1]] = MARK
    text = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return text.replace(json.dumps(MARK).encode(), raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass"))


def without(base, path):
    body = json.loads(json.dumps(base))
    node = body
    for k in path[:-1]:
        node = node.get(k) if isinstance(node.get(k), dict) else {}
    node.pop(path[-1], None)
    return json.dumps(body).encode()


def fields(body, prefix=()):
    """Every field's path in a body, nested objects included."""
    out = []
    for k, v in body.items():
        out.append(prefix + (k,))
        if isinstance(v, dict):
            out += fields(v, prefix + (k,))
    return out


def structural(base):
    """(class, bytes) of bodies built from a valid one: a key twice, extra fields, reordered, padded."""
    text = json.dumps(base)
    first = next(iter(base))
    out = [("duplicate-key", ('{"%s":%s,' % (first, json.dumps(base[first])) + text[1:]).encode()),
           ("duplicate-key", (text[:-1] + ',"%s":%s}' % (first, json.dumps(base[first]))).encode()),
           ("duplicate-key", (text[:-1] + ',"%s":null}' % first).encode()),
           ("duplicate-key", (text[:-1] + ',"%s":{"x":1}}' % first).encode()),
           ("extra-field", (text[:-1] + ',"extra":1}').encode()),
           ("extra-field", (text[:-1] + ',"":1}').encode()),
           ("extra-field", (text[:-1] + ',"' + "k" * 5000 + '":1}').encode()),
           ("extra-field", (text[:-1] + ',"__proto__":{"admin":true}}').encode()),
           ("extra-field", (text[:-1] + ',"\\u0000":1}').encode()),
           ("extra-field", (text[:-1] + ',"TOOL":"fail","Tool":"fail"}').encode()),
           ("whitespace", ("\n\t " + text.replace(":", " :\n ").replace(",", " ,\r\n") + "\n ").encode()),
           ("escaped-keys", ("{" + ",".join('"%s":%s' % ("".join("\\u%04x" % ord(c) for c in k), json.dumps(v))
                                            for k, v in base.items()) + "}").encode()),
           ("many-fields", (text[:-1] + "".join(',"f%d":%d' % (i, i) for i in range(20000)) + "}").encode())]
    for k, v in base.items():
        if isinstance(v, dict):
            inner = json.dumps(v)
            out.append(("duplicate-key", text.replace(inner, inner[:-1] + (',' if v else '') + '"x":1,"x":2}', 1).encode()))
    return out


def content_types():
    """(class, Content-Type header values, None for none) to send with a valid JSON body."""
    return [None, "", "application/json", "APPLICATION/JSON", "application/json; charset=utf-8",
            "application/json; charset=UTF-8", "application/json;charset=latin1", "application/json; charset=utf-16",
            "application/json; charset=\"utf-8\"", "application/json; charset=bogus", "application/json;;",
            "application/json; boundary=x", "application/json ; q=1", "application/vnd.api+json", "application/merge-patch+json",
            "application/problem+json", "application/x-json", "text/json", "text/plain", "text/html",
            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "*/*",
            "application/*", "application", "json", "application/json, text/plain", "application/json\x7f",
            "appl\u00e9cation/json", " application/json", "application/json\t"]


def paths_for(template, ids):
    """Concrete odd paths for a route template: each path parameter replaced by odd ids; trailing slashes, case."""
    odd = ["", "%20", ".", "..", "%2e", "%2e%2e", "%2E%2E%2F", "%2f", "a%2Fb", "a/b", "%5c", "%ff", "%c3%28",
           "%u0041", "%", "%2", "%zz", "job_" + "a" * 12, "key_" + "a" * 12, "wh_" + "a" * 12, "x" * 41, "x" * 2000,
           "x" * 7900, "x" * 9000, "%e3%82%b8%e3%83%a7%e3%83%96", "%f0%9f%98%80", "%ed%a0%80", "job_abc;x=1", "job_abc%3Fx",
           "job_abc%23x", "JOB_AAAAAAAAAAAA", "+", "%2B", "*", "~", "'", "%22", "%3C%3E", "%0a", "%0d%0a", "%09", "%7f",
           "%c0%ae%c0%ae", "submit", "stream"]
    out = []
    for v in list(ids) + odd:
        out.append(("path-param", "/".join(v if s.startswith("{") else s for s in template.split("/"))))
    base = "/".join((ids[0] if ids else "x") if s.startswith("{") else s for s in template.split("/"))
    out += [("trailing-slash", base + "/"), ("double-slash", base.replace("/", "//", 1)), ("double-slash", base + "//"),
            ("case", base.upper()), ("dot-segment", base + "/."), ("dot-segment", base + "/.."), ("dot-segment", "/./" + base[1:]),
            ("dot-segment", base.replace("/", "/x/../", 1)), ("encoded-slash", base.replace("/", "%2F")),
            ("encoded-slash", base.replace("/", "%2f", 2)), ("suffix", base + ".json"), ("suffix", base + "%00"),
            ("suffix", base + ";"), ("suffix", base + "?"), ("suffix", base + "#x"), ("suffix", base + "/extra/more")]
    return out


def queries(template):
    """(class, query string) for a route's query parameters (README: integers in decimal digits, each at most once)."""
    ints = ["1e3", "%20", "", "-0", "0", "-1", "1", "100", "101", "1.5", "0x10", "+5", "%2B5", " 5", "5%20", "05",
            "99999999999999999999", "2147483648", "-2147483649", "%EF%BC%92", "5%00", "%00", "NaN", "null", "true",
            "1,2", "[1]", "%ff", "%", "x" * 3000]
    qs = []
    if template in ("/jobs", "/api_keys", "/webhooks/{webhook_id}/deliveries"):
        qs += [("query-limit", f"limit={v}") for v in ints] + [("query-offset", f"offset={v}") for v in ints]
        qs += [("query-repeat", "limit=1&limit=2"), ("query-repeat", "limit=5&limit=5"), ("query-repeat", "offset=0&offset=0"),
               ("query-flag", "limit"), ("query-flag", "limit&offset"), ("query-case", "LIMIT=5"), ("query-case", "Limit=5&limit=6")]
    if template == "/jobs":
        for v in ["QUEUED", "Completed", "all", "ALL", "", "%00", "queued,running", "canceled", "cancelled", "timeout",
                  "x" * 500, "%ff", "running%20", "%20running", "\u00e9"]:
            qs.append(("query-status", f"status={v}"))
        qs += [("query-repeat", "status=queued&status=running"), ("query-repeat", "status=queued&status=queued")]
        for v in ["%00", "", "echo", "ECHO", "x" * 64, "x" * 65, "x" * 5000, "%ff", "%e3%82%b8", "echo%00", "%2e%2e", "*", "%25"]:
            qs.append(("query-tool", f"tool={v}"))
        qs += [("query-repeat", "tool=echo&tool=wait"), ("query-mix", "status=completed&tool=echo&limit=100&offset=0")]
    if template == "/jobs/{job_id}":
        for v in ["true", "TRUE", "True", "false", "1", "0", "yes", "", "%00", "true%20", "tRuE", "truex"]:
            qs.append(("query-force", f"force={v}"))
        qs += [("query-repeat", "force=true&force=false"), ("query-repeat", "force=true&force=true"), ("query-flag", "force")]
    qs += [("query-odd", "&&"), ("query-odd", "="), ("query-odd", "=x"), ("query-odd", "a=1;b=2"), ("query-odd", "x=%"),
           ("query-odd", "unknown=1"), ("query-odd", "access_token=x"), ("query-odd", "a=" + "b" * 9000),
           ("query-odd", "%00=1"), ("query-odd", "a[]=1&a[]=2"), ("query-odd", "a=1&" * 500)]
    return qs


def auth_variants(key, other_key, revoked_key):
    """(class, [Authorization header values]) and query tokens: case, spaces, two headers, schemes other than Bearer."""
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    return [
        ("auth-none", []), ("auth-ok", ["Bearer " + key]), ("auth-case", ["bearer " + key]), ("auth-case", ["BEARER " + key]),
        ("auth-space", ["Bearer  " + key]), ("auth-space", ["Bearer " + key + " "]), ("auth-space", ["Bearer\t" + key]),
        ("auth-space", [" Bearer " + key]), ("auth-empty", [""]), ("auth-empty", ["Bearer"]), ("auth-empty", ["Bearer "]),
        ("auth-two", ["Bearer " + key, "Bearer " + key]), ("auth-two", ["Bearer " + key, "Bearer " + other_key]),
        ("auth-two", ["Bearer " + other_key, "Bearer " + key]), ("auth-two", ["Bearer " + key + ", Bearer " + other_key]),
        ("auth-basic", ["Basic " + b64("x:" + key)]), ("auth-basic", ["Basic " + b64(key + ":")]),
        ("auth-basic", ["Basic !!!"]), ("auth-basic", ["Basic " + b64(key)]), ("auth-scheme", ["Token " + key]),
        ("auth-scheme", [key]), ("auth-scheme", ["Bearer Bearer " + key]), ("auth-odd", ["Bearer " + key[:-1]]),
        ("auth-odd", ["Bearer " + key + "x"]), ("auth-odd", ["Bearer " + key.upper()]), ("auth-odd", ["Bearer acx_"]),
        ("auth-odd", ["Bearer acx_" + "a" * 12 + "_" + "b" * 40]), ("auth-odd", ["Bearer " + "a" * 10000]),
        ("auth-odd", ["Bearer \u00e9\u00e9"]), ("auth-odd", ["Bearer " + key + "\x00"]), ("auth-odd", ["Bearer key_configured_admin"]),
        ("auth-revoked", ["Bearer " + revoked_key]),
    ]


def job_body(rng=random):
    """A valid job of a known outcome: (kind, body)."""
    r = rng.random()
    if r < 0.35: return "echo", {"tool": "echo", "arguments": {"message": "fuzz %d" % rng.randint(0, 10**9)}}
    if r < 0.60: return "wait", {"tool": "wait", "arguments": {"duration_ms": rng.randint(50, 1500), "steps": rng.randint(1, 5)}}
    if r < 0.70: return "long", {"tool": "wait", "arguments": {"duration_ms": rng.randint(3000, 6000), "steps": 3}}
    if r < 0.82: return "fail", {"tool": "fail", "arguments": {"message": "fuzz failure", "code": "FUZZ_FAIL"}}
    return "timeout", {"tool": "wait", "arguments": {"duration_ms": 4000}, "timeout_ms": rng.randint(1, 300)}


def idempotency_keys():
    """(class, [Idempotency-Key header values]) a submit must refuse 400 INVALID_REQUEST (the server reads this header's
    bytes as Latin-1, so any byte reaches it), and (class, value) of keys it must take. Kestrel trims a value's outer
    white space, so " k " is the key "k" (checked apart)."""
    bad = [("idem-empty", [""]), ("idem-space", ["a b"]), ("idem-comma", ["a,b"]), ("idem-comma", [","]),
           ("idem-long", ["k" * 256]), ("idem-long", ["k" * 5000]), ("idem-tab", ["a\tb"]), ("idem-control", ["a\x01b"]),
           ("idem-control", ["a\x7fb"]), ("idem-non-ascii", ["cl\u00e9"]), ("idem-non-ascii", ["\U0001F600"]),
           ("idem-non-ascii", ["a\u00a0b"]), ("idem-bytes", [b"a\xffb"]), ("idem-bytes", [b"\xc3\x28"]),
           ("idem-bytes", [b"\xed\xa0\x80"]), ("idem-two", ["same", "same"]), ("idem-two", ["one", "two"])]
    good = [("idem-uuid", "6f1c0e2a-4bd1-4c6e-9b1f-%012d" % random.randint(0, 10**12)),
            ("idem-max", "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(255))),
            ("idem-visible", "".join(chr(c) for c in range(0x21, 0x7f) if c != 0x2c) + str(random.randint(0, 10**9))),
            ("idem-one", random.choice("abcdefghijklmnopqrstuvwxyz")), ("idem-quoted", '"q%d"' % random.randint(0, 10**9)),
            ("idem-job-id", "job_%012d" % random.randint(0, 10**12))]
    return bad, good
