"""Test harness: runs the real `soyuz` binary and drives it with the PyPI `rocketmq` 0.4.4
client (ctypes over the bundled Apache RocketMQ C++ client, librocketmq).

Import this module before anything imports `rocketmq`: it points HOME at a scratch
directory first, because librocketmq writes its log to $HOME/logs/rocketmq-cpp/ and keeps
broadcasting consumers' offsets in $HOME/.rocketmq_offsets/, and reads HOME only once.

Environment:
  SOYUZ_BIN       the binary (default ../../target/debug/soyuz from this file)
  PYRMQ_WORK_DIR  where data dirs, soyuz logs and the client's HOME go (default: a new
                  temporary directory); run.sh sets it to .work/ beside this file
  PYRMQ_BOOT_TIMEOUT  seconds to wait for "boot success" (default 60)
  PYRMQ_TAP=1     route the clients through wire_tap.py: every frame of a test goes to
                  frames.jsonl beside that test's soyuz log
  PYRMQ_TAP_NUMERIC_SUBVERSION=1  with PYRMQ_TAP, also rewrite the heartbeat's string
                  subVersion as a number (to look past a broker that rejects it)
"""

import ctypes
import itertools
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))

WORK_DIR = os.environ.get("PYRMQ_WORK_DIR") or tempfile.mkdtemp(prefix="soyuz-pyrmq-")
os.makedirs(WORK_DIR, exist_ok=True)
CLIENT_HOME = os.path.join(WORK_DIR, "client-home")
os.makedirs(CLIENT_HOME, exist_ok=True)
if "rocketmq" in sys.modules or "rocketmq.client" in sys.modules:
    raise RuntimeError("import soyuz_harness before rocketmq: HOME must be set first")
os.environ["HOME"] = CLIENT_HOME

from rocketmq.client import (  # noqa: E402  (HOME must be set before the import)
    Message,
    Producer,
    PullConsumer,
    PushConsumer,
    RecvMessage,
    SendStatus,
)
from rocketmq.exceptions import ffi_check  # noqa: E402
from rocketmq.ffi import MSG_CALLBACK_FUNC, MessageModel, dll  # noqa: E402

SOYUZ_BIN = os.environ.get("SOYUZ_BIN") or os.path.join(HERE, "..", "..", "target", "debug", "soyuz")
BOOT_TIMEOUT = float(os.environ.get("PYRMQ_BOOT_TIMEOUT", "60"))
# A test that runs longer than this is hung: its threads are dumped and the process exits.
TEST_TIMEOUT = float(os.environ.get("PYRMQ_TEST_TIMEOUT", "300"))
TAP = os.environ.get("PYRMQ_TAP") == "1"
TAP_NUMERIC_SUBVERSION = os.environ.get("PYRMQ_TAP_NUMERIC_SUBVERSION") == "1"

BOOT_LINE = "boot success"

__all__ = [
    "Message", "Producer", "PullConsumer", "PushConsumer", "SendStatus", "MessageModel",
    "Soyuz", "SoyuzTestCase", "Collector", "Received", "unique", "wait_until",
    "remoting_call", "query_consumer_offset", "route_exists", "wait_for_route",
    "write_queue_count", "RemotingError",
    "WORK_DIR", "CLIENT_HOME",
]


# ---------------------------------------------------------------------------------------
# Small helpers


_seq = itertools.count(1)


def unique(prefix):
    """A name no other test (or earlier run against the same data) uses."""
    return "%s_%d_%d_%s" % (prefix, os.getpid(), next(_seq), uuid.uuid4().hex[:6])


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns a truthy value, which is returned. Raises
    AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def _port_free(port):
    # SO_REUSEADDR, as servers set it: TIME_WAIT leftovers of a killed process do not
    # count, a socket still listening does.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    """A port that is free together with its neighbours (a RocketMQ broker also uses
    port-2 for its VIP channel and port+1 for HA; soyuz may follow)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
        s.close()
        if port < 1030 or port > 65000:
            continue
        if all(_port_free(p) for p in (port - 2, port - 1, port, port + 1)):
            return port
    raise RuntimeError("no free port found")


