"""The documented JSON API (docs/api.md), over the same domain functions as the seed protocol."""
