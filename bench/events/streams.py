#!/usr/bin/env python3
"""The client of bench/events/run.sh (see its head): Python 3 standard library only.

Given a brand served on loopback HTTP and an admin's personal access token, it

  1. makes a project with one task, and USERS = STREAMS / 10 staff users (invited by the
     admin, invitation accepted, signed in, a personal access token each, each added to the
     project), PARALLEL at a time;
  2. reads the server's VmRSS, opens STREAMS `GET /api/v1/events` streams (10 per user,
     the most one user may have), each its own TCP connection, in two halves: after each
     half has had every opening comment, waits 2 s and reads VmRSS again;
  3. ROUNDS times: moves the task (PATCH …/tasks/{id} {"status"}, on one keep-alive
     connection, the status going round todo → in_progress → review → done so that each
     round is a real move), notes when the answer came, and waits until every stream has
     its `task.moved` event (at most ROUND_TIMEOUT seconds), then PAUSE_MS;
  4. writes what it measured as JSON (--out) and exits 1 if anything was off (a stream
     that missed an event, closed, or was refused; a non-2xx answer), 2 when it could not
     get as far as measuring.

Times come from one clock (time.perf_counter, CLOCK_MONOTONIC) in this one process: a
sample is the moment a stream's bytes holding the event were handed to the client
(asyncio.Protocol.data_received, before any parsing) minus the moment just before the PATCH
was written.
"""

import argparse
import asyncio
import json
import os
import sys
import time

STATUSES = ("in_progress", "review", "done", "todo")  # the task starts in todo
PER_USER = 10
OPEN_AT_ONCE = 64


def say(*parts):
    print(*parts, file=sys.stderr, flush=True)


class Fatal(Exception):
    """Setup failed: nothing to measure."""


# -----------------------------------------------------------------------------------------
# A small keep-alive HTTP/1.1 client (Content-Length and chunked answers).