def _set_pdeathsig():
    # The server dies with the test process, even if the watchdog ends it with _exit.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


# ---------------------------------------------------------------------------------------
# The server process


class Soyuz(object):
    """`soyuz standalone` (NameServer + broker in one process) on free ports, with its
    data under WORK_DIR. `start()` returns once the process has printed "boot success"
    for each role and both ports accept connections."""

    def __init__(self, name, with_broker=True, data_dir=None):
        self.name = name
        self.with_broker = with_broker
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[-120:]
        self.dir = os.path.join(WORK_DIR, "soyuz", "%s_%s" % (safe, uuid.uuid4().hex[:6]))
        self.data_dir = data_dir or os.path.join(self.dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.namesrv_port = free_port()
        self.broker_port = free_port() if with_broker else None
        self.proc = None
        self.starts = 0
        self._lines = []
        self._lock = threading.Lock()
        self._reader = None

    @property
    def namesrv_addr(self):
        return "127.0.0.1:%d" % self.namesrv_port

    @property
    def broker_addr(self):
        return "127.0.0.1:%d" % self.broker_port

    def argv(self):
        if self.with_broker:
            # The tests are about the broker, not this machine's disk: CI machines have been
            # seen 95% full, where a broker rightly refuses writes (diskSpaceWarningLevelRatio,
            # 90 by default) and deletes CommitLog segments early (diskSpaceCleanForciblyRatio).
            conf = os.path.join(self.dir, "broker.conf")
            with open(conf, "w") as f:
                f.write("diskSpaceWarningLevelRatio=99\ndiskSpaceCleanForciblyRatio=99\n")
            # Tests talk over 127.0.0.1 only; the broker then advertises that address.
            return [SOYUZ_BIN, "standalone", "--bind", "127.0.0.1", "--data-dir", self.data_dir,
                    "--namesrv-port", str(self.namesrv_port),
                    "--broker-port", str(self.broker_port), "-c", conf]
        return [SOYUZ_BIN, "namesrv", "--bind", "127.0.0.1", "-p", str(self.namesrv_port)]

    def log_path(self):
        return os.path.join(self.dir, "soyuz-%d.log" % self.starts)

    def start(self, timeout=BOOT_TIMEOUT):
        if not os.path.exists(SOYUZ_BIN):
            raise RuntimeError("soyuz binary not found at %s (set SOYUZ_BIN)" % SOYUZ_BIN)
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with self._lock:
            self._lines = []
        log = open(self.log_path(), "w")
        env = dict(os.environ)
        env.setdefault("NO_COLOR", "1")
        self.proc = subprocess.Popen(
            self.argv(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=self.dir, env=env, preexec_fn=_set_pdeathsig)
        self._reader = threading.Thread(target=self._read, args=(self.proc, log), daemon=True)
        self._reader.start()
        wanted = 2 if self.with_broker else 1
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                booted = sum(1 for line in self._lines if BOOT_LINE in line)
            if booted >= wanted:
                break
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise RuntimeError("soyuz exited with %s before booting:\n%s"
                                   % (self.proc.returncode, self.tail()))
            if time.monotonic() >= deadline:
                self.kill()
                raise RuntimeError("soyuz printed %d of %d '%s' lines in %.0f s:\n%s"
                                   % (booted, wanted, BOOT_LINE, timeout, self.tail()))
            time.sleep(0.02)
        # "boot success" may be logged a moment before the listener accepts.
        for port in [self.namesrv_port] + ([self.broker_port] if self.with_broker else []):
            wait_until(lambda: _accepts(port), max(1.0, deadline - time.monotonic()),
                       what="port %d to accept connections" % port)
        return self

    def _read(self, proc, log):
        with log:
            for raw in iter(proc.stdout.readline, b""):
                line = raw.decode("utf-8", "replace")
                log.write(line)
                log.flush()
                with self._lock:
                    self._lines.append(line)
            proc.stdout.close()

    def tail(self, n=40):
        with self._lock:
            return "".join(self._lines[-n:])

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        """Sends `sig` (SIGKILL: a crash) and waits for the process to go."""
        if self.running():
            self.proc.send_signal(sig)
            self.proc.wait(30)
        if self._reader is not None:
            self._reader.join(5)

    def stop(self, grace=20):
        """A clean stop (SIGTERM), then SIGKILL after `grace` seconds."""
        if self.running():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._reader is not None:
            self._reader.join(5)

    def restart(self, sig=signal.SIGKILL, timeout=BOOT_TIMEOUT):
        """Kills the process with `sig` and starts it again on the same data directory
        and the same ports."""
        self.kill(sig)
        wait_until(lambda: all(_port_free(p) for p in self._ports()), 30, 0.1,
                   what="the old process's ports to be released")
        return self.start(timeout)

    def _ports(self):
        return [p for p in (self.namesrv_port, self.broker_port) if p]


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------
# A minimal RocketMQ remoting client (JSON headers), for what the Python client cannot do:
# ask the NameServer for a route and the broker for a group's committed offsets.

REQ_GET_ROUTEINFO_BY_TOPIC = 105
RESP_SUCCESS = 0

_opaque = itertools.count(1)


class RemotingError(Exception):
    def __init__(self, code, remark):
        Exception.__init__(self, "response code %s: %s" % (code, remark))
        self.code = code
        self.remark = remark


def _encode(code, ext_fields, body, opaque):
    header = json.dumps({
        "code": code, "language": "JAVA", "version": 0, "opaque": opaque, "flag": 0,
        "remark": None, "extFields": {k: str(v) for k, v in (ext_fields or {}).items()},
        "serializeTypeCurrentRPC": "JSON",
    }, separators=(",", ":")).encode("utf-8")
    return struct.pack(">II", 4 + len(header) + len(body), len(header)) + header + body


def _read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def remoting_call(addr, code, ext_fields=None, body=b"", timeout=5.0):
    """One request/response; returns (code, extFields, remark, body)."""
    host, port = addr.rsplit(":", 1)
    opaque = next(_opaque)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(_encode(code, ext_fields, body, opaque))
        while True:
            total, = struct.unpack(">I", _read_exact(sock, 4))
            frame = _read_exact(sock, total)
            header_len = struct.unpack(">I", frame[:4])[0] & 0xFFFFFF
            serialize_type = frame[0]
            if serialize_type != 0:
                raise RemotingError(-1, "answer not JSON-encoded (serialize type %d)" % serialize_type)
            header = json.loads(frame[4:4 + header_len].decode("utf-8"))
            if header.get("opaque") == opaque and header.get("flag", 0) & 1:
                return (header.get("code"), header.get("extFields") or {}, header.get("remark"),
                        frame[4 + header_len:])


REQ_QUERY_CONSUMER_OFFSET = 14


def query_consumer_offset(broker_addr, group, topic, queue_id):
    """The group's committed offset on one queue, or None when the broker has none."""
    code, ext, remark, _ = remoting_call(broker_addr, REQ_QUERY_CONSUMER_OFFSET, {
        "consumerGroup": group, "topic": topic, "queueId": queue_id})
    if code == RESP_SUCCESS:
        return int(ext["offset"])
    if code == 22:  # QUERY_NOT_FOUND
        return None
    raise RemotingError(code, remark)


def route_exists(namesrv_addr, topic):
    code, _, _, body = remoting_call(namesrv_addr, REQ_GET_ROUTEINFO_BY_TOPIC, {"topic": topic})
    return code == RESP_SUCCESS and b"queueDatas" in body


def wait_for_route(namesrv_addr, topic, timeout=45.0):
    """Waits until the NameServer knows `topic` (a broker registers a topic it created on
    first send: Java at once, at the latest with its 30 s re-registration)."""
    wait_until(lambda: route_exists(namesrv_addr, topic), timeout, 0.2,
               what="a route for %s at the NameServer" % topic)


def write_queue_count(namesrv_addr, topic):
    """The topic's write queue count from its route (the body is fastjson-style JSON,
    which may have unquoted numeric keys, so it is not parsed as a whole)."""
    code, _, remark, body = remoting_call(namesrv_addr, REQ_GET_ROUTEINFO_BY_TOPIC, {"topic": topic})
    if code != RESP_SUCCESS:
        raise RemotingError(code, remark)
    counts = re.findall(rb'"writeQueueNums"\s*:\s*(\d+)', body)
    if not counts:
        raise RemotingError(code, "no writeQueueNums in route %r" % body[:300])
    return sum(int(c) for c in counts)


# ---------------------------------------------------------------------------------------
# Received messages


class Received(object):
    """What a consume callback saw, copied out of the C++ message (which is freed when
    the callback returns)."""

    __slots__ = ("topic", "tags", "keys", "body", "msg_id", "queue_id", "queue_offset",
                 "reconsume_times", "props", "consumer", "at")

    def __init__(self, msg, prop_names, consumer):
        self.topic = msg.topic
        self.tags = _text(msg.tags)
        self.keys = _text(msg.keys)
        self.body = msg.body
        self.msg_id = msg.id
        self.queue_id = msg.queue_id
        self.queue_offset = msg.queue_offset
        self.reconsume_times = msg.reconsume_times
        self.props = dict((name, _text(msg.get_property(name))) for name in prop_names)
        self.consumer = consumer
        self.at = time.monotonic()

    def __repr__(self):
        return "<Received %s key=%s tags=%s q=%s@%s>" % (
            self.topic, self.keys, self.tags, self.queue_id, self.queue_offset)


def _text(value):
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


class Collector(object):
    """A consume callback that records every delivery. `fail` may be a function of the
    Received record that returns True to make that delivery fail: use `consume` with
    push_consumer(status_callback=True) for that to mean RECONSUME_LATER."""

    def __init__(self, name="consumer", prop_names=(), fail=None):
        self.name = name
        self.prop_names = tuple(prop_names)
        self.fail = fail
        self.deliveries = []
        self.cond = threading.Condition()

    def __call__(self, msg):
        """For PushConsumer.subscribe (rocketmq 0.4.4 acks even when this raises)."""
        rec = self._record(msg)
        if self.fail is not None and self.fail(rec):
            raise RuntimeError("deliberate consume failure for %s" % rec.keys)

    def consume(self, msg):
        """For push_consumer(status_callback=True): False asks for a redelivery."""
        rec = self._record(msg)
        return not (self.fail is not None and self.fail(rec))

    def _record(self, msg):
        rec = Received(msg, self.prop_names, self.name)
        with self.cond:
            self.deliveries.append(rec)
            self.cond.notify_all()
        return rec

    def snapshot(self):
        with self.cond:
            return list(self.deliveries)

    def keys(self):
        return set(r.keys for r in self.snapshot())

    def wait_for_keys(self, expected, timeout=30.0):
        """Waits until every key in `expected` has been delivered at least once."""
        expected = set(expected)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                missing = expected - set(r.keys for r in self.deliveries)
                if not missing:
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        "%s: %d of %d messages not delivered within %.0f s (e.g. %s)"
                        % (self.name, len(missing), len(expected), timeout, sorted(missing)[:5]))
                self.cond.wait(min(left, 0.5))

    def wait_for(self, predicate, timeout=30.0, what="deliveries"):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(list(self.deliveries)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s: timed out after %.0f s waiting for %s"
                                         % (self.name, timeout, what))
                self.cond.wait(min(left, 0.5))


# ---------------------------------------------------------------------------------------
# Test base class


class SoyuzTestCase(unittest.TestCase):
    """Each test gets its own soyuz (fresh data dir, free ports) and its own names.
    Clients made with the helpers below are shut down before the server stops."""

    WITH_BROKER = True

    def setUp(self):
        import faulthandler
        faulthandler.dump_traceback_later(TEST_TIMEOUT, exit=True)
        self.addCleanup(faulthandler.cancel_dump_traceback_later)
        self.soyuz = Soyuz(self.id(), with_broker=self.WITH_BROKER)
        self.addCleanup(self._stop_soyuz)
        self.soyuz.start()
        # The NameServer address the clients use.
        self.namesrv = self.soyuz.namesrv_addr
        if TAP and self.WITH_BROKER:
            from wire_tap import WireTap
            tap = WireTap(self.soyuz.namesrv_addr, self.soyuz.broker_addr, free_port(), free_port(),
                          os.path.join(self.soyuz.dir, "frames.jsonl"), TAP_NUMERIC_SUBVERSION)
            tap.start()
            self.addCleanup(tap.close)
            self.namesrv = "127.0.0.1:%d" % tap.listen_namesrv

    def _stop_soyuz(self):
        self.soyuz.stop()
        if self._failed():
            sys.stderr.write("\n[soyuz log: %s; client logs: %s/logs/rocketmq-cpp]\n%s\n"
                             % (self.soyuz.log_path(), CLIENT_HOME, self.soyuz.tail(25)))

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        result = getattr(outcome, "result", None)
        if result is not None:  # Python >= 3.11
            return any(t is self for t, _ in result.failures + result.errors)
        errors = getattr(outcome, "errors", [])  # Python < 3.11
        return any(exc is not None for _, exc in errors)

    # --- clients ------------------------------------------------------------------------

    def producer(self, group=None, timeout_ms=10000):
        p = Producer(group or unique("PG"), timeout=timeout_ms)
        p.set_namesrv_addr(self.namesrv)
        # A client name of its own: librocketmq shares one client instance (and its
        # NameServer address) between clients with the same "pid-ip@instance" id.
        dll.SetProducerInstanceName(p._handle, unique("p").encode())
        p.start()
        self.addCleanup(_quietly(p.shutdown))
        return p

    def push_consumer(self, group, topic, callback, expression="*", orderly=False,
                      model=MessageModel.CLUSTERING, instance=None, start=True, threads=None,
                      status_callback=False):
        """`callback` is given to PushConsumer.subscribe. With status_callback=True it is
        registered directly instead and returns True (CONSUME_SUCCESS) or False
        (RECONSUME_LATER): rocketmq 0.4.4's subscribe() cannot report a failure (an
        exception in the callback escapes ctypes, which then returns 0, CONSUME_SUCCESS)."""
        c = PushConsumer(group, orderly=orderly, message_model=model)
        c.set_namesrv_addr(self.namesrv)
        c.set_instance_name(instance or unique("c"))
        if threads:
            c.set_thread_count(threads)
        if status_callback:
            assert not orderly
            _subscribe_with_status(c, topic, expression, callback)
        else:
            c.subscribe(topic, callback, expression)
        if start:
            c.start()
        self.addCleanup(_quietly(c.shutdown))
        return c


def _subscribe_with_status(consumer, topic, expression, callback):
    def on_message(_consumer, msg):
        try:
            ok = callback(RecvMessage(msg))
        except Exception:
            traceback.print_exc()
            ok = False
        return 0 if ok else 1  # CONSUME_SUCCESS / RECONSUME_LATER

    func = MSG_CALLBACK_FUNC(on_message)
    consumer._callback_refs.append(func)  # keep it alive as long as the consumer
    ffi_check(dll.Subscribe(consumer._handle, topic.encode(), expression.encode()))
    ffi_check(dll.RegisterMessageCallback(consumer._handle, func))


def _quietly(fn):
    def run():
        try:
            fn()
        except Exception as e:  # a broken client must not hide the test's own failure
            sys.stderr.write("cleanup: %s failed: %s\n" % (getattr(fn, "__name__", fn), e))
    return run


def message(topic, key, body, tags=None, props=None):
    m = Message(topic)
    m.set_keys(key)
    if tags:
        m.set_tags(tags)
    m.set_body(body)
    for k, v in (props or {}).items():
        m.set_property(k, v)
    return m


__all__.append("message")
