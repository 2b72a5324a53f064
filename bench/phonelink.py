"""A phone's network link between a browser and a local server: a TCP proxy on loopback that delays each
direction by half the round trip and carries at most the link's bytes per second, shared by every
connection (one radio). Whoever connects through it, a page or its service worker, gets the same link,
which Chromium's per-target network emulation does not ensure (see bench/phone_load.py)."""

import asyncio
import socket
import threading


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Direction:
    def __init__(self, bytes_per_second: float):
        self.rate = bytes_per_second
        self.free_at = 0.0  # when the link has sent everything queued so far
        self.bytes = 0  # carried so far, for benchmarks that compare what they sent with the link's floor


class ShapedLink:
    """Listens on self.port and forwards to target_port through the emulated link, in a thread of its own."""

    CHUNK = 8192  # bytes per scheduling step: fine enough that connections share the link fairly

    def __init__(self, target_port: int, latency_ms: float, down_bps: float, up_bps: float):
        self.target_port, self.port = target_port, _free_port()
        self.delay = latency_ms / 2000  # one way, in seconds
        self.down, self.up = _Direction(down_bps), _Direction(up_bps)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    async def _connection(self, client_reader, client_writer) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            self._carry(client_reader, server_writer, self.up), self._carry(server_reader, client_writer, self.down)
        )

    async def _carry(self, reader, writer, direction: _Direction) -> None:
        """Bytes leave after the link has sent what was queued before them, then travel half the round trip."""
        queue: asyncio.Queue = asyncio.Queue()
        sender = asyncio.ensure_future(self._deliver(queue, writer))
        try:
            while data := await reader.read(self.CHUNK):
                now = self.loop.time()
                direction.free_at = max(now, direction.free_at) + len(data) / direction.rate
                direction.bytes += len(data)
                queue.put_nowait((direction.free_at + self.delay, data))
        except OSError:
            pass
        queue.put_nowait((0.0, b""))
        await sender

    async def _deliver(self, queue: asyncio.Queue, writer) -> None:
        try:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()