class Http:
    def __init__(self, port, host):
        self.port = port
        self.host = host
        self.reader = None
        self.writer = None

    async def connect(self):
        self.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def build(self, method, path, body=None, bearer=None, cookie=None, origin=False):
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", "Accept: application/json"]
        if bearer:
            lines.append(f"Authorization: Bearer {bearer}")
        if cookie:
            lines.append(f"Cookie: {cookie}")
        if origin:
            lines.append(f"Origin: http://{self.host}")
        data = b""
        if body is not None:
            data = json.dumps(body).encode()
            lines.append("Content-Type: application/json")
        if body is not None or method in ("POST", "PATCH", "PUT"):
            lines.append(f"Content-Length: {len(data)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + data

    async def send(self, request, timeout=60):
        """Writes a built request, reads its answer: (status, {name: [values]}, body)."""
        if self.writer is None or self.writer.is_closing() or self.reader.at_eof():
            await self.connect()
        self.writer.write(request)
        await self.writer.drain()
        return await asyncio.wait_for(self.answer(), timeout)

    async def answer(self):
        reader = self.reader
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise Fatal(f"not an HTTP answer: {lines[0]!r}")
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.setdefault(name.strip().lower(), []).append(value.strip())
        te = ",".join(headers.get("transfer-encoding", [])).lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                chunk = await reader.readexactly(size + 2)
                body += chunk[:-2]
            body = bytes(body)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"][0]))
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:
            body = await reader.read()
            self.close()
        if "close" in ",".join(headers.get("connection", [])).lower():
            self.close()
        return status, headers, body

    async def call(self, method, path, body=None, want=None, **kw):
        """One request; a non-2xx answer (or not `want`) is fatal. Returns the JSON."""
        status, headers, raw = await self.send(self.build(method, path, body, **kw))
        if not 200 <= status < 300 or (want is not None and status != want):
            raise Fatal(f"{method} {path} answered {status}: {raw[:500].decode('utf-8', 'replace')}")
        return (json.loads(raw) if raw.strip() else None), headers


# -----------------------------------------------------------------------------------------
# One event stream: its own connection, parsed as bytes arrive.


class Stream(asyncio.Protocol):
    def __init__(self, bench, index, token):
        self.bench = bench
        self.index = index
        self.token = token
        self.transport = None
        self.buf = bytearray()
        self.head = None  # (status, headers) once read
        self.chunked = False
        self.sse = bytearray()
        self.opened = asyncio.get_running_loop().create_future()
        self.received = {}  # round -> perf_counter of receipt
        self.pending = []  # (perf_counter, round under way, data block), not read yet
        self.blocks = 0  # data blocks seen
        self.heartbeats = 0
        self.others = 0  # events that were not our task's moves
        self.ended = None  # why it ended, once it has

    def connection_made(self, transport):
        self.transport = transport
        transport.write(
            (
                "GET /api/v1/events HTTP/1.1\r\n"
                f"Host: {self.bench.host}\r\n"
                f"Authorization: Bearer {self.token}\r\n"
                "Accept: text/event-stream\r\n\r\n"
            ).encode()
        )

    def data_received(self, data):
        t = time.perf_counter()
        self.buf += data
        if self.head is None and not self.read_head():
            return
        if self.chunked:
            while True:
                end = self.buf.find(b"\r\n")
                if end < 0:
                    break
                try:
                    size = int(bytes(self.buf[:end]).split(b";", 1)[0].strip(), 16)
                except ValueError:
                    self.end(f"a chunk size that is not hex: {bytes(self.buf[:40])!r}")
                    return
                if size == 0:
                    self.end("the server ended the stream (last chunk)")
                    return
                if len(self.buf) < end + 2 + size + 2:
                    break
                self.sse += self.buf[end + 2 : end + 2 + size]
                del self.buf[: end + 2 + size + 2]
        else:
            self.sse += self.buf
            self.buf.clear()
        self.parse(t)
        self.bench.client_time += time.perf_counter() - t

    def read_head(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        parts = lines[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        self.head = (status, headers)
        if status != 200:
            body = bytes(self.buf[:300]).decode("utf-8", "replace").replace("\r\n", " ")
            self.end(f"answered {lines[0]!r}: {body}")
            return False
        if not headers.get("content-type", "").startswith("text/event-stream"):
            self.end(f"answered Content-Type {headers.get('content-type')!r}")
            return False
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        return True

    def parse(self, t):
        """Splits what arrived into blocks. A data block (an event) is only kept with its
        time and the round then under way, and counted; it is read later (`digest`), so
        that reading JSON here does not delay the streams whose bytes come next."""
        if b"\r" in self.sse:
            self.sse = bytearray(bytes(self.sse).replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        while True:
            end = self.sse.find(b"\n\n")
            if end < 0:
                return
            block = bytes(self.sse[:end])
            del self.sse[: end + 2]
            if block.startswith(b"data:") or b"\ndata:" in block:
                self.pending.append((t, self.bench.current, block))
                self.bench.arrived(self)
            else:
                self.control(block, t)

    def control(self, block, t):
        """A block without data: the opening comment, a heartbeat, `retry:`."""
        for line in block.decode("utf-8", "replace").split("\n"):
            if line.startswith(":"):
                comment = line[1:].strip()
                if comment == "live updates" and not self.opened.done():
                    self.opened.set_result(t)
                elif comment == "heartbeat":
                    self.heartbeats += 1

    def digest(self):
        """Reads the kept events."""
        pending, self.pending = self.pending, []
        for t, current, block in pending:
            data = []
            event_id = None
            for line in block.decode("utf-8", "replace").split("\n"):
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
            self.bench.event(self, event_id, "\n".join(data), t, current)

    def end(self, why):
        if self.ended is None:
            self.ended = why
            self.bench.stream_ended(self)
        if not self.opened.done():
            self.opened.set_exception(Fatal(f"stream {self.index + 1}: {why}"))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc):
        self.end(f"the connection closed ({exc or 'by the server'})")


# -----------------------------------------------------------------------------------------


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise Fatal(f"/proc/{pid}/status has no {key}")


def proc_cpu_ticks(pid):
    """(utime, stime): fields 14 and 15 of /proc/<pid>/stat, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def percentile(ordered, p):
    """Nearest rank."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[min(len(ordered), int(rank)) - 1]


class Bench:
    def __init__(self, args):
        self.args = args
        self.host = args.host
        self.streams = []
        self.problems = []
        self.current = -1  # the round whose PATCH was sent last
        self.t0 = []
        self.expected = []
        self.round_of_id = {}
        self.done = []
        self.complete = []
        self.closed_round = []  # a round given up on (timed out)
        self.late = 0
        self.duplicates = 0
        self.measuring = False
        self.ended_while_measuring = []
        self.client_time = 0.0
        self.task_id = None

    def problem(self, text):
        self.problems.append(text)
        say(f"PROBLEM: {text}")

    def stream_ended(self, stream):
        if self.measuring:
            self.ended_while_measuring.append(stream)
            if len(self.ended_while_measuring) <= 5:
                say(f"stream {stream.index + 1} ended during the rounds: {stream.ended}")

    def arrived(self, stream):
        """A stream's next event came: by their order, the one of round `blocks` (the
        events are read after the round; this only tells when every stream has one)."""
        if self.current < 0:
            return  # before the rounds: read (and reported) by `digest`
        r = stream.blocks
        stream.blocks += 1
        if r < len(self.done):
            self.done[r] += 1
            if self.done[r] == len(self.streams):
                self.complete[r].set()

    def digest(self):
        for stream in self.streams:
            stream.digest()

    def event(self, stream, event_id, data, t, current):
        try:
            view = json.loads(data)
        except ValueError:
            self.problem(f"stream {stream.index + 1}: an event that is not JSON: {data[:200]!r}")
            return
        if view.get("kind") != "task.moved" or view.get("subject") != self.task_id:
            stream.others += 1
            return
        eid = event_id or str(view.get("id"))
        r = self.round_of_id.get(eid)
        if r is None:
            # The first stream to have this event had it while round `current` was under
            # way (its PATCH sent, the next not yet): a later round cannot have caused it.
            r = current
            if r < 0 or r in self.round_of_id.values():
                # A move nobody was sent yet, or a second event for one round.
                self.problem(f"stream {stream.index + 1}: task.moved event {eid} matches no round")
                return
            self.round_of_id[eid] = r
            status = (view.get("data") or {}).get("status")
            if status != self.expected[r]:
                self.problem(
                    f"round {r + 1}: its first task.moved event ({eid}) says status "
                    f"{status!r}, the move was to {self.expected[r]!r}"
                )
        if r in stream.received:
            self.duplicates += 1
            return
        stream.received[r] = t
        if self.closed_round[r] and t > self.given_up[r]:
            self.late += 1

    # ---------------------------------------------------------------------------------------

    async def make_user(self, http, i, project):
        a = self.args
        email = f"bench{i + 1}@{a.host}"
        user, _ = await http.call(
            "POST",
            "/api/v1/users",
            {"email": email, "name": f"Bench {i + 1}", "role": "staff"},
            bearer=a.token,
        )
        url = (user or {}).get("invitation_url") or ""
        if "/invite/" not in url or not user.get("id"):
            raise Fatal(f"inviting {email} gave no id or invitation_url: {json.dumps(user)[:400]}")
        invitation = url.split("/invite/", 1)[1].split("?", 1)[0].split("#", 1)[0]
        await http.call(
            "POST", f"/api/v1/invitations/{invitation}/accept", {"password": a.password}, origin=True
        )
        _, headers = await http.call(
            "POST", "/api/v1/session", {"email": email, "password": a.password}, origin=True
        )
        cookie = None
        for value in headers.get("set-cookie", []):
            first = value.split(";", 1)[0].strip()
            if first.startswith("__Host-ts_session="):
                cookie = first
        if not cookie:
            raise Fatal(f"signing in as {email} set no __Host-ts_session cookie")
        made, _ = await http.call(
            "POST", "/api/v1/tokens", {"name": "bench"}, cookie=cookie, origin=True
        )
        token = (made or {}).get("token")
        if not token:
            raise Fatal(f"POST /api/v1/tokens for {email} gave no token: {json.dumps(made)[:300]}")
        await http.call(
            "POST", f"/api/v1/projects/{project}/members", {"user": user["id"]}, bearer=a.token
        )
        return token

    async def make_users(self, project, count):
        tokens = [None] * count
        todo = iter(range(count))
        made = 0
        started = time.perf_counter()

        async def worker():
            nonlocal made
            http = Http(self.args.port, self.host)
            try:
                for i in todo:
                    tokens[i] = await self.make_user(http, i, project)
                    made += 1
                    if made % 10 == 0 or made == count:
                        say(
                            f"  {made}/{count} users ({time.perf_counter() - started:.1f} s)"
                        )
            finally:
                http.close()

        workers = [asyncio.create_task(worker()) for _ in range(min(self.args.parallel, count))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            raise
        return tokens, time.perf_counter() - started

    async def open_streams(self, tokens, which):
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(OPEN_AT_ONCE)
        started = time.perf_counter()
        n = self.args.streams
        opened = len(self.streams)

        async def one(i):
            nonlocal opened
            async with gate:
                stream = Stream(self, i, tokens[i // PER_USER])
                self.streams.append(stream)
                await loop.create_connection(lambda: stream, "127.0.0.1", self.args.port)
                await asyncio.wait_for(stream.opened, 30)
                opened += 1
                if opened % max(1, n // 10) == 0 or opened == n:
                    say(f"  {opened}/{n} streams open ({time.perf_counter() - started:.1f} s)")

        jobs = [asyncio.create_task(one(i)) for i in which]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            n = len(which)
            kinds = {}
            for r in failed:
                kinds.setdefault(str(r) or type(r).__name__, 0)
                kinds[str(r) or type(r).__name__] += 1
            first = "; ".join(f"{k} (×{v})" for k, v in list(kinds.items())[:5])
            raise Fatal(f"{len(failed)} of {n} streams did not open: {first}")
        return time.perf_counter() - started

    async def run(self):
        a = self.args
        out = {"streams": a.streams, "users": a.streams // PER_USER, "rounds": a.rounds,
               "pause_ms": a.pause_ms, "round_timeout_s": a.round_timeout, "measured": False}
        admin = Http(a.port, self.host)
        project, _ = await admin.call("POST", "/api/v1/projects", {"name": "Live"}, bearer=a.token)
        project = project["id"]
        task, _ = await admin.call(
            "POST", f"/api/v1/projects/{project}/tasks", {"title": "Card"}, bearer=a.token
        )
        self.task_id = task["id"]
        if task.get("status") not in (None, "todo"):
            raise Fatal(f"the new task is in {task.get('status')!r}, not todo")
        admin.close()

        users = a.streams // PER_USER
        say(f"making {users} staff users, {a.parallel} at a time (invite, accept, sign in, token, member)…")
        tokens, out["setup_users_s"] = await self.make_users(project, users)

        await asyncio.sleep(2)
        rss_before = proc_status_kib(a.pid, "VmRSS")
        say(f"opening {a.streams} streams ({PER_USER} per user, {OPEN_AT_ONCE} at a time)…")
        # In two halves, VmRSS read after each: the growth of the second half tells whether
        # the first half's was inflated (or hidden, by memory freed during setup).
        half = a.streams // 2
        out["open_s"] = await self.open_streams(tokens, range(half))
        await asyncio.sleep(2)
        rss_half = proc_status_kib(a.pid, "VmRSS")
        out["open_s"] += await self.open_streams(tokens, range(half, a.streams))
        await asyncio.sleep(2)
        rss_after = proc_status_kib(a.pid, "VmRSS")
        out.update(rss_before_kib=rss_before, rss_half_kib=rss_half, rss_after_kib=rss_after,
                   per_stream_kib=(rss_after - rss_before) / a.streams,
                   first_half_kib=(rss_half - rss_before) / half,
                   second_half_kib=(rss_after - rss_half) / (a.streams - half))
        gone = [s for s in self.streams if s.ended]
        if gone:
            raise Fatal(f"{len(gone)} streams ended before the rounds: {gone[0].ended}")

        # The PATCHes' connection, opened (and used once) before the rounds.
        mover = Http(a.port, self.host)
        await mover.call("GET", "/api/v1/me", bearer=a.token)
        path = f"/api/v1/projects/{project}/tasks/{self.task_id}"
        n = a.streams
        answers = []
        self.done = [0] * a.rounds
        self.complete = [asyncio.Event() for _ in range(a.rounds)]
        self.closed_round = [False] * a.rounds
        self.given_up = [None] * a.rounds
        self.measuring = True
        hz = os.sysconf("SC_CLK_TCK")
        say(f"{a.rounds} rounds: move the card, wait for {n} events, pause {a.pause_ms} ms…")
        cpu_before = proc_cpu_ticks(a.pid)
        self.client_time = 0.0
        rounds_started = time.perf_counter()
        rounds_run = 0
        for r in range(a.rounds):
            status = STATUSES[r % len(STATUSES)]
            self.expected.append(status)
            request = mover.build("PATCH", path, {"status": status}, bearer=a.token)
            self.current = r
            t0 = time.perf_counter()
            self.t0.append(t0)
            code, _, raw = await mover.send(request)
            answers.append(time.perf_counter() - t0)
            rounds_run += 1
            if not 200 <= code < 300:
                self.problem(f"round {r + 1}: PATCH answered {code}: {raw[:300].decode('utf-8', 'replace')}")
                break
            moved = json.loads(raw).get("status")
            if moved != status:
                self.problem(f"round {r + 1}: PATCH to {status} answered a task in {moved!r}")
            try:
                await asyncio.wait_for(self.complete[r].wait(), a.round_timeout)
            except asyncio.TimeoutError:
                self.closed_round[r] = True
                self.given_up[r] = time.perf_counter()
                self.problem(
                    f"round {r + 1}: {n - self.done[r]} of {n} streams had no event "
                    f"{a.round_timeout:g} s after the move"
                )
            self.digest()  # the round's events, read (not timed)
            if (r + 1) % 10 == 0 or r + 1 == a.rounds:
                say(f"  {r + 1}/{a.rounds} rounds")
            await asyncio.sleep(a.pause_ms / 1000)
        cpu_after = proc_cpu_ticks(a.pid)
        user_ticks, sys_ticks = (cpu_after[i] - cpu_before[i] for i in (0, 1))
        cpu_ticks = user_ticks + sys_ticks
        out["rounds_s"] = time.perf_counter() - rounds_started
        await asyncio.sleep(0.5)  # stragglers and duplicates
        self.digest()
        self.measuring = False
        mover.close()

        samples = []
        per_round = []
        for r in range(rounds_run):
            got = sorted(s.received[r] - self.t0[r] for s in self.streams if r in s.received)
            samples.extend(got)
            per_round.append(got)
        samples.sort()
        ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
        in_order = answers
        answers = sorted(answers)
        delivered = len(samples)
        expected = n * a.rounds
        cpu_s = cpu_ticks / hz
        out.update(
            measured=True,
            samples=delivered,
            expected_samples=expected,
            p50_ms=ms(percentile(samples, 50)),
            p90_ms=ms(percentile(samples, 90)),
            p99_ms=ms(percentile(samples, 99)),
            max_ms=ms(samples[-1] if samples else None),
            min_ms=ms(samples[0] if samples else None),
            answer_p50_ms=ms(percentile(answers, 50)),
            answer_p99_ms=ms(percentile(answers, 99)),
            answer_max_ms=ms(answers[-1] if answers else None),
            cpu_s=cpu_s,
            cpu_user_s=user_ticks / hz,
            cpu_sys_s=sys_ticks / hz,
            cpu_hz=hz,
            cpu_per_event_us=(cpu_s * 1e6 / delivered) if delivered else None,
            client_per_event_us=(self.client_time * 1e6 / delivered) if delivered else None,
            late=self.late,
            duplicates=self.duplicates,
            heartbeats=sum(s.heartbeats for s in self.streams),
            other_events=sum(s.others for s in self.streams),
            ended=len(self.ended_while_measuring),
            rounds_run=rounds_run,
            round_p50_ms=[ms(percentile(g, 50)) for g in per_round],
            round_max_ms=[ms(g[-1] if g else None) for g in per_round],
            round_answer_ms=[ms(v) for v in in_order],
            answer_p90_ms=ms(percentile(answers, 90)),
        )
        # Also: the latency of the last stream in each round (everyone has it), in order.
        if per_round:
            worst = max(range(len(per_round)), key=lambda r: per_round[r][-1] if per_round[r] else 1e9)
            out["slowest_round"] = worst + 1
        if delivered != expected:
            self.problem(f"{delivered} of {expected} events arrived ({n} streams × {a.rounds} rounds)")
        if self.late:
            self.problem(f"{self.late} events arrived after their round's {a.round_timeout:g} s")
        if self.duplicates:
            self.problem(f"{self.duplicates} events arrived twice on one stream")
        if self.ended_while_measuring:
            s = self.ended_while_measuring[0]
            self.problem(
                f"{len(self.ended_while_measuring)} streams ended during the rounds "
                f"(stream {s.index + 1}: {s.ended})"
            )
        for s in self.streams:
            if s.transport is not None:
                s.transport.close()
        return out


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--token", required=True, help="the admin's personal access token")
    p.add_argument("--password", required=True, help="the staff users' password")
    p.add_argument("--pid", type=int, required=True, help="the server's process")
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=50)
    p.add_argument("--pause-ms", type=int, default=200)
    p.add_argument("--round-timeout", type=float, default=10)
    p.add_argument("--parallel", type=int, default=8)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if a.streams <= 0 or a.streams % PER_USER:
        raise SystemExit(f"--streams must be a positive multiple of {PER_USER}")
    bench = Bench(a)
    try:
        out = await bench.run()
    except Fatal as e:
        bench.problem(str(e))
        out = {"measured": False}
    except (OSError, EOFError, asyncio.TimeoutError, ValueError, KeyError) as e:
        bench.problem(f"{type(e).__name__}: {e}")
        out = {"measured": False}
    out["problems"] = bench.problems
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    if not out.get("measured"):
        return 2
    return 1 if bench.problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
