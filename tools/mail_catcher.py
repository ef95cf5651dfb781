"""A mail server for the demo that delivers nothing: it accepts every email
on 127.0.0.1 and keeps it as an .eml file, so that the demo's reminders go
out (no failed-mail icon in the chatter) and can be read, while nothing
leaves the machine."""

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path


class MailCatcher:
    """An SMTP server on ``127.0.0.1:port`` (a free one when 0), in a thread
    of its own, writing each email it receives into ``folder``."""

    def __init__(self, folder, port=0):
        self.folder = Path(folder)
        self.port = port
        self._loop = None
        self._server = None
        self._thread = None
        self._ready = threading.Event()
        self._count = 0

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._serve, name="mail-catcher", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the mail catcher did not start")
        return self

    def stop(self):
        if self._loop:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def _serve(self):
        self._loop = asyncio.new_event_loop()
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", self.port)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _session(self, reader, writer):
        """One SMTP conversation, as RFC 5321 has it, for the commands an
        SMTP client such as Odoo's sends; the message is kept at DATA's end."""

        async def reply(line):
            writer.write(f"{line}\r\n".encode())
            await writer.drain()

        await reply("220 127.0.0.1 demo mail catcher")
        try:
            while line := await reader.readline():
                command = line.decode("utf-8", "replace").strip().upper()
                if command.startswith(("EHLO", "HELO")):
                    await reply("250-127.0.0.1" if command.startswith("EHLO") else "250 127.0.0.1")
                    if command.startswith("EHLO"):
                        await reply("250-8BITMIME")
                        await reply("250 SMTPUTF8")
                elif command == "DATA":
                    await reply("354 end with <CRLF>.<CRLF>")
                    self._keep(await self._read_data(reader))
                    await reply("250 kept")
                elif command == "QUIT":
                    await reply("221 bye")
                    break
                else:
                    # MAIL FROM, RCPT TO, RSET, NOOP: all accepted.
                    await reply("250 ok")
        finally:
            writer.close()

    @staticmethod
    async def _read_data(reader):
        lines = []
        while (line := await reader.readline()) not in (b".\r\n", b".\n", b""):
            # A line starting with a dot was dot-stuffed by the client.
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)

    def _keep(self, message):
        self._count += 1
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (self.folder / f"{stamp}-{self._count:05d}.eml").write_bytes(message)
