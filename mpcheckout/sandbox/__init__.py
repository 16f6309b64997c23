"""The sandbox: a local HTTP server that behaves like Mercado Pago's API (paths, parameters,
shapes, status codes, error bodies), with a control API under `/_sandbox/`, fault injection and
signed notifications. The processor, reconcile, the demo and the tests talk to it over real HTTP.

Start it with `SandboxServer` (mpcheckout.sandbox.server) or `mpcheckout sandbox serve`.
"""
