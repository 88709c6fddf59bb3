# Times one start of a published server on a copy of a seeded data folder: process start to "Now listening",
# and to the first /health/ready 200. Then SIGTERM, and waits for the process to end.
# usage: time_start.py APP_DIR SEED_DIR PORT [extra --key=value ...]
import os, shutil, signal, subprocess, sys, threading, time, urllib.request
app, seed, port, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
data = f"/tmp/restart/run-{port}"  # a fresh copy each start: with workers, a start runs the jobs
shutil.rmtree(data, ignore_errors=True); shutil.copytree(seed, data)
args = ["dotnet", os.path.join(app, "AgentCorex.Web.dll"), f"--urls=http://127.0.0.1:{port}",
        f"--ConnectionStrings:AgentCorex=Data Source={data}/agentcorex.db", "--Auth:AdminKey=test-admin-key-0123456789",
        "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information"] + extra
t0 = time.monotonic()
p = subprocess.Popen(args, cwd=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
listening = [None]; lines = []
def read():
    for line in p.stdout:
        lines.append(line)
        if listening[0] is None and "Now listening" in line: listening[0] = time.monotonic() - t0
threading.Thread(target=read, daemon=True).start()
ready = None
while time.monotonic() - t0 < 120:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=2) as r:
            if r.status == 200: ready = time.monotonic() - t0; break
    except Exception: pass
    time.sleep(0.01)
os.kill(p.pid, signal.SIGTERM); p.wait(60)
print(f"{app}: listening {listening[0]:.2f} s, ready {ready:.2f} s")
if os.environ.get("SHOW"): print("".join(lines))
shutil.rmtree(data, ignore_errors=True)
