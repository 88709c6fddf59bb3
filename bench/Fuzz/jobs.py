"""What the fuzzer saw of each job, and the states the contract forbids (standard library only).

Every answer that names a job's status is an observation, with the times its request was sent and its answer
received. Answers race each other, so an order is only asserted between an answer received and a request sent after
it: once a job was seen final, no later request may see it otherwise; once seen running (or refused a cancel as
running), none may see it queued."""
import threading, time

FINAL = {"completed", "failed", "timeout", "canceled"}
STATUSES = FINAL | {"queued", "running"}
RANK = {"queued": 0, "running": 1}


class Job:
    def __init__(self, job_id, kind, body, key_name):
        self.id, self.kind, self.body, self.key = job_id, kind, body, key_name
        self.seen = []            # (sent, received, status, source)
        self.canceled_at = None   # a DELETE answered 200 canceled
        self.last = None          # the last full answer of GET /jobs/{id}


class Ledger:
    def __init__(self, report):
        self.jobs, self.lock, self.report = {}, threading.Lock(), report
        self.revoked_keys = set()

    def accepted(self, job_id, kind, body, key_name):
        with self.lock:
            self.jobs.setdefault(job_id, Job(job_id, kind, body, key_name))

    def seen(self, job_id, status, sent, received, source, full=None):
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return
            job.seen.append((sent, received, status, source))
            if full is not None:
                job.last = full
        if status not in STATUSES and status not in ("final", "running-or-final"):
            self.report.fault("job-state", f"{job_id} answered status {status!r} ({source})")

    def canceled(self, job_id, sent, received):
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and job.canceled_at is None:
                job.canceled_at = received
        self.seen(job_id, "canceled", sent, received, "DELETE 200")

    def check(self, job, final):
        """The faults of one job whose final answer (GET /jobs/{id}) is `final`."""
        out = []
        status = final.get("status")
        if status not in FINAL:
            return [f"{job.id} ({job.kind}) still {status} after the drain"]
        if job.canceled_at is not None and status != "canceled":
            out.append(f"{job.id} ({job.kind}): DELETE answered 200 canceled, but it ended {status}")
        obs = sorted(job.seen, key=lambda o: o[1])
        for sent_a, recv_a, st_a, src_a in obs:
            for sent_b, recv_b, st_b, src_b in obs:
                if sent_b <= recv_a:
                    continue
                if st_a in FINAL and st_b != st_a and st_b not in ("final", "running-or-final"):
                    out.append(f"{job.id}: seen {st_a} ({src_a}), later {st_b} ({src_b})")
                elif st_a == "final" and st_b in RANK:
                    out.append(f"{job.id}: refused as finished ({src_a}), later {st_b} ({src_b})")
                elif st_a in ("running", "running-or-final") and st_b == "queued":
                    out.append(f"{job.id}: seen {st_a} ({src_a}), later queued ({src_b})")
        if status == "completed" and ("result" not in final or "error" in final):
            out.append(f"{job.id}: completed with {sorted(final)}")
        if status in ("failed", "timeout") and not isinstance(final.get("error"), dict):
            out.append(f"{job.id}: {status} without error")
        if status == "timeout" and final["error"].get("code") != "EXECUTION_TIMEOUT":
            out.append(f"{job.id}: timeout with error {final['error'].get('code')}")
        if status == "canceled" and "result" in final:
            out.append(f"{job.id}: canceled with a result")
        if job.canceled_at is None and job.key not in self.revoked_keys:
            expected = {"echo": "completed", "wait": "completed", "long": "completed", "fail": "failed",
                        "timeout": "timeout"}.get(job.kind)
            if expected and status != expected:
                out.append(f"{job.id} ({job.kind} {job.body}): ended {status}, expected {expected}: {final.get('error')}")
            if status == "completed" and job.kind == "echo" and final.get("result") != job.body["arguments"]:
                out.append(f"{job.id}: echo's result {final.get('result')} for {job.body['arguments']}")
        return out

    def unfinished(self):
        with self.lock:
            return [j for j in self.jobs.values() if not (j.last and j.last.get("status") in FINAL)]

    def snapshot(self):
        with self.lock:
            return list(self.jobs.values())


def stream_events(body):
    """The JSON of each `data:` line of an event stream's bytes."""
    import json
    out = []
    for line in body.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                out.append(json.loads(line[5:]))
            except ValueError:
                out.append({"status": "<not json>"})
    return out


def check_stream(job_id, events, ended, elapsed):
    """A stream's events go forward (queued, running, one final) and it ends after the final one."""
    faults, rank = [], -1
    for i, e in enumerate(events):
        st = e.get("status")
        if e.get("job_id") != job_id:
            faults.append(f"{job_id}: stream event of {e.get('job_id')}")
        r = RANK.get(st, 2 if st in FINAL else None)
        if r is None:
            faults.append(f"{job_id}: stream status {st!r}")
            continue
        if r < rank:
            faults.append(f"{job_id}: stream went back to {st}")
        if rank == 2:
            faults.append(f"{job_id}: stream event {st} after its final one")
        rank = max(rank, r)
    if rank == 2 and not ended:
        faults.append(f"{job_id}: stream still open {elapsed:.1f} s in, after its final event")
    return faults
