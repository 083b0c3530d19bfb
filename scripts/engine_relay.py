#!/usr/bin/env python3
"""A unix-socket relay to the container engine that counts the API requests passing through,
so a measurement can state exactly what load a client puts on the engine.

usage: engine_relay.py LISTEN_SOCKET COUNT_FILE [ENGINE_SOCKET]
The count file is rewritten every second with: requests bytes_up bytes_down
"""
import asyncio
import os
import re
import sys

REQUEST = re.compile(rb"(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) /")
counts = {"requests": 0, "up": 0, "down": 0}


async def pipe(reader, writer, key, count_requests):
    try:
        while data := await reader.read(65536):
            counts[key] += len(data)
            if count_requests:
                counts["requests"] += len(REQUEST.findall(data))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def handle(client_r, client_w, engine_path):
    engine_r, engine_w = await asyncio.open_unix_connection(engine_path)
    await asyncio.gather(
        pipe(client_r, engine_w, "up", True),
        pipe(engine_r, client_w, "down", False),
    )


async def report(path):
    while True:
        await asyncio.sleep(1)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{counts['requests']} {counts['up']} {counts['down']}\n")
        os.replace(tmp, path)


async def main():
    listen, count_file = sys.argv[1], sys.argv[2]
    engine = sys.argv[3] if len(sys.argv) > 3 else "/var/run/docker.sock"
    server = await asyncio.start_unix_server(lambda r, w: handle(r, w, engine), path=listen)
    async with server:
        await asyncio.gather(server.serve_forever(), report(count_file))


if __name__ == "__main__":
    asyncio.run(main())
