"""Relaying a WebSocket stream (exec, attach, port-forward) between two connections."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType


async def relay(a: Any, b: Any) -> None:
    """Copy messages both ways between two aiohttp WebSockets until either side closes, then
    close both (the kubelet's streams are binary frames, with text for errors)."""
    async def pump(source: Any, sink: Any) -> None:
        async for msg in source:
            if msg.type == WSMsgType.BINARY:
                await sink.send_bytes(msg.data)
            elif msg.type == WSMsgType.TEXT:
                await sink.send_str(msg.data)
        await sink.close()

    tasks = [asyncio.create_task(pump(a, b)), asyncio.create_task(pump(b, a))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await b.close()
        await a.close()
