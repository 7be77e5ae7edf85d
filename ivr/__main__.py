"""Run the IVR alone, for trying a menu against a real Asterisk: ``python -m ivr``.

Events are printed as JSON lines; the full service (hotline/service.py) wires the bus instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from typing import Any

from ivr.app import IvrApplication, create_ivr_server
from ivr.incidents import IncidentBoard
from ivr.menu_source import DEFAULT_MENU, MenuSource


def _print_event(topic: str, payload: dict[str, Any]) -> None:
    print(json.dumps({"topic": topic, **payload}, ensure_ascii=False), flush=True)


async def _serve(host: str, port: int, menu: str) -> None:
    app = IvrApplication(MenuSource(menu), IncidentBoard(), _print_event)
    server = create_ivr_server(app, host=host, port=port)
    await server.start()
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ivr", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4573)
    parser.add_argument("--menu", default=str(DEFAULT_MENU))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        asyncio.run(_serve(args.host, args.port, args.menu))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
