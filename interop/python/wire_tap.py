"""A logging proxy for RocketMQ remoting traffic: put it between a client and a
NameServer + broker to see every frame both ways.

    python wire_tap.py --namesrv 127.0.0.1:9876 --broker 127.0.0.1:10911 \
        --listen-namesrv 19876 --listen-broker 20911 --out frames.jsonl

Point the client at 127.0.0.1:19876. Route answers (GET_ROUTEINFO_BY_TOPIC) coming back
through the tap have the broker's address replaced by the tap's broker port, so the
client's broker traffic comes through the tap too. Each line of --out is one frame:
direction, connection, code, flag, opaque, the JSON header as sent, and the body (text
when it is UTF-8, else hex). Only JSON-encoded headers are decoded.

Used to check CPP_CLIENT_WIRE.md against what librocketmq really sends; also handy for
looking at a failing interop test (tap.start() can be used from a test).
"""

import argparse
import json
import re
import socket
import struct
import threading
import time


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _read_frame(sock):
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    total, = struct.unpack(">I", head)
    rest = _recv_exact(sock, total)
    if rest is None:
        return None
    return rest


def _describe(frame):
    word, = struct.unpack(">I", frame[:4])
    serialize_type, header_len = word >> 24, word & 0xFFFFFF
    header_bytes = frame[4:4 + header_len]
    body = frame[4 + header_len:]
    out = {"serializeType": serialize_type, "headerLen": header_len, "bodyLen": len(body)}
    if serialize_type == 0:
        try:
            out["header"] = json.loads(header_bytes.decode("utf-8"))
        except ValueError:
            out["headerRaw"] = header_bytes.decode("utf-8", "replace")
    else:
        out["headerHex"] = header_bytes.hex()
    try:
        text = body.decode("utf-8")
        if all(c >= " " or c in "\t\r\n\x01\x02" for c in text):
            out["body"] = text
        else:
            out["bodyHex"] = body[:512].hex()
    except UnicodeDecodeError:
        out["bodyHex"] = body[:512].hex()
    return out, header_bytes, body


def _encode(word, header_bytes, body):
    return struct.pack(">II", 4 + len(header_bytes) + len(body), word) + header_bytes + body


class WireTap(object):
    def __init__(self, namesrv, broker, listen_namesrv, listen_broker, out_path,
                 numeric_sub_version=False):
        self.numeric_sub_version = numeric_sub_version
        self.namesrv = namesrv
        self.broker = broker
        self.listen_namesrv = listen_namesrv
        self.listen_broker = listen_broker
        self.out = open(out_path, "a")
        self.lock = threading.Lock()
        self.conn_ids = iter(range(1, 1 << 30))
        self.pending_codes = {}  # (conn, opaque) -> request code
        self.servers = []
        self.closed = False

    def log(self, record):
        with self.lock:
            if self.closed:
                return
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.out.flush()

    def start(self):
        for port, upstream, role in ((self.listen_namesrv, self.namesrv, "namesrv"),
                                     (self.listen_broker, self.broker, "broker")):
            srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind(("127.0.0.1", port))
            srv.listen(64)
            self.servers.append(srv)
            threading.Thread(target=self._accept, args=(srv, upstream, role), daemon=True).start()
        return self

    def close(self):
        self.closed = True
        for srv in self.servers:
            srv.close()
        with self.lock:
            self.out.close()

    def _accept(self, srv, upstream, role):
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return  # closed
            host, port = upstream.rsplit(":", 1)
            try:
                server = socket.create_connection((host, int(port)))
            except OSError:
                client.close()  # upstream down (e.g. being restarted): the client retries
                continue
            conn = "%s#%d" % (role, next(self.conn_ids))
            for src, dst, direction in ((client, server, "c->s"), (server, client, "s->c")):
                threading.Thread(target=self._pump, args=(src, dst, direction, conn, role),
                                 daemon=True).start()

    def _pump(self, src, dst, direction, conn, role):
        try:
            while True:
                frame = _read_frame(src)
                if frame is None:
                    break
                desc, header_bytes, body = _describe(frame)
                header = desc.get("header") or {}
                is_response = bool(header.get("flag", 0) & 1)
                key = (conn, header.get("opaque"))
                if not is_response:
                    self.pending_codes[key] = header.get("code")
                    if self.numeric_sub_version and header.get("code") == 34 and body:
                        # Diagnosis aid: librocketmq writes subVersion as a JSON string;
                        # turn it into a number to see how a broker fares past that.
                        body = re.sub(rb'"subVersion":"(-?[0-9]+)"', rb'"subVersion":\1', body)
                        desc["patched"] = "subVersion"
                else:
                    desc["requestCode"] = self.pending_codes.pop(key, None)
                    if role == "namesrv" and desc["requestCode"] == 105 and body:
                        rewritten = body.decode("utf-8", "replace").replace(
                            self.broker_advertised(body), "127.0.0.1:%d" % self.listen_broker)
                        body = rewritten.encode("utf-8")
                word, = struct.unpack(">I", frame[:4])
                dst.sendall(_encode(word, header_bytes, body))
                desc.update({"t": round(time.time(), 3), "dir": direction, "conn": conn})
                self.log(desc)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def broker_advertised(self, body):
        # The route names the broker by the address it registered with; replace the
        # entry whose port is the broker's port.
        text = body.decode("utf-8", "replace")
        port = self.broker.rsplit(":", 1)[1]
        m = re.search(r'"([0-9a-fA-F.:\[\]]+:%s)"' % port, text)
        return m.group(1) if m else "\x00never\x00"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--namesrv", required=True)
    ap.add_argument("--broker", required=True)
    ap.add_argument("--listen-namesrv", type=int, required=True)
    ap.add_argument("--listen-broker", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--numeric-sub-version", action="store_true",
                    help="rewrite HEART_BEAT bodies' string subVersion values as numbers")
    args = ap.parse_args()
    WireTap(args.namesrv, args.broker, args.listen_namesrv, args.listen_broker, args.out,
            args.numeric_sub_version).start()
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
