"""The RTA relay: Genesys notifications -> agent state engine -> vendor RTA sinks.

`engine` is sans-I/O (events in, vendor-neutral changes out); `records` turns changes into each
vendor's bytes from data layouts; `sinks` put them on the wire; `source` watches Genesys;
`service` runs it all under one asyncio TaskGroup.
"""
