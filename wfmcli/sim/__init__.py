"""The Genesys Cloud twin: a deterministic simulated org served over real HTTP and WebSocket.

`start_twin()` runs it in a background thread; `wfm sim serve` runs it from the command line.
The org (`org`) and the contact center (`engine`, `ledger`) are pure and testable without sockets.
"""

from wfmcli.sim.faults import Faults
from wfmcli.sim.twin import RunningTwin, start_twin

__all__ = ["Faults", "RunningTwin", "start_twin"]
