"""A webhook request's signatures checked as README "Webhooks" says, for the scripts' receivers (standard library only)."""
import base64, hashlib, hmac, time


def valid(secret, headers, body):
    """Both signatures (webhook-signature's v1 and X-AgentCorex-Signature) of this request, and a timestamp within 5 minutes."""
    key = base64.b64decode(secret[len("whsec_"):])
    wid, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "0")
    if abs(time.time() - int(ts)) > 300: return False
    hexsig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    v1 = "v1," + base64.b64encode(hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(headers.get("X-AgentCorex-Signature", ""), hexsig) and \
        any(hmac.compare_digest(s, v1) for s in headers.get("webhook-signature", "").split(" "))
