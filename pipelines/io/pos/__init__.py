"""The POS vendors' APIs (``flux pull``): HTTP with retries and circuit breakers, the providers,
and the pull watermarks."""
