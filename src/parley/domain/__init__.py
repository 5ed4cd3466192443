"""Pure rules of Parley: no I/O, no asyncio, tested directly."""
