# Submits N echo jobs to a server started with Jobs__WorkerCount=0, from T threads on keep-alive connections.
import http.client, json, sys, threading, time
port, n, threads, key = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = json.dumps({"tool": "echo", "arguments": {"message": "x"}})
headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
counter = iter(range(n)); lock = threading.Lock(); errors = []
def work():
    c = http.client.HTTPConnection("127.0.0.1", port)
    while True:
        with lock:
            i = next(counter, None)
        if i is None: return
        c.request("POST", "/jobs/submit", body, headers); r = c.getresponse(); data = r.read()
        if r.status != 202: errors.append((r.status, data[:200]))
t0 = time.time()
ts = [threading.Thread(target=work) for _ in range(threads)]
[t.start() for t in ts]; [t.join() for t in ts]
print(f"{n} submits in {time.time()-t0:.1f}s, errors {len(errors)} {errors[:3]}")
