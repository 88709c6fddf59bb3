"""HTTP/1.1 over a plain socket (standard library only), so that the fuzzer can send what http.client would refuse or
tidy up: a header twice, no Host, a path not percent-encoded, a body in chunks of its own making, bytes that are not
UTF-8. One request per connection unless a caller asks to send a second on the same one (connection reuse after an
odd request is itself checked)."""
import socket, time


class Response:
    def __init__(self):
        self.status, self.reason, self.headers, self.body = None, "", [], b""
        self.elapsed, self.error, self.closed, self.stream_ended = 0.0, None, False, None

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r} error={self.error}>"


class Chunked:
    """A body sent with Transfer-Encoding: chunked, in the given pieces (an empty piece is not sent: it would end it)."""
    def __init__(self, pieces, extension=b""):
        self.pieces, self.extension = pieces, extension

    def encode(self):
        out = b""
        for p in self.pieces:
            if p:
                out += b"%x%s\r\n%s\r\n" % (len(p), self.extension, p)
        return out + b"0\r\n\r\n"


class Connection:
    def __init__(self, port, timeout):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.port = port

    def close(self):
        try: self.sock.close()
        except OSError: pass

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def request(self, method, target, headers=(), body=None, host=True, timeout=10.0, stream_seconds=None):
        """Sends one request and reads its answer. headers: (name, value) pairs sent as given, in order; a Content-Length
        is added for a bytes body unless one (or a Transfer-Encoding) is among them. stream_seconds: an event stream is
        read for that long at most (or to its end), then the connection is closed."""
        r = Response()
        t0 = time.monotonic()
        deadline = t0 + timeout
        head = [f"{method} {target} HTTP/1.1".encode("latin-1", "surrogateescape") if isinstance(target, str) else
                method.encode() + b" " + target + b" HTTP/1.1"]
        names = {n.lower() for n, _ in headers}
        if host and "host" not in names:
            head.append(f"Host: 127.0.0.1:{self.port}".encode())
        for n, v in headers:
            head.append((n.encode("latin-1") if isinstance(n, str) else n) + b": " +
                        (v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v))
        if isinstance(body, Chunked):
            if "transfer-encoding" not in names:
                head.append(b"Transfer-Encoding: chunked")
            payload = body.encode()
        else:
            payload = body or b""
            if body is not None and "content-length" not in names and "transfer-encoding" not in names:
                head.append(b"Content-Length: %d" % len(payload))
        try:
            try:
                self.sock.sendall(b"\r\n".join(head) + b"\r\n\r\n" + payload)
            except (BrokenPipeError, ConnectionResetError):
                pass    # the server answered (413, say) and closed before the whole body was sent: read its answer
            while True:                    # 100 Continue and other interim answers come before the real one
                status_line = self._line(deadline)
                parts = status_line.split(b" ", 2)
                r.status = int(parts[1]); r.reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
                r.headers = []
                while True:
                    line = self._line(deadline)
                    if not line: break
                    n, _, v = line.partition(b":")
                    r.headers.append((n.decode("latin-1").strip(), v.decode("latin-1").strip()))
                if r.status >= 200: break
            if method == "HEAD" or r.status in (204, 304):
                r.body = b""
            elif (r.header("content-type") or "").startswith("text/event-stream"):
                r.body, r.stream_ended = self._stream(t0 + (stream_seconds or 3))
                r.closed = True
            elif (r.header("transfer-encoding") or "").lower() == "chunked":
                r.body = self._chunked(deadline)
            elif r.header("content-length") is not None:
                r.body = self._exact(int(r.header("content-length")), deadline)
            else:
                r.body = self._to_close(deadline)
                r.closed = True
            if (r.header("connection") or "").lower() == "close":
                r.closed = True
        except (socket.timeout, TimeoutError):
            r.error = "timeout"
        except EOFError:
            r.error = "closed" if r.status is None else "closed mid-answer"
        except (OSError, ValueError, IndexError) as e:
            r.error = f"{type(e).__name__}: {e}"
        r.elapsed = time.monotonic() - t0
        return r

    def _chunked(self, deadline):
        out = b""
        while True:
            size = int(self._line(deadline).split(b";")[0], 16)
            if size == 0:
                while self._line(deadline): pass      # trailers
                return out
            out += self._exact(size, deadline)
            self._line(deadline)

    def _to_close(self, deadline):
        try:
            while True: self._fill(deadline)
        except EOFError:
            pass
        data, self.buf = self.buf, b""
        return data

    def _stream(self, until):
        """The events of a stream up to `until` or its end; the stream is chunked on HTTP/1.1."""
        out = b""
        try:
            while True:
                size = int(self._line(until).split(b";")[0], 16)
                if size == 0: return out, True
                out += self._exact(size, until)
                self._line(until)
        except (socket.timeout, TimeoutError):
            return out, False
        except EOFError:
            return out, True


def send(port, method, target, headers=(), body=None, **kw):
    try:
        c = Connection(port, kw.get("timeout", 10.0))
    except OSError as e:
        r = Response(); r.error = f"connect: {e}"; return r
    try:
        return c.request(method, target, headers, body, **kw)
    finally:
        c.close()
